"""The HTML pages over HTTP: what a SAM sees and what the forms do."""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from agent.grounding import Finding
from retrieval.chunks import Chunk
from tests.approval_ui.conftest import eml_files
from tests.factories import SOURCE, make_draft

HOSTILE = "<script>alert(1)</script>"
FLAG = Finding(
    code="unsupported_number", message="'42%' appears in no cited source", excerpt="grew 42%"
)
SECOND_SOURCE = Chunk(
    id="plan-acme-goals",
    account_id="acme-financial",
    kind="plan",
    section="goals",
    title="Acme account plan: 2027 goals",
    text="Consolidate reporting onto one platform.",
)


class Page(HTMLParser):
    """Start tags and text of a page, as a browser would tokenise it."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def forms(self) -> list[str]:
        """The draft actions a page offers (every page also has the header's sign-out form)."""
        return [
            a["action"] or ""
            for t, a in self.tags
            if t == "form" and a.get("method") == "post" and a.get("action") != "/logout"
        ]

    def hidden(self, name: str) -> list[str]:
        return [
            a["value"] or ""
            for t, a in self.tags
            if t == "input" and a.get("type") == "hidden" and a.get("name") == name
        ]


def api(client: TestClient, draft_id: int) -> dict[str, Any]:
    data: dict[str, Any] = client.get(f"/api/drafts/{draft_id}").json()
    return data


def version_of(client: TestClient, draft_id: int) -> int:
    return int(api(client, draft_id)["version"])


def queue_rows(html: str) -> list[int]:
    return [int(m) for m in re.findall(r'<a href="/drafts/(\d+)">', html)]


def test_the_queue_lists_drafts_and_filters_them(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    outreach = make_draft(sessions, subject="Congratulations on the new CFO")
    briefing = make_draft(sessions, kind="briefing", subject="Acme weekly briefing")
    globex = make_draft(sessions, account_id="globex-corp", subject="Hello Globex")
    failed = make_draft(sessions, failed="model timed out")

    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert sorted(queue_rows(page.text)) == sorted([outreach, briefing, globex, failed])
    for text in (
        "Congratulations on the new CFO",
        "Acme weekly briefing",
        "Hello Globex",
        "Acme Financial",
        "Globex Corp",
        "(failed: no text)",
    ):
        assert text in page.text

    assert queue_rows(client.get("/", params={"kind": "briefing"}).text) == [briefing]
    assert queue_rows(client.get("/", params={"account": "globex-corp"}).text) == [globex]
    assert queue_rows(client.get("/", params={"status": "failed"}).text) == [failed]
    assert queue_rows(client.get("/", params={"status": "sent"}).text) == []
    assert "No drafts match" in client.get("/", params={"status": "sent"}).text
    # empty filters (the form's "All") mean no filter
    assert (
        len(queue_rows(client.get("/", params={"account": "", "kind": "", "status": ""}).text)) == 4
    )
    filtered = Page(client.get("/", params={"kind": "briefing"}).text)
    assert ("option", {"value": "briefing", "selected": None}) in filtered.tags


def test_the_queue_shows_the_flag_count(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    make_draft(sessions, findings=[FLAG, FLAG])
    assert '<span class="flag">2</span>' in client.get("/").text


def test_the_draft_page_shows_the_body_beside_its_sources(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(
        sessions,
        sources=[SOURCE, SECOND_SOURCE],
        body="Congratulations on Laura Kim [sig-acme-901]; your plan [plan-acme-goals] "
        "and a guess [sig-invented-3].",
    )

    page = client.get(f"/drafts/{draft_id}")

    assert page.status_code == 200
    html = page.text
    body, sources = html.index('<article class="body">'), html.index('<aside class="sources">')
    assert body < sources
    assert 'id="src-sig-acme-901"' in html and 'id="src-plan-acme-goals"' in html
    assert SOURCE.title in html and SECOND_SOURCE.title in html
    assert f'<a href="{SOURCE.url}" rel="noopener noreferrer nofollow">' in html
    article = html[body : html.index("</article>")]
    assert '<a class="cite" href="#src-sig-acme-901">[sig-acme-901]</a>' in article
    assert '<a class="cite" href="#src-plan-acme-goals">[plan-acme-goals]</a>' in article
    assert "cite-unknown" in article and "[sig-invented-3]" in article
    # the outreach preview is what the customer gets: no markers
    preview = html[html.index('<pre class="preview">') :]
    assert "Laura Kim; your plan and a guess." in preview[: preview.index("</pre>")]
    assert Page(html).forms() == [
        f"/drafts/{draft_id}/edit",
        f"/drafts/{draft_id}/regenerate",
        f"/drafts/{draft_id}/approve",
        f"/drafts/{draft_id}/reject",
    ]


def test_the_draft_page_shows_flags_and_a_confirm_box(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(
        sessions,
        findings=[
            FLAG,
            Finding(code="stale_source", message="the source is 200 days old", severity="warning"),
        ],
    )

    html = client.get(f"/drafts/{draft_id}").text

    assert "Grounding flags (1)" in html
    assert "<code>unsupported_number</code> &#39;42%&#39; appears in no cited source" in html
    assert "<code>stale_source</code> the source is 200 days old" in html
    checkbox = {"type": "checkbox", "name": "confirm_flags", "value": "true"}
    assert ("input", checkbox) in Page(html).tags


def test_an_unflagged_draft_has_no_confirm_box(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    html = client.get(f"/drafts/{make_draft(sessions)}").text
    assert "confirm_flags" not in html
    assert "Grounding flags" not in html


def test_a_failed_draft_page_shows_why_and_offers_no_actions(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions, failed="reply was not valid JSON")
    page = client.get(f"/drafts/{draft_id}")
    assert page.status_code == 200
    assert "reply was not valid JSON" in page.text
    assert Page(page.text).forms() == []


def test_a_missing_draft_page_is_a_404_html_page(client: TestClient) -> None:
    page = client.get("/drafts/4242")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "draft 4242 does not exist" in page.text


def test_a_hostile_subject_is_escaped_everywhere(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(
        sessions,
        subject=HOSTILE,
        body=f"Body with {HOSTILE} inside it.",
        recipient=f'"{HOSTILE}" <robert@acme.example>',
    )

    for path in ("/", f"/drafts/{draft_id}"):
        html = client.get(path).text
        assert HOSTILE not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        scripts = [attrs for tag, attrs in Page(html).tags if tag == "script"]
        assert scripts == [{"src": "/static/desk.js", "defer": None}]  # only the desk's own


def test_the_edit_form_saves_a_revision_and_redirects(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions)
    page = Page(client.get(f"/drafts/{draft_id}").text)
    [version, *_] = page.hidden("version")

    response = client.post(
        f"/drafts/{draft_id}/edit",
        data={
            "subject": "Edited in the desk",
            "body": "A new body, written by Sarah.",
            "recipient": "Robert <robert@acme.example>",
            "version": version,
        },
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
        data={
            "subject": "Mine",
            "body": "My edit, made on the old version.",
            "recipient": "robert@acme.example",
            "version": str(opened),
        },
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


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/drafts/1",
        "/drafts/4242",
        "/outbox",
        "/api/drafts",
        "/api/drafts/4242",
        "/static/desk.css",
        "/openapi.json",
    ],
)
def test_every_response_carries_the_security_headers(
    client: TestClient, sessions: sessionmaker[Session], path: str
) -> None:
    make_draft(sessions)
    response = client.get(path)

    csp = response.headers["content-security-policy"]
    assert "img-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"


def test_form_posts_and_errors_carry_the_security_headers(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions)
    for response in (
        client.post(f"/drafts/{draft_id}/send", follow_redirects=False),  # 409 page
        client.post(
            f"/drafts/{draft_id}/approve", data={"version": "1"}, follow_redirects=False
        ),  # stale: 409 page
        client.post(f"/drafts/{draft_id}/approve", data={}, follow_redirects=False),  # 422
        client.post(
            f"/drafts/{draft_id}/approve",
            data={"version": str(version_of(client, draft_id))},
            follow_redirects=False,
        ),  # 303
    ):
        assert response.status_code in {303, 409, 422}
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"


def test_the_409_page_shows_who_changed_the_draft_and_keeps_your_unsaved_edit(
    client: TestClient, signed_in: Any, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions)
    opened = version_of(client, draft_id)
    manager = signed_in("dana.whitfield@northwind.example")
    manager.patch(f"/api/drafts/{draft_id}", json={"body": "The manager's wording wins."})

    response = client.post(
        f"/drafts/{draft_id}/edit",
        data={
            "subject": "Congratulations on the new CFO",
            "body": "My careful rewrite <b>on the old version</b>.",
            "recipient": "Robert Ainsley <robert.ainsley@acmefinancial.example>",
            "version": str(opened),
        },
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
