"""Drafts from the real embedded model, replayed from cassettes (``make record`` rewrites them).

These pin what SmolLM2-135M actually wrote for the sample accounts, and what our pipeline
made of it: parsing, the retry, failed drafts and the grounding flags on its hallucinations.
"""

from __future__ import annotations

import pytest

from agent.drafting import Drafter, DraftResult
from agent.openai_chat import OpenAIChatModel
from retrieval.index import VectorIndex
from retrieval.plans import load_plan
from samdesk.config import Settings
from tests.conftest import AS_OF, SAMPLES, make_settings

pytestmark = pytest.mark.vcr


@pytest.fixture
def drafter(sample_index: VectorIndex, tmp_path) -> Drafter:  # type: ignore[no-untyped-def]
    settings: Settings = make_settings(tmp_path)
    return Drafter(OpenAIChatModel(settings.llm_endpoint(), settings), sample_index)


def plan(account_id: str):  # type: ignore[no-untyped-def]
    loaded, errors = load_plan(SAMPLES / "accounts" / f"{account_id}.md")
    assert loaded is not None, errors
    return loaded


def assert_well_formed(result: DraftResult, account_id: str) -> None:
    """Whatever the model said, the pipeline's invariants hold."""
    assert {s.chunk.account_id for s in result.sources} == {account_id}
    assert result.usage["prompt_tokens"] > 0 and result.usage["completion_tokens"] > 0
    assert result.model == "smollm2-135m-instruct"
    if result.output is None:
        assert result.failure_reason and result.attempts == 2
        return
    assert set(result.output.citations) <= {s.chunk.id for s in result.sources}


def codes(result: DraftResult) -> list[str]:
    return sorted(f.code for f in result.findings)


def test_outreach_on_champion_retirement(drafter: Drafter) -> None:
    result = drafter.draft_outreach(
        plan("acme-financial"), "sig-acme-009", prompt="outreach@v1", as_of=AS_OF
    )
    assert_well_formed(result, "acme-financial")
    # The champion is leaving: re-alignment goes to the economic buyer, not to her.
    assert result.recipient == "Robert Ainsley <robert.ainsley@acmefinancial.example>"
    assert result.output is not None
    # SmolLM2 signs as "Sarah Chen, Chief Financial Officer": a title no source gives her.
    assert "Sarah Chen, Chief Financial Officer" in result.output.subject
    # And it tells the CFO about "the Acme Financial Corp account plan": internal language.
    # Nor does it sign the email, or ask the CFO for anything.
    assert codes(result) == [
        "internal_disclosure",
        "no_call_to_action",
        "uncited",
        "unsigned",
        "unsupported_title",
    ]


def test_outreach_on_competitor_rfp(drafter: Drafter) -> None:
    result = drafter.draft_outreach(
        plan("bluewater-logistics"), "sig-bluewater-008", prompt="outreach@v1", as_of=AS_OF
    )
    assert_well_formed(result, "bluewater-logistics")
    # It invented four dates, and a title its cited sources do not give Fiona Gallagher.
    # Its only line ("Sender: Fiona Gallagher, Chief Technology Officer, …") is no signature,
    # and asks for nothing.
    assert codes(result) == (
        ["no_call_to_action", "uncited", "unsigned"]
        + ["unsupported_date"] * 4
        + ["unsupported_title"]
    )


def test_briefing_for_acme_qbr(drafter: Drafter) -> None:
    acme = plan("acme-financial")
    result = drafter.draft_briefing(acme, acme.meetings[0], prompt="briefing@v1", as_of=AS_OF)
    assert_well_formed(result, "acme-financial")
    assert result.recipient == "sarah.chen@northwind.example"
    # One line ("What changed since last contact? A one-page briefing in Markdown with exactly
    # these sections."): no sections, and our own sentence with "pre-meeting" left out.
    assert codes(result) == ["missing_sections", "prompt_echo", "uncited"]


def test_briefing_for_meridian_reset(drafter: Drafter) -> None:
    meridian = plan("meridian-health")
    result = drafter.draft_briefing(
        meridian, meridian.meetings[0], prompt="briefing@v1", as_of=AS_OF
    )
    assert_well_formed(result, "meridian-health")
    assert result.output is not None and "1234567890" in result.output.body
    assert codes(result) == ["missing_sections", "uncited", "unsupported_number"]
