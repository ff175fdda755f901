"""The grounding evaluator on a grounded draft and on one with invented facts."""

from __future__ import annotations

from evals.evaluators.grounding import SupportedClaims
from tests.evals.conftest import MakeCtx
from tests.evals.test_deterministic import CASE, GOOD


def test_a_grounded_draft_has_every_claim_supported(make_ctx: MakeCtx) -> None:
    rate, flags = SupportedClaims().evaluate(make_ctx(CASE, GOOD))
    assert rate.name == "supported_claim_rate" and rate.value == 1.0 and rate.passed
    assert rate.reason == "3 of 3 claims supported" and rate.details == ()
    assert flags.name == "product_flags" and flags.value == 0.0 and flags.passed is None


def test_invented_facts_are_listed_with_reasons(make_ctx: MakeCtx) -> None:
    body = GOOD.replace("after 19 years", "after 21 years").replace(
        "Nadia Brooks will lead", "Helen Park, our CFO, will lead"
    )
    rate, flags = SupportedClaims().evaluate(make_ctx(CASE, body))
    assert rate.value == round(1 / 3, 4) and rate.passed is False
    unsupported = "\n".join(rate.details)
    assert "21 years" in unsupported and "Helen Park" in unsupported
    assert flags.value >= 1  # the product flagged the invented figure too


def test_a_draft_without_claims_or_without_output_fails(make_ctx: MakeCtx) -> None:
    empty = SupportedClaims().evaluate(make_ctx(CASE, "Dear Robert, could we meet next week?"))
    assert empty[0].passed is False and "no factual claim" in empty[0].reason
    failed = SupportedClaims().evaluate(make_ctx(CASE, "", reply="not json"))
    assert [(r.name, r.passed) for r in failed] == [("supported_claim_rate", False)]
