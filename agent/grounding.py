"""Deterministic checks run on every draft before it reaches the queue.

They do not judge style; they find what a SAM must not send unknowingly: claims whose facts
their sources do not state (agent.claims), citations that point nowhere, contact details no
source gives, markup, obeyed prompt injections, echoes of our own instructions, mentions of
another account, stale sources, and, in outreach, the account plan's internal view of the
customer. What a draft looks like (subject, placeholders, HTML, sections, greeting and
signature) is agent.form_checks'.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from agent.claims import CITATION, EMAIL, PHONE, URL, check_claims, numeric_values
from agent.findings import Finding
from agent.form_checks import Letter, form_findings
from agent.prompts import DATA_WORD
from agent.schemas import DraftOutput
from retrieval.chunks import Chunk
from retrieval.injection import detect_injection, domain_of

__all__ = ["Finding", "check_draft", "numeric_values"]

REPEAT = re.compile(r"\b(\w+)(?:\W{1,3}\1\b){9,}", re.IGNORECASE)
ECHO_WORDS = 8
# A subject this long or longer copied whole from the prompt ("Draft the email now as JSON").
SUBJECT_ECHO_WORDS = 5
# A sentence this long or longer, nearly all of whose words follow one of ours in order.
ECHO_SENTENCE_WORDS = 6
ECHO_SHARE = 0.85
SENTENCE_END = re.compile(r"[.!?;:\n]+(?:\s+|$)|\n")
COMMITMENT = re.compile(
    r"\b(discount|waive[sd]?|waiver|free of charge|at no (additional |extra )?(cost|charge)|"
    r"for free|price (cut|reduction|freeze)|refund|\d+\s?% (off|increase|reduction)|"
    r"beat any (bid|price|offer)|auto-?renew(ed|al)?|renews? automatically)\b",
    re.IGNORECASE,
)

# Account-management words a customer should never read in an email from their SAM.
INTERNAL_TERMS = re.compile(
    r"\b(account plan|strategic score|(?:strategic|account) scorecard|relationship map|"
    r"economic buyer|churn risk|down-?sell|up-?sell|told us (?:privately|in confidence))\b",
    re.IGNORECASE,
)
# Plan sections holding the SAM's candid view: risks, relationships, deal values, remarks.
CANDID_SECTION = re.compile(
    r"risk|relationship|stakeholder|scorecard|opportunit|competit|last contact", re.IGNORECASE
)


def check_draft(
    output: DraftOutput,
    sources: list[Chunk],
    *,
    account_id: str,
    as_of: datetime,
    stale_after_days: int,
    known: Sequence[str] = (),
    instructions: str = "",
    other_accounts: Sequence[str] = (),
    customer_facing: bool = False,
    plan: Sequence[Chunk] = (),
    letter: Letter | None = None,
) -> list[Finding]:
    """All findings for one draft. ``known`` are what the prompt itself supplied (the SAM,
    the seller, the recipient, the meeting and its time); ``instructions`` are samdesk's own
    words in the prompt (``Prompt.instructions``); ``other_accounts`` are names and domains
    of every other account; ``customer_facing``: the draft is mailed to the customer
    (outreach), not read by the SAM; ``plan``: the account plan's chunks, retrieved or not,
    none of whose candid sections a customer-facing draft may quote; ``letter``: who an
    email is between, for its subject, greeting and signature."""
    by_id = {s.id: s for s in sources}
    text = f"{output.subject}\n{output.body}"
    cited = [by_id[c] for c in _cited_ids(output) if c in by_id]
    findings = [*_citation_findings(output, by_id, account_id)]
    findings += [
        Finding(
            p.code, f"{p.fact!r} is not stated in {_ids(p.checked)}: “{_short(p.claim)}”", p.fact
        )
        for p in check_claims(text, sources, fallback=cited or sources, known=known)
    ]
    findings += _degenerate_findings(text)
    findings += _contact_findings(text, sources, known)
    findings += _commitment_findings(text)
    findings += _injection_findings(text, sources, cited)
    findings += _echo_findings(output, instructions)
    findings += _other_account_findings(text, other_accounts)
    if customer_facing:
        findings += _disclosure_findings(text, [*sources, *plan])
    findings += _stale_findings(cited, as_of, stale_after_days)
    findings += form_findings(
        output,
        instructions=instructions,
        corpus=" ".join([*(s.text for s in sources), *known]),
        letter=letter,
    )
    return findings


def _cited_ids(output: DraftOutput) -> list[str]:
    return list(dict.fromkeys([*output.citations, *CITATION.findall(output.body)]))


def _citation_findings(
    output: DraftOutput, by_id: dict[str, Chunk], account_id: str
) -> Iterable[Finding]:
    for cid in _cited_ids(output):
        source = by_id.get(cid)
        if source is None:
            yield Finding(
                "unknown_citation", f"cites [{cid}], which was not among the sources", cid
            )
        elif source.account_id != account_id:
            yield Finding("foreign_account", f"[{cid}] belongs to account {source.account_id}", cid)
    if not CITATION.search(output.body):
        yield Finding("uncited", "the body cites no source inline", severity="warning")


def _degenerate_findings(text: str) -> Iterable[Finding]:
    """A word repeated ten times in a row: a looping model or an obeyed "repeat X" payload."""
    match = REPEAT.search(text)
    if match:
        yield Finding(
            "degenerate_output", f"repeats {match.group(1)!r} over and over", match.group(0)[:60]
        )


def _contact_findings(text: str, sources: list[Chunk], known: Sequence[str]) -> Iterable[Finding]:
    """Links, emails and phones must come from a trusted place: the account plan, a source's
    own address, or the prompt (recipient, SAM). Signal text is untrusted: a phishing link
    planted in a news item is still a phishing link."""
    trusted = [s.text for s in sources if s.kind == "plan"] + [s.url or "" for s in sources]
    corpus = " ".join([*trusted, *known]).lower()
    for pattern, code, label in (
        (URL, "foreign_link", "link"),
        (EMAIL, "foreign_email", "email address"),
        (PHONE, "foreign_phone", "phone number"),
    ):
        for match in pattern.finditer(text):
            token = match.group(0).rstrip(".,;")
            if token.lower() not in corpus:
                yield Finding(
                    code,
                    f"{label} {token!r} is not given by the plan or a source's own address",
                    token,
                )


def _commitment_findings(text: str) -> Iterable[Finding]:
    """Prices, discounts and free extras are the SAM's to offer, never the model's."""
    match = COMMITMENT.search(text)
    if match:
        yield Finding(
            "commitment",
            "commits to pricing or terms; only the SAM can offer these",
            match.group(0),
        )


def _injection_findings(text: str, sources: list[Chunk], cited: list[Chunk]) -> Iterable[Finding]:
    for source in sources:
        if source.flags:  # cited or not, it was in the prompt and may have steered the model
            yield Finding(
                "injection_source",
                f"[{source.id}] was marked at ingest as a possible "
                f"prompt injection ({', '.join(source.flags)})",
                source.id,
            )
    domains = tuple(domain_of(s.url) for s in sources if s.url)
    for mark in detect_injection(text, allowed_domains=domains):
        if mark.reason == "markup":
            yield Finding(
                "active_content",
                f"contains markup or code {mark.excerpt!r}; it will not be rendered",
                mark.excerpt,
            )
        elif mark.reason != "foreign_link":  # links are checked against the sources instead
            yield Finding(
                "injected_instruction",
                f"reads like an instruction planted in a source ({mark.reason})",
                mark.excerpt,
            )


def _echo_findings(output: DraftOutput, instructions: str) -> Iterable[Finding]:
    """Our own prompt must never be sent: flag any run of 8 words copied from it, or a
    subject copied whole from it. Runs mostly made of the account's own words (the meeting
    title the prompt asks a briefing's subject to be) are not ours."""
    text = f"{output.subject}\n{output.body}"
    run = _copied_run(text, instructions) or _echoed_sentence(text, instructions)
    if run:
        yield Finding("prompt_echo", "repeats samdesk's own instructions", run)
        return
    words = len(re.findall(r"\w+", output.subject))
    if SUBJECT_ECHO_WORDS <= words < ECHO_WORDS and _copied_run(
        output.subject, instructions, words
    ):
        yield Finding(
            "prompt_echo", "the subject repeats samdesk's own instructions", output.subject
        )


def _disclosure_findings(text: str, chunks: list[Chunk]) -> Iterable[Finding]:
    """The account plan is the SAM's private view of the customer ("our champion is
    retiring", "the COO, whom we barely know", deal values): the claim checks pass it, as
    the plan is a source, so an email quoting it needs its own check."""
    match = INTERNAL_TERMS.search(text)
    if match:
        yield Finding(
            "internal_disclosure",
            f"uses the account plan's internal language ({match.group(0)!r}) in an email "
            "to the customer",
            match.group(0),
        )
    candid = {c.id: c for c in chunks if c.kind == "plan" and CANDID_SECTION.search(c.section)}
    for source in candid.values():
        run = _copied_run(text, source.text)
        if run:
            yield Finding(
                "internal_disclosure",
                f"copies the account plan's {source.section.lower()} [{source.id}] into "
                "an email to the customer",
                run,
            )


def _copied_run(text: str, original: str, length: int = ECHO_WORDS) -> str | None:
    """The first run of ``length`` words of ``text`` that ``original`` also has, leaving
    out runs of ``original`` mostly made of words marked as data (:data:`DATA_WORD`).
    Numbers are skipped on both sides: a copied list stays a copy once it is numbered."""
    words = _words(original, data=True)
    shingles: set[str] = set()
    for i in range(len(words) - length + 1):
        window = words[i : i + length]
        if sum(not w.startswith(DATA_WORD) for w in window) * 2 > length:
            shingles.add(" ".join(w.lstrip(DATA_WORD) for w in window))
    draft = _words(text)
    for i in range(len(draft) - length + 1):
        run = " ".join(draft[i : i + length])
        if run in shingles:
            return run
    return None


def _echoed_sentence(text: str, instructions: str) -> str | None:
    """A sentence of the draft that is one of ours with a word or two changed or left out
    ("A one-page briefing in Markdown with exactly these sections" from "Write a one-page
    pre-meeting briefing …"): at least ``ECHO_SHARE`` of its words, in our order."""
    ours = [
        (mine, set(mine))
        for mine in (
            [w for w in _words(s, data=True) if not w.startswith(DATA_WORD)]
            for s in SENTENCE_END.split(instructions)
        )
    ]
    for sentence in SENTENCE_END.split(text):
        words = _words(sentence)
        if len(words) < ECHO_SENTENCE_WORDS:
            continue
        need = max(ECHO_SENTENCE_WORDS, math.ceil(ECHO_SHARE * len(words)))
        distinct = set(words)
        for mine, vocabulary in ours:
            # Shared words first (cheap): most of our sentences share too few to compare.
            if len(distinct & vocabulary) >= need and _common_run(words, mine) >= need:
                return sentence.strip()
    return None


def _common_run(a: list[str], b: list[str]) -> int:
    """How many words of ``a`` appear in ``b`` in the same order (longest common subsequence)."""
    row = [0] * (len(b) + 1)
    for word in a:
        diagonal = 0
        for j, other in enumerate(b, 1):
            diagonal, row[j] = row[j], diagonal + 1 if word == other else max(row[j], row[j - 1])
    return row[-1]


def _words(text: str, *, data: bool = False) -> list[str]:
    """Lower-case words without numbers; with ``data``, words marked as data keep the mark."""
    pattern = rf"{DATA_WORD}?\w+" if data else r"\w+"
    return [w for w in re.findall(pattern, text.lower()) if not w.lstrip(DATA_WORD).isdigit()]


def _other_account_findings(text: str, other_accounts: Sequence[str]) -> Iterable[Finding]:
    lowered = text.lower()
    for term in other_accounts:
        if term and re.search(rf"\b{re.escape(term.lower())}\b", lowered):
            yield Finding(
                "other_account", f"mentions {term!r}, which belongs to another account", term
            )


def _stale_findings(cited: list[Chunk], as_of: datetime, max_age_days: int) -> Iterable[Finding]:
    limit = as_of - timedelta(days=max_age_days)
    for source in cited:
        if source.published_at is not None and source.published_at < limit:
            yield Finding(
                "stale_source",
                f"[{source.id}] is from {source.published_at.date()}, "
                f"older than {max_age_days} days",
                source.id,
                severity="warning",
            )


def _ids(ids: Sequence[str]) -> str:
    return ", ".join(f"[{i}]" for i in ids) or "any source"


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
