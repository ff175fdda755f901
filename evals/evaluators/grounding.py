"""Claim-level grounding on top of the product's checks (``agent.grounding``).

The product flags details no source states; this evaluator also splits the draft into
claims and asks, claim by claim, whether a source it cites supports it.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.claims import CITATION
from evals.claims import check_claims
from evals.evaluators import EvalContext, EvalResult


@dataclass
class SupportedClaims:
    name: str = "supported_claim_rate"

    def evaluate(self, ctx: EvalContext) -> list[EvalResult]:
        output = ctx.result.output
        if output is None:
            return [EvalResult(self.name, 0.0, False, "no draft")]
        cited = list(dict.fromkeys([*output.citations, *CITATION.findall(output.body)]))
        verdicts = check_claims(output.body, ctx.sources, cited)
        errors = sum(f.severity == "error" for f in ctx.result.findings)
        flags = EvalResult(
            "product_flags",
            float(errors),
            None,
            f"{errors} error flag(s)",
            tuple(f.message for f in ctx.result.findings),
            lower_is_better=True,
        )
        if not verdicts:
            return [EvalResult(self.name, 0.0, False, "the draft makes no factual claim"), flags]
        supported = sum(v.supported for v in verdicts)
        rate = supported / len(verdicts)
        unsupported = tuple(
            f"{v.claim.text} — {'; '.join(v.reasons)}" for v in verdicts if not v.supported
        )
        threshold = ctx.loaded.case.expect.min_supported_rate
        reason = f"{supported} of {len(verdicts)} claims supported"
        return [
            EvalResult(self.name, round(rate, 4), rate >= threshold, reason, unsupported),
            flags,
        ]
