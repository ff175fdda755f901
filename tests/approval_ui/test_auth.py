"""Passwords (argon2), sessions and sign-in, over HTTP and at the storage layer."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from approval_ui import auth, users
from approval_ui.permissions import NotAuthenticatedError
from approval_ui.routes.session import safe_next
from samdesk.db import transaction
from samdesk.models import User, WebSession, utcnow
from tests.approval_ui.conftest import PASSWORD, REVIEWER, login

SignedIn = Callable[[str | None], TestClient]


def login_form(client: TestClient) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert match
    return match.group(1)


def test_passwords_are_stored_as_argon2id_hashes(
    sessions: sessionmaker[Session], app: object
) -> None:
    with sessions() as session:
        user = session.scalars(select(User).where(User.email == REVIEWER)).one()
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash


def test_sign_in_sets_an_httponly_session_cookie_and_lands_on_next(anonymous: TestClient) -> None:
    token = login_form(anonymous)
    response = anonymous.post(
        "/login",
        data={"email": REVIEWER, "password": PASSWORD, "csrf_token": token, "next": "/outbox"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/outbox"
    cookie = next(c for c in response.headers.get_list("set-cookie") if "samdesk_session" in c)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert anonymous.get("/api/me").json()["email"] == REVIEWER


@pytest.mark.parametrize(
    ("email", "password"),
    [(REVIEWER, "wrong password!"), ("nobody@northwind.example", PASSWORD)],
)
def test_a_wrong_email_or_password_gets_the_same_answer(
    anonymous: TestClient, email: str, password: str
) -> None:
    token = login_form(anonymous)
    response = anonymous.post(
        "/login", data={"email": email, "password": password, "csrf_token": token}
    )
    assert response.status_code == 401
    assert "wrong email or password" in response.text
    assert anonymous.get("/api/me").status_code == 401


def test_a_refused_sign_in_keeps_the_email_and_never_the_password(anonymous: TestClient) -> None:
    typed = 'sarah.chen@northwind.example"><script>x()</script>'
    response = anonymous.post(
        "/login",
        data={"email": typed, "password": "secret guess", "csrf_token": login_form(anonymous)},
    )
    assert response.status_code == 401
    form = response.text
    assert 'value="sarah.chen@northwind.example&#34;&gt;&lt;script&gt;x()&lt;/script&gt;"' in form
    assert "<script>x()" not in form and "secret guess" not in form
    assert 'type="password" autocomplete="current-password" required autofocus' in form


def test_sign_out_ends_the_session_on_the_server(signed_in: SignedIn) -> None:
    client = signed_in(REVIEWER)
    cookie = client.cookies.get(auth.SESSION_COOKIE)
    assert cookie

    response = client.post("/logout", follow_redirects=False)

    assert response.status_code == 303 and response.headers["location"] == "/login"
    replay = TestClient(client.app, cookies={auth.SESSION_COOKIE: cookie})
    assert replay.get("/api/me").status_code == 401  # a copied cookie is dead too


def test_a_deactivated_user_is_signed_out_at_once(
    signed_in: SignedIn, sessions: sessionmaker[Session]
) -> None:
    client = signed_in(REVIEWER)
    with transaction(sessions) as session:
        users.update_user(session, users.user_by_email(session, REVIEWER), active=False)

    assert client.get("/api/me").status_code == 401
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")
    again = TestClient(client.app)
    token = login_form(again)
    refused = again.post(
        "/login", data={"email": REVIEWER, "password": PASSWORD, "csrf_token": token}
    )
    assert refused.status_code == 401


def test_sessions_expire(sessions: sessionmaker[Session], app: object) -> None:
    with transaction(sessions) as session:
        token = auth.start_session(session, users.user_by_email(session, REVIEWER))
    with sessions() as session:
        assert auth.session_user(session, token).email == REVIEWER
        later = utcnow() + auth.SESSION_TTL + timedelta(seconds=1)
        with pytest.raises(NotAuthenticatedError, match="expired"):
            auth.session_user(session, token, now=later)
        stored = session.scalars(select(WebSession)).all()
        assert token not in {s.token_hash for s in stored}  # only the SHA-256 is kept


def test_emails_are_case_insensitive_at_sign_in(signed_in: SignedIn, anonymous: TestClient) -> None:
    login(anonymous, REVIEWER.upper())
    assert anonymous.get("/api/me").json()["email"] == REVIEWER


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/drafts/3?notice=x", "/drafts/3?notice=x"),
        ("//evil.example/phish", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        (None, "/"),
    ],
)
def test_after_sign_in_only_local_paths_are_followed(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_the_login_page_tells_a_fresh_desk_how_to_add_the_first_user(
    settings: object, sessions: sessionmaker[Session], folder_sender: object
) -> None:
    from approval_ui.main import create_app

    with TestClient(create_app(settings, sender=folder_sender)) as client:  # type: ignore[arg-type]
        page = client.get("/login")
    assert "samdesk users add" in page.text


def test_short_passwords_unknown_roles_and_duplicates_are_refused(
    sessions: sessionmaker[Session], app: object
) -> None:
    with transaction(sessions) as session:
        for kwargs, message in (
            ({"password": "short"}, "at least 10 characters"),
            ({"role": "boss"}, "not one of sam, manager, admin"),
            ({"email": REVIEWER}, "already exists"),
            ({"email": "not-an-email"}, "is not an email address"),
        ):
            args = {"email": "new@northwind.example", "name": "New", "role": "sam"}
            args |= {"password": "long enough password", **kwargs}
            with pytest.raises(Exception, match=message):
                users.create_user(session, **args)


def test_demo_users_are_seeded_only_into_an_empty_desk(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        seeded = users.seed_demo_users(session)
    assert {u.email for u in seeded} >= {
        "sarah.chen@northwind.example",
        "marcus.okafor@northwind.example",
        "priya.raman@northwind.example",
    }
    assert {u.role for u in seeded} == {"sam", "manager", "admin"}
    with transaction(sessions) as session:
        assert users.seed_demo_users(session) == []
        assert auth.authenticate(session, REVIEWER, users.DEMO_PASSWORD).email == REVIEWER
