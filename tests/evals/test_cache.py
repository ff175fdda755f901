"""The content-addressed LLM cache: replay, record, and a loud miss when offline."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from agent.llm import ChatMessage, ScriptedChatModel
from evals.cache import CachedChatModel, CacheMissError, cache_key

MESSAGES = [ChatMessage("system", "s"), ChatMessage("user", "u")]


def test_records_once_then_replays_without_the_model(tmp_path: Path) -> None:
    inner = ScriptedChatModel(['{"a": 1}'], name="m")
    cached = CachedChatModel(inner, tmp_path, params={"seed": 7})
    first = cached.complete(MESSAGES, schema={"type": "object"})
    again = cached.complete(MESSAGES, schema={"type": "object"})  # the script is empty now
    assert first == again and again.text == '{"a": 1}'
    assert (cached.stats.recorded, cached.stats.hits) == (1, 1)
    files = list(tmp_path.rglob("*.json"))
    assert len(files) == 1 and not list(tmp_path.rglob("*.tmp"))
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o644
    assert json.loads(files[0].read_text())["completion"]["model"] == "m"


def test_key_covers_model_messages_schema_and_params() -> None:
    base = cache_key("m", MESSAGES, {"type": "object"}, {"seed": 7})
    assert base == cache_key("m", list(MESSAGES), {"type": "object"}, {"seed": 7})
    assert base != cache_key("other", MESSAGES, {"type": "object"}, {"seed": 7})
    assert base != cache_key("m", [*MESSAGES[:1], ChatMessage("user", "u!")], None, {"seed": 7})
    assert base != cache_key("m", MESSAGES, None, {"seed": 7})
    assert base != cache_key("m", MESSAGES, {"type": "object"}, {"seed": 8})


def test_offline_miss_fails_clearly_and_never_calls_the_model(tmp_path: Path) -> None:
    inner = ScriptedChatModel([], name="m")  # any call would raise AssertionError
    cached = CachedChatModel(inner, tmp_path, offline=True)
    with pytest.raises(CacheMissError, match="without --offline"):
        cached.complete(MESSAGES)
    assert inner.requests == []
