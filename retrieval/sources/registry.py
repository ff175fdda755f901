"""The configured sources: feeds, calendars, watched folders and webhook senders.

A webhook sender gets an API token and a signing secret once, at creation; only the
token's SHA-256 is stored. The signing secret is stored as is, because verifying an
HMAC needs the key itself (as every Standard Webhooks receiver does).
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from retrieval.sources.fetch import is_url
from samdesk.errors import InputError, NotFoundError
from samdesk.models import Account, FeedState, SignalSource

KINDS = ("feed", "calendar", "folder", "webhook")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
TOKEN_PREFIX = "sdk_"


@dataclass(frozen=True)
class WebhookCredentials:
    source: str
    token: str
    secret: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_source(
    session: Session,
    *,
    kind: str,
    name: str,
    url: str | None = None,
    account_id: str | None = None,
    options: dict[str, Any] | None = None,
) -> SignalSource:
    if kind not in KINDS:
        raise InputError("source", None, "kind", f"{kind!r} is not one of {', '.join(KINDS)}")
    if not _NAME.match(name):
        raise InputError("source", None, "name", f"{name!r}: use lower-case letters, digits, . _ -")
    if session.scalars(select(SignalSource).where(SignalSource.name == name)).first():
        raise InputError("source", None, "name", f"a source named {name!r} already exists")
    if kind == "feed" and (account_id is None or session.get(Account, account_id) is None):
        raise InputError(
            name, None, "account_id", f"feed needs an ingested account, not {account_id!r}"
        )
    if kind in ("feed", "calendar", "folder"):
        _check_location(name, kind, url)
    source = SignalSource(
        name=name, kind=kind, url=url, account_id=account_id, options=options or {}
    )
    session.add(source)
    session.flush()
    session.add(FeedState(source_id=source.id))
    return source


def add_webhook(session: Session, *, name: str) -> WebhookCredentials:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    source = add_source(session, kind="webhook", name=name)
    source.token_hash = token_hash(token)
    source.signing_secret = secret
    return WebhookCredentials(name, token, secret)


def find_by_token(session: Session, token: str) -> SignalSource | None:
    return session.scalars(
        select(SignalSource).where(
            SignalSource.token_hash == token_hash(token),
            SignalSource.kind == "webhook",
            SignalSource.enabled.is_(True),
        )
    ).first()


def get_source(session: Session, name: str) -> SignalSource:
    source = session.scalars(select(SignalSource).where(SignalSource.name == name)).first()
    if source is None:
        raise NotFoundError(f"no source named {name!r}; `samdesk sources list` shows them")
    return source


def list_sources(session: Session) -> list[tuple[SignalSource, FeedState | None]]:
    sources = session.scalars(select(SignalSource).order_by(SignalSource.name))
    return [(s, session.get(FeedState, s.id)) for s in sources]


def _check_location(name: str, kind: str, url: str | None) -> None:
    if not url:
        raise InputError(name, None, "url", f"a {kind} needs a URL or a path")
    if is_url(url):
        return
    path = Path(url.removeprefix("file://"))
    if kind == "folder" and not path.is_dir():
        raise InputError(name, None, "url", f"{url!r} is not a folder")
    if kind != "folder" and not path.is_file():
        raise InputError(name, None, "url", f"{url!r} is neither an http(s) URL nor a file")
