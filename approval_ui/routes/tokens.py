"""API tokens for integrations: create (the secret is shown once), list, revoke."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from approval_ui import auth, users
from approval_ui.deps import CurrentUser, PathId, SessionDep, SessionsDep
from approval_ui.permissions import Principal
from approval_ui.schemas import TokenCreate, TokenIssued, TokenPublic
from approval_ui.templating import render
from samdesk.db import transaction
from samdesk.errors import SamdeskError
from samdesk.models import ApiToken

router = APIRouter()


def _visible_tokens(session: Session, user: Principal) -> list[ApiToken]:
    """Your own tokens; an admin sees everyone's (to revoke a leaked one)."""
    return auth.list_tokens(session, None if user.is_admin else user.id)


@router.get("/api/tokens", response_model=list[TokenPublic], tags=["tokens"])
def list_tokens(session: SessionDep, user: CurrentUser) -> list[TokenPublic]:
    return [TokenPublic.model_validate(t) for t in _visible_tokens(session, user)]


@router.post("/api/tokens", response_model=TokenIssued, status_code=201, tags=["tokens"])
def create_token(body: TokenCreate, sessions: SessionsDep, user: CurrentUser) -> TokenIssued:
    """A token that acts as you, with your role; only its hash is stored."""
    with transaction(sessions) as session:
        issued = auth.create_token(session, users.get_user(session, user.id), body.name)
        public = TokenPublic.model_validate(session.get_one(ApiToken, issued.id))
        return TokenIssued(**public.model_dump(), token=issued.secret)


@router.delete("/api/tokens/{token_id}", response_model=TokenPublic, tags=["tokens"])
def revoke_token(token_id: PathId, sessions: SessionsDep, user: CurrentUser) -> TokenPublic:
    with transaction(sessions) as session:
        return TokenPublic.model_validate(auth.revoke_token(session, token_id, by=user))


@router.get("/tokens", response_class=HTMLResponse, include_in_schema=False)
def tokens_page(
    request: Request, session: SessionDep, user: CurrentUser, notice: str | None = None
) -> Response:
    return _page(request, session, user, notice=notice)


def _page(
    request: Request,
    session: Session,
    user: Principal,
    *,
    notice: str | None = None,
    error: str | None = None,
    issued: auth.IssuedToken | None = None,
) -> Response:
    owners = {u.id: u.email for u in users.list_users(session)} if user.is_admin else {}
    return render(
        request,
        "tokens.html",
        user,
        {
            "tokens": _visible_tokens(session, user),
            "owners": owners,
            "issued": issued,
            "notice": notice,
            "error": error,
        },
        status_code=422 if error else 200,
    )


@router.post("/tokens", include_in_schema=False)
def create_token_form(
    request: Request, sessions: SessionsDep, user: CurrentUser, name: Annotated[str, Form()]
) -> Response:
    """Renders the page directly (no redirect): the secret must not travel in a URL."""
    try:
        with transaction(sessions) as session:
            issued = auth.create_token(session, users.get_user(session, user.id), name)
    except SamdeskError as exc:
        with sessions() as session:
            return _page(request, session, user, error=str(exc))
    with sessions() as session:
        response = _page(request, session, user, issued=issued)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/tokens/{token_id}/revoke", include_in_schema=False)
def revoke_token_form(token_id: PathId, sessions: SessionsDep, user: CurrentUser) -> Response:
    with transaction(sessions) as session:
        auth.revoke_token(session, token_id, by=user)
    return RedirectResponse(f"/tokens?notice={quote(f'Revoked token {token_id}.')}", 303)
