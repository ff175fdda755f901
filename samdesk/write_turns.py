"""SQLite writers take turns on samdesk's own locks before they ask SQLite for its write lock.

A writer that finds a SQLite database locked polls with sleeps of up to 100 ms (the default
busy handler), and whoever polls at the right instant wins, not whoever came first: under
load some approvals waited over a second. So a writer first queues on a lock of its process
(threads wait in the OS and are woken in turn), then takes an exclusive ``flock`` on a file
beside the database, which every process using it shares (the desk's workers, the sender,
the watcher), tried every millisecond. Holding both, it meets no other samdesk writer at
SQLite's lock. Each wait is bounded by SQLite's own busy timeout and ends the same way.

The lock file is opened per turn and closed when the turn ends, so no descriptor is held
between writes, and a process that dies mid-write gives its turn back with its files.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from pathlib import Path
from typing import IO

POLL_S = 0.001


class WriterTurn:
    """The turn to write one database file, as this process takes it."""

    def __init__(self, database: Path):
        self.lock_path = database.with_name(database.name + ".write-lock")
        self._threads = threading.Lock()
        self._file: IO[bytes] | None = None

    @property
    def taken(self) -> bool:
        return self._threads.locked()

    def take(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for this process's threads, and as long for the others'."""
        if not self._threads.acquire(timeout=timeout_s):
            return False
        try:
            self._file = self._wait_for_file_lock(timeout_s)
        finally:
            if self._file is None:
                self._threads.release()
        return self._file is not None

    def give_back(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the file releases its flock
            self._file = None
        self._threads.release()

    def _wait_for_file_lock(self, timeout_s: float) -> IO[bytes] | None:
        handle = open(self.lock_path, "ab")  # noqa: SIM115 - kept open for the turn
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return handle
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.close()
                    return None
                time.sleep(POLL_S)


_turns: dict[tuple[int, Path], WriterTurn] = {}
_by_name: dict[tuple[int, str], WriterTurn] = {}  # the same turns, by the name callers give
_guard = threading.Lock()


def turn(database: str) -> WriterTurn:
    """This process's turn for ``database`` (one per file; a forked child gets its own).

    Every write asks, so a name seen before skips resolving the path (a syscall per part)."""
    named = (os.getpid(), database)
    found = _by_name.get(named)
    if found is not None:
        return found
    key = (os.getpid(), Path(database).resolve())
    with _guard:
        found = _turns.get(key)
        if found is None:
            found = _turns[key] = WriterTurn(key[1])
        _by_name[named] = found
        return found
