"""The draft page's forms: edit, regenerate, retry, approve, reject, send, reassign.

Every post passes the CSRF check (in ``CurrentUser``) and the ownership check before it
acts; on success it redirects (no resubmits), on a state error it shows why, in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from approval_ui import actions
from approval_ui.deps import CurrentUser, DrafterDep, PathId, SenderDep, SessionsDep, SettingsDep
from approval_ui.expiry import approval_ttl
from approval_ui.outbox_claims import RetryPolicy
from approval_ui.permissions import ForbiddenError, Principal
from approval_ui.routes.pages import render_draft
from samdesk.errors import ConflictError, DraftSchemaError, NotFoundError, SamdeskError

router = APIRouter(include_in_schema=False)


@router.post("/drafts/{draft_id}/edit")
def edit(
    request: Request,
    draft_id: PathId,
    sessions: SessionsDep,
    user: CurrentUser,
    settings: SettingsDep,
    subject: Annotated[str, Form()],
    body: Annotated[str, Form()],
    recipient: Annotated[str, Form()],
    version: Annotated[int, Form()],
) -> Response:
    def action() -> None:
        actions.edit(
            sessions,
            draft_id,
            user,
            subject=subject,
            body=body,
            recipient=recipient,
            expected_version=version,
            seller=settings.seller_company,
            stale_after_days=settings.stale_after_days,
        )

    yours = {"subject": subject, "body": body, "recipient": recipient}
    return _act(request, sessions, draft_id, user, action, "Saved a new revision.", yours)


@router.post("/drafts/{draft_id}/regenerate")
def regenerate(
    request: Request,
    draft_id: PathId,
    sessions: SessionsDep,
    user: CurrentUser,
    drafter: DrafterDep,
    instruction: Annotated[str, Form()],
    version: Annotated[int, Form()],
) -> Response:
    def action() -> None:
        actions.regenerate(
            sessions,
            draft_id,
            user,
            drafter=drafter,
            instruction=instruction,
            expected_version=version,
        )

    return _act(request, sessions, draft_id, user, action, "Regenerated: a new revision.")


@router.post("/drafts/{draft_id}/retry")
def retry(
    request: Request,
    draft_id: PathId,
    sessions: SessionsDep,
    user: CurrentUser,
    drafter: DrafterDep,
    settings: SettingsDep,
    version: Annotated[int, Form()],
) -> Response:
    def action() -> None:
        draft = actions.retry(
            sessions,
            draft_id,
            user,
            drafter=drafter,
            approval_ttl=approval_ttl(settings),
            expected_version=version,
        )
        if draft.status == "failed":
            raise DraftSchemaError(f"Tried again, and it failed again: {draft.failure_reason}")

    return _act(request, sessions, draft_id, user, action, "Drafted again: revision 1.")


@router.post("/drafts/{draft_id}/approve")
def approve(
    request: Request,
    draft_id: PathId,
    sessions: SessionsDep,
    user: CurrentUser,
    settings: SettingsDep,
    version: Annotated[int, Form()],
    confirm_flags: Annotated[bool, Form()] = False,
) -> Response:
    def action() -> None:
        actions.approve(
            sessions,
            draft_id,
            user,
            mail_from=settings.mail_from,
            expected_version=version,
            confirm_flags=confirm_flags,
        )

    return _act(request, sessions, draft_id, user, action, "Approved.")


@router.post("/drafts/{draft_id}/reject")
def reject(
    request: Request,
    draft_id: PathId,
    sessions: SessionsDep,
    user: CurrentUser,
    version: Annotated[int, Form()],
    reason: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
) -> Response:
    def action() -> None:
        actions.reject(
            sessions, draft_id, user, reason=reason, category=category, expected_version=version
        )

    return _act(request, sessions, draft_id, user, action, "Rejected.")


@router.post("/drafts/{draft_id}/send")
def send(
    request: Request,
    draft_id: PathId,
    sessions: SessionsDep,
    user: CurrentUser,
    sender: SenderDep,
    settings: SettingsDep,
) -> Response:
    def action() -> None:
        actions.send(
            sessions,
            draft_id,
            user,
            sender=sender,
            mail_from=settings.mail_from,
            policy=RetryPolicy.from_settings(settings),
        )

    return _act(request, sessions, draft_id, user, action, "Sent.")


@router.post("/drafts/{draft_id}/reassign")
def reassign(
    request: Request,
    draft_id: PathId,
    sessions: SessionsDep,
    user: CurrentUser,
    assignee: Annotated[str, Form()],
) -> Response:
    def action() -> None:
        actions.reassign(sessions, draft_id, user, to=assignee)

    return _act(request, sessions, draft_id, user, action, f"Reassigned to {assignee}.")


def _act(
    request: Request,
    sessions: SessionsDep,
    draft_id: int,
    user: Principal,
    action: Callable[[], None],
    notice: str,
    yours: dict[str, Any] | None = None,
) -> Response:
    """Run an action; on success redirect (no resubmits), on failure show why, in place.

    A stale version (409) also shows who changed the draft meanwhile and, for an edit, the
    reviewer's own unsaved text beside the current one, so nothing typed is lost.
    """
    try:
        action()
    except (ForbiddenError, NotFoundError):
        raise  # never render a draft the user may not see, or one that is not there
    except SamdeskError as exc:
        conflict = exc.current if isinstance(exc, ConflictError) else None
        with sessions() as session:
            return render_draft(
                request,
                session,
                draft_id,
                user,
                error=str(exc),
                status_code=getattr(exc, "http_status", 409),
                conflict=conflict,
                yours=yours if conflict else None,
            )
    return RedirectResponse(f"/drafts/{draft_id}?notice={quote(notice)}", status_code=303)
