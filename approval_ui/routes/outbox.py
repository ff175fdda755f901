"""After approval: a person settles an unknown send, or reopens an expired approval request.

The outbox page's buttons post here (CSRF-checked forms that redirect back); the same
actions are in the JSON API under ``/api``. Each acts only on drafts the user may act on.
"""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from approval_ui import crud, queue
from approval_ui.deps import CurrentUser, PathId, SessionsDep, SettingsDep
from approval_ui.expiry import approval_ttl
from approval_ui.outbox_resolution import confirm_delivered, send_again
from approval_ui.permissions import Principal, draft_for
from approval_ui.schemas import (
    DraftPublic,
    ErrorPublic,
    OutboxPublic,
    ResolveRequest,
    VersionRequest,
)
from samdesk.config import Settings
from samdesk.db import transaction
from samdesk.errors import NotFoundError
from samdesk.models import OutboxMessage

router = APIRouter()
ERRORS: dict[int | str, dict[str, object]] = {
    403: {"model": ErrorPublic, "description": "another SAM's draft"},
    404: {"model": ErrorPublic, "description": "no such outbox message or draft"},
    409: {"model": ErrorPublic, "description": "its state forbids this"},
}
Outcome = Literal["delivered", "send_again"]


def resolve(
    sessions: sessionmaker[Session], row_id: int, user: Principal, outcome: Outcome, note: str
) -> OutboxMessage:
    with transaction(sessions) as session:
        row = session.get(OutboxMessage, row_id)
        if row is None:
            raise NotFoundError(f"outbox message {row_id} does not exist")
        draft_for(session, row.draft_id, user)  # 403 before anything changes
        act = confirm_delivered if outcome == "delivered" else send_again
        return act(session, row_id, by=user.email, note=note)


def reopen(
    sessions: sessionmaker[Session],
    draft_id: int,
    user: Principal,
    settings: Settings,
    version: int | None,
) -> DraftPublic:
    with transaction(sessions) as session:
        draft = draft_for(session, draft_id, user, for_update=True)
        crud.check_version(draft, version)
        crud.reopen(session, draft, by=user.email, approval_ttl=approval_ttl(settings))
        session.flush()
        return DraftPublic.model_validate(queue.detail(draft))


# The outbox page's two buttons: the path's last segment, the outcome, what the page says.
FormChoice = Literal["delivered", "send-again"]
FORM_OUTCOMES: dict[FormChoice, tuple[Outcome, str]] = {
    "delivered": ("delivered", "Marked {} as delivered."),
    "send-again": ("send_again", "Queued {} again (same Message-ID); the sender delivers it."),
}


@router.post("/outbox/{row_id}/{choice}", include_in_schema=False)
def resolve_form(
    row_id: PathId,
    choice: FormChoice,  # any other segment is a 422
    sessions: SessionsDep,
    user: CurrentUser,
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    outcome, notice = FORM_OUTCOMES[choice]
    row = resolve(sessions, row_id, user, outcome, note)
    return RedirectResponse(
        f"/outbox?notice={quote(notice.format(row.message_id))}", status_code=303
    )


@router.post("/drafts/{draft_id}/reopen", include_in_schema=False)
def reopen_form(
    draft_id: PathId,
    sessions: SessionsDep,
    user: CurrentUser,
    settings: SettingsDep,
    version: Annotated[int | None, Form()] = None,
) -> Response:
    reopen(sessions, draft_id, user, settings, version)
    notice = quote("Reopened: a new pending revision with a fresh approval deadline.")
    return RedirectResponse(f"/drafts/{draft_id}?notice={notice}", status_code=303)


@router.post(
    "/api/outbox/{row_id}/resolve", response_model=OutboxPublic, responses=ERRORS, tags=["drafts"]
)
def resolve_api(
    row_id: PathId, request: ResolveRequest, sessions: SessionsDep, user: CurrentUser
) -> OutboxPublic:
    """Settle a send whose outcome is unknown: ``delivered`` (mark it sent) or
    ``send_again`` (queue the same message, same Message-ID, for the sender)."""
    row = resolve(sessions, row_id, user, request.outcome, request.note)
    return OutboxPublic.model_validate(row)


@router.post(
    "/api/drafts/{draft_id}/reopen", response_model=DraftPublic, responses=ERRORS, tags=["drafts"]
)
def reopen_api(
    draft_id: PathId,
    request: VersionRequest,
    sessions: SessionsDep,
    user: CurrentUser,
    settings: SettingsDep,
) -> DraftPublic:
    """Take an expired draft back: a new pending revision with a fresh approval deadline."""
    return reopen(sessions, draft_id, user, settings, request.version)
