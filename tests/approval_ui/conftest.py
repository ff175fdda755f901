"""Fixtures of the approval desk: a real app over a real SQLite file, real senders, real SMTP
(tests/smtp_server.py)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agent.drafting import Drafter
from agent.llm import ScriptedChatModel
from approval_ui import crud, users
from approval_ui.auth import hash_password
from approval_ui.delivery import SMTPSender
from approval_ui.deps import get_drafter
from approval_ui.main import create_app
from approval_ui.outbox_worker import OutboxWorker
from approval_ui.sending import OutboxFolderSender, Sender, send_draft
from retrieval.index import VectorIndex
from retrieval.plans import load_plan
from samdesk.config import Settings
from samdesk.db import transaction
from samdesk.models import Account, AuditEvent, Draft, OutboxMessage, utcnow
from samdesk.pacing import ManualClock
from tests.conftest import SAMPLES
from tests.factories import draft_result, ensure_account, make_draft
from tests.smtp_server import SMTPServer, free_port, running_smtp_server

REVIEWER = "sarah.chen@northwind.example"  # the SAM the ``client`` fixture signs in as
OTHER_SAM = "marcus.okafor@northwind.example"
MANAGER = "dana.whitfield@northwind.example"
ADMIN = "admin@northwind.example"
PASSWORD = "correct horse battery staple"
TEAM = (
    (REVIEWER, "Sarah Chen", "sam"),
    (OTHER_SAM, "Marcus Okafor", "sam"),
    (MANAGER, "Dana Whitfield", "manager"),
    (ADMIN, "Desk Admin", "admin"),
)


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    with running_smtp_server() as server:
        yield server


@pytest.fixture
def closed_port() -> int:
    """A loopback port nobody listens on."""
    return free_port()


@pytest.fixture
def outbox_dir(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


@pytest.fixture
def folder_sender(outbox_dir: Path) -> OutboxFolderSender:
    return OutboxFolderSender(outbox_dir)


def eml_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.eml")) if folder.exists() else []


@pytest.fixture
def clock() -> ManualClock:
    """A hand-moved clock starting now, for the outbox sender worker."""
    return ManualClock(utcnow())


def smtp_worker(
    sessions: sessionmaker[Session],
    settings: Settings,
    port: int,
    *,
    clock: ManualClock,
    timeout_s: float = 5.0,
    **overrides: object,
) -> OutboxWorker:
    """The outbox sender worker, sending over SMTP to ``127.0.0.1:port`` on ``clock``;
    ``overrides`` change its settings (``send_backoff_s``, ``send_max_attempts``...)."""
    tuned = settings.model_copy(update=overrides) if overrides else settings
    transport = SMTPSender("127.0.0.1", port, timeout_s=timeout_s)
    return OutboxWorker(sessions, transport, settings=tuned, clock=clock)


@dataclass
class Desk:
    """The storage-layer actions, each in its own committed transaction, as routes do them."""

    sessions: sessionmaker[Session]
    settings: Settings
    sender: Sender
    actor: str = REVIEWER

    def get(self, draft_id: int) -> Draft:
        with self.sessions() as session:
            draft = crud.get_draft(session, draft_id)
            _ = draft.revisions  # loaded while the session is open
            return draft

    def edit(self, draft_id: int, *, by: str | None = None, **changes: Any) -> Draft:
        with transaction(self.sessions) as session:
            draft = crud.get_draft(session, draft_id, for_update=True)
            crud.edit_draft(session, draft, by=by or self.actor, **changes)
            _ = draft.revisions
            return draft

    def approve(self, draft_id: int, **kwargs: Any) -> Draft:
        with transaction(self.sessions) as session:
            draft = crud.get_draft(session, draft_id, for_update=True)
            crud.approve(
                session,
                draft,
                by=kwargs.pop("by", self.actor),
                mail_from=kwargs.pop("mail_from", self.settings.mail_from),
                **kwargs,
            )
            _ = draft.revisions
            return draft

    def reject(self, draft_id: int, reason: str, **kwargs: Any) -> Draft:
        with transaction(self.sessions) as session:
            draft = crud.get_draft(session, draft_id, for_update=True)
            crud.reject(session, draft, by=kwargs.pop("by", self.actor), reason=reason, **kwargs)
            _ = draft.revisions
            return draft

    def approved_draft(self, **kwargs: Any) -> int:
        """A new draft (as :func:`tests.factories.make_draft`), approved: one queued outbox row."""
        draft_id = make_draft(self.sessions, **kwargs)
        self.approve(draft_id)
        return draft_id

    def send(
        self, draft_id: int, *, sender: Sender | None = None, mail_from: str | None = None
    ) -> OutboxMessage:
        return send_draft(
            self.sessions,
            draft_id,
            sender=sender or self.sender,
            by=self.actor,
            mail_from=mail_from or self.settings.mail_from,
        )

    def outbox(self, draft_id: int) -> list[OutboxMessage]:
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.draft_id == draft_id)
                    .order_by(OutboxMessage.id)
                )
            )

    def audit(self, draft_id: int) -> list[AuditEvent]:
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.draft_id == draft_id)
                    .order_by(AuditEvent.id)
                )
            )


@pytest.fixture
def desk(
    sessions: sessionmaker[Session], settings: Settings, folder_sender: OutboxFolderSender
) -> Desk:
    return Desk(sessions, settings, folder_sender)


@pytest.fixture(scope="session")
def password_hash() -> str:
    """argon2 is slow on purpose: hash the test password once per run."""
    return hash_password(PASSWORD)


def add_team(sessions: sessionmaker[Session], password_hash: str) -> None:
    """Two SAMs, a manager and an admin, all with :data:`PASSWORD`."""
    with transaction(sessions) as session:
        for email, name, role in TEAM:
            users.create_user(
                session, email=email, name=name, role=role, password="", password_hash=password_hash
            )


def csrf_of(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert match, "the page carries no CSRF token"
    return match.group(1)


def login(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Sign in through the real form; the client then sends the CSRF header like desk.js does."""
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, "the login form carries no CSRF token"
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    csrf = csrf_of(client.get("/").text)
    client.headers["X-CSRF-Token"] = csrf
    return csrf


@pytest.fixture
def app(
    settings: Settings,
    sessions: sessionmaker[Session],
    folder_sender: OutboxFolderSender,
    password_hash: str,
) -> Iterator[FastAPI]:
    """The desk app over the same database file as ``sessions``, with :data:`TEAM` in it."""
    add_team(sessions, password_hash)
    desk = create_app(settings, sender=folder_sender)
    with TestClient(desk):  # runs the lifespan: migrations and the session factory
        yield desk


@pytest.fixture
def signed_in(app: FastAPI) -> Callable[..., TestClient]:
    """A client signed in as ``email`` (each with its own cookies); ``None``: not signed in."""

    def make(email: str | None) -> TestClient:
        test_client = TestClient(app)
        if email:
            login(test_client, email)
        return test_client

    return make


@pytest.fixture
def client(signed_in: Callable[..., TestClient]) -> TestClient:
    """Sarah Chen's browser: she owns every account that tests/factories.py creates."""
    return signed_in(REVIEWER)


@pytest.fixture
def anonymous(signed_in: Callable[..., TestClient]) -> TestClient:
    return signed_in(None)


def owned_draft(
    sessions: sessionmaker[Session],
    *,
    owner: str = REVIEWER,
    trigger: dict[str, Any] | None = None,
    strategic_score: float | None = None,
    **kwargs: Any,
) -> int:
    """A draft (as :func:`tests.factories.make_draft`) on an account owned by ``owner``,
    optionally with its own trigger and the account's strategic score."""
    result = draft_result(**kwargs)
    if trigger is not None:
        result.trigger = trigger
    with transaction(sessions) as session:
        ensure_account(session, result.account_id, owner_email=owner)
        session.flush()
        if strategic_score is not None:
            session.get_one(Account, result.account_id).strategic_score = strategic_score
        draft = crud.create_draft(session, result=result)
        session.flush()
        return draft.id


def acme_plan_draft(sessions: sessionmaker[Session], **kwargs: Any) -> int:
    """A pending draft (as :func:`owned_draft`) on the real Acme plan: regenerating replays
    the plan's prompt, and an edit is grounding-checked against the plan."""
    draft_id = owned_draft(sessions, **kwargs)
    with transaction(sessions) as session:
        account = session.get_one(Account, "acme-financial")
        if not account.plan:
            plan, errors = load_plan(SAMPLES / "accounts" / "acme-financial.md")
            assert plan is not None and not errors
            account.plan = plan.model_dump(mode="json")
    return draft_id


@pytest.fixture
def model() -> ScriptedChatModel:
    """The model behind the desk's drafter in tests using :func:`with_drafter`: push replies."""
    return ScriptedChatModel([], name="scripted-model")


@pytest.fixture
def with_drafter(app: FastAPI, index: VectorIndex, model: ScriptedChatModel) -> Iterator[None]:
    """The desk regenerates and retries through a drafter over ``model`` (no network)."""
    drafter = Drafter(model, index)
    app.dependency_overrides[get_drafter] = lambda: lambda: drafter
    yield
    app.dependency_overrides.clear()
