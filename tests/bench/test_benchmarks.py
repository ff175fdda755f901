"""Every benchmark's code path, run tiny: it measures, and reports a sane ratio. Not timed."""

from __future__ import annotations

import math

import pytest

from bench import (
    __main__ as runner,
)
from bench import (
    bench_batch,
    bench_desk,
    bench_draft_overhead,
    bench_ingest,
    bench_memory,
    bench_retrieval,
    bench_tokens,
)
from bench.common import Figure


def sane(figures: list[Figure], repeats: int) -> None:
    assert figures
    for fig in figures:
        assert math.isfinite(fig.ratio) and fig.ratio > 0, fig
        assert len(fig.subject) == len(fig.baseline) >= repeats


def test_ingest_indexes_every_signal_and_compares_with_bare_encode() -> None:
    figures = bench_ingest.run(count=8, repeats=1)
    sane(figures, 1)
    assert figures[0].better == "higher" and figures[0].target == 0.8


def test_retrieval_recall_against_exact_search_on_a_small_index() -> None:
    figures, insert = bench_retrieval.run(sizes=(600,), queries=10, repeats=1)
    sane(figures, 1)
    assert figures[0].extra["recall_at_10"] >= 0.9
    assert insert["600 chunks"] > 0


def test_draft_overhead_reports_our_milliseconds_and_the_phases() -> None:
    figures, phases = bench_draft_overhead.run(drafts_per_rep=1, repeats=1)
    sane(figures, 1)
    assert figures[0].extra["overhead_ms"] < 10_000
    assert phases["bare HTTP round trip"] > 0 and "store the draft (one transaction)" in phases


def test_a_batch_can_never_beat_the_ideal_and_keeps_the_concurrency_limit() -> None:
    figures = bench_batch.run(drafts=6, latency_ms=100, concurrency=3, repeats=1)
    sane(figures, 1)
    assert figures[0].ratio >= 1.0  # physics: 6 calls of 100 ms, 3 at a time, >= 0.2 s
    assert figures[0].extra["max_in_flight_seen"] <= 3


def test_desk_load_on_sqlite_and_postgresql_has_no_failed_request() -> None:
    # 800 pending drafts per round of approvals: a second of them took 262 on 2026-12-05,
    # and an id approved twice answers 409
    figures, extra = bench_desk.run(drafts=2_000, seconds=1, repeats=1)
    sane(figures, 1)
    assert all(f.extra.get("non_2xx", 0) == 0 for f in figures)
    assert extra["sqlite"]["server_peak_rss_mib"] > 0
    # the ceiling: approve's request doing nothing is faster than approving, on each database
    approve = [f for f in figures if f.name.startswith("approve")]
    ceilings = [f for f in figures if f.name.startswith("ceiling:")]
    assert approve and len(ceilings) == 2 * len(approve)
    assert all(0 < f.extra["approve_over_noop_pool"] < 1 for f in approve)


def test_tokens_split_sources_from_instructions_and_the_tight_budget_holds() -> None:
    figures, extra = bench_tokens.run(tight=0.6)
    sane(figures, 1)
    shares = figures[0].extra
    assert shares["sources_share_of_prompt"] + shares["instructions_share_of_prompt"] == 1.0
    tight = figures[-1]
    assert tight.met and tight.extra["sources_dropped"] > 0
    assert extra["tokenizer"].startswith("cl100k_base")


def test_memory_measures_the_demo_and_the_model_alone() -> None:
    figures, extra = bench_memory.run(repeats=1)
    sane(figures, 1)
    assert min(figures[0].subject) > 100  # MiB: the embedding model alone is more than that
    assert extra["demo_wall_seconds_median"] > 0


def test_the_runner_refuses_unknown_benchmarks(capsys: pytest.CaptureFixture[str]) -> None:
    assert runner.main(["nonsense"]) == 2
    assert "unknown benchmark" in capsys.readouterr().out
