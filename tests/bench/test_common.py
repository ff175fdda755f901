"""The shared benchmark arithmetic: ratios, targets, percentiles, alternation, the results file."""

from __future__ import annotations

import json
import math
from pathlib import Path

from bench.common import figure, interleave, machine, percentile, record


def test_ratio_is_median_over_median_and_the_target_direction_counts() -> None:
    fast = figure("x", [2.0, 9.0, 4.0], [1.0, 2.0, 8.0], better="higher", unit="u", target=1.5)
    assert fast.ratio == 2.0 and fast.met is True
    slow = figure("y", [4.0], [1.0], better="lower", unit="u", target=3.0)
    assert slow.ratio == 4.0 and slow.met is False
    assert figure("z", [1.0], [1.0], better="lower", unit="u").met is None


def test_percentile_is_an_observed_value() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([3.0], 99) == 3.0


def test_interleave_warms_up_then_alternates_which_side_goes_first() -> None:
    calls: list[str] = []

    def run_subject() -> float:
        calls.append("s")
        return 1.0

    def run_baseline() -> float:
        calls.append("b")
        return 2.0

    subject, baseline = interleave(run_subject, run_baseline, repeats=3)
    assert calls == ["s", "b", "s", "b", "b", "s", "s", "b"]
    assert subject == [1.0, 1.0, 1.0] and baseline == [2.0, 2.0, 2.0]


def test_record_merges_each_benchmark_into_one_file_with_the_machine(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    record("one", [figure("a", [1.0], [2.0], better="lower", unit="s")], path=path)
    record("two", [figure("b", [3.0], [1.0], better="lower", unit="s")], path=path, extra=1)
    data = json.loads(path.read_text())
    assert set(data["benchmarks"]) == {"one", "two"}
    assert data["benchmarks"]["one"]["figures"][0]["ratio"] == 0.5
    assert data["benchmarks"]["two"]["extra"] == 1
    assert data["machine"]["cores"] >= 1 and not math.isnan(data["machine"]["memory_gib"])
    # benchmarks run one at a time, maybe on other machines: each names its own
    assert data["benchmarks"]["one"]["machine"] == data["benchmarks"]["two"]["machine"]
    assert data["benchmarks"]["one"]["machine"]["cpu"] == machine()["cpu"]


def test_machine_names_the_cpu() -> None:
    assert machine()["cpu"]
