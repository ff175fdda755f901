"""iCalendar (.ics) meetings that concern a strategic account become briefing requests.

A meeting matches an account when an attendee's email domain is the account's domain
(or a subdomain of it), or, failing that, when its title names the account. Recurring
meetings are expanded inside the look-ahead window; cancelled ones are kept as cancelled
so a briefing is not drafted for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from dateutil.rrule import rrulestr
from icalendar import Calendar

from retrieval.sources import SourceError
from samdesk.errors import InputError

_GENERIC = {
    "corp",
    "corporation",
    "group",
    "inc",
    "llc",
    "ltd",
    "system",
    "systems",
    "co",
    "company",
    "holdings",
    "plc",
    "&",
}
MAX_OCCURRENCES = 200


@dataclass(frozen=True)
class AccountRef:
    id: str
    name: str
    domain: str

    def title_names(self) -> list[str]:
        """Ways a meeting title may name the account: full name, name without suffix, first word."""
        words = self.name.split()
        trimmed = list(words)
        while trimmed and trimmed[-1].lower() in _GENERIC:
            trimmed.pop()
        names = [self.name, " ".join(trimmed)]
        if len(words[0]) >= 5:
            names.append(words[0])
        return list(dict.fromkeys(n for n in names if n))


@dataclass
class MeetingFound:
    uid: str
    title: str
    starts_at: datetime
    attendees: list[str]
    account_id: str
    reason: str
    cancelled: bool = False


@dataclass
class CalendarReport:
    meetings: list[MeetingFound] = field(default_factory=list)
    unmatched: int = 0
    errors: list[InputError] = field(default_factory=list)


def parse_calendar(
    body: bytes,
    *,
    name: str,
    accounts: list[AccountRef],
    window_start: datetime,
    window_end: datetime,
) -> CalendarReport:
    """Meetings starting inside the window that match an account, with why they matched."""
    try:
        cal = Calendar.from_ical(body)
    except ValueError as exc:
        raise SourceError(f"calendar {name!r}: not an iCalendar file ({exc})") from exc
    report = CalendarReport()
    events = list(cal.walk("VEVENT"))
    overrides = {
        (str(e.get("UID")), _as_utc(e.decoded("RECURRENCE-ID"))): e
        for e in events
        if e.get("RECURRENCE-ID") is not None
    }
    for number, event in enumerate(events, start=1):
        if event.get("RECURRENCE-ID") is not None:
            continue  # handled as the override of its series' occurrence
        title = str(event.get("SUMMARY", "")).strip()
        where = f"calendar {name!r} event {number}" + (f" ({title[:60]!r})" if title else "")
        uid = str(event.get("UID", "")).strip()
        if not uid:
            report.errors.append(InputError(where, None, "UID", "missing; the event is skipped"))
            continue
        try:
            _as_utc(event.decoded("DTSTART"))
        except (KeyError, ValueError) as exc:
            report.errors.append(InputError(where, None, "DTSTART", f"missing or invalid ({exc})"))
            continue
        for occurrence in _occurrences(event, window_start, window_end):
            instance = overrides.get((uid, occurrence), event)
            when = _as_utc(instance.decoded("DTSTART")) if instance is not event else occurrence
            if not window_start <= when <= window_end:
                continue
            found = _match(instance, uid, when, accounts)
            if found is None:
                report.unmatched += 1
            else:
                report.meetings.append(found)
    return report


def _occurrences(event: Any, window_start: datetime, window_end: datetime) -> list[datetime]:
    """Start times in UTC; a series is expanded in its own zone so DST moves it correctly."""
    start = event.decoded("DTSTART")
    rule = event.get("RRULE")
    if rule is None:
        return [_as_utc(start)]
    if not isinstance(start, datetime) or start.tzinfo is None:
        start = _as_utc(start)
    series = rrulestr(rule.to_ical().decode(), dtstart=start)
    excluded: set[datetime] = set()
    for exdate in _as_list(event.get("EXDATE")):
        excluded |= {_as_utc(d.dt) for d in exdate.dts}
    found = [_as_utc(o) for o in series.between(window_start, window_end, inc=True)]
    return [o for o in found[:MAX_OCCURRENCES] if o not in excluded]


def _match(event: Any, uid: str, when: datetime, accounts: list[AccountRef]) -> MeetingFound | None:
    title = str(event.get("SUMMARY", "")).strip() or "(untitled meeting)"
    attendees = [_address(a) for a in _as_list(event.get("ATTENDEE"))]
    cancelled = str(event.get("STATUS", "")).upper() == "CANCELLED"
    for account in accounts:
        domain = account.domain.lower()
        hits = [a for a in attendees if _domain(a) == domain or _domain(a).endswith("." + domain)]
        if hits:
            reason = f"attendee {hits[0]} is at {domain}"
            return MeetingFound(uid, title, when, attendees, account.id, reason, cancelled)
    for account in accounts:
        for alias in account.title_names():
            if re.search(rf"\b{re.escape(alias)}\b", title):
                reason = f"title names {alias!r}"
                return MeetingFound(uid, title, when, attendees, account.id, reason, cancelled)
    return None


def _address(attendee: Any) -> str:
    return str(attendee).removeprefix("mailto:").removeprefix("MAILTO:").strip().lower()


def _domain(address: str) -> str:
    return address.rpartition("@")[2]


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _as_utc(value: date | datetime) -> datetime:
    """Floating times are read as UTC; all-day events as 09:00 UTC on their day."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(9, 0), tzinfo=UTC)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def horizon(now: datetime, days: int = 30) -> tuple[datetime, datetime]:
    return now - timedelta(hours=1), now + timedelta(days=days)
