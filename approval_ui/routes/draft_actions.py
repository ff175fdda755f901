"""The draft page's forms: edit, regenerate, approve, reject, send, reassign.

Every post passes the CSRF check (in ``CurrentUser``) and the ownership check before it
acts; on success it redirects (no resubmits), on a state error it shows why, in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from approval_ui import assignments, crud
from approval_ui.deps import CurrentUser, DrafterDep, SenderDep, SessionsDep, SettingsDep
from approval_ui.permissions import ForbiddenError, Principal, draft_for
from approval_ui.regenerate import regenerate_draft
from approval_ui.routes.pages import render_draft
from approval_ui.sending import send_draft
from samdesk.db import transaction
from samdesk.errors import NotFoundError, SamdeskError

router = APIRouter(include_in_schema=False)


@router.post("/drafts/{draft_id}/edit")
def edit(
    request: Request,
    draft_id: int,
    sessions: SessionsDep,
    user: CurrentUser,
    subject: Annotated[str, Form()],
    body: Annotated[str, Form()],
    recipient: Annotated[str, Form()],
    version: Annotated[int, Form()],
) -> Response:
    def action() -> None:
        with transaction(sessions) as session:
            draft = draft_for(session, draft_id, user, for_update=True)
            crud.edit_draft(
                session,
                draft,
                by=user.email,
                subject=subject,
                body=body,
                recipient=recipient,
                expected_version=version,
            )

    return _act(request, sessions, draft_id, user, action, "Saved a new revision.")


@router.post("/drafts/{draft_id}/regenerate")
def regenerate(
    request: Request,
    draft_id: int,
    sessions: SessionsDep,
    user: CurrentUser,
    drafter: DrafterDep,
    instruction: Annotated[str, Form()],
    version: Annotated[int, Form()],
) -> Response:
    def action() -> None:
        regenerate_draft(
            sessions,
            draft_id,
            drafter=drafter,
            user=user,
            instruction=instruction,
            expected_version=version,
        )

    return _act(request, sessions, draft_id, user, action, "Regenerated: a new revision.")


@router.post("/drafts/{draft_id}/approve")
def approve(
    request: Request,
    draft_id: int,
    sessions: SessionsDep,
    user: CurrentUser,
    settings: SettingsDep,
    version: Annotated[int, Form()],
    confirm_flags: Annotated[bool, Form()] = False,
) -> Response:
    def action() -> None:
        with transaction(sessions) as session:
            draft = draft_for(session, draft_id, user, for_update=True)
            crud.approve(
                session,
                draft,
                by=user.email,
                mail_from=settings.mail_from,
                expected_version=version,
                confirm_flags=confirm_flags,
            )

    return _act(request, sessions, draft_id, user, action, "Approved.")


@router.post("/drafts/{draft_id}/reject")
def reject(
    request: Request,
    draft_id: int,
    sessions: SessionsDep,
    user: CurrentUser,
    version: Annotated[int, Form()],
    reason: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
) -> Response:
    def action() -> None:
        with transaction(sessions) as session:
            draft = draft_for(session, draft_id, user, for_update=True)
            crud.reject(
                session,
                draft,
                by=user.email,
                reason=reason,
                category=category or None,
                expected_version=version,
            )

    return _act(request, sessions, draft_id, user, action, "Rejected.")


@router.post("/drafts/{draft_id}/send")
def send(
    request: Request,
    draft_id: int,
    sessions: SessionsDep,
    user: CurrentUser,
    sender: SenderDep,
    settings: SettingsDep,
) -> Response:
    def action() -> None:
        with sessions() as session:
            draft_for(session, draft_id, user)
        send_draft(sessions, draft_id, sender=sender, by=user.email, mail_from=settings.mail_from)

    return _act(request, sessions, draft_id, user, action, "Sent.")


@router.post("/drafts/{draft_id}/reassign")
def reassign(
    request: Request,
    draft_id: int,
    sessions: SessionsDep,
    user: CurrentUser,
    assignee: Annotated[str, Form()],
) -> Response:
    def action() -> None:
        with transaction(sessions) as session:
            draft = draft_for(session, draft_id, user, for_update=True)
            assignments.reassign(session, draft, to=assignee, by=user)

    return _act(request, sessions, draft_id, user, action, f"Reassigned to {assignee}.")


def _act(
    request: Request,
    sessions: SessionsDep,
    draft_id: int,
    user: Principal,
    action: Callable[[], None],
    notice: str,
) -> Response:
    """Run an action; on success redirect (no resubmits), on failure show why, in place."""
    try:
        action()
    except (ForbiddenError, NotFoundError):
        raise  # never render a draft the user may not see, or one that is not there
    except SamdeskError as exc:
        with sessions() as session:
            return render_draft(
                request,
                session,
                draft_id,
                user,
                error=str(exc),
                status_code=getattr(exc, "http_status", 409),
            )
    return RedirectResponse(f"/drafts/{draft_id}?notice={quote(notice)}", status_code=303)
