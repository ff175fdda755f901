"""The watcher with a hand-moved clock (samdesk/watch.py): briefings before meetings, the LLM
rate limit, retries and failed drafts, and a second watcher that stands by or takes over,
with exactly one draft per trigger throughout. Triage is in test_watch_triage.py; a real
``samdesk watch`` process killed mid-run is in test_cli_watch_crash.py."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from agent.llm import ChatMessage, Completion
from retrieval.index import VectorIndex
from samdesk.db import transaction
from samdesk.errors import ModelUnavailableError
from samdesk.lease import Lease
from samdesk.models import SchedulerLease
from samdesk.pacing import ManualClock
from tests.feed_server import FeedServer
from tests.samdesk.conftest import (
    START,
    TimedModel,
    drafts,
    make_watcher,
    triggers,
)


def test_a_briefing_is_drafted_n_hours_before_each_matched_meeting(
    sources: FeedServer,
    sample_sessions: sessionmaker[Session],
    sample_index: VectorIndex,
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


def _always_unavailable(
    messages: list[ChatMessage], *, schema: Any = None, seed: int | None = None
) -> Completion:
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
