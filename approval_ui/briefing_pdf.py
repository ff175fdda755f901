"""The executive briefing as a page to take into the meeting: printable HTML and a PDF.

The PDF is rendered by WeasyPrint from the same template. A briefing must fit one page, so
the type is stepped down until it does (to a legible floor); WeasyPrint may fetch nothing
(no network, no file), because the body is model output.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from approval_ui.rendering import Flag, render_markdown
from approval_ui.templating import templates
from retrieval.schemas import AccountPlan
from samdesk.errors import StateError
from samdesk.models import Account, Draft

PRINT_CSS = Path(__file__).parent / "static" / "print.css"
FONT_SIZES_PT = (10.0, 9.5, 9.0, 8.5, 8.0, 7.5, 7.0)


def briefing_context(session: Session, draft: Draft) -> dict[str, Any]:
    """What the printed page shows: the current revision, the meeting and its cited sources."""
    if draft.kind != "briefing":
        raise StateError(f"draft {draft.id} is an {draft.kind} email; only briefings print")
    if not draft.revisions:
        raise StateError(f"draft {draft.id} failed and has no text to print")
    account = session.get(Account, draft.account_id)
    current = draft.current
    cited = [
        s for s in draft.sources if s["id"] in current.citations or f"[{s['id']}]" in current.body
    ]
    starts = draft.trigger.get("starts_at")
    return {
        "draft": draft,
        "account": account,
        "current": current,
        "meeting": draft.trigger.get("title", "Meeting"),
        "starts_at": datetime.fromisoformat(starts) if starts else None,
        "attendees": _attendees(account, draft.trigger.get("title", "")),
        "body_html": render_markdown(
            current.body,
            [s["id"] for s in draft.sources],
            [Flag.from_finding(f) for f in draft.findings],
        ),
        "sources": cited,
    }


def _attendees(account: Account | None, title: str) -> list[str]:
    if account is None or not account.plan:
        return []
    plan = AccountPlan.model_validate(account.plan)
    return next((m.attendees for m in plan.meetings if m.title == title), [])


def render_html(context: dict[str, Any], *, for_pdf: bool = False) -> str:
    return templates.get_template("briefing_print.html").render(**context, for_pdf=for_pdf)


def _refuse(url: str, *args: Any, **kwargs: Any) -> Any:
    raise ValueError(f"the briefing PDF fetches nothing ({url})")


def render_pdf(context: dict[str, Any]) -> tuple[bytes, int]:
    """The PDF bytes and its page count: one page unless even the smallest type overflows."""
    from weasyprint import CSS, HTML  # imported on first use: it loads Pango and fonts

    html = HTML(string=render_html(context, for_pdf=True), url_fetcher=_refuse, base_url=None)
    css = PRINT_CSS.read_text()
    document = None
    for size in FONT_SIZES_PT:
        document = html.render(stylesheets=[CSS(string=f"{css}\nhtml {{ font-size: {size}pt; }}")])
        if len(document.pages) == 1:
            break
    assert document is not None
    return document.write_pdf(), len(document.pages)
