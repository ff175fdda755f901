"""Sign in and sign out: a password form that starts a server-side session.

Failed sign-ins are throttled per email and per client address (:mod:`approval_ui.login_throttle`):
a locked-out attempt is answered 429 with ``Retry-After`` before the password is looked at.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from approval_ui import auth, csrf, users
from approval_ui.deps import (
    CurrentUser,
    LoginThrottleDep,
    SessionDep,
    SessionsDep,
    SettingsDep,
)
from approval_ui.login_throttle import LoginThrottledError
from approval_ui.permissions import NotAuthenticatedError
from approval_ui.templating import render
from samdesk.db import transaction

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """Only a path on this site: ``//evil.example`` or ``https://...`` would be an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
def login_form(
    request: Request, session: SessionDep, next: str | None = None, error: str | None = None
) -> Response:
    return _login_page(request, session, next, error, status_code=401 if error else 200)


def _login_page(
    request: Request,
    session: Session,
    next: str | None,
    error: str | None,
    *,
    status_code: int,
    email: str = "",
) -> Response:
    """The form; after a refused sign-in it keeps the email typed, so only the password is
    typed again."""
    token = request.cookies.get(csrf.LOGIN_COOKIE) or csrf.new_login_token()
    page = render(
        request,
        "login.html",
        None,
        {
            "login_csrf": token,
            "next": safe_next(next),
            "error": error,
            "email": email[:320],  # the longest address there is; the form sent it back
            "no_users": users.count_users(session) == 0,
        },
        status_code=status_code,
    )
    page.set_cookie(csrf.LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/login")
    return page


@router.post("/login", dependencies=[Depends(csrf.check_login)])
def login(
    request: Request,
    sessions: SessionsDep,
    settings: SettingsDep,
    throttle: LoginThrottleDep,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    try:
        attempt = throttle.begin(email, request.client.host if request.client else None)
    except LoginThrottledError as refused:  # the password is not even looked at
        with sessions() as session:
            page = _login_page(request, session, next, str(refused), status_code=429, email=email)
        page.headers["Retry-After"] = str(refused.retry_after_s)
        return page
    try:
        with transaction(sessions) as session:
            user = auth.authenticate(session, email, password)
            token = auth.start_session(session, user)
    except NotAuthenticatedError as exc:  # already counted as a failure by begin()
        with sessions() as session:
            return _login_page(request, session, next, str(exc), status_code=401, email=email)
    except BaseException:
        attempt.cancel()  # no verdict on the password (e.g. the database is down)
        raise
    attempt.succeeded()
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        auth.SESSION_COOKIE,
        token,
        max_age=int(auth.SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=settings.env == "production",
        path="/",
    )
    response.delete_cookie(csrf.LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, sessions: SessionsDep, user: CurrentUser) -> Response:
    with transaction(sessions) as session:
        auth.end_session(session, request.cookies.get(auth.SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response
