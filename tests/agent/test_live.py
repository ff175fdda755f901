"""Against the real embedded model server: the default path works, and the cassettes still
describe what the server really answers. Skipped only where the model is not installed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from agent.drafting import Drafter
from agent.openai_chat import OpenAIChatModel
from retrieval.index import VectorIndex
from retrieval.plans import load_plan
from samdesk import llm_server
from samdesk.config import Settings
from tests.conftest import AS_OF, SAMPLES, make_settings

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not llm_server.is_available(), reason="embedded model not installed"),
]
CASSETTE = (
    Path(__file__).parent
    / "cassettes"
    / "test_recorded_drafts"
    / ("test_outreach_on_champion_retirement.yaml")
)
LIVE_PORT = 8391


@pytest.fixture(scope="module")
def live_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = make_settings(tmp_path_factory.mktemp("live"), embedded_llm_port=LIVE_PORT)
    process = llm_server.start(settings, log=settings.data_dir / "server.log")
    yield settings
    process.terminate()
    process.wait(timeout=30)


def shape(value: Any) -> Any:
    """The structure of a JSON value: keys and types, not contents."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items() if key not in {"id", "created"}}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def test_a_live_draft_goes_through_the_whole_drafter(
    live_settings: Settings, sample_index: VectorIndex
) -> None:
    acme, _ = load_plan(SAMPLES / "accounts" / "acme-financial.md")
    assert acme is not None
    model = OpenAIChatModel(live_settings.llm_endpoint(), live_settings)
    result = Drafter(model, sample_index).draft_outreach(
        acme, "sig-acme-009", prompt="outreach@v1", as_of=AS_OF
    )
    assert result.usage["completion_tokens"] > 0
    assert (result.output is None) == (result.failure_reason is not None)
    if result.output is not None:
        assert set(result.output.citations) <= {s.chunk.id for s in result.sources}


def test_the_recorded_request_gets_a_reply_of_the_recorded_shape(live_settings: Settings) -> None:
    interaction = yaml.safe_load(CASSETTE.read_text())["interactions"][0]
    request = json.loads(interaction["request"]["body"])
    recorded = json.loads(interaction["response"]["body"]["string"])
    live = httpx.post(
        f"{live_settings.llm_endpoint().base_url}/chat/completions", json=request, timeout=120
    ).json()
    assert shape(live) == shape(recorded)
    assert live["model"] == recorded["model"]
    json.loads(live["choices"][0]["message"]["content"], strict=False)  # grammar still applies
