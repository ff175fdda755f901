"""Chunks: stable ids, the plan's numbers in the text, signals keep their provenance."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from retrieval.chunks import GENERATED_SECTIONS, Chunk, plan_chunks, signal_chunk, slug
from retrieval.plans import load_plan, parse_plan
from retrieval.schemas import AccountPlan, Signal
from tests.conftest import SAMPLES

MINIMAL_PLAN = """\
---
account_id: tiny-co
name: Tiny Co
industry: Retail
domain: tiny.example
owner_sam: Sam Seller
owner_email: sam@northwind.example
executive_sponsor: Pat Sponsor
arr_usd: 1000
scorecard:
  - {criterion: Current ARR, weight: 100, score: 3}
---
## Notes & Next steps
Call them.
"""


def acme() -> AccountPlan:
    plan, errors = load_plan(SAMPLES / "accounts" / "acme-financial.md")
    assert plan is not None, errors
    return plan


def by_id(chunks: list[Chunk]) -> dict[str, Chunk]:
    return {c.id: c for c in chunks}


def test_plan_chunk_ids_are_account_slash_section_slug() -> None:
    chunks = plan_chunks(acme())

    assert [c.id for c in chunks] == [
        "acme-financial/overview",
        "acme-financial/strategic-scorecard",
        "acme-financial/stakeholders",
        "acme-financial/open-opportunities",
        "acme-financial/metrics-vs-targets",
        "acme-financial/upcoming-meetings",
        "acme-financial/summary",
        "acme-financial/objectives",
        "acme-financial/relationship-map",
        "acme-financial/risks",
        "acme-financial/key-initiatives",
        "acme-financial/last-contact",
    ]
    assert [c.section for c in chunks[:6]] == list(GENERATED_SECTIONS)
    for chunk in chunks:
        assert chunk.kind == "plan"
        assert chunk.account_id == "acme-financial"
        assert chunk.title == f"Acme Financial Corp account plan: {chunk.section}"
        assert chunk.published_at is None and chunk.url is None


def test_plan_chunks_are_stable_across_parses() -> None:
    first, second = plan_chunks(acme()), plan_chunks(acme())

    assert first == second
    assert [c.content_hash for c in first] == [c.content_hash for c in second]


def test_structured_blocks_carry_the_plans_numbers() -> None:
    chunks = by_id(plan_chunks(acme()))

    overview = chunks["acme-financial/overview"].text
    assert "Current ARR: $750,000. Strategic score: 86.5/100." in overview
    assert "Renewal date: 2027-03-31." in overview

    scorecard = chunks["acme-financial/strategic-scorecard"].text
    assert "- Current ARR (weight 25%): 10/10, $750K ARR (>$500K band)" in scorecard
    assert "- Product Adoption (weight 10%): 6/10" in scorecard
    assert scorecard.endswith("Total strategic score: 86.5/100.")
    assert scorecard.count("\n- ") == 6  # seven rows

    stakeholders = chunks["acme-financial/stakeholders"].text
    assert (
        "- Robert Ainsley, Chief Financial Officer: role economic buyer, relationship good"
        in stakeholders
    )
    assert "- Tom Reilly, Head of Trading Desk Technology: role technical evaluator" in stakeholders
    assert stakeholders.count("\n- ") == 7  # eight stakeholders

    opportunities = chunks["acme-financial/open-opportunities"].text
    assert (
        "- Trading Desk expansion: $200,000, stage discovery, close 2027-02-28, "
        "module Advanced Analytics module"
    ) in opportunities
    assert "- Compliance reporting governance: $50,000, stage qualification" in opportunities

    metrics = chunks["acme-financial/metrics-vs-targets"].text
    assert "- Health Score: current 87/100, target >80, status on track" in metrics
    assert "- Product Adoption: current 54% features, target 60%, status progressing" in metrics

    meetings = chunks["acme-financial/upcoming-meetings"].text
    assert "Q4 QBR with CFO and COO on 2026-12-08T15:00:00+00:00 with Robert Ainsley" in meetings


def test_markdown_sections_become_chunks_with_their_text() -> None:
    plan = acme()
    chunks = by_id(plan_chunks(plan))

    assert chunks["acme-financial/risks"].text == plan.sections["Risks"]
    assert "Budget freeze possible" in chunks["acme-financial/risks"].text


def test_empty_blocks_are_left_out() -> None:
    plan, errors = parse_plan(MINIMAL_PLAN, "tiny.md")
    assert plan is not None, errors

    ids = [c.id for c in plan_chunks(plan)]

    assert ids == ["tiny-co/overview", "tiny-co/strategic-scorecard", "tiny-co/notes-next-steps"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Metrics vs targets", "metrics-vs-targets"),
        ("Notes & Next steps!", "notes-next-steps"),
        ("  Q4 / 2026  ", "q4-2026"),
        ("???", "section"),
    ],
)
def test_slug(text: str, expected: str) -> None:
    assert slug(text) == expected


def sample_signal(**overrides: object) -> Signal:
    data: dict[str, object] = {
        "id": "sig-acme-901",
        "account_id": "acme-financial",
        "type": "leadership_change",
        "title": "Acme names a CFO",
        "text": "Acme Financial Corp appointed Laura Kim as CFO.",
        "source_url": "https://news.example/acme-cfo",
        "published_at": "2026-11-03T10:00:00+01:00",
    }
    data.update(overrides)
    return Signal.model_validate(data)


def test_signal_chunk_keeps_id_url_and_published_at() -> None:
    chunk = signal_chunk(sample_signal())

    assert chunk.id == "sig-acme-901"
    assert chunk.kind == "signal"
    assert chunk.account_id == "acme-financial"
    assert chunk.section == "leadership_change"
    assert chunk.title == "Acme names a CFO"
    assert chunk.text == "Acme Financial Corp appointed Laura Kim as CFO."
    assert chunk.url == "https://news.example/acme-cfo"
    assert chunk.published_at == datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


def test_metadata_is_flat_and_has_no_none_values() -> None:
    signal_meta = signal_chunk(sample_signal()).metadata()
    plan_meta = plan_chunks(acme())[0].metadata()

    assert signal_meta["url"] == "https://news.example/acme-cfo"
    assert signal_meta["published_ts"] == datetime(2026, 11, 3, 9, 0, tzinfo=UTC).timestamp()
    assert signal_meta["kind"] == "signal"
    assert "url" not in plan_meta and "published_at" not in plan_meta
    for meta in (signal_meta, plan_meta):
        assert all(isinstance(v, str | int | float) for v in meta.values())


def test_content_hash_follows_text_and_title_only() -> None:
    chunk = signal_chunk(sample_signal())

    assert chunk.content_hash == signal_chunk(sample_signal()).content_hash
    assert chunk.content_hash != dataclasses.replace(chunk, text=chunk.text + " ").content_hash
    assert chunk.content_hash != dataclasses.replace(chunk, title="Other").content_hash
    assert chunk.content_hash == dataclasses.replace(chunk, id="sig-other").content_hash
    assert chunk.metadata()["content_hash"] == chunk.content_hash
