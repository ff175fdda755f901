"""Keep personal data away from external model providers.

Emails and phone numbers in the prompt are swapped for placeholders before the request
leaves, and swapped back in the reply, so the draft still addresses the real person. The
embedded model runs on this machine, so it gets the text as is (the default).
"""

from __future__ import annotations

import re
from typing import Any

from agent.llm import ChatMessage, ChatModel, Completion

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<![\w-])\+?(?:\d{1,3}[ .-]?)?\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?![\w-])")


class Redactor:
    """One consistent placeholder per value, for one request and its reply."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def redact(self, text: str) -> str:
        for pattern, label in ((EMAIL, "EMAIL"), (PHONE, "PHONE")):

            def swap(match: re.Match[str], label: str = label) -> str:
                return self._placeholder(match.group(0), label)

            text = pattern.sub(swap, text)
        return text

    def restore(self, text: str) -> str:
        for placeholder, value in self.values.items():
            text = text.replace(placeholder, value)
        return text

    def _placeholder(self, value: str, label: str) -> str:
        for placeholder, known in self.values.items():
            if known == value:
                return placeholder
        placeholder = f"[{label}_{sum(p.startswith(f'[{label}_') for p in self.values) + 1}]"
        self.values[placeholder] = value
        return placeholder


class RedactingChatModel(ChatModel):
    """Wraps any ``ChatModel``; the wrapped one never sees an email or phone number."""

    def __init__(self, inner: ChatModel):
        self.inner = inner
        self.name = inner.name

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        schema: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> Completion:
        redactor = Redactor()
        safe = [ChatMessage(m.role, redactor.redact(m.content)) for m in messages]
        completion = self.inner.complete(safe, schema=schema, seed=seed)
        return Completion(
            text=redactor.restore(completion.text),
            model=completion.model,
            prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens,
            latency_ms=completion.latency_ms,
            finish_reason=completion.finish_reason,
        )
