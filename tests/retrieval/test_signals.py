"""Signals JSONL: every good line loads, every bad line is one error with its line and field."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from retrieval.signals import MAX_LINE_BYTES, load_signals
from tests.conftest import SAMPLES

SIGNALS = SAMPLES / "signals" / "signals.jsonl"


def signal(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "sig-test-001",
        "account_id": "acme-financial",
        "type": "funding",
        "title": "Acme raises a round",
        "text": "Acme Financial Corp raised $50M to expand its trading desk.",
        "source_url": "https://news.example/acme-round",
        "published_at": "2026-11-20T09:00:00Z",
    }
    data.update(overrides)
    return data


def line(**overrides: Any) -> bytes:
    return json.dumps(signal(**overrides)).encode() + b"\n"


def test_sample_signals_all_load() -> None:
    signals, errors = load_signals(SIGNALS)

    assert errors == []
    assert len(signals) == 85
    assert len({s.id for s in signals}) == 85
    first = signals[0]  # file order is kept
    assert first.id == "sig-lumen-001"
    assert first.type == "m_and_a"
    assert first.published_at == datetime(2026, 1, 14, 14, 0, tzinfo=UTC)
    assert str(first.source_url).startswith("https://media.news.example/")


def test_valid_line_is_parsed_with_types(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(line(published_at="2026-11-20T11:00:00+02:00"))

    [parsed], errors = load_signals(path)

    assert errors == []
    assert parsed.published_at == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    assert parsed.text.startswith("Acme Financial Corp raised")


BAD_LINES: list[tuple[str, bytes, str | None, str]] = [
    ("not-json", b'{"id": "sig-x", oops}\n', None, "not valid JSON"),
    ("not-an-object", b'["sig-x", "acme-financial"]\n', None, "one JSON object"),
    (
        "missing-field",
        json.dumps({k: v for k, v in signal().items() if k != "title"}).encode() + b"\n",
        "title",
        "required",
    ),
    ("bad-type", line(type="rumour"), "type", "funding"),
    ("naive-timestamp", line(published_at="2026-11-20T09:00:00"), "published_at", "timezone"),
    ("bad-url", line(source_url="not a url"), "source_url", "URL"),
    ("extra-field", line(sentiment="positive"), "sentiment", "not permitted"),
    ("bad-id", line(id="has spaces"), "id", "pattern"),
    ("non-utf8", b'{"id": "sig-x", "title": "caf\xe9"}\n', None, "UTF-8"),
]


@pytest.mark.parametrize(
    ("bad", "field", "problem"),
    [case[1:] for case in BAD_LINES],
    ids=[case[0] for case in BAD_LINES],
)
def test_bad_line_is_one_error_and_good_lines_still_load(
    tmp_path: Path, bad: bytes, field: str | None, problem: str
) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        line(id="sig-good-1")
        + b"\n"  # a blank line 2 still counts for numbering
        + bad
        + line(id="sig-good-2")
    )

    signals, errors = load_signals(path)

    assert [s.id for s in signals] == ["sig-good-1", "sig-good-2"]
    assert len(errors) == 1, errors
    [error] = errors
    assert error.line == 3
    assert error.field == field
    assert problem.lower() in error.problem.lower()
    assert str(error).startswith(f"{path}:3:")


def test_duplicate_id_keeps_the_first_and_reports_the_second(tmp_path: Path) -> None:
    path = tmp_path / "dup.jsonl"
    path.write_bytes(line(title="first") + line(id="sig-other") + line(title="second"))

    signals, errors = load_signals(path)

    assert [(s.id, s.title) for s in signals] == [
        ("sig-test-001", "first"),
        ("sig-other", "Acme raises a round"),
    ]
    [error] = errors
    assert (error.line, error.field) == (3, "id")
    assert "first at line 1" in error.problem


def test_each_bad_line_is_reported_separately(tmp_path: Path) -> None:
    path = tmp_path / "many.jsonl"
    path.write_bytes(
        b"garbage\n"
        + line(id="sig-a")
        + line(id="sig-b", type="rumour")
        + b"42\n"
        + line(id="sig-c", published_at="yesterday")
        + line(id="sig-d")
    )

    signals, errors = load_signals(path)

    assert [s.id for s in signals] == ["sig-a", "sig-d"]
    assert [(e.line, e.field) for e in errors] == [
        (1, None),
        (3, "type"),
        (4, None),
        (5, "published_at"),
    ]


def test_one_line_with_several_bad_fields_reports_each_field(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(line(type="rumour", source_url="ftp:/x"))

    signals, errors = load_signals(path)

    assert signals == []
    assert {(e.line, e.field) for e in errors} == {(1, "type"), (1, "source_url")}


def test_overlong_line_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    path.write_bytes(line(text="x" * MAX_LINE_BYTES) + line(id="sig-ok"))

    signals, errors = load_signals(path)

    assert [s.id for s in signals] == ["sig-ok"]
    [error] = errors
    assert error.line == 1
    assert "longer than" in error.problem


def test_missing_file_is_reported(tmp_path: Path) -> None:
    signals, [error] = load_signals(tmp_path / "absent.jsonl")

    assert signals == []
    assert "cannot read" in error.problem
