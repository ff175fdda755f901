"""A real HTTP server on 127.0.0.1 that serves fixture feeds and calendars like a web server does.

It honours If-None-Match and If-Modified-Since with 304, counts every request and its
status, and lets a test replace a file, make a path fail, or strip the validators.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Served:
    body: bytes
    content_type: str
    modified: float
    status: int = 200
    validators: bool = True

    @property
    def etag(self) -> str:
        return f'"{hashlib.sha256(self.body).hexdigest()[:16]}"'


@dataclass
class FeedServer:
    host: str
    port: int
    files: dict[str, Served] = field(default_factory=dict)
    log: list[tuple[str, int]] = field(default_factory=list)
    _clock: float = 1_795_000_000.0  # a fixed "now" for Last-Modified values

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def put(self, path: str, body: bytes, content_type: str = "application/rss+xml") -> str:
        self._clock += 60
        self.files[path] = Served(body, content_type, self._clock)
        return self.url(path)

    def statuses(self, path: str) -> list[int]:
        return [status for p, status in self.log if p == path]


def _handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            served = server.files.get(self.path.split("?")[0])
            if served is None:
                return self._reply(404, b"not found", "text/plain")
            if served.status != 200:
                return self._reply(served.status, b"failure", "text/plain")
            if served.validators and self._not_modified(served):
                return self._reply(304, b"", served.content_type, served)
            return self._reply(200, served.body, served.content_type, served)

        def _not_modified(self, served: Served) -> bool:
            etag = self.headers.get("If-None-Match")
            if etag is not None:
                return etag == served.etag
            since = self.headers.get("If-Modified-Since")
            if since is None:
                return False
            return served.modified <= parsedate_to_datetime(since).timestamp()

        def _reply(
            self, status: int, body: bytes, content_type: str, served: Served | None = None
        ) -> None:
            server.log.append((self.path.split("?")[0], status))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            if served is not None and served.validators:
                self.send_header("ETag", served.etag)
                self.send_header("Last-Modified", formatdate(served.modified, usegmt=True))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 304:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    return Handler


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    holder = FeedServer("127.0.0.1", 0)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(holder))
    holder.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder
    finally:
        httpd.shutdown()
        httpd.server_close()
