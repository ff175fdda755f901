"""Ingest: idempotent, partial on bad input, and never loses what was stored before."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from retrieval.embeddings import Embedder
from retrieval.index import Ranking, VectorIndex
from retrieval.ingest import ingest
from samdesk.models import Account, SignalRecord
from tests.conftest import AS_OF, SAMPLES, make_sessions, make_settings

SIGNALS = SAMPLES / "signals" / "signals.jsonl"
ACME = SAMPLES / "accounts" / "acme-financial.md"
SAMPLE_SIGNALS = [json.loads(line) for line in SIGNALS.read_text().splitlines() if line.strip()]
PLAN_CHUNKS = 7 * 12  # seven plans of six generated blocks and six ## sections each


def sample_signal(id_: str) -> dict[str, Any]:
    return dict(next(s for s in SAMPLE_SIGNALS if s["id"] == id_))


def new_signal(id_: str, account_id: str = "acme-financial", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": id_,
        "account_id": account_id,
        "type": "funding",
        "title": f"{account_id} raises a round ({id_})",
        "text": f"{account_id} raised $40M from growth investors; signal {id_}.",
        "source_url": f"https://news.example/{id_}",
        "published_at": "2026-11-20T09:00:00Z",
    }
    data.update(overrides)
    return data


def write_jsonl(path: Path, *rows: dict[str, Any] | str) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def counts(index: VectorIndex, sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    """(indexed chunks, account rows, signal rows)."""
    with sessions() as session:
        return index.count(), session.query(Account).count(), session.query(SignalRecord).count()


def all_hashes(index: VectorIndex) -> dict[str, str]:
    ids = [s["id"] for s in SAMPLE_SIGNALS]
    for account in {s["account_id"] for s in SAMPLE_SIGNALS}:
        ids += sorted(index.ids_for(account, "plan"))
    return index.hashes(ids)


def test_samples_ingest_once_then_rerun_changes_nothing(tmp_path: Path, embedder: Embedder) -> None:
    settings = make_settings(tmp_path / "data")
    sessions = make_sessions(settings.resolved_database_url)
    index = VectorIndex.persistent(settings.chroma_dir, embedder)
    ticks: list[int] = []

    first = ingest([SAMPLES], index=index, sessions=sessions, progress=ticks.append)

    assert first.errors == []
    assert (first.added, first.updated, first.unchanged, first.chunks_removed) == (92, 0, 0, 0)
    assert first.summary() == "92 added, 0 updated, 0 unchanged, 0 rejected"
    assert sum(ticks) == 92
    assert counts(index, sessions) == (PLAN_CHUNKS + 85, 7, 85)
    with sessions() as session:
        acme = session.get(Account, "acme-financial")
        assert acme is not None
        assert (acme.arr_usd, acme.strategic_score) == (750_000, 86.5)
        assert list(acme.plan["sections"])[3] == "Risks"
        record = session.get(SignalRecord, "sig-acme-001")
        assert record is not None and record.published_at.tzinfo is not None
    hashes = all_hashes(index)
    assert len(hashes) == PLAN_CHUNKS + 85

    again = ingest([SAMPLES], index=index, sessions=sessions)

    assert again.errors == []
    assert (again.added, again.updated, again.unchanged, again.chunks_removed) == (0, 0, 92, 0)
    assert counts(index, sessions) == (PLAN_CHUNKS + 85, 7, 85)
    assert all_hashes(index) == hashes


def test_mixed_file_loads_good_lines_reports_bad_and_keeps_old_data(
    tmp_path: Path, sample_index: VectorIndex, sample_sessions: sessionmaker[Session]
) -> None:
    before = counts(sample_index, sample_sessions)
    hashes = all_hashes(sample_index)
    path = write_jsonl(
        tmp_path / "mixed.jsonl",
        new_signal("sig-acme-901"),  # 1: new
        "",  # 2: blank
        '{"id": "sig-acme-902", "account_id": ',  # 3: not JSON
        new_signal("sig-brightline-901", "brightline-energy"),  # 4: new
        new_signal("sig-acme-903", type="rumour"),  # 5: bad enum
        sample_signal("sig-acme-001"),  # 6: already stored as is
        new_signal("sig-acme-904", published_at="2026-11-20"),  # 7: naive date
    )

    report = ingest([path], index=sample_index, sessions=sample_sessions)

    assert (report.added, report.updated, report.unchanged) == (2, 0, 1)
    assert [(e.line, e.field) for e in report.errors] == [
        (3, None),
        (5, "type"),
        (7, "published_at"),
    ]
    assert all(str(e).startswith(f"{path}:{e.line}:") for e in report.errors)
    assert counts(sample_index, sample_sessions) == (before[0] + 2, before[1], before[2] + 2)
    assert all_hashes(sample_index) == hashes  # nothing stored before was touched
    assert {c.id for c in sample_index.get(["sig-acme-901", "sig-brightline-901"])} == {
        "sig-acme-901",
        "sig-brightline-901",
    }
    assert sample_index.get(["sig-acme-903", "sig-acme-904"]) == []


def test_edited_signal_text_is_updated_in_place(
    tmp_path: Path, sample_index: VectorIndex, sample_sessions: sessionmaker[Session]
) -> None:
    before = counts(sample_index, sample_sessions)
    edited = sample_signal("sig-acme-001")
    edited["text"] = "Correction: Helen Park joins Acme Financial Corp from Harbor Trust Bank."
    path = write_jsonl(tmp_path / "fix.jsonl", edited)

    report = ingest([path], index=sample_index, sessions=sample_sessions)

    assert (report.added, report.updated, report.unchanged, report.errors) == (0, 1, 0, [])
    assert counts(sample_index, sample_sessions) == before
    [chunk] = sample_index.get(["sig-acme-001"])
    assert chunk.text == edited["text"]
    with sample_sessions() as session:
        record = session.get(SignalRecord, "sig-acme-001")
        assert record is not None and record.text == edited["text"]
        assert record.content_hash == sample_index.hashes(["sig-acme-001"])["sig-acme-001"]
    [top] = sample_index.search(
        "Helen Park Harbor Trust Bank",
        account_id="acme-financial",
        k=1,
        as_of=AS_OF,
        kinds=("signal",),
        ranking=Ranking(recency_weight=0),
    )  # relevance only
    assert top.chunk.id == "sig-acme-001"


def test_corrected_signal_metadata_is_updated(
    tmp_path: Path, sample_index: VectorIndex, sample_sessions: sessionmaker[Session]
) -> None:
    # Regression: only title+text were compared, so a corrected date or URL was "unchanged".
    fixed = sample_signal("sig-acme-001")
    fixed["published_at"] = "2026-11-25T08:00:00Z"
    fixed["source_url"] = "https://www.acmefinancial.example/press/corrected"
    path = write_jsonl(tmp_path / "fix.jsonl", fixed)

    report = ingest([path], index=sample_index, sessions=sample_sessions)

    assert (report.updated, report.unchanged) == (1, 0)
    [chunk] = sample_index.get(["sig-acme-001"])
    assert chunk.published_at == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    assert chunk.url == fixed["source_url"]
    with sample_sessions() as session:
        record = session.get(SignalRecord, "sig-acme-001")
        assert record is not None
        assert record.published_at == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
        assert record.url == fixed["source_url"]


def test_signal_missing_from_the_index_is_indexed_again(
    sample_index: VectorIndex, sample_sessions: sessionmaker[Session]
) -> None:
    # Regression: with the SQL row intact the signal counted as unchanged and stayed unsearchable
    # (e.g. after switching to a new embedding model, which gets a new, empty collection).
    before = counts(sample_index, sample_sessions)
    sample_index.delete(["sig-acme-001"])

    report = ingest([SIGNALS], index=sample_index, sessions=sample_sessions)

    assert (report.added, report.updated, report.unchanged) == (0, 1, 84)
    assert counts(sample_index, sample_sessions) == before
    assert [c.id for c in sample_index.get(["sig-acme-001"])] == ["sig-acme-001"]


def test_removed_plan_section_is_removed_from_the_index(
    tmp_path: Path, sample_index: VectorIndex, sample_sessions: sessionmaker[Session]
) -> None:
    before = counts(sample_index, sample_sessions)
    text = ACME.read_text()
    path = tmp_path / "acme-financial.md"
    path.write_text(text[: text.index("## Last contact")])

    report = ingest([path], index=sample_index, sessions=sample_sessions)

    assert (report.updated, report.chunks_removed, report.errors) == (1, 1, [])
    assert "acme-financial/last-contact" not in sample_index.ids_for("acme-financial", "plan")
    assert len(sample_index.ids_for("acme-financial", "plan")) == 11
    assert counts(sample_index, sample_sessions) == (before[0] - 1, before[1], before[2])
    with sample_sessions() as session:
        acme = session.get(Account, "acme-financial")
        assert acme is not None and "Last contact" not in acme.plan["sections"]
    results = sample_index.search(
        "last contact monthly executive sync", account_id="acme-financial", k=20, as_of=AS_OF
    )
    assert "acme-financial/last-contact" not in {r.chunk.id for r in results}

    again = ingest([path], index=sample_index, sessions=sample_sessions)

    assert (again.unchanged, again.chunks_removed) == (1, 0)


def test_edited_plan_updates_account_and_only_changed_chunks(
    tmp_path: Path, sample_index: VectorIndex, sample_sessions: sessionmaker[Session]
) -> None:
    hashes = sample_index.hashes(sorted(sample_index.ids_for("acme-financial", "plan")))
    path = tmp_path / "acme-financial.md"
    path.write_text(ACME.read_text().replace("arr_usd: 750000", "arr_usd: 800000"))

    report = ingest([path], index=sample_index, sessions=sample_sessions)

    assert (report.added, report.updated, report.errors) == (0, 1, [])
    with sample_sessions() as session:
        acme = session.get(Account, "acme-financial")
        assert acme is not None and acme.arr_usd == 800_000
    [overview] = sample_index.get(["acme-financial/overview"])
    assert "Current ARR: $800,000." in overview.text
    after = sample_index.hashes(sorted(hashes))
    assert {i for i in hashes if hashes[i] != after[i]} == {"acme-financial/overview"}


def test_signal_for_unknown_account_is_rejected(
    tmp_path: Path, sample_index: VectorIndex, sample_sessions: sessionmaker[Session]
) -> None:
    before = counts(sample_index, sample_sessions)
    path = write_jsonl(
        tmp_path / "ghost.jsonl",
        new_signal("sig-ghost-1", "ghost-corp"),
        new_signal("sig-acme-905"),
    )

    report = ingest([path], index=sample_index, sessions=sample_sessions)

    assert report.added == 1
    [error] = report.errors
    assert error.field == "account_id"
    assert "ghost-corp" in error.problem and "sig-ghost-1" in error.problem
    assert str(path) in str(error)
    assert counts(sample_index, sample_sessions) == (before[0] + 1, before[1], before[2] + 1)
    assert sample_index.get(["sig-ghost-1"]) == []
    with sample_sessions() as session:
        assert session.get(SignalRecord, "sig-ghost-1") is None


def test_bad_plan_is_reported_and_the_rest_still_loads(
    tmp_path: Path, sample_index: VectorIndex, sample_sessions: sessionmaker[Session]
) -> None:
    # A heading that reuses a chunk id used to crash the whole run with chromadb's
    # DuplicateIDError, before any signal file was read.
    before = counts(sample_index, sample_sessions)
    hashes = all_hashes(sample_index)
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "acme-financial.md").write_text(ACME.read_text() + "\n## Risks!\nMore risks.\n")
    write_jsonl(folder / "new.jsonl", new_signal("sig-acme-906"))
    (folder / "README.txt").write_text("ignored inside a folder")

    report = ingest([folder], index=sample_index, sessions=sample_sessions)

    [error] = report.errors
    assert error.field == "sections.Risks!"
    assert str(folder / "acme-financial.md") in str(error)
    assert report.added == 1
    assert all_hashes(sample_index) == hashes  # the stored Acme plan is intact
    assert counts(sample_index, sample_sessions) == (before[0] + 1, before[1], before[2] + 1)


def test_unsupported_or_missing_file_passed_directly_is_reported(
    tmp_path: Path, index: VectorIndex, sessions: sessionmaker[Session]
) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a plan")
    missing = tmp_path / "absent.jsonl"

    report = ingest([notes, missing], index=index, sessions=sessions)

    assert [(e.path, e.line) for e in report.errors] == [(str(notes), None), (str(missing), None)]
    assert "expected a .md plan or .jsonl signals" in report.errors[0].problem
    assert "cannot read" in report.errors[1].problem
    assert (report.added, index.count()) == (0, 0)
