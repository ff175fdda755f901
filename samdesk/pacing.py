"""Time for the watcher: a clock tests can move by hand, and an LLM call rate limit.

Everything that waits goes through a ``Clock``, so a test can run a day of scheduling in
milliseconds and check that the rate limit held without sleeping.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from agent.llm import ChatMessage, ChatModel, Completion


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(seconds, 0.0))


class ManualClock:
    """A clock that only moves when told to (or when something sleeps on it)."""

    def __init__(self, start: datetime):
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._now = start
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self._now += timedelta(seconds=max(seconds, 0.0))

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now


class RateLimitedChatModel(ChatModel):
    """At most ``per_minute`` calls in any 60 seconds; a caller over the limit waits its turn."""

    def __init__(self, inner: ChatModel, *, per_minute: int, clock: Clock):
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.inner = inner
        self.name = inner.name
        self.per_minute = per_minute
        self.clock = clock
        self.calls: deque[datetime] = deque()
        self.waited_s = 0.0
        self._lock = threading.Lock()

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        schema: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> Completion:
        with self._lock:
            self._wait_for_slot()
            self.calls.append(self.clock.now())
        return self.inner.complete(messages, schema=schema, seed=seed)

    def _wait_for_slot(self) -> None:
        while True:
            now = self.clock.now()
            while self.calls and now - self.calls[0] >= timedelta(minutes=1):
                self.calls.popleft()
            if len(self.calls) < self.per_minute:
                return
            wait = (self.calls[0] + timedelta(minutes=1) - now).total_seconds()
            self.waited_s += wait
            self.clock.sleep(wait)


class OffsetClock(SystemClock):
    """Real time, shifted to start at ``start``: ``samdesk watch --as-of`` replays a past day."""

    def __init__(self, start: datetime):
        self._offset = start - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset
