"""HTML pages of the desk: the queue, a draft beside its sources, and the outbox."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from approval_ui import assignments, crud, queue
from approval_ui.deps import CurrentUser, SessionDep
from approval_ui.diffs import diff_revisions
from approval_ui.messages import email_body
from approval_ui.permissions import Principal, draft_for, owner_of
from approval_ui.regenerate import SUGGESTIONS
from approval_ui.rendering import Flag, render_markdown
from approval_ui.templating import render
from samdesk.models import Account

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def queue_page(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    account: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    q: str | None = None,
) -> Response:
    ranked = queue.ranked_drafts(
        session,
        user=user,
        account_id=account or None,
        kind=kind or None,
        status=status or None,
        q=q or None,
    )
    owners = queue.owners(session, [d for d, _ in ranked]) if user.sees_all else {}
    return render(
        request,
        "queue.html",
        user,
        {
            "drafts": [{**queue.summary(d, p), "owner": owners.get(d.id)} for d, p in ranked],
            "accounts": {a.id: a for a in queue.accounts(session)},
            "filters": {
                "account": account or "",
                "kind": kind or "",
                "status": status or "",
                "q": q or "",
            },
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
    return render_draft(request, session, draft_id, user, notice=notice)


@router.get("/outbox", response_class=HTMLResponse)
def outbox_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    return render(request, "outbox.html", user, {"rows": queue.outbox(session, user=user)})


def _neighbours(session: Session, user: Principal, draft_id: int) -> tuple[int | None, int | None]:
    """The previous and next draft in this user's queue order (for j / k)."""
    ids = [d.id for d, _ in queue.ranked_drafts(session, user=user)]
    if draft_id not in ids:
        return None, None
    at = ids.index(draft_id)
    return (ids[at - 1] if at > 0 else None), (ids[at + 1] if at + 1 < len(ids) else None)


def render_draft(
    request: Request,
    session: Session,
    draft_id: int,
    user: Principal,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    draft = draft_for(session, draft_id, user)
    account = session.get(Account, draft.account_id)
    source_ids = [s["id"] for s in draft.sources]
    current = draft.revisions[-1] if draft.revisions else None
    flags = [Flag.from_finding(f) for f in draft.findings]
    revisions = draft.revisions
    previous, following = _neighbours(session, user, draft_id)
    context: dict[str, Any] = {
        "draft": draft,
        "account": account,
        "current": current,
        "owner": owner_of(session, draft),
        "body_html": render_markdown(current.body, source_ids, flags) if current else "",
        "email_preview": email_body(draft.kind, current.body) if current else "",
        "audit": queue.audit_log(session, draft_id),
        "outbox": queue.outbox(session, draft_id),
        "errors": [f for f in draft.findings if f.get("severity") == "error"],
        "warnings": [f for f in draft.findings if f.get("severity") != "error"],
        "diff_original": diff_revisions(revisions[0], revisions[-1])
        if len(revisions) > 1
        else None,
        "diff_previous": diff_revisions(revisions[-2], revisions[-1])
        if len(revisions) > 2
        else None,
        "reasons": crud.REJECT_REASONS,
        "suggestions": SUGGESTIONS,
        "sams": assignments.assignable(session) if user.sees_all else [],
        "prev_id": previous,
        "next_id": following,
        "notice": notice,
        "error": error,
    }
    return render(request, "draft.html", user, context, status_code=status_code)
