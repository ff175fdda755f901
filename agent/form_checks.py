"""Checks on what a draft looks like before any of its facts: the subject line, template
placeholders left in, HTML tags and the sections the prompt asked for.

The claim checks cannot see these: "Draft the email now as JSON" as a subject, "[Your Name]"
as a signature or a ``<table>`` sent as text state no fact, yet each is the first thing the
reader would notice, and the embedded model writes all of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from agent.findings import Finding
from agent.schemas import DraftOutput

# Words of a template its author forgot to fill in; "TBD" counts unless a source says it.
PLACEHOLDER = re.compile(
    r"\[(?:your |recipient'?s? |first |last |company |client'?s? |contact )?name\]|"
    r"\[(?:date|time|company|title|role|phone|email|link|meeting date|day)\]|"
    r"<(?:your|recipient'?s?|first|company) name>|\{\{|\}\}|<insert|\bTBD\b|\bXXX+\b",
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
# Words that leave a subject saying nothing once the account's own name is taken out.
EMPTY_SUBJECT_WORDS = {"re", "fw", "fwd", "hi", "hello", "update", "news", "email", "subject"}


def form_findings(
    output: DraftOutput,
    *,
    instructions: str,
    corpus: str,
    account_name: str,
    customer_facing: bool,
) -> list[Finding]:
    """``instructions``: samdesk's own words in the prompt (``Prompt.instructions``);
    ``corpus``: the text of the sources and what the prompt named, where a "TBD" may be
    quoted."""
    text = f"{output.subject}\n{output.body}"
    findings = [*_placeholder_findings(text, corpus.lower()), *_tag_findings(text)]
    findings += _section_findings(output.body, instructions)
    if customer_facing:
        findings += _subject_findings(output.subject, account_name)
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


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))
