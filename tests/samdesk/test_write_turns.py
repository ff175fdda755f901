"""SQLite writers take turns on samdesk's locks (threads of a process, then a file lock every
process shares), held for the whole transaction and always given back (commit, rollback, a
failed statement, a killed process), so none waits in SQLite's sleeping busy loop and none
is left holding it."""

from __future__ import annotations

import fcntl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from samdesk import write_turns
from samdesk.db import begin_immediate, make_engine, migrate, session_factory, transaction
from samdesk.models import Draft
from tests.factories import make_draft

pytestmark = pytest.mark.sqlite_only("samdesk's turns in front of SQLite's write lock")


@pytest.fixture
def quick(tmp_path: Path) -> sessionmaker[Session]:
    """Sessions whose writers give up after 200 ms (SQLite's busy timeout, and the lock's)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'quick.db'}", busy_timeout_ms=200)
    migrate(engine)
    return session_factory(engine)


def held(sessions: sessionmaker[Session]) -> bool:
    return write_turns.turn(str(sessions.kw["bind"].url.database)).taken


def test_a_second_writer_waits_for_the_first_to_commit(quick: sessionmaker[Session]) -> None:
    draft_id = make_draft(quick)
    order: list[str] = []
    first_holds = threading.Event()
    release = threading.Event()

    def first() -> None:
        with transaction(quick) as session:
            draft = session.get(Draft, draft_id, with_for_update=True)  # takes the lock
            assert draft is not None
            first_holds.set()
            release.wait(5)
            draft.status = "rejected"
            order.append("first commits")

    def second() -> None:
        first_holds.wait(5)
        with transaction(quick) as session:
            draft = session.get(Draft, draft_id, with_for_update=True)  # waits for first
            assert draft is not None
            order.append(f"second reads {draft.status}")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    first_holds.wait(5)
    assert held(quick)  # by the first writer, for its whole transaction
    release.set()
    for thread in threads:
        thread.join(10)
    assert order == ["first commits", "second reads rejected"]
    assert not held(quick)


def test_the_lock_is_given_back_however_the_transaction_ends(
    quick: sessionmaker[Session],
) -> None:
    draft_id = make_draft(quick)
    with pytest.raises(RuntimeError), transaction(quick) as session:
        begin_immediate(session)
        raise RuntimeError("the action failed: rolled back")
    assert not held(quick)
    with quick() as session:  # never committed nor rolled back explicitly: closed
        begin_immediate(session)
        assert held(quick)
    assert not held(quick)
    with transaction(quick) as session:  # so the next writer gets it at once
        session.get_one(Draft, draft_id, with_for_update=True).status = "rejected"
    with quick() as session:
        assert session.get_one(Draft, draft_id).status == "rejected"


def test_a_writer_that_cannot_get_it_in_time_gets_database_is_locked(
    quick: sessionmaker[Session],
) -> None:
    holding = threading.Event()
    done = threading.Event()

    def hold() -> None:
        with transaction(quick) as session:
            begin_immediate(session)
            holding.set()
            done.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(5)
    try:
        with pytest.raises(OperationalError, match="database is locked"):
            with transaction(quick) as session:
                begin_immediate(session)
    finally:
        done.set()
        holder.join(10)


HOLDER = """
import sys
from samdesk.db import begin_immediate, make_engine, session_factory, transaction
with transaction(session_factory(make_engine(sys.argv[1]))) as session:
    begin_immediate(session)
    print("holding", flush=True)
    sys.stdin.readline()
print("committed", flush=True)
"""


@contextmanager
def writer_in_another_process(sessions: sessionmaker[Session]) -> Iterator[subprocess.Popen[str]]:
    """A process in the middle of a write transaction, until a line is sent to it."""
    url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "holding"
        yield process
    finally:
        process.kill()
        process.wait(10)


def file_lock_free(sessions: sessionmaker[Session]) -> bool:
    turn = write_turns.turn(str(sessions.kw["bind"].url.database))
    with open(turn.lock_path, "ab") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
        return True


def test_a_writer_in_another_process_holds_the_turn_until_it_commits(
    quick: sessionmaker[Session],
) -> None:
    draft_id = make_draft(quick)
    with writer_in_another_process(quick) as other:
        assert not file_lock_free(quick)
        with pytest.raises(OperationalError, match="by another samdesk writer"):
            with transaction(quick) as session:  # waits on the turn, not in SQLite's loop
                begin_immediate(session)
        assert not held(quick)  # the threads' lock was given back with the failed wait

        assert other.stdin is not None and other.stdout is not None
        other.stdin.write("commit\n")
        other.stdin.flush()
        assert other.stdout.readline().strip() == "committed"
        assert file_lock_free(quick)
        with transaction(quick) as session:
            session.get_one(Draft, draft_id, with_for_update=True).status = "rejected"
    with quick() as session:
        assert session.get_one(Draft, draft_id).status == "rejected"


def test_a_killed_writer_gives_its_turn_back(quick: sessionmaker[Session]) -> None:
    draft_id = make_draft(quick)
    with writer_in_another_process(quick) as other:
        other.kill()
        other.wait(10)
        with transaction(quick) as session:  # at once: its file lock died with it
            session.get_one(Draft, draft_id, with_for_update=True).status = "rejected"
    assert file_lock_free(quick)


def test_every_name_of_one_file_is_one_turn(tmp_path: Path) -> None:
    """The remembered names must never give one file two turns (two writers at once)."""
    (tmp_path / "sub").mkdir()
    database = tmp_path / "samdesk.db"
    names = [str(database), str(database), str(tmp_path / "sub" / ".." / "samdesk.db")]
    turns = {id(write_turns.turn(name)) for name in names}
    assert len(turns) == 1
    assert write_turns.turn(str(tmp_path / "other.db")) is not write_turns.turn(names[0])
