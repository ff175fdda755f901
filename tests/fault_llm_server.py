"""A real OpenAI-compatible chat server on 127.0.0.1 that misbehaves on command.

Tests queue what the next requests get: a good draft, a delay (for timeouts), any status
with optional headers (429 + Retry-After, 500), a body cut short (Content-Length larger
than what is sent, then the connection closes), content that breaks the draft schema, or
a body that is not JSON at all. ``stop()`` closes the port (connection refused) and
``start()`` opens the same port again. Every chat request is counted and timed.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bench.stub_llm import SOURCE_ID, reply_for


@dataclass(frozen=True)
class Fault:
    """What one request gets; build with the functions below."""

    kind: str
    seconds: float = 0.0
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content: str = ""


def good() -> Fault:
    return Fault("good")


def delay(seconds: float) -> Fault:
    """Answer (well) only after ``seconds``: longer than the client's timeout, it times out."""
    return Fault("delay", seconds=seconds)


def status(code: int, **headers: str) -> Fault:
    """An error status, e.g. ``status(429, **{"Retry-After": "1"})`` or ``status(500)``."""
    return Fault("status", status=code, headers=headers)


def truncated() -> Fault:
    """Headers promise more bytes than are sent; then the connection closes."""
    return Fault("truncated")


def content(text: str) -> Fault:
    """A well-formed completion whose message content is ``text`` (bad JSON, wrong schema)."""
    return Fault("content", content=text)


def not_json() -> Fault:
    """A 200 whose body is an HTML page, as a misconfigured proxy sends."""
    return Fault("not_json")


class FaultLLMServer:
    def __init__(self) -> None:
        self.port = 0
        self.requests: list[float] = []  # monotonic arrival time of each chat request
        self.seeds: list[int | None] = []  # the seed each chat request asked for
        self._queue: list[Fault] = []
        self._by_source: dict[str, Fault] = {}
        self._lock = threading.Lock()
        self._released = threading.Event()  # wakes delayed handlers at shutdown
        self._connections: set[socket.socket] = set()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def push(self, *faults: Fault) -> None:
        """What the next requests get, in order; once used up, every request gets ``good()``."""
        with self._lock:
            self._queue.extend(faults)

    def fail_for(self, source_id: str, fault: Fault) -> None:
        """Every request whose prompt's first source is ``source_id`` gets ``fault``, always:
        how a batch's one job fails whatever the order its calls arrive in."""
        with self._lock:
            self._by_source[source_id] = fault

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def gaps(self) -> list[float]:
        """Seconds between consecutive requests (the client's waits, plus its timeouts)."""
        with self._lock:
            times = list(self.requests)
        return [round(b - a, 3) for a, b in zip(times, times[1:], strict=False)]

    def start(self) -> None:
        self._released.clear()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close the port: further connections are refused until ``start()``."""
        self._released.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        with self._lock:  # kept-alive connections would otherwise go on being served
            connections, self._connections = self._connections, set()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _next(self, body: dict[str, Any]) -> Fault:
        prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
        first = SOURCE_ID.search(prompt)
        with self._lock:
            self.requests.append(time.monotonic())
            self.seeds.append(body.get("seed"))
            if first and first.group(1) in self._by_source:
                return self._by_source[first.group(1)]
            return self._queue.pop(0) if self._queue else good()


def _completion(body: dict[str, Any], text: str | None = None) -> dict[str, Any]:
    reply = reply_for(body)
    if text is not None:
        reply["choices"][0]["message"]["content"] = text
    return reply


def _handler(server: FaultLLMServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            with server._lock:
                server._connections.add(self.connection)

        def finish(self) -> None:
            with server._lock:
                server._connections.discard(self.connection)
            super().finish()

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if not self.path.endswith("/chat/completions"):
                return self._send(404, b'{"error": "not found"}')
            body = json.loads(raw or b"{}")
            fault = server._next(body)
            if fault.kind == "delay":
                server._released.wait(fault.seconds)
                return self._send(200, json.dumps(_completion(body)).encode(), quiet=True)
            if fault.kind == "status":
                error = {"error": {"message": f"injected {fault.status}", "type": "fault"}}
                return self._send(fault.status, json.dumps(error).encode(), fault.headers)
            if fault.kind == "truncated":
                data = json.dumps(_completion(body)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data) + 1000))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return None
            if fault.kind == "not_json":
                page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
                return self._send(200, page, {"Content-Type": "text/html"})
            text = fault.content if fault.kind == "content" else None
            return self._send(200, json.dumps(_completion(body, text)).encode())

        def _send(
            self,
            code: int,
            data: bytes,
            headers: dict[str, str] | None = None,
            quiet: bool = False,
        ) -> None:
            try:
                self.send_response(code)
                headers = {"Content-Type": "application/json", **(headers or {})}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                if not quiet:  # a client that timed out has gone; that is the point
                    raise

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    return Handler


@pytest.fixture
def fault_llm() -> Iterator[FaultLLMServer]:
    server = FaultLLMServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
