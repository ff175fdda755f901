"""Checks on what a draft looks like before any of its facts: the subject line, template
placeholders left in, HTML tags, the sections the prompt asked for, who an email greets and
is signed by, and whether it asks the reader for anything.

The claim checks cannot see these: "Draft the email now as JSON" as a subject, "[Your Name]"
as a signature, a ``<table>`` sent as text or "Dear Linda" to Robert state no fact, yet each
is the first thing the reader would notice, and the embedded model writes all of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from agent.claims import CITATION
from agent.findings import Finding
from agent.schemas import DraftOutput

# Words of a template its author forgot to fill in; "TBD" counts unless a source says it.
PLACEHOLDER = re.compile(
    r"\[(?:insert|your|recipient|company|client|contact|first|last)\b[^\]\n]{0,40}\]|"
    r"\[(?:name|date|time|title|role|phone|email|link|day|meeting date)\]|"
    r"<(?:insert|your|recipient|first|company)\b[^>\n]{0,40}>|\{\{|\}\}|\bTBD\b|\bXXX+\b",
    re.IGNORECASE,
)
# Tags of HTML, which a plain-text email shows raw ("<script" and friends are the
# injection check's); an address in angle brackets is not one.
HTML_TAG = re.compile(
    r"</?(?:a|b|i|u|p|br|hr|em|strong|small|code|pre|blockquote|center|font|div|span|section|"
    r"article|header|footer|nav|main|h[1-6]|ul|ol|li|dl|dt|dd|table|thead|tbody|tfoot|tr|td|th|"
    r"caption|button|input|textarea|select|option|label|html|head|body|title)"
    r"(?:\s*/?>|\s[^<>]*>|\s+[a-z-]+\s*=)",
    re.IGNORECASE,
)
# A Markdown heading, or a line in bold, which reads as one.
HEADING = re.compile(r"^(?:#{1,6}\s*|\*\*)(.+?)(?:\*\*)?:?\s*#*\s*$", re.MULTILINE)
ASKED_SECTION = re.compile(r"^##\s+(.+?)\s*$", re.MULTILINE)
MAX_SUBJECT_WORDS = 12
# Findings about the subject line alone: the same words in the body are fine.
SUBJECT_CODES = frozenset({"subject_length", "vague_subject"})
# Words that leave a subject saying nothing once the account's own name is taken out.
EMPTY_SUBJECT_WORDS = {"re", "fw", "fwd", "hi", "hello", "update", "news", "email", "subject"}
# Up to the comma that ends it: "Hi James," of "Hi James, congratulations on …".
GREETING = re.compile(
    r"^\s*(?:hi|hello|dear|hey|good (?:morning|afternoon|evening))\b[^\n,:;!]*[,:;!]?", re.I
)
MAX_SIGNATURE_WORDS = 4
# A question or a proposed meeting: what an outreach email exists for. The evals' call-to-action
# check and the edits they learn from read it here too.
CALL_TO_ACTION = re.compile(
    r"\?|\b(?:let'?s|shall we|could we|can we|would you|are you (?:free|available)|"
    r"schedule|set up|book|find (?:a )?time|grab|meet|call|chat)\b",
    re.IGNORECASE,
)
ASK_WORDS = 80  # the end of the email, where the ask belongs


@dataclass(frozen=True)
class Letter:
    """Who a customer-facing email is between, for its subject, greeting and signature."""

    account: str  # the account's name, which says nothing in its own subject line
    sender: str  # the SAM
    recipients: tuple[str, ...]  # the stakeholders the email is addressed to
    people: tuple[str, ...] = ()  # the account's stakeholders, whom the email could confuse


def form_findings(
    output: DraftOutput,
    *,
    instructions: str,
    corpus: str,
    letter: Letter | None = None,
) -> list[Finding]:
    """``instructions``: samdesk's own words in the prompt (``Prompt.instructions``);
    ``corpus``: the text of the sources and what the prompt named, where a "TBD" may be
    quoted; ``letter``: for an email to the customer, who it is between."""
    text = f"{output.subject}\n{output.body}"
    findings = [*_placeholder_findings(text, corpus.lower()), *_tag_findings(text)]
    findings += _section_findings(output.body, instructions)
    if letter is not None:
        findings += _subject_findings(output.subject, letter.account)
        findings += _greeting_findings(output.body, letter)
        findings += _signature_findings(output.body, letter)
        findings += _ask_findings(output.body)
    return findings


def _placeholder_findings(text: str, corpus: str) -> Iterable[Finding]:
    for token in dict.fromkeys(m.group(0) for m in PLACEHOLDER.finditer(text)):
        if token.isalpha() and token.lower() in corpus:
            continue
        yield Finding("placeholder", f"{token!r} is a placeholder left unfilled", token)


def _tag_findings(text: str) -> Iterable[Finding]:
    match = HTML_TAG.search(text)
    if match:
        yield Finding(
            "active_content",
            f"contains HTML {match.group(0)!r}; the email is plain text and would show it raw",
            match.group(0),
        )


def _section_findings(body: str, instructions: str) -> Iterable[Finding]:
    """The sections the prompt lists as ``## Heading`` lines must each head the draft."""
    asked = ASKED_SECTION.findall(instructions)
    if not asked:
        return
    present = {_words(h) for h in HEADING.findall(body)}
    missing = [s for s in asked if _words(s) not in present]
    if missing:
        yield Finding(
            "missing_sections",
            f"lacks {len(missing)} of the {len(asked)} sections the prompt asks for: "
            + ", ".join(missing),
            severity="warning",
        )


def _subject_findings(subject: str, account_name: str) -> Iterable[Finding]:
    words = re.findall(r"[\w'’-]+", subject)
    if len(words) > MAX_SUBJECT_WORDS:
        yield Finding(
            "subject_length",
            f"the subject has {len(words)} words; the prompt asks for at most "
            f"{MAX_SUBJECT_WORDS}, and inboxes cut long subjects short",
            subject,
            severity="warning",
        )
    name = set(_words(account_name).split())
    telling = [w for w in words if w.lower() not in name | EMPTY_SUBJECT_WORDS]
    if len(telling) < 2:
        yield Finding(
            "vague_subject",
            f"the subject {subject!r} does not say what the email is about",
            subject,
            severity="warning",
        )


def _greeting_findings(body: str, letter: Letter) -> Iterable[Finding]:
    greeting = GREETING.match(body)
    if greeting is None or not letter.recipients:
        return
    if any(mentions(greeting.group(0), r) for r in letter.recipients):
        return
    greeted = next((p for p in letter.people if mentions(greeting.group(0), p)), None)
    if greeted:
        yield Finding(
            "wrong_greeting",
            f"greets {greeted}, but the email goes to {' and '.join(letter.recipients)}",
            greeting.group(0).strip(),
        )


def _signature_findings(body: str, letter: Letter) -> Iterable[Finding]:
    """Signed by the SAM in the last lines; a short last line naming someone else is a
    signature in their name."""
    lines = [line for line in (CITATION.sub("", x).strip() for x in body.splitlines()) if line]
    if not lines or any(mentions(line, letter.sender) for line in lines[-3:]):
        return
    last = lines[-1]
    others = (*letter.recipients, *letter.people)
    if len(last.split()) <= MAX_SIGNATURE_WORDS:
        signer = next((p for p in others if mentions(last, p)), None)
        if signer:
            yield Finding(
                "wrong_signature", f"signed as {signer}; the email is from {letter.sender}", last
            )
            return
    yield Finding("unsigned", f"does not end with {letter.sender}'s name", severity="warning")


def asks(body: str) -> bool:
    """A question or a proposed meeting in the email's last ``ASK_WORDS`` words."""
    return bool(CALL_TO_ACTION.search(" ".join(body.split()[-ASK_WORDS:])))


def _ask_findings(body: str) -> Iterable[Finding]:
    if not asks(body):
        yield Finding(
            "no_call_to_action",
            "asks the reader for nothing: no question or proposed meeting at the end",
            severity="warning",
        )


def mentions(text: str, person: str) -> bool:
    """Any part of ``person``'s name ("Robert", "Ainsley") as a word of ``text``; the evals'
    addressee check reads greetings the same way."""
    parts = [p for p in re.findall(r"[\w'’-]+", person) if len(p) > 2 and p != "Dr"]
    return any(re.search(rf"(?<!\w){re.escape(p)}(?!\w)", text) for p in parts)


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))
