"""The Jinja2 environment of the desk's pages, and one way to render a page for a user."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from approval_ui.permissions import Principal

TEMPLATES = Path(__file__).parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES)
templates.env.autoescape = True  # explicit: never depend on the file extension for escaping


def audit_detail(detail: dict[str, Any]) -> str:
    """An audit event's detail as a reviewer reads it, not as JSON made safe for a script:
    ``revision: 2 · resolved flags: commits to pricing or terms; …``."""
    parts = []
    for key, value in detail.items():
        shown = "; ".join(map(str, value)) if isinstance(value, list) else str(value)
        parts.append(f"{key.replace('_', ' ')}: {shown}")
    return " · ".join(parts)


templates.env.filters["audit_detail"] = audit_detail


def render(
    request: Request,
    name: str,
    user: Principal | None,
    context: dict[str, Any],
    *,
    status_code: int = 200,
) -> Response:
    """A page with the signed-in user and the CSRF token every form and script needs."""
    return templates.TemplateResponse(
        request,
        name,
        {"user": user, "csrf_token": user.csrf_token if user else "", **context},
        status_code=status_code,
    )
