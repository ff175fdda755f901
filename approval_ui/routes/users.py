"""Admins manage the desk's users (page and API); anyone can ask who they are."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from approval_ui import users
from approval_ui.deps import AdminUser, CurrentUser, PathId, SessionDep, SessionsDep
from approval_ui.permissions import ROLES, InvalidRequestError, Principal
from approval_ui.schemas import UserCreate, UserPublic, UserUpdate
from approval_ui.templating import render
from samdesk.db import transaction
from samdesk.errors import SamdeskError
from samdesk.models import User

router = APIRouter()


def _guard_self(admin: Principal, user: User, role: str | None, active: bool | None) -> None:
    """An admin cannot lock themselves out (and so leave the desk without an admin)."""
    if user.id == admin.id and ((role and role != "admin") or active is False):
        raise InvalidRequestError("you cannot remove your own admin access; ask another admin")


@router.get("/api/me", response_model=UserPublic, tags=["users"])
def me(session: SessionDep, user: CurrentUser) -> UserPublic:
    return UserPublic.model_validate(users.get_user(session, user.id))


@router.get("/api/users", response_model=list[UserPublic], tags=["users"])
def list_users(session: SessionDep, admin: AdminUser) -> list[UserPublic]:
    return [UserPublic.model_validate(u) for u in users.list_users(session)]


@router.post("/api/users", response_model=UserPublic, status_code=201, tags=["users"])
def create_user(body: UserCreate, sessions: SessionsDep, admin: AdminUser) -> UserPublic:
    with transaction(sessions) as session:
        user = users.create_user(session, **body.model_dump())
        return UserPublic.model_validate(user)


@router.patch("/api/users/{user_id}", response_model=UserPublic, tags=["users"])
def update_user(
    user_id: PathId, body: UserUpdate, sessions: SessionsDep, admin: AdminUser
) -> UserPublic:
    with transaction(sessions) as session:
        user = users.get_user(session, user_id)
        _guard_self(admin, user, body.role, body.active)
        users.update_user(session, user, **body.model_dump())
        return UserPublic.model_validate(user)


@router.get("/users", response_class=HTMLResponse, include_in_schema=False)
def users_page(
    request: Request,
    session: SessionDep,
    admin: AdminUser,
    notice: str | None = None,
    error: str | None = None,
) -> Response:
    return render(
        request,
        "users.html",
        admin,
        {"people": users.list_users(session), "roles": ROLES, "notice": notice, "error": error},
        status_code=422 if error else 200,
    )


@router.post("/users", include_in_schema=False)
def add_user_form(
    request: Request,
    sessions: SessionsDep,
    admin: AdminUser,
    email: Annotated[str, Form()],
    name: Annotated[str, Form()],
    role: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> Response:
    try:
        with transaction(sessions) as session:
            users.create_user(session, email=email, name=name, role=role, password=password)
    except SamdeskError as exc:
        with sessions() as session:
            return users_page(request, session, admin, error=str(exc))
    return RedirectResponse(f"/users?notice={quote(f'Added {email}.')}", status_code=303)


@router.post("/users/{user_id}", include_in_schema=False)
def change_user_form(
    request: Request,
    user_id: PathId,
    sessions: SessionsDep,
    admin: AdminUser,
    role: Annotated[str, Form()] = "",
    active: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    is_active = {"true": True, "false": False}.get(active)
    try:
        with transaction(sessions) as session:
            user = users.get_user(session, user_id)
            _guard_self(admin, user, role or None, is_active)
            users.update_user(
                session, user, role=role or None, active=is_active, password=password or None
            )
            email = user.email
    except SamdeskError as exc:
        with sessions() as session:
            return users_page(request, session, admin, error=str(exc))
    return RedirectResponse(f"/users?notice={quote(f'Updated {email}.')}", status_code=303)
