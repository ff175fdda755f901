"""A watcher tick triages every stored signal (samdesk/watch_triage.py): reports of one event
are grouped, noise and namesakes wait, and each actionable event gets one trigger and one
draft, never a second on later ticks."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from retrieval.index import VectorIndex
from samdesk.models import SignalRecord, TriageDecision
from samdesk.pacing import ManualClock
from tests.feed_server import FeedServer
from tests.samdesk.conftest import START, TimedModel, drafts, make_watcher, triggers


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


def _signals(sessions: sessionmaker[Session], prefix: str) -> list[SignalRecord]:
    with sessions() as session:
        return list(session.scalars(select(SignalRecord).where(SignalRecord.id.like(f"{prefix}%"))))
