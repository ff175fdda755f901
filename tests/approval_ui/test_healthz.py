"""The liveness endpoint: answers without signing in and without touching the drafts."""

from __future__ import annotations

from fastapi.testclient import TestClient

from approval_ui.main import create_app
from samdesk.config import Settings


def test_healthz_answers_ok_without_a_session(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["X-Frame-Options"] == "DENY"  # the security headers still apply
