"""Who may transmit an outbox row, and what becomes of the row after the attempt.

Every send, by the ``samdesk sender`` process or by the desk's Send button, first claims
the row (``queued`` -> ``sending``) in one short committed transaction that no other writer
can interleave with: on PostgreSQL ``SELECT ... FOR UPDATE SKIP LOCKED`` over the row and
its draft, on SQLite ``BEGIN IMMEDIATE``, which takes the database's write lock before
anything is read. Only a row whose draft is approved, for that revision and with the same
content hash, can be claimed. After the attempt the holder records ``sent``, a retry
(``queued`` again, with ``next_attempt_at``), ``failed`` or ``unknown``; that update is
fenced on the holder, so a row taken from it meanwhile keeps its new state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from approval_ui import crud
from approval_ui.messages import recipients
from samdesk.config import Settings
from samdesk.db import begin_immediate
from samdesk.errors import StateError
from samdesk.lease import holder_is_dead
from samdesk.models import Draft, OutboxMessage

SENDER_ACTOR = "samdesk:sender"
CLAIMABLE_BY_A_PERSON = ("queued", "failed")  # the sender itself only ever takes "queued"


@dataclass(frozen=True)
class RetryPolicy:
    """Transient failures are retried after ``backoff_s``, doubling, up to ``max_attempts``."""

    max_attempts: int = 5
    backoff_s: float = 30.0
    max_backoff_s: float = 3600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(settings.send_max_attempts, settings.send_backoff_s)

    def delay(self, attempt: int) -> timedelta:
        return timedelta(seconds=min(self.backoff_s * 2 ** max(attempt - 1, 0), self.max_backoff_s))


@dataclass(frozen=True)
class Claim:
    """A row this holder may transmit now: the frozen bytes and where they go."""

    row_id: int
    draft_id: int
    message_id: str
    message: bytes
    to: list[str]
    holder: str
    attempt: int


def begin_write(session: Session) -> None:
    """Start the transaction as a writer. pysqlite defers its BEGIN to the first write, so a
    plain read-then-update could interleave with another process; BEGIN IMMEDIATE takes the
    write lock first (waiting up to the busy timeout). PostgreSQL uses row locks instead."""
    if session.connection().dialect.name == "sqlite":
        begin_immediate(session)


def claim_due(sessions: sessionmaker[Session], *, holder: str, now: datetime) -> Claim | None:
    """The oldest queued row that is due, approved and unchanged, now ``sending``; or None."""
    with sessions() as session, session.begin():
        begin_write(session)
        while True:
            found = session.execute(
                select(OutboxMessage, Draft)
                .join(Draft, Draft.id == OutboxMessage.draft_id)
                .where(
                    OutboxMessage.status == "queued",
                    or_(
                        OutboxMessage.next_attempt_at.is_(None),
                        OutboxMessage.next_attempt_at <= now,
                    ),
                    Draft.status == "approved",
                    Draft.approved_revision == OutboxMessage.revision_number,
                    Draft.approved_hash == OutboxMessage.content_hash,
                )
                .order_by(OutboxMessage.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if found is None:
                return None
            row, draft = found
            try:
                crud.queued_message(session, draft)  # also: the current text is the approved one
                to = recipients(draft.current)
            except StateError as exc:  # never transmit it; a person has to look
                row.status, row.last_error = "failed", f"refused to send: {exc}"
                crud.audit(
                    session, draft, "send_failed", SENDER_ACTOR, outcome="refused", reason=str(exc)
                )
                session.flush()
                continue
            return _take(session, row, to, holder=holder, now=now)


def claim_draft(
    sessions: sessionmaker[Session],
    draft_id: int,
    *,
    holder: str,
    now: datetime,
    expected_version: int | None = None,
) -> Claim:
    """A person's Send: the draft's approved row, now ``sending``, whatever its retry time.

    ``expected_version`` is the version the person saw; it is checked under the draft's lock,
    so a draft edited and approved again after they looked is refused, not sent.
    """
    with sessions() as session, session.begin():
        begin_write(session)
        draft = crud.get_draft(session, draft_id, for_update=True)
        crud.check_version(draft, expected_version)
        row = crud.queued_message(session, draft)
        if row.status not in CLAIMABLE_BY_A_PERSON:
            raise StateError(_busy(draft_id, row.status))
        return _take(session, row, recipients(draft.current), holder=holder, now=now)


def _take(
    session: Session, row: OutboxMessage, to: list[str], *, holder: str, now: datetime
) -> Claim:
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == row.id, OutboxMessage.status == row.status)
        .values(
            status="sending",
            attempts=OutboxMessage.attempts + 1,
            claimed_by=holder,
            claimed_at=now,
            next_attempt_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if cast("CursorResult[Any]", result).rowcount != 1:  # the lock makes this unreachable
        raise StateError(f"draft {row.draft_id} is already being sent or was sent")
    return Claim(row.id, row.draft_id, row.message_id, row.message, to, holder, row.attempts + 1)


def _busy(draft_id: int, status: str) -> str:
    if status == "unknown":
        return (
            f"draft {draft_id}: its last send may or may not have been delivered; "
            "resolve it on the outbox page (it was delivered, or send again)"
        )
    if status == "sent":
        return f"draft {draft_id} was already sent"
    return f"draft {draft_id} is being sent right now"


def held_row(session: Session, claim: Claim) -> OutboxMessage | None:
    """The claimed row, locked, if this holder still has it (``sending``, or marked
    ``unknown`` by a recovery that thought the holder dead); None once a person took it."""
    begin_write(session)
    return session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.id == claim.row_id,
            OutboxMessage.claimed_by == claim.holder,
            OutboxMessage.status.in_(("sending", "unknown")),
        )
        .with_for_update()
    ).one_or_none()


def recover_stalled(
    sessions: sessionmaker[Session], *, now: datetime, stale_after: timedelta
) -> list[int]:
    """Rows left ``sending`` by a holder that died (or went silent) become ``unknown``.

    The server may have the message, so such a row is never sent again by itself; a person
    decides on the outbox page. A holder on this host is dead when its pid is gone; one on
    another host when its claim is older than ``stale_after``.
    """
    recovered: list[int] = []
    with sessions() as session, session.begin():
        begin_write(session)
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == "sending")
            .order_by(OutboxMessage.id)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            holder = row.claimed_by or ""
            fresh = row.claimed_at is not None and row.claimed_at > now - stale_after
            if holder and fresh and not holder_is_dead(holder):
                continue
            row.status = "unknown"
            row.last_error = (
                f"the sender ({holder or 'unknown holder'}) stopped during the send; "
                "the server may or may not have the message"
            )
            draft = crud.get_draft(session, row.draft_id)
            crud.audit(
                session,
                draft,
                "send_failed",
                SENDER_ACTOR,
                outcome="unknown",
                reason=row.last_error,
                message_id=row.message_id,
            )
            recovered.append(row.id)
    return recovered
