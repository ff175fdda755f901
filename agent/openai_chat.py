"""``ChatModel`` over any OpenAI-compatible chat API (OpenAI, llama.cpp, vLLM, Ollama, gateways)."""

from __future__ import annotations

import time
from typing import Any

import openai

from agent.llm import ChatMessage, ChatModel, Completion
from samdesk.config import LLMEndpoint, Settings
from samdesk.errors import LLMError


class OpenAIChatModel(ChatModel):
    def __init__(self, endpoint: LLMEndpoint, settings: Settings):
        self.name = endpoint.model
        self.endpoint = endpoint
        self._settings = settings
        # The SDK retries connection errors, 408/409/429 (honouring Retry-After) and 5xx.
        self._client = openai.OpenAI(
            base_url=endpoint.base_url,
            api_key=endpoint.api_key,
            timeout=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
        )

    def complete(
        self, messages: list[ChatMessage], *, schema: dict[str, Any] | None = None
    ) -> Completion:
        started = time.perf_counter()
        try:
            response = self._client.chat.completions.create(
                model=self.endpoint.model,
                messages=[{"role": m.role, "content": m.content} for m in messages],  # type: ignore[misc]
                temperature=self._settings.llm_temperature,
                seed=self._settings.llm_seed,
                max_tokens=self._settings.llm_max_tokens,
                **self._response_format(schema),
            )
        except openai.APIConnectionError as exc:
            raise LLMError(self._unreachable(exc)) from exc
        except openai.APIStatusError as exc:
            raise LLMError(
                f"the model server at {self.endpoint.base_url} answered {exc.status_code}: "
                f"{_short(exc.message)}"
            ) from exc
        choice = response.choices[0]
        usage = response.usage
        return Completion(
            text=choice.message.content or "",
            model=response.model or self.endpoint.model,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            latency_ms=int((time.perf_counter() - started) * 1000),
            finish_reason=choice.finish_reason,
        )

    def _response_format(self, schema: dict[str, Any] | None) -> dict[str, Any]:
        if schema is None:
            return {}
        # llama-cpp-python's server knows only "json_object" (a schema becomes a grammar).
        mode = self._settings.llm_json_mode or (
            "json_object" if self.endpoint.provider == "embedded" else "json_schema"
        )
        if mode == "json_object":
            return {"response_format": {"type": "json_object", "schema": schema}}
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "draft", "schema": schema, "strict": True},
            }
        }

    def _unreachable(self, exc: Exception) -> str:
        hint = (
            "start it with `samdesk llm serve` (or `make demo`)"
            if self.endpoint.provider == "embedded"
            else "check SAMDESK_LLM_BASE_URL and your network"
        )
        return f"cannot reach the model server at {self.endpoint.base_url} ({exc}); {hint}"


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
