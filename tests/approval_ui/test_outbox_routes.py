"""The desk settles an unknown send: "it was delivered" or "send again", each audited."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import escape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from approval_ui.outbox_worker import OutboxWorker
from samdesk.config import Settings
from samdesk.models import OutboxMessage
from samdesk.pacing import ManualClock
from tests.approval_ui.conftest import OTHER_SAM, REVIEWER, Desk, smtp_worker
from tests.invariants import assert_outbox_invariants
from tests.smtp_server import SMTPServer


@pytest.fixture
def sender(
    sessions: sessionmaker[Session],
    settings: Settings,
    smtp_server: SMTPServer,
    clock: ManualClock,
) -> OutboxWorker:
    return smtp_worker(sessions, settings, smtp_server.port, clock=clock)


def unknown_send(desk: Desk, smtp: SMTPServer, sender: OutboxWorker) -> int:
    """A draft whose send lost its connection after DATA; returns the outbox row id."""
    draft_id = desk.approved_draft()
    smtp.handler.drop_at = "DATA"
    assert sender.tick().unknown == 1
    smtp.handler.drop_at = None
    [row] = desk.outbox(draft_id)
    return row.id


def test_the_outbox_page_shows_unknown_sends_with_both_choices(
    client: TestClient,
    desk: Desk,
    smtp_server: SMTPServer,
    sender: OutboxWorker,
) -> None:
    row_id = unknown_send(desk, smtp_server, sender)

    page = client.get("/outbox").text

    assert "may or may not have been delivered" in page
    assert f'action="/outbox/{row_id}/delivered"' in page
    assert f'action="/outbox/{row_id}/send-again"' in page
    assert escape("connection lost after DATA") in page


def test_it_was_delivered_marks_the_send_sent_and_audits_who_said_so(
    client: TestClient,
    desk: Desk,
    sessions: sessionmaker[Session],
    smtp_server: SMTPServer,
    sender: OutboxWorker,
) -> None:
    row_id = unknown_send(desk, smtp_server, sender)
    [row] = [r for r in client.get("/api/outbox").json() if r["id"] == row_id]

    response = client.post(
        f"/outbox/{row_id}/delivered",
        data={"note": "Robert replied to it"},
        follow_redirects=False,
    )

    assert response.status_code == 303 and response.headers["location"].startswith("/outbox?")
    assert "as delivered" in client.get(response.headers["location"]).text
    draft_id = row["draft_id"]
    assert desk.get(draft_id).status == "sent"
    [stored] = desk.outbox(draft_id)
    assert stored.status == "sent" and stored.sent_at is not None
    event = desk.audit(draft_id)[-1]
    assert (event.action, event.actor, event.detail["note"]) == (
        "send_confirmed",
        REVIEWER,
        "Robert replied to it",
    )
    assert event.detail["message_id"] == row["message_id"]
    assert sender.drain().claimed == 0
    assert len(smtp_server.handler.data_seen) == 1
    again = client.post(f"/outbox/{row_id}/delivered", follow_redirects=False)
    assert again.status_code == 409
    assert_outbox_invariants(sessions)


def test_send_again_requeues_the_same_message_id_for_the_sender(
    client: TestClient,
    desk: Desk,
    sessions: sessionmaker[Session],
    smtp_server: SMTPServer,
    sender: OutboxWorker,
) -> None:
    row_id = unknown_send(desk, smtp_server, sender)

    response = client.post(
        f"/api/outbox/{row_id}/resolve", json={"outcome": "send_again", "note": "bounced"}
    )

    assert response.status_code == 200
    requeued = response.json()
    assert (requeued["status"], requeued["next_attempt_at"]) == ("queued", None)
    draft_id = requeued["draft_id"]
    event = desk.audit(draft_id)[-1]
    assert (event.action, event.actor) == ("send_requeued", REVIEWER)
    assert sender.tick().sent == 1
    ids = smtp_server.handler.message_ids()
    assert ids == [requeued["message_id"]] * 2  # same Message-ID: receivers can deduplicate
    assert [e.content for e in smtp_server.handler.envelopes][0] == desk.outbox(draft_id)[0].message
    assert desk.get(draft_id).status == "sent"
    assert_outbox_invariants(sessions)


def test_only_the_owner_resolves_and_only_an_unknown_send(
    client: TestClient,
    signed_in: Callable[[str | None], TestClient],
    desk: Desk,
    sessions: sessionmaker[Session],
    smtp_server: SMTPServer,
    sender: OutboxWorker,
) -> None:
    row_id = unknown_send(desk, smtp_server, sender)
    other = signed_in(OTHER_SAM)
    body = {"outcome": "delivered"}

    assert other.post(f"/api/outbox/{row_id}/resolve", json=body).status_code == 403
    assert client.post("/api/outbox/999999/resolve", json=body).status_code == 404
    bad = client.post(f"/api/outbox/{row_id}/resolve", json={"outcome": "maybe"})
    assert bad.status_code == 422
    anonymous = signed_in(None)
    assert anonymous.post(f"/api/outbox/{row_id}/resolve", json=body).status_code == 401
    forged = client.post(
        f"/outbox/{row_id}/delivered", headers={"X-CSRF-Token": "forged"}, follow_redirects=False
    )
    assert forged.status_code == 403
    with sessions() as session:
        assert session.get_one(OutboxMessage, row_id).status == "unknown"

    draft_id = desk.approved_draft()
    [queued] = desk.outbox(draft_id)
    refused = client.post(f"/api/outbox/{queued.id}/resolve", json=body)
    assert refused.status_code == 409 and "only a send whose outcome is unknown" in refused.text
    assert re.search(r"is queued", refused.json()["detail"])
