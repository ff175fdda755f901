"""Each deterministic evaluator on a hand-made good draft and a hand-made bad one."""

from __future__ import annotations

from evals.evaluators import EvalContext, EvalResult
from evals.evaluators.deterministic import (
    Addressee,
    CallToAction,
    CitationsValid,
    FactCoverage,
    LengthRule,
    NoBannedClaims,
    NoPlaceholders,
    NoUnsupportedDetails,
    ReadingGrade,
    SchemaValid,
    Sections,
    reading_grade,
)
from tests.evals.conftest import MakeCtx

CASE = "acme-champion-retiring"  # to Robert Ainsley (CFO) about Linda Marsh retiring
GOOD = """Dear Robert,

Acme announced that Linda Marsh will retire on March 31, 2027, after 19 years [sig-acme-009]. \
Her retirement falls on the same day as our renewal [acme-financial/stakeholders]. Nadia Brooks \
will lead the transition of marketing analytics programs [sig-acme-009].

Before the QBR I would like to agree with you how we keep the marketing analytics work on track \
through the handover, and walk you through the ROI summary you asked for [acme-financial/risks].

Could we find 30 minutes in the next two weeks?

Best regards,
Sarah Chen"""
BAD = """Hi Linda, congratulations on 21 years with the firm [sig-acme-999]. We can offer a
$300,000 discount on the 2026-12-24 renewal. [Your Name]"""


def results(ctx: EvalContext, *evaluators: object) -> dict[str, EvalResult]:
    return {r.name: r for e in evaluators for r in e.evaluate(ctx)}  # type: ignore[attr-defined]


def test_schema_valid_and_the_retry(make_ctx: MakeCtx) -> None:
    assert results(make_ctx(CASE, GOOD), SchemaValid())["schema_valid"].passed
    broken = make_ctx(CASE, "", reply='{"subject": "x"')
    r = results(broken, SchemaValid())["schema_valid"]
    assert r.passed is False and "not JSON" in r.reason
    assert broken.result.attempts == 2  # the product's retry ran before the case failed


def test_citations_must_name_given_sources_and_appear_inline(make_ctx: MakeCtx) -> None:
    good = results(make_ctx(CASE, GOOD), CitationsValid())
    assert good["citations_valid"].passed and good["cites_inline"].passed
    bad = results(make_ctx(CASE, BAD, citations=["sig-acme-009"]), CitationsValid())
    assert not bad["citations_valid"].passed and bad["citations_valid"].details == ("sig-acme-999",)
    uncited = results(make_ctx(CASE, GOOD.replace("[", "(").replace("]", ")")), CitationsValid())
    assert uncited["citations_valid"].passed and not uncited["cites_inline"].passed


def test_fact_coverage_counts_alternative_phrasings(make_ctx: MakeCtx) -> None:
    assert results(make_ctx(CASE, GOOD), FactCoverage())["fact_coverage"].value == 1.0
    iso = GOOD.replace("March 31, 2027", "2027-03-31")
    assert results(make_ctx(CASE, iso), FactCoverage())["fact_coverage"].passed
    r = results(make_ctx(CASE, BAD), FactCoverage())["fact_coverage"]
    assert r.value == 0.0 and r.details == ("Linda Marsh", "March 31, 2027")


def test_banned_claims_and_product_flags(make_ctx: MakeCtx) -> None:
    good = results(make_ctx(CASE, GOOD), NoBannedClaims(), NoUnsupportedDetails())
    assert good["no_banned_claims"].passed and good["no_unsupported_details"].passed
    bad = results(make_ctx(CASE, BAD), NoBannedClaims(), NoUnsupportedDetails())
    assert bad["no_banned_claims"].details == ("Hi Linda",)
    flagged = " ".join(bad["no_unsupported_details"].details)
    assert "$300,000" in flagged and "2026-12-24" in flagged


def test_length_and_call_to_action(make_ctx: MakeCtx) -> None:
    good = results(make_ctx(CASE, GOOD), LengthRule(), CallToAction())
    assert good["length_ok"].passed and good["call_to_action"].passed
    bad = results(
        make_ctx(CASE, "Linda Marsh retires on March 31, 2027 [sig-acme-009]. Noted."),
        LengthRule(),
        CallToAction(),
    )
    assert not bad["length_ok"].passed and not bad["call_to_action"].passed


def test_addressed_to_the_right_stakeholder_and_signed_by_the_sam(make_ctx: MakeCtx) -> None:
    good = results(make_ctx(CASE, GOOD), Addressee())
    assert good["addressed_correctly"].passed and good["signed_by_sam"].passed
    wrong = GOOD.replace("Dear Robert", "Dear Linda").replace("Sarah Chen", "Robert Ainsley, CFO")
    bad = results(make_ctx(CASE, wrong), Addressee())
    assert not bad["addressed_correctly"].passed and not bad["signed_by_sam"].passed


def test_briefing_sections(make_ctx: MakeCtx) -> None:
    headings = [
        "Account snapshot",
        "What changed since last contact",
        "Stakeholder map and gaps",
        "Open opportunities",
        "Risks",
        "Talking points",
        "Questions to ask",
    ]
    full = "\n".join(
        f"## {h}\n- Nadia Brooks runs the team [acme-financial/objectives]." for h in headings
    )
    ok = results(make_ctx("acme-case-study-kickoff", full), Sections())["sections_present"]
    assert ok.passed and ok.value == 1.0
    part = results(make_ctx("acme-case-study-kickoff", full.split("## Risks")[0]), Sections())
    assert part["sections_present"].details == ("Risks", "Talking points", "Questions to ask")


def test_placeholders(make_ctx: MakeCtx) -> None:
    assert results(make_ctx(CASE, GOOD), NoPlaceholders())["no_placeholders"].passed
    assert not results(make_ctx(CASE, BAD), NoPlaceholders())["no_placeholders"].passed


def test_reading_grade_separates_plain_from_dense_prose(make_ctx: MakeCtx) -> None:
    plain = "We met last week. The team liked the new dashboards. Can we talk on Monday?"
    dense = (
        "Notwithstanding considerable organizational transformation, institutional "
        "stakeholders increasingly prioritize comprehensive analytical infrastructure "
        "modernization initiatives, necessitating multidimensional evaluation."
    )
    assert reading_grade(plain) < 5 < 16 < reading_grade(dense)
    r = results(make_ctx(CASE, GOOD), ReadingGrade())["reading_grade"]
    assert r.passed and r.lower_is_better
