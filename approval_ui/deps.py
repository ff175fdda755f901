"""FastAPI dependencies, as ``Annotated`` aliases the routes import by name."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from agent.drafting import Drafter
from approval_ui import auth, csrf
from approval_ui.desk_cache import DeskCache
from approval_ui.generation_reader import GenerationReader
from approval_ui.login_throttle import LoginThrottle
from approval_ui.permissions import NotAuthenticatedError, Principal, require_role
from approval_ui.sending import Sender, make_sender
from samdesk.config import Settings
from samdesk.db import transaction
from samdesk.generation import Generations
from samdesk.models import utcnow

_DRAFTER_LOCK = threading.Lock()


# The dependencies that only read app.state are ``async``: a plain ``def`` dependency costs
# a trip through the thread pool on every request, which the cached queue page notices.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_sessions(request: Request) -> sessionmaker[Session]:
    sessions: sessionmaker[Session] = request.app.state.sessions
    return sessions


async def get_cache(request: Request) -> DeskCache:
    cache: DeskCache = request.app.state.cache
    return cache


async def get_login_throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


async def get_generation(request: Request) -> Generations | None:
    """The desk generations as this request starts: what cached entries are checked against.
    Read before anything else, so whatever the request then builds is at least this new."""
    reader: GenerationReader = request.app.state.generation
    return await reader.read()


def get_session(
    sessions: Annotated[sessionmaker[Session], Depends(get_sessions)],
) -> Iterator[Session]:
    """A read session; actions open their own transaction so they commit before responding."""
    with sessions() as session:
        yield session


async def get_principal(
    request: Request,
    sessions: Annotated[sessionmaker[Session], Depends(get_sessions)],
    cache: Annotated[DeskCache, Depends(get_cache)],
    generations: Annotated[Generations | None, Depends(get_generation)],
) -> Principal:
    """Who is asking: an ``Authorization: Bearer`` API token, else the session cookie.

    The answer is cached until a user, session or token changes (a revoked token, a
    deactivated user and a signed-out session all do; an approval does not) or the
    credential's own time runs out. ``async``, so a cached answer costs no trip through the
    thread pool; a lookup takes one.
    """
    scheme, _, secret = request.headers.get("authorization", "").partition(" ")
    via, credential = ("token", secret.strip()) if scheme.lower() == "bearer" else ("", "")
    if not credential:
        via, credential = "session", request.cookies.get(auth.SESSION_COOKIE, "")
        if not credential:
            raise NotAuthenticatedError("sign in to use the desk")
    key = ("principal", via, auth.fingerprint(credential))
    identities = generations.identities if generations else None
    known: auth.Identity | None = cache.get(key, identities)
    if known is not None and utcnow() < known.until:
        return known.principal
    identity = await run_in_threadpool(_identify, sessions, via, credential)
    cache.put(key, identities, identity)
    return identity.principal


def _identify(sessions: sessionmaker[Session], via: str, credential: str) -> auth.Identity:
    with transaction(sessions) as session:
        if via == "token":
            return auth.token_identity(session, credential)
        return auth.session_identity(session, credential)


async def get_current_user(
    request: Request, user: Annotated[Principal, Depends(get_principal)]
) -> Principal:
    """The signed-in user, after the CSRF check that every unsafe request must pass."""
    await csrf.check(request, user)
    return user


async def get_manager(user: Annotated[Principal, Depends(get_current_user)]) -> Principal:
    require_role(user, "manager", "admin")
    return user


async def get_admin(user: Annotated[Principal, Depends(get_current_user)]) -> Principal:
    require_role(user, "admin")
    return user


async def get_sender(
    request: Request, settings: Annotated[Settings, Depends(get_settings)]
) -> Sender:
    sender: Sender | None = getattr(request.app.state, "sender", None)
    return sender or make_sender(settings)


async def get_drafter(request: Request) -> Callable[[], Drafter]:
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
CacheDep = Annotated[DeskCache, Depends(get_cache)]
LoginThrottleDep = Annotated[LoginThrottle, Depends(get_login_throttle)]
GenerationDep = Annotated[Generations | None, Depends(get_generation)]
CurrentUser = Annotated[Principal, Depends(get_current_user)]
ManagerUser = Annotated[Principal, Depends(get_manager)]
AdminUser = Annotated[Principal, Depends(get_admin)]
SenderDep = Annotated[Sender, Depends(get_sender)]
DrafterDep = Annotated[Callable[[], Drafter], Depends(get_drafter)]
