"""CSRF: every unsafe request from a browser session proves it came from a desk page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.approval_ui.conftest import REVIEWER, Desk, csrf_of, owned_draft

SignedIn = Callable[[str | None], TestClient]


@pytest.fixture
def bare(signed_in: SignedIn) -> TestClient:
    """Sarah signed in, but without the CSRF header the ``client`` fixture adds."""
    client = signed_in(REVIEWER)
    del client.headers["X-CSRF-Token"]
    return client


FORMS: list[tuple[str, dict[str, str]]] = [
    ("edit", {"subject": "Forged", "body": "Forged body.", "recipient": "evil@x.example"}),
    ("approve", {}),
    ("reject", {"reason": "forged"}),
    ("send", {}),
    ("regenerate", {"instruction": "shorter"}),
]


@pytest.mark.parametrize(("action", "form"), FORMS)
def test_a_form_post_without_the_token_is_refused_and_changes_nothing(
    bare: TestClient,
    sessions: sessionmaker[Session],
    desk: Desk,
    action: str,
    form: dict[str, str],
) -> None:
    draft_id = owned_draft(sessions)
    if action == "send":
        desk.approve(draft_id)
    before = desk.get(draft_id)

    response = bare.post(
        f"/drafts/{draft_id}/{action}",
        data={**form, "version": str(before.version)},
        follow_redirects=False,
    )

    assert response.status_code == 403
    assert "CSRF token" in response.text
    after = desk.get(draft_id)
    assert (after.status, after.version, len(after.revisions)) == (
        before.status,
        before.version,
        len(before.revisions),
    )


def test_a_form_post_with_a_wrong_token_is_refused(
    bare: TestClient, sessions: sessionmaker[Session], desk: Desk
) -> None:
    draft_id = owned_draft(sessions)
    response = bare.post(
        f"/drafts/{draft_id}/approve",
        data={"version": "1", "csrf_token": "x" * 43},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert desk.get(draft_id).status == "pending"


def test_the_form_field_from_the_page_is_accepted(
    bare: TestClient, sessions: sessionmaker[Session], desk: Desk
) -> None:
    draft_id = owned_draft(sessions)
    html = bare.get(f"/drafts/{draft_id}").text
    token = csrf_of(html)
    assert f'<input type="hidden" name="csrf_token" value="{token}">' in html

    response = bare.post(
        f"/drafts/{draft_id}/approve",
        data={"version": str(desk.get(draft_id).version), "csrf_token": token},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert desk.get(draft_id).status == "approved"


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("PATCH", "", {"body": "Forged through the API with a stolen cookie ride."}),
        ("POST", "/approve", {}),
        ("POST", "/reject", {"reason": "forged"}),
        ("POST", "/send", None),
    ],
)
def test_the_json_api_with_a_cookie_needs_the_header(
    bare: TestClient,
    sessions: sessionmaker[Session],
    desk: Desk,
    method: str,
    suffix: str,
    body: dict[str, Any] | None,
) -> None:
    draft_id = owned_draft(sessions)
    refused = bare.request(method, f"/api/drafts/{draft_id}{suffix}", json=body)
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert desk.get(draft_id).status == "pending"

    token = csrf_of(bare.get("/").text)
    allowed = bare.request(
        "POST", f"/api/drafts/{draft_id}/approve", json={}, headers={"X-CSRF-Token": token}
    )
    assert allowed.status_code == 200


def test_reads_need_no_token(bare: TestClient, sessions: sessionmaker[Session]) -> None:
    draft_id = owned_draft(sessions)
    assert bare.get(f"/api/drafts/{draft_id}").status_code == 200
    assert bare.get(f"/drafts/{draft_id}").status_code == 200


def test_sign_out_needs_the_token_too(bare: TestClient) -> None:
    assert bare.post("/logout", follow_redirects=False).status_code == 403
    assert bare.get("/api/me").status_code == 200  # still signed in


def test_each_session_has_its_own_token(
    signed_in: SignedIn, sessions: sessionmaker[Session]
) -> None:
    """A token from one browser is no good in another (it is bound to the session)."""
    draft_id = owned_draft(sessions)
    first, second = signed_in(REVIEWER), signed_in(REVIEWER)
    assert first.headers["X-CSRF-Token"] != second.headers["X-CSRF-Token"]
    second.headers["X-CSRF-Token"] = first.headers["X-CSRF-Token"]
    assert second.post(f"/api/drafts/{draft_id}/approve", json={}).status_code == 403


def test_the_login_form_is_protected_by_a_double_submit_cookie(anonymous: TestClient) -> None:
    """Login CSRF: a forged form would sign the victim in as the attacker."""
    response = anonymous.post(
        "/login",
        data={"email": REVIEWER, "password": "whatever-it-is", "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "sign-in form expired" in response.text
