"""Fixtures of this folder's tests: the loopback feed server, and the watcher with a hand-moved
clock (fixed model replies, the sample feed and calendar as sources, what it stored)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agent.drafting import Drafter
from agent.llm import ChatMessage, Completion, ScriptedChatModel
from retrieval.index import VectorIndex
from retrieval.sources.registry import add_source
from samdesk.db import transaction
from samdesk.errors import LLMError
from samdesk.models import Draft, WatchTrigger
from samdesk.pacing import ManualClock
from samdesk.watch import WatchConfig, Watcher
from tests.conftest import SAMPLES
from tests.feed_server import (
    FeedServer,
    feed_server,  # noqa: F401  (a fixture)
)

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
        self,
        messages: list[ChatMessage],
        *,
        schema: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> Completion:
        self.at.append(self.clock.now())
        if self.during_call is not None:
            hook, self.during_call = self.during_call, None
            hook()
        if self.failures:
            self.failures -= 1
            raise LLMError("model server unreachable (connection refused)")
        return super().complete(messages, schema=schema, seed=seed)


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
def sources(
    feed_server: FeedServer,  # noqa: F811 - the fixture imported above
    sample_sessions: sessionmaker[Session],
) -> FeedServer:
    """The sample Acme feed and Sarah Chen's calendar, served over HTTP and registered."""
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


def draft_of(trigger: WatchTrigger) -> int:
    """The draft a done trigger made (the watcher commits the two together)."""
    assert trigger.draft_id is not None, f"trigger {trigger.key} ({trigger.status}) has no draft"
    return trigger.draft_id
