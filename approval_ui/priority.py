"""Which open draft deserves the SAM's attention first, and why.

priority = 0.5 x account strategic score (0-100, scaled to 0-1) + 0.5 x urgency, where
urgency is, for outreach, how pressing the trigger signal's type is, halved every 14 days
of its age; and for a briefing, how soon its meeting is (1.0 today, 0.5 in a week, low once
it has passed). So a fresh competitor RFP at a mid-scored account outranks an old
partnership note at the flagship account, and a briefing for tomorrow's meeting comes
before one for next month's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from samdesk.models import Draft, SignalRecord

SIGNAL_URGENCY = {
    "competitor_rfp": 1.0,
    "leadership_change": 0.9,
    "budget_freeze": 0.9,
    "layoffs": 0.8,
    "support_spike": 0.8,
    "m_and_a": 0.7,
    "funding": 0.6,
    "earnings_mention": 0.6,
    "hiring_surge": 0.5,
    "product_launch": 0.5,
    "partnership": 0.4,
    "noise": 0.1,
}
HALF_LIFE_DAYS = 14.0
MEETING_SCALE_DAYS = 7.0
SCORE_WEIGHT = 0.5


@dataclass(frozen=True)
class Priority:
    value: float
    urgency: float
    reason: str


def signal_facts(session: Session, drafts: list[Draft]) -> dict[str, tuple[str, datetime]]:
    """Type and publication time of every trigger signal of ``drafts``, in one query."""
    ids = {str(d.trigger.get("signal_id")) for d in drafts if d.trigger.get("signal_id")}
    if not ids:
        return {}
    rows = session.execute(
        select(SignalRecord.id, SignalRecord.type, SignalRecord.published_at).where(
            SignalRecord.id.in_(ids)
        )
    )
    return {row.id: (row.type, row.published_at) for row in rows}


def _from_sources(draft: Draft, signal_id: str) -> tuple[str, datetime] | None:
    for source in draft.sources:
        if source.get("id") == signal_id and source.get("published_at"):
            return source.get("section", ""), datetime.fromisoformat(source["published_at"])
    return None


def urgency(
    draft: Draft, facts: dict[str, tuple[str, datetime]], now: datetime
) -> tuple[float, str]:
    trigger: dict[str, Any] = draft.trigger
    if draft.kind == "briefing" and trigger.get("starts_at"):
        days = (datetime.fromisoformat(trigger["starts_at"]) - now).total_seconds() / 86400
        if days < -1:
            return 0.05, "meeting has passed"
        when = "today" if days < 1 else f"in {days:.0f} days"
        return 1 / (1 + max(days, 0.0) / MEETING_SCALE_DAYS), f"meeting {when}"
    signal_id = str(trigger.get("signal_id", ""))
    fact = facts.get(signal_id) or _from_sources(draft, signal_id)
    if fact is None:
        return 0.3, "no dated trigger"
    kind, published = fact
    age = max((now - published).total_seconds() / 86400, 0.0)
    weight = SIGNAL_URGENCY.get(kind, 0.5)
    return weight * 0.5 ** (age / HALF_LIFE_DAYS), f"{kind.replace('_', ' ')} {age:.0f} days ago"


def priority(
    draft: Draft, score: float, facts: dict[str, tuple[str, datetime]], now: datetime
) -> Priority:
    value, why = urgency(draft, facts, now)
    total = SCORE_WEIGHT * (score / 100) + (1 - SCORE_WEIGHT) * value
    return Priority(round(total, 4), round(value, 4), f"score {score:g} · {why}")
