"""Tokens: prompt tokens per draft kind on the sample accounts, sources vs instructions.

Counts are OpenAI ``cl100k_base`` tokens (``agent.tokens``, offline), for the drafts the
demo makes (per account: a briefing for its next meeting, outreach for its freshest news).
Figures: prompt tokens ÷ the embedded model's context window, per kind, with the share
spent on sources (the ``<sources>`` block) and on instructions (everything else); then the
largest prompt under the configured budget ÷ that budget (target <= 1), and the same with a
deliberately tight budget, to show the drafter trimming sources to fit. Token counts are
deterministic, so the "repetitions" are the sample accounts. When the embedded model server
is up, its own tokenizer (SmolLM2) counts the same prompts as a cross-check.
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from agent.llm import ChatMessage, ChatModel, Completion
from agent.tokens import count_messages, count_text
from bench import stub_llm
from bench.common import AS_OF, RESULTS, Figure, figure, record, scratch
from bench.workspace import sample_runtime
from samdesk.runtime import Runtime, pick_meeting

EMBEDDED_TOKENIZE = "http://127.0.0.1:8089/extras/tokenize"


class EchoModel(ChatModel):
    """Answers every prompt with a valid draft citing its first source; keeps the prompts."""

    name = "echo"

    def __init__(self) -> None:
        self.prompts: list[list[ChatMessage]] = []

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        schema: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> Completion:
        self.prompts.append(messages)
        body = {"messages": [{"content": m.content} for m in messages]}
        text = stub_llm.reply_for(body)["choices"][0]["message"]["content"]
        return Completion(text=text, model=self.name, finish_reason="stop")


def draft_prompts(runtime: Runtime, budget: int | None) -> list[tuple[str, list[ChatMessage], int]]:
    """(kind, prompt, sources kept) for each demo draft, drafted under ``budget``."""
    echo = EchoModel()
    drafter = replace(runtime.drafter, llm=echo, prompt_token_budget=budget)
    out = []
    for kind, account, trigger in runtime.demo_targets(AS_OF):
        plan = runtime.plan(account)
        if kind == "briefing":
            result = drafter.draft_briefing(plan, pick_meeting(plan, trigger["title"]), as_of=AS_OF)
        else:
            result = drafter.draft_outreach(plan, trigger["signal_id"], as_of=AS_OF)
        out.append((kind, echo.prompts[-1], len(result.sources)))
    return out


def split(messages: list[ChatMessage]) -> tuple[int, int]:
    """(tokens of the ``<sources>`` block, tokens of everything else) of one prompt."""
    total = count_messages(messages)
    user = messages[-1].content
    start, end = user.find("<sources>"), user.find("</sources>")
    sources = count_text(user[start : end + len("</sources>")]) if start >= 0 else 0
    return sources, total - sources


def embedded_count(messages: list[ChatMessage]) -> int | None:
    """The embedded model's own token count of the prompt text, or None when it is down."""
    try:
        response = httpx.post(
            EMBEDDED_TOKENIZE, json={"input": "\n".join(m.content for m in messages)}, timeout=120
        )
        response.raise_for_status()
    except httpx.HTTPError:
        return None
    return len(response.json()["tokens"])


def run(tight: float = 0.6) -> tuple[list[Figure], dict[str, Any]]:
    with scratch("tokens") as tmp:
        runtime = sample_runtime(tmp / "data")
        settings = runtime.settings
        window = settings.embedded_llm_ctx
        unbounded = draft_prompts(runtime, None)
        figures: list[Figure] = []
        extra: dict[str, Any] = {
            "tokenizer": "cl100k_base (bpe-openai)",
            "context_window": window,
            "completion_reserve": settings.llm_max_tokens,
        }
        for kind in ("briefing", "outreach"):
            prompts = [m for k, m, _ in unbounded if k == kind]
            totals = [float(count_messages(m)) for m in prompts]
            parts = [split(m) for m in prompts]
            source_share = statistics.median(s / (s + i) for s, i in parts)
            figures.append(
                figure(
                    f"{kind} prompt tokens ÷ context window ({window})",
                    totals,
                    [float(window)] * len(totals),
                    better="lower",
                    unit="tokens",
                    sources_share_of_prompt=round(source_share, 3),
                    instructions_share_of_prompt=round(1 - source_share, 3),
                    sources_tokens_median=statistics.median(s for s, _ in parts),
                    instructions_tokens_median=statistics.median(i for _, i in parts),
                )
            )
        # One prompt of each kind: the shared server may be busy decoding for someone else.
        sample = [
            next(m for k, m, _ in unbounded if k == kind) for kind in ("briefing", "outreach")
        ]
        smol = [embedded_count(m) for m in sample]
        if all(n is not None for n in smol):
            extra["smollm2_tokens_per_cl100k_token"] = [
                round(n / count_text("\n".join(x.content for x in m)), 3)
                for n, m in zip(smol, sample, strict=True)
                if n is not None
            ]
        largest = max(count_messages(m) for _, m, _ in unbounded)
        budgets = [("tight", int(largest * tight))]
        if settings.prompt_token_budget is not None:
            budgets.insert(0, ("configured", settings.prompt_token_budget))
        for label, limit in budgets:
            fitted = draft_prompts(runtime, limit)
            sizes = [float(count_messages(m)) for _, m, _ in fitted]
            dropped = sum(
                before - after
                for (_, _, before), (_, _, after) in zip(unbounded, fitted, strict=True)
            )
            figures.append(
                figure(
                    f"largest prompt ÷ {label} budget ({limit} tokens)",
                    [max(sizes)],
                    [float(limit)],
                    better="lower",
                    unit="tokens",
                    target=1.0,
                    sources_dropped=dropped,
                    drafts=len(fitted),
                    largest_unbudgeted=largest,
                )
            )
    return figures, extra


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tight", type=float, default=0.6, help="tight budget, x largest prompt")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    figures, extra = run(args.tight)
    record("tokens", figures, path=args.results, **extra)
    return figures


if __name__ == "__main__":
    main()
