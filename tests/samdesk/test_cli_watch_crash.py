"""``samdesk watch`` as a real process, killed mid-run and restarted: a model endpoint on
loopback answers slowly, and the restart neither loses nor duplicates a draft."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from samdesk.models import SignalRecord, TriageDecision
from tests.conftest import REPO
from tests.feed_server import FeedServer
from tests.pg import database_env
from tests.samdesk.conftest import REPLY, draft_of, drafts, triggers


class SlowModelServer:
    """An OpenAI-compatible chat endpoint on loopback that answers after a delay."""

    def __init__(self, delay_s: float):
        self.delay_s = delay_s
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                self.rfile.read(length)
                server.requests += 1
                time.sleep(server.delay_s)
                body = json.dumps(
                    {
                        "id": f"c{server.requests}",
                        "object": "chat.completion",
                        "created": 0,
                        "model": "slow-test-model",
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": REPLY},
                            }
                        ],
                        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
                    }
                ).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client was killed

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def slow_model() -> Iterator[SlowModelServer]:
    server = SlowModelServer(delay_s=0.4)
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def test_killing_the_watcher_mid_run_loses_and_duplicates_nothing(
    sources: FeedServer,
    workspace: Path,
    slow_model: SlowModelServer,
    sample_sessions: sessionmaker[Session],
) -> None:
    env = {
        **os.environ,
        "SAMDESK_DATA_DIR": str(workspace),
        **database_env(workspace),
        "SAMDESK_LLM_BASE_URL": slow_model.url,
        "SAMDESK_LLM_MODEL": "slow-test-model",
        "SAMDESK_LLM_MAX_RETRIES": "0",
        "SAMDESK_LLM_JSON_MODE": "json_object",
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("OPENAI_API_KEY", None)
    command = [
        str(Path(sys.executable).parent / "samdesk"),
        "watch",
        "--until-idle",
        "--tick",
        "0.2",
        "--llm-per-minute",
        "1000",
        "--retry-after",
        "0",  # a model error on a loaded machine is retried within this run, not in 10 min
        "--as-of",
        "2026-11-26T12:00:00",
    ]
    first = subprocess.Popen(
        command, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 240
    while slow_model.requests < 6 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.05)
    assert first.poll() is None, first.stdout.read().decode() if first.stdout else ""
    first.send_signal(signal.SIGKILL)
    first.wait()
    before = len(drafts(sample_sessions))
    assert 1 <= before < 6  # killed with drafts committed and one reply in flight
    # The restart comes later in (pretend) time: each process's clock starts at its --as-of, and
    # triggers the first one created while it ran must already be due for the second.
    restart = [*command[:-1], "2026-11-26T13:00:00"]
    second = subprocess.run(restart, env=env, cwd=REPO, capture_output=True, text=True, timeout=400)
    assert second.returncode == 0, second.stdout + second.stderr
    stored = drafts(sample_sessions)
    outreach = triggers(sample_sessions, kind="outreach")
    assert outreach and all(t.status == "done" for t in outreach), [
        (t.status, t.last_error) for t in outreach if t.status != "done"
    ] + [second.stdout[-2000:]]
    assert sorted(draft_of(t) for t in outreach) == [d.id for d in stored]
    keys = [d.trigger["key"] for d in stored]
    assert len(keys) == len(set(keys))
    with sample_sessions() as session:
        assert session.scalar(select(func.count()).select_from(SignalRecord)) == 85 + 5
        assert session.scalar(select(func.count()).select_from(TriageDecision)) == 85 + 5
    assert slow_model.requests >= len(stored)  # the killed call was repeated, not stored twice
