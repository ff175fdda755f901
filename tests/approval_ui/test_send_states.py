"""Send states against a real SMTP server that fails on command, driven by the sender's ticks.

approved -> sending -> sent | queued again (4xx, with backoff) | failed (5xx, or out of
attempts) | unknown (the connection went after the body; never resent by itself).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from approval_ui.delivery import SMTPSender
from approval_ui.outbox_claims import SENDER_ACTOR, claim_due
from approval_ui.outbox_worker import OutboxWorker
from approval_ui.sending import transmit
from samdesk.config import Settings
from samdesk.db import transaction
from samdesk.errors import StateError
from samdesk.models import OutboxMessage
from samdesk.pacing import ManualClock
from tests.approval_ui.conftest import Desk, smtp_worker
from tests.invariants import assert_outbox_invariants
from tests.smtp_server import RecordingHandler, SMTPServer, free_port


def worker(
    sessions: sessionmaker[Session], settings: Settings, port: int, clock: ManualClock, **kw: Any
) -> OutboxWorker:
    """The sender worker on ``clock``, whose first retry after a 4xx comes 30 s later."""
    return smtp_worker(sessions, settings, port, clock=clock, **{"send_backoff_s": 30.0, **kw})


def ids_seen(handler: RecordingHandler) -> list[str]:
    return [str(message_from_bytes(raw)["Message-ID"]) for raw in handler.data_seen]


def test_a_4xx_is_retried_with_doubling_backoff_then_sent_exactly_once(
    desk: Desk,
    sessions: sessionmaker[Session],
    settings: Settings,
    smtp_server: SMTPServer,
    clock: ManualClock,
) -> None:
    draft_id = desk.approved_draft()
    smtp_server.handler.data_replies = ["451 try later", "452 out of space"]
    sender = worker(sessions, settings, smtp_server.port, clock)
    start = clock.now()

    assert sender.tick().retrying == 1
    [row] = desk.outbox(draft_id)
    assert (row.status, row.attempts, row.next_attempt_at) == (
        "queued",
        1,
        start + timedelta(seconds=30),
    )
    assert sender.tick().claimed == 0  # not due yet
    clock.advance(seconds=30)
    assert sender.tick().retrying == 1
    assert desk.outbox(draft_id)[0].next_attempt_at == clock.now() + timedelta(seconds=60)
    clock.advance(seconds=59)
    assert sender.tick().claimed == 0
    clock.advance(seconds=1)
    assert sender.tick().sent == 1

    [row] = desk.outbox(draft_id)
    assert (row.status, row.attempts, row.next_attempt_at, row.last_error) == (
        "sent",
        3,
        None,
        None,
    )
    assert smtp_server.handler.message_ids() == [row.message_id]
    assert len(smtp_server.handler.data_seen) == 3
    assert desk.get(draft_id).status == "sent"
    trail = [(e.action, e.actor, e.detail.get("outcome")) for e in desk.audit(draft_id)][-3:]
    assert trail == [
        ("send_failed", SENDER_ACTOR, "transient"),
        ("send_failed", SENDER_ACTOR, "transient"),
        ("sent", SENDER_ACTOR, None),
    ]
    assert_outbox_invariants(sessions)


def test_a_4xx_until_the_last_attempt_fails_the_row_with_the_reason(
    desk: Desk,
    sessions: sessionmaker[Session],
    settings: Settings,
    smtp_server: SMTPServer,
    clock: ManualClock,
) -> None:
    draft_id = desk.approved_draft()
    smtp_server.handler.data_reply = "451 mailbox busy"
    sender = worker(sessions, settings, smtp_server.port, clock, send_max_attempts=3)

    for _ in range(6):
        sender.tick()
        clock.advance(hours=1)

    [row] = desk.outbox(draft_id)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 3, None)
    assert row.last_error == "gave up after 3 attempts: SMTP 451: b'mailbox busy'"
    assert len(smtp_server.handler.data_seen) == 3 and smtp_server.handler.envelopes == []
    assert desk.get(draft_id).status == "approved"  # a person may still press Send
    assert_outbox_invariants(sessions)


@pytest.mark.parametrize("step", ["MAIL", "RCPT", "DATA"])
@pytest.mark.parametrize(("reply", "status"), [("451 later", "queued"), ("550 no", "failed")])
def test_4xx_at_any_step_is_retried_and_5xx_fails_at_once(
    desk: Desk,
    sessions: sessionmaker[Session],
    settings: Settings,
    smtp_server: SMTPServer,
    clock: ManualClock,
    step: str,
    reply: str,
    status: str,
) -> None:
    draft_id = desk.approved_draft()
    setattr(smtp_server.handler, f"{step.lower()}_reply", reply)
    sender = worker(sessions, settings, smtp_server.port, clock)

    sender.tick()
    [row] = desk.outbox(draft_id)
    assert row.status == status and reply.split()[0] in (row.last_error or "")
    assert (row.next_attempt_at is not None) == (status == "queued")
    clock.advance(hours=2)
    setattr(smtp_server.handler, f"{step.lower()}_reply", None)  # the server recovers
    sender.tick()

    expected = 1 if status == "queued" else 0  # a permanent failure is never retried
    assert len(smtp_server.handler.envelopes) == expected
    assert desk.outbox(draft_id)[0].status == ("sent" if expected else "failed")
    assert_outbox_invariants(sessions)


@pytest.mark.parametrize("step", ["MAIL", "RCPT"])
def test_a_connection_lost_before_data_is_transient_and_sent_later(
    desk: Desk,
    sessions: sessionmaker[Session],
    settings: Settings,
    smtp_server: SMTPServer,
    clock: ManualClock,
    step: str,
) -> None:
    draft_id = desk.approved_draft()
    smtp_server.handler.drop_at = step  # type: ignore[assignment]
    sender = worker(sessions, settings, smtp_server.port, clock)

    assert sender.tick().retrying == 1
    assert "failed before DATA" in (desk.outbox(draft_id)[0].last_error or "")
    smtp_server.handler.drop_at = None
    clock.advance(seconds=30)
    assert sender.tick().sent == 1
    assert len(smtp_server.handler.envelopes) == 1
    assert_outbox_invariants(sessions)


def test_a_connection_lost_after_data_is_unknown_and_never_resent(
    desk: Desk,
    sessions: sessionmaker[Session],
    settings: Settings,
    smtp_server: SMTPServer,
    clock: ManualClock,
) -> None:
    draft_id = desk.approved_draft()
    smtp_server.handler.drop_at = "DATA"
    sender = worker(sessions, settings, smtp_server.port, clock)

    assert sender.tick().unknown == 1
    smtp_server.handler.drop_at = None
    for _ in range(3):  # later runs of the sender, days later
        clock.advance(days=1)
        assert sender.drain().claimed == 0

    [row] = desk.outbox(draft_id)
    assert row.status == "unknown" and "connection lost after DATA" in (row.last_error or "")
    assert ids_seen(smtp_server.handler) == [row.message_id]  # the server got it once
    with pytest.raises(StateError, match="may or may not have been delivered"):
        desk.send(draft_id, sender=SMTPSender("127.0.0.1", smtp_server.port, timeout_s=5))
    assert len(smtp_server.handler.data_seen) == 1
    assert desk.get(draft_id).status == "approved"
    assert_outbox_invariants(sessions)


def test_a_server_stalling_past_the_timeout_after_data_is_unknown(
    desk: Desk,
    sessions: sessionmaker[Session],
    settings: Settings,
    smtp_server: SMTPServer,
    clock: ManualClock,
) -> None:
    draft_id = desk.approved_draft()
    smtp_server.handler.stall_data_s = 3.0
    sender = worker(sessions, settings, smtp_server.port, clock, timeout_s=0.5)

    assert sender.tick().unknown == 1
    assert desk.outbox(draft_id)[0].status == "unknown"
    assert_outbox_invariants(sessions)


def test_a_refused_connection_is_retried_until_the_server_is_back(
    desk: Desk, sessions: sessionmaker[Session], settings: Settings, clock: ManualClock
) -> None:
    draft_id = desk.approved_draft()
    port = free_port()
    sender = worker(sessions, settings, port, clock)

    assert sender.tick().retrying == 1
    assert f"cannot connect to 127.0.0.1:{port}" in (desk.outbox(draft_id)[0].last_error or "")
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        clock.advance(seconds=30)
        assert sender.tick().sent == 1
    finally:
        controller.stop()
    assert len(handler.envelopes) == 1
    assert desk.outbox(draft_id)[0].attempts == 2
    assert_outbox_invariants(sessions)


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_a_row_left_sending_by_a_dead_holder_becomes_unknown_and_is_not_sent(
    desk: Desk,
    sessions: sessionmaker[Session],
    settings: Settings,
    smtp_server: SMTPServer,
    clock: ManualClock,
) -> None:
    dead, alive = desk.approved_draft(), desk.approved_draft()
    host = socket.gethostname()
    claim_due(sessions, holder=f"{host}:{dead_pid()}:gone", now=clock.now())
    claim_due(sessions, holder=f"{host}:{os.getpid()}:busy", now=clock.now())
    sender = worker(sessions, settings, smtp_server.port, clock)

    report = sender.tick()

    assert report.recovered == [desk.outbox(dead)[0].id] and report.claimed == 0
    assert desk.outbox(dead)[0].status == "unknown"
    assert desk.outbox(alive)[0].status == "sending"  # its holder is alive and recent
    recovered = desk.audit(dead)[-1]
    assert (recovered.action, recovered.actor, recovered.detail["outcome"]) == (
        "send_failed",
        SENDER_ACTOR,
        "unknown",
    )
    clock.advance(seconds=settings.smtp_timeout_s * 10 + 1)  # silent too long: presumed dead
    assert sender.tick().recovered == [desk.outbox(alive)[0].id]
    assert smtp_server.handler.data_seen == []  # neither was transmitted by the recovery
    assert_outbox_invariants(sessions)


def test_a_holder_presumed_dead_still_records_what_really_happened(
    desk: Desk,
    sessions: sessionmaker[Session],
    settings: Settings,
    smtp_server: SMTPServer,
    clock: ManualClock,
) -> None:
    draft_id = desk.approved_draft()
    sender = worker(sessions, settings, smtp_server.port, clock)
    claim = claim_due(sessions, holder=sender.holder, now=clock.now())
    assert claim is not None
    clock.advance(hours=1)
    assert sender.tick().recovered  # another run thought the holder had gone

    attempt = transmit(
        sessions,
        claim,
        sender=sender.sender,
        by=SENDER_ACTOR,
        mail_from=settings.mail_from,
        policy=sender.policy,
    )

    assert attempt.status == "sent"
    assert desk.outbox(draft_id)[0].status == "sent"
    assert_outbox_invariants(sessions)


def test_a_person_resolving_first_wins_over_a_late_outcome(
    desk: Desk,
    sessions: sessionmaker[Session],
    settings: Settings,
    smtp_server: SMTPServer,
    clock: ManualClock,
) -> None:
    draft_id = desk.approved_draft()
    sender = worker(sessions, settings, smtp_server.port, clock)
    claim = claim_due(sessions, holder=sender.holder, now=clock.now())
    assert claim is not None
    with transaction(sessions) as session:  # requeued by a person meanwhile
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == claim.row_id)
            .values(status="queued", claimed_by=None)
        )

    attempt = transmit(
        sessions,
        claim,
        sender=sender.sender,
        by=SENDER_ACTOR,
        mail_from=settings.mail_from,
        policy=sender.policy,
    )

    assert attempt.status == "taken"
    assert desk.outbox(draft_id)[0].status == "queued"
    assert desk.audit(draft_id)[-1].action == "send_outcome_ignored"
