"""FastAPI dependencies, as ``Annotated`` aliases the routes import by name."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from approval_ui.sending import Sender, make_sender
from samdesk.config import Settings


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


def get_current_user(settings: Annotated[Settings, Depends(get_settings)]) -> str:
    """The reviewer acting in the desk (one configured user until logins exist)."""
    return settings.desk_user


def get_sender(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> Sender:
    sender: Sender | None = getattr(request.app.state, "sender", None)
    return sender or make_sender(settings)


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionsDep = Annotated[sessionmaker[Session], Depends(get_sessions)]
SessionDep = Annotated[Session, Depends(get_session)]
CurrentUser = Annotated[str, Depends(get_current_user)]
SenderDep = Annotated[Sender, Depends(get_sender)]
