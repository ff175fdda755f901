"""``POST /api/signals`` through the real app with real HMAC, and the timeline page."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks import Webhook

from approval_ui.routes.webhooks import sign
from retrieval.sources.registry import WebhookCredentials, add_webhook
from samdesk.db import transaction
from samdesk.models import (
    IntakeItem,
    SignalRecord,
    TriageDecision,
    WatchTrigger,
    WebhookDelivery,
)
from tests.factories import ensure_account, make_draft

SIGNAL = {
    "id": "crm-7781",
    "account_id": "acme-financial",
    "type": "leadership_change",
    "title": "Acme Financial names Laura Kim CFO",
    "text": "Acme Financial Corp appointed Laura Kim as chief financial officer.",
    "source_url": "https://crm.example/news/7781",
    "published_at": "2026-11-25T10:00:00Z",
}


@pytest.fixture
def creds(sessions: sessionmaker[Session]) -> WebhookCredentials:
    with transaction(sessions) as session:
        ensure_account(session, "acme-financial")
        return add_webhook(session, name="crm")


def post(
    client: TestClient,
    creds: WebhookCredentials,
    payload: dict[str, Any] | bytes,
    *,
    msg_id: str = "msg_1",
    timestamp: int | None = None,
    secret: str | None = None,
    token: str | None = None,
) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Authorization": f"Bearer {token or creds.token}",
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secret or creds.secret, msg_id, ts, body),
        "Content-Type": "application/json",
    }
    return client.post("/api/signals", content=body, headers=headers)


def count(sessions: sessionmaker[Session], model: Any) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_signed_signal_is_queued_and_a_replay_is_refused(
    anonymous: TestClient, creds: WebhookCredentials, sessions: sessionmaker[Session]
) -> None:
    accepted = post(anonymous, creds, SIGNAL)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json() == {
        "id": "crm-7781",
        "status": "queued",
        "type": "leadership_change",
        "type_declared": True,
    }
    replay = post(anonymous, creds, SIGNAL)
    assert replay.status_code == 409
    assert "msg_1" in replay.json()["detail"] and "already received" in replay.json()["detail"]
    again = post(anonymous, creds, SIGNAL, msg_id="msg_2")  # a resend under a new id
    assert again.json()["status"] == "unchanged"
    changed = post(
        anonymous, creds, {**SIGNAL, "text": SIGNAL["text"] + " She starts Monday."}, msg_id="msg_3"
    )
    assert changed.json()["status"] == "updated"
    assert count(sessions, IntakeItem) == 1
    assert count(sessions, WebhookDelivery) == 3


def test_the_official_standard_webhooks_signer_is_accepted(
    anonymous: TestClient, creds: WebhookCredentials
) -> None:
    body = json.dumps(SIGNAL)
    now = datetime.now(UTC).replace(microsecond=0)
    signature = Webhook(creds.secret).sign("msg_std", now, body)
    response = anonymous.post(
        "/api/signals",
        content=body,
        headers={
            "Authorization": f"Bearer {creds.token}",
            "webhook-id": "msg_std",
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": f"v1,bm90LXRoaXMtb25l {signature}",  # rotation: any may match
        },
    )
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"token": "sdk_not-a-token"}, 401, "unknown or missing API token"),
        ({"secret": "whsec_" + "QUJD" * 8}, 401, "signature does not match"),
        ({"skew": -301}, 401, "the window is 300 s"),
        ({"skew": 400}, 401, "the window is 300 s"),
    ],
)
def test_bad_credentials_signatures_and_stale_timestamps_are_refused(
    anonymous: TestClient,
    creds: WebhookCredentials,
    sessions: sessionmaker[Session],
    change: dict[str, Any],
    status: int,
    message: str,
) -> None:
    if "skew" in change:  # computed now: parameters are built at collection, maybe minutes ago
        change = {"timestamp": int(time.time()) + change["skew"]}
    response = post(anonymous, creds, SIGNAL, **change)
    assert response.status_code == status
    assert message in response.json()["detail"]
    assert count(sessions, IntakeItem) == 0


def test_a_tampered_body_fails_the_signature(
    anonymous: TestClient, creds: WebhookCredentials
) -> None:
    body = json.dumps(SIGNAL).encode()
    ts = int(time.time())
    headers = {
        "Authorization": f"Bearer {creds.token}",
        "webhook-id": "m",
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(creds.secret, "m", ts, body),
    }
    tampered = body.replace(b"Laura Kim", b"Mallory X")
    assert anonymous.post("/api/signals", content=tampered, headers=headers).status_code == 401


def test_an_invalid_signal_is_refused_naming_the_field_and_may_be_resent(
    anonymous: TestClient, creds: WebhookCredentials, sessions: sessionmaker[Session]
) -> None:
    bad = post(anonymous, creds, {**SIGNAL, "published_at": "yesterday"}, msg_id="m1")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "published_at"
    assert "webhook m1: field 'published_at'" in bad.json()["detail"]
    unknown = post(anonymous, creds, {**SIGNAL, "account_id": "nobody-inc"}, msg_id="m2")
    assert unknown.status_code == 422 and "unknown account 'nobody-inc'" in unknown.json()["detail"]
    assert post(anonymous, creds, b"[1, 2]", msg_id="m3").status_code == 422
    fixed = post(anonymous, creds, SIGNAL, msg_id="m1")  # nothing was recorded for m1
    assert fixed.status_code == 202
    assert count(sessions, IntakeItem) == 1


def test_a_signal_without_a_type_is_typed_by_the_triage_rules(
    anonymous: TestClient, creds: WebhookCredentials
) -> None:
    payload = {k: v for k, v in SIGNAL.items() if k != "type"}
    response = post(anonymous, creds, payload)
    assert response.status_code == 202
    assert (response.json()["type"], response.json()["type_declared"]) == (
        "leadership_change",
        False,
    )


def test_the_timeline_shows_each_signal_its_decision_and_the_draft_it_triggered(
    client: TestClient, signed_in: Any, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions)  # outreach triggered by sig-acme-901
    now = datetime(2026, 11, 25, tzinfo=UTC)
    with transaction(sessions) as session:
        session.add_all(
            [
                SignalRecord(
                    id="sig-acme-901",
                    account_id="acme-financial",
                    type="leadership_change",
                    title="Acme Financial names Laura Kim as CFO",
                    text="t",
                    url="https://n.example/1",
                    published_at=now,
                    content_hash="h",
                ),
                SignalRecord(
                    id="sig-acme-902",
                    account_id="acme-financial",
                    type="noise",
                    title="Acme Financial sponsors marathon",
                    text="t",
                    url="https://n.example/2",
                    published_at=now,
                    content_hash="h2",
                ),
            ]
        )
        session.flush()
        session.add_all(
            [
                TriageDecision(
                    signal_id="sig-acme-901",
                    account_id="acme-financial",
                    content_hash="h",
                    type="leadership_change",
                    type_source="rules",
                    predicted_type="leadership_change",
                    action="executive_realignment",
                    score=0.71,
                    relevance=0.5,
                    recency=0.9,
                    strategic=0.87,
                    group_id="sig-acme-901",
                    reason="type leadership_change by rules: appointment of a senior role",
                    classifier="rules@v1",
                ),
                TriageDecision(
                    signal_id="sig-acme-902",
                    account_id="acme-financial",
                    content_hash="h2",
                    type="noise",
                    type_source="rules",
                    predicted_type="noise",
                    action="no_action",
                    score=0.3,
                    relevance=0.0,
                    recency=0.9,
                    strategic=0.87,
                    group_id="sig-acme-902",
                    reason="noise: nothing to act on",
                    classifier="rules@v1",
                ),
                WatchTrigger(
                    key="outreach:acme-financial:sig-acme-901",
                    kind="outreach",
                    action="executive_realignment",
                    account_id="acme-financial",
                    signal_id="sig-acme-901",
                    reason="r",
                    due_at=now,
                    status="done",
                    draft_id=draft_id,
                ),
            ]
        )
    page = client.get("/accounts/acme-financial/timeline")
    assert page.status_code == 200
    html = page.text
    assert "Acme Financial names Laura Kim as CFO" in html
    assert "executive realignment" in html and "appointment of a senior role" in html
    assert f'href="/drafts/{draft_id}"' in html
    assert "noise: nothing to act on" in html
    index = client.get("/timeline")
    assert 'href="/accounts/acme-financial/timeline"' in index.text
    assert client.get("/accounts/nobody/timeline").status_code == 404
    assert (
        signed_in(None).get("/accounts/acme-financial/timeline", follow_redirects=False).status_code
        == 303
    )
