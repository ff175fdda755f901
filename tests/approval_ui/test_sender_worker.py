"""``samdesk sender`` under concurrency and crashes: every approved message goes out once.

Two senders (threads with their own engines, or two processes) drain the same outbox on
SQLite and PostgreSQL; a sender killed with SIGKILL in the middle of DATA leaves a row the
next start marks ``unknown`` and never resends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from approval_ui import crud
from approval_ui.delivery import SMTPSender
from approval_ui.outbox_worker import OutboxWorker, SenderReport
from samdesk.config import Settings
from samdesk.db import transaction
from samdesk.models import OutboxMessage
from tests.approval_ui.conftest import REVIEWER
from tests.conftest import make_sessions
from tests.factories import draft_result, ensure_account
from tests.invariants import assert_outbox_invariants
from tests.pg import Databases, database_env, databases
from tests.smtp_server import SMTPServer

MESSAGES = 50
LOCAL_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def approve_many(sessions: sessionmaker[Session], settings: Settings, count: int) -> list[str]:
    """``count`` approved drafts, queued; returns their Message-IDs."""
    with transaction(sessions) as session:
        ensure_account(session)
        session.flush()
        drafts = [crud.create_draft(session, result=draft_result()) for _ in range(count)]
        session.flush()
        for draft in drafts:
            crud.approve(session, draft, by=REVIEWER, mail_from=settings.mail_from)
    with sessions() as session:
        return list(session.scalars(select(OutboxMessage.message_id)))


def race(url: str, settings: Settings, server: SMTPServer, senders: int = 2) -> list[SenderReport]:
    """Drain the outbox with ``senders`` workers at once, each over its own engine."""
    start = threading.Barrier(senders)
    reports: list[SenderReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        sessions = make_sessions(url)
        transport = SMTPSender(server.host, server.port, timeout_s=10)
        worker = OutboxWorker(sessions, transport, settings=settings, batch=5)
        try:
            start.wait()
            reports.append(worker.drain())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)
        finally:
            sessions.kw["bind"].dispose()

    threads = [threading.Thread(target=run) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return reports


def assert_each_sent_once(
    sessions: sessionmaker[Session], server: SMTPServer, expected: list[str]
) -> None:
    delivered = Counter(server.handler.message_ids())
    assert sorted(delivered) == sorted(expected)
    assert set(delivered.values()) == {1}, delivered.most_common(3)
    with sessions() as session:
        statuses = Counter(session.scalars(select(OutboxMessage.status)))
    assert statuses == {"sent": len(expected)}
    assert_outbox_invariants(sessions)


def test_two_senders_deliver_each_of_50_messages_exactly_once(
    sessions: sessionmaker[Session], settings: Settings, smtp_server: SMTPServer
) -> None:
    expected = approve_many(sessions, settings, MESSAGES)

    reports = race(settings.resolved_database_url, settings, smtp_server)

    assert sum(r.sent for r in reports) == MESSAGES
    assert all(r.failed == r.unknown == r.retrying == 0 for r in reports)
    assert_each_sent_once(sessions, smtp_server, expected)


@pytest.fixture
def local_postgres() -> Iterator[str]:
    """A private database on 127.0.0.1:5432, when the suite itself runs on SQLite."""
    if databases() is not None:
        pytest.skip("the whole run is on PostgreSQL; the test above covers it")
    try:
        with create_engine(LOCAL_POSTGRES).connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - no server here: nothing to test against
        pytest.skip(f"no PostgreSQL at 127.0.0.1:5432 ({exc.__class__.__name__})")
    found = Databases(LOCAL_POSTGRES)
    try:
        yield found.url(found.create())
    finally:
        found.close()


def test_two_senders_on_postgresql_deliver_each_message_exactly_once(
    local_postgres: str, settings: Settings, smtp_server: SMTPServer
) -> None:
    sessions = make_sessions(local_postgres)
    try:
        expected = approve_many(sessions, settings, MESSAGES)
        reports = race(local_postgres, settings, smtp_server)
        assert sum(r.sent for r in reports) == MESSAGES
        assert_each_sent_once(sessions, smtp_server, expected)
    finally:
        sessions.kw["bind"].dispose()


def sender_command(*args: str) -> list[str]:
    """``samdesk sender ...`` exactly as installed (the CLI loads only what a command needs)."""
    return [sys.executable, "-c", "from samdesk.cli import main; main()", "sender", *args]


def sender_env(settings: Settings, server: SMTPServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMDESK_")}
    env.update(
        SAMDESK_ENV="test",
        SAMDESK_DATA_DIR=str(settings.data_dir),
        SAMDESK_SENDER="smtp",
        SAMDESK_SMTP_HOST=server.host,
        SAMDESK_SMTP_PORT=str(server.port),
        SAMDESK_SMTP_TIMEOUT_S="30",
        **database_env(settings.data_dir),
    )
    return env


def test_two_sender_processes_deliver_each_message_exactly_once(
    sessions: sessionmaker[Session], settings: Settings, smtp_server: SMTPServer, tmp_path: Path
) -> None:
    expected = approve_many(sessions, settings, MESSAGES)
    env = sender_env(settings, smtp_server)

    processes = [
        subprocess.Popen(
            sender_command("--once", "--batch", "5"),
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=180) for p in processes]

    assert [p.returncode for p in processes] == [0, 0], outputs
    assert all("sender: sent " in out for out, _ in outputs), outputs
    assert_each_sent_once(sessions, smtp_server, expected)


def test_a_sender_killed_in_data_leaves_an_unknown_row_that_is_never_resent(
    sessions: sessionmaker[Session], settings: Settings, smtp_server: SMTPServer, tmp_path: Path
) -> None:
    first, second = approve_many(sessions, settings, 2)
    handler = smtp_server.handler
    handler.stall_data_s = 120.0  # the server holds the first message without answering
    env = sender_env(settings, smtp_server)
    running = subprocess.Popen(
        sender_command("--interval", "0.2"),
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not handler.data_entered.wait(0.2):
            assert running.poll() is None, running.communicate()[1]
        running.send_signal(signal.SIGKILL)
        running.wait(timeout=30)
    finally:
        if running.poll() is None:
            running.kill()
            running.wait()
    handler.stall_data_s = 0.0
    with sessions() as session:
        stranded = session.scalars(
            select(OutboxMessage).where(OutboxMessage.status == "sending")
        ).one()
        assert f":{running.pid}:" in (stranded.claimed_by or "")

    restart = subprocess.run(
        sender_command("--once"),
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert restart.returncode == 0, restart.stderr
    assert "stalled sends now unknown 1" in restart.stdout
    with sessions() as session:
        rows = {r.message_id: r for r in session.scalars(select(OutboxMessage))}
    assert rows[stranded.message_id].status == "unknown"
    assert {m: rows[m].status for m in (first, second) if m != stranded.message_id} == {
        (second if stranded.message_id == first else first): "sent"
    }
    reached_data = Counter(str(message_from_bytes(raw)["Message-ID"]) for raw in handler.data_seen)
    assert reached_data == {first: 1, second: 1}  # the stranded one was never sent again
    if settings.resolved_database_url.startswith("sqlite"):
        with sessions() as session:
            assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    assert_outbox_invariants(sessions)
