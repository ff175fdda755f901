"""The exact RFC 5322 message that approval freezes."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from sqlalchemy.orm import Session, sessionmaker

from approval_ui import messages
from approval_ui.messages import (
    build_message,
    content_hash,
    email_body,
    email_preview,
    message_id,
    recipients,
)
from samdesk.errors import StateError
from samdesk.models import Revision
from tests.approval_ui.conftest import Desk
from tests.factories import make_draft

BODY = (
    "Hi Robert,\n\nCongratulations on welcoming Laura Kim as CFO [sig-acme-901]. "
    "Your Q3 plan [plan-acme:goals/q3] mentions consolidation.\n\nBest,\nSarah\n"
)


def parse(raw: bytes) -> EmailMessage:
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("s", "b", "r"), ("s2", "b", "r")),
        (("s", "b", "r"), ("s", "b2", "r")),
        (("s", "b", "r"), ("s", "b", "r2")),
        (("ab", "c", "r"), ("a", "bc", "r")),  # field boundaries matter
    ],
)
def test_content_hash_changes_with_any_field(
    a: tuple[str, str, str], b: tuple[str, str, str]
) -> None:
    assert content_hash(*a) != content_hash(*b)
    assert content_hash(*a) == content_hash(*a)
    assert len(content_hash(*a)) == 64


def test_outreach_body_loses_citation_markers_and_briefing_keeps_them() -> None:
    assert email_body("outreach", BODY) == (
        "Hi Robert,\n\nCongratulations on welcoming Laura Kim as CFO. "
        "Your Q3 plan mentions consolidation.\n\nBest,\nSarah\n"
    )
    assert email_body("briefing", BODY) == BODY


def test_the_subject_sent_to_a_customer_loses_citation_markers_too(
    desk: Desk, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions, subject="Laura Kim, CFO [sig-acme-901]")
    draft = desk.approve(draft_id)
    [row] = desk.outbox(draft_id)

    assert parse(row.message)["Subject"] == "Laura Kim, CFO"
    assert email_preview("outreach", draft.current.subject, BODY).startswith(
        "Subject: Laura Kim, CFO\n\nHi Robert,\n\nCongratulations on welcoming Laura Kim"
    )
    assert (
        email_preview("briefing", "QBR [sig-acme-901]", "x") == "Subject: QBR [sig-acme-901]\n\nx"
    )


def test_a_subject_of_markers_alone_cannot_be_approved(
    desk: Desk, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions, subject="[sig-acme-901]")
    with pytest.raises(StateError, match="nothing but citation markers; write a subject"):
        desk.approve(draft_id)
    assert desk.outbox(draft_id) == []
    assert desk.get(draft_id).status == "pending"


def test_recipients_parses_addresses_and_refuses_names_only() -> None:
    several = Revision(recipient="Robert <robert@acme.example>, ops@acme.example")
    assert recipients(several) == ["robert@acme.example", "ops@acme.example"]
    with pytest.raises(StateError, match="'Robert Ainsley' has no email address"):
        recipients(Revision(recipient="Robert Ainsley"))
    with pytest.raises(StateError, match="no email address"):
        recipients(Revision(recipient=""))


@pytest.mark.parametrize(
    ("kind", "expected_body"),
    [
        (
            "outreach",
            "Hi Robert,\n\nCongratulations on welcoming Laura Kim as CFO. "
            "Your Q3 plan mentions consolidation.\n\nBest,\nSarah\n",
        ),
        ("briefing", BODY),
    ],
)
def test_the_frozen_message_carries_the_approved_revision(
    desk: Desk, sessions: sessionmaker[Session], kind: str, expected_body: str
) -> None:
    draft_id = make_draft(sessions, kind=kind, subject="Laura Kim, CFO", body=BODY)
    draft = desk.approve(draft_id)
    revision = draft.current
    [row] = desk.outbox(draft_id)

    msg = parse(row.message)
    assert msg["From"] == "samdesk@northwind.example"
    assert msg["To"] == "Robert Ainsley <robert.ainsley@acmefinancial.example>"
    assert msg["Subject"] == "Laura Kim, CFO"
    assert (
        msg["Message-ID"]
        == row.message_id
        == (f"<samdesk.d{draft_id}.r1.{revision.content_hash[:12]}@northwind.example>")
    )
    assert msg["X-Samdesk-Draft"] == str(draft_id)
    assert msg["X-Samdesk-Revision"].strip() == f"1 {revision.content_hash}"  # folded: long
    assert msg["Date"].datetime == draft.approved_at.replace(microsecond=0)  # type: ignore[union-attr]
    content = msg.get_content()
    assert content.replace("\r\n", "\n") == expected_body
    assert b"\r\n" in row.message and b"\n" not in row.message.replace(b"\r\n", b"")


def test_message_id_and_bytes_are_deterministic(
    desk: Desk, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions)
    draft = desk.approve(draft_id)
    [row] = desk.outbox(draft_id)

    again_id, again = build_message(draft, draft.current, mail_from="samdesk@northwind.example")

    assert (again_id, again) == (row.message_id, row.message)
    assert message_id(draft, draft.current, "northwind.example") == row.message_id
    # another revision of the same draft gets another Message-ID
    desk.edit(draft_id, body="Changed text, so a new revision and a new identity.")
    draft = desk.approve(draft_id)
    assert desk.outbox(draft_id)[-1].message_id != row.message_id
    assert ".r2." in desk.outbox(draft_id)[-1].message_id


@pytest.mark.parametrize(
    ("subject", "recipient"),
    [
        ("Laura Kim, CFO", "Robert Ainsley <robert.ainsley@acmefinancial.example>"),
        ("Zürich: nächste Schritte – Q3 €", "José Müller <jose@acme.example>"),
        (
            "A subject long enough to be folded " * 4,
            ", ".join(f"p{i}@acme.example" for i in 9 * "x"),
        ),
        ('"Quoted" (comment) subject', '"Ainsley, Robert" <robert@acme.example>'),
    ],
)
def test_the_kept_header_classes_build_the_same_bytes_as_the_standard_policy(
    desk: Desk,
    sessions: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    subject: str,
    recipient: str,
) -> None:
    draft_id = make_draft(sessions, subject=subject, recipient=recipient, body=BODY + "é ✓\n")
    draft = desk.approve(draft_id)
    kept = build_message(draft, draft.current, mail_from="samdesk@northwind.example")
    again = build_message(draft, draft.current, mail_from="samdesk@northwind.example")
    monkeypatch.setattr(messages, "POLICY", SMTP)
    standard = build_message(draft, draft.current, mail_from="samdesk@northwind.example")
    assert kept == again == standard
