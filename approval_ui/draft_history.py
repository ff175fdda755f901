"""A draft's history, which only grows: every change appends a revision or an audit event
and bumps the version by which a reviewer holding an older page is caught (409).

The state machine (approval_ui/crud.py) decides which changes may happen; this module is
how each one is written down, the same way whichever transition made it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from approval_ui.messages import content_hash
from samdesk.models import AuditEvent, Draft, Revision, utcnow

if TYPE_CHECKING:
    from agent.schemas import DraftOutput

MODEL_AUTHOR = "samdesk:model"


def append_revision(
    session: Session,
    draft: Draft,
    *,
    subject: str,
    body: str,
    recipient: str,
    citations: list[Any],
    author: str,
    note: str | None = None,
) -> None:
    number = draft.revisions[-1].number + 1 if draft.revisions else 1
    revision = Revision(
        draft=draft,
        number=number,
        subject=subject,
        body=body,
        recipient=recipient,
        citations=list(citations),
        author=author,
        note=note,
        content_hash=content_hash(subject, body, recipient),
    )
    session.add(revision)
    touch(draft)


def append_models_revision(
    session: Session, draft: Draft, output: DraftOutput, recipient: str, note: str | None = None
) -> None:
    append_revision(
        session,
        draft,
        subject=output.subject,
        body=output.body,
        recipient=recipient,
        citations=output.citations,
        author=MODEL_AUTHOR,
        note=note,
    )


def touch(draft: Draft) -> None:
    draft.version = (draft.version or 1) + 1
    draft.updated_at = utcnow()


def record(session: Session, draft: Draft, action: str, actor: str, detail: dict[str, Any]) -> None:
    revision_hash = draft.revisions[-1].content_hash if draft.revisions else None
    session.add(
        AuditEvent(
            draft_id=draft.id,
            action=action,
            actor=actor,
            revision_hash=revision_hash,
            detail=detail,
        )
    )


def source_json(retrieved: Any) -> dict[str, Any]:
    chunk = retrieved.chunk
    return {
        "id": chunk.id,
        "kind": chunk.kind,
        "section": chunk.section,
        "title": chunk.title,
        "text": chunk.text,
        "url": chunk.url,
        "published_at": chunk.published_at.isoformat() if chunk.published_at else None,
        "score": round(retrieved.score, 4),
    }
