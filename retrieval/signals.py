"""Read signals from JSONL, one per line, keeping every valid line of a partly bad file.

The file is streamed: memory holds one line (at most ``max_line_bytes``) and the ids seen,
whatever the file's size, and an overlong line is skipped without being held.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from retrieval.schemas import Signal
from retrieval.text_input import SNIFF_BYTES, nul_field, sniff, too_deep
from samdesk.errors import InputError

MAX_LINE_BYTES = 256_000  # Settings.max_signal_bytes; a valid signal is well under this
_BLOCK = 1 << 16


def load_signals(
    path: Path, *, max_line_bytes: int = MAX_LINE_BYTES
) -> tuple[list[Signal], list[InputError]]:
    """Valid signals in file order, and one error per bad line (with its field)."""
    signals: list[Signal] = []
    errors: list[InputError] = []
    for item in read_signals(path, max_line_bytes=max_line_bytes):
        if isinstance(item, InputError):
            errors.append(item)
        else:
            signals.append(item[1])
    return signals, errors


def read_signals(
    path: Path, *, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, Signal] | InputError]:
    """Each valid signal with its line, or an error per bad line, in file order."""
    first_seen: dict[str, int] = {}
    try:
        handle = path.open("rb")
    except OSError as exc:
        yield InputError(path, None, None, f"cannot read file: {exc.strerror}")
        return
    with handle:
        problem = sniff(handle.peek(SNIFF_BYTES)[:SNIFF_BYTES])
        if problem:
            yield InputError(path, None, None, problem)
            return
        for number, raw in _numbered_lines(handle, max_line_bytes):
            if raw is None:
                yield InputError(
                    path,
                    number,
                    None,
                    f"line longer than {max_line_bytes} bytes; shorten the signal's text "
                    "or raise SAMDESK_MAX_SIGNAL_BYTES",
                )
                continue
            signal = _parse_line(path, number, raw)
            if not isinstance(signal, Signal):
                yield from signal
            elif signal.id in first_seen:
                yield InputError(
                    path,
                    number,
                    "id",
                    f"duplicate id {signal.id!r}, first at line {first_seen[signal.id]}",
                )
            else:
                first_seen[signal.id] = number
                yield number, signal


def count_lines(path: Path) -> int:
    """Lines in the file, read in blocks (a progress total; one huge line costs no memory)."""
    count, last = 0, b"\n"
    try:
        with path.open("rb") as handle:
            while block := handle.read(_BLOCK):
                count += block.count(b"\n")
                last = block[-1:]
    except OSError:
        return 0  # the ingest itself reports the file
    return count + (last != b"\n")


def _numbered_lines(handle: IO[bytes], max_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """Non-blank lines with their numbers; ``None`` for a line over ``max_bytes``."""
    number = 0
    while raw := handle.readline(max_bytes + 2):  # room for the line end
        number += 1
        if len(raw.rstrip(b"\r\n")) > max_bytes:
            while not raw.endswith(b"\n") and (raw := handle.readline(_BLOCK)):
                pass  # skip the rest of the line, a block at a time
            yield number, None
        elif raw.strip():
            yield number, raw


def _parse_line(path: Path, number: int, raw: bytes) -> Signal | list[InputError]:
    def bad(problem: str, field: str | None = None) -> list[InputError]:
        return [InputError(path, number, field, problem)]

    if b"\x00" in raw:
        return bad("holds a NUL byte (binary data?); each line must be one JSON object")
    try:
        text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        return bad(
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02X} at column {exc.start + 1}); "
            "save the file as UTF-8"
        )
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return bad(f"not valid JSON ({exc.msg}, col {exc.colno})")
    except RecursionError:
        return bad("JSON nested too deeply; each line must be one flat JSON object")
    if not isinstance(data, dict):
        return bad("each line must be one JSON object")
    if too_deep(data):
        return bad("JSON nested too deeply; each line must be one flat JSON object")
    field = nul_field(data)
    if field:
        return bad("holds a NUL character (\\u0000); remove it", field)
    try:
        return Signal.model_validate(data)
    except ValidationError as exc:
        return [
            InputError(path, number, ".".join(str(p) for p in err["loc"]) or None, err["msg"])
            for err in exc.errors()
        ]
