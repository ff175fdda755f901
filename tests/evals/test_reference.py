"""Reference-based measures for exported desk edits."""

from __future__ import annotations

from typing import Any

from evals.evaluators import EvalContext, EvalResult
from evals.evaluators.reference import ReferenceMatch, edit_distance, similarity
from evals.schema import Avoid, LoadedCase, Reference
from tests.evals.conftest import MakeCtx


def evaluate(ctx: EvalContext, **update: Any) -> dict[str, EvalResult]:
    """Score ``ctx`` as if its case had ``update`` (a reference, a rejected draft)."""
    loaded = ctx.loaded
    case = loaded.case.model_copy(update=update)
    changed = EvalContext(LoadedCase(case, loaded.plan, loaded.dataset), ctx.result)
    return {r.name: r for r in ReferenceMatch().evaluate(changed)}


def test_similarity_and_edit_distance() -> None:
    a = "Linda Marsh retires on March 31 [sig-1]. Can we meet?"
    assert similarity(a, a) == 1.0 and edit_distance(a, a) == 0.0
    b = "Linda Marsh retires on March 31. Could we meet next week?"
    assert 0.5 < similarity(a, b) < 1.0
    # "can" -> "could" and two inserted words, over the longer text (11 words)
    assert edit_distance(a, b) == round(3 / 11, 4)
    assert edit_distance("", "") == 0.0 and edit_distance("one two", "") == 1.0


def test_closer_to_the_sams_text_scores_better(make_ctx: MakeCtx) -> None:
    final = "Dear Robert, Linda Marsh retires on March 31, 2027. Could we meet next week?"
    near = make_ctx(
        "acme-champion-retiring",
        "Dear Robert, Linda Marsh retires on March 31, 2027 [sig-acme-009]. Could we meet soon?",
    )
    far = make_ctx(
        "acme-champion-retiring",
        "Hello, our platform has many features that your team would enjoy [sig-acme-009]. Call me.",
    )
    reference = Reference(subject="s", body=final)
    scores = {
        "near": evaluate(near, reference=reference),
        "far": evaluate(far, reference=reference),
    }
    assert (
        scores["near"]["reference_similarity"].value > scores["far"]["reference_similarity"].value
    )
    assert scores["near"]["edit_distance"].value < scores["far"]["edit_distance"].value
    assert scores["near"]["edit_distance"].lower_is_better


def test_a_rejected_draft_must_not_come_back(make_ctx: MakeCtx) -> None:
    rejected = "Hi Linda, congratulations on your retirement [sig-acme-009]. Let us meet soon."
    same = make_ctx("acme-champion-retiring", rejected)
    other = make_ctx(
        "acme-champion-retiring",
        "Dear Robert, with Linda Marsh retiring on "
        "March 31, 2027 [sig-acme-009], could we agree the handover plan?",
    )
    avoid = Avoid(reason="wrong recipient", body=rejected)
    verdicts = {
        "same": evaluate(same, avoid=avoid)["differs_from_rejected"],
        "other": evaluate(other, avoid=avoid)["differs_from_rejected"],
    }
    assert verdicts["same"].passed is False and "wrong recipient" in verdicts["same"].reason
    assert verdicts["other"].passed is True


def test_a_failed_draft_does_not_count_as_avoiding_the_rejection(make_ctx: MakeCtx) -> None:
    ctx = make_ctx("acme-champion-retiring", "", reply="not json")
    result = evaluate(ctx, avoid=Avoid(reason="r", body="Hi Linda"))
    assert list(result) == ["differs_from_rejected"]
    assert result["differs_from_rejected"].passed is False
