"""Regenerate with an instruction: the model rewrites, the old text stays in the history."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from agent.grounding import Finding
from agent.llm import ScriptedChatModel
from tests.approval_ui.conftest import OTHER_SAM, REVIEWER, Desk, acme_plan_draft

SHORTER = {
    "subject": "Welcoming Laura Kim",
    "body": "Hi Robert, congratulations on Laura Kim joining as CFO [sig-acme-901]. "
    "Could we meet for 30 minutes?",
    "citations": ["sig-acme-901"],
}
INVENTED = {**SHORTER, "body": "Revenue grew 42% after Laura Kim joined [sig-acme-901]."}


def reply(model: ScriptedChatModel, *payloads: Mapping[str, object]) -> None:
    model._replies.extend(json.dumps(p) for p in payloads)


pytestmark = pytest.mark.usefixtures("with_drafter")


def test_regenerating_adds_a_model_revision_and_keeps_the_old_one(
    client: TestClient, sessions: sessionmaker[Session], model: ScriptedChatModel, desk: Desk
) -> None:
    draft_id = acme_plan_draft(sessions, findings=[Finding("uncited", "old flag", "x")])
    reply(model, SHORTER)
    version = desk.get(draft_id).version

    response = client.post(
        f"/api/drafts/{draft_id}/regenerate", json={"instruction": "shorter", "version": version}
    )

    assert response.status_code == 200, response.text
    data = response.json()
    first, second = data["revisions"]
    assert (
        first["body"] == "Hi Robert, congratulations on welcoming Laura Kim as CFO [sig-acme-901]."
    )
    assert (second["subject"], second["body"]) == (SHORTER["subject"], SHORTER["body"])
    assert (second["author"], second["note"]) == ("samdesk:model", "regenerated: shorter")
    assert second["recipient"] == first["recipient"]
    # the new text's grounding flags replace the old ones
    assert "old flag" not in [f["message"] for f in data["findings"]]
    [event] = [e for e in desk.audit(draft_id) if e.action == "regenerated"]
    assert event.actor == REVIEWER
    assert event.detail["instruction"] == "shorter"
    assert event.detail["model"] == "scripted-model"
    assert event.revision_hash == second["content_hash"]


def test_the_model_sees_its_prompt_its_previous_text_and_the_instruction(
    client: TestClient, sessions: sessionmaker[Session], model: ScriptedChatModel
) -> None:
    draft_id = acme_plan_draft(sessions)
    reply(model, SHORTER)

    client.post(f"/api/drafts/{draft_id}/regenerate", json={"instruction": "more formal"})

    [messages] = model.requests
    assert [m.role for m in messages] == ["system", "user", "assistant", "user"]
    assert "Sarah Chen" in messages[0].content  # the draft's own prompt, for its account
    assert '<source id="sig-acme-901"' in messages[1].content  # the stored sources
    previous = json.loads(messages[2].content)
    assert previous["body"].startswith("Hi Robert, congratulations on welcoming Laura Kim")
    assert "more formal" in messages[3].content


def test_a_regenerated_text_is_grounding_checked(
    client: TestClient, sessions: sessionmaker[Session], model: ScriptedChatModel
) -> None:
    draft_id = acme_plan_draft(sessions)
    reply(model, INVENTED)

    data = client.post(f"/api/drafts/{draft_id}/regenerate", json={"instruction": "punchier"})

    codes = [f["code"] for f in data.json()["findings"]]
    assert "unsupported_number" in codes
    html = client.get(f"/drafts/{draft_id}").text
    assert '<mark class="flagged" data-code="unsupported_number"' in html


def test_regenerating_an_approved_draft_withdraws_the_approval(
    client: TestClient, sessions: sessionmaker[Session], model: ScriptedChatModel, desk: Desk
) -> None:
    draft_id = acme_plan_draft(sessions)
    desk.approve(draft_id)
    reply(model, SHORTER)

    data = client.post(f"/api/drafts/{draft_id}/regenerate", json={"instruction": "shorter"})

    assert data.json()["status"] == "pending"
    assert [row.status for row in desk.outbox(draft_id)] == ["cancelled"]


def test_an_unusable_rewrite_changes_nothing(
    client: TestClient, sessions: sessionmaker[Session], model: ScriptedChatModel, desk: Desk
) -> None:
    draft_id = acme_plan_draft(sessions)
    model._replies.extend(["not json", "still not json"])

    response = client.post(f"/api/drafts/{draft_id}/regenerate", json={"instruction": "shorter"})

    assert response.status_code == 503
    assert "could not be used" in response.json()["detail"]
    assert f"draft {draft_id} is unchanged" in response.json()["detail"]
    assert len(desk.get(draft_id).revisions) == 1


def test_a_change_made_while_the_model_wrote_wins_and_the_rewrite_is_refused(
    client: TestClient, sessions: sessionmaker[Session], model: ScriptedChatModel, desk: Desk
) -> None:
    draft_id = acme_plan_draft(sessions)
    opened = desk.get(draft_id).version
    desk.edit(draft_id, body="A colleague's edit, saved while the model was writing.")
    reply(model, SHORTER)

    response = client.post(
        f"/api/drafts/{draft_id}/regenerate", json={"instruction": "shorter", "version": opened}
    )

    assert response.status_code == 409
    assert desk.get(draft_id).current.body.startswith("A colleague's edit")
    assert model.requests == []  # refused before the model was even asked


@pytest.mark.parametrize("instruction", ["   ", "x" * 501])
def test_the_instruction_must_be_given_and_short(
    client: TestClient, sessions: sessionmaker[Session], instruction: str
) -> None:
    draft_id = acme_plan_draft(sessions)
    response = client.post(f"/api/drafts/{draft_id}/regenerate", json={"instruction": instruction})
    assert response.status_code == 422


def test_regenerate_by_form_then_see_it_in_the_history(
    client: TestClient, sessions: sessionmaker[Session], model: ScriptedChatModel, desk: Desk
) -> None:
    draft_id = acme_plan_draft(sessions)
    reply(model, SHORTER)

    response = client.post(
        f"/drafts/{draft_id}/regenerate",
        data={
            "instruction": "lead with the ROI numbers",
            "version": str(desk.get(draft_id).version),
        },
        follow_redirects=False,
    )

    assert response.status_code == 303
    html = client.get(response.headers["location"]).text
    assert "Regenerated: a new revision." in html
    assert "r2 by samdesk:model" in html and "regenerated: lead with the ROI numbers" in html
    assert "Against the model&#39;s original: r1 → r2" in html


def test_another_sams_draft_cannot_be_regenerated(
    signed_in: Callable[[str | None], TestClient],
    sessions: sessionmaker[Session],
    model: ScriptedChatModel,
) -> None:
    draft_id = acme_plan_draft(sessions)
    reply(model, SHORTER)
    response = signed_in(OTHER_SAM).post(
        f"/api/drafts/{draft_id}/regenerate", json={"instruction": "shorter"}
    )
    assert response.status_code == 403
    assert model.requests == []
