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
        with httpx.stream(
            "GET", location, headers=headers, timeout=timeout, follow_redirects=True
        ) as response:
            if response.status_code == 304:
                return Fetched(304, None, etag, last_modified)
            if response.status_code >= 400:
                raise SourceError(f"{location}: HTTP {response.status_code}")
            body = _read_capped(response, location)
    except httpx.HTTPError as exc:
        raise SourceError(f"{location}: cannot fetch ({type(exc).__name__}: {exc})") from exc
    return Fetched(
        response.status_code,
        body,
        response.headers.get("ETag"),
        response.headers.get("Last-Modified"),
    )


def _read_capped(response: httpx.Response, location: str) -> bytes:
    """The body, read until ``MAX_BYTES`` and no further: a huge or endless one is refused."""
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_BYTES:
            raise SourceError(f"{location}: larger than {MAX_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _read_file(path: Path, etag: str | None) -> Fetched:
    try:
        mtime, size = path.stat().st_mtime, path.stat().st_size
        if size > MAX_BYTES:
            raise SourceError(f"{path}: larger than {MAX_BYTES} bytes")
        body = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror})") from exc
    digest = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    modified = formatdate(mtime, usegmt=True)
    if etag == digest:
        return Fetched(304, None, etag, modified)
    return Fetched(200, body, digest, modified)
