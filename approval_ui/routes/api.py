"""The JSON API for drafts: the same actions as the pages, for integrations and scripts.

Authenticate with ``Authorization: Bearer <API token>`` (no CSRF token needed), or with
the desk's session cookie plus an ``X-CSRF-Token`` header (the desk's own JavaScript).

Optimistic concurrency: a draft response carries ``ETag: W/"<version>"``; send it back as
``If-Match`` on a change and a draft changed meanwhile answers 412 with the other change in
``current`` (nothing is overwritten). Without ``If-Match`` the body's ``version`` is checked
as before (409 when stale), and a change with neither applies to whatever is current.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Header, Response
from starlette.concurrency import run_in_threadpool

from approval_ui import actions, assignments, crud, queue
from approval_ui.deps import (
    CurrentUser,
    DrafterDep,
    ManagerUser,
    PathId,
    SenderDep,
    SessionDep,
    SessionsDep,
    SettingsDep,
)
from approval_ui.diffs import diff_revisions
from approval_ui.etags import NO_VERSION, etag, if_match_version
from approval_ui.expiry import approval_ttl
from approval_ui.outbox_claims import RetryPolicy
from approval_ui.permissions import InvalidRequestError, draft_for
from approval_ui.schemas import (
    ApproveRequest,
    AuditPublic,
    ConflictPublic,
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
    VersionRequest,
)
from samdesk.db import transaction
from samdesk.errors import ConflictError, PreconditionFailedError
from samdesk.models import Draft

T = TypeVar("T")
# Every API error is JSON {"detail": "<what went wrong>"}; a stale version adds "current".
# The statuses of the layers around routes (400, 401, 413, 422) and the generic 403 and 404
# are added to every operation by approval_ui/openapi.py; these say what is the routes' own.
ERRORS: dict[int | str, dict[str, object]] = {
    403: {"model": ErrorPublic, "description": "another SAM's draft, or a missing CSRF token"},
    404: {"model": ErrorPublic, "description": "no such draft"},
    409: {
        "model": ConflictPublic,
        "description": "the draft's state forbids this, or the body's version is stale",
    },
}
GUARDED: dict[int | str, dict[str, object]] = {
    **ERRORS,
    412: {
        "model": ConflictPublic,
        "description": "If-Match names a version that is no longer current; nothing changed, "
        "and `current` shows the other change",
    },
}
IfMatch = Annotated[
    str | None,
    Header(
        description='the draft\'s ETag as read (W/"<version>"): the change applies only if '
        "nobody changed the draft since, else 412. Without it, the body's `version` (if "
        "any) is checked instead (409 when stale)."
    ),
]
router = APIRouter(prefix="/api", tags=["drafts"])


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
    filters = queue.QueueFilter(user=user, account_id=account, kind=kind, status=status, q=q)
    ranked = queue.ranked_drafts(session, filters)
    return [DraftSummary.model_validate(queue.summary(d, p)) for d, p in ranked]


@router.get("/drafts/{draft_id}", response_model=DraftPublic, responses=ERRORS)
def get_draft(
    draft_id: PathId, session: SessionDep, user: CurrentUser, response: Response
) -> DraftPublic:
    """The draft with every revision; the ``ETag`` header is what ``If-Match`` sends back."""
    return _public(draft_for(session, draft_id, user), response)


@router.patch("/drafts/{draft_id}", response_model=DraftPublic, responses=GUARDED)
async def edit_draft(
    draft_id: PathId,
    update: DraftUpdate,
    sessions: SessionsDep,
    user: CurrentUser,
    settings: SettingsDep,
    response: Response,
    if_match: IfMatch = None,
) -> DraftPublic:
    """A new revision; its grounding findings replace the draft's."""
    draft = await _guarded(
        if_match,
        update.version,
        lambda version: actions.edit(
            sessions,
            draft_id,
            user,
            subject=update.subject,
            body=update.body,
            recipient=update.recipient,
            expected_version=version,
            seller=settings.seller_company,
            stale_after_days=settings.stale_after_days,
        ),
    )
    return _public(draft, response)


@router.post("/drafts/{draft_id}/regenerate", response_model=DraftPublic, responses=GUARDED)
async def regenerate(
    draft_id: PathId,
    request: RegenerateRequest,
    sessions: SessionsDep,
    user: CurrentUser,
    drafter: DrafterDep,
    response: Response,
    if_match: IfMatch = None,
) -> DraftPublic:
    """Ask the model to rewrite the draft ("shorter", "more formal"); a new revision."""
    draft = await _guarded(
        if_match,
        request.version,
        lambda version: actions.regenerate(
            sessions,
            draft_id,
            user,
            drafter=drafter,
            instruction=request.instruction,
            expected_version=version,
        ),
    )
    return _public(draft, response)


@router.post("/drafts/{draft_id}/retry", response_model=DraftPublic, responses=GUARDED)
async def retry(
    draft_id: PathId,
    request: VersionRequest,
    sessions: SessionsDep,
    user: CurrentUser,
    drafter: DrafterDep,
    settings: SettingsDep,
    response: Response,
    if_match: IfMatch = None,
) -> DraftPublic:
    """Draft a failed draft again from its sources: ``pending`` with revision 1 when the
    model's reply is usable, else still ``failed`` with the new ``failure_reason``."""
    draft = await _guarded(
        if_match,
        request.version,
        lambda version: actions.retry(
            sessions,
            draft_id,
            user,
            drafter=drafter,
            approval_ttl=approval_ttl(settings),
            expected_version=version,
        ),
    )
    return _public(draft, response)


@router.post("/drafts/{draft_id}/approve", response_model=DraftPublic, responses=GUARDED)
async def approve_draft(
    draft_id: PathId,
    request: ApproveRequest,
    sessions: SessionsDep,
    user: CurrentUser,
    settings: SettingsDep,
    response: Response,
    if_match: IfMatch = None,
) -> DraftPublic:
    draft = await _guarded(
        if_match,
        request.version,
        lambda version: actions.approve(
            sessions,
            draft_id,
            user,
            mail_from=settings.mail_from,
            expected_version=version,
            confirm_flags=request.confirm_flags,
        ),
    )
    return _public(draft, response)


@router.post("/drafts/{draft_id}/reject", response_model=DraftPublic, responses=GUARDED)
async def reject_draft(
    draft_id: PathId,
    request: RejectRequest,
    sessions: SessionsDep,
    user: CurrentUser,
    response: Response,
    if_match: IfMatch = None,
) -> DraftPublic:
    draft = await _guarded(
        if_match,
        request.version,
        lambda version: actions.reject(
            sessions,
            draft_id,
            user,
            reason=request.reason,
            category=request.category,
            expected_version=version,
        ),
    )
    return _public(draft, response)


@router.get("/reject-reasons", response_model=dict[str, str])
def reject_reasons(user: CurrentUser) -> dict[str, str]:
    """The categories a rejection can name (key -> label)."""
    return crud.REJECT_REASONS


@router.post(
    "/drafts/{draft_id}/send",
    response_model=OutboxPublic,
    responses={**GUARDED, 502: {"model": ErrorPublic, "description": "delivery failed"}},
)
async def send(
    draft_id: PathId,
    sessions: SessionsDep,
    sender: SenderDep,
    user: CurrentUser,
    settings: SettingsDep,
    if_match: IfMatch = None,
) -> OutboxPublic:
    row = await _guarded(
        if_match,
        None,
        lambda version: actions.send(
            sessions,
            draft_id,
            user,
            sender=sender,
            mail_from=settings.mail_from,
            expected_version=version,
            policy=RetryPolicy.from_settings(settings),
        ),
    )
    return OutboxPublic.model_validate(row)


@router.post("/drafts/{draft_id}/reassign", response_model=ReassignedPublic, responses=GUARDED)
async def reassign_draft(
    draft_id: PathId,
    request: ReassignRequest,
    sessions: SessionsDep,
    user: ManagerUser,
    if_match: IfMatch = None,
) -> ReassignedPublic:
    """Managers: give this draft to another SAM (it leaves the account owner's queue)."""
    await _guarded(
        if_match,
        None,
        lambda version: actions.reassign(
            sessions, draft_id, user, to=request.assignee, expected_version=version
        ),
    )
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
    draft_id: PathId,
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
def audit(draft_id: PathId, session: SessionDep, user: CurrentUser) -> list[AuditPublic]:
    draft_for(session, draft_id, user)
    return [AuditPublic.model_validate(e) for e in queue.audit_log(session, draft_id)]


@router.get("/outbox", response_model=list[OutboxPublic])
def outbox(session: SessionDep, user: CurrentUser) -> list[OutboxPublic]:
    return [OutboxPublic.model_validate(row) for row in queue.outbox(session, user=user)]


def _public(draft: Draft, response: Response) -> DraftPublic:
    response.headers["ETag"] = etag(draft.version)
    return DraftPublic.model_validate(queue.detail(draft))


async def _guarded(if_match: str | None, version: int | None, act: Callable[[int | None], T]) -> T:
    """Run ``act`` with the version the client saw: from ``If-Match`` (stale: 412) or else
    from the body (stale: 409, as before If-Match existed); neither: act unconditionally.

    ``act`` blocks on the database, so it runs in the thread pool; the endpoints calling this
    are ``async`` so that FastAPI then checks their response model on the event loop. A
    plain ``def`` endpoint with a response model takes two trips through the pool (the
    endpoint, then the model): 0.2 ms more CPU of an approval's 4.4 ms (README, Performance).
    """
    if if_match is None:
        return await run_in_threadpool(act, version)
    expected = if_match_version(if_match)
    if expected is None:  # "*": any current version will do, but the body's still counts
        return await run_in_threadpool(act, version)
    if version is not None and version != expected and expected != NO_VERSION:
        raise InvalidRequestError(
            f"If-Match names version {expected} but the body's version is {version}; "
            "send one of them"
        )
    try:
        return await run_in_threadpool(act, expected)
    except ConflictError as exc:
        now = exc.current["version"] if exc.current else None
        raise PreconditionFailedError(
            f"If-Match {if_match.strip()[:80]} does not match the draft's current ETag "
            f"{etag(now) if now is not None else '(unknown)'}: it changed since you read it, "
            "and nothing was changed now; see `current` for the other change",
            exc.current,
        ) from exc
