"""A local OpenAI-compatible chat server with a fixed, configurable latency.

It stands in for the LLM so that what is measured is samdesk's own cost around the call:
every reply is a valid draft citing the first ``<source id=...>`` of the prompt, after
``--latency-ms`` of sleep. ``GET /stats`` tells how many requests arrived and the most that
were in flight at once, so a benchmark can check a concurrency limit was kept.

Run: ``python -m bench.stub_llm --port 0 --latency-ms 500`` (prints ``listening on PORT``).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

SOURCE_ID = re.compile(r'<source id="([^"]+)"')
MODEL = "stub-llm"


class StubState:
    def __init__(self, latency_s: float):
        self.latency_s = latency_s
        self.lock = threading.Lock()
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.last_body: dict[str, Any] | None = None

    def enter(self) -> None:
        with self.lock:
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1

    def stats(self) -> dict[str, int]:
        with self.lock:
            return {"requests": self.requests, "max_in_flight": self.max_in_flight}

    def reset(self) -> None:
        with self.lock:
            self.requests = 0
            self.max_in_flight = self.in_flight


def reply_for(body: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI chat completion whose content is a draft citing the prompt's first source."""
    prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
    ids = SOURCE_ID.findall(prompt)
    cite = ids[0] if ids else "source-id"
    draft = {
        "subject": "Following up on your recent news",
        "body": f"Hello, congratulations on the recent news [{cite}]. "
        f"Could we meet for 30 minutes in the next two weeks? [{cite}]",
        "citations": [cite],
    }
    content = json.dumps(draft)
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", MODEL),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        # A rough count (4 characters a token): the stub has no tokenizer.
        "usage": {
            "prompt_tokens": len(prompt) // 4,
            "completion_tokens": len(content) // 4,
            "total_tokens": (len(prompt) + len(content)) // 4,
        },
    }


def make_server(port: int, latency_s: float) -> ThreadingHTTPServer:
    state = StubState(latency_s)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real model server offers
        # Headers and body go out in two writes; with Nagle on, the second waits ~40 ms
        # for the client's delayed ACK and the "zero-latency" stub would not be.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

        def _send(self, payload: dict[str, Any], status: int = 200) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            if self.path.endswith("/models"):
                self._send({"object": "list", "data": [{"id": MODEL, "object": "model"}]})
            elif self.path == "/stats":
                self._send(state.stats())
            elif self.path == "/last":
                self._send(state.last_body or {})
            else:
                self._send({"error": "not found"}, 404)

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            if self.path == "/reset":
                state.reset()
                self._send({"ok": True})
                return
            if not self.path.endswith("/chat/completions"):
                self._send({"error": "not found"}, 404)
                return
            body = json.loads(raw or b"{}")
            state.enter()
            try:
                if state.latency_s:
                    time.sleep(state.latency_s)
                state.last_body = body
                self._send(reply_for(body))
            finally:
                state.leave()

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.request_queue_size = 128
    return server


@contextmanager
def running_stub(latency_ms: float = 0.0) -> Iterator[str]:
    """Start the stub in its own process; yields its base URL (``http://127.0.0.1:P/v1``)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.stub_llm", "--port", "0", "--latency-ms", str(latency_ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"the stub LLM did not start: {line!r}")
        port = int(line.split()[-1])
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def stats(base_url: str) -> dict[str, int]:
    root = base_url.removesuffix("/v1")
    data: dict[str, int] = httpx.get(f"{root}/stats", timeout=5).json()
    return data


def reset(base_url: str) -> None:
    httpx.post(f"{base_url.removesuffix('/v1')}/reset", timeout=5)


def last_request(base_url: str) -> dict[str, Any]:
    data: dict[str, Any] = httpx.get(f"{base_url.removesuffix('/v1')}/last", timeout=5).json()
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    server = make_server(args.port, args.latency_ms / 1000)
    print(f"listening on {server.server_address[1]}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
