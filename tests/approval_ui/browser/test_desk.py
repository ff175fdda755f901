"""The desk in a real browser: sign in, review, edit, approve, send, and the rules between SAMs."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from approval_ui import crud
from tests.approval_ui.browser.conftest import (
    DANA,
    MARCUS,
    PRIYA,
    SARAH,
    LiveDesk,
    screenshot,
    sign_in,
)

NewPage = Callable[..., Any]


def queue_ids(page: Any) -> list[int]:
    return [
        int(i)
        for i in page.locator("#queue tbody tr").evaluate_all("rows => rows.map(r => r.dataset.id)")
    ]


def test_a_sam_reviews_edits_approves_and_sends(live_desk: LiveDesk, new_page: NewPage) -> None:
    page = new_page(SARAH)
    draft_id = live_desk.draft("acme-financial/outreach")
    mine = {
        live_desk.draft(k)
        for k in (
            "acme-financial/outreach",
            "acme-financial/briefing",
            "harborview-retail/outreach",
        )
    }

    expect(page.locator("h1")).to_have_text("Drafts waiting for you")
    assert set(queue_ids(page)) == mine  # nobody else's drafts
    expect(page.locator(".who")).to_contain_text("Sarah Chen · sam")
    screenshot(page, "desk-queue.png")

    page.click(f'a[href="/drafts/{draft_id}"]')
    subject = page.locator(".draft-head h1")
    expect(subject).to_have_text("Linda Marsh's retirement: a smooth hand-over")
    expect(page.locator("aside.sources #src-sig-acme-009")).to_contain_text("Linda Marsh")
    page.click('article.body a.cite[href="#src-sig-acme-009"]')
    assert page.url.endswith("#src-sig-acme-009")

    page.click("details.edit summary")
    body = page.locator('textarea[name="body"]')
    body.fill(
        body.input_value().replace(
            "30 minutes in the next two weeks", "30 minutes on Tuesday, December 15"
        )
    )
    page.click('details.edit button[type="submit"]')
    expect(page.locator("p.notice")).to_have_text("Saved a new revision.")
    # The date Sarah typed is in no source: shown and highlighted, but hers to vouch for.
    expect(page.locator(".warnings")).to_contain_text("'15' is not stated")
    expect(page.locator(".warnings")).to_contain_text("(written in an edit)")
    expect(page.locator("article.body mark")).to_have_text("15")
    expect(page.locator(".flags")).to_have_count(0)
    edited = page.locator("tr", has_text="edited")
    expect(edited).to_contain_text("new findings: '15' is not stated in [sig-acme-009]")
    expect(edited).to_contain_text("revision: 2")
    diff = page.locator('.diff[data-diff="Against the model\'s original"]')
    expect(diff.locator("del")).to_contain_text("in the next two weeks")
    expect(diff.locator("ins")).to_contain_text("on Tuesday")
    expect(page.locator("section.history")).to_contain_text(f"r2 by {SARAH}")
    screenshot(page, "desk-draft.png")

    page.click('#approve-form button[type="submit"]')
    expect(page.locator("p.notice")).to_have_text("Approved.")
    page.click('#send-form button[type="submit"]')
    expect(page.locator("p.notice")).to_have_text("Sent.")
    expect(page.locator(".draft-head .badge")).to_have_text("sent")

    page.click('nav a[href="/outbox"]')
    row = page.locator(f'table.queue tr:has(a[href="/drafts/{draft_id}"])')
    expect(row.locator(".badge")).to_have_text("sent")
    [eml] = list(live_desk.outbox.glob("*.eml"))
    assert b"30 minutes on Tuesday" in eml.read_bytes()
    assert b"[sig-acme-009]" not in eml.read_bytes()


def test_another_sam_can_neither_list_nor_open_the_draft(
    live_desk: LiveDesk, new_page: NewPage
) -> None:
    sarahs = live_desk.draft("acme-financial/outreach")
    marcus = new_page(MARCUS)

    assert queue_ids(marcus) == [live_desk.draft("bluewater-logistics/outreach")]
    response = marcus.goto(f"{live_desk.url}/drafts/{sarahs}")
    assert response is not None and response.status == 403
    expect(marcus.locator("p.error")).to_contain_text("belongs to another SAM")
    expect(marcus.locator("body")).not_to_contain_text("a smooth hand-over")
    api = marcus.request.get(f"{live_desk.url}/api/drafts/{sarahs}")
    assert api.status == 403


def test_keyboard_shortcuts_on_the_queue_and_the_draft(
    live_desk: LiveDesk, new_page: NewPage
) -> None:
    page = new_page(SARAH)
    rows = page.locator("#queue tbody tr")
    expect(rows.nth(0)).to_have_class(re.compile(r"\bselected\b"))

    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile(r"\bselected\b"))
    page.keyboard.press("k")
    expect(rows.nth(0)).to_have_class(re.compile(r"\bselected\b"))

    # a: approve the selected, unflagged draft in place (fetch with the CSRF header)
    harborview = live_desk.draft("harborview-retail/outreach")
    target = page.locator(f'#queue tr[data-id="{harborview}"]')
    for _ in range(queue_ids(page).index(harborview)):
        page.keyboard.press("j")
    expect(target).to_have_class(re.compile(r"\bselected\b"))
    page.keyboard.press("a")
    expect(target.locator(".badge")).to_have_text("approved")
    with live_desk.sessions() as session:
        assert crud.get_draft(session, harborview).approved_by == SARAH

    # a flagged draft opens for an explicit confirmation instead of approving blind
    briefing = live_desk.draft("acme-financial/briefing")
    page.goto(f"{live_desk.url}/")
    for _ in range(queue_ids(page).index(briefing)):
        page.keyboard.press("j")
    page.keyboard.press("a")
    page.wait_for_url(f"{live_desk.url}/drafts/{briefing}#approve")
    expect(page.locator('input[name="confirm_flags"]')).to_be_focused()
    expect(page.locator("article.body mark.flagged")).to_have_attribute(
        "title", "'42%' appears in no cited source"
    )
    page.keyboard.press("e")  # focus is in the checkbox: keys go to it, not to the shortcuts
    expect(page.locator("details.edit")).not_to_have_attribute("open", "")
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("e")
    expect(page.locator('textarea[name="body"]')).to_be_focused()
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("r")
    expect(page.locator('#reject-form select[name="category"]')).to_be_focused()
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("j")
    page.wait_for_url(re.compile(r"/drafts/\d+$"))
    assert not page.url.endswith(f"/drafts/{briefing}")


def test_reject_with_a_reason_and_find_it_again(live_desk: LiveDesk, new_page: NewPage) -> None:
    page = new_page(SARAH)
    draft_id = live_desk.draft("harborview-retail/outreach")
    page.goto(f"{live_desk.url}/drafts/{draft_id}")
    page.select_option('#reject-form select[name="category"]', "wrong_recipient")
    page.fill('#reject-form input[name="reason"]', "Trevor moved to Europe")
    page.click('#reject-form button[type="submit"]')
    expect(page.locator("p.notice").first).to_have_text("Rejected.")

    page.goto(f"{live_desk.url}/")
    page.keyboard.press("/")
    page.keyboard.type("moved to europe")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=moved"))
    assert queue_ids(page) == [draft_id]
    expect(page.locator("small.reason")).to_have_text(
        "Rejected: Wrong recipient: Trevor moved to Europe"
    )


def test_two_sams_and_a_manager_at_once(live_desk: LiveDesk, new_page: NewPage) -> None:
    """Three people in three browser contexts; every rule holds while they interleave."""
    sarah, marcus, dana = new_page(SARAH), new_page(MARCUS), new_page(DANA)
    acme = live_desk.draft("acme-financial/outreach")
    harborview = live_desk.draft("harborview-retail/outreach")
    bluewater = live_desk.draft("bluewater-logistics/outreach")

    assert set(queue_ids(dana)) == set(live_desk.drafts.values())  # the manager sees all
    expect(dana.locator("h1")).to_have_text("Every SAM's drafts")

    # both SAMs open their own drafts at the same time and approve them
    sarah.goto(f"{live_desk.url}/drafts/{acme}")
    marcus.goto(f"{live_desk.url}/drafts/{bluewater}")
    sarah.click('#approve-form button[type="submit"]')
    marcus.click('#approve-form button[type="submit"]')
    expect(sarah.locator("p.notice")).to_have_text("Approved.")
    expect(marcus.locator("p.notice")).to_have_text("Approved.")

    # the manager hands Sarah's Harborview draft to Marcus
    dana.goto(f"{live_desk.url}/drafts/{harborview}")
    dana.select_option('form.reassign select[name="assignee"]', MARCUS)
    dana.click('form.reassign button[type="submit"]')
    expect(dana.locator("p.notice")).to_have_text(f"Reassigned to {MARCUS}.")

    sarah.goto(f"{live_desk.url}/")
    assert harborview not in queue_ids(sarah)
    refused = sarah.goto(f"{live_desk.url}/drafts/{harborview}")
    assert refused is not None and refused.status == 403
    marcus.goto(f"{live_desk.url}/")
    assert harborview in queue_ids(marcus)

    # a forged approval from Sarah's page (her cookie and CSRF token) is still refused
    sarah.goto(f"{live_desk.url}/")
    forged = sarah.evaluate(
        """async (id) => {
            const token = document.querySelector('meta[name="csrf-token"]').content;
            const r = await fetch(`/api/drafts/${id}/approve`, {method: "POST",
              headers: {"Content-Type": "application/json", "X-CSRF-Token": token}, body: "{}"});
            return r.status;
        }""",
        harborview,
    )
    assert forged == 403
    # ...and a request without the token is refused before anything else
    no_token = sarah.evaluate(
        """async (id) => (await fetch(`/api/drafts/${id}/approve`, {method: "POST",
            headers: {"Content-Type": "application/json"}, body: "{}"})).status""",
        acme,
    )
    assert no_token == 403

    marcus.goto(f"{live_desk.url}/drafts/{harborview}")
    marcus.click('#approve-form button[type="submit"]')
    expect(marcus.locator("p.notice")).to_have_text("Approved.")
    with live_desk.sessions() as session:
        approvals = {
            d: crud.get_draft(session, d).approved_by for d in (acme, bluewater, harborview)
        }
    assert approvals == {acme: SARAH, bluewater: MARCUS, harborview: MARCUS}

    # Priya, a third SAM, sees only her own
    priya = new_page(PRIYA)
    assert queue_ids(priya) == [live_desk.draft("meridian-health/outreach")]


def test_sign_in_failure_and_sign_out(live_desk: LiveDesk, new_page: NewPage) -> None:
    page = new_page(None)
    page.goto(f"{live_desk.url}/drafts/1")
    assert "/login?next=" in page.url
    page.fill('input[name="email"]', SARAH)
    page.fill('input[name="password"]', "not the password")
    page.click('button[type="submit"]')
    expect(page.locator("p.error")).to_have_text("wrong email or password")

    sign_in(page, live_desk.url, SARAH)
    page.click("form.logout button")
    page.wait_for_url(f"{live_desk.url}/login")
    page.goto(f"{live_desk.url}/")
    assert page.url.startswith(f"{live_desk.url}/login")


def test_a_briefing_prints_on_one_page(live_desk: LiveDesk, new_page: NewPage) -> None:
    page = new_page(SARAH)
    briefing = live_desk.draft("acme-financial/briefing")
    page.goto(f"{live_desk.url}/drafts/{briefing}")
    page.click(f'a[href="/drafts/{briefing}/print"]')
    expect(page.locator("header h1")).to_have_text("Acme Financial Corp")
    expect(page.locator("p.meeting")).to_contain_text("Q4 QBR with CFO and COO")
    expect(page.locator("p.facts")).to_contain_text("Attendees: Robert Ainsley")
    page.emulate_media(media="print")
    expect(page.locator(".screen-only")).to_be_hidden()
    screenshot(page, "desk-briefing-print.png")
    pdf = page.request.get(f"{live_desk.url}/api/drafts/{briefing}/briefing.pdf")
    assert pdf.status == 200 and pdf.headers["x-samdesk-pages"] == "1"
    assert pdf.body().startswith(b"%PDF-")
