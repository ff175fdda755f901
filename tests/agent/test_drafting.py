"""The drafter's own logic, with a scripted model and the real index of the sample accounts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.drafting import Drafter
from agent.llm import ChatMessage, Completion, ScriptedChatModel
from retrieval.index import VectorIndex
from retrieval.schemas import AccountPlan
from samdesk.errors import NotFoundError
from tests.conftest import AS_OF

GOOD = json.dumps(
    {
        "subject": "Trading Desk hiring",
        "body": "Saw the 23 new Trading Desk roles [sig-acme-003]. Could we meet for 30 minutes?"
        "\n\nBest regards,\nSarah Chen",
        "citations": ["sig-acme-003"],
    }
)


def drafter(index: VectorIndex, *replies: str) -> tuple[Drafter, ScriptedChatModel]:
    model = ScriptedChatModel(list(replies))
    return Drafter(model, index), model


def test_outreach_cites_its_trigger_and_stays_in_the_account(
    sample_index: VectorIndex, acme: AccountPlan
) -> None:
    d, model = drafter(sample_index, GOOD)
    result = d.draft_outreach(acme, "sig-acme-003", as_of=AS_OF)
    assert result.output is not None and result.failure_reason is None
    assert result.sources[0].chunk.id == "sig-acme-003"
    assert {s.chunk.account_id for s in result.sources} == {"acme-financial"}
    assert result.findings == []
    assert result.trigger == {
        "type": "signal",
        "signal_id": "sig-acme-003",
        "title": result.sources[0].chunk.title,
    }
    assert '<source id="sig-acme-003"' in model.requests[0][1].content


def test_a_schema_breaking_reply_is_retried_once_with_the_reason(
    sample_index: VectorIndex, acme: AccountPlan
) -> None:
    d, model = drafter(sample_index, '{"subject": "x"', GOOD)
    result = d.draft_outreach(acme, "sig-acme-003", as_of=AS_OF)
    assert result.output is not None and result.attempts == 2
    retry = model.requests[1]
    assert retry[-1].role == "user" and "invalid: not JSON" in retry[-1].content


def test_two_bad_replies_make_a_failed_draft_with_the_reason(
    sample_index: VectorIndex, acme: AccountPlan
) -> None:
    missing = json.dumps({"subject": "Hello there", "body": "A long enough body text here."})
    d, _ = drafter(sample_index, "not json at all", missing)
    result = d.draft_outreach(acme, "sig-acme-003", as_of=AS_OF)
    assert result.output is None
    assert result.failure_reason == (
        "model reply broke the schema: field 'citations' missing (after 2 attempts)"
    )


def test_a_reply_cut_off_at_the_token_limit_is_not_used(
    sample_index: VectorIndex, acme: AccountPlan
) -> None:
    class Truncating(ScriptedChatModel):
        def complete(
            self,
            messages: list[ChatMessage],
            *,
            schema: dict[str, Any] | None = None,
            seed: int | None = None,
        ) -> Completion:
            completion = super().complete(messages, schema=schema, seed=seed)
            return type(completion)(text=completion.text, model="m", finish_reason="length")

    model = Truncating([GOOD, GOOD])
    result = Drafter(model, sample_index).draft_outreach(acme, "sig-acme-003", as_of=AS_OF)
    assert result.output is None
    assert result.failure_reason is not None and "cut off" in result.failure_reason


def test_a_cut_off_reply_is_asked_for_again_shorter_without_the_runaway_text(
    sample_index: VectorIndex, acme: AccountPlan
) -> None:
    runaway = '{"subject": "Hi", "body": "' + "We are pleased. " * 50
    replies = [(runaway, "length"), (GOOD, "stop")]

    class CutOffOnce(ScriptedChatModel):
        def complete(
            self,
            messages: list[ChatMessage],
            *,
            schema: dict[str, Any] | None = None,
            seed: int | None = None,
        ) -> Completion:
            super().complete(messages, schema=schema, seed=seed)
            text, finish = replies.pop(0)
            return Completion(text=text, model="m", finish_reason=finish)

    model = CutOffOnce([GOOD, GOOD])
    result = Drafter(model, sample_index).draft_outreach(acme, "sig-acme-003", as_of=AS_OF)
    assert result.output is not None and result.attempts == 2
    first, retry = model.requests
    assert retry[: len(first)] == first  # the same prompt, so the server reuses its cache
    assert len(retry) == len(first) + 1 and retry[-1].role == "user"
    assert "cut off" in retry[-1].content and "shorter" in retry[-1].content
    assert not any("We are pleased" in m.content for m in retry)


def test_the_schema_only_allows_citing_retrieved_sources(
    sample_index: VectorIndex, acme: AccountPlan
) -> None:
    seen: list[dict[str, Any]] = []

    class Capturing(ScriptedChatModel):
        def complete(
            self,
            messages: list[ChatMessage],
            *,
            schema: dict[str, Any] | None = None,
            seed: int | None = None,
        ) -> Completion:
            seen.append(schema or {})
            return super().complete(messages, schema=schema, seed=seed)

    result = Drafter(Capturing([GOOD]), sample_index).draft_outreach(
        acme, "sig-acme-003", as_of=AS_OF
    )
    allowed = seen[0]["properties"]["citations"]["items"]["enum"]
    assert allowed == [s.chunk.id for s in result.sources]


def test_a_signal_of_another_account_cannot_trigger_outreach(
    sample_index: VectorIndex, acme: AccountPlan
) -> None:
    d, model = drafter(sample_index, GOOD)
    with pytest.raises(NotFoundError, match="not indexed for account acme-financial"):
        d.draft_outreach(acme, "sig-bright-001", as_of=AS_OF)
    assert model.requests == []


def test_leadership_news_goes_to_the_economic_buyer(
    sample_index: VectorIndex, acme: AccountPlan
) -> None:
    d, _ = drafter(sample_index, GOOD)
    result = d.draft_outreach(acme, "sig-acme-008", as_of=AS_OF)
    buyer = next(s for s in acme.stakeholders if s.role == "economic_buyer")
    assert result.recipient.startswith(buyer.name)


def test_briefing_uses_plan_sections_and_recent_news_of_the_account(
    sample_index: VectorIndex, acme: AccountPlan
) -> None:
    reply = json.dumps(
        {
            "subject": "QBR briefing",
            "body": "## Risks\n- Champion retiring [acme-financial/risks]",
            "citations": ["acme-financial/risks"],
        }
    )
    d, _ = drafter(sample_index, reply)
    result = d.draft_briefing(acme, acme.meetings[0], as_of=AS_OF)
    kinds = {s.chunk.kind for s in result.sources}
    assert kinds == {"plan", "signal"}
    assert {s.chunk.account_id for s in result.sources} == {"acme-financial"}
    assert result.recipient == acme.owner_email
    assert result.trigger["type"] == "meeting"


def test_outreach_quoting_the_plans_risks_is_flagged_and_a_briefing_is_not(
    sample_index: VectorIndex, acme: AccountPlan
) -> None:
    reply = json.dumps(
        {
            "subject": "Trading Desk hiring",
            "body": "Saw the Trading Desk roles [sig-acme-003]. We know the Trading Desk deal "
            "depends on the COO, whom we barely know.",
            "citations": ["sig-acme-003"],
        }
    )
    d, _ = drafter(sample_index, reply, reply)
    outreach = d.draft_outreach(acme, "sig-acme-003", as_of=AS_OF)
    [finding] = [f for f in outreach.findings if f.code == "internal_disclosure"]
    assert finding.excerpt == "the trading desk deal depends on the coo"
    assert "[acme-financial/risks]" in finding.message
    briefing = d.draft_briefing(acme, acme.meetings[0], as_of=AS_OF)
    assert "internal_disclosure" not in {f.code for f in briefing.findings}
