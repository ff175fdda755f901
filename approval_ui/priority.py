"""Which open draft deserves the SAM's attention first, and why.

priority = 0.5 x account strategic score (0-100, scaled to 0-1) + 0.5 x urgency, where
urgency is, for outreach, how pressing the trigger signal's type is, halved every 14 days
of its age; and for a briefing, how soon its meeting is (1.0 today, 0.5 in a week, low once
it has passed). So a fresh competitor RFP at a mid-scored account outranks an old
partnership note at the flagship account, and a briefing for tomorrow's meeting comes
before one for next month's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

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
NO_TRIGGER_URGENCY = 0.3
PASSED_MEETING_URGENCY = 0.05
DAY_S = 86400.0
# Urgency of a signal published at ``at`` is weight x 2^-(now - at)/half-life
# = exp(key - DECAY x now) with key = ln(weight) + DECAY x at: ordering by ``key`` orders
# signals by urgency at any ``now``, which is what lets the queue use an index.
DECAY_PER_S = math.log(2) / (HALF_LIFE_DAYS * DAY_S)

RankKind = Literal["signal", "meeting", "none"]
Fact = tuple[str, datetime]  # a trigger signal's type and publication time


@dataclass(frozen=True)
class Priority:
    value: float
    urgency: float
    reason: str


@dataclass(frozen=True)
class Inputs:
    """Everything a draft's urgency depends on besides the time; stored on the draft's
    ``rank_*`` columns when it is written (approval_ui/ranking.py), so ranking the queue
    never loads the drafts' JSON."""

    kind: RankKind
    at: float | None = None  # the signal's publication or the meeting's start, POSIX seconds
    label: str = ""  # the signal's type
    signal_id: str | None = None  # the trigger signal, whatever the kind

    @property
    def key(self) -> float:
        if self.kind != "signal" or self.at is None:
            return 0.0
        return math.log(signal_weight(self.label)) + self.at * DECAY_PER_S


def signal_weight(kind: str) -> float:
    return SIGNAL_URGENCY.get(kind, 0.5)


def inputs(kind: str, trigger: dict[str, Any], fact: Fact | None) -> Inputs:
    """A briefing with a meeting time ranks by it; anything else by its trigger signal's
    ``fact`` (looked up by the caller: the stored signal, else the draft's own sources)."""
    if kind == "briefing" and trigger.get("starts_at"):
        return Inputs("meeting", _aware(datetime.fromisoformat(trigger["starts_at"])).timestamp())
    signal_id = str(trigger.get("signal_id", "")) or None
    if fact is None:
        return Inputs("none", signal_id=signal_id)
    return Inputs("signal", _aware(fact[1]).timestamp(), fact[0], signal_id)


def signal_of(kind: str, trigger: dict[str, Any]) -> str | None:
    """The id of the signal whose facts rank this draft, or None when a meeting does."""
    if kind == "briefing" and trigger.get("starts_at"):
        return None
    return str(trigger.get("signal_id", "")) or None


def from_sources(sources: list[Any], signal_id: str) -> Fact | None:
    """The trigger's type and date as the drafter saw it, when it is not (yet) stored."""
    for source in sources:
        if source.get("id") == signal_id and source.get("published_at"):
            return source.get("section", ""), datetime.fromisoformat(source["published_at"])
    return None


def urgency_at(stored: Inputs, now: datetime) -> tuple[float, str]:
    t = now.timestamp()
    if stored.kind == "meeting" and stored.at is not None:
        days = (stored.at - t) / DAY_S
        if days < -1:
            return PASSED_MEETING_URGENCY, "meeting has passed"
        when = "today" if days < 1 else f"in {days:.0f} days"
        return 1 / (1 + max(days, 0.0) / MEETING_SCALE_DAYS), f"meeting {when}"
    if stored.kind != "signal" or stored.at is None:
        return NO_TRIGGER_URGENCY, "no dated trigger"
    age = max((t - stored.at) / DAY_S, 0.0)
    value = signal_weight(stored.label) * 0.5 ** (age / HALF_LIFE_DAYS)
    return value, f"{stored.label.replace('_', ' ')} {age:.0f} days ago"


def ranked(stored: Inputs, score: float, now: datetime) -> tuple[float, Priority]:
    """The exact priority (the queue sorts by it) and the rounded one people see."""
    value, why = urgency_at(stored, now)
    total = SCORE_WEIGHT * (score / 100) + (1 - SCORE_WEIGHT) * value
    return total, Priority(round(total, 4), round(value, 4), f"score {score:g} · {why}")


def signal_facts(session: Session, drafts: list[Draft]) -> dict[str, Fact]:
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


def draft_inputs(draft: Draft, facts: dict[str, Fact]) -> Inputs:
    signal_id = str(draft.trigger.get("signal_id", ""))
    fact = facts.get(signal_id) or from_sources(draft.sources, signal_id)
    return inputs(draft.kind, draft.trigger, fact)


def urgency(draft: Draft, facts: dict[str, Fact], now: datetime) -> tuple[float, str]:
    return urgency_at(draft_inputs(draft, facts), now)


def priority(draft: Draft, score: float, facts: dict[str, Fact], now: datetime) -> Priority:
    return ranked(draft_inputs(draft, facts), score, now)[1]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
