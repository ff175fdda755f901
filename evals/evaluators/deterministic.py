"""Deterministic checks run on every case: cheap, exact, and the backbone of the CI gate."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent.claims import CITATION, numeric_values
from agent.form_checks import GREETING, PLACEHOLDER, asks, mentions
from evals.evaluators import EvalContext, EvalResult, check

CONTACT_CODES = {
    "unsupported_number",
    "unsupported_date",
    "foreign_link",
    "foreign_email",
    "foreign_phone",
}


@dataclass
class SchemaValid:
    """The reply parsed into a draft (subject, body, citations), possibly after the retry."""

    name: str = "schema_valid"

    def evaluate(self, ctx: EvalContext) -> list[EvalResult]:
        reason = ctx.result.failure_reason or ""
        return [check(self.name, ctx.result.output is not None, reason)]


@dataclass
class CitationsValid:
    """Every cited id was among the case's sources, and the body cites inline at all."""

    name: str = "citations_valid"

    def evaluate(self, ctx: EvalContext) -> list[EvalResult]:
        if ctx.result.output is None:
            return [check(self.name, False, "no draft"), check("cites_inline", False, "no draft")]
        known = {s.id for s in ctx.sources}
        output = ctx.result.output
        cited = list(dict.fromkeys([*output.citations, *CITATION.findall(output.body)]))
        unknown = [c for c in cited if c not in known]
        inline = bool(CITATION.search(output.body))
        return [
            check(
                self.name, not unknown, f"{len(unknown)} unknown id(s)" if unknown else "", *unknown
            ),
            check("cites_inline", inline, "" if inline else "the body cites no source inline"),
        ]


@dataclass
class FactCoverage:
    """Share of the case's required facts that the draft states (any listed phrasing)."""

    name: str = "fact_coverage"

    def evaluate(self, ctx: EvalContext) -> list[EvalResult]:
        facts = ctx.loaded.case.expect.must_include
        if not facts:
            return []
        text = _normal(ctx.text)
        missing = [f if isinstance(f, str) else f[0] for f in facts if not _states(text, f)]
        share = 1 - len(missing) / len(facts)
        reason = f"missing {len(missing)} of {len(facts)}" if missing else ""
        return [EvalResult(self.name, share, not missing, reason, tuple(missing))]


def _states(text: str, fact: str | list[str]) -> bool:
    for phrase in [fact] if isinstance(fact, str) else fact:
        wanted = _normal(phrase)
        if wanted in text:
            return True
        values = numeric_values(phrase)
        if values and any(ch.isdigit() for ch in phrase) and values <= numeric_values(text):
            return True
    return False


def _normal(text: str) -> str:
    text = text.replace("’", "'").replace("–", "-").replace("—", "-")
    return " ".join(text.lower().split())


@dataclass
class NoBannedClaims:
    """None of the case's forbidden claims (absent facts, competitors, unplanned prices)."""

    name: str = "no_banned_claims"

    def evaluate(self, ctx: EvalContext) -> list[EvalResult]:
        banned = ctx.loaded.case.expect.must_not_include
        if not banned or ctx.result.output is None:
            return [] if not banned else [check(self.name, False, "no draft")]
        text = _normal(ctx.text)
        found = [b for b in banned if re.search(rf"(?<!\w){re.escape(_normal(b))}", text)]
        return [check(self.name, not found, f"states {found[0]!r}" if found else "", *found)]


@dataclass
class NoUnsupportedDetails:
    """The product's own grounding flags: numbers, dates and contacts in no cited source."""

    name: str = "no_unsupported_details"

    def evaluate(self, ctx: EvalContext) -> list[EvalResult]:
        if ctx.result.output is None:
            return [check(self.name, False, "no draft")]
        flags = [f for f in ctx.result.findings if f.code in CONTACT_CODES]
        return [
            check(
                self.name,
                not flags,
                f"{len(flags)} flagged" if flags else "",
                *(f.message for f in flags),
            )
        ]


@dataclass
class LengthRule:
    name: str = "length_ok"

    def evaluate(self, ctx: EvalContext) -> list[EvalResult]:
        expect = ctx.loaded.case.expect
        if expect.min_words is None and expect.max_words is None:
            return []
        words = len(CITATION.sub(" ", ctx.body).split())
        low, high = expect.min_words or 0, expect.max_words or 10**9
        ok = ctx.result.output is not None and low <= words <= high
        return [check(self.name, ok, f"{words} words (wanted {low}-{high})")]


@dataclass
class CallToAction:
    """Outreach ends with one concrete ask; a briefing needs none."""

    name: str = "call_to_action"

    def evaluate(self, ctx: EvalContext) -> list[EvalResult]:
        if ctx.loaded.case.expect.call_to_action is not True:
            return []
        ok = asks(ctx.body)
        return [check(self.name, ok, "" if ok else "no question or meeting request at the end")]


@dataclass
class Addressee:
    """Greets the expected stakeholder and is signed by the account's SAM."""

    name: str = "addressed_correctly"

    def evaluate(self, ctx: EvalContext) -> list[EvalResult]:
        expected = ctx.loaded.case.expect.address
        if ctx.loaded.case.kind != "outreach":
            return []
        results = []
        body = ctx.body
        if expected:
            greeting = GREETING.search(body)
            line = greeting.group(0) if greeting else body.split("\n", 1)[0]
            others = [
                s.name
                for s in ctx.loaded.plan.stakeholders
                if s.name != expected and mentions(line, s.name)
            ]
            ok = mentions(line, expected) and not others
            reason = f"greeting: {line.strip()[:80]!r}"
            results.append(check(self.name, ok, reason))
        sam = ctx.loaded.plan.owner_sam
        closing = "\n".join(body.strip().splitlines()[-3:])
        signed = bool(body) and sam.split()[-1].lower() in closing.lower()
        results.append(check("signed_by_sam", signed, f"closing: {closing.strip()[-80:]!r}"))
        return results


@dataclass
class Sections:
    """A briefing has every required section heading."""

    name: str = "sections_present"

    def evaluate(self, ctx: EvalContext) -> list[EvalResult]:
        wanted = ctx.loaded.case.expect.sections
        if not wanted:
            return []
        headings = {_normal(h) for h in re.findall(r"^#+\s*(.+?)\s*$", ctx.body, re.M)}
        missing = [w for w in wanted if _normal(w) not in headings]
        share = 1 - len(missing) / len(wanted)
        return [
            EvalResult(self.name, share, not missing, f"missing {len(missing)}", tuple(missing))
        ]


@dataclass
class NoPlaceholders:
    name: str = "no_placeholders"

    def evaluate(self, ctx: EvalContext) -> list[EvalResult]:
        if ctx.result.output is None:
            return []
        found = [m.group(0) for m in PLACEHOLDER.finditer(ctx.text)]
        return [check(self.name, not found, f"contains {found[0]!r}" if found else "", *found)]


@dataclass
class ReadingGrade:
    """Flesch-Kincaid grade of the body; busy executives read short, plain sentences."""

    name: str = "reading_grade"

    def evaluate(self, ctx: EvalContext) -> list[EvalResult]:
        if ctx.result.output is None:
            return []
        grade = reading_grade(ctx.body)
        limit = ctx.loaded.case.expect.max_grade
        passed = None if limit is None else grade <= limit
        return [EvalResult(self.name, grade, passed, f"grade {grade:.1f}", lower_is_better=True)]


def reading_grade(text: str) -> float:
    text = CITATION.sub(" ", re.sub(r"^#+.*$", " ", text, flags=re.M))
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", text)
    if not words:
        return 0.0
    sentences = max(len(re.findall(r"[.!?]+(?:\s|$)|\n\s*[-*]", text)), 1)
    syllables = sum(_syllables(w) for w in words)
    grade = 0.39 * len(words) / sentences + 11.8 * syllables / len(words) - 15.59
    return round(max(grade, 0.0), 1)


def _syllables(word: str) -> int:
    word = word.lower().strip("'")
    groups = re.findall(r"[aeiouy]+", word)
    count = len(groups) - (1 if word.endswith("e") and len(groups) > 1 else 0)
    return max(count, 1)


def deterministic() -> list[object]:
    return [
        SchemaValid(),
        CitationsValid(),
        FactCoverage(),
        NoBannedClaims(),
        NoUnsupportedDetails(),
        LengthRule(),
        CallToAction(),
        Addressee(),
        Sections(),
        NoPlaceholders(),
        ReadingGrade(),
    ]
