"""What a reader sees before any fact: the subject, leftover placeholders, raw HTML, sections."""

from __future__ import annotations

import pytest

from agent.findings import Finding
from agent.form_checks import Letter, form_findings
from agent.schemas import DraftOutput

SECTIONS = "Write the briefing with exactly these sections:\n## Account snapshot\n## Risks\n"


LETTER = Letter(
    account="Harborview Retail Group",
    sender="Sarah Chen",
    recipients=("Trevor Malik",),
    people=("Trevor Malik", "Angela Brandt", "Dr. Omar Haddad"),
)
SIGNED = "\n\nCould we meet next week?\n\nBest regards,\nSarah Chen"


def check(
    body: str,
    *,
    subject: str = "Trading Desk expansion",
    instructions: str = "",
    corpus: str = "",
    letter: Letter | None = LETTER,
    signed: bool = True,
) -> list[Finding]:
    text = body + (SIGNED if signed and letter else "")
    output = DraftOutput(subject=subject, body=text, citations=["sig-acme-003"])
    return form_findings(output, instructions=instructions, corpus=corpus, letter=letter)


def codes(findings: list[Finding]) -> list[str]:
    return sorted(f.code for f in findings)


@pytest.mark.parametrize(
    "body, excerpt",
    [
        ("Could we meet on [date]? Best regards, [Your Name]", "[date]"),
        ("Hi {{first_name}}, congratulations on the launch.", "{{"),
        ("The pilot starts on XXX, as agreed with the team.", "XXX"),
        ("The Meridian plan: [insert text here]", "[insert text here]"),
        ("Thanks for your time, <Recipient's first name>.", "<Recipient's first name>"),
    ],
)
def test_an_unfilled_placeholder_is_an_error(body: str, excerpt: str) -> None:
    found = check(body)
    assert "placeholder" in codes(found)
    assert excerpt in [f.excerpt for f in found]
    assert all(f.severity == "error" for f in found if f.code == "placeholder")


def test_tbd_is_a_placeholder_unless_a_source_says_it() -> None:
    body = "The QBR attendees are TBD, as the plan says."
    assert codes(check(body)) == ["placeholder"]
    assert codes(check(body, corpus="Q4 QBR on 2026-12-08 with TBD")) == []


@pytest.mark.parametrize(
    "body, tag",
    [
        ("<table>\n    <tr><td class=", "<table>"),
        ("Congratulations on the <b>launch</b> of Pulse.", "<b>"),
        ('Read it <a href="https://x.example">here</a>.', '<a href="https://x.example">'),
    ],
)
def test_html_in_a_plain_text_email_is_flagged(body: str, tag: str) -> None:
    found = [f for f in check(body) if f.code == "active_content"]
    assert [f.excerpt for f in found] == [tag]


def test_angle_brackets_around_an_address_are_not_html() -> None:
    body = "Felix Wagner <felix.wagner@brightlineenergy.example> asked for 5 < 6 options."
    assert check(body) == []


def test_a_section_the_prompt_asked_for_and_the_draft_lacks_is_a_warning() -> None:
    found = check("## Account snapshot\n- Acme is growing.", instructions=SECTIONS, letter=None)
    assert [(f.code, f.severity) for f in found] == [("missing_sections", "warning")]
    assert found[0].message.endswith("lacks 1 of the 2 sections the prompt asks for: Risks")


def test_sections_may_be_bold_lines_in_any_case_with_a_colon() -> None:
    body = "## ACCOUNT SNAPSHOT\n- Acme is growing.\n**Risks:**\n- A freeze."
    assert check(body, instructions=SECTIONS, letter=None) == []


def test_a_prompt_that_asks_for_no_sections_checks_none() -> None:
    assert check("One paragraph, no headings at all.", instructions="Write an email.") == []


@pytest.mark.parametrize("subject", ["Sender", "Harborview", "Re: Harborview Retail", "Greeting:"])
def test_a_subject_that_says_nothing_is_a_warning_in_an_email(subject: str) -> None:
    found = check("Congratulations on the loyalty relaunch.", subject=subject)
    assert [(f.code, f.severity, f.excerpt) for f in found] == [
        ("vague_subject", "warning", subject)
    ]


def test_a_long_subject_is_a_warning() -> None:
    subject = "Harborview Retail Group announces a freeze on discretionary tech spend until Q2 2027"
    found = check("Congratulations on the loyalty relaunch.", subject=subject)
    assert [(f.code, f.severity) for f in found] == [("subject_length", "warning")]
    assert "13 words" in found[0].message


def test_a_briefings_subject_is_the_sams_own_business() -> None:
    assert check("A body for the SAM only.", subject="Harborview", letter=None) == []


@pytest.mark.parametrize(
    "greeting", ["Dear Trevor,", "Hi Trevor Malik and Angela,", "Hello team,", "Dear all,"]
)
def test_greeting_the_recipient_or_nobody_in_particular_is_fine(greeting: str) -> None:
    assert check(f"{greeting}\nCongratulations on the relaunch.") == []


@pytest.mark.parametrize("greeting", ["Dear Angela,", "Hi Dr. Haddad,"])
def test_greeting_another_stakeholder_is_an_error(greeting: str) -> None:
    found = check(f"{greeting}\nCongratulations on the relaunch.")
    assert [(f.code, f.excerpt, f.severity) for f in found] == [
        ("wrong_greeting", greeting, "error")
    ]
    assert found[0].message.endswith("but the email goes to Trevor Malik")


@pytest.mark.parametrize("closing", ["Best regards,\nTrevor Malik", "Thanks,\nAngela"])
def test_signing_as_someone_else_is_an_error(closing: str) -> None:
    body = f"Dear Trevor,\nCould we meet next week?\n\n{closing}"
    found = check(body, signed=False)
    assert [(f.code, f.severity) for f in found] == [("wrong_signature", "error")]
    assert found[0].message.endswith("the email is from Sarah Chen")


def test_an_email_without_the_sams_name_at_the_end_is_a_warning() -> None:
    """Naming the recipient in a last sentence is not signing as them."""
    body = "Dear Trevor,\nCould we meet for 30 minutes next week, Trevor? [sig-harborview-001]"
    found = check(body, signed=False)
    assert [(f.code, f.severity) for f in found] == [("unsigned", "warning")]
    assert check(body + "\nBest,\nSarah [sig-harborview-001]", signed=False) == []


def test_greeting_any_of_several_recipients_is_fine() -> None:
    both = Letter("Harborview Retail Group", "Sarah Chen", ("Trevor Malik", "Angela Brandt"))
    assert check("Dear Angela,\nCongratulations on the relaunch.", letter=both) == []


def test_an_email_that_asks_for_nothing_is_a_warning() -> None:
    found = check(
        "Dear Trevor,\nCongratulations on the relaunch.\n\nBest,\nSarah Chen", signed=False
    )
    assert [(f.code, f.severity) for f in found] == [("no_call_to_action", "warning")]


def test_the_ask_belongs_at_the_end_of_the_email() -> None:
    """A question in the first lines of a long email is not what the reader is left with."""
    early = "Dear Trevor,\nDid you see the news?\n" + "The relaunch went well. " * 20
    assert codes(check(early + "\nBest,\nSarah Chen", signed=False)) == ["no_call_to_action"]
    assert check(early + "\nShall we talk on Tuesday?\nBest,\nSarah Chen", signed=False) == []


def test_a_briefing_asks_for_nothing() -> None:
    assert check("## Account snapshot\n- Acme is growing.", letter=None) == []
