"""Passwords, browser sessions and API tokens.

Passwords are hashed with argon2id (argon2-cffi). Session and API tokens are 256-bit random
values: only their SHA-256 is stored, so a copy of the database lets nobody sign in, and a
fast hash is enough because the tokens cannot be guessed (unlike passwords).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from approval_ui.permissions import (
    ForbiddenError,
    InvalidRequestError,
    NotAuthenticatedError,
    Principal,
    Role,
)
from samdesk.errors import NotFoundError
from samdesk.models import ApiToken, User, WebSession, utcnow

SESSION_COOKIE = "samdesk_session"
SESSION_TTL = timedelta(hours=12)
TOKEN_PREFIX = "sdk_"
TOKEN_USE_RESOLUTION = timedelta(minutes=1)  # "last used" is shown to the minute
_HASHER = PasswordHasher()
# Verified when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("samdesk: no such user")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(session: Session, email: str, password: str) -> User:
    """The active user with this email and password, or 401 that does not say which was wrong."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    try:
        _HASHER.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        user = None
    if user is None or not user.active:
        raise NotAuthenticatedError("wrong email or password")
    if _HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def principal(
    user: User, *, via: Literal["session", "token"] = "session", csrf: str | None = None
) -> Principal:
    role: Role = user.role  # type: ignore[assignment]  # checked when the user is written
    return Principal(user.id, user.email, user.name, role, via, csrf)


def start_session(session: Session, user: User) -> str:
    """Store a new browser session; returns the cookie value (shown once, never stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    session.add(
        WebSession(
            token_hash=_sha256(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            expires_at=now + SESSION_TTL,
        )
    )
    return token


def end_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == _sha256(token)))


@dataclass(frozen=True)
class Identity:
    """Who a credential names, and until when the desk may reuse that answer unchanged:
    the session's expiry, or for an API token the minute its "last used" is due again."""

    principal: Principal
    until: datetime


def fingerprint(credential: str) -> str:
    """What a credential is stored and cached under (never the credential itself)."""
    return _sha256(credential)


def session_user(session: Session, token: str, *, now: datetime | None = None) -> Principal:
    return session_identity(session, token, now=now).principal


def session_identity(session: Session, token: str, *, now: datetime | None = None) -> Identity:
    row = session.get(WebSession, _sha256(token))
    if row is None or row.expires_at <= (now or utcnow()):
        raise NotAuthenticatedError("your session has expired; sign in again")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise NotAuthenticatedError("this account is deactivated")
    return Identity(principal(user, csrf=row.csrf_token), row.expires_at)


@dataclass(frozen=True)
class IssuedToken:
    """A new API token: ``secret`` is shown once and never again."""

    id: int
    name: str
    secret: str


def create_token(session: Session, user: User, name: str) -> IssuedToken:
    if not name.strip():
        raise InvalidRequestError("an API token needs a name (the integration that uses it)")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user.id, name=name.strip(), prefix=secret[:10], token_hash=_sha256(secret)
    )
    session.add(row)
    session.flush()
    return IssuedToken(row.id, row.name, secret)


def list_tokens(session: Session, user_id: int | None = None) -> list[ApiToken]:
    query = select(ApiToken).order_by(ApiToken.id)
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return list(session.scalars(query))


def revoke_token(session: Session, token_id: int, *, by: Principal) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFoundError(f"API token {token_id} does not exist")
    if row.user_id != by.id and not by.is_admin:
        raise ForbiddenError(f"API token {token_id} belongs to another user")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def token_user(session: Session, secret: str) -> Principal:
    return token_identity(session, secret).principal


def token_identity(session: Session, secret: str) -> Identity:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _sha256(secret)))
    if row is None or row.revoked_at is not None:
        raise NotAuthenticatedError("unknown or revoked API token")
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        raise NotAuthenticatedError("the API token's user is deactivated")
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_USE_RESOLUTION:
        row.last_used_at = now  # a write (a durable commit) at most once a minute per token
    return Identity(principal(user, via="token"), row.last_used_at + TOKEN_USE_RESOLUTION)
