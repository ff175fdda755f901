"""A reviewer's edit is grounding-checked like the model's text, through both doors.

The drafts sit on the real Acme plan and cite the factory's source (Laura Kim named CFO);
the checks are the real ones. The model's flags go away with their text and stay with it;
what the reviewer types in is shown, as a warning, and never blocks the approval.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agent.grounding import Finding
from approval_ui.draft_inputs import UNCHECKED
from samdesk.config import Settings
from samdesk.db import transaction
from samdesk.models import AuditEvent, Draft
from tests.approval_ui.conftest import acme_plan_draft
from tests.approval_ui.test_page_forms import edit_form
from tests.approval_ui.test_pages import api
from tests.conftest import make_settings

CONGRATULATIONS = "Hi Robert, congratulations on welcoming Laura Kim as CFO [sig-acme-901]."
WAIVER = "We will waive the renewal fee for you."
SIGNATURE = "\n\nCould we meet next week?\n\nBest regards,\nSarah Chen"
GROUNDED = f"{CONGRATULATIONS}{SIGNATURE}"
WAIVED = f"{CONGRATULATIONS} {WAIVER}{SIGNATURE}"
WAIVER_FLAG = Finding(
    "commitment", "commits to pricing or terms; only the SAM can offer these", "waive"
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The source (2026-11-03) never turns stale here, whatever the calendar says."""
    return make_settings(tmp_path / "data", stale_after_days=36_500)


def findings(draft: dict[str, Any], severity: str) -> list[tuple[str, str]]:
    return [(f["code"], f["excerpt"]) for f in draft["findings"] if f["severity"] == severity]


def edited_event(sessions: sessionmaker[Session], draft_id: int) -> dict[str, Any]:
    with sessions() as session:
        [event] = session.scalars(
            select(AuditEvent).where(AuditEvent.draft_id == draft_id, AuditEvent.action == "edited")
        )
        return event.detail


def patch(client: TestClient, draft_id: int, **changes: str) -> dict[str, Any]:
    version = api(client, draft_id)["version"]
    response = client.patch(f"/api/drafts/{draft_id}", json={**changes, "version": version})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def test_deleting_the_flagged_sentence_clears_the_flag_so_approval_needs_no_confirmation(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = acme_plan_draft(sessions, body=WAIVED, findings=[WAIVER_FLAG])
    assert findings(api(client, draft_id), "error") == [("commitment", "waive")]

    edited = patch(client, draft_id, body=GROUNDED)

    assert edited["findings"] == []
    approved = client.post(f"/api/drafts/{draft_id}/approve", json={})
    assert approved.status_code == 200, approved.text
    assert edited_event(sessions, draft_id) == {
        "revision": 2,
        "resolved_flags": [WAIVER_FLAG.message],
    }


def test_the_models_flag_stays_an_error_when_the_edit_leaves_its_text(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = acme_plan_draft(sessions, body=WAIVED, findings=[WAIVER_FLAG])

    edited = patch(client, draft_id, subject="Welcome, Laura Kim", body=f"{WAIVED}\n\nBest,")

    assert findings(edited, "error") == [("commitment", "waive")]
    refused = client.post(f"/api/drafts/{draft_id}/approve", json={})
    assert refused.status_code == 409 and "grounding flag" in refused.json()["detail"]
    assert edited_event(sessions, draft_id) == {"revision": 2}


def test_a_flag_a_newer_check_finds_in_the_models_own_text_stays_an_error(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    """Drafted before the check existed: the waiver is still the model's, not the reviewer's."""
    draft_id = acme_plan_draft(sessions, body=WAIVED, findings=[])

    edited = patch(client, draft_id, body=f"{WAIVED}\n\nBest,")

    assert findings(edited, "error") == [("commitment", "waive")]
    refused = client.post(f"/api/drafts/{draft_id}/approve", json={})
    assert refused.status_code == 409 and "grounding flag" in refused.json()["detail"]


def test_what_the_reviewer_types_in_is_a_warning_shown_on_the_page_not_a_blocker(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = acme_plan_draft(sessions, body=GROUNDED)
    draft = api(client, draft_id)
    own_words = (
        f"{CONGRATULATIONS} {WAIVER} My colleague Mike Turner can join us on 2026-12-15.{SIGNATURE}"
    )

    response = client.post(
        f"/drafts/{draft_id}/edit",
        data=edit_form(
            draft["version"],
            subject=draft["revisions"][0]["subject"],
            body=own_words,
            recipient=draft["revisions"][0]["recipient"],
        ),
    )

    assert response.status_code == 200, response.text
    data = api(client, draft_id)
    assert findings(data, "error") == []
    assert sorted(findings(data, "warning")) == [
        ("commitment", "waive"),
        ("unsupported_date", "2026-12-15"),
        ("unsupported_name", "Mike Turner"),
    ]
    assert all(f["message"].endswith("(written in an edit)") for f in data["findings"])
    assert "Grounding flags" not in response.text
    assert f"{WAIVER_FLAG.message} (written in an edit)" in response.text
    assert edited_event(sessions, draft_id)["new_findings"] == [
        f["message"] for f in data["findings"]
    ]
    approved = client.post(f"/api/drafts/{draft_id}/approve", json={})
    assert approved.status_code == 200, approved.text


def test_a_greeting_is_checked_against_the_recipient_the_reviewer_chose(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = acme_plan_draft(sessions, body=GROUNDED)  # to Robert Ainsley
    to_james = GROUNDED.replace("Hi Robert,", "Hi James,")

    greeted = patch(client, draft_id, body=to_james)
    assert findings(greeted, "warning") == [("wrong_greeting", "Hi James,")]

    readdressed = patch(
        client, draft_id, recipient="James Okoro <james.okoro@acmefinancial.example>"
    )
    assert readdressed["findings"] == []


def test_an_edit_that_cannot_be_rechecked_still_saves_and_says_its_flags_are_old(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = acme_plan_draft(sessions, body=WAIVED, findings=[WAIVER_FLAG])
    with transaction(sessions) as session:
        session.get_one(Draft, draft_id).prompt_version = "v0"  # since removed from prompts/

    edited = patch(client, draft_id, body=GROUNDED)

    assert edited["revisions"][-1]["body"] == GROUNDED
    assert findings(edited, "error") == [("commitment", "waive")]
    [warning] = [f for f in edited["findings"] if f["code"] == UNCHECKED]
    assert "prompt 'outreach@v0' not found" in warning["message"]
    again = patch(client, draft_id, body=WAIVED)
    assert [f["code"] for f in again["findings"]].count(UNCHECKED) == 1
