"""Turn plans and signals into the chunks that are embedded, retrieved and cited.

Chunk ids are stable (``<account>/<section>`` for plan sections, the signal id for
signals) because drafts cite them and the desk links citations back to them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from retrieval.injection import detect_injection, domain_of
from retrieval.schemas import AccountPlan, Signal

ChunkKind = Literal["plan", "signal"]
# Blocks that plan_chunks builds from the front matter; a ``##`` section may not reuse their ids.
GENERATED_SECTIONS = (
    "Overview",
    "Strategic scorecard",
    "Stakeholders",
    "Open opportunities",
    "Metrics vs targets",
    "Upcoming meetings",
)


@dataclass(frozen=True)
class Chunk:
    id: str
    account_id: str
    kind: ChunkKind
    section: str
    title: str
    text: str
    published_at: datetime | None = None
    url: str | None = None
    flags: tuple[str, ...] = ()  # reasons a signal was marked as a possible prompt injection

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(f"{self.title}\n{self.text}".encode()).hexdigest()[:16]

    def metadata(self) -> dict[str, str | int | float]:
        """Flat metadata as chromadb stores it (no ``None`` values allowed there)."""
        meta: dict[str, str | int | float] = {
            "account_id": self.account_id,
            "kind": self.kind,
            "section": self.section,
            "title": self.title,
            "content_hash": self.content_hash,
        }
        if self.published_at is not None:
            meta["published_at"] = self.published_at.isoformat()
            meta["published_ts"] = self.published_at.timestamp()
        if self.url:
            meta["url"] = self.url
        if self.flags:
            meta["injection"] = ",".join(self.flags)
        return meta


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def plan_chunks(plan: AccountPlan) -> list[Chunk]:
    """One chunk per structured block of the front matter and per ``##`` section."""
    blocks = {
        "Overview": _overview(plan),
        "Strategic scorecard": _scorecard(plan),
        "Stakeholders": _stakeholders(plan),
        "Open opportunities": _opportunities(plan),
        "Metrics vs targets": _metrics(plan),
        "Upcoming meetings": _meetings(plan),
        **plan.sections,
    }
    return [
        Chunk(
            id=f"{plan.account_id}/{slug(section)}",
            account_id=plan.account_id,
            kind="plan",
            section=section,
            title=f"{plan.name} account plan: {section}",
            text=text,
        )
        for section, text in blocks.items()
        if text.strip()
    ]


def signal_chunk(signal: Signal) -> Chunk:
    return Chunk(
        id=signal.id,
        account_id=signal.account_id,
        kind="signal",
        section=signal.type,
        title=signal.title,
        text=signal.text,
        published_at=signal.published_at,
        url=str(signal.source_url),
        flags=tuple(
            dict.fromkeys(
                mark.reason
                for mark in detect_injection(
                    f"{signal.title}\n{signal.text}",
                    allowed_domains=(domain_of(str(signal.source_url)),),
                )
            )
        ),
    )


def _overview(plan: AccountPlan) -> str:
    lines = [
        f"Account: {plan.name} ({plan.industry}), domain {plan.domain}.",
        f"Current ARR: ${plan.arr_usd:,}. Strategic score: {plan.strategic_score}/100.",
        f"Strategic Account Manager: {plan.owner_sam}.",
        f"Executive sponsor: {plan.executive_sponsor}.",
    ]
    if plan.renewal_date:
        lines.append(f"Renewal date: {plan.renewal_date.isoformat()}.")
    if plan.last_contact:
        lines.append(f"Last contact: {plan.last_contact.isoformat()}.")
    if plan.review_period:
        lines.append(f"Review period: {plan.review_period}.")
    return "\n".join(lines)


def _scorecard(plan: AccountPlan) -> str:
    rows = [
        f"- {c.criterion} (weight {c.weight}%): {c.score}/10"
        + (f", {c.evidence}" if c.evidence else "")
        for c in plan.scorecard
    ]
    return "\n".join([*rows, f"Total strategic score: {plan.strategic_score}/100."])


def _stakeholders(plan: AccountPlan) -> str:
    return "\n".join(
        f"- {s.name}, {s.title}: role {s.role.replace('_', ' ')}, relationship {s.relationship}"
        + (f". {s.notes}" if s.notes else "")
        for s in plan.stakeholders
    )


def _opportunities(plan: AccountPlan) -> str:
    return "\n".join(
        f"- {o.name}: ${o.value_usd:,}, stage {o.stage}"
        + (f", close {o.close_date.isoformat()}" if o.close_date else "")
        + (f", module {o.module}" if o.module else "")
        for o in plan.opportunities
    )


def _metrics(plan: AccountPlan) -> str:
    return "\n".join(
        f"- {m.metric}: current {m.current}, target {m.target}, status {m.status.replace('_', ' ')}"
        for m in plan.metrics
    )


def _meetings(plan: AccountPlan) -> str:
    return "\n".join(
        f"- {m.title} on {m.starts_at.isoformat()} with {', '.join(m.attendees) or 'TBD'}"
        for m in plan.meetings
    )
