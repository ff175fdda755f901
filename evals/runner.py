"""Run every case for each prompt variant, drafting through the cache, and evaluate it.

A variant is a set of prompt versions, one per draft kind: ``v2`` means every kind's v2,
``outreach@v2`` means only outreach cases with outreach v2, and several refs may be joined
with commas (``outreach@v2,briefing@v1``). Cases of a kind a variant has no prompt for are
skipped for that variant.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent.drafting import Drafter
from agent.prompts import Prompt, load_prompt
from evals.evaluators import EvalContext, EvalResult, Evaluator
from evals.evaluators.deterministic import deterministic
from evals.evaluators.grounding import SupportedClaims
from evals.evaluators.reference import ReferenceMatch
from evals.generate import draft_case
from evals.schema import LoadedCase
from samdesk.errors import ConfigError

KINDS = ("outreach", "briefing")


@dataclass(frozen=True)
class Variant:
    label: str
    prompts: dict[str, Prompt]

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "prompts": {k: {"ref": p.ref, "hash": p.hash} for k, p in self.prompts.items()},
        }


def parse_variant(spec: str) -> Variant:
    prompts: dict[str, Prompt] = {}
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        if "@" in part:
            prompt = load_prompt(part)
            prompts[prompt.kind] = prompt
        else:
            for kind in KINDS:
                prompts[kind] = load_prompt(f"{kind}@{part}")
    if not prompts:
        raise ConfigError(f"prompt variant {spec!r} names no prompt; try v1 or outreach@v1")
    return Variant(spec, prompts)


@dataclass
class CaseRun:
    case_id: str
    dataset: str
    kind: str
    tags: list[str]
    variant: str
    prompt: str
    prompt_hash: str
    model: str
    subject: str
    body: str
    citations: list[str]
    failure_reason: str | None
    attempts: int
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int
    findings: list[dict[str, Any]]
    results: list[EvalResult] = field(default_factory=list)

    @property
    def checks(self) -> list[EvalResult]:
        return [r for r in self.results if r.passed is not None and r.gate]

    @property
    def score(self) -> float:
        """Share of this case's gating checks that passed: the unit of win/tie/loss."""
        checks = self.checks
        return sum(bool(r.passed) for r in checks) / len(checks) if checks else 0.0

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.checks)

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "results"}
        data["score"] = round(self.score, 4)
        data["passed"] = self.passed
        data["results"] = [r.to_json() for r in self.results]
        return data


def default_evaluators() -> list[Evaluator]:
    found: list[Any] = [*deterministic(), SupportedClaims(), ReferenceMatch()]
    return found


def run_case(
    drafter: Drafter, loaded: LoadedCase, variant: Variant, evaluators: Sequence[Evaluator]
) -> CaseRun:
    prompt = variant.prompts[loaded.case.kind]
    result = draft_case(drafter, loaded, prompt)
    ctx = EvalContext(loaded, result)
    output = result.output
    run = CaseRun(
        case_id=loaded.id,
        dataset=loaded.dataset,
        kind=loaded.case.kind,
        tags=list(loaded.case.tags),
        variant=variant.label,
        prompt=prompt.ref,
        prompt_hash=prompt.hash,
        model=result.model,
        subject=output.subject if output else "",
        body=output.body if output else "",
        citations=list(output.citations) if output else [],
        failure_reason=result.failure_reason if output is None else None,
        attempts=result.attempts,
        prompt_tokens=result.usage.get("prompt_tokens", 0),
        completion_tokens=result.usage.get("completion_tokens", 0),
        latency_ms=result.latency_ms,
        findings=[f.to_json() for f in result.findings],
    )
    for evaluator in evaluators:
        run.results += evaluator.evaluate(ctx)
    return run


def run_all(
    drafter: Drafter,
    cases: Sequence[LoadedCase],
    variants: Sequence[Variant],
    evaluators: Sequence[Evaluator],
    *,
    advance: Callable[[str], None] = lambda _: None,
) -> list[CaseRun]:
    """Every (variant, case) pair the variant has a prompt for, in a stable order."""
    runs = []
    for variant in variants:
        for loaded in cases:
            if loaded.case.kind not in variant.prompts:
                continue
            runs.append(run_case(drafter, loaded, variant, evaluators))
            advance(f"{variant.label} {loaded.id}")
    return runs


def planned(cases: Sequence[LoadedCase], variants: Sequence[Variant]) -> int:
    return sum(1 for v in variants for c in cases if c.case.kind in v.prompts)
