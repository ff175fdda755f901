"""What changed between two revisions, and how much a reviewer rewrote the model's text.

Diffs are word-level (a reviewer reads sentences, not characters) and returned as plain
segments; the template escapes them, so a diff can never inject markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

from rapidfuzz.distance import Levenshtein

from samdesk.models import Revision

Op = Literal["same", "added", "removed"]
_TOKENS = re.compile(r"\s+|[^\s]+")
FIELDS = ("recipient", "subject", "body")


@dataclass(frozen=True)
class Segment:
    op: Op
    text: str


@dataclass(frozen=True)
class FieldDiff:
    field: str
    segments: list[Segment]

    @property
    def changed(self) -> bool:
        return any(s.op != "same" for s in self.segments)


@dataclass(frozen=True)
class RevisionDiff:
    """The fields of ``new`` compared with ``old`` (revision numbers kept for the labels)."""

    old: int
    new: int
    fields: list[FieldDiff]

    @property
    def changed(self) -> bool:
        return any(f.changed for f in self.fields)


def word_diff(old: str, new: str) -> list[Segment]:
    a, b = _TOKENS.findall(old), _TOKENS.findall(new)
    segments: list[Segment] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            _push(segments, "same", "".join(a[i1:i2]))
            continue
        if tag in ("delete", "replace"):
            _push(segments, "removed", "".join(a[i1:i2]))
        if tag in ("insert", "replace"):
            _push(segments, "added", "".join(b[j1:j2]))
    return _merge_changes(segments)


def _merge_changes(segments: list[Segment]) -> list[Segment]:
    """One removal and one addition per changed stretch: a lone space kept between two
    changed words would otherwise chop "next week" -> "on Tuesday" into four pieces."""
    merged: list[Segment] = []
    removed, added = "", ""
    for at, seg in enumerate(segments):
        between = 0 < at < len(segments) - 1 and (removed or added)
        if seg.op == "same" and not (between and not seg.text.strip()):
            _flush(merged, removed, added)
            removed, added = "", ""
            merged.append(seg)
        elif seg.op == "same":
            removed, added = removed + seg.text, added + seg.text
        elif seg.op == "removed":
            removed += seg.text
        else:
            added += seg.text
    _flush(merged, removed, added)
    return merged


def _flush(merged: list[Segment], removed: str, added: str) -> None:
    if removed:
        merged.append(Segment("removed", removed))
    if added:
        merged.append(Segment("added", added))


def _push(segments: list[Segment], op: Op, text: str) -> None:
    if not text:
        return
    if segments and segments[-1].op == op:
        segments[-1] = Segment(op, segments[-1].text + text)
    else:
        segments.append(Segment(op, text))


def diff_revisions(old: Revision, new: Revision) -> RevisionDiff:
    return RevisionDiff(
        old.number,
        new.number,
        [FieldDiff(f, word_diff(getattr(old, f), getattr(new, f))) for f in FIELDS],
    )


def revision_text(revision: Revision) -> str:
    """What a reader of the email sees, as one string: recipient, subject and body."""
    return f"{revision.recipient}\n{revision.subject}\n\n{revision.body}"


def edit_distance(original: str, final: str) -> float:
    """Levenshtein distance normalised by the longer text: 0.0 unchanged, 1.0 rewritten."""
    return round(Levenshtein.normalized_distance(original, final), 4)
