"""The review queue: which drafts a user sees, in which order, and how each is summarised."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, String, bindparam, func, or_, select
from sqlalchemy.orm import Session, defer, selectinload

from approval_ui import priority, ranking
from approval_ui.permissions import Principal, visible
from samdesk.models import Account, Assignment, AuditEvent, Draft, OutboxMessage, Revision, utcnow

STATUSES = ("pending", "approved", "sent", "rejected", "failed", "expired")
OPEN = ("pending", "approved")
KINDS = ("briefing", "outreach")
PAGE_SIZE = 50  # rows on one page of the queue; the rest is a "next page" away


Ranked = tuple[Draft, "priority.Priority | None"]


@dataclass(frozen=True)
class QueueFilter:
    """Which drafts of the queue to read: one value that the API, the queue page, the CLI
    and each of the readers below pass along, so a new filter is added in one place."""

    user: Principal | None = None  # just the drafts this user may see
    account_id: str | None = None
    kind: str | None = None
    status: str | None = None
    q: str | None = None  # text in a subject, body or rejection reason
    limit: int = 200
    offset: int = 0
    now: datetime | None = None  # when priorities are computed; None: now


NO_FILTER = QueueFilter()  # every draft, the first `limit` of them


def list_drafts(session: Session, filters: QueueFilter = NO_FILTER) -> list[Draft]:
    """The drafts of :func:`ranked_drafts`, without their priorities."""
    return [draft for draft, _ in ranked_drafts(session, filters)]


def ranked_drafts(session: Session, filters: QueueFilter = NO_FILTER) -> list[Ranked]:
    """Work to do first (pending, then approved), each ranked by :mod:`priority`; then
    sent, rejected and failed drafts, newest first. ``user`` limits it to their drafts.

    Only the ``offset + limit`` first rows are ever read (see :mod:`approval_ui.ranking`),
    and only the ``limit`` returned are loaded as drafts.
    """
    page = ranked_ids(session, filters)
    if not page:
        return []
    loaded = {
        d.id: d
        for d in session.scalars(
            select(Draft)
            .where(Draft.id.in_([draft_id for draft_id, _ in page]))
            .options(
                defer(Draft.sources),
                defer(Draft.usage),
                # a summary shows the latest subject: not the bodies (loaded if ever read)
                selectinload(Draft.revisions).load_only(
                    Revision.draft_id, Revision.number, Revision.subject
                ),
            )
        )
    }
    return [(loaded[draft_id], ranked) for draft_id, ranked in page if draft_id in loaded]


def summaries(session: Session, filters: QueueFilter = NO_FILTER) -> list[dict[str, Any]]:
    """:func:`summary` of each of :func:`ranked_drafts`, read as plain rows (the queue page:
    building ORM objects for a page of drafts cost more than finding them)."""
    page = ranked_ids(session, filters)
    if not page:
        return []
    subject = (
        select(Revision.subject)
        .where(Revision.draft_id == Draft.id)
        .order_by(Revision.number.desc())
        .limit(1)
        .scalar_subquery()
    )
    columns = [getattr(Draft, name) for name in SUMMARY_COLUMNS]
    rows = {
        row.id: row
        for row in session.execute(
            select(*columns, subject.label("subject")).where(
                Draft.id.in_([draft_id for draft_id, _ in page])
            )
        )
    }
    return [
        _summary(rows[draft_id], rows[draft_id].subject, ranked)
        for draft_id, ranked in page
        if draft_id in rows
    ]


def ranked_ids(
    session: Session, filters: QueueFilter = NO_FILTER
) -> list[tuple[int, priority.Priority | None]]:
    """The ids (and priorities) of :func:`ranked_drafts`."""
    now = filters.now or utcnow()
    want = filters.offset + filters.limit
    text = filters.q.strip() if filters.q else ""

    def where() -> list[ColumnElement[bool]]:  # built only when a query needs it
        found: list[ColumnElement[bool]] = []
        if filters.user is not None:
            found.append(visible(filters.user))
        if filters.kind:
            found.append(Draft.kind == filters.kind)
        if text:
            found.append(_matches(text))
        if filters.account_id:
            found.append(Draft.account_id == filters.account_id)
        return found

    picked: list[tuple[int, priority.Priority | None]] = []
    open_statuses = [s for s in OPEN if not filters.status or s == filters.status]
    accounts: list[str] = []
    if open_statuses and want > 0:
        accounts = _accounts_of(session, filters.user, filters.account_id)
    for open_status in open_statuses:
        if len(picked) >= want:
            break
        if text:  # a text search reads every revision anyway: rank its matches in one pass
            query = (
                select(*ranking.COLUMNS)
                .join(Account, Account.id == Draft.account_id)
                .where(Draft.status == open_status, Draft.account_id.in_(accounts), *where())
            )
            rows = ranking.rank(session.execute(query), now)
        else:
            rows = ranking.top(
                session,
                status=open_status,
                accounts=accounts,
                user=filters.user,
                kind=filters.kind,
                count=want - len(picked),
                now=now,
            )
        picked += [(row.id, row.priority) for row in rows[: want - len(picked)]]
    for closed in _closed_statuses(filters.status):
        if len(picked) >= want:
            break
        newest = (
            select(Draft.id)
            .join(Account, Account.id == Draft.account_id)
            .where(closed, *where())
            .order_by(Draft.updated_at.desc(), Draft.id.desc())
            .limit(want - len(picked))
        )
        picked += [(draft_id, None) for draft_id in session.scalars(newest)]
    return picked[filters.offset : want]


def _accounts_of(session: Session, user: Principal | None, account_id: str | None) -> list[str]:
    """Every account whose drafts ``user`` may see (or just ``account_id``)."""
    sam = user is not None and not user.sees_all
    params = {"account_id": account_id, "email": user.email.lower() if user else ""}
    return list(session.scalars(_accounts_query(sam, bool(account_id)), params))


@lru_cache(maxsize=8)
def _accounts_query(sam: bool, one: bool) -> Select[str]:
    """Built once per shape, bound per call (see ranking._statement)."""
    query = select(Account.id).order_by(Account.id)
    if one:
        query = query.where(Account.id == bindparam("account_id", type_=String))
    if sam:
        email = bindparam("email", type_=String)
        assigned = (
            select(Draft.account_id)
            .join(Assignment, Assignment.draft_id == Draft.id)
            .where(func.lower(Assignment.assignee) == email)
        )
        query = query.where(or_(func.lower(Account.owner_email) == email, Account.id.in_(assigned)))
    return query


def _closed_statuses(status: str | None) -> list[ColumnElement[bool]]:
    """Sent, rejected, failed (then any other state), each newest first; or just ``status``."""
    if status:
        return [] if status in OPEN else [Draft.status == status]
    closed = [s for s in STATUSES if s not in OPEN]
    return [*(Draft.status == s for s in closed), Draft.status.not_in(STATUSES)]


def _matches(text: str) -> Any:
    """Subject or body of any revision, or the rejection reason, contains ``text``."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    in_text = select(Revision.draft_id).where(
        or_(
            Revision.subject.ilike(pattern, escape="\\"),
            Revision.body.ilike(pattern, escape="\\"),
        )
    )
    return or_(Draft.id.in_(in_text), Draft.reject_reason.ilike(pattern, escape="\\"))


def owners(session: Session, drafts: list[dict[str, Any]]) -> dict[int, str]:
    """Who owns each draft (a :func:`summary`) now: the assignee if a manager reassigned it,
    else the account owner."""
    ids = [d["id"] for d in drafts]
    assigned: dict[int, str] = {
        row.draft_id: row.assignee
        for row in session.execute(
            select(Assignment.draft_id, Assignment.assignee).where(Assignment.draft_id.in_(ids))
        )
    }
    owner_of: dict[str, str] = {
        row.id: row.owner_email for row in session.execute(select(Account.id, Account.owner_email))
    }
    return {d["id"]: assigned.get(d["id"]) or owner_of.get(d["account_id"], "") for d in drafts}


SUMMARY_COLUMNS = (
    "id",
    "kind",
    "account_id",
    "status",
    "trigger",
    "prompt_id",
    "prompt_version",
    "model",
    "findings",
    "version",
    "created_at",
    "reject_reason",
)


def summary(draft: Draft, ranked: priority.Priority | None = None) -> dict[str, Any]:
    return _summary(draft, draft.revisions[-1].subject if draft.revisions else None, ranked)


def _summary(draft: Any, subject: str | None, ranked: priority.Priority | None) -> dict[str, Any]:
    """A draft's line in the queue, from a ``Draft`` or a row of :data:`SUMMARY_COLUMNS`."""
    return {
        "id": draft.id,
        "kind": draft.kind,
        "account_id": draft.account_id,
        "status": draft.status,
        "subject": subject,
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


def accounts(session: Session) -> list[Any]:
    """Id, name and score of every account, best first (the queue's filter and columns)."""
    query = select(Account.id, Account.name, Account.strategic_score)
    return list(session.execute(query.order_by(Account.strategic_score.desc())))


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
