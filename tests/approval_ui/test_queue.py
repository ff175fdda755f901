"""The queue's order (strategic score, signal urgency, meeting time) and its search box."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from approval_ui import priority, queue
from retrieval.chunks import Chunk
from tests.approval_ui.conftest import Desk, owned_draft

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


def signal(account: str, kind: str, days_ago: float, sid: str) -> Chunk:
    return Chunk(
        id=sid,
        account_id=account,
        kind="signal",
        section=kind,
        title=f"{kind} at {account}",
        text=f"News of type {kind}.",
        published_at=NOW - timedelta(days=days_ago),
        url="https://news.example/x",
    )


def outreach(
    sessions: sessionmaker[Session], account: str, score: float, kind: str, days_ago: float
) -> int:
    chunk = signal(account, kind, days_ago, f"sig-{account}-{kind}-{days_ago}")
    return owned_draft(
        sessions,
        account_id=account,
        sources=[chunk],
        strategic_score=score,
        body=f"About the news [{chunk.id}].",
        trigger={"type": "signal", "signal_id": chunk.id, "title": chunk.title},
    )


def briefing(sessions: sessionmaker[Session], account: str, score: float, days_ahead: float) -> int:
    starts = (NOW + timedelta(days=days_ahead)).isoformat()
    return owned_draft(
        sessions,
        kind="briefing",
        account_id=account,
        strategic_score=score,
        trigger={"type": "meeting", "title": f"Meeting in {days_ahead} days", "starts_at": starts},
    )


def order(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as session:
        return [d.id for d in queue.list_drafts(session, queue.QueueFilter(now=NOW))]


def test_a_more_strategic_account_comes_first_when_urgency_is_equal(
    sessions: sessionmaker[Session],
) -> None:
    low = outreach(sessions, "small-co", 40.0, "funding", 2)
    high = outreach(sessions, "flagship", 90.0, "funding", 2)
    assert order(sessions) == [high, low]


def test_an_urgent_fresh_signal_outranks_old_news_at_a_better_account(
    sessions: sessionmaker[Session],
) -> None:
    old_partnership = outreach(sessions, "flagship", 86.5, "partnership", 40)
    fresh_rfp = outreach(sessions, "at-risk", 54.5, "competitor_rfp", 1)
    same_type_older = outreach(sessions, "at-risk-2", 54.5, "competitor_rfp", 10)
    assert order(sessions) == [fresh_rfp, same_type_older, old_partnership]


def test_briefings_for_sooner_meetings_come_first(sessions: sessionmaker[Session]) -> None:
    later = briefing(sessions, "acme", 70.0, 30)
    tomorrow = briefing(sessions, "acme-2", 70.0, 1)
    next_week = briefing(sessions, "acme-3", 70.0, 7)
    past = briefing(sessions, "acme-4", 70.0, -5)
    assert order(sessions) == [tomorrow, next_week, later, past]


def test_work_to_do_comes_before_closed_drafts(sessions: sessionmaker[Session], desk: Desk) -> None:
    rejected = outreach(sessions, "flagship", 99.0, "competitor_rfp", 0)
    desk.reject(rejected, "wrong person")
    approved = outreach(sessions, "flagship-2", 99.0, "competitor_rfp", 0)
    desk.approve(approved)
    pending = outreach(sessions, "small", 10.0, "noise", 90)
    assert order(sessions) == [pending, approved, rejected]


def test_the_priority_explains_itself(sessions: sessionmaker[Session]) -> None:
    draft_id = outreach(sessions, "flagship", 80.0, "competitor_rfp", 14)
    with sessions() as session:
        [(draft, ranked)] = queue.ranked_drafts(session, queue.QueueFilter(now=NOW))
    assert draft.id == draft_id and ranked is not None
    assert ranked.urgency == pytest.approx(0.5)  # full weight, one half-life old
    assert ranked.value == pytest.approx(0.5 * 0.8 + 0.5 * 0.5)
    assert ranked.reason == "score 80 · competitor rfp 14 days ago"
    assert priority.SIGNAL_URGENCY["competitor_rfp"] > priority.SIGNAL_URGENCY["partnership"]


def test_the_queue_page_and_api_show_the_priority(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    draft_id = outreach(sessions, "flagship", 80.0, "leadership_change", 3)
    [row] = client.get("/api/drafts").json()
    assert row["id"] == draft_id and 0 < row["priority"] <= 1
    assert row["priority_reason"].startswith("score 80 · leadership change")
    assert row["priority_reason"] in client.get("/").text


def test_rejected_drafts_stay_searchable_by_text_and_reason(
    client: TestClient, sessions: sessionmaker[Session], desk: Desk
) -> None:
    cfo = owned_draft(sessions, subject="Welcome note for the new CFO")
    rfp = owned_draft(sessions, subject="RFP response", body="About the Kafka migration plan.")
    desk.reject(cfo, "Robert already heard from us", category="duplicate")
    desk.edit(rfp, body="About the streaming latency fix.")

    def found(q: str) -> list[int]:
        return [d["id"] for d in client.get("/api/drafts", params={"q": q}).json()]

    assert found("new cfo") == [cfo]  # subject, any case
    assert found("already heard") == [cfo]  # the free-text reason
    assert found("duplicate of another") == [cfo]  # the chosen reason's label
    assert found("kafka") == [rfp]  # an earlier revision's body still matches
    assert found("100%") == []  # LIKE wildcards are literal
    assert sorted(found("")) == sorted([cfo, rfp])
    page = client.get("/", params={"q": "already heard", "status": "rejected"}).text
    assert f'href="/drafts/{cfo}"' in page
    assert "Rejected: Duplicate of another message: Robert already heard from us" in page
