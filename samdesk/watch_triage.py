"""Triage stored signals that have no decision yet, and queue a trigger for each actionable one.

The decision and its trigger are written in one transaction, so a crash leaves either
both or neither; a signal whose text changed is decided again, but its trigger key (the
event's group) stays the same, so it is never drafted twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from retrieval.schemas import AccountPlan
from retrieval.triage import Classifier, Decision, Policy, Seen, SignalIn, decide, words
from samdesk.db import transaction
from samdesk.models import Account, IntakeItem, SignalRecord, TriageDecision, WatchTrigger

BATCH = 500


def triage_pending(
    sessions: sessionmaker[Session],
    *,
    classifier: Classifier,
    as_of: datetime,
    policy: Policy | None = None,
    limit: int = BATCH,
) -> list[Decision]:
    policy = policy or Policy()
    with transaction(sessions) as session:
        pending = list(
            session.scalars(
                select(SignalRecord)
                .outerjoin(TriageDecision, TriageDecision.signal_id == SignalRecord.id)
                .where(
                    (TriageDecision.signal_id.is_(None))
                    | (TriageDecision.content_hash != SignalRecord.content_hash)
                )
                .order_by(SignalRecord.published_at, SignalRecord.id)
                .limit(limit)
            )
        )
        if not pending:
            return []
        accounts = {a.id: a for a in session.scalars(select(Account))}
        plans = {a.id: _plan(a) for a in accounts.values()}
        inferred = set(
            session.scalars(
                select(IntakeItem.signal_id).where(
                    IntakeItem.signal_id.in_([r.id for r in pending]),
                    IntakeItem.type_declared.is_(False),
                )
            )
        )
        history = _history(session, pending, policy)
        decisions: list[Decision] = []
        for record in pending:
            account = accounts[record.account_id]
            item = SignalIn(
                record.id,
                record.account_id,
                record.title,
                record.text,
                record.published_at,
                None if record.id in inferred else record.type,
            )
            decision, seen = decide(
                item,
                plan=plans[account.id],
                strategic_score=account.strategic_score,
                account_name=account.name,
                classifier=classifier,
                history=history,
                as_of=as_of,
                policy=policy,
            )
            history.append(seen)
            _save(session, decision, record.content_hash, as_of)
            if decision.action != "no_action":
                add_trigger(
                    session,
                    key=f"outreach:{decision.account_id}:{decision.group_id}",
                    kind="outreach",
                    action=decision.action,
                    account_id=decision.account_id,
                    signal_id=decision.signal_id,
                    reason=decision.reason,
                    due_at=as_of,
                )
            decisions.append(decision)
        return decisions


def _plan(account: Account) -> AccountPlan | None:
    """The stored plan; a row without a usable plan is triaged without plan relevance."""
    try:
        return AccountPlan.model_validate(account.plan)
    except ValidationError:
        return None


def _history(session: Session, pending: list[SignalRecord], policy: Policy) -> list[Seen]:
    """Already-decided signals near the pending ones in time: candidates for the same event."""
    window = timedelta(days=policy.duplicate_window_days)
    low = min(r.published_at for r in pending) - window
    high = max(r.published_at for r in pending) + window
    rows = session.execute(
        select(SignalRecord, TriageDecision, Account.name)
        .join(TriageDecision, TriageDecision.signal_id == SignalRecord.id)
        .join(Account, Account.id == SignalRecord.account_id)
        .where(
            SignalRecord.account_id.in_({r.account_id for r in pending}),
            SignalRecord.published_at >= low,
            SignalRecord.published_at <= high,
            TriageDecision.content_hash == SignalRecord.content_hash,
        )
    ).all()
    return [
        Seen(
            record.id,
            record.account_id,
            decision.type,
            record.published_at,
            decision.group_id,
            words(f"{record.title} {record.text}", name.split()),
        )
        for record, decision, name in rows
    ]


def _save(session: Session, d: Decision, content_hash: str, at: datetime) -> None:
    row = session.get(TriageDecision, d.signal_id) or TriageDecision(signal_id=d.signal_id)
    values = {
        "account_id": d.account_id,
        "content_hash": content_hash,
        "type": d.type,
        "type_source": d.type_source,
        "predicted_type": d.predicted_type,
        "action": d.action,
        "score": d.score,
        "relevance": d.relevance,
        "recency": d.recency,
        "strategic": d.strategic,
        "group_id": d.group_id,
        "reason": d.reason[:4000],
        "classifier": d.classifier,
        "decided_at": at,
    }
    for key, value in values.items():
        setattr(row, key, value)
    session.add(row)
    session.flush()


def add_trigger(session: Session, *, key: str, **values: Any) -> int:
    """1 if the trigger is new; the unique key makes a second insert a no-op."""
    if session.scalar(select(WatchTrigger.id).where(WatchTrigger.key == key)) is not None:
        return 0
    try:
        with session.begin_nested():
            session.add(WatchTrigger(key=key, status="pending", attempts=0, **values))
        return 1
    except IntegrityError:
        return 0
