"""Real SQLite faults for tests: a full disk, a full database, another process's lock.

- ``small_disk``: a real tmpfs of a few MB (needs root); filling it makes SQLite's writes
  fail with ENOSPC -> SQLITE_FULL, as on a full disk.
- ``page_limit``: ``PRAGMA max_page_count`` on every pooled connection, so SQLite itself
  answers SQLITE_FULL once the file would grow (works anywhere).
- ``held_lock``: another process holds ``BEGIN EXCLUSIVE`` until released.
- ``snapshot``: counts and a hash of the review queue's tables, to prove nothing changed.
"""

from __future__ import annotations

import errno
import hashlib
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.pool import Pool

from samdesk.config import Settings
from tests.conftest import make_settings

QUEUE_TABLES = ("drafts", "revisions", "outbox", "audit_events")


def db_file(data_dir: Path) -> Path:
    return data_dir / "samdesk.db"


def sqlite_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings on a SQLite file in ``data_dir``, even on a PostgreSQL test run."""
    url = f"sqlite:///{db_file(data_dir).resolve()}"
    return make_settings(data_dir, database_url=url, **overrides)


def snapshot(path: Path, tables: tuple[str, ...] = QUEUE_TABLES) -> dict[str, Any]:
    """Row counts and one hash over every row of ``tables``, read by a separate connection."""
    digest = hashlib.sha256()
    counts: dict[str, int] = {}
    with sqlite3.connect(path) as conn:
        for table in tables:
            rows = conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()  # noqa: S608
            counts[table] = len(rows)
            digest.update(repr(rows).encode())
    return {"counts": counts, "sha256": digest.hexdigest()}


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def checkpoint(path: Path) -> None:
    """Fold the WAL into the database and empty it, so the next write needs new disk space."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 16 MB tmpfs, unmounted afterwards; skipped where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); page_limit covers it")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk is full (ENOSPC); removing it lifts the fault."""
    filler = disk / "filler"
    block = b"\0" * 65536
    with filler.open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(block)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
        try:  # the last partial block's worth, byte-exact
            while True:
                handle.write(b"\0" * 512)
        except OSError:
            pass
    return filler


class PageLimit:
    """While on, every connection taken from any pool caps its database at ``pages``."""

    def __init__(self, pages: int):
        self.pages = pages
        self.on = True

    def lift(self) -> None:
        self.on = False

    def apply(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        limit = self.pages if self.on else 1_073_741_823  # SQLite's default maximum
        dbapi_connection.execute(f"PRAGMA max_page_count={limit}")


@contextmanager
def page_limit(path: Path) -> Iterator[PageLimit]:
    """Cap the database at its current size (compacted first) until ``lift()``.

    Lift it inside the block: pooled connections keep their cap until their next checkout.
    """
    with sqlite3.connect(path) as conn:
        conn.execute("VACUUM")  # no free pages left to reuse: growth needs new ones
        pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
    limit = PageLimit(pages)
    event.listen(Pool, "checkout", limit.apply)
    try:
        yield limit
        assert not limit.on, "lift() the page limit inside the block"
    finally:
        event.remove(Pool, "checkout", limit.apply)


LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


@contextmanager
def held_lock(path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holds the database's write lock until the block ends."""
    proc = subprocess.Popen(
        [sys.executable, "-c", LOCKER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        yield proc
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=10)
