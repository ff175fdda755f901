"""Oversized and hostile ingest input: huge files and lines, binary files, deep nesting, wrong
encodings, NUL bytes, YAML alias bombs. Each is refused with the file, line and what to do,
in bounded memory (tracemalloc), while the good files of the same ingest still go in and
the vector index holds exactly what the database holds.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest
from typer.testing import CliRunner

from retrieval.embeddings import Embedder
from retrieval.index import VectorIndex
from retrieval.ingest import ingest
from retrieval.plans import MAX_PLAN_BYTES, load_plan
from retrieval.signals import MAX_LINE_BYTES, count_lines, load_signals
from retrieval.sources import SourceError, fetch
from samdesk.cli import app
from samdesk.config import get_settings
from samdesk.errors import InputError
from tests.conftest import SAMPLES, make_sessions
from tests.db_faults import sqlite_settings

MB = 1024 * 1024
ACME = "acme-financial"
ACME_PLAN = (SAMPLES / "accounts" / f"{ACME}.md").read_text(encoding="utf-8")
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40
T = TypeVar("T")


def peak_mb(work: Callable[[], T]) -> tuple[T, float]:
    """``work()``'s result and the most memory Python allocated during it, in MB."""
    tracemalloc.start()
    try:
        result = work()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak / MB


def signal(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "sig-hostile-ok",
        "account_id": ACME,
        "type": "funding",
        "title": "Acme raises a round",
        "text": "Acme Financial Corp raised a Series D.",
        "source_url": "https://news.example/acme",
        "published_at": "2026-11-20T09:00:00Z",
        **overrides,
    }


def jsonl(*items: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(item).encode() + b"\n" for item in items)


def only(errors: list[InputError]) -> InputError:
    assert len(errors) == 1, errors
    return errors[0]


# -- size -----------------------------------------------------------------------------------


def test_a_10_mb_plan_is_refused_after_reading_no_more_than_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.md"
    path.write_text(ACME_PLAN + "\n## Notes\n" + "lorem ipsum " * (10 * MB // 12))

    (plan, errors), peak = peak_mb(lambda: load_plan(path))

    assert plan is None
    error = only(errors)
    assert error.path == str(path) and error.line is None
    assert f"larger than {MAX_PLAN_BYTES} bytes ({path.stat().st_size} bytes)" in error.problem
    assert "SAMDESK_MAX_PLAN_BYTES" in error.problem
    assert peak < 3  # the 1 MB read cap, not the 10 MB file


def test_a_single_10_mb_signal_line_is_skipped_unheld_and_the_next_line_loads(
    tmp_path: Path,
) -> None:
    path = tmp_path / "huge-line.jsonl"
    with path.open("wb") as handle:
        handle.write(json.dumps(signal(id="sig-huge", text="x" * (10 * MB))).encode() + b"\n")
        handle.write(jsonl(signal()))

    (signals, errors), peak = peak_mb(lambda: load_signals(path))

    assert [s.id for s in signals] == ["sig-hostile-ok"]
    error = only(errors)
    assert (error.line, error.field) == (1, None)
    assert f"line longer than {MAX_LINE_BYTES} bytes" in error.problem
    assert "SAMDESK_MAX_SIGNAL_BYTES" in error.problem
    assert peak < 2  # one capped line at a time: the 10 MB line is never held


def test_a_10_mb_signal_file_is_streamed_in_bounded_memory(
    tmp_path: Path, embedder: Embedder
) -> None:
    path = tmp_path / "export.jsonl"
    line = json.dumps(signal(account_id="not-our-customer", text="y" * 9000)).encode()
    count = 10 * MB // (len(line) + 1)
    with path.open("wb") as handle:
        for n in range(count):
            handle.write(line.replace(b"sig-hostile-ok", f"sig-{n:06d}".encode()) + b"\n")
    sessions = make_sessions(sqlite_settings(tmp_path / "data").resolved_database_url)
    index = VectorIndex.persistent(tmp_path / "chroma", embedder)

    report, peak = peak_mb(lambda: ingest([path], index=index, sessions=sessions))

    assert len(report.errors) == count and report.added == 0
    first = report.errors[0]
    assert (first.path, first.line, first.field) == (str(path), 1, "account_id")
    assert index.count() == 0
    assert peak < 10, f"{peak:.1f} MB for a 10 MB file"  # never held whole
    assert count_lines(path) == count


# -- binary, encodings, NUL -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (PNG, "this is a PNG image, not text"),
        (b"%PDF-1.7\n" + bytes(500), "this is a PDF document"),
        (ACME_PLAN.encode("utf-16"), "the file is UTF-16-encoded; save it as UTF-8"),
        (ACME_PLAN.encode("utf-16-le"), "NUL bytes (binary data, or UTF-16 without"),
    ],
    ids=["png", "pdf", "utf16-bom", "utf16-no-bom"],
)
def test_a_binary_or_utf16_file_is_one_error_for_plans_and_signals(
    tmp_path: Path, raw: bytes, problem: str
) -> None:
    plan_path, signals_path = tmp_path / "plan.md", tmp_path / "signals.jsonl"
    plan_path.write_bytes(raw)
    signals_path.write_bytes(raw)

    plan, plan_errors = load_plan(plan_path)
    signals, signal_errors = load_signals(signals_path)

    assert plan is None and signals == []
    for path, error in ((plan_path, only(plan_errors)), (signals_path, only(signal_errors))):
        assert error.path == str(path) and problem in error.problem


def test_a_latin1_plan_names_the_line_column_and_the_likely_encoding(tmp_path: Path) -> None:
    path = tmp_path / "latin1.md"
    path.write_bytes(ACME_PLAN.replace("Acme Financial Corp", "Acme Financière").encode("latin-1"))

    error = only(load_plan(path)[1])

    expected_line = (
        ACME_PLAN.splitlines().index(
            next(x for x in ACME_PLAN.splitlines() if "Acme Financial Corp" in x)
        )
        + 1
    )
    assert error.line == expected_line
    assert "byte 0xE8" in error.problem and "Latin-1" in error.problem
    assert "save the file as UTF-8" in error.problem


def test_signals_utf8_bom_is_accepted_bad_bytes_and_nul_are_errors_per_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf"
        + jsonl(signal(id="sig-bom"))  # a UTF-8 BOM, as Windows tools write
        + jsonl(signal(id="sig-latin1")).replace(b"raises", b"l\xe8ve")
        + jsonl(signal(id="sig-nul-escaped", text="before\u0000after"))
        + jsonl(signal(id="sig-nul-raw")).replace(b"round", b"ro\x00und")
        + jsonl(signal(id="sig-last"))
    )

    signals, errors = load_signals(path)

    assert [s.id for s in signals] == ["sig-bom", "sig-last"]
    assert [(e.line, e.field) for e in errors] == [(2, None), (3, "text"), (4, None)]
    assert "not valid UTF-8 (byte 0xE8" in errors[0].problem
    assert "NUL character" in errors[1].problem
    assert "NUL byte" in errors[2].problem


def test_nul_in_a_plan_is_refused_with_its_line(tmp_path: Path) -> None:
    late = tmp_path / "late-nul.md"
    late.write_text(ACME_PLAN + "\n" + "padding line\n" * 1000 + "bad \x00 byte\n")
    escaped = tmp_path / "escaped-nul.md"
    escaped.write_text(ACME_PLAN.replace("name: Acme Financial Corp", 'name: "Acme\\0 Corp"'))

    late_error = only(load_plan(late)[1])
    escaped_error = only(load_plan(escaped)[1])

    assert late_error.line == len(ACME_PLAN.splitlines()) + 1001 + 1
    assert "NUL character" in late_error.problem
    assert (escaped_error.field, "NUL character" in escaped_error.problem) == ("name", True)
    assert escaped_error.line == next(
        n for n, x in enumerate(ACME_PLAN.splitlines(), 1) if x.startswith("name:")
    )


# -- structure ------------------------------------------------------------------------------


def test_deeply_nested_json_is_refused_without_a_recursion_error(tmp_path: Path) -> None:
    path = tmp_path / "nested.jsonl"
    path.write_bytes(
        b'{"id": "sig-deep", "text": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}\n"
        + b'{"id": "sig-deep2", "text": '
        + b"[" * 500
        + b"]" * 500
        + b"}\n"
        + jsonl(signal())
    )

    signals, errors = load_signals(path)

    assert [s.id for s in signals] == ["sig-hostile-ok"]
    assert [(e.line, "nested too deeply" in e.problem) for e in errors] == [(1, True), (2, True)]


def test_deeply_nested_yaml_and_alias_bombs_in_a_plan_are_refused(tmp_path: Path) -> None:
    front_end = ACME_PLAN.index("\n---", 3)
    deep = tmp_path / "deep.md"
    deep.write_text(
        ACME_PLAN[:front_end] + "\nextra: " + "[" * 50_000 + "]" * 50_000 + ACME_PLAN[front_end:]
    )
    bomb = tmp_path / "bomb.md"
    laughs = "\n".join(
        ["lol0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
        + [f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
    )
    bomb.write_text(ACME_PLAN[:front_end] + "\n" + laughs + ACME_PLAN[front_end:])

    started = time.perf_counter()
    (deep_result, bomb_result), peak = peak_mb(lambda: (load_plan(deep), load_plan(bomb)))
    elapsed = time.perf_counter() - started

    deep_error, bomb_error = only(deep_result[1]), only(bomb_result[1])
    assert deep_error.problem == "front matter is nested more than 64 levels deep"
    assert "YAML aliases (*name) are not allowed" in bomb_error.problem
    assert bomb_error.line == ACME_PLAN[:front_end].count("\n") + 3  # the first alias
    assert peak < 50 and elapsed < 2  # PyYAML alone takes ~20 s on 4,000 flow levels


# -- one ingest, good and hostile together --------------------------------------------------


@pytest.fixture
def hostile_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    (folder / "signals").mkdir(parents=True)
    shutil.copy(SAMPLES / "accounts" / f"{ACME}.md", folder)
    good = [
        x
        for x in (SAMPLES / "signals" / "signals.jsonl").read_text().splitlines()
        if f'"{ACME}"' in x
    ]
    (folder / "signals" / "acme.jsonl").write_text("\n".join(good) + "\n")
    (folder / "logo.md").write_bytes(PNG)
    (folder / "signals" / "logo.jsonl").write_bytes(PNG)
    (folder / "excel-export.md").write_bytes(ACME_PLAN.encode("utf-16"))
    (folder / "signals" / "hostile.jsonl").write_bytes(
        jsonl(signal(id="sig-too-long", text="z" * (MAX_LINE_BYTES + 10)))
        + b'{"id": "sig-deep", "text": '
        + b"[" * 100_000
        + b"]" * 100_000
        + b"}\n"
        + jsonl(signal(id="sig-nul", text="a\u0000b"))
        + jsonl(signal(id="sig-hostile-ok"))  # the one good line: it goes in
    )
    return folder


def indexed_signals(index: VectorIndex) -> set[str]:
    return index.ids_for(ACME, "signal")


def stored_signals(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {s for (s,) in conn.execute("SELECT id FROM signals")}


def test_one_ingest_keeps_the_good_files_and_lines_and_indexes_nothing_it_refused(
    tmp_path: Path, hostile_folder: Path, embedder: Embedder
) -> None:
    settings = sqlite_settings(tmp_path / "data")
    sessions = make_sessions(settings.resolved_database_url)
    index = VectorIndex.persistent(tmp_path / "chroma", embedder)

    report = ingest([hostile_folder], index=index, sessions=sessions)

    where = sorted((Path(e.path).name, e.line) for e in report.errors)
    assert where == [
        ("excel-export.md", None),
        ("hostile.jsonl", 1),
        ("hostile.jsonl", 2),
        ("hostile.jsonl", 3),
        ("logo.jsonl", None),
        ("logo.md", None),
    ]
    assert report.added == 1 + 11 + 1  # the plan, its 11 signals, the one good hostile line
    db = settings.data_dir / "samdesk.db"
    assert indexed_signals(index) == stored_signals(db)
    assert not {"sig-too-long", "sig-deep", "sig-nul"} & indexed_signals(index)


@pytest.fixture
def data_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("SAMDESK_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SAMDESK_DATABASE_URL", sqlite_settings(data_dir).resolved_database_url)
    monkeypatch.setenv("SAMDESK_MAX_SIGNAL_BYTES", "400")  # the setting reaches the ingest
    get_settings.cache_clear()
    yield data_dir
    get_settings.cache_clear()


def test_samdesk_ingest_lists_every_refused_file_and_line_and_honours_the_limits(
    data_env: Path, hostile_folder: Path
) -> None:
    result = CliRunner().invoke(app, ["ingest", str(hostile_folder)])

    assert result.exit_code == 1
    out = " ".join(result.output.split())  # undo the terminal's wrapping
    assert "logo.md: this is a PNG image, not text" in out
    assert "excel-export.md: the file is UTF-16-encoded; save it as UTF-8" in out
    # SAMDESK_MAX_SIGNAL_BYTES=400 reached the ingest: the deep line is now merely too long.
    assert "hostile.jsonl:2: line longer than 400 bytes" in out
    assert "hostile.jsonl:3: field 'text' holds a NUL character" in out
    assert "Ingest:" in out and "rejected" in out


# -- sources: feeds and calendars fetched over HTTP or read from disk ----------------------


@pytest.fixture
def huge_feed_url() -> Iterator[str]:
    """A real server whose feed is 20 MB; a client that hangs up early is no error here."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(20 * MB))
            self.end_headers()
            try:
                for _ in range(20):
                    self.wfile.write(b"x" * MB)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/feed.rss"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_an_oversized_feed_is_refused_while_downloading_not_after(
    huge_feed_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch, "MAX_BYTES", MB)
    local = tmp_path / "huge.ics"
    local.write_bytes(b"x" * (2 * MB))

    refused, peak = peak_mb(
        lambda: pytest.raises(SourceError, fetch.conditional_get, huge_feed_url)
    )
    assert f"larger than {MB} bytes" in str(refused.value)
    with pytest.raises(SourceError, match="huge.ics: larger than"):
        fetch.conditional_get(str(local))

    assert peak < 4  # stopped at the 1 MB cap, not after buffering the 20 MB body
