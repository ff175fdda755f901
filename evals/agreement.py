"""How far the automatic graders can be trusted, measured on hand-labelled examples.

``claim_quality``: the claim checker against labelled claims (precision and recall of
"unsupported", the verdict that matters: a missed unsupported claim reaches a customer).
``judge_agreement``: the LLM judge against human pass/fail labels, per dimension.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from evals.claims import Claim, check_claim, product_unsupported
from evals.evaluators.judge import DIMENSIONS, JudgeRubric
from retrieval.chunks import Chunk, plan_chunks, signal_chunk
from retrieval.plans import load_plan
from retrieval.signals import load_signals
from samdesk.errors import InputError

LABELS = Path(__file__).resolve().parent / "labels"
FIXTURES = Path(__file__).resolve().parent / "datasets" / "fixtures"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LabelledClaim(_Strict):
    claim: str
    sources: list[str] = Field(min_length=1)
    label: Literal["supported", "unsupported"]
    note: str = ""


class LabelledDraft(_Strict):
    id: str
    context: str
    text: str
    labels: dict[str, bool]


@dataclass
class Confusion:
    """Counts with "unsupported" (or "fail") as the positive class."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    mistakes: list[str] = field(default_factory=list)

    def add(self, predicted: bool, actual: bool, what: str) -> None:
        if predicted and actual:
            self.tp += 1
        elif predicted:
            self.fp += 1
            self.mistakes.append(f"false alarm: {what}")
        elif actual:
            self.fn += 1
            self.mistakes.append(f"missed: {what}")
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def accuracy(self) -> float:
        total = self.tp + self.fp + self.fn + self.tn
        return (self.tp + self.tn) / total if total else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "accuracy": round(self.accuracy, 4),
            "mistakes": self.mistakes,
        }


def fixture_chunks(fixtures: Path = FIXTURES) -> dict[str, Chunk]:
    """Every chunk of the frozen fixtures, by id: what labelled claims cite."""
    chunks: dict[str, Chunk] = {}
    for path in sorted((fixtures / "accounts").glob("*.md")):
        if path.stem.endswith("-sparse"):
            continue
        plan, errors = load_plan(path)
        if plan is None:
            raise errors[0]
        chunks.update((c.id, c) for c in plan_chunks(plan))
    signals, errors = load_signals(fixtures / "signals.jsonl")
    if errors:
        raise errors[0]
    chunks.update((s.id, signal_chunk(s)) for s in signals)
    return chunks


def load_claims(path: Path = LABELS / "claims.yaml") -> list[LabelledClaim]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [LabelledClaim.model_validate(item) for item in raw["claims"]]


def claim_quality(
    claims: list[LabelledClaim], chunks: dict[str, Chunk], *, product_only: bool = False
) -> Confusion:
    """Confusion of "unsupported" for the eval checker, or for the product's layer alone."""
    confusion = Confusion()
    for item in claims:
        missing = [s for s in item.sources if s not in chunks]
        if missing:
            raise InputError("claims.yaml", None, "sources", f"unknown source id {missing[0]!r}")
        sources = [chunks[s] for s in item.sources]
        if product_only:
            facts = product_unsupported(item.claim, sources)
            flagged, reasons = bool(facts), [f"{code}: {fact}" for code, fact in facts]
        else:
            verdict = check_claim(Claim(item.claim, tuple(item.sources)), sources)
            flagged, reasons = not verdict.supported, list(verdict.reasons)
        reason = f" ({'; '.join(reasons)})" if reasons else ""
        confusion.add(flagged, item.label == "unsupported", item.claim + reason)
    return confusion


def load_judge_labels(path: Path = LABELS / "judge.yaml") -> list[LabelledDraft]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [LabelledDraft.model_validate(item) for item in raw["drafts"]]


def judge_agreement(judge: JudgeRubric, drafts: list[LabelledDraft]) -> dict[str, Any]:
    """Per dimension: agreement with the human label, and the judge's confusion on "fail"."""
    out: dict[str, Any] = {}
    for dimension in DIMENSIONS:
        confusion = Confusion()
        agree = no_verdict = 0
        labelled = [d for d in drafts if dimension in d.labels]
        for draft in labelled:
            verdict, _ = judge.verdict(dimension, draft.context, draft.text)
            if verdict is None:
                no_verdict += 1
                verdict = False  # no verdict is never a pass
            agree += verdict == draft.labels[dimension]
            confusion.add(not verdict, not draft.labels[dimension], draft.id)
        out[dimension] = {
            "n": len(labelled),
            "agreement": round(agree / len(labelled), 4) if labelled else 0.0,
            "no_verdict": no_verdict,
            "human_pass_rate": round(sum(d.labels[dimension] for d in labelled) / len(labelled), 4)
            if labelled
            else 0.0,
            "fail_detection": confusion.to_json(),
        }
    return out
