"""A briefing to take into the meeting: printable one-page HTML, and the same as PDF."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from approval_ui import briefing_pdf
from approval_ui.deps import CurrentUser, PathId, SessionDep
from approval_ui.permissions import draft_for
from approval_ui.schemas import ErrorPublic

router = APIRouter(tags=["briefings"])


@router.get("/drafts/{draft_id}/print", response_class=HTMLResponse, include_in_schema=False)
def print_page(
    request: Request, draft_id: PathId, session: SessionDep, user: CurrentUser
) -> Response:
    context = briefing_pdf.briefing_context(session, draft_for(session, draft_id, user))
    return HTMLResponse(briefing_pdf.render_html(context))


@router.get(
    "/api/drafts/{draft_id}/briefing.pdf",
    response_class=Response,
    responses={
        200: {"content": {"application/pdf": {}}, "description": "the PDF"},
        409: {"model": ErrorPublic, "description": "not a briefing, or a failed draft"},
    },
)
def briefing_pdf_file(draft_id: PathId, session: SessionDep, user: CurrentUser) -> Response:
    """The briefing as a one-page PDF (the current revision; marked DRAFT until approved)."""
    context = briefing_pdf.briefing_context(session, draft_for(session, draft_id, user))
    pdf, pages = briefing_pdf.render_pdf(context)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="briefing-{draft_id}.pdf"',
            "X-Samdesk-Pages": str(pages),
        },
    )
