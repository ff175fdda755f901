"""Eval fixtures: the shipped cases, and drafts of them from scripted replies.

A scripted reply goes through the real pipeline (prompt rendering, parsing, the product's
grounding checks), so evaluators see exactly what they see in a real run.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.llm import ScriptedChatModel
from agent.prompts import load_prompt
from evals.evaluators import EvalContext
from evals.generate import draft_case, drafter_for
from evals.schema import LoadedCase, load_datasets
from tests.conftest import make_settings

MakeCtx = Callable[..., EvalContext]


@pytest.fixture(scope="session")
def shipped() -> dict[str, LoadedCase]:
    return {c.id: c for c in load_datasets()}


@pytest.fixture
def make_ctx(shipped: dict[str, LoadedCase], tmp_path: Path) -> MakeCtx:
    settings = make_settings(tmp_path)

    def build(
        case_id: str,
        body: str,
        subject: str = "A subject line",
        citations: list[str] | None = None,
        reply: str | None = None,
    ) -> EvalContext:
        loaded = shipped[case_id]
        cited = citations if citations is not None else [loaded.case.sources[0].id]
        text = reply or json.dumps({"subject": subject, "body": body, "citations": cited})
        model = ScriptedChatModel([text, text])
        result = draft_case(
            drafter_for(model, settings), loaded, load_prompt(f"{loaded.case.kind}@v1")
        )
        return EvalContext(loaded, result)

    return build
