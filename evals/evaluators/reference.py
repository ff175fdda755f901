"""Reference-based measures for cases exported from the desk.

The SAM's approved text is the target: a good draft is close to it, and the number of word
edits the SAM needed (normalised edit distance, lower is better) is the cost of a draft.
A rejected draft is a failure to avoid: a new draft must not say the same thing again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from agent.claims import CITATION
from evals.evaluators import EvalContext, EvalResult, check

TOO_CLOSE = 0.8


def words(text: str) -> list[str]:
    return re.findall(r"[\w$%']+(?:[.,-][\w$%']+)*", CITATION.sub(" ", text).lower())


def similarity(a: str, b: str) -> float:
    """Word-sequence similarity in [0, 1] (difflib's ratio over words, not characters)."""
    return round(SequenceMatcher(None, words(a), words(b), autojunk=False).ratio(), 4)


def edit_distance(a: str, b: str) -> float:
    """Word-level Levenshtein distance from ``a`` to ``b``, divided by the longer length."""
    x, y = words(a), words(b)
    if not x and not y:
        return 0.0
    previous = list(range(len(y) + 1))
    for i, wx in enumerate(x, start=1):
        current = [i]
        for j, wy in enumerate(y, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (wx != wy)))
        previous = current
    return round(previous[-1] / max(len(x), len(y)), 4)


@dataclass
class ReferenceMatch:
    name: str = "reference_similarity"

    def evaluate(self, ctx: EvalContext) -> list[EvalResult]:
        case = ctx.loaded.case
        results: list[EvalResult] = []
        if case.reference is not None:
            final = case.reference.body
            sim = similarity(ctx.body, final) if ctx.body else 0.0
            dist = edit_distance(ctx.body, final) if ctx.body else 1.0
            results += [
                EvalResult(self.name, sim, None, f"{sim:.2f} similar to the SAM's final text"),
                EvalResult(
                    "edit_distance",
                    dist,
                    None,
                    f"{dist:.2f} of the words need editing",
                    lower_is_better=True,
                ),
            ]
        if case.avoid is not None and ctx.result.output is None:
            results.append(check("differs_from_rejected", False, "no draft"))
        elif case.avoid is not None:
            sim = similarity(ctx.body, case.avoid.body)
            results.append(
                check(
                    "differs_from_rejected",
                    sim < TOO_CLOSE,
                    f"{sim:.2f} similar to the draft rejected as: {case.avoid.reason}",
                )
            )
        return results
