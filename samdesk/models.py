"""Tables of the desk's database. Times are stored as UTC and come back timezone-aware."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Refuses naive datetimes; SQLite drops the zone, so it is restored on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str] = mapped_column(String(200))
    owner_sam: Mapped[str] = mapped_column(String(200))
    owner_email: Mapped[str] = mapped_column(String(320), index=True)
    arr_usd: Mapped[int]
    strategic_score: Mapped[float]
    plan: Mapped[dict[str, Any]]
    plan_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SignalRecord(Base):
    __tablename__ = "signals"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(String(2000))
    published_at: Mapped[datetime]
    content_hash: Mapped[str] = mapped_column(String(64))
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)


class Draft(Base):
    """A draft and its life: pending -> approved -> sent, or rejected, or failed."""

    __tablename__ = "drafts"
    __table_args__ = (
        # The queue reads each account's open drafts in rank order from these (ranking.py);
        # rank_at and rank_label make the first covering: the rows hold large JSON.
        Index(
            "ix_drafts_rank",
            "status",
            "account_id",
            "rank_kind",
            "rank_key",
            "created_at",
            "id",
            "rank_at",
            "rank_label",
        ),
        Index("ix_drafts_rank_at", "status", "account_id", "rank_kind", "rank_at"),
        Index("ix_drafts_status_updated", "status", "updated_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    trigger: Mapped[dict[str, Any]]
    prompt_id: Mapped[str] = mapped_column(String(40))
    prompt_version: Mapped[str] = mapped_column(String(20))
    prompt_hash: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(200))
    sources: Mapped[list[Any]]
    usage: Mapped[dict[str, Any]]
    latency_ms: Mapped[int] = mapped_column(default=0)
    findings: Mapped[list[Any]] = mapped_column(default=list)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    reject_reason: Mapped[str | None] = mapped_column(Text)
    approved_revision: Mapped[int | None]
    approved_hash: Mapped[str | None] = mapped_column(String(64))
    approved_by: Mapped[str | None] = mapped_column(String(320))
    approved_at: Mapped[datetime | None]
    # When the approval request lapses: a pending draft past it becomes ``expired``.
    expires_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # What the queue's priority depends on besides the time, kept by approval_ui/ranking.py
    # on every write (see approval_ui/priority.py): signal, meeting or none; the signal's
    # publication or the meeting's start (POSIX seconds); a key that orders signals by
    # urgency at any time; the signal's type; the trigger signal's id.
    rank_kind: Mapped[str] = mapped_column(String(10), default="none", server_default="none")
    rank_at: Mapped[float | None]
    rank_key: Mapped[float] = mapped_column(default=0.0, server_default="0")
    rank_label: Mapped[str] = mapped_column(String(40), default="", server_default="")
    rank_signal_id: Mapped[str | None] = mapped_column(String(128), index=True)

    revisions: Mapped[list[Revision]] = relationship(
        back_populates="draft", order_by="Revision.number", cascade="all, delete-orphan"
    )

    @property
    def current(self) -> Revision:
        return self.revisions[-1]

    @property
    def approval_lapsed(self) -> bool:
        """Pending past its approval deadline: refused, even before the sender marks it."""
        deadline = self.expires_at
        return self.status == "pending" and deadline is not None and deadline <= utcnow()


class Revision(Base):
    """An immutable snapshot of what the draft said; edits append, never overwrite."""

    __tablename__ = "revisions"
    __table_args__ = (UniqueConstraint("draft_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), index=True)
    number: Mapped[int]
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    recipient: Mapped[str] = mapped_column(String(500))
    citations: Mapped[list[Any]]
    author: Mapped[str] = mapped_column(String(320))
    note: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    draft: Mapped[Draft] = relationship(back_populates="revisions")


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), index=True)
    action: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(320))
    revision_hash: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxMessage(Base):
    """The exact bytes approved for sending; one row per approved revision of a draft."""

    __tablename__ = "outbox"
    __table_args__ = (UniqueConstraint("draft_id", "revision_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), index=True)
    revision_number: Mapped[int]
    message_id: Mapped[str] = mapped_column(String(300), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    message: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(20), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    # Sending (issue 7): when a transient failure may be retried, and who holds the row
    # while it is ``sending`` (host:pid:nonce), so a dead holder's row becomes ``unknown``.
    next_attempt_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None]


class User(Base):
    """A person who signs in to the desk; ``role`` is sam, manager or admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebSession(Base):
    """A signed-in browser; the cookie holds a random token, only its SHA-256 is stored."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class ApiToken(Base):
    """A token for integrations (``Authorization: Bearer``); stored as its SHA-256 only."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Assignment(Base):
    """A manager gave this draft to another SAM; without a row, the account's owner has it."""

    __tablename__ = "assignments"

    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id"), primary_key=True)
    assignee: Mapped[str] = mapped_column(String(320), index=True)
    assigned_by: Mapped[str] = mapped_column(String(320))
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- Signal intake (issue 6): sources, their polling state, triage and triggers. ---


class SignalSource(Base):
    """A feed, calendar, watched folder or webhook sender that signals come from."""

    __tablename__ = "signal_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    url: Mapped[str | None] = mapped_column(String(2000))
    account_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    signing_secret: Mapped[str | None] = mapped_column(String(200))
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FeedState(Base):
    """What the last poll of a source saw: validators for conditional GET, errors, counts."""

    __tablename__ = "feed_states"

    source_id: Mapped[int] = mapped_column(ForeignKey("signal_sources.id"), primary_key=True)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    body_hash: Mapped[str | None] = mapped_column(String(64))
    last_status: Mapped[str | None] = mapped_column(String(40))
    last_error: Mapped[str | None] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(default=0)
    items_seen: Mapped[int] = mapped_column(default=0)
    polled_at: Mapped[datetime | None]
    changed_at: Mapped[datetime | None]


class IntakeItem(Base):
    """A validated signal waiting to be (or already) stored and indexed by ``retrieval.ingest``."""

    __tablename__ = "intake_items"

    signal_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("signal_sources.id"), index=True)
    account_id: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]]
    type_declared: Mapped[bool] = mapped_column(default=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    ingested_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """Every accepted webhook message id, so a replayed id is refused."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (UniqueConstraint("source_id", "webhook_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("signal_sources.id"))
    webhook_id: Mapped[str] = mapped_column(String(255))
    signal_id: Mapped[str] = mapped_column(String(128))
    outcome: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class TriageDecision(Base):
    """Type, score and action for one signal, with the reason it was decided that way."""

    __tablename__ = "triage_decisions"

    signal_id: Mapped[str] = mapped_column(ForeignKey("signals.id"), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(40))
    type_source: Mapped[str] = mapped_column(String(20))
    predicted_type: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(30), index=True)
    score: Mapped[float]
    relevance: Mapped[float]
    recency: Mapped[float]
    strategic: Mapped[float]
    group_id: Mapped[str] = mapped_column(String(128), index=True)
    reason: Mapped[str] = mapped_column(Text)
    classifier: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)


class MeetingRequest(Base):
    """A calendar meeting matched to an account: it asks for a briefing before it starts."""

    __tablename__ = "meeting_requests"
    __table_args__ = (UniqueConstraint("account_id", "uid", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("signal_sources.id"))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    uid: Mapped[str] = mapped_column(String(500))
    title: Mapped[str] = mapped_column(String(500))
    starts_at: Mapped[datetime]
    attendees: Mapped[list[Any]]
    match_reason: Mapped[str] = mapped_column(Text)
    cancelled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WatchTrigger(Base):
    """One thing the watcher must draft; the unique key is what makes drafting exactly-once."""

    __tablename__ = "watch_triggers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(30))
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    signal_id: Mapped[str | None] = mapped_column(String(128))
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_requests.id"))
    reason: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(default=0)
    draft_id: Mapped[int | None] = mapped_column(ForeignKey("drafts.id"))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SchedulerLease(Base):
    """Who may run the watcher now; a holder renews it, a dead holder's lease runs out."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime]
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeskGeneration(Base):
    """The desk's change counters, one row each (samdesk/generation.py): row 1 moves with
    every transaction that changes what the desk shows, row 2 with those that change users,
    sessions or tokens; caches of pages and of principals compare them to stay current."""

    __tablename__ = "desk_generation"

    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
