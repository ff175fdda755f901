"""The separate sender (``samdesk sender``): drains approved outbox rows, one claim at a time.

Each tick first settles what a previous run left behind (rows still ``sending`` under a
dead holder become ``unknown``; lapsed approval requests become ``expired``), then claims
and delivers due rows up to the batch size. Claiming one row at a time keeps what a kill
can strand to the single message in flight. Any number of senders, and the desk's own Send
button, may run at once: the claim makes each row theirs alone.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from approval_ui.delivery import Sender
from approval_ui.expiry import expire_due
from approval_ui.outbox_claims import SENDER_ACTOR, RetryPolicy, claim_due, recover_stalled
from approval_ui.sending import transmit
from samdesk.config import Settings
from samdesk.db import transaction
from samdesk.lease import holder_id
from samdesk.pacing import Clock, SystemClock

log = logging.getLogger(__name__)
STALE_CLAIM_FACTOR = 10  # a claim older than this many SMTP timeouts has lost its holder


@dataclass
class SenderReport:
    """What one tick (or a whole drain) did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    unknown: int = 0
    taken: int = 0
    recovered: list[int] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)

    @property
    def claimed(self) -> int:
        return self.sent + self.retrying + self.failed + self.unknown + self.taken

    @property
    def idle(self) -> bool:
        return self.claimed == 0 and not self.recovered and not self.expired

    def add(self, other: SenderReport) -> None:
        for name in ("sent", "retrying", "failed", "unknown", "taken"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.recovered += other.recovered
        self.expired += other.expired

    def summary(self) -> str:
        parts = [
            f"sent {self.sent}",
            f"retry later {self.retrying}",
            f"failed {self.failed}",
            f"unknown {self.unknown}",
        ]
        if self.recovered:
            parts.append(f"stalled sends now unknown {len(self.recovered)}")
        if self.expired:
            parts.append(f"approval requests expired {len(self.expired)}")
        return "sender: " + ", ".join(parts)


class OutboxWorker:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        sender: Sender,
        *,
        settings: Settings,
        clock: Clock | None = None,
        batch: int = 50,
        holder: str | None = None,
    ):
        self.sessions = sessions
        self.sender = sender
        self.mail_from = settings.mail_from
        self.policy = RetryPolicy.from_settings(settings)
        self.stale_after = timedelta(seconds=settings.smtp_timeout_s * STALE_CLAIM_FACTOR)
        self.clock = clock or SystemClock()
        self.batch = max(batch, 1)
        self.holder = holder or holder_id()
        self.stopping = threading.Event()

    def tick(self) -> SenderReport:
        report = SenderReport()
        now = self.clock.now()
        report.recovered = recover_stalled(self.sessions, now=now, stale_after=self.stale_after)
        with transaction(self.sessions) as session:
            report.expired = expire_due(session, now=now)
        for _ in range(self.batch):
            if self.stopping.is_set():
                break
            claim = claim_due(self.sessions, holder=self.holder, now=self.clock.now())
            if claim is None:
                break
            attempt = transmit(
                self.sessions,
                claim,
                sender=self.sender,
                by=SENDER_ACTOR,
                mail_from=self.mail_from,
                policy=self.policy,
                now=self.clock.now,
            )
            name = {"queued": "retrying"}.get(attempt.status, attempt.status)
            setattr(report, name, getattr(report, name) + 1)
            if attempt.error is not None:
                log.warning("outbox %s: %s: %s", claim.row_id, attempt.status, attempt.error)
        return report

    def drain(self) -> SenderReport:
        """Ticks until nothing due is left (retries scheduled for later stay queued)."""
        total = SenderReport()
        while not self.stopping.is_set():
            report = self.tick()
            total.add(report)
            if report.claimed < self.batch:
                break
        return total

    def run(self, interval_s: float) -> Iterator[SenderReport]:
        """Drain, wait, repeat until :meth:`stop` (a signal handler calls it)."""
        while not self.stopping.is_set():
            yield self.drain()
            self.stopping.wait(interval_s)

    def stop(self) -> None:
        """Finish the message in flight, then stop (never leave a row half-recorded)."""
        self.stopping.set()
