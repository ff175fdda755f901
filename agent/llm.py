"""The whole LLM boundary: the drafter depends on ``ChatModel`` and nothing vendor-specific."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class ChatMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: int = 0
    finish_reason: str | None = None


class ChatModel(ABC):
    """A chat model that can be asked for JSON matching a schema."""

    name: str

    @abstractmethod
    def complete(
        self,
        messages: list[ChatMessage],
        *,
        schema: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> Completion:
        """One completion; raises :class:`samdesk.errors.LLMError` when the model is unreachable.

        ``seed``: another sample than the configured seed gives, for a person's "try again"
        (the embedded model answers the same prompt and seed with the same reply)."""


class ScriptedChatModel(ChatModel):
    """Replays fixed replies in order: for tests of the drafter's own logic, never for quality."""

    def __init__(self, replies: list[str], name: str = "scripted"):
        self.name = name
        self._replies = list(replies)
        self.requests: list[list[ChatMessage]] = []

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        schema: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> Completion:
        self.requests.append(messages)
        if not self._replies:
            raise AssertionError("ScriptedChatModel ran out of replies")
        return Completion(text=self._replies.pop(0), model=self.name, finish_reason="stop")
