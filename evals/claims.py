"""Claim-level grounding for the evals: the product's claim checks plus a stricter layer.

Every claim first goes through the product's own checker (``agent.claims.check_claims``,
the one ``agent.grounding`` flags drafts with), so the evals never disagree with the desk
about a fact the product checks. This module adds what the product does not check yet:
dates written in prose ("March 31, 2026", "Q4 2026"), spelled-out numbers ("six months"),
any proper name absent from the cited source, a title given to the wrong person, wording
mostly absent from the source, a claim that contradicts a negation in it, and a rumour
stated as fact. ``samdesk eval claims`` measures both layers on labelled claims, so the
lead can see which rules earn their place before moving them into ``agent/claims.py``.

It also owns what counts as a claim for the supported-claim rate: greetings, questions,
sign-offs and pleasantries are not claims, and a citation written after the full stop
("... 2027. [sig-1]") belongs to the sentence before it.
Public surface: :func:`split_claims`, :func:`check_claim`, :func:`check_claims`,
:func:`product_unsupported`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from agent.claims import CITATION, numeric_values
from agent.claims import check_claims as product_check
from evals.claim_parts import (
    best_sentence,
    content_words,
    contradicts,
    date_keys,
    dates_in,
    hedged,
    names_in,
    title_pairs,
    titles_near,
    with_digits,
)
from retrieval.chunks import Chunk

MIN_OVERLAP = 0.5
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[A-Z0-9$])")
_ABBREVIATIONS = re.compile(r"\b(Dr|Mr|Ms|Mrs|St|Inc|Corp|Co|Ltd|vs|e\.g|i\.e|approx|No)\.$")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+")
_NOT_A_CLAIM = re.compile(
    r"^(hi|hello|dear|hey|best|regards|kind regards|warm regards|thanks|thank you|sincerely|"
    r"cheers|i hope|hope you|i'd love|i would love|looking forward|let me know|please let|"
    r"happy to|would you|could we|can we|shall we|let's|are you|do you)\b",
    re.IGNORECASE,
)
# The writer's own intentions and requests, wherever they stand, state no fact to check.
_INTENT = re.compile(
    r"\b(?:i|we) (?:would like|'d like|want|wanted|am writing|'m writing|hope|look forward)\b"
    r"|\b(?:i|we)'(?:d like|m writing)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Claim:
    text: str
    citations: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClaimVerdict:
    claim: Claim
    supported: bool
    reasons: tuple[str, ...] = ()
    checked_against: tuple[str, ...] = ()


def split_claims(text: str) -> list[Claim]:
    """Factual sentences and bullet points of ``text``, each with the ids it cites."""
    claims: list[Claim] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = _BULLET.sub("", line).replace("**", "")
        for sentence in _sentences(line):
            ids = tuple(dict.fromkeys(CITATION.findall(sentence)))
            bare = " ".join(CITATION.sub(" ", sentence).split()).strip(" ,;")
            bare = re.sub(r"\s+([.,;:!?])", r"\1", bare)
            if not bare:
                if claims and ids:  # "... 2027. [sig-1]": the id belongs to the sentence before
                    last = claims[-1]
                    claims[-1] = Claim(last.text, tuple(dict.fromkeys(last.citations + ids)))
                continue
            if _is_claim(bare):
                claims.append(Claim(bare, ids))
    return claims


def _sentences(line: str) -> list[str]:
    parts = _SENTENCE_END.split(line)
    merged: list[str] = []
    for part in parts:
        if merged and _ABBREVIATIONS.search(merged[-1]):
            merged[-1] = f"{merged[-1]} {part}"
        else:
            merged.append(part)
    return merged


def _is_claim(sentence: str) -> bool:
    if sentence.endswith("?") or _NOT_A_CLAIM.match(sentence) or _INTENT.search(sentence):
        return False
    return len(sentence.split()) >= 4


def check_claims(text: str, sources: list[Chunk], cited: list[str]) -> list[ClaimVerdict]:
    return [check_claim(c, sources, cited) for c in split_claims(text)]


def check_claim(claim: Claim, sources: list[Chunk], fallback: Sequence[str] = ()) -> ClaimVerdict:
    """Is every checkable detail of ``claim`` in a source it cites (or the draft cites)?"""
    by_id = {s.id: s for s in sources}
    ids = [i for i in claim.citations if i in by_id] or [i for i in fallback if i in by_id]
    if not ids:
        return ClaimVerdict(claim, False, ("cites no source it was given",))
    cited = [by_id[i] for i in ids]
    corpus = "\n".join(_source_text(s) for s in cited)
    product = product_unsupported(claim.text, cited)
    codes = {code for code, _ in product}
    reasons = [f"{code.replace('_', ' ')}: {fact!r}" for code, fact in product]
    if "unsupported_number" not in codes:
        reasons += _number_reasons(claim.text, corpus)
    if "unsupported_date" not in codes:
        reasons += _date_reasons(claim.text, corpus)
    if "unsupported_name" not in codes:
        reasons += _name_reasons(claim.text, corpus)
    if "unsupported_title" not in codes:
        reasons += _title_reasons(claim.text, corpus)
    reasons += _wording_reasons(claim.text, corpus)
    return ClaimVerdict(claim, not reasons, tuple(dict.fromkeys(reasons)), tuple(ids))


def product_unsupported(text: str, cited: list[Chunk]) -> list[tuple[str, str]]:
    """(code, fact) for each fact of ``text`` the product's own claim check rejects."""
    return [(p.code, p.fact) for p in product_check(text, cited, fallback=cited)]


def _source_text(source: Chunk) -> str:
    when = source.published_at.date().isoformat() if source.published_at else ""
    return f"{source.title}\n{source.text}\n{when}"


def _number_reasons(text: str, corpus: str) -> list[str]:
    known = numeric_values(with_digits(_strip_dates(corpus)))
    claimed = numeric_values(with_digits(_strip_dates(text)))
    return [f"number {_fmt(v)} is not in the cited source" for v in sorted(claimed - known)]


def _strip_dates(text: str) -> str:
    for span in sorted((m.span() for m in dates_in(text)), reverse=True):
        text = text[: span[0]] + " " + text[span[1] :]
    return text


def _fmt(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _date_reasons(text: str, corpus: str) -> list[str]:
    known = {key for m in dates_in(corpus) for key in date_keys(m)}
    reasons = []
    for match in dates_in(text):
        if not set(date_keys(match)) & known:
            reasons.append(f"date {match.group(0)!r} is not in the cited source")
    return reasons


def _name_reasons(text: str, corpus: str) -> list[str]:
    lowered = " ".join(corpus.lower().split())
    return [f"name {name!r} is not in the cited source" for name in names_in(text, lowered)]


def _title_reasons(text: str, corpus: str) -> list[str]:
    reasons = []
    for person, title in title_pairs(text):
        if not titles_near(person, title, corpus):
            reasons.append(f"the cited source does not call {person} {title}")
    return reasons


def _wording_reasons(text: str, corpus: str) -> list[str]:
    words = content_words(text)
    if not words:
        return []
    known = content_words(corpus)
    share = len(words & known) / len(words)
    if share < MIN_OVERLAP:
        missing = ", ".join(sorted(words - known)[:6])
        return [f"most of its wording is not in the cited source ({missing})"]
    if contradicts(text, corpus):
        return ["it contradicts a negation in the cited source"]
    source = best_sentence(text, corpus)
    if hedged(source) and not hedged(text):
        return ["it states as fact what the cited source only reports as possible"]
    return []
