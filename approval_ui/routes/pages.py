"""HTML pages of the desk: the queue, a draft beside its sources, and the outbox."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from agent.form_checks import SUBJECT_CODES
from approval_ui import assignments, crud, queue
from approval_ui.deps import (
    CacheDep,
    CurrentUser,
    GenerationDep,
    PathId,
    SessionDep,
    SessionsDep,
)
from approval_ui.desk_cache import PAGE_MAX_AGE_S
from approval_ui.diffs import FIELDS, FieldDiff, diff_revisions, word_diff
from approval_ui.messages import email_preview
from approval_ui.permissions import Principal, draft_for, owner_of
from approval_ui.regenerate import SUGGESTIONS
from approval_ui.rendering import Flag, render_markdown, render_subject
from approval_ui.templating import render
from samdesk.models import Account

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def queue_page(
    request: Request,
    sessions: SessionsDep,
    user: CurrentUser,
    cache: CacheDep,
    generations: GenerationDep,
    account: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    q: str | None = None,
    page: int = 1,
) -> Response:
    """The queue; the page is rendered again only once the desk changed (or it aged), as
    it is the page every reviewer keeps coming back to (approval_ui/desk_cache.py). A
    cached page is served from the event loop; rendering one goes to the thread pool."""
    # the raw query string: ``request.url`` would build the whole URL for it, per request
    key = ("queue", user, request.scope["query_string"])
    desk_generation = generations.desk if generations else None
    html: bytes | None = cache.get(key, desk_generation, max_age=PAGE_MAX_AGE_S)
    if html is not None:
        return HTMLResponse(html)
    response = await run_in_threadpool(
        _render_queue,
        request,
        sessions,
        user,
        account=account,
        kind=kind,
        status=status,
        q=q,
        page=page,
    )
    cache.put(key, desk_generation, bytes(response.body))
    return response


def _render_queue(
    request: Request,
    sessions: sessionmaker[Session],
    user: Principal,
    *,
    account: str | None,
    kind: str | None,
    status: str | None,
    q: str | None,
    page: int,
) -> Response:
    with sessions() as session:
        page = max(page, 1)
        rows = queue.summaries(
            session,
            queue.QueueFilter(
                user=user,
                account_id=account or None,
                kind=kind or None,
                status=status or None,
                q=q or None,
                limit=queue.PAGE_SIZE + 1,  # one more tells whether there is a next page
                offset=(page - 1) * queue.PAGE_SIZE,
            ),
        )
        more = len(rows) > queue.PAGE_SIZE
        rows = rows[: queue.PAGE_SIZE]
        owners = queue.owners(session, rows) if user.sees_all else {}
        return render(
            request,
            "queue.html",
            user,
            {
                "drafts": [{**row, "owner": owners.get(row["id"])} for row in rows],
                "accounts": {a.id: a for a in queue.accounts(session)},
                "filters": {
                    "account": account or "",
                    "kind": kind or "",
                    "status": status or "",
                    "q": q or "",
                },
                "kinds": queue.KINDS,
                "statuses": queue.STATUSES,
                "page": page,
                "more": more,
                "first_row": (page - 1) * queue.PAGE_SIZE + 1,
            },
        )


@router.get("/drafts/{draft_id}", response_class=HTMLResponse)
def draft_page(
    request: Request,
    draft_id: PathId,
    session: SessionDep,
    user: CurrentUser,
    notice: str | None = None,
) -> Response:
    return render_draft(request, session, draft_id, user, notice=notice)


@router.get("/outbox", response_class=HTMLResponse)
def outbox_page(
    request: Request, session: SessionDep, user: CurrentUser, notice: str | None = None
) -> Response:
    rows = queue.outbox(session, user=user)
    return render(request, "outbox.html", user, {"rows": rows, "notice": notice})


def _neighbours(session: Session, user: Principal, draft_id: int) -> tuple[int | None, int | None]:
    """The previous and next draft in this user's queue order (for j / k)."""
    ids = [d.id for d, _ in queue.ranked_drafts(session, queue.QueueFilter(user=user))]
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
    conflict: dict[str, Any] | None = None,
    yours: dict[str, Any] | None = None,
) -> Response:
    """The draft page; ``conflict`` (a stale version) shows who changed the draft meanwhile,
    and ``yours`` the reviewer's unsaved edit against the text now current."""
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
        "body_html": render_markdown(
            current.body, source_ids, [f for f in flags if f.code not in SUBJECT_CODES]
        )
        if current
        else "",
        "subject_html": render_subject(current.subject, flags) if current else "",
        "email_preview": email_preview(draft.kind, current.subject, current.body)
        if current
        else "",
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
        "conflict": conflict,
        "yours": yours,
        "yours_diff": [
            FieldDiff(f, word_diff(getattr(current, f), str(yours.get(f, "")))) for f in FIELDS
        ]
        if yours and current
        else None,
    }
    return render(request, "draft.html", user, context, status_code=status_code)
