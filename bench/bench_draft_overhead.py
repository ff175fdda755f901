"""Draft overhead: one draft end to end against a zero-latency stub ÷ the stub round trip alone.

End to end is what ``samdesk draft outreach`` does after start-up: load the plan, retrieve
(embed the query, search the index), render the prompt, call the model through the OpenAI
SDK, parse, run the grounding checks, store the draft. The baseline is the same request body
posted to the same stub over a kept-alive connection. Our overhead (target <= 50 ms) is the
difference; the phases beside it say where it goes.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from agent.llm import ChatMessage, ChatModel, Completion
from agent.prompts import load_prompt
from bench import stub_llm
from bench.common import (
    AS_OF,
    REPEATS,
    RESULTS,
    Figure,
    figure,
    interleave,
    median,
    record,
    scratch,
)
from bench.workspace import sample_runtime
from samdesk.runtime import Runtime

ACCOUNT = "acme-financial"
SIGNAL = "sig-acme-009"


def run(drafts_per_rep: int = 20, repeats: int = REPEATS) -> tuple[list[Figure], dict[str, float]]:
    with stub_llm.running_stub(0) as base_url, scratch("overhead") as tmp:
        runtime = sample_runtime(tmp / "data", llm_base_url=base_url)
        runtime.draft_outreach(ACCOUNT, SIGNAL, as_of=AS_OF)
        body = json.dumps(stub_llm.last_request(base_url)).encode()
        client = httpx.Client(base_url=base_url, timeout=30)

        def round_trip() -> None:
            client.post(
                "/chat/completions", content=body, headers={"Content-Type": "application/json"}
            ).raise_for_status()

        def outreach() -> None:
            runtime.draft_outreach(ACCOUNT, SIGNAL, as_of=AS_OF)

        def briefing() -> None:
            runtime.draft_briefing(ACCOUNT, as_of=AS_OF)

        def per_call(fn: Callable[[], None]) -> Callable[[], float]:
            def measure() -> float:
                started = time.perf_counter()
                for _ in range(drafts_per_rep):
                    fn()
                return (time.perf_counter() - started) / drafts_per_rep * 1000

            return measure

        subject, baseline = interleave(per_call(outreach), per_call(round_trip), repeats)
        brief, brief_base = interleave(per_call(briefing), per_call(round_trip), repeats)
        phases = _phases(runtime, per_call, round_trip)
        client.close()
    overhead = median(subject) - median(baseline)
    figures = [
        figure(
            "outreach draft end to end ÷ stub round trip",
            subject,
            baseline,
            better="lower",
            unit="ms",
            overhead_ms=round(overhead, 1),
            overhead_target_ms=50,
            overhead_met=overhead <= 50,
        ),
        figure(
            "briefing draft end to end ÷ stub round trip",
            brief,
            brief_base,
            better="lower",
            unit="ms",
            overhead_ms=round(median(brief) - median(brief_base), 1),
            overhead_met=median(brief) - median(brief_base) <= 50,
        ),
    ]
    return figures, phases


def _phases(
    runtime: Runtime,
    per_call: Callable[[Callable[[], None]], Callable[[], float]],
    round_trip: Callable[[], None],
) -> dict[str, float]:
    """Median ms of each public step of an outreach draft, each measured on its own."""
    recorder = _Recorder(runtime.drafter.llm)
    drafter = replace(runtime.drafter, llm=recorder)
    plan = runtime.plan(ACCOUNT)
    result = drafter.draft_outreach(plan, SIGNAL, as_of=AS_OF)
    chunk = drafter.index.get([SIGNAL])[0]
    query = f"{chunk.title}\n{chunk.text}"
    steps: dict[str, Callable[[], object]] = {
        "load plan (database + validation)": lambda: runtime.plan(ACCOUNT),
        "embed the query (MiniLM)": lambda: drafter.index.embedder.embed([query]),
        "search (embed + chromadb + rank)": lambda: drafter.index.search(
            query, account_id=ACCOUNT, k=drafter.k, as_of=AS_OF, ranking=drafter.ranking
        ),
        "load prompt (find + hash template)": lambda: load_prompt("outreach"),
        "model call through the OpenAI SDK": lambda: recorder.inner.complete(recorder.last),
        "bare HTTP round trip": round_trip,
        "store the draft (one transaction)": lambda: runtime.store(result),
        "draft without storing (Drafter.draft_outreach)": lambda: runtime.drafter.draft_outreach(
            plan, SIGNAL, as_of=AS_OF
        ),
    }
    out: dict[str, float] = {}
    for name, step in steps.items():
        measure = per_call(lambda step=step: _discard(step))  # type: ignore[misc]
        out[name] = round(median([measure() for _ in range(REPEATS)]), 2)
    return out


def _discard(step: Callable[[], object]) -> None:
    step()


class _Recorder(ChatModel):
    """Passes calls through and keeps the last messages, to replay the exact model call."""

    def __init__(self, inner: ChatModel):
        self.name = inner.name
        self.inner = inner
        self.last: list[ChatMessage] = []

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        schema: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> Completion:
        self.last = messages
        return self.inner.complete(messages, schema=schema, seed=seed)


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts-per-rep", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    figures, phases = run(args.drafts_per_rep, args.repeats)
    record("draft_overhead", figures, path=args.results, phases_ms=phases)
    return figures


if __name__ == "__main__":
    main()
