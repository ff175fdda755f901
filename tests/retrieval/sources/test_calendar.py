"""Calendars: which meetings concern an account, recurrences, cancellations, bad events, HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from retrieval.sources import SourceError
from retrieval.sources.calendar import AccountRef, parse_calendar
from retrieval.sources.poll import poll_source
from retrieval.sources.registry import add_source
from samdesk.db import transaction
from samdesk.models import MeetingRequest
from tests.conftest import SAMPLES
from tests.feed_server import FeedServer

ICS = (SAMPLES / "calendar" / "sarah-chen.ics").read_bytes()
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
END = datetime(2026, 12, 26, tzinfo=UTC)
ACCOUNTS = [
    AccountRef("acme-financial", "Acme Financial Corp", "acmefinancial.example"),
    AccountRef("harborview-retail", "Harborview Retail Group", "harborviewretail.example"),
    AccountRef("meridian-health", "Meridian Health System", "meridianhealth.example"),
    AccountRef("kessler-industrial", "Kessler Industrial Group", "kesslerindustrial.example"),
]


def event(uid: str, start: str, summary: str, *extra: str) -> str:
    lines = ["BEGIN:VEVENT", f"UID:{uid}" if uid else "", f"DTSTART:{start}" if start else ""]
    lines += [f"SUMMARY:{summary}", *extra, "END:VEVENT"]
    return "\r\n".join(line for line in lines if line)


def calendar(*events: str) -> bytes:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n"
        + "\r\n".join(events)
        + "\r\nEND:VCALENDAR\r\n"
    ).encode()


def test_meetings_match_by_attendee_domain_or_title_and_expand_in_the_window() -> None:
    found = parse_calendar(ICS, name="sarah", accounts=ACCOUNTS, window_start=NOW, window_end=END)
    got = [(m.account_id, m.starts_at.isoformat(), m.cancelled) for m in found.meetings]
    assert got == [
        # 10:00 in New York on 8 December (EST) is 15:00 UTC
        ("acme-financial", "2026-12-08T15:00:00+00:00", False),
        ("harborview-retail", "2026-12-04T18:00:00+00:00", False),
        # the weekly sync: 1 December is an EXDATE, the series has 8 occurrences from 3 Nov
        ("meridian-health", "2026-12-08T17:00:00+00:00", False),
        ("meridian-health", "2026-12-15T17:00:00+00:00", False),
        ("meridian-health", "2026-12-22T17:00:00+00:00", False),
        ("kessler-industrial", "2026-12-10T14:00:00+00:00", True),
    ]
    reasons = {m.account_id: m.reason for m in found.meetings}
    assert (
        reasons["acme-financial"]
        == "attendee robert.ainsley@acmefinancial.example is at acmefinancial.example"
    )
    assert reasons["harborview-retail"] == "title names 'Harborview'"
    assert found.unmatched == 1  # the internal stand-up
    assert found.errors == []


def test_subdomains_match_and_a_lookalike_domain_does_not() -> None:
    body = calendar(
        event("a", "20261201T150000Z", "Sync", "ATTENDEE:mailto:kim@eu.acmefinancial.example"),
        event("b", "20261202T150000Z", "Sync", "ATTENDEE:mailto:kim@notacmefinancial.example"),
    )
    found = parse_calendar(body, name="c", accounts=ACCOUNTS, window_start=NOW, window_end=END)
    assert [m.uid for m in found.meetings] == ["a"]
    assert found.unmatched == 1


def test_bad_events_are_named_and_the_rest_still_match() -> None:
    body = calendar(
        event("", "20261201T150000Z", "Acme Financial review"),
        event("no-start", "", "Acme Financial planning"),
        event("ok", "20261203T150000Z", "Acme Financial steering committee"),
    )
    found = parse_calendar(body, name="c", accounts=ACCOUNTS, window_start=NOW, window_end=END)
    assert [m.uid for m in found.meetings] == ["ok"]
    assert [(e.path, e.field) for e in found.errors] == [
        ("calendar 'c' event 1 ('Acme Financial review')", "UID"),
        ("calendar 'c' event 2 ('Acme Financial planning')", "DTSTART"),
    ]


def test_not_a_calendar_is_a_source_error() -> None:
    with pytest.raises(SourceError, match="not an iCalendar file"):
        parse_calendar(
            b"<html>login</html>", name="c", accounts=ACCOUNTS, window_start=NOW, window_end=END
        )


def test_polling_stores_requests_and_a_moved_meeting_cancels_the_old_slot(
    feed_server: FeedServer, sample_sessions: sessionmaker[Session]
) -> None:
    url = feed_server.put("/sarah.ics", ICS, "text/calendar")
    with transaction(sample_sessions) as session:
        source_id = add_source(session, kind="calendar", name="sarah", url=url).id
    first = poll_source(sample_sessions, source_id, now=NOW)
    assert (first.status, first.meetings) == ("changed", 6)
    assert poll_source(sample_sessions, source_id, now=NOW).status == "not modified"
    assert feed_server.statuses("/sarah.ics") == [200, 304]
    moved = ICS.replace(b"DTSTART:20261204T180000Z", b"DTSTART:20261207T180000Z")
    feed_server.put("/sarah.ics", moved, "text/calendar")
    poll_source(sample_sessions, source_id, now=NOW)
    with sample_sessions() as session:
        rows = session.scalars(
            select(MeetingRequest)
            .where(MeetingRequest.account_id == "harborview-retail")
            .order_by(MeetingRequest.starts_at)
        ).all()
        assert [(r.starts_at.day, r.cancelled) for r in rows] == [(4, True), (7, False)]
        assert session.query(MeetingRequest).count() == 7  # nothing duplicated
