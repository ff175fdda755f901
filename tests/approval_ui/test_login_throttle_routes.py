"""Sign-in throttling through the real app: 429, ``Retry-After`` and the page's message."""

from __future__ import annotations

import re
from typing import Any, Protocol

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from approval_ui.auth import SESSION_COOKIE
from approval_ui.login_throttle import LoginThrottle
from tests.approval_ui.conftest import OTHER_SAM, PASSWORD, REVIEWER
from tests.approval_ui.test_login_throttle import Clock

WRONG = "not the password"
LOCKED_ACCOUNT = "Too many failed sign-ins for this account; try again in 15 minutes."
LOCKED_ADDRESS = "Too many failed sign-ins from this address; try again in 15 minutes."


class Answer(Protocol):
    """The test client's response (``httpx``'s, or ``httpx2``'s where that is installed)."""

    @property
    def status_code(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def headers(self) -> Any: ...


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    """Replaces the app's throttle (default limits: 5 per email, 20 per address, 15 min)
    with one on a clock the test moves."""
    clock = Clock()
    app.state.login_throttle = LoginThrottle.from_settings(app.state.settings, clock=clock)
    return clock


def browser(app: FastAPI, address: str = "203.0.113.7") -> TestClient:
    return TestClient(app, client=(address, 50000))


def sign_in(client: TestClient, email: str, password: str) -> Answer:
    """Post the real login form (with its double-submit CSRF token) once."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert match, "the login form carries no CSRF token"
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": match.group(1), "next": "/"},
        follow_redirects=False,
    )


def fail(client: TestClient, email: str, times: int) -> None:
    for _ in range(times):
        response = sign_in(client, email, WRONG)
        assert response.status_code == 401, response.text
        assert "wrong email or password" in response.text


def assert_signed_in(response: Answer) -> None:
    assert response.status_code == 303, response.text
    assert any(SESSION_COOKIE in c for c in response.headers.get_list("set-cookie"))


def assert_locked(response: Answer, message: str = LOCKED_ACCOUNT) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["retry-after"] == "900"
    assert message in response.text
    assert 'role="alert"' in response.text and 'action="/login"' in response.text
    assert not any(SESSION_COOKIE in c for c in response.headers.get_list("set-cookie"))


def test_the_sixth_attempt_is_refused_even_with_the_right_password(
    app: FastAPI, clock: Clock
) -> None:
    client = browser(app)
    fail(client, REVIEWER, 5)
    assert_locked(sign_in(client, REVIEWER, PASSWORD))
    assert_locked(sign_in(browser(app, "198.51.100.20"), REVIEWER.upper(), PASSWORD))
    assert client.get("/api/me").status_code == 401


def test_another_account_is_unaffected(app: FastAPI, clock: Clock) -> None:
    client = browser(app)
    fail(client, REVIEWER, 5)
    assert_locked(sign_in(client, REVIEWER, PASSWORD))
    assert_signed_in(sign_in(client, OTHER_SAM, PASSWORD))


def test_after_the_window_the_right_password_works(app: FastAPI, clock: Clock) -> None:
    client = browser(app)
    fail(client, REVIEWER, 5)
    clock.advance(899)
    response = sign_in(client, REVIEWER, PASSWORD)
    assert response.status_code == 429 and response.headers["retry-after"] == "1"
    assert "try again in 1 minute." in response.text
    clock.advance(1)
    assert_signed_in(sign_in(client, REVIEWER, PASSWORD))
    assert client.get("/api/me").json()["email"] == REVIEWER


def test_a_successful_sign_in_resets_the_count(app: FastAPI, clock: Clock) -> None:
    client = browser(app)
    fail(client, REVIEWER, 4)
    assert_signed_in(sign_in(browser(app), REVIEWER, PASSWORD))
    fail(client, REVIEWER, 5)  # would be locked at the fifth had the four stayed counted
    assert_locked(sign_in(client, REVIEWER, PASSWORD))


def test_an_unknown_email_is_locked_out_the_same_way(app: FastAPI, clock: Clock) -> None:
    """The answers do not tell whether the account exists."""
    answers: list[tuple[int, str]] = []
    for email in (REVIEWER, "nobody@northwind.example"):
        client = browser(app, f"198.51.100.{len(answers) + 1}")
        fail(client, email, 5)
        response = sign_in(client, email, PASSWORD)
        assert_locked(response)
        answers.append((response.status_code, response.headers["retry-after"]))
    assert answers[0] == answers[1]


def test_too_many_failures_from_one_address_lock_it(app: FastAPI, clock: Clock) -> None:
    client = browser(app)
    for n in range(20):
        fail(client, f"guess{n}@northwind.example", 1)
    assert_locked(sign_in(client, OTHER_SAM, PASSWORD), LOCKED_ADDRESS)
    assert_signed_in(sign_in(browser(app, "198.51.100.99"), OTHER_SAM, PASSWORD))
    clock.advance(900)
    assert_signed_in(sign_in(client, OTHER_SAM, PASSWORD))


def test_a_failed_csrf_check_is_not_counted(app: FastAPI, clock: Clock) -> None:
    client = browser(app)
    client.get("/login")
    for _ in range(10):
        response = client.post(
            "/login", data={"email": REVIEWER, "password": WRONG, "csrf_token": "forged"}
        )
        assert response.status_code == 403
    assert_signed_in(sign_in(client, REVIEWER, PASSWORD))


def test_the_desk_throttles_sign_ins_by_default(app: FastAPI) -> None:
    """The app builds its own throttle from the settings (no test clock)."""
    client = browser(app)
    fail(client, REVIEWER, 5)
    response = sign_in(client, REVIEWER, PASSWORD)
    assert response.status_code == 429
    assert 0 < int(response.headers["retry-after"]) <= 900
