"""Claim-level grounding: split a draft into claims and check each against its own citations.

A claim is a sentence or bullet. The facts in it that a reader would take as true (amounts,
percentages, dates, people's names and their titles) must be stated in the sources that
claim cites; an uncited claim is held to the draft's cited sources instead. Wording is not
judged: a paraphrase passes, an invented "$4M" or a wrong "CFO" does not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from retrieval.chunks import Chunk

CITATION = re.compile(r"\[([A-Za-z0-9][A-Za-z0-9._:/-]{1,127})\]")
NUMBER = re.compile(r"(?<![\w.])\$?\d(?:[\d,]*\d)?(?:\.\d+)?\s?(?:[kKmMbB](?![a-zA-Z])|%|bn)?")
DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})(?:T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?)?\b")
URL = re.compile(r"https?://[^\s)\]>\"']+", re.IGNORECASE)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<![\w-])\+?(?:\d{1,3}[ .-]?)?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?![\w-])")
SCALE = {"k": 1e3, "m": 1e6, "b": 1e9, "bn": 1e9}
# An item's number in a list written on one line ("sections: 1. Snapshot; 2. Risks").
INLINE_ITEM = re.compile(r"(?:^|(?<=[;:]))\s*(\d{1,2})[.)](?=\s|$)")
UNIT = re.compile(r"[\s-]([a-zA-Z]{3,})(?:[\s-]([a-zA-Z]{3,}))?")
NOT_UNITS = {
    "out",
    "against",
    "above",
    "below",
    "over",
    "under",
    "per",
    "than",
    "and",
    "the",
    "for",
    "from",
    "with",
    "into",
    "onto",
    "also",
    "more",
    "less",
    "target",
    "status",
    "current",
    "identified",
    "stage",
    "close",
    "module",
    "was",
    "were",
    "are",
    "has",
}
ID_WORDS = re.compile(r"\b(ticket|rfp|rfi|case|order|invoice|po|id|no\.?|number|ref)\s*$")
TIME_UNITS = {"minu", "mins", "hour", "days", "day", "week", "mont"}

NAME = r"[A-Z][a-z]+(?:[ -][A-Z][a-z'’-]+){1,2}"
ABBREVIATIONS = {
    "ceo": "chief executive officer",
    "cfo": "chief financial officer",
    "coo": "chief operating officer",
    "cio": "chief information officer",
    "cto": "chief technology officer",
    "cmo": "chief marketing officer",
    "ciso": "chief information security officer",
    "cro": "chief revenue officer",
    "cdo": "chief data officer",
    "vp": "vice president",
    "svp": "senior vice president",
    "evp": "executive vice president",
}
TITLE_WORD = re.compile(
    r"\b(chief|officer|ceo|cfo|coo|cio|cto|cmo|ciso|cro|cdo|vp|svp|evp|vice president|"
    r"president|director|head|manager|lead|chair|chairman|founder|treasurer|controller|"
    r"counsel|architect|analyst|principal)\b",
    re.IGNORECASE,
)
NAME_THEN_TITLE = re.compile(
    rf"\b(?P<name>{NAME}),\s+(?:the\s+|our\s+|their\s+)?(?P<title>(?:[A-Z][\w&/-]*|of|and|&)"
    rf"(?:\s+(?:[A-Z][\w&/-]*|of|and|&)){{0,5}})"
)
TITLE_THEN_NAME = re.compile(
    rf"\b(?P<title>(?:Chief \w+ Officer|CEO|CFO|COO|CIO|CTO|CMO|CISO|CRO|CDO|S?VP(?: of)? \w+|"
    rf"Vice President(?: of)? \w+|Director of \w+|Head of \w+))\s+(?P<name>{NAME})\b"
)
PERSON = re.compile(rf"\b{NAME}\b")
POSSESSIVE = re.compile(r"['’]s$")
# Capitalised words that start sentences, greet, sign off or head sections: not names.
COMMON = set(
    """
a an the this that these those we our you your i it its he she they their my me us as at in on
of for with from to by and or but if so not no yes let could would can will should may might
please looking given since after before during while when where what why how who which there
here hi hello dear thanks thank best regards kind warm cheers sincerely congratulations great
account snapshot changed since last contact stakeholder map gaps open opportunities risks
talking points questions ask subject meeting next steps summary objectives relationship key
initiatives metrics targets upcoming overview strategic scorecard email briefing draft note
monday tuesday wednesday thursday friday saturday sunday january february march april may
june july august september october november december q1 q2 q3 q4 fy new north south east west
""".split()
)


@dataclass(frozen=True)
class Claim:
    text: str
    citations: tuple[str, ...]


@dataclass(frozen=True)
class Unsupported:
    code: str
    fact: str
    claim: str
    checked: tuple[str, ...]


def split_claims(text: str) -> list[Claim]:
    """Sentences and bullets that state something; headings and greetings are not claims."""
    claims = []
    for line in text.splitlines():
        line = re.sub(r"^\d{1,2}[.)]\s+", "", line.strip().lstrip("-*•>").strip())
        line = _without_item_numbers(line)
        if not line or line.startswith("#"):
            continue
        for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z\[])", line):
            bare = CITATION.sub("", sentence).strip()
            if not bare:
                continue
            claims.append(Claim(sentence.strip(), tuple(CITATION.findall(sentence))))
    return claims


def _without_item_numbers(line: str) -> str:
    """ "Agenda: 1. Pricing; 2. Renewal" numbers its items, and the numbers state nothing;
    a lone "target: 5." may, so only a run counting up from one number to the next goes."""
    numbers = [int(m.group(1)) for m in INLINE_ITEM.finditer(line)]
    if len(numbers) >= 2 and numbers == list(range(numbers[0], numbers[0] + len(numbers))):
        return INLINE_ITEM.sub(" ", line)
    return line


def numeric_values(text: str) -> set[float]:
    """Every number in ``text`` as a value, so "$750K", "$750,000" and "750000" all match."""
    values = set()
    for match in NUMBER.finditer(text):
        token = match.group(0).strip().lower().lstrip("$").replace(",", "").replace(" ", "")
        suffix = next((s for s in ("bn", "k", "m", "b", "%") if token.endswith(s)), "")
        digits = token[: -len(suffix)] if suffix else token
        try:
            value = float(digits)
        except ValueError:
            continue
        values.add(round(value * SCALE.get(suffix, 1.0), 2))
    return values


def check_claims(
    text: str,
    sources: Sequence[Chunk],
    *,
    fallback: Sequence[Chunk],
    known: Iterable[str] = (),
) -> list[Unsupported]:
    """Facts of each claim that its cited sources (or ``fallback``) do not state."""
    by_id = {s.id: s for s in sources}
    extra = " ".join(known)
    problems: list[Unsupported] = []
    for claim in split_claims(text):
        support = [by_id[c] for c in claim.citations if c in by_id] or list(fallback)
        corpus = " ".join(_source_text(s) for s in support)
        checked = tuple(s.id for s in support)
        problems += [
            Unsupported(code, fact, claim.text, checked)
            for code, fact in _unsupported_facts(claim.text, corpus, extra)
        ]
    return problems


def _unsupported_facts(claim: str, corpus: str, known: str) -> Iterable[tuple[str, str]]:
    text = claim
    for pattern in (CITATION, URL, EMAIL, PHONE):
        text = pattern.sub(" ", text)
    source_dates = set(DATE.findall(f"{corpus} {known}"))
    for date in dict.fromkeys(DATE.findall(text)):
        if date not in source_dates:
            yield "unsupported_date", date
    text = DATE.sub(" ", text)
    known_values = numeric_values(corpus + " " + known)
    units = _units(corpus)
    for match in NUMBER.finditer(text):
        token = match.group(0).strip()
        values = numeric_values(token)
        unit = _unit_after(text, match)
        if not values or _trivial(token, values, unit):
            continue
        if not values <= known_values:
            yield "unsupported_number", token
        elif (
            unit
            and "$" not in token
            and "%" not in token
            and not _is_year(values)
            and not _is_identifier(text, match)
            and all(units.get(v) and not (unit & units[v]) for v in values)
        ):
            # The value exists, but counting something else ("60 days" is not "60 seats").
            yield "unsupported_number", f"{token} {' '.join(sorted(unit))}"
    yield from _unsupported_people(text, corpus, known)


def _unsupported_people(text: str, corpus: str, known: str) -> Iterable[tuple[str, str]]:
    lowered = (corpus + " " + known).lower()
    seen: set[str] = set()
    for pattern in (NAME_THEN_TITLE, TITLE_THEN_NAME):
        for match in pattern.finditer(text):
            name, title = _owner(match.group("name")), match.group("title").strip()
            if not TITLE_WORD.search(title) or _is_common(name):
                continue
            seen.add(name)
            if name.lower() not in lowered:
                yield "unsupported_name", name
            elif not _title_near_name(name, title, corpus):
                yield "unsupported_title", f"{name}, {title}"
    for match in PERSON.finditer(text):
        name = _owner(match.group(0))
        if name in seen or _is_common(name) or TITLE_WORD.search(name) or name.lower() in lowered:
            continue
        seen.add(name)
        yield "unsupported_name", name


def _owner(name: str) -> str:
    """The person in "Linda Marsh's retirement" is Linda Marsh, as the sources write her."""
    return POSSESSIVE.sub("", name)


def _title_near_name(name: str, title: str, corpus: str, window: int = 160) -> bool:
    wanted = _normalize_title(title)
    for match in re.finditer(re.escape(name), corpus, re.IGNORECASE):
        around = corpus[max(match.start() - window, 0) : match.end() + window]
        if wanted in _normalize_title(around):
            return True
    return False


def _normalize_title(text: str) -> str:
    words = re.findall(r"[a-z]+", text.lower())
    return " ".join(ABBREVIATIONS.get(w, w) for w in words if w not in {"the", "of", "and"})


def _is_common(name: str) -> bool:
    words = re.split(r"[ -]", name.lower())
    return words[0] in COMMON or all(w in COMMON for w in words)


def _trivial(token: str, values: set[float], unit: set[str]) -> bool:
    """Short spans of time in a call to action ("30 minutes", "2 weeks") are not claims about
    the account; a percentage, an amount or a count of things always is."""
    if "%" in token or "$" in token:
        return False
    return bool(unit & TIME_UNITS) and all(v <= 60 for v in values)


def _is_identifier(text: str, number: re.Match[str]) -> bool:
    """Ticket, RFP and order numbers name things; they do not count them."""
    before = text[max(number.start() - 12, 0) : number.start()].lower()
    return before.endswith(("-", "#", "/")) or bool(ID_WORDS.search(before))


def _is_year(values: set[float]) -> bool:
    return all(1900 <= v <= 2100 and v == int(v) for v in values)


def _unit_after(text: str, number: re.Match[str]) -> set[str]:
    """The (up to two) words right after a number, stemmed to 4 letters: what it counts."""
    match = UNIT.match(text, number.start() + len(number.group(0).rstrip()))
    if not match:
        return set()
    return {w.lower()[:4] for w in match.groups() if w and w.lower() not in NOT_UNITS}


def _units(corpus: str) -> dict[float, set[str]]:
    """For each value in the sources, the words it counts; "" marks a bare occurrence."""
    found: dict[float, set[str]] = {}
    for match in NUMBER.finditer(corpus):
        unit = _unit_after(corpus, match) or {""}
        for value in numeric_values(match.group(0)):
            found.setdefault(value, set()).update(unit)
    return found


def _source_text(source: Chunk) -> str:
    date = source.published_at.date().isoformat() if source.published_at else ""
    return f"{source.title} {source.text} {date}"
