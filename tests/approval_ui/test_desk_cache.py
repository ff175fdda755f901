"""The desk's caches: a cached queue page or principal is never older than the database.

Changes are made through ``sessions``, a second engine over the same database, as another
worker, the sender or the CLI would make them: the app learns of them only through the
desk generation (samdesk/generation.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from approval_ui import users
from approval_ui.desk_cache import DeskCache
from samdesk.db import transaction
from samdesk.models import ApiToken, Draft, utcnow
from tests.approval_ui.conftest import OTHER_SAM, REVIEWER, owned_draft

SignedIn = Callable[[str | None], TestClient]


@contextmanager
def statements(app: FastAPI) -> Iterator[list[str]]:
    """The SQL the app's own engine runs meanwhile."""
    engine = app.state.sessions.kw["bind"]
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        seen.append(sql)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_repeated_queue_page_costs_one_read(
    app: FastAPI, client: TestClient, sessions: sessionmaker[Session]
) -> None:
    owned_draft(sessions)
    first = client.get("/")
    with statements(app) as seen:
        again = client.get("/")
    assert again.status_code == 200 and again.content == first.content
    # no principal lookup, no queue query: only the generation read (which, on PostgreSQL,
    # goes over a connection of its own, outside this engine)
    assert len(seen) <= 1 and all("desk_generation" in sql for sql in seen)
    assert again.headers["cache-control"] == "no-store"  # still never kept by a browser


def test_a_change_made_elsewhere_shows_on_the_next_page(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = owned_draft(sessions, subject="First subject")
    assert "First subject" in client.get("/").text
    later = owned_draft(sessions, subject="Arrived meanwhile")
    assert "Arrived meanwhile" in client.get("/").text
    with transaction(sessions) as session:  # e.g. the sender, another worker, the CLI
        session.get_one(Draft, draft_id).status = "rejected"
    page = client.get("/?status=pending").text
    assert f"/drafts/{later}" in page and f'/drafts/{draft_id}"' not in page


def test_an_approval_through_the_api_shows_at_once(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = owned_draft(sessions)
    assert f"/drafts/{draft_id}" in client.get("/?status=pending").text
    version = client.get(f"/api/drafts/{draft_id}").json()["version"]
    approved = client.post(f"/api/drafts/{draft_id}/approve", json={"version": version})
    assert approved.status_code == 200, approved.text
    assert f"/drafts/{draft_id}" not in client.get("/?status=pending").text
    assert f"/drafts/{draft_id}" in client.get("/?status=approved").text


def test_an_approval_leaves_who_is_signed_in_cached(
    app: FastAPI, client: TestClient, sessions: sessionmaker[Session]
) -> None:
    """An approval changes the desk, not who anyone is: the next request of the reviewer
    (or of anyone) is not looked up again."""
    draft_id = owned_draft(sessions)
    version = client.get(f"/api/drafts/{draft_id}").json()["version"]
    with statements(app) as seen:
        approved = client.post(f"/api/drafts/{draft_id}/approve", json={"version": version})
        page = client.get("/?status=approved")
    assert approved.status_code == 200 and f"/drafts/{draft_id}" in page.text
    lookups = [sql for sql in seen if "web_sessions" in sql or "FROM users" in sql]
    assert lookups == []


def test_one_users_page_never_reaches_another(
    signed_in: SignedIn, sessions: sessionmaker[Session]
) -> None:
    mine = owned_draft(sessions, owner=REVIEWER, subject="Only for Sarah")
    sarah, marcus = signed_in(REVIEWER), signed_in(OTHER_SAM)
    assert "Only for Sarah" in sarah.get("/").text
    page = marcus.get("/")
    assert "Only for Sarah" not in page.text and f"/drafts/{mine}" not in page.text
    assert sarah.cookies.get("samdesk_session") != marcus.cookies.get("samdesk_session")


def test_a_revoked_token_is_refused_at_once_whoever_revoked_it(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    secret = client.post("/api/tokens", json={"name": "CRM sync"}).json()["token"]
    robot = TestClient(client.app, headers={"Authorization": f"Bearer {secret}"})
    assert robot.get("/api/drafts").status_code == 200
    assert robot.get("/api/drafts").status_code == 200  # now from the cache
    with transaction(sessions) as session:  # `samdesk users token revoke`, another process
        session.scalars(select(ApiToken)).one().revoked_at = utcnow()
    assert robot.get("/api/drafts").status_code == 401


def test_a_deactivated_user_is_signed_out_at_once(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    assert client.get("/").status_code == 200
    with transaction(sessions) as session:  # `samdesk users set ... --deactivated`
        users.update_user(session, users.user_by_email(session, REVIEWER), active=False)
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_a_cached_token_still_records_when_it_was_last_used(
    client: TestClient, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = client.post("/api/tokens", json={"name": "CRM sync"}).json()["token"]
    robot = TestClient(client.app, headers={"Authorization": f"Bearer {secret}"})
    robot.get("/api/drafts")
    later = utcnow() + timedelta(minutes=5)
    monkeypatch.setattr("approval_ui.deps.utcnow", lambda: later)
    monkeypatch.setattr("approval_ui.auth.utcnow", lambda: later)
    assert robot.get("/api/drafts").status_code == 200
    with sessions() as session:
        assert session.scalars(select(ApiToken)).one().last_used_at == later


def test_entries_are_for_one_generation_and_age_out(monkeypatch: pytest.MonkeyPatch) -> None:
    cache = DeskCache()
    clock = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])  # what desk_cache reads
    cache.put("page", 7, b"<html>")
    assert cache.get("page", 7, max_age=30) == b"<html>"
    assert cache.get("page", 8, max_age=30) is None  # the desk changed since
    clock[0] += 31
    assert cache.get("page", 7, max_age=30) is None  # priorities moved on
    assert cache.get("page", 7) == b"<html>"  # principals have no age limit of their own
    cache.put("nothing to check by", None, b"x")
    assert cache.get("nothing to check by", None) is None


def test_the_cache_is_bounded_least_recently_used_first() -> None:
    cache = DeskCache(max_entries=2)
    cache.put("a", 1, "A")
    cache.put("b", 1, "B")
    cache.get("a", 1)
    cache.put("c", 1, "C")
    assert len(cache) == 2
    assert cache.get("b", 1) is None and cache.get("a", 1) == "A" and cache.get("c", 1) == "C"
