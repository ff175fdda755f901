"""A person settles a send whose outcome is ``unknown``: it was delivered, or send it again.

samdesk never decides this by itself: the server may have the message (a connection lost
after the body, a sender killed mid-send). Sending again is a person's explicit choice and
reuses the row, so the same Message-ID goes out and receivers can drop a duplicate.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from approval_ui import crud
from approval_ui.outbox_claims import begin_write
from samdesk.errors import NotFoundError, StateError
from samdesk.models import OutboxMessage, utcnow

NOTE_LIMIT = 500


def unknown_row(session: Session, row_id: int) -> OutboxMessage:
    """The row, locked for the change, if its delivery is unconfirmed."""
    begin_write(session)
    row = session.scalars(
        select(OutboxMessage).where(OutboxMessage.id == row_id).with_for_update()
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"outbox message {row_id} does not exist")
    if row.status != "unknown":
        raise StateError(
            f"outbox message {row_id} is {row.status}; only a send whose outcome is unknown "
            "can be resolved"
        )
    return row


def confirm_delivered(session: Session, row_id: int, *, by: str, note: str = "") -> OutboxMessage:
    """The person checked (the recipient replied, the server's log): mark it sent."""
    row = unknown_row(session, row_id)
    draft = crud.get_draft(session, row.draft_id, for_update=True)
    if crud.queued_message(session, draft).id != row.id:
        raise StateError(f"outbox message {row_id} is not the draft's approved message")
    now = utcnow()
    row.status, row.sent_at = "sent", now
    row.location = row.location or f"confirmed by {by}"
    draft.status = "sent"
    draft.updated_at = now
    draft.version += 1
    crud.audit(
        session,
        draft,
        "send_confirmed",
        by,
        message_id=row.message_id,
        note=note.strip()[:NOTE_LIMIT],
        last_error=row.last_error,
    )
    return row


def send_again(session: Session, row_id: int, *, by: str, note: str = "") -> OutboxMessage:
    """The person decided it was not delivered: queue the same bytes and Message-ID again."""
    row = unknown_row(session, row_id)
    draft = crud.get_draft(session, row.draft_id, for_update=True)
    if crud.queued_message(session, draft).id != row.id:
        raise StateError(f"outbox message {row_id} is not the draft's approved message")
    previous = row.last_error
    row.status, row.next_attempt_at = "queued", None
    row.claimed_by = row.claimed_at = None
    row.last_error = f"requeued by {by} after an unknown outcome: {previous}"
    crud.audit(
        session,
        draft,
        "send_requeued",
        by,
        message_id=row.message_id,
        note=note.strip()[:NOTE_LIMIT],
        last_error=previous,
    )
    return row
