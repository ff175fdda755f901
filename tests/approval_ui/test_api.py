"""The JSON API over HTTP, against the real app, database and outbox folder."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from agent.grounding import Finding
from approval_ui import actions
from tests.approval_ui.conftest import REVIEWER, eml_files
from tests.factories import make_draft

FLAG = Finding(code="unknown_citation", message="cites [sig-nope-1], which is not a source")


def draft_json(client: TestClient, draft_id: int) -> dict[str, Any]:
    response = client.get(f"/api/drafts/{draft_id}")
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


def test_list_drafts_filters_by_account_kind_and_status(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    acme_outreach = make_draft(sessions)
    acme_briefing = make_draft(sessions, kind="briefing", subject="Acme briefing")
    globex = make_draft(sessions, account_id="globex", subject="Globex hello")
    failed = make_draft(sessions, account_id="globex", failed="timeout")
    client.post(f"/api/drafts/{acme_briefing}/approve", json={})

    def ids(**params: str) -> list[int]:
        response = client.get("/api/drafts", params=params)
        assert response.status_code == 200
        return [d["id"] for d in response.json()]

    assert sorted(ids()) == sorted([acme_outreach, acme_briefing, globex, failed])
    assert sorted(ids(account="acme-financial")) == [acme_outreach, acme_briefing]
    assert ids(kind="briefing") == [acme_briefing]
    assert ids(status="approved") == [acme_briefing]
    assert ids(status="failed") == [failed]
    assert ids(account="globex", status="pending") == [globex]
    assert ids(account="nobody") == []
    # work to do first: pending before approved before failed
    statuses = [d["status"] for d in client.get("/api/drafts").json()]
    assert statuses == sorted(
        statuses, key=["pending", "approved", "sent", "rejected", "failed"].index
    )

    summary = next(d for d in client.get("/api/drafts").json() if d["id"] == globex)
    assert summary["subject"] == "Globex hello"
    assert summary["account_id"] == "globex"
    assert summary["flags"] == 0
    assert summary["prompt"].startswith("outreach@")


def test_get_draft_returns_revisions_sources_and_findings(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions, findings=[FLAG])

    data = draft_json(client, draft_id)

    assert data["id"] == draft_id
    assert data["status"] == "pending"
    assert data["flags"] == 1
    assert [f["code"] for f in data["findings"]] == ["unknown_citation"]
    assert [s["id"] for s in data["sources"]] == ["sig-acme-901"]
    [revision] = data["revisions"]
    assert revision["number"] == 1
    assert revision["author"] == "samdesk:model"
    assert len(revision["content_hash"]) == 64


@pytest.mark.parametrize("path", ["/api/drafts/4242", "/api/drafts/4242/audit"])
def test_a_missing_draft_is_a_json_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"detail": "draft 4242 does not exist"}


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("PATCH", "", {"body": "Some new text for a draft that is not there."}),
        ("POST", "/approve", {}),
        ("POST", "/reject", {"reason": "x"}),
        ("POST", "/send", None),
    ],
)
def test_actions_on_a_missing_draft_are_404(
    client: TestClient, method: str, suffix: str, body: dict[str, Any] | None
) -> None:
    response = client.request(method, f"/api/drafts/4242{suffix}", json=body)
    assert response.status_code == 404
    assert response.json()["detail"] == "draft 4242 does not exist"


def test_patch_creates_a_revision_by_the_desk_user(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions)
    version = draft_json(client, draft_id)["version"]

    response = client.patch(
        f"/api/drafts/{draft_id}", json={"body": "Edited by a human.", "version": version}
    )

    assert response.status_code == 200
    data = response.json()
    assert [r["number"] for r in data["revisions"]] == [1, 2]
    assert data["revisions"][1]["author"] == REVIEWER
    assert data["revisions"][1]["body"] == "Edited by a human."
    assert data["revisions"][0]["body"] != "Edited by a human."
    assert data["version"] == version + 1
    assert draft_json(client, draft_id)["revisions"][1]["body"] == "Edited by a human."


@pytest.mark.parametrize(
    "payload",
    [
        {"bodyy": "typo in the field name"},
        {"status": "approved"},
        {"body": ""},
        {"subject": ""},
        {"recipient": ""},
    ],
)
def test_patch_rejects_unknown_fields_and_empty_strings(
    client: TestClient, sessions: sessionmaker[Session], payload: dict[str, str]
) -> None:
    draft_id = make_draft(sessions)

    response = client.patch(f"/api/drafts/{draft_id}", json=payload)

    assert response.status_code == 422
    assert response.headers["content-security-policy"]
    data = draft_json(client, draft_id)
    assert len(data["revisions"]) == 1
    assert data["status"] == "pending"


def test_patch_with_a_stale_version_is_409_and_changes_nothing(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions)
    opened = draft_json(client, draft_id)["version"]
    assert (
        client.patch(
            f"/api/drafts/{draft_id}", json={"body": "First save wins.", "version": opened}
        ).status_code
        == 200
    )

    response = client.patch(
        f"/api/drafts/{draft_id}", json={"body": "Second save is stale.", "version": opened}
    )

    assert response.status_code == 409
    assert "changed since you opened it" in response.json()["detail"]
    data = draft_json(client, draft_id)
    assert data["revisions"][-1]["body"] == "First save wins."
    assert len(data["revisions"]) == 2


def test_approve_with_flags_needs_confirmation(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions, findings=[FLAG])

    refused = client.post(f"/api/drafts/{draft_id}/approve", json={})
    assert refused.status_code == 409
    assert "grounding flag" in refused.json()["detail"]
    assert draft_json(client, draft_id)["status"] == "pending"
    assert client.get("/api/outbox").json() == []

    approved = client.post(f"/api/drafts/{draft_id}/approve", json={"confirm_flags": True})
    assert approved.status_code == 200
    data = approved.json()
    assert data["status"] == "approved"
    assert data["approved_by"] == REVIEWER
    assert data["approved_revision"] == 1
    assert data["approved_hash"] == data["revisions"][0]["content_hash"]
    audit = client.get(f"/api/drafts/{draft_id}/audit").json()
    assert audit[-1]["detail"]["confirmed_flags"] == [FLAG.message]


def test_approve_twice_and_approve_stale_are_409(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions)
    opened = draft_json(client, draft_id)["version"]
    client.patch(f"/api/drafts/{draft_id}", json={"subject": "Changed meanwhile"})

    stale = client.post(f"/api/drafts/{draft_id}/approve", json={"version": opened})
    assert stale.status_code == 409
    assert draft_json(client, draft_id)["status"] == "pending"

    assert client.post(f"/api/drafts/{draft_id}/approve", json={}).status_code == 200
    again = client.post(f"/api/drafts/{draft_id}/approve", json={})
    assert again.status_code == 409
    assert "only pending drafts can be approved" in again.json()["detail"]
    assert len(client.get("/api/outbox").json()) == 1


def test_approve_refuses_unknown_fields(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions)
    response = client.post(f"/api/drafts/{draft_id}/approve", json={"confirm": True})
    assert response.status_code == 422
    assert draft_json(client, draft_id)["status"] == "pending"


def test_reject_records_the_reason_and_needs_one(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions)

    assert client.post(f"/api/drafts/{draft_id}/reject", json={"reason": ""}).status_code == 422
    blank = client.post(f"/api/drafts/{draft_id}/reject", json={"reason": "   "})
    assert blank.status_code == 409
    assert "needs a reason" in blank.json()["detail"]
    assert draft_json(client, draft_id)["status"] == "pending"

    response = client.post(f"/api/drafts/{draft_id}/reject", json={"reason": "Wrong person"})
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert response.json()["reject_reason"] == "Wrong person"
    assert client.post(f"/api/drafts/{draft_id}/approve", json={}).status_code == 409
    assert client.patch(f"/api/drafts/{draft_id}", json={"body": "Revive"}).status_code == 409


def test_send_writes_the_frozen_message_once(
    client: TestClient, sessions: sessionmaker[Session], outbox_dir: Path
) -> None:
    draft_id = make_draft(sessions)
    assert client.post(f"/api/drafts/{draft_id}/send").status_code == 409  # not approved
    assert eml_files(outbox_dir) == []
    client.post(f"/api/drafts/{draft_id}/approve", json={})

    response = client.post(f"/api/drafts/{draft_id}/send")

    assert response.status_code == 200
    sent = response.json()
    assert sent["status"] == "sent"
    assert sent["draft_id"] == draft_id
    assert sent["attempts"] == 1
    [eml] = eml_files(outbox_dir)
    assert sent["location"] == str(eml)
    assert eml.name == sent["message_id"].strip("<>").replace("@", "_") + ".eml"
    assert b"Laura Kim as CFO." in eml.read_bytes()
    assert b"[sig-acme-901]" not in eml.read_bytes()
    assert draft_json(client, draft_id)["status"] == "sent"

    again = client.post(f"/api/drafts/{draft_id}/send")
    assert again.status_code == 409
    assert len(eml_files(outbox_dir)) == 1

    [row] = client.get("/api/outbox").json()
    assert (row["draft_id"], row["status"], row["message_id"]) == (
        draft_id,
        "sent",
        sent["message_id"],
    )


def test_actions_run_off_the_event_loop(
    client: TestClient, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write endpoints are ``async``; the database work they start must still run in
    the thread pool, or one slow commit stalls every other request the desk is serving."""
    on_loop: dict[str, bool] = {}
    for name in ("edit", "approve", "send", "reject"):
        original = getattr(actions, name)

        def recorded(*args: Any, _name: str = name, _act: Any = original, **kwargs: Any) -> Any:
            try:
                asyncio.get_running_loop()
                on_loop[_name] = True
            except RuntimeError:
                on_loop[_name] = False
            return _act(*args, **kwargs)

        monkeypatch.setattr(actions, name, recorded)
    sent, rejected = make_draft(sessions), make_draft(sessions)

    assert client.patch(f"/api/drafts/{sent}", json={"body": "Hello again."}).status_code == 200
    assert client.post(f"/api/drafts/{sent}/approve", json={}).status_code == 200
    assert client.post(f"/api/drafts/{sent}/send").status_code == 200
    reject = client.post(f"/api/drafts/{rejected}/reject", json={"reason": "not now"})
    assert reject.status_code == 200

    assert on_loop == {"edit": False, "approve": False, "send": False, "reject": False}


def test_the_audit_endpoint_lists_the_trail(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions)
    client.post(f"/api/drafts/{draft_id}/approve", json={})
    client.patch(f"/api/drafts/{draft_id}", json={"subject": "New subject"})
    client.post(f"/api/drafts/{draft_id}/reject", json={"reason": "not now"})

    audit = client.get(f"/api/drafts/{draft_id}/audit").json()

    assert [(e["action"], e["actor"]) for e in audit] == [
        ("created", "samdesk:model"),
        ("approved", REVIEWER),
        ("unapproved", REVIEWER),
        ("edited", REVIEWER),
        ("rejected", REVIEWER),
    ]
    hashes = [r["content_hash"] for r in draft_json(client, draft_id)["revisions"]]
    assert audit[1]["revision_hash"] == hashes[0]
    assert audit[-1]["revision_hash"] == hashes[1]
    assert audit[-1]["detail"] == {"reason": "not now"}


def test_openapi_documents_the_draft_routes(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]

    assert set(paths) >= {
        "/api/drafts",
        "/api/drafts/{draft_id}",
        "/api/drafts/{draft_id}/approve",
        "/api/drafts/{draft_id}/reject",
        "/api/drafts/{draft_id}/send",
        "/api/drafts/{draft_id}/audit",
        "/api/outbox",
    }
    assert set(paths["/api/drafts/{draft_id}"]) >= {"get", "patch"}
    assert {"404", "409"} <= set(paths["/api/drafts/{draft_id}/approve"]["post"]["responses"])
    assert "502" in paths["/api/drafts/{draft_id}/send"]["post"]["responses"]
    assert {"DraftPublic", "DraftUpdate", "ApproveRequest"} <= set(schema["components"]["schemas"])
    assert not any(p == "/" or p.startswith("/drafts") for p in paths)  # pages stay out
