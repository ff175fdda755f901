"""Batch drafting: the concurrency limit, the rate limit, order, failures kept per job."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from agent.batch import BatchItem, DraftJob, RateLimit, draft_many
from agent.drafting import Drafter
from agent.llm import ChatMessage, ChatModel, Completion
from retrieval.index import VectorIndex
from retrieval.schemas import AccountPlan
from samdesk.errors import NotFoundError
from tests.conftest import AS_OF

SIGNALS = [f"sig-acme-{n:03d}" for n in range(1, 9)]


class SlowModel(ChatModel):
    """Answers after ``delay`` seconds with a draft citing the prompt's first source;
    records how many calls were in flight at once and when each started."""

    name = "slow"

    def __init__(self, delay: float):
        self.delay = delay
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        self.starts: list[float] = []

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        schema: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> Completion:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.starts.append(time.monotonic())
        try:
            time.sleep(self.delay)
            first = messages[-1].content.split('<source id="', 1)[1].split('"', 1)[0]
            reply = {
                "subject": "Following up",
                "body": f"Congratulations on the news [{first}]. Could we meet?",
                "citations": [first],
            }
            return Completion(text=json.dumps(reply), model=self.name, finish_reason="stop")
        finally:
            with self.lock:
                self.in_flight -= 1


def jobs_for(plan: AccountPlan, signal_ids: list[str]) -> list[DraftJob]:
    return [DraftJob("outreach", plan, signal_id=s, as_of=AS_OF) for s in signal_ids]


def test_never_more_calls_in_flight_than_the_limit_and_results_in_job_order(
    sample_index: VectorIndex, acme: AccountPlan
) -> None:
    model = SlowModel(delay=0.2)
    items = draft_many(Drafter(model, sample_index), jobs_for(acme, SIGNALS), concurrency=3)

    assert model.max_in_flight == 3  # the limit was reached, and never passed
    assert [i.result.trigger["signal_id"] for i in items if i.result] == SIGNALS
    assert all(i.error is None and i.result and i.result.output for i in items)


def test_calls_overlap_so_the_batch_takes_about_jobs_over_concurrency_times_latency(
    sample_index: VectorIndex, acme: AccountPlan
) -> None:
    model = SlowModel(delay=0.3)
    started = time.monotonic()
    draft_many(Drafter(model, sample_index), jobs_for(acme, SIGNALS), concurrency=4)
    elapsed = time.monotonic() - started

    assert elapsed < 8 * 0.3  # far below one at a time (2.4 s); ideal is 2 x 0.3 s


def test_a_failing_job_is_reported_and_the_others_still_draft(
    sample_index: VectorIndex, acme: AccountPlan
) -> None:
    done: list[BatchItem] = []
    items = draft_many(
        Drafter(SlowModel(delay=0.0), sample_index),
        jobs_for(acme, ["sig-acme-001", "sig-nobody-999", "sig-acme-002"]),
        concurrency=2,
        on_done=done.append,
    )

    assert isinstance(items[1].error, NotFoundError)
    assert items[0].result is not None and items[2].result is not None
    assert len(done) == 3  # on_done saw every job, the failed one too


def test_the_rate_limit_spaces_call_starts(sample_index: VectorIndex, acme: AccountPlan) -> None:
    model = SlowModel(delay=0.0)
    draft_many(
        Drafter(model, sample_index),
        jobs_for(acme, SIGNALS[:5]),
        concurrency=5,
        per_second=10,
    )

    starts = sorted(model.starts)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 0.09  # 10 a second: one every 0.1 s (small timer slack)


def test_rate_limit_alone_spaces_waiters_evenly() -> None:
    limit = RateLimit(per_second=50)
    started = time.monotonic()
    for _ in range(6):
        limit.wait()
    assert time.monotonic() - started >= 5 / 50 - 0.005


def test_a_job_without_its_trigger_is_refused(acme: AccountPlan) -> None:
    with pytest.raises(ValueError, match="signal_id"):
        DraftJob("outreach", acme).run(Drafter(SlowModel(0.0), None))  # type: ignore[arg-type]
