"""A reviewer's edit is grounding-checked like the model's text, through both doors.

The drafts sit on the real Acme plan and the source the factory cites (Laura Kim named
CFO); the checks are the real ones. Assertions name the flags they expect (errors), so a
source going stale with the calendar (a warning) changes nothing here.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agent.grounding import Finding
from approval_ui.draft_inputs import UNCHECKED
from samdesk.db import transaction
from samdesk.models import AuditEvent, Draft
from tests.approval_ui.conftest import acme_plan_draft
from tests.approval_ui.test_page_forms import edit_form
from tests.approval_ui.test_pages import api

GROUNDED = "Hi Robert, congratulations on welcoming Laura Kim as CFO [sig-acme-901]."
WAIVED = f"{GROUNDED} We will waive the renewal fee for you."
WAIVER_FLAG = Finding(
    "commitment", "commits to pricing or terms; only the SAM can offer these", "waive"
)


def errors(draft: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["code"], f["excerpt"]) for f in draft["findings"] if f["severity"] == "error"]


def edited_event(sessions: sessionmaker[Session], draft_id: int) -> dict[str, Any]:
    with sessions() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.draft_id == draft_id, AuditEvent.action == "edited")
        )
        [event] = events
        return event.detail


def test_deleting_the_flagged_sentence_clears_the_flag_so_approval_needs_no_confirmation(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = acme_plan_draft(sessions, body=WAIVED, findings=[WAIVER_FLAG])
    assert errors(api(client, draft_id)) == [("commitment", "waive")]
    version = api(client, draft_id)["version"]

    edited = client.patch(f"/api/drafts/{draft_id}", json={"body": GROUNDED, "version": version})

    assert edited.status_code == 200, edited.text
    assert errors(edited.json()) == []
    approved = client.post(f"/api/drafts/{draft_id}/approve", json={})
    assert approved.status_code == 200, approved.text
    assert edited_event(sessions, draft_id) == {
        "revision": 2,
        "resolved_flags": [WAIVER_FLAG.message],
    }


def test_a_waiver_typed_into_the_edit_form_is_flagged_and_approval_needs_confirmation(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = acme_plan_draft(sessions, body=GROUNDED)
    draft = api(client, draft_id)
    assert errors(draft) == []

    response = client.post(
        f"/drafts/{draft_id}/edit",
        data=edit_form(
            draft["version"],
            subject=draft["revisions"][0]["subject"],
            body=WAIVED,
            recipient=draft["revisions"][0]["recipient"],
        ),
    )

    assert response.status_code == 200, response.text
    assert "Grounding flags (1)" in response.text and WAIVER_FLAG.message in response.text
    assert errors(api(client, draft_id)) == [("commitment", "waive")]
    refused = client.post(f"/api/drafts/{draft_id}/approve", json={})
    assert refused.status_code == 409 and "grounding flag" in refused.json()["detail"]
    assert edited_event(sessions, draft_id) == {"revision": 2, "new_flags": [WAIVER_FLAG.message]}


def test_an_edit_that_cannot_be_rechecked_still_saves_and_says_its_flags_are_old(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = acme_plan_draft(sessions, body=WAIVED, findings=[WAIVER_FLAG])
    with transaction(sessions) as session:
        session.get_one(Draft, draft_id).prompt_version = "v0"  # since removed from prompts/
    version = api(client, draft_id)["version"]

    edited = client.patch(f"/api/drafts/{draft_id}", json={"body": GROUNDED, "version": version})

    assert edited.status_code == 200, edited.text
    data = edited.json()
    assert data["revisions"][-1]["body"] == GROUNDED
    assert errors(data) == [("commitment", "waive")]
    [warning] = [f for f in data["findings"] if f["code"] == UNCHECKED]
    assert "prompt 'outreach@v0' not found" in warning["message"]
    again = client.patch(
        f"/api/drafts/{draft_id}", json={"body": WAIVED, "version": data["version"]}
    )
    assert [f["code"] for f in again.json()["findings"]].count(UNCHECKED) == 1
