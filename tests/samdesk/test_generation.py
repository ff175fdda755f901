"""The desk generation moves once per committed change of what the desk shows, and only then;
the identities generation only with users, sessions and tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from approval_ui import crud, users
from samdesk import generation
from samdesk.db import transaction
from samdesk.generation import Generations
from samdesk.models import Draft, SchedulerLease, utcnow
from tests.factories import draft_result, ensure_account, make_draft


def both_at(sessions: sessionmaker[Session]) -> Generations:
    numbers = generation.read(sessions.kw["bind"])
    assert numbers is not None
    return numbers


def now_at(sessions: sessionmaker[Session]) -> int:
    return both_at(sessions).desk


def test_a_transaction_that_writes_moves_it_once(sessions: sessionmaker[Session]) -> None:
    before = now_at(sessions)
    assert before is not None
    with transaction(sessions) as session:
        result = draft_result()
        ensure_account(session, result.account_id)
        session.flush()
        first = crud.create_draft(session, result=result)
        session.flush()
        crud.create_draft(session, result=draft_result())  # several writes and flushes
        session.flush()
        first.status = "rejected"
    assert now_at(sessions) == before + 1


def test_reads_and_rollbacks_leave_it(sessions: sessionmaker[Session]) -> None:
    draft_id = make_draft(sessions)
    before = now_at(sessions)
    with transaction(sessions) as session:
        session.get_one(Draft, draft_id)
    with pytest.raises(RuntimeError), transaction(sessions) as session:
        session.get_one(Draft, draft_id).status = "rejected"
        session.flush()  # written, then rolled back
        raise RuntimeError("the action failed")
    assert now_at(sessions) == before
    with sessions() as session:
        assert session.get_one(Draft, draft_id).status == "pending"
    with transaction(sessions) as session:  # the rolled-back flag did not leak into this one
        session.get_one(Draft, draft_id)
    assert now_at(sessions) == before


def test_bulk_statements_move_it(sessions: sessionmaker[Session]) -> None:
    draft_id = make_draft(sessions)
    before = now_at(sessions)
    assert before is not None
    with transaction(sessions) as session:
        session.execute(update(Draft).where(Draft.id == draft_id).values(status="rejected"))
    assert now_at(sessions) == before + 1


def test_bookkeeping_the_desk_does_not_show_leaves_it(sessions: sessionmaker[Session]) -> None:
    """The watcher renews its lease every few seconds: that must not empty every cache."""
    before = now_at(sessions)
    with transaction(sessions) as session:
        session.add(SchedulerLease(name="watch", holder="a", expires_at=utcnow() + timedelta(1)))
    assert now_at(sessions) == before


def test_a_change_is_seen_through_another_engine(sessions: sessionmaker[Session]) -> None:
    """Another process (a second worker, the CLI) reads the same number from the database."""
    from samdesk.db import make_engine, session_factory

    bind = sessions.kw["bind"]
    other = session_factory(make_engine(bind.url.render_as_string(hide_password=False)))
    before = now_at(other)
    assert before is not None
    make_draft(sessions)
    assert now_at(other) == before + 1
    other.kw["bind"].dispose()


def test_a_draft_change_leaves_the_identities_generation(sessions: sessionmaker[Session]) -> None:
    """Approvals and new drafts must not make every reviewer's sign-in be looked up again."""
    before = both_at(sessions)
    draft_id = make_draft(sessions)
    with transaction(sessions) as session:
        session.get_one(Draft, draft_id).status = "rejected"
    after = both_at(sessions)
    assert (after.desk, after.identities) == (before.desk + 2, before.identities)


def test_a_user_change_moves_both_once(sessions: sessionmaker[Session]) -> None:
    before = both_at(sessions)
    with transaction(sessions) as session:
        users.create_user(
            session,
            email="dana.ruiz@northwind.example",
            name="Dana Ruiz",
            role="sam",
            password="",
            password_hash="scrypt$not-checked-here",
        )
        result = draft_result()  # and a desk change in the same transaction
        ensure_account(session, result.account_id)
        session.flush()
        crud.create_draft(session, result=result)
    after = both_at(sessions)
    assert after == Generations(before.desk + 1, before.identities + 1)
