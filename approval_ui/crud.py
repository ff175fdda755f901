"""The draft state machine, enforced where the data is stored.

pending -> approved -> sent, or rejected; a failed draft leaves ``failed`` only when a person
tries it again and the model's reply is usable (:func:`apply_retry`). A pending
draft whose approval request lapsed becomes ``expired`` (approval_ui/expiry.py) and only a
person's :func:`reopen` makes it pending again.
Every change appends a revision or an audit event (approval_ui/draft_history.py); nothing is
overwritten. Routes, the CLI and tests all go through these functions, so the rules hold
whoever calls.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from approval_ui.draft_history import (
    MODEL_AUTHOR,
    append_models_revision,
    append_revision,
    record,
    source_json,
    touch,
)
from approval_ui.messages import build_message
from samdesk.errors import ConflictError, NotFoundError, StateError
from samdesk.models import Draft, OutboxMessage, utcnow

if TYPE_CHECKING:  # the drafter pulls in the vector index; storage needs only the types
    from agent.drafting import DraftResult
    from agent.schemas import DraftOutput

EDITABLE = {"pending", "approved"}
DEFAULT_APPROVAL_TTL = timedelta(hours=72)  # Settings.approval_ttl_hours
REJECT_REASONS = {
    "inaccurate": "Inaccurate or unsupported claim",
    "wrong_recipient": "Wrong recipient",
    "tone": "Tone or style",
    "not_relevant": "Not relevant or badly timed",
    "duplicate": "Duplicate of another message",
    "sensitive": "Sensitive: handle personally",
    "other": "Other",
}


def create_draft(
    session: Session, *, result: DraftResult, approval_ttl: timedelta = DEFAULT_APPROVAL_TTL
) -> Draft:
    """Store a drafter result: a pending draft with revision 1, or a visible failed draft."""
    draft = Draft(
        expires_at=utcnow() + approval_ttl if result.output else None,
        kind=result.kind,
        account_id=result.account_id,
        status="pending" if result.output else "failed",
        trigger=result.trigger,
        prompt_id=result.prompt.kind,
        prompt_version=result.prompt.version,
        prompt_hash=result.prompt.hash,
        model=result.model,
        sources=[source_json(r) for r in result.sources],
        usage=result.usage,
        latency_ms=result.latency_ms,
        findings=[f.to_json() for f in result.findings],
        failure_reason=result.failure_reason if result.output is None else None,
    )
    session.add(draft)
    session.flush()
    if result.output is not None:
        append_models_revision(session, draft, result.output, result.recipient)
    record(
        session,
        draft,
        "created" if result.output else "failed",
        MODEL_AUTHOR,
        {"reason": result.failure_reason} if result.output is None else {},
    )
    return draft


def get_draft(session: Session, draft_id: int, *, for_update: bool = False) -> Draft:
    query = select(Draft).where(Draft.id == draft_id)
    if for_update:
        query = query.with_for_update()
    draft = session.scalars(query).one_or_none()
    if draft is None:
        raise NotFoundError(f"draft {draft_id} does not exist")
    return draft


def edit_draft(
    session: Session,
    draft: Draft,
    *,
    by: str,
    subject: str | None = None,
    body: str | None = None,
    recipient: str | None = None,
    expected_version: int | None = None,
    note: str | None = None,
    recheck: Callable[[Draft], list[dict[str, Any]]] | None = None,
) -> Draft:
    """A new revision; editing an approved draft returns it to pending.

    ``recheck`` gives the grounding findings of the new text (approval_ui/draft_inputs.py);
    they replace the old ones, and the audit event names the flags the edit resolved and
    the findings it brought in.
    """
    check_version(draft, expected_version)
    if draft.status not in EDITABLE:
        raise StateError(
            f"draft {draft.id} is {draft.status}; only pending or approved drafts can be edited"
        )
    current = draft.current
    # Browsers submit a textarea with CRLF line ends; stored text (and the email) uses LF.
    new = (
        _lf(subject) if subject is not None else current.subject,
        _lf(body) if body is not None else current.body,
        _lf(recipient) if recipient is not None else current.recipient,
    )
    if new == (current.subject, current.body, current.recipient):
        return draft
    append_revision(
        session,
        draft,
        subject=new[0],
        body=new[1],
        recipient=new[2],
        citations=current.citations,
        author=by,
        note=note,
    )
    detail: dict[str, Any] = {"revision": draft.current.number}
    if recheck is not None:
        before, draft.findings = draft.findings, recheck(draft)
        after = _flags(draft.findings)
        if resolved := [m for m in _flags(before) if m not in after]:
            detail["resolved_flags"] = resolved
        earlier = {f.get("message") for f in before}
        if added := [f["message"] for f in draft.findings if f.get("message") not in earlier]:
            detail["new_findings"] = added
    if draft.status == "approved":
        _unapprove(session, draft, by)
    record(session, draft, "edited", by, detail)
    return draft


def approve(
    session: Session,
    draft: Draft,
    *,
    by: str,
    mail_from: str,
    expected_version: int | None = None,
    confirm_flags: bool = False,
) -> Draft:
    """Bind approval to the current revision's hash and queue its exact message bytes."""
    check_version(draft, expected_version)
    if draft.status == "expired" or draft.approval_lapsed:
        raise StateError(
            f"draft {draft.id}: its approval request expired"
            f"{f' at {draft.expires_at:%Y-%m-%d %H:%M} UTC' if draft.expires_at else ''}; "
            "reopen it to review it again"
        )
    if draft.status != "pending":
        raise StateError(f"draft {draft.id} is {draft.status}; only pending drafts can be approved")
    flags = _flags(draft.findings)
    if flags and not confirm_flags:
        raise StateError(
            f"draft {draft.id} has {len(flags)} unresolved grounding flag(s); "
            "review them and confirm to approve anyway"
        )
    revision = draft.current
    draft.status = "approved"
    draft.approved_revision = revision.number
    draft.approved_hash = revision.content_hash
    draft.approved_by = by
    draft.approved_at = utcnow()
    message_id, message = build_message(draft, revision, mail_from=mail_from)
    session.add(
        OutboxMessage(
            draft_id=draft.id,
            revision_number=revision.number,
            message_id=message_id,
            content_hash=revision.content_hash,
            message=message,
            status="queued",
        )
    )
    touch(draft)
    detail: dict[str, Any] = {"revision": revision.number}
    if flags:
        detail["confirmed_flags"] = flags
    record(session, draft, "approved", by, detail)
    return draft


def reject(
    session: Session,
    draft: Draft,
    *,
    by: str,
    reason: str,
    expected_version: int | None = None,
    category: str | None = None,
) -> Draft:
    """Reject with free text, a category from :data:`REJECT_REASONS`, or both."""
    check_version(draft, expected_version)
    if draft.status not in EDITABLE:
        raise StateError(f"draft {draft.id} is {draft.status}; it cannot be rejected")
    if category and category not in REJECT_REASONS:
        raise StateError(f"unknown rejection reason {category!r}; use one of the listed reasons")
    label = REJECT_REASONS[category] if category else ""
    text = ": ".join(part for part in (label, reason.strip()) if part)
    if not text:
        raise StateError("a rejection needs a reason")
    if draft.status == "approved":
        _unapprove(session, draft, by)
    draft.status = "rejected"
    draft.reject_reason = text
    touch(draft)
    detail = {"reason": text, **({"category": category} if category else {})}
    record(session, draft, "rejected", by, detail)
    return draft


def apply_regeneration(
    session: Session,
    draft: Draft,
    *,
    by: str,
    output: DraftOutput,
    findings: list[dict[str, Any]],
    instruction: str,
    expected_version: int | None,
    model: str,
    usage: dict[str, Any],
) -> Draft:
    """The model's rewrite becomes a new revision; earlier ones stay in the history."""
    check_version(draft, expected_version)
    if draft.status not in EDITABLE:
        raise StateError(f"draft {draft.id} is {draft.status}; it cannot be regenerated")
    append_models_revision(
        session, draft, output, draft.current.recipient, note=f"regenerated: {instruction}"
    )
    if draft.status == "approved":
        _unapprove(session, draft, by)
    draft.findings = findings  # the grounding flags of the new text replace the old ones
    record(
        session,
        draft,
        "regenerated",
        by,
        {
            "revision": draft.current.number,
            "instruction": instruction,
            "model": model,
            "usage": usage,
            "findings": len(findings),
        },
    )
    return draft


def apply_retry(
    session: Session,
    draft: Draft,
    *,
    by: str,
    result: DraftResult,
    expected_version: int | None,
    approval_ttl: timedelta = DEFAULT_APPROVAL_TTL,
) -> Draft:
    """A person's new try at a failed draft: a usable reply makes it pending with the
    model's revision 1; another failure keeps it failed with the new reason."""
    check_version(draft, expected_version)
    if draft.status != "failed":
        raise StateError(f"draft {draft.id} is {draft.status}; only a failed draft can be retried")
    draft.model, draft.usage, draft.latency_ms = result.model, result.usage, result.latency_ms
    draft.prompt_hash = result.prompt.hash
    kept = {r.chunk.id for r in result.sources}  # the prompt budget may have dropped some
    draft.sources = [s for s in draft.sources if s["id"] in kept]
    draft.findings = [f.to_json() for f in result.findings]
    if result.output is None:
        draft.failure_reason = result.failure_reason
        touch(draft)
        record(session, draft, "failed", by, {"reason": result.failure_reason, "retry": True})
        return draft
    append_models_revision(
        session, draft, result.output, result.recipient, note=f"drafted again at {by}'s request"
    )
    draft.status = "pending"
    draft.failure_reason = None
    draft.expires_at = utcnow() + approval_ttl
    detail = {
        "revision": draft.current.number,
        "model": result.model,
        "findings": len(draft.findings),
    }
    record(session, draft, "retried", by, detail)
    return draft


def reopen(session: Session, draft: Draft, *, by: str, approval_ttl: timedelta) -> Draft:
    """A person takes an expired draft back: a new pending revision with a fresh deadline."""
    if draft.status != "expired" and not draft.approval_lapsed:
        raise StateError(f"draft {draft.id} is {draft.status}; only expired drafts can be reopened")
    current = draft.current
    append_revision(
        session,
        draft,
        subject=current.subject,
        body=current.body,
        recipient=current.recipient,
        citations=current.citations,
        author=by,
        note="reopened after its approval request expired",
    )
    draft.status = "pending"
    draft.expires_at = utcnow() + approval_ttl
    record(
        session,
        draft,
        "reopened",
        by,
        {"revision": draft.current.number, "expires_at": draft.expires_at.isoformat()},
    )
    return draft


def queued_message(session: Session, draft: Draft) -> OutboxMessage:
    """The outbox row of the approved revision; the only thing a sender may transmit."""
    if draft.status != "approved":
        raise StateError(f"draft {draft.id} is {draft.status}; only approved drafts can be sent")
    row = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.draft_id == draft.id,
            OutboxMessage.revision_number == draft.approved_revision,
        )
    ).one()
    if row.content_hash != draft.approved_hash or draft.current.content_hash != draft.approved_hash:
        raise StateError(f"draft {draft.id}: the queued message does not match the approval")
    return row


def audit(session: Session, draft: Draft, action: str, actor: str, **detail: Any) -> None:
    record(session, draft, action, actor, detail)


def _unapprove(session: Session, draft: Draft, by: str) -> None:
    """Withdraw an approval: its queued message is cancelled and can never be sent."""
    sending = session.scalars(
        select(OutboxMessage.id).where(
            OutboxMessage.draft_id == draft.id, OutboxMessage.status.in_(("sending", "unknown"))
        )
    ).first()
    if sending is not None:
        raise StateError(
            f"draft {draft.id} is being sent (or its delivery is unconfirmed); "
            "it cannot be changed now"
        )
    for row in session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.draft_id == draft.id, OutboxMessage.status == "queued"
        )
    ):
        row.status = "cancelled"
    draft.status = "pending"
    draft.approved_revision = None
    draft.approved_hash = None
    draft.approved_by = None
    draft.approved_at = None
    record(session, draft, "unapproved", by, {})


def check_version(draft: Draft, expected: int | None) -> None:
    if expected is not None and expected != draft.version:
        raise ConflictError(
            f"draft {draft.id} changed since you opened it (your version {expected}, "
            f"now {draft.version}); reload to see the other change"
        )


def _flags(findings: list[dict[str, Any]]) -> list[str]:
    """The messages of the findings that need a confirmed approval (errors, not warnings)."""
    return [f["message"] for f in findings if f.get("severity") == "error"]


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")
