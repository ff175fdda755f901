"""The signal timeline of an account: every signal, its triage decision, and what it triggered.

This is where a SAM sees why a draft exists (its trigger, the decision's reason) and
why a piece of news did not produce one (noise, too old, a duplicate of an earlier report).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from approval_ui.deps import CurrentUser, SessionDep
from approval_ui.permissions import ForbiddenError, Principal
from approval_ui.templating import render
from samdesk.errors import NotFoundError
from samdesk.models import (
    Account,
    Draft,
    IntakeItem,
    MeetingRequest,
    SignalRecord,
    TriageDecision,
    WatchTrigger,
)

router = APIRouter(include_in_schema=False)
LIMIT = 200


@dataclass
class Entry:
    signal: SignalRecord
    decision: TriageDecision | None
    trigger: WatchTrigger | None


def _visible(user: Principal, account: Account) -> bool:
    return user.sees_all or account.owner_email.lower() == user.email.lower()


@router.get("/timeline", response_class=HTMLResponse)
def timeline_index(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    rows = session.execute(
        select(TriageDecision.account_id, func.count())
        .where(TriageDecision.action != "no_action")
        .group_by(TriageDecision.account_id)
    ).all()
    actionable = {account_id: int(n) for account_id, n in rows}
    accounts = [
        a
        for a in session.scalars(select(Account).order_by(Account.strategic_score.desc()))
        if _visible(user, a)
    ]
    return render(request, "timeline.html", user, {"accounts": accounts, "actionable": actionable})


@router.get("/accounts/{account_id}/timeline", response_class=HTMLResponse)
def account_timeline(
    request: Request, account_id: str, session: SessionDep, user: CurrentUser
) -> Response:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFoundError(f"account {account_id!r} does not exist")
    if not _visible(user, account):
        raise ForbiddenError(f"{account.name} belongs to another SAM")
    return render(request, "timeline.html", user, _context(session, account))


def _context(session: Session, account: Account) -> dict[str, Any]:
    signals = list(
        session.scalars(
            select(SignalRecord)
            .where(SignalRecord.account_id == account.id)
            .order_by(SignalRecord.published_at.desc(), SignalRecord.id)
            .limit(LIMIT)
        )
    )
    ids = [s.id for s in signals]
    decisions = {
        d.signal_id: d
        for d in session.scalars(select(TriageDecision).where(TriageDecision.signal_id.in_(ids)))
    }
    triggers = list(
        session.scalars(
            select(WatchTrigger)
            .where(WatchTrigger.account_id == account.id)
            .order_by(WatchTrigger.due_at.desc(), WatchTrigger.id.desc())
        )
    )
    by_signal = {t.signal_id: t for t in triggers if t.signal_id}
    drafts = list(
        session.scalars(
            select(Draft)
            .where(Draft.account_id == account.id)
            .order_by(Draft.created_at.desc(), Draft.id.desc())
        )
    )
    queued = list(
        session.scalars(
            select(IntakeItem)
            .where(IntakeItem.account_id == account.id, IntakeItem.status != "ingested")
            .order_by(IntakeItem.received_at.desc(), IntakeItem.signal_id)  # PostgreSQL: no order
        )
    )
    meetings = list(
        session.scalars(
            select(MeetingRequest)
            .where(MeetingRequest.account_id == account.id)
            .order_by(MeetingRequest.starts_at)
        )
    )
    by_meeting = {t.meeting_id: t for t in triggers if t.meeting_id}
    return {
        "account": account,
        "entries": [Entry(s, decisions.get(s.id), by_signal.get(s.id)) for s in signals],
        "drafts": drafts,
        "queued": queued,
        "meetings": [(m, by_meeting.get(m.id)) for m in meetings],
    }
