"""Say clearly that the database refused: full, locked, out of reach; and that nothing was saved.

:func:`unavailable` maps a SQLAlchemy error to a :class:`DatabaseUnavailableError` (HTTP 503),
or to ``None`` when the error is a bug rather than an outage. The desk's exception handler
and the CLI both use it, so the words are the same everywhere. "Nothing was saved" holds
because every action runs in one all-or-nothing transaction (``samdesk.db.transaction``).
"""

from __future__ import annotations

import logging
import sqlite3

from sqlalchemy.exc import DBAPIError, OperationalError

from samdesk.errors import DatabaseUnavailableError

log = logging.getLogger(__name__)

FULL = (
    "the database is full (its disk, or its size limit): nothing was saved; "
    "free some space, then retry"
)
LOCKED = (
    "the database is locked by another process that is writing: nothing was saved; "
    "retry in a moment"
)
UNREACHABLE = (
    "the database is out of reach (restarting, or down): nothing was saved; retry in a moment"
)
# PostgreSQL SQLSTATEs of a server going away: admin/crash shutdown, cannot connect now.
SERVER_GOING = ("57P01", "57P02", "57P03")


# What to catch: SQLAlchemy's wrapper, and SQLite's own error where SQLAlchemy is bypassed
# (samdesk.db takes SQLite's write lock with a raw ``BEGIN IMMEDIATE``).
DATABASE_ERRORS: tuple[type[Exception], ...] = (DBAPIError, sqlite3.Error)


def unavailable(exc: BaseException) -> DatabaseUnavailableError | None:
    """The outage ``exc`` reports, as an error to show the user; ``None`` if it is no outage."""
    if isinstance(exc, DBAPIError):
        orig: BaseException | None = exc.orig
    elif isinstance(exc, sqlite3.Error):
        orig = exc
    else:
        return None
    name = str(getattr(orig, "sqlite_errorname", "") or "")
    text = str(orig).lower()
    if name.startswith("SQLITE_FULL") or "database or disk is full" in text:
        message = FULL
    elif isinstance(exc, DBAPIError) and _unreachable(exc):
        message = UNREACHABLE
    elif name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in text:
        message = LOCKED
    else:
        return None
    log.warning("database refused a write (%s): %s", name or type(orig).__name__, orig)
    return DatabaseUnavailableError(message)


def _unreachable(exc: DBAPIError) -> bool:
    """A dropped connection, a refused one, or a PostgreSQL server shutting down/starting up.

    Only PostgreSQL's errors carry ``sqlstate``: a SQLite OperationalError (no such table...)
    is a bug, not an outage.
    """
    if exc.connection_invalidated:
        return True
    if not isinstance(exc, OperationalError) or not hasattr(exc.orig, "sqlstate"):
        return False
    state = str(getattr(exc.orig, "sqlstate", "") or "")
    return not state or state.startswith("08") or state in SERVER_GOING
