"""Feeds over real HTTP: conditional GET, dedupe by URL and content, bad entries, failures."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from retrieval.index import VectorIndex
from retrieval.sources.feeds import normalise_url, parse_feed, plain_text
from retrieval.sources.intake import drain
from retrieval.sources.poll import poll_source
from retrieval.sources.registry import add_source
from samdesk.db import transaction
from samdesk.models import FeedState, IntakeItem, SignalRecord
from tests.conftest import SAMPLES
from tests.feed_server import FeedServer

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
RSS = (SAMPLES / "feeds" / "acme-financial.rss.xml").read_bytes()
ATOM = (SAMPLES / "feeds" / "brightline-energy.atom.xml").read_bytes()


def rss(*items: str) -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def item(title: str, link: str, date: str = "Tue, 24 Nov 2026 13:30:00 GMT", text: str = "") -> str:
    parts = [f"<title>{title}</title>" if title else ""]
    parts.append(f"<link>{link}</link>" if link else "")
    parts.append(f"<pubDate>{date}</pubDate>" if date else "")
    parts.append(f"<description>{text or title + ' (story text)'}</description>")
    return "<item>" + "".join(parts) + "</item>"


def add_feed(sessions: sessionmaker[Session], url: str, account: str = "acme-financial") -> int:
    with transaction(sessions) as session:
        return add_source(session, kind="feed", name="acme-news", url=url, account_id=account).id


def queued(sessions: sessionmaker[Session]) -> list[IntakeItem]:
    with sessions() as session:
        return list(session.scalars(select(IntakeItem).order_by(IntakeItem.signal_id)))


def test_rss_and_atom_entries_become_signals_for_the_feed_account() -> None:
    items, errors = parse_feed(RSS, name="acme", account_id="acme-financial")
    assert errors == []
    assert len(items) == 5
    first = items[0].data
    assert first["account_id"] == "acme-financial"
    assert first["source_url"].endswith("acme-financial-cfo-ainsley-to-step-down")  # utm_* gone
    assert first["text"].startswith("Robert Ainsley will step down")  # HTML stripped
    assert first["published_at"] == "2026-11-24T13:30:00+00:00"
    atom, atom_errors = parse_feed(ATOM, name="brightline", account_id="brightline-energy")
    assert len(atom) == 3 and atom_errors == []
    assert atom[2].data["published_at"].startswith("2026-11-18T12")  # <updated> stands in


def test_url_normalisation_and_plain_text() -> None:
    assert (
        normalise_url("HTTPS://News.Example/a/?utm_source=x&id=7#top")
        == "https://news.example/a?id=7"
    )
    assert plain_text("<p>Fish &amp; <b>chips</b></p>\n<script>x()</script>") == "Fish & chips"


def test_bad_entries_are_named_with_their_field_and_the_rest_load() -> None:
    body = rss(
        item("Good story", "https://n.example/good"),
        item("", "https://n.example/untitled"),
        item("No link here", ""),
        item("No date", "https://n.example/nodate", date=""),
    )
    items, errors = parse_feed(body, name="acme", account_id="acme-financial")
    assert [i.data["title"] for i in items] == ["Good story"]
    assert [(e.field, e.path) for e in errors] == [
        ("title", "feed 'acme' entry 2"),
        ("link", "feed 'acme' entry 3 ('No link here')"),
        ("published", "feed 'acme' entry 4 ('No date')"),
    ]
    assert "missing; the entry is skipped" in str(errors[0])


def test_poll_uses_conditional_get_and_queues_each_story_once(
    feed_server: FeedServer, sample_sessions: sessionmaker[Session], sample_index: VectorIndex
) -> None:
    url = feed_server.put("/acme.rss", RSS)
    source_id = add_feed(sample_sessions, url)
    first = poll_source(sample_sessions, source_id, now=NOW)
    assert (first.status, first.queued, first.errors) == ("changed", 5, [])
    second = poll_source(sample_sessions, source_id, now=NOW)
    assert second.status == "not modified"
    assert feed_server.statuses("/acme.rss") == [200, 304]
    with sample_sessions() as session:
        state = session.get(FeedState, source_id)
        assert state is not None and state.etag and state.last_modified
    # the feed grows: a new story, the old ones again, one of them under a tracking URL,
    # and the same text as an existing story under a different URL (syndication)
    grown = RSS.replace(
        b"</channel>",
        item("Acme Financial to acquire Northgate Advisors", "https://n.example/northgate").encode()
        + item(
            "Acme Financial CFO Robert Ainsley to step down after fiscal year",
            "https://syndicated.example/acme-cfo",
            text="<p><b>Robert Ainsley</b> will step down as chief financial officer of Acme "
            "Financial Corp at the end of the fiscal year, the company said in a filing. The "
            "board has begun an external search for his successor.</p>",
        ).encode()
        + b"</channel>",
    )
    feed_server.put("/acme.rss", grown)
    third = poll_source(sample_sessions, source_id, now=NOW)
    assert (third.queued, third.duplicates) == (1, 1)
    assert len(queued(sample_sessions)) == 6
    report = drain(sample_sessions, sample_index)
    assert report.added == 6 and report.errors == []
    assert drain(sample_sessions, sample_index).added == 0  # nothing left, nothing twice
    with sample_sessions() as session:
        feed_signals = session.scalars(
            select(SignalRecord).where(SignalRecord.id.like("feed-%"))
        ).all()
        assert len(feed_signals) == 6
    assert {i.status for i in queued(sample_sessions)} == {"ingested"}
    assert sample_index.get([feed_signals[0].id])[0].kind == "signal"


def test_a_server_without_validators_is_still_not_reparsed(
    feed_server: FeedServer, sample_sessions: sessionmaker[Session]
) -> None:
    url = feed_server.put("/plain.rss", RSS)
    feed_server.files["/plain.rss"].validators = False
    source_id = add_feed(sample_sessions, url)
    assert poll_source(sample_sessions, source_id, now=NOW).queued == 5
    again = poll_source(sample_sessions, source_id, now=NOW)
    assert again.status == "not modified"  # same body hash
    assert feed_server.statuses("/plain.rss") == [200, 200]


def test_failures_are_recorded_and_a_retry_loses_nothing(
    feed_server: FeedServer, sample_sessions: sessionmaker[Session]
) -> None:
    url = feed_server.put("/acme.rss", RSS)
    source_id = add_feed(sample_sessions, url)
    feed_server.files["/acme.rss"].status = 503
    failed = poll_source(sample_sessions, source_id, now=NOW)
    assert failed.status == "failed" and "HTTP 503" in (failed.failure or "")
    feed_server.files["/acme.rss"].status = 200
    feed_server.files["/acme.rss"].body = b"<html>maintenance page</html>"
    broken = poll_source(sample_sessions, source_id, now=NOW)
    assert broken.status == "failed" and "not an RSS or Atom feed" in (broken.failure or "")
    with sample_sessions() as session:
        state = session.get(FeedState, source_id)
        assert state is not None and state.failures == 2 and state.etag is None
    feed_server.put("/acme.rss", RSS)
    healed = poll_source(sample_sessions, source_id, now=NOW)
    assert healed.queued == 5 and len(queued(sample_sessions)) == 5
