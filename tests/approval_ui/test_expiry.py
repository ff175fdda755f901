"""Approval requests expire: never approved by the system, never sent, reopened by a person."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from approval_ui import crud
from approval_ui.delivery import OutboxFolderSender
from approval_ui.expiry import EXPIRY_ACTOR
from approval_ui.outbox_worker import OutboxWorker
from samdesk.config import Settings
from samdesk.db import transaction
from samdesk.errors import StateError
from samdesk.models import AuditEvent, Draft, utcnow
from samdesk.pacing import ManualClock
from tests.approval_ui.conftest import OTHER_SAM, REVIEWER, Desk, eml_files
from tests.factories import draft_result, ensure_account, make_draft
from tests.invariants import assert_outbox_invariants


def lapse(sessions: sessionmaker[Session], draft_id: int, *, ago: timedelta) -> None:
    with transaction(sessions) as session:
        session.execute(update(Draft).where(Draft.id == draft_id).values(expires_at=utcnow() - ago))


def sender(sessions: sessionmaker[Session], settings: Settings, outbox_dir: Path) -> OutboxWorker:
    clock = ManualClock(utcnow())
    return OutboxWorker(sessions, OutboxFolderSender(outbox_dir), settings=settings, clock=clock)


def approvals(sessions: sessionmaker[Session]) -> list[tuple[int, str]]:
    with sessions() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "approved"))
        return [(e.draft_id, e.actor) for e in events]


def test_a_new_draft_carries_a_deadline_from_the_setting(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        ensure_account(session)
        session.flush()
        before = utcnow()
        draft = crud.create_draft(session, result=draft_result(), approval_ttl=timedelta(hours=5))
        failed = crud.create_draft(session, result=draft_result(failed="bad json"))
        assert draft.expires_at is not None
        assert before + timedelta(hours=5) <= draft.expires_at <= utcnow() + timedelta(hours=5)
        assert failed.expires_at is None  # nothing to approve, nothing to expire


def test_the_sender_expires_lapsed_requests_and_nothing_approves_them(
    desk: Desk, sessions: sessionmaker[Session], settings: Settings, outbox_dir: Path
) -> None:
    lapsed, fresh, sent_anyway = make_draft(sessions), make_draft(sessions), make_draft(sessions)
    desk.approve(sent_anyway)  # approved in time: its later deadline no longer matters
    for draft_id in (lapsed, sent_anyway):
        lapse(sessions, draft_id, ago=timedelta(minutes=1))
    worker = sender(sessions, settings, outbox_dir)

    report = worker.tick()
    for _ in range(3):
        worker.clock.sleep(3600)
        worker.tick()

    assert report.expired == [lapsed] and report.sent == 1
    assert [desk.get(d).status for d in (lapsed, fresh, sent_anyway)] == [
        "expired",
        "pending",
        "sent",
    ]
    event = desk.audit(lapsed)[-1]
    assert (event.action, event.actor) == ("expired", EXPIRY_ACTOR)
    assert approvals(sessions) == [(sent_anyway, REVIEWER)]  # only the person's approval
    assert desk.outbox(lapsed) == []
    assert len(eml_files(outbox_dir)) == 1
    assert_outbox_invariants(sessions)


def test_an_expired_draft_can_be_neither_approved_nor_sent_nor_edited(
    desk: Desk, sessions: sessionmaker[Session], settings: Settings, outbox_dir: Path
) -> None:
    draft_id = make_draft(sessions)
    lapse(sessions, draft_id, ago=timedelta(seconds=1))

    with pytest.raises(StateError, match="approval request expired.*reopen"):
        desk.approve(draft_id)  # lapsed, not yet marked: refused all the same
    sender(sessions, settings, outbox_dir).tick()
    with pytest.raises(StateError, match="approval request expired.*reopen"):
        desk.approve(draft_id)
    with pytest.raises(StateError, match="only approved drafts can be sent"):
        desk.send(draft_id)
    with pytest.raises(StateError, match="only pending or approved drafts can be edited"):
        desk.edit(draft_id, body="Sneaking in a change")
    assert desk.get(draft_id).approved_hash is None
    assert eml_files(outbox_dir) == []


def test_the_api_answers_409_and_a_person_reopens_it_with_a_fresh_deadline(
    client: TestClient,
    sessions: sessionmaker[Session],
    settings: Settings,
    outbox_dir: Path,
) -> None:
    draft_id = make_draft(sessions)
    lapse(sessions, draft_id, ago=timedelta(hours=1))
    sender(sessions, settings, outbox_dir).tick()

    refused = client.post(f"/api/drafts/{draft_id}/approve", json={})
    assert refused.status_code == 409 and "expired" in refused.json()["detail"]
    assert client.post(f"/api/drafts/{draft_id}/send").status_code == 409
    page = client.get(f"/drafts/{draft_id}").text
    assert f'action="/drafts/{draft_id}/reopen"' in page
    assert 'id="approve-form"' not in page

    reopened = client.post(f"/drafts/{draft_id}/reopen", follow_redirects=False)

    assert reopened.status_code == 303
    draft = client.get(f"/api/drafts/{draft_id}").json()
    assert draft["status"] == "pending"
    [first, second] = draft["revisions"]
    assert (second["author"], second["body"]) == (REVIEWER, first["body"])
    assert "reopened" in (second["note"] or "")
    stored = Desk(sessions, settings, OutboxFolderSender(outbox_dir)).get(draft_id)
    assert stored.expires_at is not None
    assert stored.expires_at > utcnow() + timedelta(hours=settings.approval_ttl_hours - 1)
    event = client.get(f"/api/drafts/{draft_id}/audit").json()[-1]
    assert (event["action"], event["actor"]) == ("reopened", REVIEWER)

    approved = client.post(f"/api/drafts/{draft_id}/approve", json={})
    assert approved.status_code == 200
    assert approved.json()["approved_revision"] == 2
    assert client.post(f"/api/drafts/{draft_id}/send").status_code == 200
    assert approvals(sessions) == [(draft_id, REVIEWER)]
    assert_outbox_invariants(sessions)


def test_only_an_expired_draft_of_ones_own_can_be_reopened(
    client: TestClient,
    signed_in: Callable[[str | None], TestClient],
    sessions: sessionmaker[Session],
) -> None:
    pending = make_draft(sessions)
    response = client.post(f"/api/drafts/{pending}/reopen", json={})
    assert response.status_code == 409 and "only expired drafts" in response.json()["detail"]

    lapse(sessions, pending, ago=timedelta(hours=1))
    with transaction(sessions) as session:
        session.execute(update(Draft).where(Draft.id == pending).values(status="expired"))
    other = signed_in(OTHER_SAM)
    assert other.post(f"/api/drafts/{pending}/reopen", json={}).status_code == 403
    stale = client.post(f"/api/drafts/{pending}/reopen", json={"version": 0})
    assert stale.status_code == 409


def test_a_lapsed_draft_can_be_reopened_before_any_sender_marked_it(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    """A desk without a running sender: the deadline still holds, and so does the way out."""
    draft_id = make_draft(sessions)
    lapse(sessions, draft_id, ago=timedelta(minutes=5))

    page = client.get(f"/drafts/{draft_id}").text
    assert 'id="approve-form"' not in page and 'id="reopen-form"' in page
    assert client.post(f"/api/drafts/{draft_id}/approve", json={}).status_code == 409
    reopened = client.post(f"/api/drafts/{draft_id}/reopen", json={})

    assert reopened.status_code == 200 and reopened.json()["status"] == "pending"
    assert client.post(f"/api/drafts/{draft_id}/approve", json={}).status_code == 200
