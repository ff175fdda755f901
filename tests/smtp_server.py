"""A real SMTP server on 127.0.0.1 (aiosmtpd) that records what it accepts and fails on command:
refusals at MAIL, RCPT or DATA, a dropped connection, a stalled reply."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes
from typing import Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServerProtocol
from aiosmtpd.smtp import Envelope
from aiosmtpd.smtp import Session as SMTPSession


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class RecordingHandler:
    """Records every accepted envelope; ``data_reply``/``rcpt_reply`` make the server refuse.

    ``rcpt_reply`` answers every RCPT, or only those in ``refuse_only`` when that is set.
    ``mail_reply`` answers MAIL FROM; ``data_replies`` answer the next DATA commands one
    each (then ``data_reply`` or acceptance). ``drop_at`` closes the connection without a
    reply at MAIL or RCPT, or at DATA after taking the message (recorded as accepted: the
    server has it, the client never hears so). ``stall_data_s`` sleeps in DATA before
    answering. ``data_seen`` holds every message body that reached DATA, whatever followed.
    """

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.data_reply: str | None = None
        self.rcpt_reply: str | None = None
        self.refuse_only: set[str] = set()
        self.mail_reply: str | None = None
        self.data_replies: list[str] = []
        self.drop_at: Literal["MAIL", "RCPT", "DATA"] | None = None
        self.stall_data_s: float = 0.0
        self.data_seen: list[bytes] = []
        self.data_entered = threading.Event()

    async def handle_MAIL(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTPServerProtocol,
        session: SMTPSession,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if self.drop_at == "MAIL":
            return _drop(server)
        if self.mail_reply:
            return self.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SMTPServerProtocol,
        session: SMTPSession,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.drop_at == "RCPT":
            return _drop(server)
        if self.rcpt_reply and (not self.refuse_only or address in self.refuse_only):
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTPServerProtocol, session: SMTPSession, envelope: Envelope
    ) -> str:
        content = envelope.content
        self.data_seen.append(content if isinstance(content, bytes) else str(content).encode())
        self.data_entered.set()
        if self.stall_data_s:
            await asyncio.sleep(self.stall_data_s)
        if self.data_replies:
            return self.data_replies.pop(0)
        if self.data_reply:
            return self.data_reply
        self.envelopes.append(envelope)
        if self.drop_at == "DATA":
            return _drop(server)
        return "250 Message accepted for delivery"

    def message_ids(self) -> list[str]:
        """The Message-ID of every accepted envelope, in order (duplicates kept)."""
        ids = []
        for envelope in self.envelopes:
            raw = envelope.content if isinstance(envelope.content, bytes) else b""
            ids.append(str(message_from_bytes(raw).get("Message-ID", "")))
        return ids


def _drop(server: SMTPServerProtocol) -> str:
    """Close the connection without answering (the reply below is never delivered)."""
    if server.transport is not None:
        # aiosmtpd types it as a BaseTransport; a connection's transport is a socket's
        assert isinstance(server.transport, asyncio.WriteTransport), server.transport
        server.transport.abort()
    return "421 closing"


@dataclass
class SMTPServer:
    host: str
    port: int
    handler: RecordingHandler


@contextmanager
def running_smtp_server() -> Iterator[SMTPServer]:
    handler = RecordingHandler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SMTPServer("127.0.0.1", port, handler)
    finally:
        controller.stop()
