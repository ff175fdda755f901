"""Deterministic grounding checks run on every draft before it reaches the queue.

They do not judge style; they find what a SAM must not send unknowingly: citations that
point nowhere, numbers and contact details that no source states, stale or foreign sources.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from agent.schemas import DraftOutput
from retrieval.chunks import Chunk

CITATION = re.compile(r"\[([A-Za-z0-9][A-Za-z0-9._:/-]{1,127})\]")
NUMBER = re.compile(r"(?<![\w.])\$?\d[\d,]*(?:\.\d+)?\s?(?:[kKmMbB](?![a-zA-Z])|%|bn)?")
URL = re.compile(r"https?://[^\s)\]>\"']+", re.IGNORECASE)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<![\w-])\+?(?:\d{1,3}[ .-]?)?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?![\w-])")
DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})(?:T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?)?\b")
ACTIVE = re.compile(
    r"<\s*/?\s*(script|iframe|img|object|embed|style|form)\b|\bon\w+\s*=|!\[[^\]]*\]\(|"
    r"javascript:",
    re.IGNORECASE,
)
SCALE = {"k": 1e3, "m": 1e6, "b": 1e9, "bn": 1e9}


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    excerpt: str = ""
    severity: Literal["error", "warning"] = "error"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check_draft(
    output: DraftOutput,
    sources: list[Chunk],
    *,
    account_id: str,
    as_of: datetime,
    stale_after_days: int,
) -> list[Finding]:
    by_id = {s.id: s for s in sources}
    text = f"{output.subject}\n{output.body}"
    findings = [*_citation_findings(output, by_id, account_id)]
    cited = [by_id[c] for c in _cited_ids(output) if c in by_id]
    findings += _active_content_findings(text)
    findings += _date_findings(text, cited or sources)
    findings += _number_findings(text, cited or sources)
    findings += _contact_findings(text, sources)
    findings += _stale_findings(cited, as_of, stale_after_days)
    return findings


def _cited_ids(output: DraftOutput) -> list[str]:
    ids = list(dict.fromkeys([*output.citations, *CITATION.findall(output.body)]))
    return ids


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


def _number_findings(text: str, sources: list[Chunk]) -> Iterable[Finding]:
    known = numeric_values(" ".join(f"{s.title} {s.text}" for s in sources))
    for pattern in (
        CITATION,
        URL,
        EMAIL,
        PHONE,
        DATE,
    ):  # their digits are checked as a whole elsewhere
        text = pattern.sub(" ", text)
    for match in NUMBER.finditer(text):
        token = match.group(0).strip()
        values = numeric_values(token)
        if values and not values <= known and not _trivial(token, values):
            yield Finding("unsupported_number", f"{token!r} appears in no cited source", token)


def _date_findings(text: str, sources: list[Chunk]) -> Iterable[Finding]:
    corpus = " ".join(
        f"{s.text} {s.published_at.date() if s.published_at else ''}" for s in sources
    )
    known = set(DATE.findall(corpus))
    for date in dict.fromkeys(DATE.findall(text)):
        if date not in known:
            yield Finding("unsupported_date", f"date {date} appears in no cited source", date)


def _active_content_findings(text: str) -> Iterable[Finding]:
    """Markup a SAM would not write: scripts, event handlers, images that can beacon out."""
    for match in dict.fromkeys(m.group(0) for m in ACTIVE.finditer(text)):
        yield Finding(
            "active_content", f"contains markup {match!r}; it will not be rendered", match
        )


def _trivial(token: str, values: set[float]) -> bool:
    """Small bare counts ("2 weeks", "30 minutes", list numbering) are not factual claims;
    a percentage or an amount always is."""
    if "%" in token or "$" in token:
        return False
    return all(v <= 31 and v == int(v) for v in values)


def _contact_findings(text: str, sources: list[Chunk]) -> Iterable[Finding]:
    corpus = " ".join(f"{s.text} {s.url or ''}" for s in sources).lower()
    for pattern, code, label in (
        (URL, "foreign_link", "link"),
        (EMAIL, "foreign_email", "email address"),
        (PHONE, "foreign_phone", "phone number"),
    ):
        for match in pattern.finditer(text):
            token = match.group(0).rstrip(".,;")
            if token.lower() not in corpus:
                yield Finding(code, f"{label} {token!r} appears in no source", token)


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
