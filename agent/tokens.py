"""Count prompt tokens offline, so a draft's prompt can be kept within a budget.

The count uses OpenAI's ``cl100k_base`` encoding (from ``bpe-openai``, which ships the
tables; ``tiktoken`` would fetch them at run time). Other models tokenize differently: on
the sample prompts SmolLM2's tokenizer gives about 1.15x as many tokens (bench/bench_tokens.py),
so a budget is a ceiling with a margin, not an exact fit.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from agent.llm import ChatMessage

# OpenAI's accounting for chat: each message costs its content plus ~4 tokens of framing,
# and the reply is primed with 3 more.
PER_MESSAGE = 4
PRIMING = 3


@lru_cache(maxsize=1)
def _encoding() -> Any:
    import bpe_openai

    return bpe_openai.get_encoding("cl100k_base")


def count_text(text: str) -> int:
    # Special-token strings inside sources are counted as the plain text they are.
    return len(_encoding().encode(text, disallowed_special=()))


def count_messages(messages: list[ChatMessage]) -> int:
    """Prompt tokens of a chat request, as an OpenAI-compatible server would bill them."""
    return PRIMING + sum(PER_MESSAGE + count_text(m.content) for m in messages)
