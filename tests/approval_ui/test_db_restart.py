"""PostgreSQL restarts under the desk: a clear 503 for the request caught in it, then business
as usual, and not one queued draft, revision or outbox row lost or changed.

The server is a private cluster this test starts (initdb + pg_ctl on a free port), so
restarting it disturbs nobody else. The request "in flight" is made deterministic: the
test holds the draft's row lock, so the desk's approve waits inside PostgreSQL when the
server goes down (an immediate shutdown: crash recovery on the way back up).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from approval_ui.sending import OutboxFolderSender
from samdesk.db import make_engine, migrate, session_factory, transaction
from tests.approval_ui.conftest import REVIEWER, Desk, add_team, owned_draft
from tests.approval_ui.test_workers import api_token
from tests.conftest import make_settings
from tests.desk_process import DeskProcess, start_desk
from tests.smtp_server import free_port

PG_BINS = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
QUEUE_TABLES = ("drafts", "revisions", "outbox", "audit_events")


class Cluster:
    """A throwaway PostgreSQL server owned by the ``postgres`` OS user when we are root."""

    def __init__(self, root: Path, port: int) -> None:
        self.bin = PG_BINS[-1].parent
        self.root = root
        self.data = root / "data"
        self.port = port
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        self.options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"

    def run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def pg_ctl(self, action: str, *args: str) -> None:
        log = str(self.root / "server.log")
        self.run("pg_ctl", action, "-D", str(self.data), "-w", "-l", log, "-o", self.options, *args)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if not PG_BINS:
        pytest.skip("PostgreSQL server binaries (/usr/lib/postgresql/*/bin) are not installed")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as postgres")
    # Not in tmp_path: its parents are private to root, and the server runs as postgres.
    root = Path(tempfile.mkdtemp(prefix="samdesk-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    server = Cluster(root, free_port())
    try:
        server.run("initdb", "-D", str(server.data), "-A", "trust", "-U", "postgres", "--no-sync")
        server.pg_ctl("start")
        yield server
    finally:
        try:
            server.pg_ctl("stop", "-m", "immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(root, ignore_errors=True)


def queue_state(url: str) -> dict[str, tuple[int, str]]:
    """Row count and a hash of every row, per table of the review queue."""
    engine = create_engine(url, poolclass=NullPool)
    state: dict[str, tuple[int, str]] = {}
    with engine.connect() as connection:
        for table in QUEUE_TABLES:
            rows = connection.execute(text(f"SELECT * FROM {table} ORDER BY id")).all()
            state[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    engine.dispose()
    return state


def wait_for_lock_waiter(url: str, timeout_s: float = 30.0) -> None:
    """Until a backend of the desk waits on a row lock: the request is inside PostgreSQL."""
    engine = create_engine(url, poolclass=NullPool)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                waiting = connection.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                ).scalar_one()
            if waiting:
                return
            time.sleep(0.05)
    finally:
        engine.dispose()
    raise AssertionError("the approve request never reached the locked row")


@pytest.fixture
def seeded(
    cluster: Cluster, password_hash: str, tmp_path: Path, folder_sender: OutboxFolderSender
) -> tuple[sessionmaker[Session], list[int], str]:
    """A queue with pending, edited, approved and sent drafts."""
    engine = make_engine(cluster.url)
    migrate(engine)
    sessions = session_factory(engine)
    add_team(sessions, password_hash)
    ids = [owned_draft(sessions, subject=f"Draft number {n}") for n in range(6)]
    desk = Desk(sessions, make_settings(tmp_path), folder_sender)
    desk.edit(ids[1], body="Hi Robert, an edited body that cites [sig-acme-901].")
    desk.approve(ids[2])
    desk.approve(ids[3])
    desk.send(ids[3])
    return sessions, ids, api_token(sessions, REVIEWER)


def test_a_postgres_restart_mid_request_is_a_503_then_the_desk_carries_on(
    cluster: Cluster, seeded: tuple[sessionmaker[Session], list[int], str], tmp_path: Path
) -> None:
    sessions, ids, token = seeded
    desk: DeskProcess = start_desk(
        tmp_path / "data", tmp_path / "serve.log", env={"SAMDESK_DATABASE_URL": cluster.url}
    )
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=desk.url, headers=headers, timeout=60) as client:
            assert client.get("/api/drafts").status_code == 200  # the desk's pool is warm
            before = queue_state(cluster.url)
            answer: list[httpx.Response] = []
            blocker = create_engine(cluster.url, poolclass=NullPool).connect()
            # Hold draft 0's row so the desk's approve waits inside the server.
            blocker.execute(text("SELECT id FROM drafts WHERE id = :id FOR UPDATE"), {"id": ids[0]})
            caught = threading.Thread(
                target=lambda: answer.append(client.post(f"/api/drafts/{ids[0]}/approve", json={}))
            )
            caught.start()
            wait_for_lock_waiter(cluster.url)
            cluster.pg_ctl("restart", "-m", "immediate")
            caught.join(timeout=60)
            with contextlib.suppress(DBAPIError):
                blocker.close()  # its server process is gone with the restart
            assert len(answer) == 1
            assert answer[0].status_code == 503, answer[0].text
            assert "database is out of reach" in answer[0].json()["detail"]
            assert "retry" in answer[0].json()["detail"]

            # Right after the restart: stale pooled connections are replaced (pre-ping).
            listed = client.get("/api/drafts")
            assert listed.status_code == 200
            assert {d["id"] for d in listed.json()} == set(ids)
            assert queue_state(cluster.url) == before  # nothing lost, nothing half-written

            # While it is down: 503 again, never a traceback; afterwards, the retry works.
            cluster.pg_ctl("stop", "-m", "fast")
            down = client.post(f"/api/drafts/{ids[0]}/approve", json={})
            assert down.status_code == 503 and "retry" in down.json()["detail"], down.text
            cluster.pg_ctl("start")
            retried = client.post(f"/api/drafts/{ids[0]}/approve", json={})
            assert retried.status_code == 200, retried.text
    finally:
        desk.stop()
    after = queue_state(cluster.url)
    assert after["outbox"][0] == before["outbox"][0] + 1  # the one retried approval
    assert after["revisions"] == before["revisions"]
    with transaction(sessions) as session:
        statuses: dict[int, str] = dict(
            session.execute(text("SELECT id, status FROM drafts")).all()
        )
    assert [statuses[i] for i in ids] == [
        "approved",
        "pending",
        "approved",
        "sent",
        "pending",
        "pending",
    ]
    assert "Traceback" not in desk.log.read_text()
