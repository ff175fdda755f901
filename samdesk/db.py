"""Engine, sessions and migrations for SQLite (default) and PostgreSQL."""

from __future__ import annotations

import fcntl
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, sessionmaker

from samdesk import generation, write_turns

MIGRATIONS = Path(__file__).parent / "migrations"
MIGRATION_LOCK_KEY = 0x5A3D_0001  # pg_advisory_xact_lock key: one migrating process at a time
BUSY_TIMEOUT_MS = "samdesk.busy_timeout_ms"  # in each SQLite connection's info, as set on it


def make_engine(url: str, *, busy_timeout_ms: int = 30_000) -> Engine:
    """An engine with SQLite set up for durability: WAL, full fsync, foreign keys on.

    A write waits ``busy_timeout_ms`` for another writer's lock, then fails ("database is
    locked"), which the desk answers with 503 (approval_ui/db_errors.py).
    """
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, record: Any) -> None:
        record.info[BUSY_TIMEOUT_MS] = busy_timeout_ms  # read by every writer's turn
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision(s) (idempotent).

    Processes starting together (``samdesk serve --workers N``, a watcher, the sender) take
    turns: the first migrates, the others then find the schema current. Without the lock
    two of them create the same table and one fails to start.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with _sqlite_file_lock(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            lock = text("SELECT pg_advisory_xact_lock(:key)")
            connection.execute(lock, {"key": MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")  # parallel feature branches of migrations are fine


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """An exclusive lock on a file beside a SQLite database (its DDL is not transactional)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(engine, expire_on_commit=False)
    generation.install(factory)  # what the desk's caches compare (samdesk/generation.py)
    if engine.dialect.name == "sqlite":
        event.listen(factory, "do_orm_execute", _sqlite_for_update)
    return factory


def _sqlite_for_update(state: ORMExecuteState) -> None:
    """SQLite ignores ``FOR UPDATE``: take the database's write lock before such a read.

    Without it two processes (``--workers 2``, the sender) both read a pending draft, both
    approve it, and the second fails on a unique constraint. With it the second waits for
    the first to commit and reads its result, as a PostgreSQL row lock makes it do.
    """
    if not state.is_select or getattr(state.statement, "_for_update_arg", None) is None:
        return
    raw = state.session.connection().connection.driver_connection
    if raw is not None and not raw.in_transaction:  # in one already: it wrote, so it holds it
        begin_immediate(state.session)


def begin_immediate(session: Session) -> None:
    """Start the session's SQLite transaction as the database's one writer, after taking
    samdesk's turn to write it (:mod:`samdesk.write_turns`: threads and processes queue
    there instead of in SQLite's sleeping busy loop); the turn ends with the transaction."""
    connection = session.connection()
    database = connection.engine.url.database
    if database and database != ":memory:":
        timeout_ms = connection.info.get(BUSY_TIMEOUT_MS, 0)
        writer = write_turns.turn(database)
        if not writer.take(timeout_ms / 1000):
            busy = sqlite3.OperationalError("database is locked (by another samdesk writer)")
            raise OperationalError("BEGIN IMMEDIATE", None, busy)
        session.info[_WRITER_TURN] = writer
    # Through SQLAlchemy, so a lock timeout is its OperationalError like any other.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


_WRITER_TURN = "samdesk.db.writer_turn"  # held by a session, in Session.info


@event.listens_for(Session, "after_transaction_end")
def _end_writer_turn(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        writer = session.info.pop(_WRITER_TURN, None)
        if writer is not None:
            writer.give_back()


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed together or not at all."""
    with factory() as session, session.begin():
        yield session
