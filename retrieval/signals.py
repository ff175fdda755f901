"""Read signals from JSONL, one per line, keeping every valid line of a partly bad file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from retrieval.schemas import Signal
from samdesk.errors import InputError

MAX_LINE_BYTES = 1_000_000


def load_signals(path: Path) -> tuple[list[Signal], list[InputError]]:
    """Valid signals in file order, and one error per bad line (with its field)."""
    signals: list[Signal] = []
    errors: list[InputError] = []
    first_seen: dict[str, int] = {}
    try:
        lines = list(_numbered_lines(path))
    except OSError as exc:
        return [], [InputError(path, None, None, f"cannot read file: {exc.strerror}")]
    for number, raw in lines:
        signal = _parse_line(path, number, raw, errors)
        if signal is None:
            continue
        if signal.id in first_seen:
            errors.append(
                InputError(
                    path,
                    number,
                    "id",
                    f"duplicate id {signal.id!r}, first at line {first_seen[signal.id]}",
                )
            )
            continue
        first_seen[signal.id] = number
        signals.append(signal)
    return signals, errors


def _numbered_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if raw.strip():
                yield number, raw


def _parse_line(path: Path, number: int, raw: bytes, errors: list[InputError]) -> Signal | None:
    if len(raw) > MAX_LINE_BYTES:
        errors.append(InputError(path, number, None, f"line longer than {MAX_LINE_BYTES} bytes"))
        return None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        errors.append(InputError(path, number, None, "not valid UTF-8 text"))
        return None
    except json.JSONDecodeError as exc:
        errors.append(
            InputError(path, number, None, f"not valid JSON ({exc.msg}, col {exc.colno})")
        )
        return None
    if not isinstance(data, dict):
        errors.append(InputError(path, number, None, "each line must be one JSON object"))
        return None
    try:
        return Signal.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(part) for part in err["loc"]) or None
            errors.append(InputError(path, number, field, err["msg"]))
        return None
