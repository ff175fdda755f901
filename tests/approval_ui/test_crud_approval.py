"""What approval refuses, in the storage layer: unconfirmed grounding flags, a stale
version, a second approval, a recipient or header it could not send."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from agent.grounding import Finding
from samdesk.errors import ConflictError, StateError
from tests.approval_ui.conftest import Desk
from tests.factories import make_draft

FLAG = Finding(
    code="unsupported_number", message="'42%' appears in no cited source", excerpt="grew 42%"
)


def test_error_flags_block_approval_until_confirmed(
    desk: Desk, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions, findings=[FLAG])

    with pytest.raises(StateError, match="1 unresolved grounding flag"):
        desk.approve(draft_id)
    assert desk.get(draft_id).status == "pending"
    assert desk.outbox(draft_id) == []

    approved = desk.approve(draft_id, confirm_flags=True)
    assert approved.status == "approved"
    event = desk.audit(draft_id)[-1]
    assert event.action == "approved"
    assert event.detail == {"revision": 1, "confirmed_flags": [FLAG.message]}


def test_warnings_do_not_block_approval_and_are_not_recorded_as_confirmed(
    desk: Desk, sessions: sessionmaker[Session]
) -> None:
    warning = Finding(code="stale_source", message="source is 200 days old", severity="warning")
    draft_id = make_draft(sessions, findings=[warning])

    assert desk.approve(draft_id).status == "approved"
    assert desk.audit(draft_id)[-1].detail == {"revision": 1}


@pytest.mark.parametrize("action", ["edit", "approve", "reject"])
def test_a_stale_expected_version_is_a_conflict(
    desk: Desk, sessions: sessionmaker[Session], action: str
) -> None:
    draft_id = make_draft(sessions)
    opened = desk.get(draft_id).version
    desk.edit(draft_id, by="bob@northwind.example", body="Bob's edit, saved first by Bob.")

    with pytest.raises(ConflictError, match=f"your version {opened}, now {opened + 1}"):
        if action == "edit":
            desk.edit(
                draft_id, body="Alice's edit, based on the old text.", expected_version=opened
            )
        elif action == "approve":
            desk.approve(draft_id, expected_version=opened)
        else:
            desk.reject(draft_id, "nope", expected_version=opened)

    after = desk.get(draft_id)
    assert after.status == "pending"
    assert after.current.body == "Bob's edit, saved first by Bob."
    assert len(after.revisions) == 2
    # the current version is accepted
    assert desk.approve(draft_id, expected_version=after.version).status == "approved"


def test_approving_twice_raises(desk: Desk, sessions: sessionmaker[Session]) -> None:
    draft_id = make_draft(sessions)
    desk.approve(draft_id)

    with pytest.raises(StateError, match="is approved; only pending drafts can be approved"):
        desk.approve(draft_id)

    assert len(desk.outbox(draft_id)) == 1
    assert [e.action for e in desk.audit(draft_id)].count("approved") == 1


def test_a_recipient_without_an_email_address_blocks_approval(
    desk: Desk, sessions: sessionmaker[Session]
) -> None:
    draft_id = make_draft(sessions, recipient="Robert Ainsley")

    with pytest.raises(StateError, match="has no email address; edit the recipient first"):
        desk.approve(draft_id)
    assert desk.get(draft_id).status == "pending"
    assert desk.outbox(draft_id) == []

    desk.edit(draft_id, recipient="Robert Ainsley <robert.ainsley@acmefinancial.example>")
    assert desk.approve(draft_id).status == "approved"


@pytest.mark.parametrize("field", ["subject", "recipient"])
def test_a_header_with_a_line_break_blocks_approval_cleanly(
    desk: Desk, sessions: sessionmaker[Session], field: str
) -> None:
    injected = {
        "subject": "Hello\r\nBcc: attacker@evil.example",
        "recipient": "robert@acme.example\r\nBcc: attacker@evil.example",
    }[field]
    draft_id = make_draft(sessions)
    desk.edit(draft_id, **{field: injected})

    with pytest.raises(StateError, match="line break"):
        desk.approve(draft_id)

    assert desk.get(draft_id).status == "pending"
    assert desk.outbox(draft_id) == []
