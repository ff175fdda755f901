"""Send approved messages: claim the row, deliver it (approval_ui/delivery.py), record.

A send first claims the outbox row (``queued`` -> ``sending``, approval_ui/outbox_claims.py)
in its own committed transaction, so two senders can never transmit the same row. SMTP
cannot be exactly-once (RFC 5321 4.5.3.2): if the connection drops after the message body,
the row becomes ``unknown`` and waits for a person; samdesk never resends it by itself.
A transient failure (4xx, refused or dropped before the body) is queued again with a
growing delay; a permanent one (5xx) fails the row at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from approval_ui import crud
from approval_ui.delivery import (
    DeliveryError,
    OutboxFolderSender,
    Sender,
    SMTPSender,
    make_sender,
)
from approval_ui.outbox_claims import Claim, RetryPolicy, claim_draft, held_row
from samdesk.db import transaction
from samdesk.errors import SendError, StateError
from samdesk.lease import holder_id
from samdesk.models import OutboxMessage, utcnow

__all__ = [  # the senders live in approval_ui.delivery; imported from here for convenience
    "Attempt",
    "DeliveryError",
    "OutboxFolderSender",
    "SMTPSender",
    "Sender",
    "make_sender",
    "send_draft",
    "transmit",
]


@dataclass(frozen=True)
class Attempt:
    """What one transmission did to its row: sent, queued (a retry is scheduled), failed,
    unknown, or taken (a person resolved the row meanwhile; the outcome was not recorded)."""

    status: str
    row: OutboxMessage | None
    error: DeliveryError | None = None


def transmit(
    sessions: sessionmaker[Session],
    claim: Claim,
    *,
    sender: Sender,
    by: str,
    mail_from: str,
    policy: RetryPolicy,
    now: Callable[[], datetime] = utcnow,
) -> Attempt:
    """Deliver a claimed row's frozen bytes and record the outcome on the row and draft."""
    try:
        location = sender.deliver(
            claim.message, message_id=claim.message_id, to=claim.to, mail_from=mail_from
        )
    except DeliveryError as exc:
        return _record_failure(sessions, claim, exc, by=by, policy=policy, at=now())
    return _record_sent(sessions, claim, location, by=by, at=now())


def send_draft(
    sessions: sessionmaker[Session],
    draft_id: int,
    *,
    sender: Sender,
    by: str,
    mail_from: str,
    policy: RetryPolicy | None = None,
    expected_version: int | None = None,
) -> OutboxMessage:
    """A person's Send: the approved revision, exactly as frozen at approval, right now.

    It claims the row like the ``samdesk sender`` process does, so the two never both send
    it; a transient failure leaves the row queued for the sender's next retry.
    """
    claim = claim_draft(
        sessions, draft_id, holder=holder_id(), now=utcnow(), expected_version=expected_version
    )
    attempt = transmit(
        sessions, claim, sender=sender, by=by, mail_from=mail_from, policy=policy or RetryPolicy()
    )
    if attempt.status == "sent" and attempt.row is not None:
        return attempt.row
    if attempt.error is None:
        raise StateError(
            f"draft {draft_id}: delivered, but someone resolved this send meanwhile; "
            "the audit log has both"
        )
    retry = attempt.row.next_attempt_at if attempt.row else None
    when = f"; it is retried automatically after {retry:%H:%M:%S} UTC" if retry else ""
    raise SendError(
        f"draft {draft_id} was not sent ({attempt.error.outcome}): {attempt.error}{when}"
    ) from attempt.error


def _record_sent(
    sessions: sessionmaker[Session], claim: Claim, location: str, *, by: str, at: datetime
) -> Attempt:
    with transaction(sessions) as session:
        row = held_row(session, claim)
        draft = crud.get_draft(session, claim.draft_id, for_update=True)
        if row is None:
            crud.audit(
                session, draft, "send_outcome_ignored", by, outcome="sent", location=location
            )
            return Attempt("taken", None)
        row.status, row.sent_at, row.location, row.last_error = "sent", at, location, None
        draft.status = "sent"
        draft.updated_at = at
        draft.version += 1
        crud.audit(
            session,
            draft,
            "sent",
            by,
            message_id=claim.message_id,
            location=location,
            attempt=claim.attempt,
        )
        return Attempt("sent", row)


def _record_failure(
    sessions: sessionmaker[Session],
    claim: Claim,
    exc: DeliveryError,
    *,
    by: str,
    policy: RetryPolicy,
    at: datetime,
) -> Attempt:
    with transaction(sessions) as session:
        row = held_row(session, claim)
        draft = crud.get_draft(session, claim.draft_id)
        if row is None:
            crud.audit(
                session, draft, "send_outcome_ignored", by, outcome=exc.outcome, reason=str(exc)
            )
            return Attempt("taken", None, exc)
        detail: dict[str, object] = {"outcome": exc.outcome, "reason": str(exc)}
        detail["attempt"] = claim.attempt
        row.last_error = str(exc)
        if exc.outcome == "unknown":
            row.status = "unknown"
        elif exc.outcome == "transient" and claim.attempt < policy.max_attempts:
            row.status, row.next_attempt_at = "queued", at + policy.delay(claim.attempt)
            detail["retry_at"] = row.next_attempt_at.isoformat()
        else:
            row.status = "failed"
            if exc.outcome == "transient":
                row.last_error = f"gave up after {claim.attempt} attempts: {exc}"
        crud.audit(session, draft, "send_failed", by, **detail)
        return Attempt(row.status, row, exc)
