"""Poll one source: fetch (conditionally), parse, validate, and queue, in one transaction.

The source's new state (ETag, Last-Modified, body hash) is committed together with the
items it produced, so a crash never records "seen" for items that were not queued.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from retrieval.signals import load_signals
from retrieval.sources import SourceError
from retrieval.sources.calendar import AccountRef, horizon, parse_calendar
from retrieval.sources.csv_files import load_mapping, read_csv
from retrieval.sources.feeds import parse_feed
from retrieval.sources.fetch import Fetched, conditional_get
from retrieval.sources.intake import RawItem, account_names, enqueue, validate_all
from samdesk.db import transaction
from samdesk.errors import InputError, SamdeskError
from samdesk.models import Account, FeedState, MeetingRequest, SignalSource

MAX_ERRORS_KEPT = 20


@dataclass
class PollResult:
    source: str
    status: str  # "not modified", "changed", "failed"
    queued: int = 0
    duplicates: int = 0
    meetings: int = 0
    errors: list[InputError] = field(default_factory=list)
    failure: str | None = None

    def summary(self) -> str:
        if self.failure:
            return f"{self.source}: failed: {self.failure}"
        return (
            f"{self.source}: {self.status}, {self.queued} queued, {self.duplicates} duplicate, "
            f"{self.meetings} meeting(s), {len(self.errors)} rejected"
        )


def poll_source(sessions: sessionmaker[Session], source_id: int, *, now: datetime) -> PollResult:
    with sessions() as session:
        source = session.get(SignalSource, source_id)
        state = session.get(FeedState, source_id)
        if source is None:
            raise SourceError(f"source {source_id} was removed")
        name, kind, url = source.name, source.kind, source.url or ""
        etag = state.etag if state else None
        modified = state.last_modified if state else None
        options = dict(source.options)
    try:
        fetched = (
            _fetch_folder(url, etag)
            if kind == "folder"
            else conditional_get(url, etag=etag, last_modified=modified)
        )
    except SamdeskError as exc:
        _record_failure(sessions, source_id, now, str(exc))
        return PollResult(name, "failed", failure=str(exc))
    with transaction(sessions) as session:
        state = session.get(FeedState, source_id) or FeedState(
            source_id=source_id, failures=0, items_seen=0
        )
        session.add(state)
        failures, state.polled_at, state.failures, state.last_error = state.failures, now, 0, None
        body_hash = hashlib.sha256(fetched.body).hexdigest() if fetched.body is not None else None
        if fetched.not_modified or body_hash == state.body_hash:
            state.last_status = "not modified"
            return PollResult(name, "not modified")
        try:
            result = _ingest_body(session, source_id, kind, name, url, fetched, options, now)
        except SamdeskError as exc:
            state.failures, state.last_error, state.last_status = failures + 1, str(exc), "failed"
            return PollResult(name, "failed", failure=str(exc))
        state.etag, state.last_modified, state.body_hash = (
            fetched.etag,
            fetched.last_modified,
            body_hash,
        )
        state.last_status, state.changed_at = "changed", now
        state.items_seen += result.queued
        if result.errors:
            state.last_error = "; ".join(str(e) for e in result.errors[:MAX_ERRORS_KEPT])
        return result


def _ingest_body(
    session: Session,
    source_id: int,
    kind: str,
    name: str,
    url: str,
    fetched: Fetched,
    options: dict[str, object],
    now: datetime,
) -> PollResult:
    assert fetched.body is not None
    result = PollResult(name, "changed")
    if kind == "calendar":
        _store_meetings(session, source_id, name, fetched.body, now, result)
        return result
    source = session.get(SignalSource, source_id)
    assert source is not None
    if kind == "feed":
        raw, errors = parse_feed(fetched.body, name=name, account_id=source.account_id or "")
    else:
        raw, errors = _read_folder(Path(url), options)
    good, invalid = validate_all(raw, account_names(session))
    report = enqueue(session, good, source_id=source_id)
    result.queued = report.queued + report.updated
    result.duplicates = report.duplicates
    result.errors = errors + invalid
    return result


def _store_meetings(
    session: Session, source_id: int, name: str, body: bytes, now: datetime, result: PollResult
) -> None:
    accounts = [
        AccountRef(a.id, a.name, str(a.plan.get("domain", "")))
        for a in session.scalars(select(Account))
        if a.plan.get("domain")
    ]
    start, end = horizon(now)
    found = parse_calendar(body, name=name, accounts=accounts, window_start=start, window_end=end)
    result.errors = found.errors
    current: set[tuple[str, str, datetime]] = set()
    for meeting in found.meetings:
        key = (meeting.account_id, meeting.uid, meeting.starts_at)
        current.add(key)
        row = session.scalars(
            select(MeetingRequest).where(
                MeetingRequest.account_id == meeting.account_id,
                MeetingRequest.uid == meeting.uid,
                MeetingRequest.starts_at == meeting.starts_at,
            )
        ).first()
        if row is None:
            row = MeetingRequest(
                source_id=source_id,
                account_id=meeting.account_id,
                uid=meeting.uid,
                starts_at=meeting.starts_at,
            )
            session.add(row)
            result.meetings += 1
        row.title, row.attendees = meeting.title, meeting.attendees
        row.match_reason, row.cancelled = meeting.reason, meeting.cancelled
    # a meeting that moved or vanished from the calendar no longer asks for a briefing
    for row in session.scalars(
        select(MeetingRequest).where(
            MeetingRequest.source_id == source_id, MeetingRequest.starts_at > now
        )
    ):
        if (row.account_id, row.uid, row.starts_at) not in current:
            row.cancelled = True


def _fetch_folder(url: str, etag: str | None) -> Fetched:
    """A folder is "modified" when any of its signal files' names or contents changed."""
    folder = Path(url)
    if not folder.is_dir():
        raise SourceError(f"{url}: not a folder")
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*")):
        if path.suffix in (".jsonl", ".csv", ".yaml", ".yml"):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    tag = digest.hexdigest()
    return Fetched(304, None, etag, None) if tag == etag else Fetched(200, tag.encode(), tag, None)


def _read_folder(
    folder: Path, options: dict[str, object]
) -> tuple[list[RawItem], list[InputError]]:
    raw: list[RawItem] = []
    errors: list[InputError] = []
    mapping_name = options.get("mapping")
    mapping = load_mapping(folder / str(mapping_name)) if mapping_name else None
    for path in sorted(folder.glob("*.jsonl")):
        signals, problems = load_signals(path)
        errors.extend(problems)
        raw += [RawItem(f"{path}:{s.id}", s.model_dump(mode="json")) for s in signals]
    for path in sorted(folder.glob("*.csv")):
        items, problems = read_csv(path, mapping)
        raw += items
        errors.extend(problems)
    return raw, errors


def _record_failure(
    sessions: sessionmaker[Session], source_id: int, now: datetime, why: str
) -> None:
    with transaction(sessions) as session:
        state = session.get(FeedState, source_id) or FeedState(
            source_id=source_id, failures=0, items_seen=0
        )
        session.add(state)
        state.polled_at, state.last_status, state.last_error = now, "failed", why
        state.failures += 1
