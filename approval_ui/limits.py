"""A cap on request bodies, enforced before anything reads them into memory.

A declared ``Content-Length`` over the limit is refused at once (413) without reading a
byte. A body without one (chunked) is counted as it arrives, and the read that crosses
the limit raises 413 instead of handing the route more bytes; so at most one chunk more
than the limit is ever held, whatever the client sends.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def too_large(limit: int) -> str:
    return f"the request body is over the desk's limit of {limit} bytes (max_request_bytes)"


class BodySizeLimit:
    """ASGI middleware: HTTP request bodies over ``limit`` bytes get 413 with a JSON message."""

    def __init__(self, app: ASGIApp, *, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await _refuse(send, too_large(self.limit))
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    # Starlette and FastAPI pass an HTTPException from reading the body on
                    # to the app's handler, which answers 413 {"detail": ...}.
                    raise HTTPException(413, too_large(self.limit))
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server rejects a malformed length before we see it
    return None


async def _refuse(send: Send, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
