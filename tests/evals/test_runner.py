"""The runner end to end on recorded cases: the committed LLM cache replays every reply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.prompts import load_prompt
from evals.cache import CACHE_DIR, CacheMissError
from evals.generate import cached_model, drafter_for
from evals.report import summarize
from evals.runner import default_evaluators, parse_variant, planned, run_all
from evals.schema import LoadedCase, load_datasets
from samdesk.config import Settings
from samdesk.errors import ConfigError
from tests.conftest import make_settings

RECORDED = ["acme-champion-retiring", "kessler-conflicting-cut-numbers", "acme-case-study-kickoff"]


@pytest.fixture
def embedded(tmp_path: Path) -> Settings:
    """The settings the cache was recorded with: the embedded model's defaults."""
    return make_settings(tmp_path)


def test_shipped_datasets_cover_the_issue() -> None:
    cases = load_datasets()
    kinds = {c.case.kind for c in cases}
    tags = {t for c in cases for t in c.case.tags}
    assert len(cases) >= 40 and kinds == {"outreach", "briefing"}
    signal_types = {c.case.sources[0].section for c in cases if c.case.kind == "outreach"}
    assert signal_types >= {
        "leadership_change",
        "funding",
        "hiring_surge",
        "earnings_mention",
        "product_launch",
        "budget_freeze",
        "layoffs",
        "m_and_a",
        "competitor_rfp",
        "support_spike",
        "partnership",
        "noise",
    }
    assert {"conflicting", "stale", "champion_left", "missing_sections"} <= tags
    assert any(c.case.reference for c in cases) and any(c.case.avoid for c in cases)


def test_variants() -> None:
    assert set(parse_variant("v2").prompts) == {"outreach", "briefing"}
    mixed = parse_variant("outreach@v2,briefing@v1")
    assert (mixed.prompts["outreach"].version, mixed.prompts["briefing"].version) == ("v2", "v1")
    assert set(parse_variant("outreach@v1").prompts) == {"outreach"}
    with pytest.raises(ConfigError):
        parse_variant("v99")


def _subset(ids: list[str]) -> list[LoadedCase]:
    return [c for c in load_datasets() if c.id in ids]


def test_recorded_cases_replay_offline_and_identically(embedded: Settings) -> None:
    cases = _subset(RECORDED)
    variants = [parse_variant("v1"), parse_variant("v2")]
    summaries = []
    for _ in range(2):
        model = cached_model(embedded, offline=True)
        runs = run_all(drafter_for(model, embedded), cases, variants, default_evaluators())
        assert len(runs) == planned(cases, variants) == 6
        assert model.stats.recorded == 0 and model.stats.hits >= 6
        summaries.append(json.dumps(summarize(runs, variants, {"model": model.name})))
    assert summaries[0] == summaries[1]
    report = json.loads(summaries[0])
    first = report["cases"][0]["runs"]["v1"]
    assert first["model"] == "smollm2-135m-instruct"
    assert first["prompt_hash"] == load_prompt(f"{report['cases'][0]['kind']}@v1").hash
    assert first["prompt_tokens"] > 0 and first["latency_ms"] > 0
    names = {r["name"] for r in first["results"]}
    assert {"schema_valid", "citations_valid", "supported_claim_rate"} <= names
    assert report["comparisons"][0]["cases"] == 3


def test_a_changed_prompt_misses_the_cache_loudly(embedded: Settings) -> None:
    loaded = _subset(["acme-champion-retiring"])[0]
    trigger = loaded.case.sources[0]
    edited = trigger.model_copy(update={"text": trigger.text + " (edited after recording)"})
    case = loaded.case.model_copy(update={"sources": [edited, *loaded.case.sources[1:]]})
    model = cached_model(embedded, offline=True)
    with pytest.raises(CacheMissError, match="no recorded reply"):
        run_all(
            drafter_for(model, embedded),
            [LoadedCase(case, loaded.plan, loaded.dataset)],
            [parse_variant("v1")],
            [],
        )


def test_every_shipped_case_is_recorded_for_both_versions(embedded: Settings) -> None:
    """What CI replays: a missing reply here would fail `.ci/run`'s eval gate."""
    assert CACHE_DIR.is_dir()
    model = cached_model(embedded, offline=True)
    cases = load_datasets()
    runs = run_all(
        drafter_for(model, embedded), cases, [parse_variant("v1"), parse_variant("v2")], []
    )
    assert len(runs) == 2 * len(cases)
