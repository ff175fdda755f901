"""Delivery: the outbox folder and a real SMTP server receive exactly the approved bytes."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from approval_ui import actions, permissions
from approval_ui.permissions import Principal
from approval_ui.sending import OutboxFolderSender, SMTPSender, make_sender
from samdesk.errors import ConflictError, SendError, StateError
from samdesk.models import Draft
from tests.approval_ui.conftest import REVIEWER, Desk, eml_files
from tests.conftest import make_settings
from tests.factories import make_draft
from tests.smtp_server import SMTPServer

BODY = "Hi Robert,\n\nCongratulations on welcoming Laura Kim as CFO [sig-acme-901].\n\nSarah\n"
RCPT = "robert.ainsley@acmefinancial.example"


def smtp(server: SMTPServer) -> SMTPSender:
    return SMTPSender(server.host, server.port, timeout_s=5)


def body_of(raw: bytes) -> str:
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    content: str = msg.get_content()
    return content.replace("\r\n", "\n")


@pytest.mark.parametrize(
    ("kind", "expected_body"),
    [
        ("outreach", "Hi Robert,\n\nCongratulations on welcoming Laura Kim as CFO.\n\nSarah\n"),
        ("briefing", BODY),
    ],
)
def test_the_outbox_file_is_the_frozen_row_byte_for_byte(
    desk: Desk,
    sessions: sessionmaker[Session],
    outbox_dir: Path,
    kind: str,
    expected_body: str,
) -> None:
    draft_id = make_draft(sessions, kind=kind, body=BODY)
    approved = desk.approve(draft_id)
    [queued] = desk.outbox(draft_id)

    # a later change of configuration does not reach a message that is already approved
    row = desk.send(draft_id, mail_from="someone-else@other.example")

    [eml] = eml_files(outbox_dir)
    assert eml.read_bytes() == queued.message
    assert body_of(eml.read_bytes()) == expected_body
    assert approved.current.body == BODY
    assert b"someone-else@other.example" not in eml.read_bytes()
    assert approved.approved_hash is not None
    assert eml.name == f"samdesk.d{draft_id}.r1.{approved.approved_hash[:12]}_northwind.example.eml"
    assert row.location == str(eml)
    assert [p.name for p in outbox_dir.iterdir()] == [eml.name]  # no temp file left behind


def test_smtp_receives_the_frozen_row_byte_for_byte(
    desk: Desk, sessions: sessionmaker[Session], smtp_server: SMTPServer
) -> None:
    draft_id = make_draft(sessions, body=BODY)
    desk.approve(draft_id)
    [queued] = desk.outbox(draft_id)

    row = desk.send(draft_id, sender=smtp(smtp_server))

    [envelope] = smtp_server.handler.envelopes
    assert isinstance(envelope.content, bytes)
    assert envelope.content == queued.message
    assert envelope.mail_from == "samdesk@northwind.example"
    assert envelope.rcpt_tos == [RCPT]
    assert body_of(envelope.content) == (
        "Hi Robert,\n\nCongratulations on welcoming Laura Kim as CFO.\n\nSarah\n"
    )
    assert row.status == "sent"
    assert row.location == f"smtp://127.0.0.1:{smtp_server.port}"
    assert desk.get(draft_id).status == "sent"


def test_a_second_send_is_refused_and_delivers_nothing(
    desk: Desk, sessions: sessionmaker[Session], outbox_dir: Path, smtp_server: SMTPServer
) -> None:
    by_folder, by_smtp = make_draft(sessions), make_draft(sessions)
    desk.approve(by_folder)
    desk.approve(by_smtp)
    desk.send(by_folder)
    desk.send(by_smtp, sender=smtp(smtp_server))

    with pytest.raises(StateError, match="is sent; only approved drafts can be sent"):
        desk.send(by_folder)
    with pytest.raises(StateError, match="is sent"):
        desk.send(by_smtp, sender=smtp(smtp_server))

    assert len(eml_files(outbox_dir)) == 1
    assert len(smtp_server.handler.envelopes) == 1
    assert desk.outbox(by_folder)[0].attempts == 1
    assert desk.outbox(by_smtp)[0].attempts == 1
    assert [e.action for e in desk.audit(by_smtp)].count("sent") == 1


def test_smtp_451_queues_a_retry_and_a_second_send_delivers_exactly_once(
    desk: Desk, sessions: sessionmaker[Session], smtp_server: SMTPServer
) -> None:
    draft_id = make_draft(sessions)
    desk.approve(draft_id)
    [queued] = desk.outbox(draft_id)
    smtp_server.handler.data_reply = "451 try later"

    with pytest.raises(SendError, match=r"not sent \(transient\): SMTP 451.*retried automatically"):
        desk.send(draft_id, sender=smtp(smtp_server))

    [row] = desk.outbox(draft_id)
    assert row.status == "queued"  # the sender retries it after the backoff
    assert row.next_attempt_at is not None and row.next_attempt_at > row.created_at
    assert "451" in (row.last_error or "") and "try later" in (row.last_error or "")
    assert row.attempts == 1 and row.sent_at is None
    assert desk.get(draft_id).status == "approved"
    failed = desk.audit(draft_id)[-1]
    assert (failed.action, failed.actor, failed.detail["outcome"]) == (
        "send_failed",
        REVIEWER,
        "transient",
    )
    assert smtp_server.handler.envelopes == []

    smtp_server.handler.data_reply = None  # the server recovers; a person need not wait
    sent = desk.send(draft_id, sender=smtp(smtp_server))

    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 2, None)
    assert sent.message_id == queued.message_id
    [envelope] = smtp_server.handler.envelopes
    assert envelope.content == queued.message
    assert desk.get(draft_id).status == "sent"
    with pytest.raises(StateError):
        desk.send(draft_id, sender=smtp(smtp_server))
    assert len(smtp_server.handler.envelopes) == 1


def test_smtp_550_on_data_is_a_permanent_failure(
    desk: Desk, sessions: sessionmaker[Session], smtp_server: SMTPServer
) -> None:
    draft_id = make_draft(sessions)
    desk.approve(draft_id)
    smtp_server.handler.data_reply = "550 no such user"

    with pytest.raises(SendError, match=r"\(permanent\): SMTP 550"):
        desk.send(draft_id, sender=smtp(smtp_server))

    [row] = desk.outbox(draft_id)
    assert row.status == "failed"
    assert "550" in (row.last_error or "") and "no such user" in (row.last_error or "")
    assert desk.get(draft_id).status == "approved"
    assert desk.audit(draft_id)[-1].detail["outcome"] == "permanent"
    assert smtp_server.handler.envelopes == []


def test_smtp_550_on_the_recipient_is_a_permanent_failure(
    desk: Desk, sessions: sessionmaker[Session], smtp_server: SMTPServer
) -> None:
    """A refused RCPT means the message was certainly not delivered: failed, not unknown."""
    draft_id = make_draft(sessions)
    desk.approve(draft_id)
    smtp_server.handler.rcpt_reply = "550 no such user"

    with pytest.raises(SendError, match=r"\(permanent\)"):
        desk.send(draft_id, sender=smtp(smtp_server))

    [row] = desk.outbox(draft_id)
    assert row.status == "failed"
    assert "550" in (row.last_error or "") and RCPT in (row.last_error or "")
    assert desk.audit(draft_id)[-1].detail["outcome"] == "permanent"
    assert smtp_server.handler.envelopes == []


def test_smtp_451_on_the_recipient_is_transient_and_retryable(
    desk: Desk, sessions: sessionmaker[Session], smtp_server: SMTPServer
) -> None:
    draft_id = make_draft(sessions)
    desk.approve(draft_id)
    smtp_server.handler.rcpt_reply = "451 mailbox busy"

    with pytest.raises(SendError, match=r"\(transient\)"):
        desk.send(draft_id, sender=smtp(smtp_server))
    assert desk.outbox(draft_id)[0].status == "queued"

    smtp_server.handler.rcpt_reply = None
    assert desk.send(draft_id, sender=smtp(smtp_server)).status == "sent"
    assert len(smtp_server.handler.envelopes) == 1


def test_a_partly_refused_message_is_never_resent_to_those_who_got_it(
    desk: Desk, sessions: sessionmaker[Session], smtp_server: SMTPServer
) -> None:
    draft_id = make_draft(sessions, recipient=f"Robert <{RCPT}>, Gone <gone@acmefinancial.example>")
    desk.approve(draft_id)
    smtp_server.handler.rcpt_reply = "550 no such user"
    smtp_server.handler.refuse_only = {"gone@acmefinancial.example"}

    with pytest.raises(SendError, match=r"\(unknown\).*gone@acmefinancial.example"):
        desk.send(draft_id, sender=smtp(smtp_server))

    [envelope] = smtp_server.handler.envelopes
    assert envelope.rcpt_tos == [RCPT]  # Robert has the message
    assert desk.outbox(draft_id)[0].status == "unknown"
    with pytest.raises(StateError, match="may or may not have been delivered"):
        desk.send(draft_id, sender=smtp(smtp_server))
    assert len(smtp_server.handler.envelopes) == 1  # Robert did not get a second copy


def test_a_closed_port_is_a_transient_failure(
    desk: Desk, sessions: sessionmaker[Session], closed_port: int
) -> None:
    draft_id = make_draft(sessions)
    desk.approve(draft_id)

    with pytest.raises(SendError, match=r"\(transient\): cannot connect to 127.0.0.1"):
        desk.send(draft_id, sender=SMTPSender("127.0.0.1", closed_port, timeout_s=2))

    [row] = desk.outbox(draft_id)
    assert row.status == "queued" and row.next_attempt_at is not None
    assert f"cannot connect to 127.0.0.1:{closed_port}" in (row.last_error or "")
    assert desk.get(draft_id).status == "approved"
    assert desk.audit(draft_id)[-1].detail["outcome"] == "transient"


def test_a_recipient_without_an_address_never_reaches_the_sender(
    desk: Desk, sessions: sessionmaker[Session], outbox_dir: Path
) -> None:
    draft_id = make_draft(sessions, recipient="Robert Ainsley")

    with pytest.raises(StateError, match="no email address"):
        desk.approve(draft_id)
    with pytest.raises(StateError, match="only approved drafts can be sent"):
        desk.send(draft_id)
    assert eml_files(outbox_dir) == []


def test_the_folder_sender_is_idempotent_for_the_same_bytes(tmp_path: Path) -> None:
    sender = OutboxFolderSender(tmp_path / "out")
    message = b"Subject: x\r\n\r\nbody\r\n"

    first = sender.deliver(message, message_id="<a.b@c>", to=["x@y.example"], mail_from="f@g")
    second = sender.deliver(message, message_id="<a.b@c>", to=["x@y.example"], mail_from="f@g")

    assert first == second == str(tmp_path / "out" / "a.b_c.eml")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.b_c.eml"]
    assert Path(first).read_bytes() == message


def test_make_sender_follows_the_settings(tmp_path: Path) -> None:
    folder = make_sender(make_settings(tmp_path, outbox_dir=tmp_path / "mail"))
    assert isinstance(folder, OutboxFolderSender)
    assert folder.folder == tmp_path / "mail"

    relay = make_sender(
        make_settings(
            tmp_path,
            sender="smtp",
            smtp_host="mail.example",
            smtp_port=2525,
            smtp_username="u",
            smtp_password="s3cret-value",
        )
    )
    assert isinstance(relay, SMTPSender)
    assert (relay.host, relay.port, relay.username, relay.password) == (
        "mail.example",
        2525,
        "u",
        "s3cret-value",
    )


def test_a_send_refuses_an_approval_made_after_the_sender_looked(
    desk: Desk,
    sessions: sessionmaker[Session],
    outbox_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Edited and approved again by someone else between the permission check and the claim:
    the person who pressed Send saw the older approval, so nothing goes out."""
    draft_id = make_draft(sessions, body=BODY)
    seen = desk.approve(draft_id).version
    checked = permissions.draft_for  # the one actions imported

    def and_meanwhile_someone_edits_and_approves(
        session: Session, checked_id: int, user: Principal, *, for_update: bool = False
    ) -> Draft:
        draft = checked(session, checked_id, user, for_update=for_update)
        desk.edit(draft_id, body=BODY + "\nP.S. a later change\n", by="dana@northwind.example")
        desk.approve(draft_id, by="dana@northwind.example")
        return draft

    monkeypatch.setattr(actions, "draft_for", and_meanwhile_someone_edits_and_approves)
    manager = Principal(3, "dana@northwind.example", "Dana Whitfield", "manager")
    with pytest.raises(ConflictError) as refused:
        actions.send(
            sessions,
            draft_id,
            manager,
            sender=desk.sender,
            mail_from=desk.settings.mail_from,
            expected_version=seen,
        )

    assert eml_files(outbox_dir) == []
    now = desk.get(draft_id)
    assert now.status == "approved" and now.version > seen
    assert refused.value.current is not None
    assert refused.value.current["version"] == now.version
    assert [row.status for row in desk.outbox(draft_id)] == ["cancelled", "queued"]  # unsent
