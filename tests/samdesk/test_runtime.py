from __future__ import annotations

from pathlib import Path

import pytest

from agent.openai_chat import OpenAIChatModel
from agent.redaction import RedactingChatModel
from samdesk.runtime import Runtime
from tests.conftest import make_settings


@pytest.fixture(autouse=True)
def no_openai_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)


def test_the_embedded_model_gets_prompts_as_they_are(workspace: Path) -> None:
    drafter = Runtime.open(make_settings(workspace)).drafter
    assert type(drafter.llm) is OpenAIChatModel


def test_an_external_provider_only_ever_sees_redacted_prompts(workspace: Path) -> None:
    settings = make_settings(workspace, llm_base_url="https://llm.example/v1", llm_model="m")
    assert isinstance(Runtime.open(settings).drafter.llm, RedactingChatModel)
    opted_out = make_settings(workspace, llm_base_url="https://llm.example/v1", redact_pii=False)
    assert type(Runtime.open(opted_out).drafter.llm) is OpenAIChatModel


def test_the_drafter_knows_every_account_so_leaks_can_be_flagged(workspace: Path) -> None:
    directory = Runtime.open(make_settings(workspace)).drafter.directory
    assert len(directory) == 7
    assert directory["brightline-energy"][0] == "Brightline Energy"
