"""The intake queue: validated once, queued once, stored and indexed once, whatever is retried."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from retrieval.index import VectorIndex
from retrieval.sources.intake import (
    RawItem,
    account_names,
    content_hash,
    drain,
    enqueue,
    validate,
    validate_all,
)
from samdesk.db import transaction
from samdesk.models import IntakeItem, SignalRecord

ITEM = {
    "id": "hook-1",
    "account_id": "acme-financial",
    "type": "funding",
    "title": "Acme Financial raises $750M in senior notes",
    "text": "Acme Financial Corp sold $750 million of five-year senior notes.",
    "source_url": "https://n.example/notes",
    "published_at": "2026-11-13T10:00:00Z",
}


def queue(sessions: sessionmaker[Session], *items: dict[str, str]) -> tuple[int, int, int, int]:
    with transaction(sessions) as session:
        good, errors = validate_all(
            [RawItem(f"item {i}", d) for i, d in enumerate(items)], account_names(session)
        )
        assert errors == []
        r = enqueue(session, good, source_id=None)
        return r.queued, r.updated, r.unchanged, r.duplicates


def test_validation_names_the_item_and_field() -> None:
    errors = validate(
        RawItem("webhook abc", {**ITEM, "published_at": "2026-11-13"}), {"acme-financial": "Acme"}
    )
    assert isinstance(errors, list)
    assert [(e.path, e.field) for e in errors] == [("webhook abc", "published_at")]
    unknown = validate(
        RawItem("w", {**ITEM, "account_id": "nobody-inc"}), {"acme-financial": "Acme"}
    )
    assert isinstance(unknown, list) and unknown[0].field == "account_id"


def test_enqueue_is_idempotent_updates_changed_items_and_skips_syndicated_copies(
    sample_sessions: sessionmaker[Session], sample_index: VectorIndex
) -> None:
    assert queue(sample_sessions, ITEM) == (1, 0, 0, 0)
    assert queue(sample_sessions, ITEM) == (0, 0, 1, 0)
    copy = {**ITEM, "id": "hook-2", "source_url": "https://elsewhere.example/notes"}
    assert queue(sample_sessions, copy) == (0, 0, 0, 1)
    assert drain(sample_sessions, sample_index).added == 1
    assert drain(sample_sessions, sample_index).added == 0
    corrected = {**ITEM, "text": ITEM["text"] + " Proceeds fund data infrastructure."}
    assert queue(sample_sessions, corrected) == (0, 1, 0, 0)
    report = drain(sample_sessions, sample_index)
    assert (report.added, report.updated) == (0, 1)
    with sample_sessions() as session:
        record = session.get(SignalRecord, "hook-1")
        assert record is not None and record.content_hash == content_hash(
            ITEM["title"], corrected["text"]
        )
        assert session.scalars(select(IntakeItem.status)).all() == ["ingested"]
    assert "Proceeds fund" in sample_index.get(["hook-1"])[0].text


def test_a_crash_between_ingest_and_marking_heals_on_the_next_drain(
    sample_sessions: sessionmaker[Session], sample_index: VectorIndex
) -> None:
    queue(sample_sessions, ITEM)
    drain(sample_sessions, sample_index)
    with transaction(sample_sessions) as session:  # as if the process died before the mark
        item = session.get(IntakeItem, "hook-1")
        assert item is not None
        item.status = "queued"
    again = drain(sample_sessions, sample_index)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 1)
    with sample_sessions() as session:
        assert session.get(IntakeItem, "hook-1").status == "ingested"  # type: ignore[union-attr]
        assert session.query(SignalRecord).filter(SignalRecord.id == "hook-1").count() == 1
