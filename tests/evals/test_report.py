"""The report: paired comparison figures, and the HTML a developer reads."""

from __future__ import annotations

import json
from html.parser import HTMLParser

from agent.prompts import load_prompt
from evals.evaluators import EvalResult
from evals.report import bootstrap_ci, render_html, summarize
from evals.runner import CaseRun, Variant

V1 = Variant("v1", {"outreach": load_prompt("outreach@v1")})
V2 = Variant("v2", {"outreach": load_prompt("outreach@v2")})
META = {"model": "m", "judge": None, "params": {"seed": 7}, "datasets": ["d"], "cases": 3}


def run(case: str, variant: Variant, checks: list[bool], body: str = "Dear Robert,") -> CaseRun:
    results = [
        EvalResult(f"check_{i}", float(ok), ok, "" if ok else f"reason {i}")
        for i, ok in enumerate(checks)
    ]
    results.append(EvalResult("reading_grade", 8.0 + len(case), None, lower_is_better=True))
    prompt = variant.prompts["outreach"]
    return CaseRun(
        case,
        "d",
        "outreach",
        ["t"],
        variant.label,
        prompt.ref,
        prompt.hash,
        "m",
        "Subject",
        body,
        ["sig-1"],
        None,
        1,
        100,
        20,
        1000,
        [],
        results,
    )


def test_bootstrap_interval() -> None:
    assert bootstrap_ci([0.5] * 10) == (0.5, 0.5)
    low, high = bootstrap_ci([0.0, 1.0] * 20)
    assert low < 0.5 < high and 0.25 < low and high < 0.75
    assert bootstrap_ci([0.0, 1.0] * 20) == (low, high)  # seeded: the same every run


def test_summary_pass_rates_and_paired_comparison() -> None:
    runs = [
        run("a", V1, [True, True]),
        run("b", V1, [True, False]),
        run("c", V1, [False, False]),
        run("a", V2, [True, True]),
        run("b", V2, [False, False]),
        run("c", V2, [True, True]),
    ]
    summary = summarize(runs, [V1, V2], META)
    v1, v2 = summary["variants"]
    assert v1["pass_rate"] == 0.5 and v1["case_pass_rate"] == round(1 / 3, 4)
    assert v2["pass_rate"] == round(4 / 6, 4) and v2["prompts"]["outreach"]["ref"] == "outreach@v2"
    assert v1["metrics"]["reading_grade"]["lower_is_better"] is True
    assert v1["tokens"] == {"prompt": 300, "completion": 60}
    comparison = summary["comparisons"][0]
    assert (comparison["wins"], comparison["ties"], comparison["losses"]) == (1, 1, 1)
    assert comparison["score"]["diff"] == round((0 - 0.5 + 1) / 3, 4)
    assert comparison["score"]["ci_low"] <= comparison["score"]["diff"]
    assert comparison["score"]["diff"] <= comparison["score"]["ci_high"]
    [regression] = comparison["regressions"]
    assert regression == {
        "case_id": "b",
        "baseline_score": 0.5,
        "candidate_score": 0.0,
        "newly_failing": ["check_0"],
        "newly_passing": [],
    }
    assert comparison["improvements"][0]["newly_passing"] == ["check_0", "check_1"]
    json.dumps(summary)  # the whole report is plain JSON


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.classes: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.classes += [v or "" for k, v in attrs if k == "class"]


def test_html_report_escapes_drafts_and_highlights_failures() -> None:
    hostile = 'Dear Robert, <script>alert("x")</script><img src=x onerror=alert(1)>'
    runs = [run("a", V1, [True, False], hostile), run("a", V2, [True, True])]
    html = render_html(summarize(runs, [V1, V2], META))
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert "<img src=x" not in html
    assert "default-src 'none'" in html  # nothing in the report can load or run anything
    parsed = _Collect()
    parsed.feed(html)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert parsed.classes.count("fail") == 1  # v1's failing check_1, highlighted
    assert "✗ check_1: reason 1" in html
    assert "v2 − v1 [95% CI]" in html and "outreach@v2" in html
    assert "1 wins" in html and "0 losses" in html
