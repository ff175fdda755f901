"""Score ``agent.claims`` against human labels, so its figures are measured, not claimed."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.claims import check_claims
from retrieval.chunks import Chunk, plan_chunks, signal_chunk
from retrieval.plans import load_plan
from retrieval.signals import load_signals

LABELLED = Path(__file__).parent / "claims_labelled.jsonl"
# Written after the checker was tuned on LABELLED, and not tuned on since: the honest figure.
HOLDOUT = Path(__file__).parent / "claims_holdout.jsonl"


@dataclass
class CheckerQuality:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    misses: list[str] = field(default_factory=list)
    false_alarms: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    def summary(self) -> dict[str, Any]:
        return {
            "claims": self.tp + self.fp + self.fn + self.tn,
            "unsupported_labelled": self.tp + self.fn,
            "precision_unsupported": round(self.precision, 3),
            "recall_unsupported": round(self.recall, 3),
            "confusion": {"tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn},
            "misses": self.misses,
            "false_alarms": self.false_alarms,
        }


def sample_chunks(samples: Path) -> tuple[dict[str, Chunk], list[str]]:
    """Every chunk of the sample data by id, and the names the prompts supply (SAMs)."""
    chunks: dict[str, Chunk] = {}
    known = ["Northwind Analytics"]
    for path in sorted((samples / "accounts").glob("*.md")):
        plan, _ = load_plan(path)
        if plan is not None:
            chunks.update({c.id: c for c in plan_chunks(plan)})
            known.append(plan.owner_sam)
    for path in sorted((samples / "signals").glob("*.jsonl")):
        signals, _ = load_signals(path)
        chunks.update({s.id: signal_chunk(s) for s in signals})
    return chunks, known


def measure(samples: Path, labelled: Path = LABELLED) -> CheckerQuality:
    chunks, known = sample_chunks(samples)
    quality = CheckerQuality()
    for line in labelled.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        cited = [chunks[i] for i in row["sources"]]
        text = row["claim"] + " " + " ".join(f"[{i}]" for i in row["sources"])
        flagged = bool(check_claims(text, cited, fallback=cited, known=known))
        if flagged and not row["supported"]:
            quality.tp += 1
        elif flagged:
            quality.fp += 1
            quality.false_alarms.append(row["claim"])
        elif not row["supported"]:
            quality.fn += 1
            quality.misses.append(row["claim"])
        else:
            quality.tn += 1
    return quality
