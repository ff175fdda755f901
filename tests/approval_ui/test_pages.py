"""The HTML pages over HTTP: what a SAM sees (the forms: test_page_forms.py)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from agent.grounding import Finding
from retrieval.chunks import Chunk
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
    preview = preview[: preview.index("</pre>")]
    assert preview.startswith('<pre class="preview">Subject: Congratulations on the new CFO\n')
    assert "Laura Kim; your plan and a guess." in preview
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


def test_a_flag_about_the_subject_is_highlighted_in_the_heading(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    vague = Finding("vague_subject", "the subject 'Sender' says nothing", "Sender", "warning")
    body = "Sender of the RFI, Robert Ainsley, asked for a call [sig-acme-901]."
    draft_id = make_draft(sessions, subject="Sender", body=body, findings=[vague])

    html = client.get(f"/drafts/{draft_id}").text

    assert (
        '<h1><mark class="flagged" data-code="vague_subject" '
        'title="the subject &#x27;Sender&#x27; says nothing">Sender</mark></h1>'
    ) in html
    # The same word in the body is not what the flag is about.
    assert html.count('data-code="vague_subject"') == 1


def test_an_unflagged_draft_has_no_confirm_box(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    html = client.get(f"/drafts/{make_draft(sessions)}").text
    assert "confirm_flags" not in html
    assert "Grounding flags" not in html


def test_a_failed_draft_page_shows_why_and_offers_only_to_try_again(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions, failed="reply was not valid JSON")
    page = client.get(f"/drafts/{draft_id}")
    assert page.status_code == 200
    assert "reply was not valid JSON" in page.text
    assert Page(page.text).forms() == [f"/drafts/{draft_id}/retry"]


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
    kept_by_browser = response.headers.get("cache-control") != "no-store"
    assert kept_by_browser == path.startswith("/static/")  # pages hold customer data


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
