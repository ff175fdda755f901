"""What the desk keeps between requests: rendered queue pages, and who a credential names.

Every entry is stamped with the generation it was built at (samdesk/generation.py: the
desk's for pages, the identities' for principals) and is used only while that generation is
still the same number, so a change made anywhere (another worker, the sender, the CLI) is
seen by the next request. Pages also age out after
``max_age``: the queue's priorities decay with time even when nothing is written.

The cache is per process, bounded (least recently used entries go first), and keyed by the
principal for pages, so one user's page (with their CSRF token) never reaches another.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

MAX_ENTRIES = 256  # a queue page is ~60 KB of HTML: at most ~15 MB of pages per process
PAGE_MAX_AGE_S = 30.0  # priorities move by hours, not seconds (approval_ui/priority.py)


@dataclass(frozen=True)
class _Entry:
    generation: int
    born: float
    value: Any


class DeskCache:
    def __init__(self, *, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._lock = threading.Lock()  # sync routes run in a thread pool
        self._max = max_entries

    def get(self, key: Hashable, generation: int | None, *, max_age: float | None = None) -> Any:
        """The value stored under ``key`` at this generation (and young enough), else None."""
        with self._lock:
            entry = self._entries.get(key)
            fresh = (
                entry is not None
                and generation is not None
                and entry.generation == generation
                and (max_age is None or time.monotonic() - entry.born < max_age)
            )
            if not fresh:
                return None
            self._entries.move_to_end(key)
            return entry.value  # type: ignore[union-attr]  # fresh implies found

    def put(self, key: Hashable, generation: int | None, value: Any) -> None:
        """Keep ``value`` (nothing is kept where there is no generation to check it by)."""
        if generation is None:
            return
        with self._lock:
            self._entries[key] = _Entry(generation, time.monotonic(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
