"""Hostile HTTP input: oversized, deeply nested, undecodable or mislabelled bodies.

Each is refused with a 4xx and a JSON message, never a 500, and the desk keeps serving
the next request. The size limit is checked on a real uvicorn server too, over a raw
socket, to show the body is refused as it arrives rather than read into memory first.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from samdesk.config import Settings
from tests.conftest import make_settings
from tests.factories import make_draft
from tests.smtp_server import free_port

LIMIT = 256 * 1024  # room for the 100k-level JSON below (200 kB), little more


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data", max_request_bytes=LIMIT)


@pytest.fixture
def draft_id(sessions: sessionmaker[Session]) -> int:
    return make_draft(sessions)


def still_serves(client: TestClient, draft_id: int) -> None:
    response = client.patch(
        f"/api/drafts/{draft_id}", json={"subject": f"Still here {time.time()}"}
    )
    assert response.status_code == 200, response.text


def patch_raw(client: TestClient, draft_id: int, body: bytes, content_type: str) -> Any:
    return client.patch(
        f"/api/drafts/{draft_id}", content=body, headers={"content-type": content_type}
    )


def test_a_body_over_the_limit_is_413_with_a_message(client: TestClient, draft_id: int) -> None:
    big = b'{"body": "' + b"x" * LIMIT + b'"}'

    response = patch_raw(client, draft_id, big, "application/json")

    assert response.status_code == 413
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.json() == {
        "detail": f"the request body is over the desk's limit of {LIMIT} bytes (max_request_bytes)"
    }
    assert response.headers["x-content-type-options"] == "nosniff"  # still a desk response
    assert len(client.get(f"/api/drafts/{draft_id}").json()["revisions"]) == 1
    still_serves(client, draft_id)


def test_a_chunked_body_over_the_limit_is_413_too(client: TestClient, draft_id: int) -> None:
    """No Content-Length: the body is counted as it is read."""

    def chunks() -> Iterator[bytes]:
        yield b'{"body": "'
        for _ in range(LIMIT // 4096 + 2):
            yield b"x" * 4096
        yield b'"}'

    response = client.patch(
        f"/api/drafts/{draft_id}", content=chunks(), headers={"content-type": "application/json"}
    )

    assert response.status_code == 413
    assert "max_request_bytes" in response.json()["detail"]
    still_serves(client, draft_id)


def test_an_oversized_form_post_is_413(client: TestClient, draft_id: int) -> None:
    version = client.get(f"/api/drafts/{draft_id}").json()["version"]
    response = client.post(
        f"/drafts/{draft_id}/edit",
        data={"subject": "s", "recipient": "r", "version": str(version), "body": "x" * LIMIT},
        follow_redirects=False,
    )
    assert response.status_code == 413
    still_serves(client, draft_id)


@pytest.mark.parametrize("depth", [100_000, 5_000])
def test_deeply_nested_json_is_400_not_a_recursion_error(
    client: TestClient, draft_id: int, depth: int
) -> None:
    nested = b"[" * depth + b"]" * depth

    response = patch_raw(client, draft_id, b'{"body": ' + nested + b"}", "application/json")

    assert response.status_code == 400
    assert response.json()["detail"] == "There was an error parsing the body"
    still_serves(client, draft_id)


def test_nesting_that_parses_is_a_422_naming_the_field(client: TestClient, draft_id: int) -> None:
    """Deep enough to overflow a recursive error encoder, shallow enough for the parser."""
    nested = b"[" * 900 + b"]" * 900

    response = patch_raw(client, draft_id, b'{"body": ' + nested + b"}", "application/json")

    assert response.status_code == 422
    data = response.json()
    assert data["detail"] == "invalid request: body.body: Input should be a valid string"
    assert data["errors"] == [
        {"loc": ["body", "body"], "msg": "Input should be a valid string", "type": "string_type"}
    ]
    still_serves(client, draft_id)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "says"),
    [
        (b'{"body": "caf\xe9 \xff"}', "application/json", 400, "error parsing the body"),
        (b'{"body": "\xed\xa0\x80"}', "application/json", 422, "unicode string"),
        (b'{"body": "a\\ud800b"}', "application/json", 422, "valid string"),
        (b'{"body": "Hello"}', "text/plain", 422, "valid dictionary"),
        (b"body=Hello", "application/x-www-form-urlencoded", 422, "valid dictionary"),
        (b'{"body": ', "application/json", 422, "JSON decode error"),
        (b"", "application/json", 422, "Field required"),
        (b'["body"]', "application/json", 422, "valid dictionary"),
        (b'{"body": "a\\u0000b"}', "application/json", 422, "NUL"),
    ],
)
def test_undecodable_or_mislabelled_bodies_are_4xx_with_a_message(
    client: TestClient, draft_id: int, body: bytes, content_type: str, status: int, says: str
) -> None:
    response = patch_raw(client, draft_id, body, content_type)

    assert response.status_code == status, response.text
    assert says in response.json()["detail"]
    assert len(client.get(f"/api/drafts/{draft_id}").json()["revisions"]) == 1
    still_serves(client, draft_id)


def test_nul_characters_in_a_query_never_make_a_500(client: TestClient, draft_id: int) -> None:
    """SQLite stores and matches NUL; PostgreSQL refuses it: 422 with why, not a crash."""
    response = client.get("/api/drafts", params={"q": "a\x00b", "account": "\x00"})

    assert response.status_code in (200, 422)
    if response.status_code == 422:
        assert "NUL" in response.json()["detail"]
    still_serves(client, draft_id)


@pytest.fixture
def live_app(app: FastAPI) -> Iterator[int]:
    """The same app served by uvicorn on a free loopback port; yields the port."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def raw_request(port: int, head: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(head)
    return sock


def read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        part = sock.recv(65536)
        if not part:
            break
        data += part
    return data


def test_a_declared_gigabyte_is_refused_before_a_byte_of_it_is_sent(
    live_app: int, draft_id: int
) -> None:
    sock = raw_request(
        live_app,
        f"PATCH /api/drafts/{draft_id} HTTP/1.1\r\nHost: desk\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n".encode(),
    )
    with sock:
        response = read_response(sock)  # no body sent at all: the answer comes anyway

    assert response.startswith(b"HTTP/1.1 413 ")
    assert b"max_request_bytes" in response


def test_a_streamed_body_is_cut_off_near_the_limit_not_read_to_the_end(
    live_app: int, draft_id: int
) -> None:
    """64 MiB offered in chunks, no Content-Length: the answer comes after about the limit."""
    sock = raw_request(
        live_app,
        f"PATCH /api/drafts/{draft_id} HTTP/1.1\r\nHost: desk\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode(),
    )
    chunk = b"x" * 65536
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    offered = 64 * 1024 * 1024
    sent = 0
    with sock:
        sock.setblocking(False)
        while sent < offered:
            readable, writable, _ = select.select([sock], [sock], [], 10)
            if readable:
                break  # the server answered
            assert writable, "the server neither read nor answered"
            try:
                sent += sock.send(frame)
            except (BrokenPipeError, ConnectionResetError, BlockingIOError):
                break
        sock.setblocking(True)
        response = read_response(sock)

    assert response.startswith(b"HTTP/1.1 413 ")
    print(f"streamed {sent} bytes before the 413 (limit {LIMIT})")
    assert sent < offered // 4, f"the server took {sent} bytes before refusing"
