"""The optional model classifier against the embedded model, replayed from a cassette."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.openai_chat import OpenAIChatModel
from retrieval.triage import TYPES
from retrieval.triage_llm import LLMClassifier
from tests.conftest import make_settings


@pytest.mark.vcr
def test_the_embedded_model_answers_with_a_known_type_or_the_rules_take_over(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    model = OpenAIChatModel(settings.llm_endpoint(), settings)
    got = LLMClassifier(model).classify(
        "Acme Financial to cut 400 jobs in operations restructuring",
        "Acme Financial Corp plans to eliminate about 400 positions in back-office operations.",
        "Acme Financial Corp",
    )
    assert got.type in TYPES
    # The recorded SmolLM2-135M reply is valid JSON with a known type, so it is used as given
    # (and labelled as the model's); it reads this layoff as a product launch, which is why
    # the rules are the default and the model only an option.
    assert (got.type, got.source) == ("product_launch", "llm")
    assert got.reason.startswith("smollm2-135m-instruct: ")
