"""Approval requests lapse: a pending draft nobody approved in time becomes ``expired``.

Expiry only ever takes a draft out of reach of approval; nothing in samdesk approves a draft
but a person. An expired draft can be neither approved nor sent until a person reopens it
(:func:`approval_ui.crud.reopen`), which appends a new pending revision with a fresh deadline.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from approval_ui import crud
from samdesk.config import Settings
from samdesk.models import Draft

EXPIRY_ACTOR = "samdesk:expiry"


def approval_ttl(settings: Settings) -> timedelta:
    return timedelta(hours=settings.approval_ttl_hours)


def expire_due(session: Session, *, now: datetime) -> list[int]:
    """Mark every lapsed pending draft ``expired`` (audited); returns their ids.

    Rows another transaction holds (a person approving right now) are skipped on
    PostgreSQL and looked at again on the next tick; approval re-checks the deadline itself.
    """
    lapsed = session.scalars(
        select(Draft)
        .where(Draft.status == "pending", Draft.expires_at.is_not(None), Draft.expires_at <= now)
        .order_by(Draft.id)
        .with_for_update(skip_locked=True)
    ).all()
    for draft in lapsed:
        draft.status = "expired"
        draft.version += 1
        draft.updated_at = now
        deadline = draft.expires_at.isoformat() if draft.expires_at else None
        crud.audit(session, draft, "expired", EXPIRY_ACTOR, expires_at=deadline)
    return [d.id for d in lapsed]
