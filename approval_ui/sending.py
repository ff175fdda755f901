"""Deliver approved messages: to an outbox folder (default) or over SMTP.

A send first claims the outbox row (``queued`` -> ``sending``) in its own committed
transaction, so two senders can never transmit the same row. SMTP cannot be exactly-once
(RFC 5321 4.5.3.2): if the connection drops after the message body, the row becomes
``unknown`` and waits for a person; samdesk never resends it by itself.
"""

from __future__ import annotations

import os
import smtplib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session, sessionmaker

from approval_ui import crud
from approval_ui.messages import recipients
from samdesk.config import Settings
from samdesk.db import transaction
from samdesk.errors import SendError, StateError
from samdesk.models import OutboxMessage, utcnow

Outcome = Literal["transient", "permanent", "unknown"]


class DeliveryError(Exception):
    def __init__(self, outcome: Outcome, reason: str):
        self.outcome = outcome
        super().__init__(reason)


class Sender(Protocol):
    def deliver(self, message: bytes, *, message_id: str, to: list[str], mail_from: str) -> str:
        """Transmit ``message`` unchanged; return where it went."""


@dataclass
class OutboxFolderSender:
    folder: Path

    def deliver(self, message: bytes, *, message_id: str, to: list[str], mail_from: str) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = "".join(c if c.isalnum() or c in ".-_" else "_" for c in message_id.strip("<>"))
        target = self.folder / f"{name}.eml"
        if target.exists() and target.read_bytes() == message:
            return str(target)
        # Write then rename: a reader never sees half a message, a crash leaves none.
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".sending-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(message)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        return str(target)


@dataclass
class SMTPSender:
    host: str
    port: int
    timeout_s: float = 30.0
    username: str | None = None
    password: str | None = None
    starttls: bool = False

    def deliver(self, message: bytes, *, message_id: str, to: list[str], mail_from: str) -> str:
        try:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        except OSError as exc:
            raise DeliveryError(
                "transient", f"cannot connect to {self.host}:{self.port}: {exc}"
            ) from exc
        try:
            with client:
                if self.starttls:
                    client.starttls()
                if self.username and self.password:
                    client.login(self.username, self.password)
                refused = client.sendmail(mail_from, to, message)
        except smtplib.SMTPResponseException as exc:
            outcome: Outcome = "transient" if 400 <= exc.smtp_code < 500 else "permanent"
            raise DeliveryError(outcome, f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
        except smtplib.SMTPRecipientsRefused as exc:  # an OSError, but nothing was delivered
            codes = [code for code, _ in exc.recipients.values()]
            outcome = "transient" if all(400 <= c < 500 for c in codes) else "permanent"
            raise DeliveryError(outcome, f"all recipients refused: {exc.recipients}") from exc
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise DeliveryError("unknown", f"connection lost during the send: {exc}") from exc
        if refused:  # the others did get it, so a retry would send them a second copy
            raise DeliveryError(
                "unknown", f"delivered, but these recipients were refused: {refused}"
            )
        return f"smtp://{self.host}:{self.port}"


def make_sender(settings: Settings) -> Sender:
    if settings.sender == "smtp":
        return SMTPSender(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_timeout_s,
            settings.smtp_username,
            settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            settings.smtp_starttls,
        )
    return OutboxFolderSender(settings.resolved_outbox_dir)


def send_draft(
    sessions: sessionmaker[Session], draft_id: int, *, sender: Sender, by: str, mail_from: str
) -> OutboxMessage:
    """Send the approved revision of a draft exactly as it was frozen at approval."""
    with transaction(sessions) as session:
        draft = crud.get_draft(session, draft_id, for_update=True)
        row = crud.queued_message(session, draft)
        to = recipients(draft.current)
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row.id, OutboxMessage.status.in_(("queued", "failed")))
            .values(status="sending", attempts=OutboxMessage.attempts + 1)
        )
        claimed = cast("CursorResult[Any]", result).rowcount
        if claimed != 1:
            raise StateError(f"draft {draft_id} is already being sent or was sent")
        row_id, message, message_id = row.id, row.message, row.message_id
    try:
        location = sender.deliver(message, message_id=message_id, to=to, mail_from=mail_from)
    except DeliveryError as exc:
        _record_failure(sessions, draft_id, row_id, exc, by)
        raise SendError(f"draft {draft_id} was not sent ({exc.outcome}): {exc}") from exc
    with transaction(sessions) as session:
        draft = crud.get_draft(session, draft_id)
        outbox = session.get_one(OutboxMessage, row_id)
        outbox.status, outbox.sent_at, outbox.location = "sent", utcnow(), location
        outbox.last_error = None
        draft.status = "sent"
        draft.updated_at = utcnow()
        draft.version += 1
        crud.audit(session, draft, "sent", by, message_id=message_id, location=location)
        return outbox


def _record_failure(
    sessions: sessionmaker[Session], draft_id: int, row_id: int, exc: DeliveryError, by: str
) -> None:
    status = "unknown" if exc.outcome == "unknown" else "failed"
    with transaction(sessions) as session:
        outbox = session.get_one(OutboxMessage, row_id)
        outbox.status, outbox.last_error = status, str(exc)
        draft = crud.get_draft(session, draft_id)
        crud.audit(session, draft, "send_failed", by, outcome=exc.outcome, reason=str(exc))
