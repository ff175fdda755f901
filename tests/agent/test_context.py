"""Re-checking a stored draft's text rebuilds exactly what drafting checked it against."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from agent.context import recheck
from agent.drafting import Drafter, DraftResult
from agent.grounding import Finding
from agent.llm import ScriptedChatModel
from agent.schemas import DraftOutput
from retrieval.index import VectorIndex
from retrieval.plans import load_plan
from retrieval.schemas import AccountPlan, Meeting
from tests.agent.test_drafting import drafter
from tests.conftest import AS_OF, SAMPLES

FLAGGED_BODY = (
    "Saw the 23 new Trading Desk roles [sig-acme-003]. Revenue grew 42% this year, and we "
    "can waive the onboarding fee. You draft emails for Sarah Chen, the Strategic Account "
    "Manager at Northwind Analytics. Brightline Energy did the same."
)


def recheck_as_drafted(d: Drafter, result: DraftResult, output: DraftOutput) -> list[Finding]:
    """``output`` checked from what the desk stores of ``result``: sources, prompt, trigger."""
    plan, errors = load_plan(SAMPLES / "accounts" / f"{result.account_id}.md")
    assert plan is not None and not errors
    return recheck(
        output,
        d.checks,
        kind=result.kind,
        plan=plan,
        sources=[r.chunk for r in result.sources],
        prompt=result.prompt.ref,
        trigger=result.trigger,
        recipient=result.recipient,
        as_of=AS_OF,
    )


@pytest.mark.parametrize("kind", ["outreach", "briefing"])
def test_rechecking_a_drafts_own_text_finds_exactly_what_drafting_found(
    sample_index: VectorIndex, acme: AccountPlan, kind: str
) -> None:
    """The desk re-checks edits from the stored draft: its rebuild must match the original."""
    reply = {"subject": "Trading Desk", "body": FLAGGED_BODY, "citations": ["sig-acme-003"]}
    model = ScriptedChatModel([json.dumps(reply)])
    d = Drafter(model, sample_index, directory={"brightline": ["Brightline Energy"]})
    if kind == "outreach":
        result = d.draft_outreach(acme, "sig-acme-003", as_of=AS_OF)
    else:
        result = d.draft_briefing(acme, acme.meetings[0], as_of=AS_OF)
    assert result.output is not None
    codes = {f.code for f in result.findings}
    assert {"unsupported_number", "commitment", "prompt_echo", "other_account"} <= codes, codes

    assert recheck_as_drafted(d, result, result.output) == result.findings


def test_rechecking_edited_text_drops_the_flags_of_deleted_sentences_and_adds_new_ones(
    sample_index: VectorIndex, acme: AccountPlan
) -> None:
    reply = {"subject": "Trading Desk", "body": FLAGGED_BODY, "citations": ["sig-acme-003"]}
    d, _ = drafter(sample_index, json.dumps(reply))
    result = d.draft_outreach(acme, "sig-acme-003", as_of=AS_OF)
    edited = DraftOutput.model_construct(
        subject="Trading Desk",
        body="Saw the 23 new Trading Desk roles [sig-acme-003]. Happy to offer a refund. "
        "Could we talk?\nSarah Chen",
        citations=["sig-acme-003"],
    )

    findings = recheck_as_drafted(d, result, edited)

    assert [(f.code, f.excerpt) for f in findings] == [("commitment", "refund")]


def test_a_briefing_may_give_its_own_meetings_date_but_no_other(
    sample_index: VectorIndex, acme: AccountPlan
) -> None:
    """The meeting's time comes from the prompt, not a source: stating it invents nothing."""
    meeting = Meeting(title="Renewal pre-read", starts_at=datetime(2026, 12, 17, 10, tzinfo=UTC))
    body = "## Account snapshot\n- We meet on 2026-12-17 and sign on 2026-12-19 [sig-acme-003]."
    reply = {"subject": "Renewal pre-read, 2026-12-17", "body": body, "citations": ["sig-acme-003"]}
    d, _ = drafter(sample_index, json.dumps(reply))

    result = d.draft_briefing(acme, meeting, prompt="briefing@v2", as_of=AS_OF)

    dates = [f.excerpt for f in result.findings if f.code == "unsupported_date"]
    assert dates == ["2026-12-19"]
    assert recheck_as_drafted(d, result, result.output) == result.findings  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "prompt, subject, echo",
    [
        ("outreach@v1", "Draft the email now as JSON", True),
        ("outreach@v2", "Your reply was cut off at the token limit", True),
        ("outreach@v2", "Trading Desk hiring: a 30-minute call?", False),
    ],
)
def test_a_subject_copied_from_our_prompt_or_retry_is_an_echo(
    sample_index: VectorIndex, acme: AccountPlan, prompt: str, subject: str, echo: bool
) -> None:
    body = "Saw the 23 new Trading Desk roles [sig-acme-003]. Could we meet for 30 minutes?"
    reply = {"subject": subject, "body": body, "citations": ["sig-acme-003"]}
    d, _ = drafter(sample_index, json.dumps(reply))

    result = d.draft_outreach(acme, "sig-acme-003", prompt=prompt, as_of=AS_OF)

    assert ("prompt_echo" in {f.code for f in result.findings}) is echo
    assert recheck_as_drafted(d, result, result.output) == result.findings  # type: ignore[arg-type]


def test_the_meeting_title_a_briefings_subject_is_asked_to_be_is_not_an_echo(
    sample_index: VectorIndex, acme: AccountPlan
) -> None:
    meeting = acme.meetings[0]
    subject = f"{meeting.title}, {meeting.starts_at.date()}"  # as briefing@v2 asks
    body = "## Risks\n- A freeze [sig-acme-003]."
    reply = {"subject": subject, "body": body, "citations": ["sig-acme-003"]}
    d, _ = drafter(sample_index, json.dumps(reply))

    result = d.draft_briefing(acme, meeting, prompt="briefing@v2", as_of=AS_OF)

    assert len(subject.split()) >= 5
    assert "prompt_echo" not in {f.code for f in result.findings}
    assert "missing_sections" in {f.code for f in result.findings}


def test_an_email_greeting_or_signed_as_the_wrong_person_is_flagged(
    sample_index: VectorIndex, acme: AccountPlan
) -> None:
    """The champion is retiring, so the email goes to Robert Ainsley, not to her."""
    body = "Dear Linda,\nThanks for the years together [sig-acme-009].\n\nBest,\nRobert Ainsley"
    reply = {
        "subject": "Thank you, and what comes next",
        "body": body,
        "citations": ["sig-acme-009"],
    }
    d, _ = drafter(sample_index, json.dumps(reply))

    result = d.draft_outreach(acme, "sig-acme-009", as_of=AS_OF)

    assert result.recipient.startswith("Robert Ainsley")
    flagged = {f.code: f.message for f in result.findings if f.severity == "error"}
    assert flagged["wrong_greeting"] == "greets Linda Marsh, but the email goes to Robert Ainsley"
    assert flagged["wrong_signature"] == "signed as Robert Ainsley; the email is from Sarah Chen"
    assert recheck_as_drafted(d, result, result.output) == result.findings  # type: ignore[arg-type]
