"""HTML pages of the desk: the queue, a draft beside its sources, and the outbox."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from approval_ui import crud, queue
from approval_ui.deps import CurrentUser, SenderDep, SessionDep, SessionsDep, SettingsDep
from approval_ui.messages import email_body
from approval_ui.rendering import render_markdown
from approval_ui.sending import send_draft
from samdesk.db import transaction
from samdesk.errors import SamdeskError
from samdesk.models import Account

templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
templates.env.autoescape = True  # explicit: never depend on the file extension for escaping
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def queue_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    account: str | None = None,
    kind: str | None = None,
    status: str | None = None,
) -> Response:
    drafts = queue.list_drafts(
        session, account_id=account or None, kind=kind or None, status=status or None
    )
    names = {a.id: a for a in queue.accounts(session)}
    return templates.TemplateResponse(
        request,
        "queue.html",
        {
            "drafts": [queue.summary(d) for d in drafts],
            "accounts": names,
            "user": user,
            "filters": {"account": account or "", "kind": kind or "", "status": status or ""},
            "kinds": queue.KINDS,
            "statuses": queue.STATUSES,
        },
    )


@router.get("/drafts/{draft_id}", response_class=HTMLResponse)
def draft_page(
    request: Request,
    draft_id: int,
    session: SessionDep,
    user: CurrentUser,
    notice: str | None = None,
) -> Response:
    return _render_draft(request, session, draft_id, user, notice=notice)


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
            draft = crud.get_draft(session, draft_id, for_update=True)
            crud.edit_draft(
                session,
                draft,
                by=user,
                subject=subject,
                body=body,
                recipient=recipient,
                expected_version=version,
            )

    return _act(request, sessions, draft_id, user, action, "Saved a new revision.")


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
            draft = crud.get_draft(session, draft_id, for_update=True)
            crud.approve(
                session,
                draft,
                by=user,
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
    reason: Annotated[str, Form()],
    version: Annotated[int, Form()],
) -> Response:
    def action() -> None:
        with transaction(sessions) as session:
            draft = crud.get_draft(session, draft_id, for_update=True)
            crud.reject(session, draft, by=user, reason=reason, expected_version=version)

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
        send_draft(sessions, draft_id, sender=sender, by=user, mail_from=settings.mail_from)

    return _act(request, sessions, draft_id, user, action, "Sent.")


@router.get("/outbox", response_class=HTMLResponse)
def outbox_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    return templates.TemplateResponse(
        request,
        "outbox.html",
        {
            "rows": queue.outbox(session),
            "user": user,
        },
    )


def _act(
    request: Request, sessions: SessionsDep, draft_id: int, user: str, action: Any, notice: str
) -> Response:
    """Run an action; on success redirect (no resubmits), on failure show why, in place."""
    try:
        action()
    except SamdeskError as exc:
        with sessions() as session:
            return _render_draft(
                request,
                session,
                draft_id,
                user,
                error=str(exc),
                status_code=getattr(exc, "http_status", 409),
            )
    return RedirectResponse(f"/drafts/{draft_id}?notice={quote(notice)}", status_code=303)


def _render_draft(
    request: Request,
    session: Any,
    draft_id: int,
    user: str,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    draft = crud.get_draft(session, draft_id)
    account = session.get(Account, draft.account_id)
    source_ids = [s["id"] for s in draft.sources]
    current = draft.revisions[-1] if draft.revisions else None
    return templates.TemplateResponse(
        request,
        "draft.html",
        {
            "draft": draft,
            "account": account,
            "current": current,
            "user": user,
            "body_html": render_markdown(current.body, source_ids) if current else "",
            "email_preview": email_body(draft.kind, current.body) if current else "",
            "audit": queue.audit_log(session, draft_id),
            "outbox": queue.outbox(session, draft_id),
            "errors": [f for f in draft.findings if f.get("severity") == "error"],
            "warnings": [f for f in draft.findings if f.get("severity") != "error"],
            "notice": notice,
            "error": error,
        },
        status_code=status_code,
    )
