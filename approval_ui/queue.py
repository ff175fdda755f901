"""The review queue: which drafts a user sees, in which order, and how each is summarised."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, or_, select
from sqlalchemy.orm import Session, defer, selectinload

from approval_ui import priority
from approval_ui.permissions import Principal, visible
from samdesk.models import Account, Assignment, AuditEvent, Draft, OutboxMessage, Revision, utcnow

STATUSES = ("pending", "approved", "sent", "rejected", "failed")
OPEN = ("pending", "approved")
KINDS = ("briefing", "outreach")
MAX_OPEN = 2000  # open drafts are ranked in Python; beyond this a team has other problems


Ranked = tuple[Draft, "priority.Priority | None"]


def list_drafts(session: Session, **filters: Any) -> list[Draft]:
    """The drafts of :func:`ranked_drafts`, without their priorities."""
    return [draft for draft, _ in ranked_drafts(session, **filters)]


def ranked_drafts(
    session: Session,
    *,
    user: Principal | None = None,
    account_id: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    q: str | None = None,
    limit: int = 200,
    now: datetime | None = None,
) -> list[Ranked]:
    """Work to do first (pending, then approved), each ranked by :mod:`priority`; then
    sent, rejected and failed drafts, newest first. ``user`` limits it to their drafts."""
    # Revisions are loaded after ranking, only for the rows actually returned.
    query = select(Draft).join(Account, Account.id == Draft.account_id)
    if user is not None:
        query = query.where(visible(user))
    if account_id:
        query = query.where(Draft.account_id == account_id)
    if kind:
        query = query.where(Draft.kind == kind)
    if status:
        query = query.where(Draft.status == status)
    if q and q.strip():
        query = query.where(_matches(q.strip()))
    open_drafts = _ranked(session, query.where(Draft.status.in_(OPEN)), now or utcnow())
    order = case({s: i for i, s in enumerate(STATUSES)}, value=Draft.status, else_=len(STATUSES))
    closed = session.scalars(
        query.where(Draft.status.not_in(OPEN))
        .order_by(order, Draft.updated_at.desc(), Draft.id.desc())
        .limit(max(limit - len(open_drafts), 0))
    )
    ranked = [*open_drafts[:limit], *((d, None) for d in closed)][:limit]
    ids = [d.id for d, _ in ranked]
    if ids:
        session.scalars(
            select(Draft).where(Draft.id.in_(ids)).options(selectinload(Draft.revisions))
        ).all()  # fills .revisions of the same (identity-mapped) objects in one query
    return ranked


def _matches(text: str) -> Any:
    """Subject or body of any revision, or the rejection reason, contains ``text``."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    in_text = select(Revision.draft_id).where(
        or_(Revision.subject.ilike(pattern, escape="\\"), Revision.body.ilike(pattern, escape="\\"))
    )
    return or_(Draft.id.in_(in_text), Draft.reject_reason.ilike(pattern, escape="\\"))


def _ranked(session: Session, query: Select[Draft], now: datetime) -> list[Ranked]:
    order = case({s: i for i, s in enumerate(OPEN)}, value=Draft.status, else_=len(OPEN))
    # Ranking reads a few small columns of up to MAX_OPEN drafts; decoding every draft's
    # sources JSON was most of the queue page's time (bench/profiles/queue.txt).
    lean = query.options(defer(Draft.sources), defer(Draft.usage))
    drafts = list(session.scalars(lean.order_by(order, Draft.id).limit(MAX_OPEN)))
    scores: dict[str, float] = {
        row.id: row.strategic_score
        for row in session.execute(
            select(Account.id, Account.strategic_score).where(
                Account.id.in_({d.account_id for d in drafts})
            )
        )
    }
    facts = priority.signal_facts(session, drafts)
    ranked = [(d, priority.priority(d, scores.get(d.account_id, 0.0), facts, now)) for d in drafts]
    return sorted(
        ranked,
        key=lambda pair: (
            OPEN.index(pair[0].status),
            -(pair[1].value if pair[1] else 0.0),
            -pair[0].created_at.timestamp(),
            -pair[0].id,
        ),
    )


def owners(session: Session, drafts: list[Draft]) -> dict[int, str]:
    """Who owns each draft now: the assignee if a manager reassigned it, else the account owner."""
    ids = [d.id for d in drafts]
    assigned: dict[int, str] = {
        row.draft_id: row.assignee
        for row in session.execute(
            select(Assignment.draft_id, Assignment.assignee).where(Assignment.draft_id.in_(ids))
        )
    }
    owner_of: dict[str, str] = {
        row.id: row.owner_email for row in session.execute(select(Account.id, Account.owner_email))
    }
    return {d.id: assigned.get(d.id) or owner_of.get(d.account_id, "") for d in drafts}


def summary(draft: Draft, ranked: priority.Priority | None = None) -> dict[str, Any]:
    return {
        "id": draft.id,
        "kind": draft.kind,
        "account_id": draft.account_id,
        "status": draft.status,
        "subject": draft.revisions[-1].subject if draft.revisions else None,
        "trigger": draft.trigger,
        "prompt": f"{draft.prompt_id}@{draft.prompt_version}",
        "model": draft.model,
        "flags": sum(1 for f in draft.findings if f.get("severity") == "error"),
        "version": draft.version,
        "created_at": draft.created_at,
        "priority": ranked.value if ranked else None,
        "priority_reason": ranked.reason if ranked else None,
        "reject_reason": draft.reject_reason,
    }


def detail(draft: Draft) -> dict[str, Any]:
    return {
        **summary(draft),
        **{
            key: getattr(draft, key)
            for key in (
                "sources",
                "findings",
                "usage",
                "latency_ms",
                "failure_reason",
                "reject_reason",
                "approved_revision",
                "approved_hash",
                "approved_by",
                "approved_at",
            )
        },
        "revisions": draft.revisions,
    }


def accounts(session: Session) -> list[Account]:
    return list(session.scalars(select(Account).order_by(Account.strategic_score.desc())))


def audit_log(session: Session, draft_id: int) -> list[AuditEvent]:
    return list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.draft_id == draft_id).order_by(AuditEvent.id)
        )
    )


def outbox(
    session: Session, draft_id: int | None = None, *, user: Principal | None = None
) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if draft_id is not None:
        query = query.where(OutboxMessage.draft_id == draft_id)
    if user is not None and not user.sees_all:
        mine = select(Draft.id).join(Account, Account.id == Draft.account_id).where(visible(user))
        query = query.where(OutboxMessage.draft_id.in_(mine))
    return list(session.scalars(query))
