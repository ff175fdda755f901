"""Evaluators: small dataclasses that look at one drafted case and return named results.

A result with ``passed`` set is a check and counts towards the pass rate when ``gate`` is
true; one with ``passed=None`` is a measurement only (a reading grade, an edit distance).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from agent.drafting import DraftResult
from evals.schema import LoadedCase
from retrieval.chunks import Chunk


@dataclass(frozen=True)
class EvalResult:
    name: str
    value: float
    passed: bool | None = None
    reason: str = ""
    details: tuple[str, ...] = ()
    gate: bool = True
    lower_is_better: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["details"] = list(self.details)
        return data


@dataclass
class EvalContext:
    """What an evaluator may look at: the case, and what the drafter made of it."""

    loaded: LoadedCase
    result: DraftResult
    sources: list[Chunk] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.sources:
            self.sources = self.loaded.chunks()

    @property
    def text(self) -> str:
        output = self.result.output
        return f"{output.subject}\n{output.body}" if output else ""

    @property
    def body(self) -> str:
        return self.result.output.body if self.result.output else ""


class Evaluator(Protocol):
    name: str

    def evaluate(self, ctx: EvalContext) -> list[EvalResult]: ...


def check(name: str, ok: bool, reason: str = "", *details: str) -> EvalResult:
    return EvalResult(name, 1.0 if ok else 0.0, ok, reason, tuple(details))
