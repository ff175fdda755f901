"""The JSON API: the same actions as the pages, for integrations and scripts."""

from __future__ import annotations

from fastapi import APIRouter

from approval_ui import crud, queue
from approval_ui.deps import CurrentUser, SenderDep, SessionDep, SessionsDep, SettingsDep
from approval_ui.schemas import (
    ApproveRequest,
    AuditPublic,
    DraftPublic,
    DraftSummary,
    DraftUpdate,
    ErrorPublic,
    OutboxPublic,
    RejectRequest,
)
from approval_ui.sending import send_draft
from samdesk.db import transaction

ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorPublic, "description": "no such draft"},
    409: {"model": ErrorPublic, "description": "the draft's state or version forbids this"},
}
router = APIRouter(prefix="/api", tags=["drafts"])


@router.get("/drafts", response_model=list[DraftSummary])
def list_drafts(
    session: SessionDep,
    account: str | None = None,
    kind: str | None = None,
    status: str | None = None,
) -> list[DraftSummary]:
    drafts = queue.list_drafts(session, account_id=account, kind=kind, status=status)
    return [DraftSummary.model_validate(queue.summary(d)) for d in drafts]


@router.get("/drafts/{draft_id}", response_model=DraftPublic, responses=ERRORS)
def get_draft(draft_id: int, session: SessionDep) -> DraftPublic:
    return DraftPublic.model_validate(queue.detail(crud.get_draft(session, draft_id)))


@router.patch("/drafts/{draft_id}", response_model=DraftPublic, responses=ERRORS)
def edit_draft(
    draft_id: int, update: DraftUpdate, sessions: SessionsDep, user: CurrentUser
) -> DraftPublic:
    with transaction(sessions) as session:
        draft = crud.get_draft(session, draft_id, for_update=True)
        crud.edit_draft(
            session,
            draft,
            by=user,
            subject=update.subject,
            body=update.body,
            recipient=update.recipient,
            expected_version=update.version,
        )
        session.flush()  # fills the new revision's created_at, which the response includes
        return DraftPublic.model_validate(queue.detail(draft))


@router.post("/drafts/{draft_id}/approve", response_model=DraftPublic, responses=ERRORS)
def approve_draft(
    draft_id: int,
    request: ApproveRequest,
    sessions: SessionsDep,
    user: CurrentUser,
    settings: SettingsDep,
) -> DraftPublic:
    with transaction(sessions) as session:
        draft = crud.get_draft(session, draft_id, for_update=True)
        crud.approve(
            session,
            draft,
            by=user,
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
        draft = crud.get_draft(session, draft_id, for_update=True)
        crud.reject(
            session, draft, by=user, reason=request.reason, expected_version=request.version
        )
        return DraftPublic.model_validate(queue.detail(draft))


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
    row = send_draft(sessions, draft_id, sender=sender, by=user, mail_from=settings.mail_from)
    return OutboxPublic.model_validate(row)


@router.get("/drafts/{draft_id}/audit", response_model=list[AuditPublic], responses=ERRORS)
def audit(draft_id: int, session: SessionDep) -> list[AuditPublic]:
    crud.get_draft(session, draft_id)
    return [AuditPublic.model_validate(e) for e in queue.audit_log(session, draft_id)]


@router.get("/outbox", response_model=list[OutboxPublic])
def outbox(session: SessionDep) -> list[OutboxPublic]:
    return [OutboxPublic.model_validate(row) for row in queue.outbox(session)]
