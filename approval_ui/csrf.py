"""CSRF protection for a desk that has both HTML forms and JavaScript.

starlette-csrf style middleware reads only a header, which a plain ``<form>`` cannot send.
This checker accepts the token from the ``csrf_token`` form field (forms) or the
``X-CSRF-Token`` header (JavaScript ``fetch``), compared in constant time with the token
of the signed-in session. Before sign-in (the login form itself), a double-submit cookie
holds the token instead. Requests authenticated by an API token carry no ambient
credential, so they need no CSRF token.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request

from approval_ui.permissions import ForbiddenError, Principal

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
LOGIN_COOKIE = "samdesk_login_csrf"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class CSRFError(ForbiddenError):
    """The form or script did not prove it came from a desk page."""


async def submitted_token(request: Request) -> str:
    """The token a request carries: the header if present, else the form field."""
    header = request.headers.get(HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # Starlette caches it, so Form() parameters still work
        value = form.get(FIELD)
        return value if isinstance(value, str) else ""
    return ""


def _same(expected: str | None, given: str) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), given)


async def check(request: Request, user: Principal) -> None:
    """Refuse an unsafe request from a browser session that lacks the session's token."""
    if request.method in SAFE_METHODS or user.via == "token":
        return
    if not _same(user.csrf_token, await submitted_token(request)):
        raise CSRFError(
            "the form is missing its CSRF token or it is stale; reload the page and try again"
        )


async def check_login(request: Request) -> None:
    """The login form's double-submit check (there is no session to bind to yet)."""
    if not _same(request.cookies.get(LOGIN_COOKIE), await submitted_token(request)):
        raise CSRFError("the sign-in form expired; reload the page and sign in again")


def new_login_token() -> str:
    return secrets.token_urlsafe(32)
