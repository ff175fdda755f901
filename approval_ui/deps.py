"""FastAPI dependencies, as ``Annotated`` aliases the routes import by name."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session, sessionmaker

from agent.drafting import Drafter
from approval_ui import auth, csrf
from approval_ui.permissions import NotAuthenticatedError, Principal, require_role
from approval_ui.sending import Sender, make_sender
from samdesk.config import Settings
from samdesk.db import transaction

_DRAFTER_LOCK = threading.Lock()


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_sessions(request: Request) -> sessionmaker[Session]:
    sessions: sessionmaker[Session] = request.app.state.sessions
    return sessions


def get_session(
    sessions: Annotated[sessionmaker[Session], Depends(get_sessions)],
) -> Iterator[Session]:
    """A read session; actions open their own transaction so they commit before responding."""
    with sessions() as session:
        yield session


def get_principal(
    request: Request, sessions: Annotated[sessionmaker[Session], Depends(get_sessions)]
) -> Principal:
    """Who is asking: an ``Authorization: Bearer`` API token, else the session cookie."""
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    with transaction(sessions) as session:
        if scheme.lower() == "bearer" and secret.strip():
            return auth.token_user(session, secret.strip())
        cookie = request.cookies.get(auth.SESSION_COOKIE)
        if not cookie:
            raise NotAuthenticatedError("sign in to use the desk")
        return auth.session_user(session, cookie)


async def get_current_user(
    request: Request, user: Annotated[Principal, Depends(get_principal)]
) -> Principal:
    """The signed-in user, after the CSRF check that every unsafe request must pass."""
    await csrf.check(request, user)
    return user


def get_manager(user: Annotated[Principal, Depends(get_current_user)]) -> Principal:
    require_role(user, "manager", "admin")
    return user


def get_admin(user: Annotated[Principal, Depends(get_current_user)]) -> Principal:
    require_role(user, "admin")
    return user


def get_sender(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> Sender:
    sender: Sender | None = getattr(request.app.state, "sender", None)
    return sender or make_sender(settings)


def get_drafter(request: Request) -> Callable[[], Drafter]:
    """How to get the drafter that regenerates drafts: built from the settings on first use
    (after the permission checks, so a refused request never loads a model client).

    Tests override this dependency with one returning a drafter over ``ScriptedChatModel``.
    """
    state = request.app.state

    def build() -> Drafter:
        with _DRAFTER_LOCK:
            drafter: Drafter | None = getattr(state, "drafter", None)
            if drafter is None:
                from samdesk.runtime import Runtime  # imports the model client and index

                drafter = state.drafter = Runtime(state.settings, state.sessions).drafter
            return drafter

    return build


# Row ids in paths: a larger number cannot name a row (PostgreSQL INTEGER), and passed on
# it would fail in the database driver (a 500) instead of being refused here (422).
MAX_ID = 2**31 - 1
PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="a row id")]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionsDep = Annotated[sessionmaker[Session], Depends(get_sessions)]
SessionDep = Annotated[Session, Depends(get_session)]
CurrentUser = Annotated[Principal, Depends(get_current_user)]
ManagerUser = Annotated[Principal, Depends(get_manager)]
AdminUser = Annotated[Principal, Depends(get_admin)]
SenderDep = Annotated[Sender, Depends(get_sender)]
DrafterDep = Annotated[Callable[[], Drafter], Depends(get_drafter)]
