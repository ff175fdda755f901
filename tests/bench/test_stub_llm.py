"""The stub model server: valid drafts, real HTTP, and a count of concurrent requests."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx

from agent.schemas import DraftOutput
from bench import stub_llm


def test_reply_is_a_valid_draft_citing_the_first_source() -> None:
    body = {"messages": [{"content": 'x <source id="sig-a-1" kind="signal"> <source id="p-2">'}]}
    reply = stub_llm.reply_for(body)
    draft = DraftOutput.model_validate(json.loads(reply["choices"][0]["message"]["content"]))
    assert draft.citations == ["sig-a-1"] and "[sig-a-1]" in draft.body
    assert reply["usage"]["prompt_tokens"] > 0


def test_the_stub_waits_its_latency_and_counts_calls_in_flight() -> None:
    with stub_llm.running_stub(latency_ms=200) as base_url:
        payload = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}

        def call(_: int) -> int:
            return httpx.post(f"{base_url}/chat/completions", json=payload, timeout=10).status_code

        with ThreadPoolExecutor(4) as pool:
            assert list(pool.map(call, range(4))) == [200] * 4
        stats = stub_llm.stats(base_url)
        assert stats == {"requests": 4, "max_in_flight": 4}
        assert stub_llm.last_request(base_url)["messages"][0]["content"] == "hi"
        stub_llm.reset(base_url)
        assert stub_llm.stats(base_url) == {"requests": 0, "max_in_flight": 0}
