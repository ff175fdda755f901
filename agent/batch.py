"""Draft many at once, limited only by the model: N calls in flight, optionally a rate limit.

The limit is on model calls, not on jobs: workers retrieve, render, check and store while
other workers' calls are in flight, so the model's slots never wait on samdesk's own work.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from agent.drafting import Drafter, DraftFailedError, DraftResult
from agent.llm import ChatMessage, ChatModel, Completion
from retrieval.schemas import AccountPlan, Meeting


@dataclass(frozen=True)
class DraftJob:
    """One draft to make: outreach for a signal, or a briefing for a meeting."""

    kind: Literal["outreach", "briefing"]
    plan: AccountPlan
    signal_id: str | None = None
    meeting: Meeting | None = None
    prompt: str | None = None
    as_of: datetime | None = None

    def run(self, drafter: Drafter) -> DraftResult:
        if self.kind == "outreach":
            if self.signal_id is None:
                raise ValueError("an outreach job needs a signal_id")
            return drafter.draft_outreach(
                self.plan, self.signal_id, prompt=self.prompt or "outreach", as_of=self.as_of
            )
        if self.meeting is None:
            raise ValueError("a briefing job needs a meeting")
        return drafter.draft_briefing(
            self.plan, self.meeting, prompt=self.prompt or "briefing", as_of=self.as_of
        )


@dataclass
class BatchItem:
    """A job's outcome: its result, or the error that stopped it (one job never stops others).

    A model that gave no answer still yields a result: a failed draft with the reason.
    """

    job: DraftJob
    result: DraftResult | None = None
    error: Exception | None = None


class RateLimit:
    """At most ``per_second`` call starts a second, spaced evenly (thread-safe)."""

    def __init__(self, per_second: float):
        if per_second <= 0:
            raise ValueError("per_second must be positive")
        self.interval = 1.0 / per_second
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)


class LimitedChatModel(ChatModel):
    """Wraps a model so at most ``concurrency`` calls run at once, at ``rate`` if given."""

    def __init__(self, inner: ChatModel, concurrency: int, rate: RateLimit | None = None):
        self.name = inner.name
        self.inner = inner
        self._slots = threading.BoundedSemaphore(concurrency)
        self._rate = rate

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        schema: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> Completion:
        with self._slots:
            if self._rate is not None:
                self._rate.wait()
            return self.inner.complete(messages, schema=schema, seed=seed)


def draft_many(
    drafter: Drafter,
    jobs: Sequence[DraftJob],
    *,
    concurrency: int = 10,
    per_second: float | None = None,
    on_done: Callable[[BatchItem], None] | None = None,
) -> list[BatchItem]:
    """Run ``jobs`` with at most ``concurrency`` model calls in flight; results in job order.

    ``on_done`` runs in the worker as each job finishes (to store it at once, say), so that
    work overlaps with other jobs' model calls too.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    rate = RateLimit(per_second) if per_second else None
    limited = replace(drafter, llm=LimitedChatModel(drafter.llm, concurrency, rate))

    def work(job: DraftJob) -> BatchItem:
        item = BatchItem(job)
        try:
            item.result = job.run(limited)
        except DraftFailedError as exc:
            item.result = exc.result
        except Exception as exc:  # noqa: BLE001 - reported per job; the batch goes on
            item.error = exc
        if on_done is not None:
            on_done(item)
        return item

    # Twice as many workers as model slots: half prepare or store while half wait on the model.
    workers = max(1, min(len(jobs), concurrency * 2))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="draft") as pool:
        return list(pool.map(work, jobs))
