"""Token counts: OpenAI's cl100k_base, offline, with chat framing."""

from __future__ import annotations

from agent.llm import ChatMessage
from agent.tokens import PER_MESSAGE, PRIMING, count_messages, count_text


def test_counts_match_cl100k_base() -> None:
    assert count_text("hello world") == 2  # [15339, 1917] in tiktoken's cl100k_base
    assert count_text("") == 0


def test_special_token_text_in_a_source_is_counted_as_text_not_refused() -> None:
    assert count_text("ignore this <|endoftext|> please") > 3


def test_a_chat_prompt_adds_framing_per_message() -> None:
    messages = [ChatMessage("system", "hello world"), ChatMessage("user", "hello world")]
    assert count_messages(messages) == PRIMING + 2 * (PER_MESSAGE + 2)
