"""A real desk for a real browser: uvicorn on a free loopback port, Debian's Chromium driven
by Playwright, and the sample accounts with drafts for three SAMs.

Chromium is the distribution's package (``apt-get install chromium``), launched headless
without a sandbox (CI runs as root); ``playwright install`` is never needed. Without a
Chromium these tests skip, unless ``SAMDESK_REQUIRE_BROWSER`` is set (CI sets it).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from agent.grounding import Finding
from approval_ui import crud
from approval_ui.main import create_app
from approval_ui.sending import OutboxFolderSender
from retrieval.chunks import Chunk, plan_chunks, signal_chunk
from retrieval.plans import load_plan
from retrieval.signals import load_signals
from samdesk.db import transaction
from tests.approval_ui.conftest import PASSWORD, add_team
from tests.conftest import REPO, SAMPLES, make_sessions, make_settings
from tests.factories import draft_result
from tests.smtp_server import free_port

CHROMIUM = os.environ.get("SAMDESK_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO / "test-artifacts"
SARAH = "sarah.chen@northwind.example"
MARCUS = "marcus.okafor@northwind.example"
PRIYA = "priya.raman@northwind.example"
DANA = "dana.whitfield@northwind.example"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        if os.environ.get("SAMDESK_REQUIRE_BROWSER"):
            pytest.fail(f"Chromium not found at {CHROMIUM}; install it: apt-get install chromium")
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def _sample_chunks() -> dict[str, Chunk]:
    chunks: dict[str, Chunk] = {}
    for path in sorted((SAMPLES / "accounts").glob("*.md")):
        plan, _ = load_plan(path)
        assert plan is not None
        chunks |= {c.id: c for c in plan_chunks(plan)}
    signals, _ = load_signals(SAMPLES / "signals" / "signals.jsonl")
    chunks |= {s.id: signal_chunk(s) for s in signals}
    return chunks


# (kind, account, trigger, source ids, subject, body, recipient, findings)
DRAFTS: list[tuple[str, str, dict[str, Any], list[str], str, str, str, list[Finding]]] = [
    (
        "outreach",
        "acme-financial",
        {"type": "signal", "signal_id": "sig-acme-009"},
        ["sig-acme-009", "acme-financial/relationship-map", "acme-financial/last-contact"],
        "Linda Marsh's retirement: a smooth hand-over",
        "Hi James,\n\nI saw that Linda Marsh will retire as VP Marketing after 19 years "
        "[sig-acme-009]. I would like to make the hand-over to her successor smooth for "
        "your team.\n\nCould we take 30 minutes in the next two weeks to plan it?\n\nBest,\n"
        "Sarah Chen",
        "James Okoro <james.okoro@acmefinancial.example>",
        [],
    ),
    (
        "briefing",
        "acme-financial",
        {
            "type": "meeting",
            "title": "Q4 QBR with CFO and COO",
            "starts_at": "2026-12-08T15:00:00+00:00",
        },
        ["acme-financial/summary", "acme-financial/risks", "sig-acme-008", "sig-acme-009"],
        "Briefing: Q4 QBR with CFO and COO",
        "## Snapshot\nAcme Financial is a flagship account with a strategic score of 86.5 "
        "[acme-financial/summary].\n\n## What changed\n- Acme weighs a 2027 spending freeze "
        "[sig-acme-008].\n- Linda Marsh retires as VP Marketing [sig-acme-009].\n\n"
        "## Talking points\n1. Show ROI that grew 42% since the last renewal.\n"
        "2. Confirm Nadia Brooks as the new champion.",
        SARAH,
        [Finding("unsupported_number", "'42%' appears in no cited source", "grew 42%")],
    ),
    (
        "outreach",
        "harborview-retail",
        {"type": "signal", "signal_id": "sig-harborview-011"},
        ["sig-harborview-011", "harborview-retail/risks"],
        "Black Friday performance: we are on it",
        "Hi Trevor,\n\nOur support team saw the 18 performance tickets ahead of Black Friday "
        "[sig-harborview-011]. I would like to walk you through the fix plan this week.\n\n"
        "Best,\nSarah Chen",
        "Trevor Malik <trevor.malik@harborview.example>",
        [],
    ),
    (
        "outreach",
        "bluewater-logistics",
        {"type": "signal", "signal_id": "sig-bluewater-008"},
        ["sig-bluewater-008", "sig-bluewater-007", "bluewater-logistics/risks"],
        "Bluewater RFP: our response plan",
        "Hi Fiona,\n\nWe saw that Stratus Insights and Corvane Data were invited to the RFP "
        "[sig-bluewater-008]. Could we meet before the oral presentation?\n\nBest,\n"
        "Marcus Okafor",
        "Fiona Gallagher <fiona.gallagher@bluewater.example>",
        [],
    ),
    (
        "outreach",
        "meridian-health",
        {"type": "signal", "signal_id": "sig-meridian-012"},
        ["sig-meridian-012", "meridian-health/relationship-map"],
        "Congratulations, Grace",
        "Hi Grace,\n\nCongratulations on being confirmed as acting VP Clinical Analytics "
        "[sig-meridian-012].\n\nBest,\nPriya Raman",
        "Grace Liu <grace.liu@meridian.example>",
        [],
    ),
]


def seed_drafts(sessions: sessionmaker[Session]) -> dict[str, int]:
    """The drafts above, keyed by account (and kind for a second one of the same account)."""
    chunks = _sample_chunks()
    ids: dict[str, int] = {}
    for kind, account, trigger, sources, subject, body, recipient, findings in DRAFTS:
        result = draft_result(
            kind=kind,
            account_id=account,
            subject=subject,
            body=body,
            recipient=recipient,
            findings=findings,
            sources=[chunks[s] for s in sources],
        )
        first = chunks[sources[0]]
        result.trigger = {**trigger, "title": trigger.get("title", first.title)}
        with transaction(sessions) as session:
            draft = crud.create_draft(session, result=result)
            session.flush()
            ids[f"{account}/{kind}"] = draft.id
    return ids


@dataclass
class LiveDesk:
    url: str
    sessions: sessionmaker[Session]
    outbox: Path
    drafts: dict[str, int] = field(default_factory=dict)

    def draft(self, key: str) -> int:
        return self.drafts[key]


@pytest.fixture
def live_desk(workspace: Path, tmp_path: Path, password_hash: str) -> Iterator[LiveDesk]:
    """The desk over a copy of the ingested samples, served by uvicorn in a thread."""
    settings = make_settings(workspace)
    sessions = make_sessions(settings.resolved_database_url)
    add_team(sessions, password_hash)
    with transaction(sessions) as session:
        from approval_ui import users

        users.create_user(
            session,
            email=PRIYA,
            name="Priya Raman",
            role="sam",
            password="",
            password_hash=password_hash,
        )
    drafts = seed_drafts(sessions)
    outbox = tmp_path / "outbox"
    app = create_app(settings, sender=OutboxFolderSender(outbox))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the desk did not start"
        assert thread.is_alive(), "the desk server thread died"
        time.sleep(0.05)
    try:
        yield LiveDesk(f"http://127.0.0.1:{port}", sessions, outbox, drafts)
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture
def new_page(browser: Any, live_desk: LiveDesk) -> Iterator[Any]:
    """``new_page(email)``: a signed-in page in its own browser context (its own cookies)."""
    contexts: list[Any] = []
    errors: list[str] = []

    def make(email: str | None, *, width: int = 1400, height: int = 900) -> Any:
        context = browser.new_context(viewport={"width": width, "height": height})
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        if email:
            sign_in(page, live_desk.url, email)
        return page

    yield make
    for context in contexts:
        context.close()
    assert errors == [], f"JavaScript errors on the desk's pages: {errors}"


def sign_in(page: Any, url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{url}/login")
    page.fill('input[name="email"]', email)
    page.fill('input[name="password"]', password)
    page.click('button[type="submit"]')
    page.wait_for_url(f"{url}/")


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path
