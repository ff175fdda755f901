"""The JSON API for drafts: the same actions as the pages, for integrations and scripts.

Authenticate with ``Authorization: Bearer <API token>`` (no CSRF token needed), or with
the desk's session cookie plus an ``X-CSRF-Token`` header (the desk's own JavaScript).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from approval_ui import assignments, crud, queue
from approval_ui.deps import (
    CurrentUser,
    DrafterDep,
    ManagerUser,
    SenderDep,
    SessionDep,
    SessionsDep,
    SettingsDep,
)
from approval_ui.diffs import diff_revisions
from approval_ui.permissions import draft_for
from approval_ui.regenerate import regenerate_draft
from approval_ui.schemas import (
    ApproveRequest,
    AuditPublic,
    DiffPublic,
    DraftPublic,
    DraftSummary,
    DraftUpdate,
    ErrorPublic,
    OutboxPublic,
    ReassignedPublic,
    ReassignRequest,
    RegenerateRequest,
    RejectRequest,
)
from approval_ui.sending import send_draft
from samdesk.db import transaction

ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorPublic, "description": "not signed in / no valid API token"},
    403: {"model": ErrorPublic, "description": "another SAM's draft, or a missing CSRF token"},
    404: {"model": ErrorPublic, "description": "no such draft"},
    409: {"model": ErrorPublic, "description": "the draft's state or version forbids this"},
}
router = APIRouter(prefix="/api", tags=["drafts"], responses={401: ERRORS[401]})


@router.get("/drafts", response_model=list[DraftSummary])
def list_drafts(
    session: SessionDep,
    user: CurrentUser,
    account: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    q: str | None = None,
) -> list[DraftSummary]:
    """Your drafts (all of them for managers) in queue order; ``q`` searches text and reasons."""
    ranked = queue.ranked_drafts(
        session, user=user, account_id=account, kind=kind, status=status, q=q
    )
    return [DraftSummary.model_validate(queue.summary(d, p)) for d, p in ranked]


@router.get("/drafts/{draft_id}", response_model=DraftPublic, responses=ERRORS)
def get_draft(draft_id: int, session: SessionDep, user: CurrentUser) -> DraftPublic:
    return DraftPublic.model_validate(queue.detail(draft_for(session, draft_id, user)))


@router.patch("/drafts/{draft_id}", response_model=DraftPublic, responses=ERRORS)
def edit_draft(
    draft_id: int, update: DraftUpdate, sessions: SessionsDep, user: CurrentUser
) -> DraftPublic:
    with transaction(sessions) as session:
        draft = draft_for(session, draft_id, user, for_update=True)
        crud.edit_draft(
            session,
            draft,
            by=user.email,
            subject=update.subject,
            body=update.body,
            recipient=update.recipient,
            expected_version=update.version,
        )
        session.flush()  # fills the new revision's created_at, which the response includes
        return DraftPublic.model_validate(queue.detail(draft))


@router.post("/drafts/{draft_id}/regenerate", response_model=DraftPublic, responses=ERRORS)
def regenerate(
    draft_id: int,
    request: RegenerateRequest,
    sessions: SessionsDep,
    user: CurrentUser,
    drafter: DrafterDep,
) -> DraftPublic:
    """Ask the model to rewrite the draft ("shorter", "more formal"); a new revision."""
    regenerate_draft(
        sessions,
        draft_id,
        drafter=drafter,
        user=user,
        instruction=request.instruction,
        expected_version=request.version,
    )
    with sessions() as session:
        return DraftPublic.model_validate(queue.detail(draft_for(session, draft_id, user)))


@router.post("/drafts/{draft_id}/approve", response_model=DraftPublic, responses=ERRORS)
def approve_draft(
    draft_id: int,
    request: ApproveRequest,
    sessions: SessionsDep,
    user: CurrentUser,
    settings: SettingsDep,
) -> DraftPublic:
    with transaction(sessions) as session:
        draft = draft_for(session, draft_id, user, for_update=True)
        crud.approve(
            session,
            draft,
            by=user.email,
            mail_from=settings.mail_from,
            expected_version=request.version,
            confirm_flags=request.confirm_flags,
        )
        return DraftPublic.model_validate(queue.detail(draft))


@router.post("/drafts/{draft_id}/reject", response_model=DraftPublic, responses=ERRORS)
def reject_draft(
    draft_id: int, request: RejectRequest, sessions: SessionsDep, user: CurrentUser
) -> DraftPublic:
    with transaction(sessions) as session:
        draft = draft_for(session, draft_id, user, for_update=True)
        crud.reject(
            session,
            draft,
            by=user.email,
            reason=request.reason,
            category=request.category,
            expected_version=request.version,
        )
        return DraftPublic.model_validate(queue.detail(draft))


@router.get("/reject-reasons", response_model=dict[str, str])
def reject_reasons(user: CurrentUser) -> dict[str, str]:
    """The categories a rejection can name (key -> label)."""
    return crud.REJECT_REASONS


@router.post(
    "/drafts/{draft_id}/send",
    response_model=OutboxPublic,
    responses={**ERRORS, 502: {"model": ErrorPublic, "description": "delivery failed"}},
)
def send(
    draft_id: int,
    sessions: SessionsDep,
    sender: SenderDep,
    user: CurrentUser,
    settings: SettingsDep,
) -> OutboxPublic:
    with sessions() as session:
        draft_for(session, draft_id, user)
    row = send_draft(sessions, draft_id, sender=sender, by=user.email, mail_from=settings.mail_from)
    return OutboxPublic.model_validate(row)


@router.post("/drafts/{draft_id}/reassign", response_model=ReassignedPublic, responses=ERRORS)
def reassign_draft(
    draft_id: int, request: ReassignRequest, sessions: SessionsDep, user: ManagerUser
) -> ReassignedPublic:
    """Managers: give this draft to another SAM (it leaves the account owner's queue)."""
    with transaction(sessions) as session:
        draft = draft_for(session, draft_id, user, for_update=True)
        assignments.reassign(session, draft, to=request.assignee, by=user)
    return ReassignedPublic(draft_ids=[draft_id], assignee=request.assignee.strip().lower())


@router.post("/accounts/{account_id}/reassign", response_model=ReassignedPublic)
def reassign_account(
    account_id: str, request: ReassignRequest, sessions: SessionsDep, user: ManagerUser
) -> ReassignedPublic:
    """Managers: give every open draft of an account to another SAM."""
    with transaction(sessions) as session:
        ids = assignments.reassign_account(session, account_id, to=request.assignee, by=user)
    return ReassignedPublic(draft_ids=ids, assignee=request.assignee.strip().lower())


@router.get("/drafts/{draft_id}/diff", response_model=DiffPublic, responses=ERRORS)
def diff(
    draft_id: int,
    session: SessionDep,
    user: CurrentUser,
    against: Literal["original", "previous"] = "original",
) -> DiffPublic:
    """The current revision against the model's original, or against the one before it."""
    revisions = draft_for(session, draft_id, user).revisions
    if not revisions:
        return DiffPublic(old=0, new=0, changed=False, fields=[])
    old = revisions[0] if against == "original" else revisions[max(len(revisions) - 2, 0)]
    return DiffPublic.model_validate(diff_revisions(old, revisions[-1]))


@router.get("/drafts/{draft_id}/audit", response_model=list[AuditPublic], responses=ERRORS)
def audit(draft_id: int, session: SessionDep, user: CurrentUser) -> list[AuditPublic]:
    draft_for(session, draft_id, user)
    return [AuditPublic.model_validate(e) for e in queue.audit_log(session, draft_id)]


@router.get("/outbox", response_model=list[OutboxPublic])
def outbox(session: SessionDep, user: CurrentUser) -> list[OutboxPublic]:
    return [OutboxPublic.model_validate(row) for row in queue.outbox(session, user=user)]
