"""Login throttling: too many failed sign-ins for one email, or from one address, lock it out.

After ``max_per_email`` failed sign-ins for the same email (compared case-insensitively, as
:func:`approval_ui.auth.authenticate` does) within ``window_s`` seconds, or
``max_per_address`` failures from the same client address, every further attempt for that
key is refused (HTTP 429 with ``Retry-After``) *without checking the password*, so a correct
guess during a lockout reveals nothing. The window slides: a key opens again when the oldest
of its counted failures is ``window_s`` old. A successful sign-in clears the email's count
(not the address's: one valid account would otherwise let an address reset its own count
between guesses at other accounts). Unknown emails count exactly like known ones, so a
lockout says nothing about whether an account exists.

Each attempt is counted as a failure *before* the password is checked and refunded if it
succeeds (:meth:`LoginThrottle.begin` / :meth:`Attempt.succeeded`), so requests racing in
parallel cannot each slip past the check before any of them is counted.

Why in-process: the state is small, short-lived and worth losing on a restart; keeping it in
memory costs no database write per failed sign-in (an attacker's guesses would otherwise be
free writes) and needs no new table or service. The cost: with ``samdesk serve --workers N``
each worker keeps its own count, so the effective limit is per worker (up to N times the
setting, depending on which worker each request lands on). A deployment that needs one
exact limit across processes should throttle at its reverse proxy as well.

Memory is bounded: each key holds at most its limit of timestamps, keys whose failures have
all left the window are pruned, and beyond ``max_keys`` keys the least recently failed one
is forgotten (fail open: an attacker able to fill the table from many addresses could make
it forget a lockout early, which is better than locking everybody out). Emails are kept
only as a SHA-256, so a huge ``email`` field costs no more memory than a short one.

The client address is ``request.client.host``: behind a reverse proxy on another host, set
uvicorn's ``FORWARDED_ALLOW_IPS`` to the proxy's address (only loopback is trusted by default)
so its ``X-Forwarded-For`` is used, or every client shares the proxy's address and its limit.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from samdesk.config import Settings
from samdesk.errors import RateLimitedError

MAX_KEYS = 10_000
Kind = Literal["email", "address"]
Key = tuple[Kind, str]


class LoginThrottledError(RateLimitedError):
    """Sign-in refused without checking the password: too many recent failures."""

    def __init__(self, kind: Kind, retry_after_s: int):
        minutes = max(1, math.ceil(retry_after_s / 60))
        what = "for this account" if kind == "email" else "from this address"
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(
            f"Too many failed sign-ins {what}; try again in {minutes} {unit}.",
            retry_after_s=retry_after_s,
        )
        self.kind = kind


@dataclass
class Attempt:
    """One sign-in in progress, already counted as a failure until :meth:`succeeded`."""

    throttle: LoginThrottle
    keys: tuple[Key, Key]
    at: float
    settled: bool = False

    def succeeded(self) -> None:
        """The password was right: clear the email's count and refund the address's."""
        self.throttle._settle(self, success=True)

    def cancel(self) -> None:
        """The attempt ended without a verdict on the password (e.g. the database is down):
        it does not count as a failure."""
        self.throttle._settle(self, success=False)


class LoginThrottle:
    """Failed sign-ins per email and per client address, in a sliding window. Thread-safe."""

    def __init__(
        self,
        *,
        max_per_email: int = 5,
        max_per_address: int = 20,
        window_s: float = 900.0,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ):
        if min(max_per_email, max_per_address, max_keys) < 1 or window_s <= 0:
            raise ValueError("login throttle limits and window must be positive")
        self.limits: dict[Kind, int] = {"email": max_per_email, "address": max_per_address}
        self.window_s = window_s
        self.max_keys = max_keys
        self.clock = clock
        self._lock = threading.Lock()
        # Least recently failed first, so expired keys are found at the front.
        self._failures: OrderedDict[Key, deque[float]] = OrderedDict()

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Callable[[], float] = time.monotonic
    ) -> LoginThrottle:
        return cls(
            max_per_email=settings.login_max_failures_per_email,
            max_per_address=settings.login_max_failures_per_address,
            window_s=settings.login_failure_window_s,
            clock=clock,
        )

    @staticmethod
    def keys(email: str, address: str | None) -> tuple[Key, Key]:
        normalized = email.strip().lower().encode("utf-8", "surrogatepass")
        return ("email", hashlib.sha256(normalized).hexdigest()), ("address", address or "?")

    def __len__(self) -> int:
        with self._lock:
            return len(self._failures)

    def begin(self, email: str, address: str | None) -> Attempt:
        """Count a sign-in attempt as failed, or raise :class:`LoginThrottledError` (counting
        nothing) while the email or the address is locked out."""
        keys = self.keys(email, address)
        with self._lock:
            now = self.clock()
            self._prune(now)
            waits = [(self._wait(key, now), key[0]) for key in keys]
            wait, kind = max(waits)
            if wait > 0:
                raise LoginThrottledError(kind, max(1, math.ceil(wait)))
            for key in keys:
                self._record(key, now)
            return Attempt(self, keys, now)

    def _wait(self, key: Key, now: float) -> float:
        """Seconds until ``key`` may try again; 0 if it may now."""
        times = self._failures.get(key)
        if times is None or len(times) < self.limits[key[0]]:
            return 0.0
        return max(0.0, times[0] + self.window_s - now)

    def _record(self, key: Key, now: float) -> None:
        times = self._failures.pop(key, None)
        if times is None:
            while len(self._failures) >= self.max_keys:
                self._failures.popitem(last=False)  # the least recently failed key
            times = deque(maxlen=self.limits[key[0]])
        times.append(now)
        self._failures[key] = times  # now the most recently failed

    def _prune(self, now: float) -> None:
        """Drop the keys whose failures have all left the window (they are at the front)."""
        horizon = now - self.window_s
        while self._failures:
            key, times = next(iter(self._failures.items()))
            if times and times[-1] > horizon:
                break
            del self._failures[key]

    def _settle(self, attempt: Attempt, *, success: bool) -> None:
        with self._lock:
            if attempt.settled:
                return
            attempt.settled = True
            email_key, address_key = attempt.keys
            if success:
                self._failures.pop(email_key, None)
            else:
                self._refund(email_key, attempt.at)
            self._refund(address_key, attempt.at)

    def _refund(self, key: Key, at: float) -> None:
        times = self._failures.get(key)
        if times is None:
            return
        try:
            times.remove(at)
        except ValueError:
            return  # already pushed out of its deque by newer failures
        if not times:
            del self._failures[key]
