"""Try again: a failed draft is drafted anew from its sources, by a person's request."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from agent.drafting import Drafter
from agent.llm import ChatMessage, Completion, ScriptedChatModel
from approval_ui.deps import get_drafter
from retrieval.index import VectorIndex
from samdesk.errors import ModelUnavailableError
from tests.approval_ui.conftest import OTHER_SAM, REVIEWER, Desk, acme_plan_draft

BROKEN = "model reply broke the schema: field 'subject': String should have at most 200 characters"
USABLE: dict[str, Any] = {
    "subject": "Welcoming Laura Kim",
    "body": "Hi Robert, congratulations on Laura Kim joining as CFO [sig-acme-901]. "
    "Could we meet for 30 minutes?\n\nBest regards,\nSarah Chen",
    "citations": ["sig-acme-901"],
}


class DownModel(ScriptedChatModel):
    """A model server that stopped answering: every call ends as the retry policy's last."""

    def complete(
        self, messages: list[ChatMessage], *, schema: Any = None, seed: int | None = None
    ) -> Completion:
        self.requests.append(messages)
        raise ModelUnavailableError("the model timed out after 3 attempts over 360 s")


pytestmark = pytest.mark.usefixtures("with_drafter")


def failed_draft(sessions: sessionmaker[Session]) -> int:
    return acme_plan_draft(sessions, failed=BROKEN)


def test_a_usable_reply_makes_the_failed_draft_pending_with_the_models_revision(
    client: TestClient, sessions: sessionmaker[Session], model: ScriptedChatModel, desk: Desk
) -> None:
    draft_id = failed_draft(sessions)
    model._replies.append(json.dumps(USABLE))
    version = desk.get(draft_id).version

    response = client.post(f"/api/drafts/{draft_id}/retry", json={"version": version})

    assert response.status_code == 200, response.text
    data = response.json()
    assert (data["status"], data["failure_reason"]) == ("pending", None)
    [revision] = data["revisions"]
    assert (revision["subject"], revision["body"]) == (USABLE["subject"], USABLE["body"])
    assert revision["author"] == "samdesk:model"
    assert revision["note"] == f"drafted again at {REVIEWER}'s request"
    # The same recipient the first draft would have had: the news is the new CFO.
    assert revision["recipient"] == "Robert Ainsley <robert.ainsley@acmefinancial.example>"
    draft = desk.get(draft_id)
    assert draft.expires_at is not None and draft.model == "scripted-model"
    assert draft.version > version
    [event] = [e for e in desk.audit(draft_id) if e.action == "retried"]
    assert (event.actor, event.detail["revision"]) == (REVIEWER, 1)
    assert event.revision_hash == revision["content_hash"]


def test_the_model_is_asked_with_the_drafts_own_prompt_and_sources(
    client: TestClient, sessions: sessionmaker[Session], model: ScriptedChatModel
) -> None:
    draft_id = failed_draft(sessions)
    model._replies.append(json.dumps(USABLE))

    client.post(f"/api/drafts/{draft_id}/retry", json={})

    [messages] = model.requests
    assert [m.role for m in messages] == ["system", "user"]
    assert "Sarah Chen" in messages[0].content
    assert '<source id="sig-acme-901"' in messages[1].content


def test_the_retried_text_is_grounding_checked_and_a_flag_needs_confirmation(
    client: TestClient, sessions: sessionmaker[Session], model: ScriptedChatModel
) -> None:
    draft_id = failed_draft(sessions)
    invented = {**USABLE, "body": USABLE["body"].replace("joining as CFO", "growing 42%")}
    model._replies.append(json.dumps(invented))

    data = client.post(f"/api/drafts/{draft_id}/retry", json={}).json()

    assert ("unsupported_number", "42%") in [(f["code"], f["excerpt"]) for f in data["findings"]]
    refused = client.post(f"/api/drafts/{draft_id}/approve", json={})
    assert refused.status_code == 409 and "confirm" in refused.json()["detail"]


def test_failing_again_keeps_it_failed_with_the_new_reason(
    client: TestClient, sessions: sessionmaker[Session], model: ScriptedChatModel, desk: Desk
) -> None:
    draft_id = failed_draft(sessions)
    model._replies.extend(["not json", "still not json"])
    version = desk.get(draft_id).version

    data = client.post(f"/api/drafts/{draft_id}/retry", json={}).json()

    assert data["status"] == "failed" and data["revisions"] == []
    assert data["failure_reason"] != BROKEN and "after 2 attempts" in data["failure_reason"]
    assert desk.get(draft_id).version > version  # a stale page learns that it changed
    [event] = [e for e in desk.audit(draft_id) if e.actor == REVIEWER]
    assert (event.action, event.detail["retry"]) == ("failed", True)


def test_a_model_that_does_not_answer_changes_nothing(
    app: FastAPI,
    client: TestClient,
    sessions: sessionmaker[Session],
    desk: Desk,
    index: VectorIndex,
) -> None:
    draft_id = failed_draft(sessions)
    drafter = Drafter(DownModel([]), index)
    app.dependency_overrides[get_drafter] = lambda: lambda: drafter
    before = desk.get(draft_id).version

    response = client.post(f"/api/drafts/{draft_id}/retry", json={})

    assert response.status_code == 503
    assert "timed out" in response.json()["detail"]
    draft = desk.get(draft_id)
    assert (draft.status, draft.failure_reason, draft.version) == ("failed", BROKEN, before)
    assert [e.action for e in desk.audit(draft_id)] == ["failed"]


def test_only_a_failed_draft_can_be_retried(
    client: TestClient, sessions: sessionmaker[Session], model: ScriptedChatModel, desk: Desk
) -> None:
    draft_id = acme_plan_draft(sessions)

    response = client.post(f"/api/drafts/{draft_id}/retry", json={})

    assert response.status_code == 409
    assert "only a failed draft can be retried" in response.json()["detail"]
    assert model.requests == [] and len(desk.get(draft_id).revisions) == 1


def test_a_stale_version_is_refused_before_the_model_is_asked(
    client: TestClient, sessions: sessionmaker[Session], model: ScriptedChatModel, desk: Desk
) -> None:
    draft_id = failed_draft(sessions)
    stale = desk.get(draft_id).version - 1

    response = client.post(f"/api/drafts/{draft_id}/retry", json={"version": stale})

    assert response.status_code == 409
    assert model.requests == [] and desk.get(draft_id).status == "failed"


def test_another_sams_failed_draft_cannot_be_retried(
    signed_in: Callable[[str | None], TestClient],
    sessions: sessionmaker[Session],
    model: ScriptedChatModel,
) -> None:
    draft_id = failed_draft(sessions)
    model._replies.append(json.dumps(USABLE))

    response = signed_in(OTHER_SAM).post(f"/api/drafts/{draft_id}/retry", json={})

    assert response.status_code == 403
    assert model.requests == []


def test_try_again_from_the_failed_drafts_page(
    client: TestClient, sessions: sessionmaker[Session], model: ScriptedChatModel, desk: Desk
) -> None:
    draft_id = failed_draft(sessions)
    page = client.get(f"/drafts/{draft_id}").text
    assert f'action="/drafts/{draft_id}/retry"' in page
    assert "asks the model again, with the same 1 sources" in page
    model._replies.append(json.dumps(USABLE))

    response = client.post(
        f"/drafts/{draft_id}/retry",
        data={"version": str(desk.get(draft_id).version)},
        follow_redirects=False,
    )

    assert response.status_code == 303
    html = client.get(response.headers["location"]).text
    assert "Drafted again: revision 1." in html
    assert "Approve revision 1" in html and "/retry" not in html


def test_failing_again_from_the_page_says_so_with_the_reason(
    client: TestClient, sessions: sessionmaker[Session], model: ScriptedChatModel, desk: Desk
) -> None:
    draft_id = failed_draft(sessions)
    model._replies.extend(["not json", "still not json"])

    response = client.post(
        f"/drafts/{draft_id}/retry", data={"version": str(desk.get(draft_id).version)}
    )

    assert response.status_code == 503
    assert "Tried again, and it failed again: " in response.text
    assert "Try again</button>" in response.text  # and may try once more
