"""The desk's HTML forms: edit, approve, reject and send by form, and the 409 page a stale
form gets (who changed the draft meanwhile, and the reviewer's unsaved edit)."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.approval_ui.conftest import eml_files
from tests.approval_ui.test_pages import FLAG, Page, api, version_of
from tests.factories import make_draft


def edit_form(version: int | str, *, subject: str, body: str, recipient: str) -> dict[str, str]:
    """What the draft page's edit form sends (``version``: the one the page showed)."""
    return {"subject": subject, "body": body, "recipient": recipient, "version": str(version)}


def test_the_edit_form_saves_a_revision_and_redirects(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions)
    page = Page(client.get(f"/drafts/{draft_id}").text)
    [version, *_] = page.hidden("version")

    response = client.post(
        f"/drafts/{draft_id}/edit",
        data=edit_form(
            version,
            subject="Edited in the desk",
            body="A new body, written by Sarah.",
            recipient="Robert <robert@acme.example>",
        ),
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/drafts/{draft_id}?notice=Saved%20a%20new%20revision."
    data = api(client, draft_id)
    assert [r["number"] for r in data["revisions"]] == [1, 2]
    assert (data["revisions"][1]["subject"], data["revisions"][1]["recipient"]) == (
        "Edited in the desk",
        "Robert <robert@acme.example>",
    )
    followed = client.get(response.headers["location"])
    assert "Saved a new revision." in followed.text
    assert "Edited in the desk" in followed.text


def test_a_stale_edit_form_is_409_with_the_error_and_overwrites_nothing(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions)
    opened = version_of(client, draft_id)
    client.patch(f"/api/drafts/{draft_id}", json={"body": "A colleague saved this first."})

    response = client.post(
        f"/drafts/{draft_id}/edit",
        data=edit_form(
            opened,
            subject="Mine",
            body="My edit, made on the old version.",
            recipient="robert@acme.example",
        ),
        follow_redirects=False,
    )

    assert response.status_code == 409
    assert '<p class="error" role="alert">' in response.text
    assert "changed since you opened it" in response.text
    assert '<details class="edit" open>' in response.text
    data = api(client, draft_id)
    assert data["revisions"][-1]["body"] == "A colleague saved this first."
    assert len(data["revisions"]) == 2


def test_approve_form_needs_the_checkbox_for_a_flagged_draft(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions, findings=[FLAG])
    version = str(version_of(client, draft_id))

    refused = client.post(
        f"/drafts/{draft_id}/approve", data={"version": version}, follow_redirects=False
    )
    assert refused.status_code == 409
    assert "unresolved grounding flag" in refused.text
    assert api(client, draft_id)["status"] == "pending"

    approved = client.post(
        f"/drafts/{draft_id}/approve",
        data={"version": version, "confirm_flags": "true"},
        follow_redirects=False,
    )
    assert approved.status_code == 303
    assert approved.headers["location"] == f"/drafts/{draft_id}?notice=Approved."
    assert api(client, draft_id)["status"] == "approved"
    html = client.get(approved.headers["location"]).text
    assert Page(html).forms() == [
        f"/drafts/{draft_id}/edit",
        f"/drafts/{draft_id}/regenerate",
        f"/drafts/{draft_id}/send",
        f"/drafts/{draft_id}/reject",
    ]
    assert "Send approved revision 1" in html


def test_approve_then_send_by_form(
    client: TestClient, sessions: sessionmaker[Session], outbox_dir: Path
) -> None:
    draft_id = make_draft(sessions)
    approve = client.post(
        f"/drafts/{draft_id}/approve",
        data={"version": str(version_of(client, draft_id))},
        follow_redirects=False,
    )
    assert approve.status_code == 303

    sent = client.post(f"/drafts/{draft_id}/send", follow_redirects=False)

    assert sent.status_code == 303
    assert sent.headers["location"] == f"/drafts/{draft_id}?notice=Sent."
    assert api(client, draft_id)["status"] == "sent"
    [eml] = eml_files(outbox_dir)
    [row] = client.get("/api/outbox").json()
    assert row["location"] == str(eml)
    assert escape(row["message_id"]) in client.get("/outbox").text

    again = client.post(f"/drafts/{draft_id}/send", follow_redirects=False)
    assert again.status_code == 409
    assert "only approved drafts can be sent" in again.text
    assert len(eml_files(outbox_dir)) == 1


def test_reject_form_needs_a_reason_and_redirects(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions)
    version = str(version_of(client, draft_id))

    blank = client.post(
        f"/drafts/{draft_id}/reject",
        data={"reason": "  ", "version": version},
        follow_redirects=False,
    )
    assert blank.status_code == 409
    assert "a rejection needs a reason" in blank.text

    rejected = client.post(
        f"/drafts/{draft_id}/reject",
        data={"reason": "Robert left Acme", "version": version},
        follow_redirects=False,
    )
    assert rejected.status_code == 303
    assert api(client, draft_id)["status"] == "rejected"
    html = client.get(f"/drafts/{draft_id}").text
    assert "Rejected: Robert left Acme" in html
    assert Page(html).forms() == []


def test_sending_an_unapproved_draft_by_form_is_refused(
    client: TestClient, sessions: sessionmaker[Session], outbox_dir: Path
) -> None:
    draft_id = make_draft(sessions)
    response = client.post(f"/drafts/{draft_id}/send", follow_redirects=False)
    assert response.status_code == 409
    assert "only approved drafts can be sent" in response.text
    assert eml_files(outbox_dir) == []


def test_the_409_page_shows_who_changed_the_draft_and_keeps_your_unsaved_edit(
    client: TestClient, signed_in: Any, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions)
    opened = version_of(client, draft_id)
    manager = signed_in("dana.whitfield@northwind.example")
    manager.patch(f"/api/drafts/{draft_id}", json={"body": "The manager's wording wins."})

    response = client.post(
        f"/drafts/{draft_id}/edit",
        data=edit_form(
            opened,
            subject="Congratulations on the new CFO",
            body="My careful rewrite <b>on the old version</b>.",
            recipient="Robert Ainsley <robert.ainsley@acmefinancial.example>",
        ),
        follow_redirects=False,
    )

    assert response.status_code == 409
    html = response.text
    assert 'class="conflict"' in html
    assert "Changed meanwhile by <strong>dana.whitfield@northwind.example</strong> (edited)" in html
    assert f"now version {opened + 1}, pending, revision 2" in html
    # the other reviewer's text is what the form now holds; mine is shown against it
    assert Page(html).hidden("version") == [str(opened + 1)] * 4
    assert "<del>The manager&#39;s wording wins.</del>" in html
    assert escape("My careful rewrite <b>on the old version</b>.") in html
    assert "<b>on the old" not in html
    assert api(client, draft_id)["revisions"][-1]["body"] == "The manager's wording wins."


def test_a_stale_approve_form_names_the_change_it_missed(
    client: TestClient, signed_in: Any, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions)
    opened = str(version_of(client, draft_id))
    signed_in("dana.whitfield@northwind.example").post(
        f"/api/drafts/{draft_id}/reject", json={"reason": "covered on the phone"}
    )

    response = client.post(
        f"/drafts/{draft_id}/approve", data={"version": opened}, follow_redirects=False
    )

    assert response.status_code == 409
    assert "(rejected)" in response.text
    assert f"now version {int(opened) + 1}, rejected" in response.text
    assert 'data-diff="yours"' not in response.text
    assert api(client, draft_id)["status"] == "rejected"
