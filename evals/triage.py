"""Measure triage against hand-labelled signals: precision and recall per type, and grouping.

The labelled file is JSONL: a signal's fields plus ``label`` (its true type), ``event``
(items reporting the same event share it, else null) and ``split`` (``dev`` items were
looked at while the rules were written; ``holdout`` items were not used to tune them).
The classifier sees only title and text, never the label. A plain signals file (whose
``type`` is then the label) can be measured too, e.g. ``samples/signals/signals.jsonl``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from pathlib import Path

from retrieval.triage import TYPES, Classifier, Policy, RuleClassifier, Seen, same_event, words
from samdesk.errors import InputError

ACCOUNT_NAMES = {
    "acme-financial": "Acme Financial Corp",
    "bluewater-logistics": "Bluewater Freight & Logistics",
    "brightline-energy": "Brightline Energy",
    "harborview-retail": "Harborview Retail Group",
    "kessler-industrial": "Kessler Industrial Group",
    "lumen-street-media": "Lumen Street Media",
    "meridian-health": "Meridian Health System",
}


@dataclass(frozen=True)
class Labelled:
    id: str
    account_id: str
    title: str
    text: str
    published_at: datetime
    label: str
    event: str | None
    split: str


@dataclass
class TypeScore:
    type: str
    support: int
    predicted: int
    correct: int

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.support if self.support else 0.0


@dataclass
class TriageReport:
    classifier: str
    total: int
    correct: int
    per_type: list[TypeScore]
    group_precision: float | None  # None when the file labels no events
    group_recall: float | None
    mistakes: list[tuple[Labelled, str]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def markdown(self) -> str:
        lines = [
            "| type | n | precision | recall |",
            "| --- | ---: | ---: | ---: |",
        ]
        for row in self.per_type:
            lines.append(f"| {row.type} | {row.support} | {row.precision:.2f} | {row.recall:.2f} |")
        grouping = (
            "grouping n/a (no events labelled)"
            if self.group_precision is None or self.group_recall is None
            else f"grouping P {self.group_precision:.2f} / R {self.group_recall:.2f}"
        )
        lines.append(f"| **all** | {self.total} | accuracy {self.accuracy:.2f} | {grouping} |")
        return "\n".join(lines)


def load_labelled(path: Path) -> list[Labelled]:
    rows: list[Labelled] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            label = data.get("label", data.get("type"))  # a signals file's own types work too
            if label not in TYPES:
                raise InputError(path, number, "label", f"unknown type {label!r}")
            rows.append(
                Labelled(
                    data["id"],
                    data["account_id"],
                    data["title"],
                    data["text"],
                    datetime.fromisoformat(data["published_at"].replace("Z", "+00:00")),
                    label,
                    data.get("event"),
                    data.get("split", "dev"),
                )
            )
        except (json.JSONDecodeError, KeyError) as exc:
            raise InputError(path, number, None, f"not a labelled signal ({exc})") from exc
    return rows


def evaluate(
    rows: Iterable[Labelled], classifier: Classifier | None = None, policy: Policy | None = None
) -> TriageReport:
    classifier = classifier or RuleClassifier()
    policy = policy or Policy()
    items = sorted(rows, key=lambda r: (r.published_at, r.id))
    predicted: dict[str, str] = {}
    history: list[Seen] = []
    groups: dict[str, str] = {}
    for row in items:
        name = ACCOUNT_NAMES.get(row.account_id, row.account_id)
        kind = classifier.classify(row.title, row.text, name).type
        predicted[row.id] = kind
        seen = Seen(
            row.id,
            row.account_id,
            kind,
            row.published_at,
            row.id,
            words(f"{row.title} {row.text}", name.split()),
        )
        twin = same_event(seen, history, policy)
        if twin is not None:
            seen.group_id = twin[0].group_id
        groups[row.id] = seen.group_id
        history.append(seen)
    per_type = [
        TypeScore(
            t,
            sum(1 for r in items if r.label == t),
            sum(1 for r in items if predicted[r.id] == t),
            sum(1 for r in items if r.label == t and predicted[r.id] == t),
        )
        for t in TYPES
    ]
    same_truth = {(a.id, b.id) for a, b in combinations(items, 2) if a.event and a.event == b.event}
    same_found = {(a.id, b.id) for a, b in combinations(items, 2) if groups[a.id] == groups[b.id]}
    hits = len(same_truth & same_found)
    return TriageReport(
        classifier.name,
        len(items),
        sum(1 for r in items if predicted[r.id] == r.label),
        per_type,
        (hits / len(same_found) if same_found else 1.0) if same_truth else None,
        (hits / len(same_truth)) if same_truth else None,
        [(r, predicted[r.id]) for r in items if predicted[r.id] != r.label],
    )
