"""Ingest when SQLite refuses a write (locked by another process, full): a clear error,
nothing half-stored, the vector index and the database agreeing, and a re-run that heals.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from approval_ui.db_errors import unavailable
from retrieval.embeddings import Embedder
from retrieval.index import VectorIndex
from retrieval.ingest import ingest
from samdesk.cli import main
from samdesk.config import get_settings
from samdesk.db import make_engine, migrate, session_factory
from samdesk.runtime import Runtime
from tests.db_faults import db_file, held_lock, integrity, page_limit, sqlite_settings
from tests.factories import one_account_inputs

ACME = "acme-financial"


def sqlite_sessions(data_dir: Path, busy_ms: int = 200) -> sessionmaker[Session]:
    engine = make_engine(sqlite_settings(data_dir).resolved_database_url, busy_timeout_ms=busy_ms)
    migrate(engine)
    return session_factory(engine)


def stored(db: Path) -> tuple[set[str], set[str]]:
    with sqlite3.connect(db) as conn:
        accounts = {a for (a,) in conn.execute("SELECT id FROM accounts")}
        signals = {s for (s,) in conn.execute("SELECT id FROM signals")}
    return accounts, signals


def assert_index_matches_database(index: VectorIndex, db: Path) -> None:
    accounts, signals = stored(db)
    assert index.ids_for(ACME, "signal") == signals
    assert bool(index.ids_for(ACME, "plan")) == (ACME in accounts)


def test_ingest_into_a_locked_database_stores_and_indexes_nothing_then_a_rerun_heals(
    tmp_path: Path, embedder: Embedder
) -> None:
    folder = one_account_inputs(tmp_path / "in")
    data_dir = tmp_path / "data"
    sessions = sqlite_sessions(data_dir)
    index = VectorIndex.persistent(tmp_path / "chroma", embedder)
    db = db_file(data_dir)

    with held_lock(db), pytest.raises(OperationalError) as caught:
        ingest([folder], index=index, sessions=sessions)

    outage = unavailable(caught.value)
    assert outage is not None and outage.http_status == 503
    assert "database is locked" in str(outage) and "nothing was saved" in str(outage)
    assert stored(db) == (set(), set())
    assert index.count() == 0  # the plan's chunks went in first, and came out again
    assert integrity(db) == "ok"

    report = ingest([folder], index=index, sessions=sessions)
    assert not report.errors and report.added == 1 + 11
    assert_index_matches_database(index, db)


def test_a_database_that_fills_up_mid_ingest_keeps_what_it_stored_and_indexes_no_more(
    tmp_path: Path, embedder: Embedder
) -> None:
    folder = one_account_inputs(tmp_path / "in")
    plan_only = tmp_path / "plan"
    plan_only.mkdir()
    shutil.copy(folder / f"{ACME}.md", plan_only)
    data_dir = tmp_path / "data"
    sessions = sqlite_sessions(data_dir)
    index = VectorIndex.persistent(tmp_path / "chroma", embedder)
    db = db_file(data_dir)
    assert ingest([plan_only], index=index, sessions=sessions).added == 1
    plan_chunks = index.count()

    with page_limit(db) as limit:
        with pytest.raises(OperationalError) as caught:
            ingest([folder], index=index, sessions=sessions)
        outage = unavailable(caught.value)
        assert outage is not None and "database is full" in str(outage)
        assert stored(db) == ({ACME}, set())  # the plan stays; no signal half-stored
        assert index.count() == plan_chunks  # and none of the refused signals indexed
        assert integrity(db) == "ok"
        limit.lift()
        report = ingest([folder], index=index, sessions=sessions)
    assert not report.errors and (report.added, report.unchanged) == (11, 1)
    assert_index_matches_database(index, db)


def test_samdesk_ingest_on_a_locked_database_prints_what_happened_not_a_traceback(
    tmp_path: Path,
    embedder: Embedder,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = one_account_inputs(tmp_path / "in")
    index = VectorIndex.persistent(tmp_path / "chroma", embedder)
    monkeypatch.setattr(Runtime, "index", property(lambda _self: index))  # no 2nd model load
    data_dir = tmp_path / "data"
    sqlite_sessions(data_dir)  # migrated, so the lock holder has a file to lock
    monkeypatch.setenv("SAMDESK_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SAMDESK_DATABASE_URL", sqlite_settings(data_dir).resolved_database_url)
    monkeypatch.setenv("SAMDESK_SQLITE_BUSY_TIMEOUT_MS", "200")
    monkeypatch.setattr(sys, "argv", ["samdesk", "ingest", str(folder)])
    get_settings.cache_clear()
    try:
        with held_lock(db_file(data_dir)), pytest.raises(SystemExit) as exited:
            main()  # as the console script runs it: errors become a message and exit 1
    finally:
        get_settings.cache_clear()

    assert exited.value.code == 1
    err = " ".join(capsys.readouterr().err.split())
    assert "error: the database is locked by another process" in err
    assert "nothing was saved" in err and "Traceback" not in err
