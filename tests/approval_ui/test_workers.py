"""Several desk processes share one database: racing approvals of a draft win exactly once.

``samdesk serve --workers 2`` runs as a real subprocess over the test's database (a SQLite
file; PostgreSQL on the SAMDESK_TEST_POSTGRES_URL run). Threads then approve the same
drafts at the same moment through the API, so requests for one draft land in both
processes. Exactly one approval, one outbox row and one "approved" audit event per draft;
the others are told 409; nothing answers 5xx.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from approval_ui import auth, crud
from samdesk.config import Settings
from samdesk.db import make_engine, session_factory, transaction
from samdesk.errors import StateError
from samdesk.models import AuditEvent, Draft, OutboxMessage, User
from tests.approval_ui.conftest import REVIEWER, add_team, owned_draft
from tests.desk_process import DeskProcess, start_desk

DRAFTS = 6
RACERS = 6  # simultaneous approvals of each draft


def api_token(sessions: sessionmaker[Session], email: str) -> str:
    with transaction(sessions) as session:
        user = session.scalars(select(User).where(User.email == email)).one()
        return auth.create_token(session, user, "workers test").secret


@pytest.fixture
def two_workers(
    settings: Settings, sessions: sessionmaker[Session], password_hash: str, tmp_path: Path
) -> Iterator[tuple[DeskProcess, str]]:
    add_team(sessions, password_hash)
    token = api_token(sessions, REVIEWER)
    desk = start_desk(settings.data_dir, tmp_path / "serve.log", workers=2)
    try:
        yield desk, token
    finally:
        desk.stop()


def test_two_workers_approve_each_raced_draft_exactly_once(
    two_workers: tuple[DeskProcess, str], sessions: sessionmaker[Session]
) -> None:
    desk, token = two_workers
    ids = [owned_draft(sessions, subject=f"Draft number {n}") for n in range(DRAFTS)]
    start = threading.Barrier(DRAFTS * RACERS)
    answers: list[tuple[int, int, str]] = []
    lock = threading.Lock()

    def approve(draft_id: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=desk.url, headers=headers, timeout=60) as client:
            start.wait()
            response = client.post(f"/api/drafts/{draft_id}/approve", json={})
        with lock:
            answers.append((draft_id, response.status_code, response.text))

    threads = [threading.Thread(target=approve, args=(i,)) for i in ids for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(answers) == DRAFTS * RACERS
    assert [a for a in answers if a[1] >= 500] == []
    assert Counter(status for _, status, _ in answers) == {
        200: DRAFTS,
        409: DRAFTS * (RACERS - 1),
    }, answers
    assert {d for d, status, _ in answers if status == 200} == set(ids)
    with sessions() as session:
        drafts = {d.id: d for d in session.scalars(select(Draft).where(Draft.id.in_(ids)))}
        outbox = Counter(session.scalars(select(OutboxMessage.draft_id)))
        approvals = Counter(
            session.scalars(select(AuditEvent.draft_id).where(AuditEvent.action == "approved"))
        )
        events = session.scalar(select(func.count()).select_from(AuditEvent))
    assert all(d.status == "approved" and d.approved_by == REVIEWER for d in drafts.values())
    assert outbox == dict.fromkeys(ids, 1)
    assert approvals == dict.fromkeys(ids, 1)
    assert events == 2 * DRAFTS  # created + approved, nothing half-written by the losers
    log = desk.log.read_text()
    assert log.count("Started server process") == 2, log  # both workers were up


def test_racing_approvals_from_separate_engines_fail_cleanly_with_409(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    """The same race in-process and fast: one engine (one pool) per "process", many rounds.

    On SQLite the loser used to read the draft as still pending and then fail on the outbox
    row's unique constraint (a 500); FOR UPDATE now takes the write lock first.
    """
    engines = [make_engine(settings.resolved_database_url) for _ in range(RACERS)]
    factories = [session_factory(engine) for engine in engines]
    ids = [owned_draft(sessions, subject=f"Raced draft {n}") for n in range(10)]
    outcomes: list[str] = []
    lock = threading.Lock()

    def approve(factory: sessionmaker[Session], draft_id: int, start: threading.Barrier) -> None:
        start.wait()
        try:
            with transaction(factory) as session:
                draft = crud.get_draft(session, draft_id, for_update=True)
                crud.approve(session, draft, by=REVIEWER, mail_from=settings.mail_from)
            outcome = "approved"
        except StateError:
            outcome = "409"
        except Exception as exc:  # noqa: BLE001 - any other outcome fails the test below
            outcome = f"{type(exc).__name__}: {exc}"
        with lock:
            outcomes.append(outcome)

    for draft_id in ids:
        start = threading.Barrier(RACERS)
        threads = [
            threading.Thread(target=approve, args=(factory, draft_id, start))
            for factory in factories
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    for engine in engines:
        engine.dispose()
    assert Counter(outcomes) == {"approved": len(ids), "409": len(ids) * (RACERS - 1)}
    with sessions() as session:
        assert Counter(session.scalars(select(OutboxMessage.draft_id))) == dict.fromkeys(ids, 1)
