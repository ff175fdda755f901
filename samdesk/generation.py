"""The desk's change counters: numbers that move whenever what the desk shows changes.

The desk caches what is costly to build on every request (the rendered queue page, who an
API token or a session cookie belongs to: approval_ui/desk_cache.py). An entry is good while
its counter is the one it was built at, which one indexed read tells in any process
(``serve --workers``, the sender, the watcher and the CLI write through the same sessions).

Two counters, because the two kinds of entry go stale at very different rates: ``desk``
moves with every approval, edit or new draft; ``identities`` only when a user, a session or
an API token changes. Keyed on ``desk``, every approval made the next request of every
reviewer look up who they are again (two queries and a trip through the thread pool).

The numbers move in the same transaction as the change, last before the commit: a reader
that reads them first and then builds a page sees data at least as new as the numbers, so
an entry can be newer than its number but never older. Taking the row locks last (after the
final flush) keeps writers from waiting for each other's rows while holding them; the price
is that committing writers take turns on the desk's row (about 1 ms each on the development
disk).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import event, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, sessionmaker

from samdesk.models import DeskGeneration

# What the cached pages and principals are built from. Bookkeeping that changes often and
# shows nowhere cached (the watcher's lease, intake and trigger rows) leaves the number be.
WATCHED = frozenset(
    {
        "accounts",
        "signals",
        "drafts",
        "revisions",
        "assignments",
        "outbox",
        "audit_events",
        "users",
        "web_sessions",
        "api_tokens",
    }
)
# Who a credential belongs to, and in what role, is read from these alone.
IDENTITY_TABLES = frozenset({"users", "web_sessions", "api_tokens"})
DESK_ROW, IDENTITIES_ROW = 1, 2
_CHANGED = "samdesk.generation.changed"  # the rows to move, a set in Session.info


class Generations(NamedTuple):
    desk: int
    identities: int


def install(factory: sessionmaker[Session]) -> None:
    """Make every transaction of ``factory``'s sessions that changes a watched table move
    the number."""
    event.listen(factory, "after_flush", _note_flush)
    event.listen(factory, "do_orm_execute", _note_statement)
    event.listen(factory, "before_commit", _bump)
    event.listen(factory, "after_transaction_end", _forget)


def read(engine: Engine) -> Generations | None:
    """The numbers now; None where a row is missing (then nothing may be cached).

    Read on a pooled driver connection of its own: this runs on every desk request, and
    SQLAlchemy's Core around the same read costs three to four times the read itself.
    """
    dbapi_error = engine.dialect.loaded_dbapi.Error
    try:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(CURRENT_SQL)
            rows = cursor.fetchall()
            cursor.close()
        finally:
            connection.close()  # back to the pool, which rolls the read back
    except dbapi_error as exc:  # as a query through SQLAlchemy would raise it (503, not 500)
        raise DBAPIError.instance(CURRENT_SQL, None, exc, dbapi_error) from exc
    return parse(rows)


def parse(rows: Sequence[tuple[int, int]]) -> Generations | None:
    """:data:`CURRENT_SQL`'s rows as numbers (a reader of its own, on PostgreSQL, shares it)."""
    values = dict(rows)
    if DESK_ROW not in values or IDENTITIES_ROW not in values:
        return None
    return Generations(int(values[DESK_ROW]), int(values[IDENTITIES_ROW]))


CURRENT_SQL = f"SELECT id, value FROM desk_generation WHERE id IN ({DESK_ROW}, {IDENTITIES_ROW})"
_BUMPS = {
    row: update(DeskGeneration)
    .where(DeskGeneration.id == row)
    .values(value=DeskGeneration.value + 1)
    .execution_options(synchronize_session=False)
    for row in (DESK_ROW, IDENTITIES_ROW)
}


def _rows_moved_by(table: str | None) -> set[int]:
    if table in IDENTITY_TABLES:
        return {DESK_ROW, IDENTITIES_ROW}
    return {DESK_ROW} if table in WATCHED else set()


def _note(session: Session, rows: set[int]) -> None:
    if rows:
        session.info.setdefault(_CHANGED, set()).update(rows)


def _note_flush(session: Session, _context: Any) -> None:
    """After a flush, ``new``, ``dirty`` and ``deleted`` still hold what it wrote."""
    written = (*session.new, *session.dirty, *session.deleted)
    tables = {getattr(obj, "__tablename__", None) for obj in written}
    _note(session, set().union(*map(_rows_moved_by, tables)))


def _note_statement(state: ORMExecuteState) -> None:
    """``session.execute(update(Draft)...)`` and the like bypass the flush."""
    if state.is_update or state.is_delete or state.is_insert:
        table = getattr(state.statement, "table", None)
        _note(state.session, _rows_moved_by(getattr(table, "name", None)))


def _bump(session: Session) -> None:
    """Rows in id order, so two committing writers never wait for each other crosswise."""
    session.flush()  # the commit's own flush would otherwise come after the row lock
    for row in sorted(session.info.pop(_CHANGED, ())):
        session.execute(_BUMPS[row])


def _forget(session: Session, transaction: SessionTransaction) -> None:
    """A rolled-back transaction changed nothing; nor does the next one, yet."""
    if transaction.parent is None:
        session.info.pop(_CHANGED, None)
