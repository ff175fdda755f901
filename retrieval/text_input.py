"""Read a user's text file defensively: size capped before reading, UTF-8 or a clear reason.

Plans and signal files come from laptops and exports: a PNG saved as ``.md``, a UTF-16
export from a spreadsheet, a log file renamed ``.jsonl``. Each gets one error that names
the file (and line) and says what to do, read in bounded memory, instead of a flood of
per-line errors, a crash deep in a parser or an exhausted process.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

SNIFF_BYTES = 8192
MAX_DEPTH = 64  # plans and signals nest a few levels; deeper is hostile or broken

_MAGIC = (
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (a .docx or .xlsx?)"),
    (b"\x1f\x8b", "gzip-compressed data"),
)
_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def read_capped(path: Path, max_bytes: int, setting: str) -> bytes | str:
    """The file's bytes, or why not: unreadable, or over ``max_bytes`` (read no further)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(max_bytes + 1)
            size = os.fstat(handle.fileno()).st_size
    except OSError as exc:
        return f"cannot read file: {exc.strerror}"
    if len(raw) > max_bytes:
        return f"file is larger than {max_bytes} bytes ({size} bytes); split it, or raise {setting}"
    return raw


def sniff(head: bytes) -> str | None:
    """Why a file starting with ``head`` is not UTF-8 text (binary, UTF-16), or ``None``."""
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return f"this is {what}, not text; export the content as UTF-8 text"
    for bom, name in _BOMS:
        if head.startswith(bom):
            return f"the file is {name}-encoded; save it as UTF-8"
    head = head[:SNIFF_BYTES]
    if head.count(b"\x00") > len(head) // 100:  # a stray NUL is a line's problem, not the file's
        return (
            "the file holds NUL bytes (binary data, or UTF-16 without a byte order mark); "
            "save it as UTF-8 text"
        )
    return None


def decode_utf8(raw: bytes) -> str | tuple[int, str]:
    """``raw`` as text (a UTF-8 BOM dropped), or the 1-based line and what is wrong there."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        hint = " (saved as Latin-1 or Windows-1252?)" if raw[exc.start] >= 0x80 else ""
        return line, (
            f"not valid UTF-8: byte 0x{raw[exc.start]:02X} at column {column}{hint}; "
            "save the file as UTF-8"
        )
    nul = text.find("\x00")
    if nul >= 0:
        return text.count("\n", 0, nul) + 1, "holds a NUL character; remove it (binary data?)"
    return text


def nul_field(value: Any) -> str | None:
    """The path of the first string in ``value`` holding NUL (``"\\u0000"``), or ``None``.

    Iterative, not recursive: ``value`` came from an untrusted parser.
    """
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return where or "value"
        elif isinstance(item, dict):
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in item.items())
        elif isinstance(item, list):
            stack.extend((f"{where}.{i}" if where else str(i), v) for i, v in enumerate(item))
    return None


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Nested deeper than ``limit`` lists/dicts (iteratively measured)."""
    stack: list[tuple[int, Any]] = [(0, value)]
    while stack:
        depth, item = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((depth + 1, v) for v in item.values())
        elif isinstance(item, list):
            stack.extend((depth + 1, v) for v in item)
    return False


def bracket_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in ``text`` (quotes ignored: an upper bound, cheap).

    PyYAML parses deep flow nesting in quadratic time (4,000 levels: ~20 s), so a plan's
    front matter is measured with this before it is parsed at all.
    """
    depth = deepest = 0
    for char in re.sub(r"[^\[\]{}]", "", text):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth = max(depth - 1, 0)
    return deepest
