"""Builders for drafts in known states, without calling a model, and for ingest inputs."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from agent.drafting import DraftResult
from agent.grounding import Finding
from agent.prompts import load_prompt
from agent.schemas import DraftOutput
from approval_ui import crud
from retrieval.chunks import Chunk
from retrieval.index import RetrievedChunk
from samdesk.db import transaction
from samdesk.models import Account, Draft
from tests.conftest import SAMPLES

SOURCE = Chunk(
    id="sig-acme-901",
    account_id="acme-financial",
    kind="signal",
    section="leadership_change",
    title="Acme Financial names Laura Kim as CFO",
    text="Acme Financial Corp appointed Laura Kim as CFO on November 3, 2026.",
    published_at=datetime(2026, 11, 3, tzinfo=UTC),
    url="https://news.example/acme-cfo",
)


def draft_result(
    *,
    kind: str = "outreach",
    account_id: str = "acme-financial",
    subject: str = "Congratulations on the new CFO",
    body: str = "Hi Robert, congratulations on welcoming Laura Kim as CFO [sig-acme-901].",
    recipient: str = "Robert Ainsley <robert.ainsley@acmefinancial.example>",
    findings: list[Finding] | None = None,
    failed: str | None = None,
    sources: list[Chunk] | None = None,
) -> DraftResult:
    chunks = sources or [SOURCE]
    return DraftResult(
        kind=kind,
        account_id=account_id,
        trigger={"type": "signal", "signal_id": chunks[0].id, "title": chunks[0].title},
        prompt=load_prompt(kind),
        model="scripted",
        sources=[RetrievedChunk(c, 1.0, 1.0) for c in chunks],
        recipient=recipient,
        output=None
        if failed
        else DraftOutput(subject=subject, body=body, citations=[chunks[0].id]),
        failure_reason=failed,
        findings=findings or [],
        usage={"prompt_tokens": 100, "completion_tokens": 50},
        latency_ms=10,
        attempts=1,
    )


def ensure_account(
    session: Session,
    account_id: str = "acme-financial",
    owner_email: str = "sarah.chen@northwind.example",
) -> None:
    if session.get(Account, account_id) is None:
        session.add(
            Account(
                id=account_id,
                name=account_id.replace("-", " ").title(),
                industry="Test",
                owner_sam="Sarah Chen",
                owner_email=owner_email,
                arr_usd=1,
                strategic_score=50.0,
                plan={},
                plan_hash="x",
            )
        )


def make_draft(sessions: sessionmaker[Session], **kwargs: Any) -> int:
    """Store a draft built by :func:`draft_result` and return its id."""
    result = draft_result(**kwargs)
    with transaction(sessions) as session:
        ensure_account(session, result.account_id)
        session.flush()
        draft: Draft = crud.create_draft(session, result=result)
        session.flush()
        return draft.id


def one_account_inputs(folder: Path, account_id: str = "acme-financial") -> Path:
    """``folder``, made to ingest: one sample account's plan and its sample signals only."""
    (folder / "signals").mkdir(parents=True)
    shutil.copy(SAMPLES / "accounts" / f"{account_id}.md", folder)
    lines = [
        line
        for line in (SAMPLES / "signals" / "signals.jsonl").read_text().splitlines()
        if f'"{account_id}"' in line
    ]
    (folder / "signals" / f"{account_id}.jsonl").write_text("\n".join(lines) + "\n")
    return folder
