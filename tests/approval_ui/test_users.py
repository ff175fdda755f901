"""Admins manage users through the API and the page; nobody locks themselves out."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.approval_ui.conftest import ADMIN, REVIEWER, login

SignedIn = Callable[[str | None], TestClient]
NEW = {"email": "Priya.Raman@northwind.example", "name": "Priya Raman", "password": "p" * 12}


def test_an_admin_adds_a_sam_who_can_then_sign_in(signed_in: SignedIn) -> None:
    admin = signed_in(ADMIN)

    created = admin.post("/api/users", json={**NEW, "role": "sam"})

    assert created.status_code == 201
    assert created.json()["email"] == "priya.raman@northwind.example"
    assert "password" not in created.json() and "password_hash" not in created.json()
    priya = signed_in(None)
    login(priya, "priya.raman@northwind.example", "p" * 12)
    assert priya.get("/api/me").json()["role"] == "sam"
    assert admin.post("/api/users", json={**NEW, "role": "sam"}).status_code == 422  # duplicate


def test_an_admin_changes_a_role_and_deactivates(signed_in: SignedIn) -> None:
    admin, sarah = signed_in(ADMIN), signed_in(REVIEWER)
    sarah_id = sarah.get("/api/me").json()["id"]

    promoted = admin.patch(f"/api/users/{sarah_id}", json={"role": "manager"})
    assert promoted.json()["role"] == "manager"
    assert sarah.get("/api/me").json()["role"] == "manager"  # takes effect at once

    assert admin.patch(f"/api/users/{sarah_id}", json={"active": False}).status_code == 200
    assert sarah.get("/api/me").status_code == 401


def test_an_admin_cannot_lock_themselves_out(signed_in: SignedIn) -> None:
    admin = signed_in(ADMIN)
    me = admin.get("/api/me").json()["id"]
    for change in ({"role": "sam"}, {"active": False}):
        response = admin.patch(f"/api/users/{me}", json=change)
        assert response.status_code == 422
        assert "your own admin access" in response.json()["detail"]
    assert admin.get("/api/me").json()["role"] == "admin"


def test_the_users_page_adds_and_changes_users(signed_in: SignedIn) -> None:
    admin = signed_in(ADMIN)
    assert "Users" in admin.get("/").text  # the nav shows the link to admins only
    assert 'href="/users"' not in signed_in(REVIEWER).get("/").text

    added = admin.post("/users", data={**NEW, "role": "sam"}, follow_redirects=False)
    assert added.status_code == 303
    page = admin.get(added.headers["location"]).text
    assert "Added Priya.Raman@northwind.example." in page
    assert "priya.raman@northwind.example" in page

    bad = admin.post(
        "/users", data={**NEW, "role": "sam", "email": "x@y.example", "password": "short"}
    )
    assert bad.status_code == 422 and "at least 10 characters" in bad.text
    me = admin.get("/api/me").json()["id"]
    locked = admin.post(f"/users/{me}", data={"role": "sam", "active": "true"})
    assert locked.status_code == 422 and "your own admin access" in locked.text
