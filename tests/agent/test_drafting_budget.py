"""The prompt token budget: the lowest-scored sources are dropped to fit, never the trigger."""

from __future__ import annotations

import json

from agent.drafting import Drafter
from agent.llm import ScriptedChatModel
from agent.tokens import count_messages
from retrieval.index import VectorIndex
from retrieval.schemas import AccountPlan
from tests.conftest import AS_OF

TRIGGER = "sig-acme-003"
GOOD = json.dumps(
    {
        "subject": "Trading Desk hiring",
        "body": "Saw the 23 new Trading Desk roles [sig-acme-003]. Could we meet for 30 minutes?",
        "citations": [TRIGGER],
    }
)


def draft(
    index: VectorIndex, plan: AccountPlan, budget: int | None
) -> tuple[list[str], int, list[float]]:
    """Source ids kept, prompt tokens sent, and the kept sources' scores (trigger first)."""
    model = ScriptedChatModel([GOOD])
    result = Drafter(model, index, prompt_token_budget=budget).draft_outreach(
        plan, TRIGGER, as_of=AS_OF
    )
    return (
        [r.chunk.id for r in result.sources],
        count_messages(model.requests[0]),
        [r.score for r in result.sources],
    )


def test_without_a_budget_every_retrieved_source_goes_in(
    sample_index: VectorIndex, acme: AccountPlan
) -> None:
    ids, _, _ = draft(sample_index, acme, None)
    assert len(ids) == 8 and ids[0] == TRIGGER


def test_a_tight_budget_drops_the_lowest_scored_sources_until_the_prompt_fits(
    sample_index: VectorIndex, acme: AccountPlan
) -> None:
    full_ids, full_tokens, full_scores = draft(sample_index, acme, None)
    budget = int(full_tokens * 0.7)

    ids, tokens, _ = draft(sample_index, acme, budget)

    assert tokens <= budget
    assert ids[0] == TRIGGER and 1 < len(ids) < len(full_ids)
    dropped = [s for i, s in zip(full_ids, full_scores, strict=True) if i not in ids]
    kept = [s for i, s in zip(full_ids[1:], full_scores[1:], strict=True) if i in ids]
    assert max(dropped) <= min(kept)  # only the lowest-scored went


def test_a_budget_too_small_for_anything_keeps_the_trigger_and_still_drafts(
    sample_index: VectorIndex, acme: AccountPlan
) -> None:
    ids, tokens, _ = draft(sample_index, acme, 50)
    assert ids == [TRIGGER] and tokens > 50


def test_a_generous_budget_changes_nothing(sample_index: VectorIndex, acme: AccountPlan) -> None:
    assert draft(sample_index, acme, 100_000)[0] == draft(sample_index, acme, None)[0]
