"""Reports: acceptance statistics and the audit trail as CSV (per draft or everything visible)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from approval_ui import audit_export, stats
from approval_ui.deps import CurrentUser, PathId, SessionDep
from approval_ui.permissions import draft_for
from approval_ui.templating import render
from samdesk.models import utcnow

router = APIRouter()


@router.get("/stats", response_class=HTMLResponse, include_in_schema=False)
def stats_page(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    return render(request, "stats.html", user, {"stats": stats.compute(session, user).as_json()})


@router.get("/api/stats", tags=["reports"])
def stats_json(session: SessionDep, user: CurrentUser) -> dict[str, Any]:
    """Approved unchanged, approved after edit (mean normalised edit distance from the model's
    first revision), rejected by reason: per SAM, per prompt version, and in total."""
    return stats.compute(session, user).as_json()


def _csv(body: str, name: str) -> Response:
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/api/drafts/{draft_id}/audit.csv", tags=["reports"], response_class=Response)
def draft_audit_csv(draft_id: PathId, session: SessionDep, user: CurrentUser) -> Response:
    """One draft's audit trail: who did what, when, on which revision hash."""
    draft_for(session, draft_id, user)
    rows = audit_export.events(session, user, draft_id)
    return _csv(audit_export.to_csv(rows), f"samdesk-draft-{draft_id}-audit.csv")


@router.get("/api/audit.csv", tags=["reports"], response_class=Response)
def audit_csv(session: SessionDep, user: CurrentUser) -> Response:
    """Every audit event of the drafts you can see (all of them for managers)."""
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    rows = audit_export.events(session, user)
    return _csv(audit_export.to_csv(rows), f"samdesk-audit-{stamp}.csv")
