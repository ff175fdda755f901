"""How the frozen bytes reach recipients: an outbox folder (default) or SMTP.

Each sender says how a failure ended: ``transient`` (nothing was delivered, try again
later), ``permanent`` (the server refused for good) or ``unknown`` (the server may have it).
"""

from __future__ import annotations

import os
import re
import smtplib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from samdesk.config import Settings

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
    """SMTP, one step at a time, so a failure is classified by how far the message got:
    refused or dropped before the body went out is transient (nothing was delivered), a 4xx
    or 5xx reply is transient or permanent, and a lost connection once the body is on its
    way is ``unknown`` (RFC 5321 4.5.3.2: the server may already have accepted it)."""

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
        body_sent = False
        try:
            self._envelope(client, to, mail_from)
            refused = self._recipients(client, to)
            code, reply = client.docmd("DATA")
            _check(code, reply, 354, "DATA")
            body_sent = True
            client.send(_dot_stuffed(message))
            code, reply = client.getreply()
            _check(code, reply, 250, "end of DATA")
        except smtplib.SMTPResponseException as exc:  # a definite "no": nothing was delivered
            client.close()
            outcome: Outcome = "transient" if 400 <= exc.smtp_code < 500 else "permanent"
            raise DeliveryError(outcome, f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
        except (smtplib.SMTPException, OSError) as exc:  # dropped, timed out, TLS failed
            client.close()
            if body_sent:
                raise DeliveryError("unknown", f"connection lost after DATA: {exc}") from exc
            raise DeliveryError("transient", f"failed before DATA: {exc}") from exc
        except BaseException:
            client.close()
            raise
        try:  # delivered: a failing QUIT must not turn that into a retry
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()
        if refused:  # the others did get it, so a retry would send them a second copy
            raise DeliveryError(
                "unknown", f"delivered, but these recipients were refused: {refused}"
            )
        return f"smtp://{self.host}:{self.port}"

    def _envelope(self, client: smtplib.SMTP, to: list[str], mail_from: str) -> None:
        client.ehlo_or_helo_if_needed()
        if self.starttls:
            client.starttls()
            client.ehlo()
        if self.username and self.password:
            client.login(self.username, self.password)
        code, reply = client.mail(mail_from)
        _check(code, reply, 250, "MAIL FROM")

    @staticmethod
    def _recipients(client: smtplib.SMTP, to: list[str]) -> dict[str, tuple[int, bytes]]:
        refused: dict[str, tuple[int, bytes]] = {}
        for address in to:
            code, reply = client.rcpt(address)
            if code not in (250, 251):
                refused[address] = (code, reply)
        if len(refused) == len(to):  # nothing was delivered
            codes = [code for code, _ in refused.values()]
            outcome: Outcome = "transient" if all(400 <= c < 500 for c in codes) else "permanent"
            raise DeliveryError(outcome, f"all recipients refused: {refused}")
        return refused


def _check(code: int, reply: bytes, expected: int, step: str) -> None:
    if code == -1:  # smtplib's "no reply": the server closed the connection
        raise smtplib.SMTPServerDisconnected(f"no reply to {step}")
    if code != expected:
        raise smtplib.SMTPResponseException(code, reply)


def _dot_stuffed(message: bytes) -> bytes:
    """The body as DATA carries it: leading dots doubled, CRLF, then the lone-dot end line."""
    body = re.sub(rb"(?m)^\.", b"..", message)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body + b".\r\n"


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
