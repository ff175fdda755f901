"""Batch drafting: 100 drafts, a stub model answering in 500 ms, at most 10 calls in flight.

Figure: wall time ÷ the ideal (100 × 0.5 s / 10); target <= 1.2. The same-run baseline is
the stub alone driven by 10 threads of bare HTTP calls (what the model's latency allows),
so the ideal and the achievable are both shown. Each draft is stored as it finishes.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from agent.batch import BatchItem, draft_many
from bench import stub_llm
from bench.common import REPEATS, RESULTS, Figure, figure, interleave, record, scratch
from bench.workspace import sample_jobs, sample_runtime


def run(
    drafts: int = 100, latency_ms: float = 500, concurrency: int = 10, repeats: int = REPEATS
) -> list[Figure]:
    ideal_s = drafts * latency_ms / 1000 / concurrency
    with stub_llm.running_stub(latency_ms) as base_url, scratch("batch") as tmp:
        runtime = sample_runtime(tmp / "data", llm_base_url=base_url)
        jobs = sample_jobs(runtime, drafts)
        stub_llm.reset(base_url)
        runtime.drafter.draft_outreach(jobs[0].plan, jobs[0].signal_id or "", as_of=jobs[0].as_of)
        body = stub_llm.last_request(base_url)
        failures: list[str] = []
        in_flight: list[int] = []

        def store(item: BatchItem) -> None:
            if item.error is not None:
                failures.append(repr(item.error))
            elif item.result is not None:
                runtime.store(item.result)

        def batch() -> float:
            stub_llm.reset(base_url)
            started = time.perf_counter()
            draft_many(runtime.drafter, jobs, concurrency=concurrency, on_done=store)
            elapsed = time.perf_counter() - started
            in_flight.append(stub_llm.stats(base_url)["max_in_flight"])
            return elapsed

        def stub_only() -> float:
            return _stub_alone(base_url, body, drafts, concurrency)

        subject, baseline = interleave(batch, stub_only, repeats)
    if failures:
        raise RuntimeError(f"{len(failures)} batch job(s) failed, e.g. {failures[0]}")
    vs_ideal = figure(
        f"batch of {drafts} drafts, {latency_ms:g} ms model, concurrency {concurrency}: "
        "wall time ÷ ideal",
        subject,
        [ideal_s] * len(subject),
        better="lower",
        unit="s",
        target=1.2,
        max_in_flight_seen=max(in_flight),
    )
    vs_stub = figure(
        "batch wall time ÷ stub alone at the same concurrency (bare HTTP, no samdesk)",
        subject,
        baseline,
        better="lower",
        unit="s",
        drafts_per_s=round(drafts / (sum(subject) / len(subject)), 1),
    )
    return [vs_ideal, vs_stub]


def _stub_alone(base_url: str, body: dict[str, object], calls: int, concurrency: int) -> float:
    payload = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    with httpx.Client(base_url=base_url, timeout=30) as client:

        def call(_: int) -> None:
            client.post("/chat/completions", content=payload, headers=headers).raise_for_status()

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(call, range(calls)))
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=100)
    parser.add_argument("--latency-ms", type=float, default=500)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    figures = run(args.drafts, args.latency_ms, args.concurrency, args.repeats)
    record("batch", figures, path=args.results)
    return figures


if __name__ == "__main__":
    main()
