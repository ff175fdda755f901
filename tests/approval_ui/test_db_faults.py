"""The desk when SQLite refuses a write: a full disk (real tmpfs), a full database
(max_page_count), another process's lock. Each answers 503 saying nothing was saved; the
queue (drafts, revisions, outbox, audit) is byte-for-byte what it was; the file passes
``PRAGMA integrity_check``; and the same request succeeds once the fault is lifted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from samdesk.config import Settings
from tests.approval_ui.conftest import owned_draft
from tests.db_faults import (
    checkpoint,
    db_file,
    fill,
    held_lock,
    integrity,
    page_limit,
    small_disk,  # noqa: F401  (a fixture)
    snapshot,
    sqlite_settings,
)

BUSY_MS = 200


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    """The desk's settings (overriding the shared fixture): a short busy timeout."""
    return sqlite_settings(data_dir, sqlite_busy_timeout_ms=BUSY_MS)


def version(client: TestClient, draft_id: int) -> int:
    response = client.get(f"/api/drafts/{draft_id}")
    assert response.status_code == 200, response.text
    value: int = response.json()["version"]
    return value


def approve(client: TestClient, draft_id: int, draft_version: int) -> Any:
    return client.post(f"/api/drafts/{draft_id}/approve", json={"version": draft_version})


def edit(client: TestClient, draft_id: int, draft_version: int, body: str) -> Any:
    return client.patch(f"/api/drafts/{draft_id}", json={"body": body, "version": draft_version})


def assert_refused(response: Any, words: str) -> None:
    assert response.status_code == 503, response.text
    detail = response.json()["detail"]
    assert words in detail and "nothing was saved" in detail, detail


def assert_recovers(client: TestClient, draft_id: int, draft_version: int, db: Path) -> None:
    """Lifted: the same edit and approval go through, and the file is still sound."""
    edited = edit(client, draft_id, draft_version, "A shorter body citing [sig-acme-901].")
    assert edited.status_code == 200, edited.text
    approved = approve(client, draft_id, edited.json()["version"])
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert integrity(db) == "ok"


def test_a_full_disk_refuses_approve_and_edit_with_503_and_changes_nothing(
    tmp_path: Path,
    small_disk: Path,  # noqa: F811 - the fixture imported above
    password_hash: str,
) -> None:
    from approval_ui.main import create_app
    from approval_ui.sending import OutboxFolderSender
    from tests.approval_ui.conftest import add_team, login
    from tests.conftest import make_sessions

    settings = sqlite_settings(small_disk / "data", sqlite_busy_timeout_ms=BUSY_MS)
    sessions = make_sessions(settings.resolved_database_url)
    add_team(sessions, password_hash)
    draft_id = owned_draft(sessions)
    db = db_file(settings.data_dir)
    app = create_app(settings, sender=OutboxFolderSender(tmp_path / "outbox"))
    with TestClient(app) as client:
        login(client, "sarah.chen@northwind.example")
        v = version(client, draft_id)
        before = snapshot(db)
        checkpoint(db)  # an empty WAL: the next write needs fresh disk space
        filler = fill(small_disk)

        assert_refused(approve(client, draft_id, v), "database is full")
        assert_refused(edit(client, draft_id, v, "x" * 40_000), "database is full")

        assert snapshot(db) == before
        assert integrity(db) == "ok"
        filler.unlink()
        assert_recovers(client, draft_id, v, db)


def test_a_database_at_its_size_limit_refuses_with_503_and_changes_nothing(
    app: Any, client: TestClient, sessions: sessionmaker[Session], data_dir: Path
) -> None:
    draft_id = owned_draft(sessions)
    v = version(client, draft_id)
    db = db_file(data_dir)
    before = snapshot(db)

    with page_limit(db) as limit:
        # 40 kB of text needs new pages (overflow pages); the capped file cannot grow.
        assert_refused(edit(client, draft_id, v, "x" * 40_000), "database is full")
        assert snapshot(db) == before
        assert integrity(db) == "ok"
        limit.lift()
        assert_recovers(client, draft_id, v, db)


def test_a_write_lock_held_by_another_process_gets_503_after_the_busy_timeout(
    app: Any, client: TestClient, sessions: sessionmaker[Session], data_dir: Path
) -> None:
    draft_id = owned_draft(sessions)
    v = version(client, draft_id)
    db = db_file(data_dir)
    before = snapshot(db)

    with held_lock(db):
        started = time.monotonic()
        refused = approve(client, draft_id, v)
        waited = time.monotonic() - started
        assert_refused(refused, "database is locked by another process")
        assert_refused(edit(client, draft_id, v, "Edited while locked."), "locked")
        assert client.get(f"/api/drafts/{draft_id}").status_code == 200  # reads go on (WAL)

    assert BUSY_MS / 1000 <= waited < 5  # waited for the lock as configured, then gave up
    assert snapshot(db) == before
    assert integrity(db) == "ok"
    assert_recovers(client, draft_id, v, db)


def test_a_desk_page_shows_the_same_message_as_html(
    app: Any, signed_in: Callable[..., TestClient], sessions: sessionmaker[Session], data_dir: Path
) -> None:
    from tests.approval_ui.conftest import REVIEWER

    client = signed_in(REVIEWER)
    draft_id = owned_draft(sessions)
    page = client.get(f"/drafts/{draft_id}")
    assert page.status_code == 200
    with held_lock(db_file(data_dir)):
        response = client.post(
            f"/drafts/{draft_id}/approve",
            data={"version": str(version(client, draft_id))},
            follow_redirects=False,
        )
    assert response.status_code == 503, response.text
    assert "text/html" in response.headers["content-type"]
    assert "nothing was saved" in response.text
