"""The draft state machine at the storage layer: no HTTP, a real SQLite file, a real outbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from approval_ui import crud
from approval_ui.draft_history import MODEL_AUTHOR, append_revision
from approval_ui.messages import content_hash
from samdesk.db import transaction
from samdesk.errors import NotFoundError, StateError
from tests.approval_ui.conftest import REVIEWER, Desk, eml_files
from tests.factories import make_draft


def test_new_draft_is_pending_with_a_model_revision(
    sessions: sessionmaker[Session], desk: Desk
) -> None:
    draft_id = make_draft(
        sessions,
        subject="Hello",
        body="Body text [sig-acme-901].",
        recipient="Robert <robert@acme.example>",
    )

    draft = desk.get(draft_id)
    assert draft.status == "pending"
    assert draft.version == 2  # created, then revision 1 appended
    assert [r.number for r in draft.revisions] == [1]
    first = draft.current
    assert first.author == MODEL_AUTHOR
    assert first.citations == ["sig-acme-901"]
    assert first.content_hash == content_hash(
        "Hello", "Body text [sig-acme-901].", "Robert <robert@acme.example>"
    )
    assert draft.approved_revision is None and draft.approved_hash is None
    assert desk.outbox(draft_id) == []
    [created] = desk.audit(draft_id)
    assert (created.action, created.actor, created.revision_hash) == (
        "created",
        MODEL_AUTHOR,
        first.content_hash,
    )


def test_get_draft_of_a_missing_id_raises_not_found(sessions: sessionmaker[Session]) -> None:
    with sessions() as session, pytest.raises(NotFoundError, match="draft 999 does not exist"):
        crud.get_draft(session, 999)


def test_pending_approved_sent(
    desk: Desk, sessions: sessionmaker[Session], outbox_dir: Path
) -> None:
    draft_id = make_draft(sessions)

    approved = desk.approve(draft_id, by="lead@northwind.example")
    assert approved.status == "approved"
    assert approved.approved_revision == 1
    assert approved.approved_hash == approved.current.content_hash
    assert approved.approved_by == "lead@northwind.example"
    assert approved.approved_at is not None
    [row] = desk.outbox(draft_id)
    assert (row.status, row.revision_number, row.content_hash, row.attempts) == (
        "queued",
        1,
        approved.approved_hash,
        0,
    )

    sent_row = desk.send(draft_id)
    assert sent_row.status == "sent"
    assert sent_row.attempts == 1
    assert sent_row.sent_at is not None
    assert desk.get(draft_id).status == "sent"
    [eml] = eml_files(outbox_dir)
    assert sent_row.location == str(eml)
    assert eml.read_bytes() == row.message


def test_a_pending_draft_cannot_be_sent(
    desk: Desk, sessions: sessionmaker[Session], outbox_dir: Path
) -> None:
    draft_id = make_draft(sessions)

    with pytest.raises(StateError, match="only approved drafts can be sent"):
        desk.send(draft_id)

    assert desk.get(draft_id).status == "pending"
    assert desk.outbox(draft_id) == []
    assert eml_files(outbox_dir) == []
    assert "sent" not in [e.action for e in desk.audit(draft_id)]


def test_editing_an_approved_draft_withdraws_the_approval(
    desk: Desk, sessions: sessionmaker[Session], outbox_dir: Path
) -> None:
    draft_id = make_draft(sessions)
    desk.approve(draft_id)

    edited = desk.edit(draft_id, body="A corrected body that now says something else.")

    assert edited.status == "pending"
    assert (
        edited.approved_revision,
        edited.approved_hash,
        edited.approved_by,
        edited.approved_at,
    ) == (None, None, None, None)
    [old_row] = desk.outbox(draft_id)
    assert old_row.status == "cancelled"
    with pytest.raises(StateError, match="only approved drafts can be sent"):
        desk.send(draft_id)
    assert eml_files(outbox_dir) == []
    assert desk.outbox(draft_id)[0].status == "cancelled"  # the refused send claimed nothing

    desk.approve(draft_id)
    row = desk.send(draft_id)
    assert row.revision_number == 2
    [eml] = eml_files(outbox_dir)
    assert b"A corrected body that now says something else." in eml.read_bytes()
    assert [r.status for r in desk.outbox(draft_id)] == ["cancelled", "sent"]


def test_edit_appends_a_revision_and_keeps_the_old_ones(
    desk: Desk, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions, subject="Original subject")
    before = desk.get(draft_id)
    original = before.current

    after = desk.edit(
        draft_id,
        by="alice@northwind.example",
        subject="Sharper subject",
        note="tightened the subject",
    )

    assert [r.number for r in after.revisions] == [1, 2]
    kept, new = after.revisions
    assert (kept.subject, kept.body, kept.recipient, kept.author, kept.content_hash) == (
        original.subject,
        original.body,
        original.recipient,
        MODEL_AUTHOR,
        original.content_hash,
    )
    assert new.author == "alice@northwind.example"
    assert new.note == "tightened the subject"
    assert (new.subject, new.body, new.recipient) == (
        "Sharper subject",
        original.body,
        original.recipient,
    )
    assert new.content_hash == content_hash("Sharper subject", original.body, original.recipient)
    assert new.content_hash != original.content_hash
    assert new.citations == original.citations
    assert after.version == before.version + 1
    edited = desk.audit(draft_id)[-1]
    assert (edited.action, edited.actor, edited.detail, edited.revision_hash) == (
        "edited",
        "alice@northwind.example",
        {"revision": 2},
        new.content_hash,
    )


def test_edit_with_unchanged_content_creates_no_revision(
    desk: Desk, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions)
    draft = desk.approve(draft_id)
    current = draft.current

    same = desk.edit(
        draft_id, subject=current.subject, body=current.body, recipient=current.recipient
    )

    assert [r.number for r in same.revisions] == [1]
    assert same.version == draft.version
    assert same.status == "approved"  # a no-op save must not withdraw an approval
    assert [r.status for r in desk.outbox(draft_id)] == ["queued"]
    assert [e.action for e in desk.audit(draft_id)] == ["created", "approved"]


@pytest.mark.parametrize("action", ["approve", "edit", "reject", "send"])
def test_a_rejected_draft_is_final(
    desk: Desk, sessions: sessionmaker[Session], outbox_dir: Path, action: str
) -> None:
    draft_id = make_draft(sessions)
    rejected = desk.reject(draft_id, "  wrong contact  ")
    assert rejected.status == "rejected"
    assert rejected.reject_reason == "wrong contact"

    with pytest.raises(StateError, match="rejected"):
        if action == "approve":
            desk.approve(draft_id)
        elif action == "edit":
            desk.edit(draft_id, body="Trying to revive a rejected draft with new text.")
        elif action == "reject":
            desk.reject(draft_id, "again")
        else:
            desk.send(draft_id)

    after = desk.get(draft_id)
    assert after.status == "rejected"
    assert len(after.revisions) == 1
    assert desk.outbox(draft_id) == []
    assert eml_files(outbox_dir) == []


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_a_rejection_needs_a_reason(
    desk: Desk, sessions: sessionmaker[Session], reason: str
) -> None:
    draft_id = make_draft(sessions)

    with pytest.raises(StateError, match="needs a reason"):
        desk.reject(draft_id, reason)

    assert desk.get(draft_id).status == "pending"
    assert "rejected" not in [e.action for e in desk.audit(draft_id)]


def test_rejecting_an_approved_draft_cancels_its_queued_message(
    desk: Desk, sessions: sessionmaker[Session], outbox_dir: Path
) -> None:
    draft_id = make_draft(sessions)
    desk.approve(draft_id)

    desk.reject(draft_id, "the customer already replied")

    assert [r.status for r in desk.outbox(draft_id)] == ["cancelled"]
    with pytest.raises(StateError):
        desk.send(draft_id)
    assert eml_files(outbox_dir) == []
    actions = [(e.action, e.actor) for e in desk.audit(draft_id)]
    assert actions[-2:] == [("unapproved", REVIEWER), ("rejected", REVIEWER)]
    assert desk.audit(draft_id)[-1].detail == {"reason": "the customer already replied"}


def test_a_failed_draft_cannot_be_approved_edited_or_rejected(
    desk: Desk, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions, failed="reply was not valid JSON")
    draft = desk.get(draft_id)
    assert draft.status == "failed"
    assert draft.failure_reason == "reply was not valid JSON"
    assert draft.revisions == []
    [event] = desk.audit(draft_id)
    assert (event.action, event.detail) == ("failed", {"reason": "reply was not valid JSON"})

    with pytest.raises(StateError, match="is failed; only pending drafts can be approved"):
        desk.approve(draft_id, confirm_flags=True)
    with pytest.raises(StateError, match="is failed"):
        desk.edit(draft_id, body="Writing a body by hand for a failed draft.")
    with pytest.raises(StateError, match="is failed"):
        desk.reject(draft_id, "useless")
    assert desk.get(draft_id).status == "failed"
    assert desk.outbox(draft_id) == []


def test_the_audit_trail_records_every_step(desk: Desk, sessions: sessionmaker[Session]) -> None:
    draft_id = make_draft(sessions)
    r1 = desk.get(draft_id).current.content_hash
    desk.approve(draft_id, by="lead@northwind.example")
    desk.edit(draft_id, by="alice@northwind.example", subject="A better subject line")
    r2 = desk.get(draft_id).current.content_hash
    desk.approve(draft_id)
    desk.send(draft_id)

    events = [(e.action, e.actor, e.revision_hash) for e in desk.audit(draft_id)]
    assert events == [
        ("created", MODEL_AUTHOR, r1),
        ("approved", "lead@northwind.example", r1),
        ("unapproved", "alice@northwind.example", r2),
        ("edited", "alice@northwind.example", r2),
        ("approved", REVIEWER, r2),
        ("sent", REVIEWER, r2),
    ]
    sent = desk.audit(draft_id)[-1]
    assert sent.detail["message_id"] == desk.outbox(draft_id)[-1].message_id
    assert all(e.at is not None and e.at.tzinfo is not None for e in desk.audit(draft_id))


def test_queued_message_refuses_a_row_that_no_longer_matches_the_approval(
    desk: Desk, sessions: sessionmaker[Session], outbox_dir: Path
) -> None:
    """A revision slipped in behind the approval (not via edit_draft) is never sent."""
    draft_id = make_draft(sessions)
    desk.approve(draft_id)
    with transaction(sessions) as session:
        draft = crud.get_draft(session, draft_id)
        append_revision(
            session,
            draft,
            subject="Sneaky",
            body="Not what was approved.",
            recipient=draft.current.recipient,
            citations=[],
            author="x",
        )

    with pytest.raises(StateError, match="does not match the approval"):
        desk.send(draft_id)
    assert eml_files(outbox_dir) == []
    assert desk.outbox(draft_id)[0].status == "queued"


def test_an_edit_from_a_browser_textarea_keeps_lf_line_ends(
    desk: Desk, sessions: sessionmaker[Session]
) -> None:
    """Browsers post textareas with CRLF; an unchanged body must not become a new revision."""
    draft_id = make_draft(sessions, body="Line one.\n\nLine two [sig-acme-901].")
    unchanged = desk.edit(draft_id, body="Line one.\r\n\r\nLine two [sig-acme-901].")
    assert len(unchanged.revisions) == 1
    edited = desk.edit(draft_id, body="Line one.\r\n\r\nLine 2 [sig-acme-901].")
    assert edited.current.body == "Line one.\n\nLine 2 [sig-acme-901]."
