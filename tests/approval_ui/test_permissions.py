"""Every permission rule, from the page and from the API alike, over real HTTP sessions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.approval_ui.conftest import (
    ADMIN,
    MANAGER,
    OTHER_SAM,
    REVIEWER,
    Desk,
    eml_files,
    owned_draft,
)

SignedIn = Callable[[str | None], TestClient]


@pytest.fixture
def sarahs(sessions: sessionmaker[Session]) -> int:
    return owned_draft(sessions, owner=REVIEWER, account_id="acme-financial")


@pytest.fixture
def marcuss(sessions: sessionmaker[Session]) -> int:
    return owned_draft(
        sessions, owner=OTHER_SAM, account_id="bluewater-logistics", subject="Bluewater RFP"
    )


API_ACTIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "", None),
    ("PATCH", "", {"body": "Taking over this draft without asking."}),
    ("POST", "/approve", {}),
    ("POST", "/reject", {"reason": "not mine, but rejecting anyway"}),
    ("POST", "/send", None),
    ("POST", "/regenerate", {"instruction": "shorter"}),
    ("GET", "/audit", None),
    ("GET", "/audit.csv", None),
    ("GET", "/diff", None),
    ("GET", "/briefing.pdf", None),
]
PAGE_POSTS: list[tuple[str, dict[str, str]]] = [
    ("edit", {"subject": "Mine now", "body": "Mine now.", "recipient": "x@y.example"}),
    ("approve", {}),
    ("reject", {"reason": "not mine"}),
    ("send", {}),
    ("regenerate", {"instruction": "shorter"}),
]


@pytest.mark.parametrize(("method", "suffix", "body"), API_ACTIONS)
def test_a_sam_gets_403_from_the_api_for_another_sams_draft(
    client: TestClient,
    marcuss: int,
    desk: Desk,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    response = client.request(method, f"/api/drafts/{marcuss}{suffix}", json=body)

    assert response.status_code == 403
    assert response.json() == {"detail": f"draft {marcuss} belongs to another SAM's account"}
    draft = desk.get(marcuss)
    assert (draft.status, len(draft.revisions)) == ("pending", 1)


@pytest.mark.parametrize("path", ["", "/print"])
def test_a_sam_gets_403_from_the_pages_for_another_sams_draft(
    client: TestClient, marcuss: int, path: str
) -> None:
    page = client.get(f"/drafts/{marcuss}{path}")
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert "belongs to another SAM" in page.text
    assert "Bluewater RFP" not in page.text


@pytest.mark.parametrize(("action", "form"), PAGE_POSTS)
def test_a_sam_gets_403_from_every_form_on_another_sams_draft(
    client: TestClient, marcuss: int, desk: Desk, action: str, form: dict[str, str]
) -> None:
    version = str(desk.get(marcuss).version)
    response = client.post(
        f"/drafts/{marcuss}/{action}", data={**form, "version": version}, follow_redirects=False
    )
    assert response.status_code == 403
    assert "Bluewater RFP" not in response.text  # the error page does not show the draft
    draft = desk.get(marcuss)
    assert (draft.status, len(draft.revisions)) == ("pending", 1)


def test_a_sam_sees_only_their_accounts_in_queue_api_outbox_and_search(
    client: TestClient, sarahs: int, marcuss: int, desk: Desk
) -> None:
    desk.approve(marcuss, by=OTHER_SAM)
    desk.send(marcuss)

    assert [d["id"] for d in client.get("/api/drafts").json()] == [sarahs]
    assert [d["id"] for d in client.get("/api/drafts", params={"q": "Bluewater"}).json()] == []
    assert f'href="/drafts/{marcuss}"' not in client.get("/").text
    assert client.get("/api/outbox").json() == []
    assert f'href="/drafts/{marcuss}"' not in client.get("/outbox").text
    assert "bluewater" not in client.get("/api/audit.csv").text


def test_a_manager_sees_every_draft_and_can_act_on_any(
    signed_in: SignedIn, sarahs: int, marcuss: int, outbox_dir: Path
) -> None:
    dana = signed_in(MANAGER)
    assert sorted(d["id"] for d in dana.get("/api/drafts").json()) == sorted([sarahs, marcuss])
    queue = dana.get("/").text
    assert "Every SAM&#39;s drafts" in queue and "<th>Owner</th>" in queue
    assert dana.get(f"/drafts/{marcuss}").status_code == 200

    approved = dana.post(f"/api/drafts/{marcuss}/approve", json={})
    assert approved.status_code == 200
    assert approved.json()["approved_by"] == MANAGER
    assert dana.post(f"/api/drafts/{marcuss}/send").status_code == 200
    assert len(eml_files(outbox_dir)) == 1


def test_a_manager_reassigns_a_draft_and_ownership_follows(
    signed_in: SignedIn, client: TestClient, sarahs: int, desk: Desk
) -> None:
    dana, marcus = signed_in(MANAGER), signed_in(OTHER_SAM)
    assert marcus.get(f"/api/drafts/{sarahs}").status_code == 403

    moved = dana.post(f"/api/drafts/{sarahs}/reassign", json={"assignee": OTHER_SAM})

    assert moved.status_code == 200
    assert moved.json() == {"draft_ids": [sarahs], "assignee": OTHER_SAM}
    assert marcus.get(f"/api/drafts/{sarahs}").status_code == 200
    assert [d["id"] for d in marcus.get("/api/drafts").json()] == [sarahs]
    assert client.get(f"/api/drafts/{sarahs}").status_code == 403  # Sarah no longer owns it
    assert client.get("/api/drafts").json() == []
    assert marcus.post(f"/api/drafts/{sarahs}/approve", json={}).status_code == 200
    [event] = [e for e in desk.audit(sarahs) if e.action == "reassigned"]
    assert (event.actor, event.detail) == (MANAGER, {"from": REVIEWER, "to": OTHER_SAM})
    assert f"owner {OTHER_SAM}" in dana.get(f"/drafts/{sarahs}").text


def test_a_manager_reassigns_every_open_draft_of_an_account(
    signed_in: SignedIn, sessions: sessionmaker[Session], sarahs: int, desk: Desk
) -> None:
    second = owned_draft(sessions, owner=REVIEWER, account_id="acme-financial")
    closed = owned_draft(sessions, owner=REVIEWER, account_id="acme-financial")
    desk.reject(closed, "not now")
    dana = signed_in(MANAGER)

    moved = dana.post("/api/accounts/acme-financial/reassign", json={"assignee": OTHER_SAM})

    assert moved.json()["draft_ids"] == [sarahs, second]
    marcus = signed_in(OTHER_SAM)
    assert sorted(d["id"] for d in marcus.get("/api/drafts").json()) == [sarahs, second]


def test_reassignment_by_page_form(signed_in: SignedIn, sarahs: int) -> None:
    dana = signed_in(MANAGER)
    page = dana.get(f"/drafts/{sarahs}").text
    assert f'action="/drafts/{sarahs}/reassign"' in page
    assert f'<option value="{OTHER_SAM}"' in page

    response = dana.post(
        f"/drafts/{sarahs}/reassign", data={"assignee": OTHER_SAM}, follow_redirects=False
    )
    assert response.status_code == 303
    assert signed_in(OTHER_SAM).get(f"/drafts/{sarahs}").status_code == 200


@pytest.mark.parametrize("target", [MANAGER, "nobody@northwind.example", ADMIN])
def test_drafts_go_only_to_active_sams(signed_in: SignedIn, sarahs: int, target: str) -> None:
    response = signed_in(MANAGER).post(f"/api/drafts/{sarahs}/reassign", json={"assignee": target})
    assert response.status_code == 422
    assert "is not an active SAM" in response.json()["detail"]


def test_a_sam_cannot_reassign(client: TestClient, sarahs: int) -> None:
    response = client.post(f"/api/drafts/{sarahs}/reassign", json={"assignee": OTHER_SAM})
    assert response.status_code == 403
    assert "needs the manager or admin role" in response.json()["detail"]
    assert f'action="/drafts/{sarahs}/reassign"' not in client.get(f"/drafts/{sarahs}").text
    form = client.post(
        f"/drafts/{sarahs}/reassign", data={"assignee": OTHER_SAM}, follow_redirects=False
    )
    assert form.status_code == 403


@pytest.mark.parametrize("who", [REVIEWER, MANAGER])
@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/users", None),
        ("POST", "/api/users", {"email": "x@northwind.example", "name": "X", "password": "p" * 12}),
        ("PATCH", "/api/users/1", {"role": "admin"}),
        ("GET", "/users", None),
    ],
)
def test_only_admins_manage_users(
    signed_in: SignedIn, who: str, method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = signed_in(who).request(method, path, json=body)
    assert response.status_code == 403
    assert signed_in(ADMIN).get("/api/users").status_code == 200


def test_an_admin_sees_all_drafts(signed_in: SignedIn, sarahs: int, marcuss: int) -> None:
    ids = {d["id"] for d in signed_in(ADMIN).get("/api/drafts").json()}
    assert ids == {sarahs, marcuss}


@pytest.mark.parametrize(
    "path",
    ["/api/drafts", "/api/drafts/1", "/api/outbox", "/api/stats", "/api/audit.csv", "/api/me"],
)
def test_the_api_needs_a_session_or_token(anonymous: TestClient, path: str) -> None:
    response = anonymous.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "sign in to use the desk"}


@pytest.mark.parametrize("path", ["/", "/drafts/1", "/outbox", "/stats", "/tokens", "/users"])
def test_pages_send_a_stranger_to_the_login_form(anonymous: TestClient, path: str) -> None:
    response = anonymous.get(path, params={"status": "pending"}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_anonymous_actions_change_nothing(anonymous: TestClient, sarahs: int, desk: Desk) -> None:
    assert anonymous.post(f"/api/drafts/{sarahs}/approve", json={}).status_code == 401
    form = anonymous.post(
        f"/drafts/{sarahs}/approve", data={"version": "1"}, follow_redirects=False
    )
    assert form.status_code == 303
    assert form.headers["location"] == f"/login?next=/drafts/{sarahs}"  # back to the draft
    assert desk.get(sarahs).status == "pending"
