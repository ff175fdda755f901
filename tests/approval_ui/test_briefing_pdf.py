"""The executive briefing as a printable one-page HTML page and as a one-page PDF."""

from __future__ import annotations

import re
import zlib

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from approval_ui import briefing_pdf
from samdesk.models import Draft
from tests.approval_ui.conftest import Desk, owned_draft

MEETING = {
    "type": "meeting",
    "title": "Q4 QBR with CFO and COO",
    "starts_at": "2026-12-08T15:00:00+00:00",
}
BODY = """## Account snapshot
Acme Financial: $750K ARR, renewal 2027-03-31 [sig-acme-901].

## What changed
- Laura Kim appointed CFO on November 3, 2026 [sig-acme-901].

## Talking points
1. Congratulate the new CFO.
2. Ask about the 2027 budget review.
"""


def pdf_pages(pdf: bytes) -> int:
    """Page objects in the file, counted independently of WeasyPrint: in the plain text and
    inside the compressed object streams where pydyf puts them."""
    chunks = [pdf]
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        try:
            chunks.append(zlib.decompress(stream))
        except zlib.error:
            continue
    return sum(len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", c)) for c in chunks)


@pytest.fixture
def briefing(sessions: sessionmaker[Session]) -> int:
    return owned_draft(
        sessions, kind="briefing", subject="Briefing: Q4 QBR", body=BODY, trigger=MEETING
    )


def test_the_print_page_is_a_standalone_one_page_layout(client: TestClient, briefing: int) -> None:
    page = client.get(f"/drafts/{briefing}/print")

    assert page.status_code == 200
    html = page.text
    assert '<link rel="stylesheet" href="/static/print.css">' in html
    assert "Q4 QBR with CFO and COO · Tue 08 Dec 2026, 15:00 UTC" in html
    assert "DRAFT: not yet approved" in html
    assert "<h2>Talking points</h2>" in html
    assert '<a class="cite" href="#src-sig-acme-901">[sig-acme-901]</a>' in html
    source = "[sig-acme-901] Acme Financial names Laura Kim as CFO (2026-11-03)"
    assert f'<li id="src-sig-acme-901">{source}</li>' in html
    assert "<script" not in html
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    css = client.get("/static/print.css").text
    assert "@page" in css and "@media print" in css
    draft_page = client.get(f"/drafts/{briefing}").text
    assert f'href="/drafts/{briefing}/print"' in draft_page
    assert f'href="/api/drafts/{briefing}/briefing.pdf"' in draft_page


def test_the_pdf_is_one_page(client: TestClient, briefing: int, desk: Desk) -> None:
    desk.approve(briefing)
    response = client.get(f"/api/drafts/{briefing}/briefing.pdf")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert response.headers["x-samdesk-pages"] == "1"
    assert pdf_pages(response.content) == 1


def test_a_long_briefing_is_shrunk_to_fit_one_page(
    sessions: sessionmaker[Session], briefing: int
) -> None:
    long_body = BODY + "\n".join(
        f"- Point {n}: a sentence about the account [sig-acme-901]." for n in range(45)
    )
    with sessions() as session:
        draft = session.get_one(Draft, briefing)
        _ = draft.revisions
        draft.revisions[0].body = long_body  # in memory only: what would print
        context = briefing_pdf.briefing_context(session, draft)
    pdf, pages = briefing_pdf.render_pdf(context)
    assert pages == 1 and pdf_pages(pdf) == 1


def test_an_outreach_email_does_not_print_as_a_briefing(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = owned_draft(sessions)
    assert client.get(f"/drafts/{draft_id}/print").status_code == 409
    response = client.get(f"/api/drafts/{draft_id}/briefing.pdf")
    assert response.status_code == 409
    assert "only briefings print" in response.json()["detail"]


def test_the_pdf_renderer_fetches_nothing(sessions: sessionmaker[Session], briefing: int) -> None:
    with pytest.raises(ValueError, match="fetches nothing"):
        briefing_pdf._refuse("https://tracker.example/pixel.png")
