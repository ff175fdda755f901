"""The queue read from the rank index gives exactly the order of ranking every draft in Python,
page by page, whatever mix of triggers, accounts and states; and stays right when a trigger
signal is stored (or corrected) after its drafts."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from approval_ui import crud, priority, queue
from approval_ui.permissions import Principal, visible
from retrieval.chunks import Chunk
from samdesk.db import transaction
from samdesk.models import Account, Assignment, Draft, SignalRecord
from tests.approval_ui.conftest import OTHER_SAM, REVIEWER, owned_draft
from tests.approval_ui.test_pages import queue_rows
from tests.factories import draft_result, ensure_account

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
TYPES = ("competitor_rfp", "partnership", "funding", "noise", "made_up_type")


class Filters(TypedDict, total=False):
    """The fields of :class:`queue.QueueFilter` that the order tests vary."""

    account_id: str
    kind: str
    status: str


def _mixed_drafts(sessions: sessionmaker[Session], count: int) -> None:
    """Outreach on past and future signals (stored or only in the sources), briefings for
    past, current and coming meetings, drafts with no dated trigger; over 5 accounts, in
    every state."""
    rng = random.Random(7)
    with transaction(sessions) as session:
        for n, score in enumerate((90.0, 70.0, 70.0, 40.0, 10.0)):
            owner = OTHER_SAM if n == 4 else REVIEWER
            ensure_account(session, f"acct-{n}", owner_email=owner)
            session.flush()
            session.get_one(Account, f"acct-{n}").strategic_score = score
        session.flush()
        for i in range(count):
            account = f"acct-{rng.randrange(5)}"
            shape = rng.randrange(6)
            days = rng.choice([-3.0, -0.5, 0.0, 0.4, 2.0, 7.0, 14.0, 30.0, rng.uniform(-5, 60)])
            sid = f"sig-{i % 23}"  # drafts share signals, as they do
            chunk = Chunk(
                id=sid,
                account_id=account,
                kind="signal",
                section=TYPES[i % 23 % len(TYPES)],
                title="News",
                text="News.",
                published_at=NOW - timedelta(days=days),
                url="https://news.example/x",
            )
            result = draft_result(
                account_id=account, sources=[chunk], failed="x" if shape == 5 else None
            )
            if shape == 1:  # a briefing for a meeting
                result.kind = "briefing"
                starts = (NOW - timedelta(days=days)).isoformat()
                result.trigger = {"type": "meeting", "title": "Meeting", "starts_at": starts}
            elif shape == 2:  # no dated trigger
                result.trigger = {"type": "manual", "title": "By hand"}
            draft = crud.create_draft(session, result=result)
            draft.created_at = NOW - timedelta(hours=rng.choice([1, 2, 3, 5, 8]))  # ties
            if shape == 3 and i % 23 < 12 and session.get(SignalRecord, sid) is None:
                session.add(
                    SignalRecord(
                        id=sid,
                        account_id=account,
                        type=TYPES[(i + 1) % len(TYPES)],  # differs from the sources' type
                        title="News",
                        text="News.",
                        url="https://news.example/x",
                        published_at=NOW - timedelta(days=days + 1),
                        content_hash="h",
                    )
                )
            session.flush()
            if shape == 4 and i % 3 == 0:
                crud.reject(session, draft, by=REVIEWER, reason="no")
            elif shape == 4:
                crud.approve(session, draft, by=REVIEWER, mail_from="desk@northwind.example")
            elif shape == 0 and i % 7 == 0:
                session.add(Assignment(draft_id=draft.id, assignee=OTHER_SAM, assigned_by="m"))
            session.flush()


def _reference(session: Session, user: Principal | None, **filters: Any) -> list[int]:
    """The queue as it was computed before the index: every draft ranked in Python."""
    query = select(Draft).join(Account, Account.id == Draft.account_id)
    if user is not None:
        query = query.where(visible(user))
    for name, column in (("account_id", Draft.account_id), ("kind", Draft.kind)):
        if filters.get(name):
            query = query.where(column == filters[name])
    if filters.get("status"):
        query = query.where(Draft.status == filters["status"])
    drafts = list(session.scalars(query))
    scores = {a.id: a.strategic_score for a in session.scalars(select(Account))}
    facts = priority.signal_facts(session, drafts)

    def key(d: Draft) -> tuple[Any, ...]:
        if d.status in queue.OPEN:
            stored = priority.draft_inputs(d, facts)
            exact, _ = priority.ranked(stored, scores[d.account_id], NOW)
            return (queue.OPEN.index(d.status), -round(exact, 9), -d.created_at.timestamp(), -d.id)
        order = queue.STATUSES.index(d.status) if d.status in queue.STATUSES else 9
        return (order, 0.0, -d.updated_at.timestamp(), -d.id)

    return [d.id for d in sorted(drafts, key=key)]


def test_index_order_equals_ranking_everything_page_by_page(
    sessions: sessionmaker[Session],
) -> None:
    _mixed_drafts(sessions, 260)
    sam = Principal(1, REVIEWER, "Sarah Chen", "sam")
    cases: list[tuple[Principal | None, Filters]] = [
        (None, {}),
        (sam, {}),
        (None, {"kind": "briefing"}),
        (None, {"account_id": "acct-1"}),
        (sam, {"status": "approved"}),
    ]
    with sessions() as session:
        for user, filters in cases:
            expected = _reference(session, user, **filters)
            got = [
                d.id
                for d in queue.list_drafts(
                    session, queue.QueueFilter(user=user, now=NOW, limit=1000, **filters)
                )
            ]
            assert got == expected, (user, filters)
            paged = [
                d.id
                for offset in range(0, len(expected) + 20, 20)
                for d in queue.list_drafts(
                    session,
                    queue.QueueFilter(user=user, now=NOW, limit=20, offset=offset, **filters),
                )
            ]
            assert paged == expected
        # a text search reads its matches in one pass: the same order
        everything = queue.list_drafts(session, queue.QueueFilter(now=NOW, limit=1000))
        searched = queue.list_drafts(
            session, queue.QueueFilter(now=NOW, limit=1000, q="congratulations")
        )
        assert [d.id for d in searched] == [d.id for d in everything if d.status != "failed"]


def test_a_signal_stored_after_its_draft_ranks_it_from_then_on(
    sessions: sessionmaker[Session],
) -> None:
    chunk = Chunk(
        id="sig-late",
        account_id="acme-financial",
        kind="signal",
        section="noise",
        title="News",
        text="News.",
        published_at=NOW - timedelta(days=1),
        url="https://news.example/x",
    )
    with transaction(sessions) as session:
        ensure_account(session)
        session.flush()
        draft_id = crud.create_draft(session, result=draft_result(sources=[chunk])).id
    with transaction(sessions) as session:
        session.add(
            SignalRecord(
                id="sig-late",
                account_id="acme-financial",
                type="competitor_rfp",
                title="News",
                text="News.",
                url="https://news.example/x",
                published_at=NOW - timedelta(days=14),
                content_hash="h",
            )
        )
    with sessions() as session:
        [(_, ranked)] = queue.ranked_drafts(session, queue.QueueFilter(now=NOW))
    assert ranked is not None and ranked.reason == "score 50 · competitor rfp 14 days ago"
    with transaction(sessions) as session:
        session.get_one(SignalRecord, "sig-late").type = "partnership"
    with sessions() as session:
        [(draft, ranked)] = queue.ranked_drafts(session, queue.QueueFilter(now=NOW))
    assert draft.id == draft_id and ranked is not None
    assert ranked.urgency == round(0.4 * 0.5, 4)
    assert ranked.reason == "score 50 · partnership 14 days ago"


def test_the_queue_page_shows_fifty_rows_and_links_the_next(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    ids = [owned_draft(sessions, subject=f"Draft {n}") for n in range(queue.PAGE_SIZE + 5)]
    first = client.get("/", params={"kind": "outreach"}).text
    second = client.get("/", params={"kind": "outreach", "page": 2}).text
    rows = [*queue_rows(first), *queue_rows(second)]
    assert len(queue_rows(first)) == queue.PAGE_SIZE and len(queue_rows(second)) == 5
    assert sorted(rows) == sorted(ids)  # every draft once, over the two pages
    assert 'href="/?account=&amp;kind=outreach&amp;status=&amp;q=&amp;page=2" rel="next"' in first
    assert 'rel="prev"' in second and 'rel="next"' not in second
