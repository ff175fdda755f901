"""Turn case runs into a report: per-variant scores, paired comparisons, JSON, HTML, terminal.

Comparisons are paired by case: the difference of means comes with a percentile bootstrap
interval over cases (fixed seed, so the report is byte-identical on a re-run), and each
case is a win, tie or loss on its share of passed checks. Nothing here depends on time.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from statistics import mean
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from evals.runner import CaseRun, Variant

BOOTSTRAP_SAMPLES = 2000
SEED = 20261126
_ENV = Environment(
    loader=PackageLoader("evals", "templates"),
    autoescape=select_autoescape(["html"], default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def bootstrap_ci(diffs: Sequence[float], seed: int = SEED) -> tuple[float, float]:
    """95% percentile interval of the mean of paired differences."""
    if not diffs:
        return 0.0, 0.0
    rng = random.Random(seed)
    n = len(diffs)
    means = sorted(mean(rng.choices(diffs, k=n)) for _ in range(BOOTSTRAP_SAMPLES))
    return round(means[int(0.025 * BOOTSTRAP_SAMPLES)], 4), round(
        means[int(0.975 * BOOTSTRAP_SAMPLES) - 1], 4
    )


def summarize(
    runs: Sequence[CaseRun], variants: Sequence[Variant], meta: dict[str, Any]
) -> dict[str, Any]:
    by_variant: dict[str, list[CaseRun]] = defaultdict(list)
    for run in runs:
        by_variant[run.variant].append(run)
    summaries = [_variant_summary(v, by_variant[v.label]) for v in variants]
    baseline = variants[0].label if variants else ""
    comparisons = [
        _compare(by_variant[baseline], by_variant[v.label], baseline, v.label) for v in variants[1:]
    ]
    cases: dict[str, dict[str, Any]] = {}
    for run in runs:
        entry = cases.setdefault(
            run.case_id,
            {
                "case_id": run.case_id,
                "kind": run.kind,
                "dataset": run.dataset,
                "tags": run.tags,
                "runs": {},
            },
        )
        entry["runs"][run.variant] = run.to_json()
    return {
        "meta": meta,
        "variants": summaries,
        "comparisons": comparisons,
        "cases": list(cases.values()),
    }


def _variant_summary(variant: Variant, runs: list[CaseRun]) -> dict[str, Any]:
    checks = [r for run in runs for r in run.checks]
    metrics: dict[str, dict[str, Any]] = {}
    for name, results in _metric_results(runs).items():
        passed = [r.passed for r in results if r.passed is not None]
        metrics[name] = {
            "mean": round(mean(r.value for r in results), 4),
            "n": len(results),
            "pass_rate": round(sum(passed) / len(passed), 4) if passed else None,
            "lower_is_better": results[0].lower_is_better,
            "gate": results[0].gate,
        }
    latencies = sorted(run.latency_ms for run in runs)
    return {
        **variant.to_json(),
        "cases": len(runs),
        "pass_rate": round(sum(bool(r.passed) for r in checks) / len(checks), 4) if checks else 0,
        "case_pass_rate": round(sum(run.passed for run in runs) / len(runs), 4) if runs else 0,
        "score": round(mean(run.score for run in runs), 4) if runs else 0,
        "failed_drafts": sum(1 for run in runs if run.failure_reason),
        "metrics": dict(sorted(metrics.items())),
        "tokens": {
            "prompt": sum(run.prompt_tokens for run in runs),
            "completion": sum(run.completion_tokens for run in runs),
        },
        "latency_ms": {
            "mean": round(mean(latencies)) if latencies else 0,
            "p95": latencies[max(int(0.95 * len(latencies)) - 1, 0)] if latencies else 0,
            "total": sum(latencies),
        },
        "models": sorted({run.model for run in runs}),
    }


def _metric_results(runs: list[CaseRun]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = defaultdict(list)
    for run in runs:
        for result in run.results:
            found[result.name].append(result)
    return found


def _compare(
    base: list[CaseRun], cand: list[CaseRun], base_label: str, cand_label: str
) -> dict[str, Any]:
    base_by = {run.case_id: run for run in base}
    pairs = [(base_by[run.case_id], run) for run in cand if run.case_id in base_by]
    diffs = [c.score - b.score for b, c in pairs]
    low, high = bootstrap_ci(diffs)
    metrics = {}
    for name in sorted({r.name for _, c in pairs for r in c.results}):
        values = [
            (rb.value, rc.value)
            for b, c in pairs
            if (rb := _result(b, name)) is not None and (rc := _result(c, name)) is not None
        ]
        if not values:
            continue
        metric_diffs = [vc - vb for vb, vc in values]
        m_low, m_high = bootstrap_ci(metric_diffs)
        metrics[name] = {
            "diff": round(mean(metric_diffs), 4),
            "ci_low": m_low,
            "ci_high": m_high,
            "n": len(values),
        }
    return {
        "baseline": base_label,
        "candidate": cand_label,
        "cases": len(pairs),
        "score": {"diff": round(mean(diffs), 4) if diffs else 0, "ci_low": low, "ci_high": high},
        "wins": sum(d > 0 for d in diffs),
        "ties": sum(d == 0 for d in diffs),
        "losses": sum(d < 0 for d in diffs),
        "metrics": metrics,
        "regressions": [_change(b, c) for b, c in pairs if c.score < b.score],
        "improvements": [_change(b, c) for b, c in pairs if c.score > b.score],
    }


def _result(run: CaseRun, name: str) -> Any:
    return next((r for r in run.results if r.name == name), None)


def _change(base: CaseRun, cand: CaseRun) -> dict[str, Any]:
    before = {r.name: r.passed for r in base.checks}
    after = {r.name: r.passed for r in cand.checks}
    return {
        "case_id": cand.case_id,
        "baseline_score": round(base.score, 4),
        "candidate_score": round(cand.score, 4),
        "newly_failing": sorted(n for n, ok in after.items() if not ok and before.get(n)),
        "newly_passing": sorted(n for n, ok in after.items() if ok and before.get(n) is False),
    }


def write_json(summary: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=1, sort_keys=False, ensure_ascii=False) + "\n")


def render_html(summary: dict[str, Any]) -> str:
    return _ENV.get_template("report.html").render(report=summary)


def write_html(summary: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(summary), encoding="utf-8")
