"""API tokens for integrations: create, list, revoke; stored hashed; ``Authorization: Bearer``."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from samdesk.models import ApiToken
from tests.approval_ui.conftest import ADMIN, OTHER_SAM, REVIEWER, Desk, owned_draft

SignedIn = Callable[[str | None], TestClient]


def bearer(client: TestClient, secret: str) -> TestClient:
    """A fresh client that carries only the token: no cookie, no CSRF header."""
    return TestClient(client.app, headers={"Authorization": f"Bearer {secret}"})


def test_a_token_is_shown_once_and_stored_only_as_a_hash(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    created = client.post("/api/tokens", json={"name": "CRM sync"})

    assert created.status_code == 201
    secret = created.json()["token"]
    assert secret.startswith("sdk_") and len(secret) > 40
    with sessions() as session:
        [row] = session.scalars(select(ApiToken)).all()
        assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in (row.prefix + row.name + row.token_hash)
    [listed] = client.get("/api/tokens").json()
    assert "token" not in listed and listed["prefix"] == secret[:10]
    assert listed["name"] == "CRM sync" and listed["revoked_at"] is None


def test_a_bearer_token_acts_as_its_user_without_csrf(
    client: TestClient, sessions: sessionmaker[Session], desk: Desk
) -> None:
    mine = owned_draft(sessions)
    theirs = owned_draft(sessions, owner=OTHER_SAM, account_id="bluewater-logistics")
    secret = client.post("/api/tokens", json={"name": "script"}).json()["token"]
    robot = bearer(client, secret)

    assert robot.get("/api/me").json()["email"] == REVIEWER
    assert [d["id"] for d in robot.get("/api/drafts").json()] == [mine]
    assert robot.post(f"/api/drafts/{mine}/approve", json={}).status_code == 200
    assert robot.post(f"/api/drafts/{theirs}/approve", json={}).status_code == 403  # role holds
    assert desk.get(mine).approved_by == REVIEWER
    [token] = client.get("/api/tokens").json()
    assert token["last_used_at"] is not None


def test_a_revoked_token_is_refused(client: TestClient) -> None:
    issued = client.post("/api/tokens", json={"name": "leaked"}).json()
    robot = bearer(client, issued["token"])
    assert robot.get("/api/drafts").status_code == 200

    revoked = client.delete(f"/api/tokens/{issued['id']}")

    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    response = robot.get("/api/drafts")
    assert response.status_code == 401
    assert response.json() == {"detail": "unknown or revoked API token"}


def test_a_made_up_token_is_refused(anonymous: TestClient) -> None:
    robot = TestClient(anonymous.app, headers={"Authorization": "Bearer sdk_madeup"})
    assert robot.get("/api/drafts").status_code == 401


def test_users_see_and_revoke_only_their_own_tokens_admins_any(signed_in: SignedIn) -> None:
    sarah, marcus, admin = signed_in(REVIEWER), signed_in(OTHER_SAM), signed_in(ADMIN)
    sarahs = sarah.post("/api/tokens", json={"name": "sarah's"}).json()
    marcus.post("/api/tokens", json={"name": "marcus's"})

    assert [t["name"] for t in sarah.get("/api/tokens").json()] == ["sarah's"]
    assert marcus.delete(f"/api/tokens/{sarahs['id']}").status_code == 403
    assert sorted(t["name"] for t in admin.get("/api/tokens").json()) == ["marcus's", "sarah's"]
    assert admin.delete(f"/api/tokens/{sarahs['id']}").status_code == 200
    assert bearer(sarah, sarahs["token"]).get("/api/me").status_code == 401


def test_tokens_page_creates_shows_once_and_revokes(client: TestClient) -> None:
    page = client.post("/tokens", data={"name": "Zapier"}, follow_redirects=False)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    secret = page.text.split('<pre class="secret" id="new-token">')[1].split("</pre>")[0]
    assert secret.startswith("sdk_")
    listing = client.get("/tokens").text
    assert "Zapier" in listing and secret not in listing  # never shown again
    [token] = client.get("/api/tokens").json()

    revoked = client.post(f"/tokens/{token['id']}/revoke", follow_redirects=False)

    assert revoked.status_code == 303
    assert "revoked" in client.get("/tokens").text
    assert bearer(client, secret).get("/api/me").status_code == 401


def test_a_token_needs_a_name(client: TestClient) -> None:
    assert client.post("/api/tokens", json={"name": ""}).status_code == 422
    page = client.post("/tokens", data={"name": "   "})
    assert page.status_code == 422 and "needs a name" in page.text
