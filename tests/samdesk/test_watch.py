"""The watcher with a hand-moved clock: feeds and a calendar over real HTTP, drafts from fixed
model replies, exactly one draft per trigger across ticks, failures, two watchers and a crash."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from agent.drafting import Drafter
from agent.llm import ChatMessage, Completion, ScriptedChatModel
from retrieval.index import VectorIndex
from retrieval.sources.registry import add_source
from samdesk.db import transaction
from samdesk.errors import LLMError, ModelUnavailableError
from samdesk.lease import Lease
from samdesk.models import Draft, SchedulerLease, SignalRecord, TriageDecision, WatchTrigger
from samdesk.pacing import ManualClock
from samdesk.watch import WatchConfig, Watcher
from tests.conftest import REPO, SAMPLES
from tests.feed_server import FeedServer
from tests.pg import database_env

START = datetime(2026, 11, 26, 12, tzinfo=UTC)
REPLY = json.dumps(
    {
        "subject": "Following up on your news",
        "body": "Hello, congratulations on the news [x]. Could we meet next week to discuss it?",
        "citations": ["x"],
    }
)


class TimedModel(ScriptedChatModel):
    """Fixed replies; records when (by the watcher's clock) each call was made."""

    def __init__(self, clock: ManualClock, replies: int = 200, failures: int = 0):
        super().__init__([REPLY] * replies)
        self.clock = clock
        self.failures = failures
        self.at: list[datetime] = []
        self.during_call: Any = None

    def complete(
        self, messages: list[ChatMessage], *, schema: dict[str, Any] | None = None
    ) -> Completion:
        self.at.append(self.clock.now())
        if self.during_call is not None:
            hook, self.during_call = self.during_call, None
            hook()
        if self.failures:
            self.failures -= 1
            raise LLMError("model server unreachable (connection refused)")
        return super().complete(messages, schema=schema)


def make_watcher(
    sessions: sessionmaker[Session],
    index: VectorIndex,
    clock: ManualClock,
    model: TimedModel,
    **config: Any,
) -> Watcher:
    drafter = Drafter(llm=model, index=index)
    return Watcher(sessions, index, drafter, clock=clock, config=WatchConfig(**config))


@pytest.fixture
def sources(feed_server: FeedServer, sample_sessions: sessionmaker[Session]) -> FeedServer:
    feed = feed_server.put("/acme.rss", (SAMPLES / "feeds" / "acme-financial.rss.xml").read_bytes())
    ics = feed_server.put(
        "/sarah.ics", (SAMPLES / "calendar" / "sarah-chen.ics").read_bytes(), "text/calendar"
    )
    with transaction(sample_sessions) as session:
        add_source(session, kind="feed", name="acme-news", url=feed, account_id="acme-financial")
        add_source(session, kind="calendar", name="sarah", url=ics)
    return feed_server


def drafts(sessions: sessionmaker[Session]) -> list[Draft]:
    with sessions() as session:
        return list(session.scalars(select(Draft).order_by(Draft.id)))


def triggers(sessions: sessionmaker[Session], **where: Any) -> list[WatchTrigger]:
    with sessions() as session:
        query = select(WatchTrigger).filter_by(**where).order_by(WatchTrigger.id)
        return list(session.scalars(query))


def test_a_tick_triages_everything_and_drafts_each_actionable_event_once(
    sources: FeedServer, sample_sessions: sessionmaker[Session], sample_index: VectorIndex
) -> None:
    clock = ManualClock(START)
    model = TimedModel(clock)
    watcher = make_watcher(sample_sessions, sample_index, clock, model, llm_per_minute=1000)
    first = watcher.tick()
    assert [p.status for p in first.polled] == ["changed", "changed"]
    assert first.ingested == 5 and first.triaged == 85 + 5
    outreach = triggers(sample_sessions, kind="outreach")
    assert outreach and all(t.status == "done" and t.draft_id for t in outreach)
    stored = drafts(sample_sessions)
    assert len(stored) == len(outreach) == len(first.drafted)
    keys = [d.trigger["key"] for d in stored]
    assert len(set(keys)) == len(keys)
    with sample_sessions() as session:
        decisions = {d.signal_id: d for d in session.scalars(select(TriageDecision))}
    cfo = [d for d in stored if d.trigger.get("title", "").startswith("Acme Financial CFO Robert")]
    assert len(cfo) == 1 and cfo[0].trigger["action"] == "executive_realignment"
    assert "Robert Ainsley" in cfo[0].trigger["reason"] and cfo[0].trigger["via"] == "watch"
    # the second report of the CFO news is grouped with the first; noise and namesakes wait
    by_title = {r.title: decisions[r.id] for r in _signals(sample_sessions, "feed-")}
    follow_up = by_title["Acme Financial begins search for new finance chief as Ainsley departs"]
    assert follow_up.group_id == cfo[0].trigger["signal_id"] and follow_up.action == "no_action"
    assert follow_up.reason.startswith("same event as")
    assert by_title["Acme Hardware Co. opens new store in Spokane"].action == "no_action"
    assert by_title["Acme Financial sponsors city marathon for fifth year"].type == "noise"
    # a second tick an hour later: feeds answer 304, nothing is drafted again
    clock.advance(hours=1)
    second = watcher.tick()
    assert [p.status for p in second.polled] == ["not modified", "not modified"]
    assert second.drafted == [] and second.triaged == 0
    assert len(drafts(sample_sessions)) == len(stored)


def test_a_briefing_is_drafted_n_hours_before_each_matched_meeting(
    sources: FeedServer, sample_sessions: sessionmaker[Session], sample_index: VectorIndex
) -> None:
    clock = ManualClock(START)
    watcher = make_watcher(
        sample_sessions,
        sample_index,
        clock,
        TimedModel(clock),
        briefing_hours=24,
        llm_per_minute=1000,
    )
    watcher.tick()
    briefings = triggers(sample_sessions, kind="briefing")
    due = {t.key.split(":")[1]: t.due_at for t in briefings}
    assert len(briefings) == 5  # the cancelled Kessler readout asks for nothing
    assert due["acme-financial"] == datetime(2026, 12, 7, 15, tzinfo=UTC)
    assert all(t.status == "pending" for t in briefings)
    clock.advance(days=7, hours=5, minutes=59)  # 3 Dec 17:59: nothing due yet
    watcher.tick()
    assert [d.kind for d in drafts(sample_sessions)].count("briefing") == 0
    clock.advance(minutes=1)  # 24 hours before the Harborview negotiation
    watcher.tick()
    made = [d for d in drafts(sample_sessions) if d.kind == "briefing"]
    assert [d.account_id for d in made] == ["harborview-retail"]
    clock.advance(days=3, hours=21)  # 7 Dec 15:00, 24 hours before the Acme QBR
    watcher.tick()
    made = [d for d in drafts(sample_sessions) if d.kind == "briefing"]
    assert sorted(d.account_id for d in made) == ["acme-financial", "harborview-retail"]
    acme = next(d for d in made if d.account_id == "acme-financial")
    assert acme.trigger["type"] == "meeting" and acme.trigger["title"] == "Q4 QBR with CFO and COO"
    assert "robert.ainsley@acmefinancial.example" in acme.trigger["reason"]
    watcher.tick()
    assert len([d for d in drafts(sample_sessions) if d.kind == "briefing"]) == 2


def test_the_llm_rate_limit_holds_in_every_minute(
    sample_sessions: sessionmaker[Session], sample_index: VectorIndex
) -> None:
    clock = ManualClock(START)
    model = TimedModel(clock)
    watcher = make_watcher(sample_sessions, sample_index, clock, model, llm_per_minute=3)
    report = watcher.tick()
    calls = model.at
    assert len(report.drafted) >= 10 and len(calls) == len(report.drafted)
    for i, at in enumerate(calls):
        in_window = [c for c in calls[i:] if c - at < timedelta(minutes=1)]
        assert len(in_window) <= 3
    assert watcher.llm.waited_s >= (len(calls) // 3 - 1) * 60


def test_an_unreachable_model_is_retried_later_and_drafts_once(
    sample_sessions: sessionmaker[Session], sample_index: VectorIndex
) -> None:
    clock = ManualClock(START)
    model = TimedModel(clock, failures=1)
    watcher = make_watcher(
        sample_sessions, sample_index, clock, model, llm_per_minute=1000, retry_after_s=600
    )
    report = watcher.tick()
    assert report.retried == 1
    waiting = [
        t for t in triggers(sample_sessions) if t.status == "pending" and t.kind == "outreach"
    ]
    assert len(waiting) == 1 and waiting[0].attempts == 1
    assert "unreachable" in (waiting[0].last_error or "")
    assert waiting[0].due_at == START + timedelta(seconds=600)
    assert watcher.tick().drafted == []  # not due yet
    clock.advance(minutes=10)
    assert len(watcher.tick().drafted) == 1
    done = triggers(sample_sessions, key=waiting[0].key)[0]
    assert done.status == "done" and done.attempts == 2


def test_after_the_last_attempt_the_sam_sees_a_failed_draft_with_the_reason(
    sample_sessions: sessionmaker[Session], sample_index: VectorIndex
) -> None:
    clock = ManualClock(START)
    model = TimedModel(clock)
    model.complete = _always_unavailable  # type: ignore[method-assign]
    watcher = make_watcher(
        sample_sessions, sample_index, clock, model, llm_per_minute=1000, max_attempts=1
    )
    watcher.tick()
    failed = [t for t in triggers(sample_sessions) if t.kind == "outreach"]
    assert failed and all(t.status == "failed" for t in failed)
    stored = {d.id: d for d in drafts(sample_sessions)}
    assert {t.draft_id for t in failed} == set(stored)  # one visible draft per trigger
    for draft in stored.values():
        assert draft.status == "failed" and "timed out" in (draft.failure_reason or "")
    assert all("timed out" in (t.last_error or "") for t in failed)


def _always_unavailable(messages: list[ChatMessage], *, schema: Any = None) -> Completion:
    raise ModelUnavailableError("the model timed out after 3 attempts (0.5 s each)")


def test_a_second_watcher_stands_by_and_takes_over_a_dead_or_expired_lease(
    sample_sessions: sessionmaker[Session], sample_index: VectorIndex
) -> None:
    clock = ManualClock(START)
    first = make_watcher(sample_sessions, sample_index, clock, TimedModel(clock), lease_ttl_s=300)
    second = make_watcher(sample_sessions, sample_index, clock, TimedModel(clock), lease_ttl_s=300)
    assert first.lease.acquire(clock.now())
    assert second.tick().standby
    assert drafts(sample_sessions) == []
    clock.advance(seconds=301)  # the first holder stopped renewing
    assert not second.tick().standby
    with transaction(sample_sessions) as session:  # a holder on this host whose process is gone
        session.execute(
            update(SchedulerLease).values(
                holder=f"{socket.gethostname()}:99999999:dead",
                expires_at=clock.now() + timedelta(hours=1),
            )
        )
    assert Lease(sample_sessions, holder="third").acquire(clock.now())


def test_a_claim_taken_over_mid_draft_never_stores_a_second_draft(
    sample_sessions: sessionmaker[Session], sample_index: VectorIndex
) -> None:
    """Watcher A stalls inside a model call; B takes the expired lease and drafts the same
    trigger; A's reply then arrives, and its commit is fenced out."""
    clock = ManualClock(START)
    slow = TimedModel(clock)
    a = make_watcher(
        sample_sessions,
        sample_index,
        clock,
        slow,
        lease_ttl_s=60,
        llm_per_minute=1000,
        max_drafts_per_tick=1,
    )
    b = make_watcher(
        sample_sessions,
        sample_index,
        clock,
        TimedModel(clock),
        lease_ttl_s=60,
        llm_per_minute=1000,
        max_drafts_per_tick=1,
    )
    taken: list[int] = []

    def b_takes_over() -> None:
        clock.advance(seconds=61)
        taken.extend(b.tick().drafted)

    slow.during_call = b_takes_over
    a_report = a.tick()
    assert a_report.drafted == [] and len(taken) == 1
    stored = drafts(sample_sessions)
    assert [d.id for d in stored] == taken
    done = triggers(sample_sessions, status="done")
    assert len(done) == 1 and done[0].draft_id == taken[0] and done[0].claimed_by == b.lease.holder


def _signals(sessions: sessionmaker[Session], prefix: str) -> list[SignalRecord]:
    with sessions() as session:
        return list(session.scalars(select(SignalRecord).where(SignalRecord.id.like(f"{prefix}%"))))


# -- a real process, killed mid-run ---------------------------------------------------------


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
    assert sorted(t.draft_id for t in outreach) == [d.id for d in stored]
    keys = [d.trigger["key"] for d in stored]
    assert len(keys) == len(set(keys))
    with sample_sessions() as session:
        assert session.scalar(select(func.count()).select_from(SignalRecord)) == 85 + 5
        assert session.scalar(select(func.count()).select_from(TriageDecision)) == 85 + 5
    assert slow_model.requests >= len(stored)  # the killed call was repeated, not stored twice
