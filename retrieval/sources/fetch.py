"""Conditional GET for feeds and calendars: ETag / Last-Modified, so unchanged sources cost a 304.

Local paths are read directly; their modification time and content hash stand in for the
validators, so a file that did not change is "not modified" too.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path

import httpx

from retrieval.sources import SourceError

MAX_BYTES = 10_000_000
USER_AGENT = "samdesk-watch/0.1 (+https://github.com/samdesk)"


@dataclass(frozen=True)
class Fetched:
    status: int
    body: bytes | None  # None when not modified
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        return self.body is None


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def conditional_get(
    location: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    timeout: float = 20.0,
) -> Fetched:
    """The source's body, or ``body=None`` if the validators say it has not changed."""
    if not is_url(location):
        return _read_file(Path(location.removeprefix("file://")), etag)
    headers = {"User-Agent": USER_AGENT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        response = httpx.get(location, headers=headers, timeout=timeout, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise SourceError(f"{location}: cannot fetch ({type(exc).__name__}: {exc})") from exc
    if response.status_code == 304:
        return Fetched(304, None, etag, last_modified)
    if response.status_code >= 400:
        raise SourceError(f"{location}: HTTP {response.status_code}")
    if len(response.content) > MAX_BYTES:
        raise SourceError(f"{location}: larger than {MAX_BYTES} bytes")
    return Fetched(
        response.status_code,
        response.content,
        response.headers.get("ETag"),
        response.headers.get("Last-Modified"),
    )


def _read_file(path: Path, etag: str | None) -> Fetched:
    try:
        body = path.read_bytes()
        mtime = path.stat().st_mtime
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror})") from exc
    digest = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    modified = formatdate(mtime, usegmt=True)
    if etag == digest:
        return Fetched(304, None, etag, modified)
    return Fetched(200, body, digest, modified)
