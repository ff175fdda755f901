"""The watcher: poll sources, triage new signals, and draft what deserves a draft, unasked.

Each tick: hold the lease, poll the sources that are due, store and index what they
queued, triage every signal not yet decided, turn actionable decisions and upcoming
meetings into triggers, and draft the triggers that are due. A trigger has a unique key
(``outreach:<account>:<event>``, ``briefing:<account>:<uid>:<start>``) and its draft is
committed in the same transaction that marks it done, fenced on the claim: a crash or a
second watcher can repeat work, never a draft.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from agent.drafting import Drafter, DraftFailedError, DraftResult
from approval_ui import crud
from retrieval.index import VectorIndex
from retrieval.schemas import AccountPlan, Meeting
from retrieval.sources.intake import drain
from retrieval.sources.poll import PollResult, poll_source
from retrieval.triage import Classifier, Policy, RuleClassifier
from samdesk.db import transaction
from samdesk.errors import LLMError, SamdeskError
from samdesk.lease import Lease
from samdesk.models import (
    Account,
    FeedState,
    IntakeItem,
    MeetingRequest,
    SignalSource,
    WatchTrigger,
)
from samdesk.pacing import Clock, RateLimitedChatModel, SystemClock
from samdesk.watch_triage import add_trigger, triage_pending


@dataclass(frozen=True)
class WatchConfig:
    poll_interval_s: float = 900.0
    tick_s: float = 60.0
    briefing_hours: float = 24.0
    llm_per_minute: int = 6
    lease_ttl_s: float = 300.0
    max_drafts_per_tick: int = 50
    retry_after_s: float = 600.0
    max_attempts: int = 3
    approval_ttl: timedelta = crud.DEFAULT_APPROVAL_TTL  # Settings.approval_ttl_hours
    policy: Policy = field(default_factory=Policy)


@dataclass
class TickReport:
    at: datetime
    standby: bool = False
    polled: list[PollResult] = field(default_factory=list)
    ingested: int = 0
    triaged: int = 0
    new_triggers: int = 0
    drafted: list[int] = field(default_factory=list)
    retried: int = 0
    skipped: int = 0
    pending: int = 0

    def summary(self) -> str:
        if self.standby:
            return f"{self.at:%Y-%m-%d %H:%M:%S} standby: another watcher holds the lease"
        return (
            f"{self.at:%Y-%m-%d %H:%M:%S} polled {len(self.polled)}, ingested {self.ingested}, "
            f"triaged {self.triaged}, {self.new_triggers} new trigger(s), drafted "
            f"{len(self.drafted)}, {self.retried} to retry, {self.skipped} skipped, "
            f"{self.pending} due and waiting"
        )


class Watcher:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        index: VectorIndex,
        drafter: Drafter,
        *,
        clock: Clock | None = None,
        config: WatchConfig | None = None,
        classifier: Classifier | None = None,
        holder: str | None = None,
    ):
        self.sessions = sessions
        self.index = index
        self.clock = clock or SystemClock()
        self.config = config or WatchConfig()
        self.llm = RateLimitedChatModel(
            drafter.llm, per_minute=self.config.llm_per_minute, clock=self.clock
        )
        self.drafter = replace(drafter, llm=self.llm)
        self.classifier = classifier or RuleClassifier()
        self.lease = Lease(sessions, holder=holder, ttl_s=self.config.lease_ttl_s)

    def tick(self) -> TickReport:
        now = self.clock.now()
        report = TickReport(now)
        if not self.lease.acquire(now):
            report.standby = True
            return report
        self._release_orphans()
        for source_id in self._due_sources(now):
            report.polled.append(poll_source(self.sessions, source_id, now=now))
        ingested = drain(self.sessions, self.index)
        report.ingested = ingested.added + ingested.updated
        decisions = triage_pending(
            self.sessions, classifier=self.classifier, as_of=now, policy=self.config.policy
        )
        report.triaged = len(decisions)
        report.new_triggers = sum(d.action != "no_action" for d in decisions)
        report.new_triggers += self._briefing_triggers(now)
        self._run_due(report)
        report.pending = self._due_count(self.clock.now())
        return report

    def run(self, *, until_idle: bool = False, max_ticks: int | None = None) -> list[TickReport]:
        """Tick until stopped (Ctrl-C), until nothing is due (``until_idle``), or ``max_ticks``."""
        reports: list[TickReport] = []
        try:
            while max_ticks is None or len(reports) < max_ticks:
                report = self.tick()
                reports.append(report)
                if until_idle and not report.standby and report.pending == 0 and self._idle():
                    break
                self.clock.sleep(self.config.tick_s)
        finally:
            self.lease.release()
        return reports

    # -- sources ---------------------------------------------------------------------------

    def _due_sources(self, now: datetime) -> list[int]:
        due = now - timedelta(seconds=self.config.poll_interval_s)
        with self.sessions() as session:
            rows = session.execute(
                select(SignalSource.id, FeedState.polled_at)
                .outerjoin(FeedState, FeedState.source_id == SignalSource.id)
                .where(SignalSource.enabled.is_(True), SignalSource.kind != "webhook")
                .order_by(SignalSource.id)
            ).all()
        return [sid for sid, polled in rows if polled is None or polled <= due]

    def _idle(self) -> bool:
        with self.sessions() as session:
            queued = session.scalar(
                select(func.count()).select_from(IntakeItem).where(IntakeItem.status == "queued")
            )
        return not queued

    # -- triggers --------------------------------------------------------------------------

    def _briefing_triggers(self, now: datetime) -> int:
        created = 0
        lead = timedelta(hours=self.config.briefing_hours)
        with transaction(self.sessions) as session:
            meetings = session.scalars(
                select(MeetingRequest).where(
                    MeetingRequest.cancelled.is_(False), MeetingRequest.starts_at > now
                )
            )
            for m in meetings:
                key = f"briefing:{m.account_id}:{m.uid}:{m.starts_at.isoformat()}"
                created += add_trigger(
                    session,
                    key=key,
                    kind="briefing",
                    action="briefing",
                    account_id=m.account_id,
                    meeting_id=m.id,
                    reason=f"meeting {m.title!r}: {m.match_reason}",
                    due_at=m.starts_at - lead,
                )
        return created

    def _release_orphans(self) -> None:
        """Claims left by a previous holder (crashed mid-draft) go back to pending."""
        with transaction(self.sessions) as session:
            session.execute(
                update(WatchTrigger)
                .where(
                    WatchTrigger.status == "claimed", WatchTrigger.claimed_by != self.lease.holder
                )
                .values(status="pending", claimed_by=None)
                .execution_options(synchronize_session=False)
            )

    def _due_count(self, now: datetime) -> int:
        with self.sessions() as session:
            return int(
                session.scalar(
                    select(func.count())
                    .select_from(WatchTrigger)
                    .where(WatchTrigger.status == "pending", WatchTrigger.due_at <= now)
                )
                or 0
            )

    def _run_due(self, report: TickReport) -> None:
        with self.sessions() as session:
            due = list(
                session.scalars(
                    select(WatchTrigger.id)
                    .where(WatchTrigger.status == "pending", WatchTrigger.due_at <= report.at)
                    .order_by(WatchTrigger.due_at, WatchTrigger.id)
                    .limit(self.config.max_drafts_per_tick)
                )
            )
        for trigger_id in due:
            if not self.lease.acquire(self.clock.now()):
                return  # lost the lease: whoever has it now carries on
            outcome = self._run_trigger(trigger_id)
            if isinstance(outcome, int):
                report.drafted.append(outcome)
            elif outcome == "retry":
                report.retried += 1
            elif outcome == "skipped":
                report.skipped += 1

    def _run_trigger(self, trigger_id: int) -> int | str:
        now = self.clock.now()
        with transaction(self.sessions) as session:
            claimed = session.execute(
                update(WatchTrigger)
                .where(WatchTrigger.id == trigger_id, WatchTrigger.status == "pending")
                .values(
                    status="claimed",
                    claimed_by=self.lease.holder,
                    attempts=WatchTrigger.attempts + 1,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if getattr(claimed, "rowcount", 0) != 1:
                return "taken"
            trigger = session.get(WatchTrigger, trigger_id)
            assert trigger is not None
            account = session.get(Account, trigger.account_id)
            meeting = (
                session.get(MeetingRequest, trigger.meeting_id) if trigger.meeting_id else None
            )
            plan = _plan(account)
            job = (trigger.kind, trigger.key, trigger.action, trigger.reason, trigger.signal_id)
            attempts = trigger.attempts
        skip = _skip_reason(plan, meeting, now)
        if skip:
            self._finish(trigger_id, status="skipped", error=skip)
            return "skipped"
        assert plan is not None
        kind, key, action, reason, signal_id = job
        try:
            if kind == "briefing":
                assert meeting is not None
                talk = Meeting(
                    title=meeting.title,
                    starts_at=meeting.starts_at,
                    attendees=[str(a) for a in meeting.attendees],
                )
                result = self.drafter.draft_briefing(plan, talk, as_of=now)
            else:
                result = self.drafter.draft_outreach(plan, signal_id or "", as_of=now)
        except LLMError as exc:
            final = attempts >= self.config.max_attempts
            if final and isinstance(exc, DraftFailedError):
                # The last try: the SAM sees a failed draft with the reason in the desk.
                exc.result.trigger = {**exc.result.trigger, "via": "watch", "key": key}
                stored = self._store(trigger_id, exc.result, status="failed", error=str(exc))
                return "taken" if stored == "taken" else "failed"
            self._finish(
                trigger_id,
                status="failed" if final else "pending",
                error=str(exc),
                due_at=now + timedelta(seconds=self.config.retry_after_s),
            )
            return "failed" if final else "retry"
        except SamdeskError as exc:
            self._finish(trigger_id, status="failed", error=str(exc))
            return "failed"
        result.trigger = {
            **result.trigger,
            "via": "watch",
            "key": key,
            "action": action,
            "reason": reason,
        }
        return self._store(trigger_id, result)

    def _store(
        self,
        trigger_id: int,
        result: DraftResult,
        *,
        status: str = "done",
        error: str | None = None,
    ) -> int | str:
        """The draft and the trigger's outcome commit together, only while our claim holds."""
        with transaction(self.sessions) as session:
            fenced = session.execute(
                update(WatchTrigger)
                .where(
                    WatchTrigger.id == trigger_id,
                    WatchTrigger.status == "claimed",
                    WatchTrigger.claimed_by == self.lease.holder,
                )
                .values(status=status, updated_at=self.clock.now(), last_error=error)
                .execution_options(synchronize_session=False)
            )
            if getattr(fenced, "rowcount", 0) != 1:
                return "taken"  # another watcher took over meanwhile; its draft will stand
            draft = crud.create_draft(session, result=result, approval_ttl=self.config.approval_ttl)
            session.flush()
            session.execute(
                update(WatchTrigger)
                .where(WatchTrigger.id == trigger_id)
                .values(draft_id=draft.id)
                .execution_options(synchronize_session=False)
            )
            return draft.id

    def _finish(
        self, trigger_id: int, *, status: str, error: str, due_at: datetime | None = None
    ) -> None:
        values: dict[str, Any] = {
            "status": status,
            "last_error": error[:2000],
            "claimed_by": None,
            "updated_at": self.clock.now(),
        }
        if due_at is not None:
            values["due_at"] = due_at
        with transaction(self.sessions) as session:
            session.execute(
                update(WatchTrigger)
                .where(WatchTrigger.id == trigger_id, WatchTrigger.claimed_by == self.lease.holder)
                .values(**values)
                .execution_options(synchronize_session=False)
            )


def _plan(account: Account | None) -> AccountPlan | None:
    try:
        return AccountPlan.model_validate(account.plan) if account else None
    except ValidationError:
        return None


def _skip_reason(plan: AccountPlan | None, meeting: MeetingRequest | None, now: datetime) -> str:
    if plan is None:
        return "account no longer exists or its plan is unusable; re-ingest it"
    if meeting is not None and meeting.cancelled:
        return "meeting was cancelled or moved"
    if meeting is not None and meeting.starts_at <= now:
        return "meeting already started"
    return ""
