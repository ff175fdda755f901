"""The review queue: which drafts a SAM sees first, and how each is summarised."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session, selectinload

from samdesk.models import Account, AuditEvent, Draft, OutboxMessage

STATUSES = ("pending", "approved", "sent", "rejected", "failed")
KINDS = ("briefing", "outreach")


def list_drafts(
    session: Session,
    *,
    account_id: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    limit: int = 200,
) -> list[Draft]:
    """Work to do first (pending, then approved), then the most strategic accounts."""
    order = case({s: i for i, s in enumerate(STATUSES)}, value=Draft.status, else_=len(STATUSES))
    query = (
        select(Draft)
        .join(Account, Account.id == Draft.account_id)
        .options(selectinload(Draft.revisions))
        .order_by(order, Account.strategic_score.desc(), Draft.created_at.desc(), Draft.id.desc())
        .limit(limit)
    )
    if account_id:
        query = query.where(Draft.account_id == account_id)
    if kind:
        query = query.where(Draft.kind == kind)
    if status:
        query = query.where(Draft.status == status)
    return list(session.scalars(query))


def summary(draft: Draft) -> dict[str, Any]:
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


def outbox(session: Session, draft_id: int | None = None) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if draft_id is not None:
        query = query.where(OutboxMessage.draft_id == draft_id)
    return list(session.scalars(query))
