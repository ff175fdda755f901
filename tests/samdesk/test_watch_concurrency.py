"""Two watchers on one database tick at the same time; no trigger is ever drafted twice.

Each watcher has its own engine (as two processes would) over the test's database: SQLite,
or PostgreSQL on the SAMDESK_TEST_POSTGRES_URL run. Some model calls outlast the lease on
the shared clock, so the lease changes hands mid-draft and both watchers draft; the lease
and the trigger claims must still keep each trigger to one draft.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agent.llm import ChatMessage, Completion
from retrieval.index import VectorIndex
from samdesk.config import Settings
from samdesk.models import Draft, WatchTrigger
from samdesk.pacing import ManualClock
from samdesk.watch import Watcher
from tests.conftest import make_sessions
from tests.feed_server import FeedServer
from tests.samdesk.conftest import START, TimedModel, draft_of, make_watcher

LEASE_S = 60.0


CALLS = itertools.count(1)  # model calls of both watchers


class AgeingModel(TimedModel):
    """Every third reply (of either watcher) outlasts the lease: the other watcher may take
    it over while this one waits for the reply, whose draft must then be fenced out."""

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        schema: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> Completion:
        self.clock.advance(seconds=LEASE_S + 1 if next(CALLS) % 3 == 0 else 5)
        time.sleep(0.03)  # the other watcher gets to try the lease meanwhile
        return super().complete(messages, schema=schema, seed=seed)


def test_two_watchers_ticking_at_once_draft_each_trigger_once(
    sources: FeedServer,
    sample_settings: Settings,
    sample_sessions: sessionmaker[Session],
    sample_index: VectorIndex,
) -> None:
    clock = ManualClock(START)
    watchers: list[Watcher] = [
        make_watcher(
            make_sessions(sample_settings.resolved_database_url),
            sample_index,
            clock,
            AgeingModel(clock),
            lease_ttl_s=LEASE_S,
            llm_per_minute=1000,
            max_drafts_per_tick=3,
        )
        for _ in range(2)
    ]
    stop = threading.Event()
    errors: list[BaseException] = []

    def run(watcher: Watcher) -> None:
        try:
            while not stop.is_set():
                if watcher.tick().standby:
                    time.sleep(0.005)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in watchers]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and not errors:
            with sample_sessions() as session:
                statuses = Counter(session.scalars(select(WatchTrigger.status)))
                due = session.scalars(
                    select(WatchTrigger.id).where(
                        WatchTrigger.status.in_(("pending", "claimed")),
                        WatchTrigger.due_at <= clock.now(),
                    )
                ).all()
            if statuses["done"] and not due:
                break
            time.sleep(0.1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []
    with sample_sessions() as session:
        drafts = list(session.scalars(select(Draft)))
        done = list(session.scalars(select(WatchTrigger).where(WatchTrigger.status == "done")))
    keys = Counter(d.trigger["key"] for d in drafts)
    assert keys and max(keys.values()) == 1, keys  # no trigger drafted twice
    assert {t.key for t in done} == set(keys)
    assert sorted(draft_of(t) for t in done) == sorted(d.id for d in drafts)
    holders = {t.claimed_by for t in done}
    assert holders == {w.lease.holder for w in watchers}  # the lease really changed hands
