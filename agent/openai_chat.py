"""``ChatModel`` over any OpenAI-compatible chat API (OpenAI, llama.cpp, vLLM, Ollama, gateways)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import openai

from agent.llm import ChatMessage, ChatModel, Completion
from agent.retries import Failure, RetryPolicy, short, status_failure
from samdesk.config import LLMEndpoint, Settings
from samdesk.errors import ModelUnavailableError

log = logging.getLogger(__name__)


class OpenAIChatModel(ChatModel):
    def __init__(self, endpoint: LLMEndpoint, settings: Settings):
        self.name = endpoint.model
        self.endpoint = endpoint
        self._settings = settings
        self.policy = RetryPolicy.from_settings(settings)
        # The SDK's own retries are off: samdesk's policy (agent/retries.py) counts them.
        self._client = openai.OpenAI(
            base_url=endpoint.base_url,
            api_key=endpoint.api_key,
            timeout=settings.llm_timeout_s,
            max_retries=0,
        )

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        schema: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> Completion:
        started = time.perf_counter()
        attempt = 0
        while True:
            attempt += 1
            outcome = self._attempt(messages, schema, seed, started)
            if isinstance(outcome, Completion):
                return outcome
            wait = self.policy.wait_before_retry(outcome, attempt)
            if wait is None:
                elapsed = time.perf_counter() - started
                reason = self.policy.give_up(outcome, attempt, elapsed, self.endpoint.base_url)
                if outcome.kind == "unreachable":
                    reason += f"; {self._hint()}"
                raise ModelUnavailableError(reason)
            log.warning(
                "model call %d/%d failed (%s: %s); retrying in %.2f s",
                attempt,
                self.policy.attempts,
                outcome.kind,
                outcome.detail,
                wait,
            )
            time.sleep(wait)

    def _attempt(
        self,
        messages: list[ChatMessage],
        schema: dict[str, Any] | None,
        seed: int | None,
        started: float,
    ) -> Completion | Failure:
        try:
            raw = self._client.chat.completions.with_raw_response.create(
                model=self.endpoint.model,
                messages=[{"role": m.role, "content": m.content} for m in messages],  # type: ignore[misc]
                temperature=self._settings.llm_temperature,
                seed=self._settings.llm_seed if seed is None else seed,
                max_tokens=self._settings.llm_max_tokens,
                **self._response_format(schema),
            )
        except openai.APITimeoutError:
            return Failure("timeout", f"no answer within {self.policy.timeout_s:g} s")
        except openai.APIConnectionError as exc:
            return _connection_failure(exc)
        except openai.APIStatusError as exc:
            return status_failure(exc.status_code, exc.response.headers, exc.message)
        http = raw.http_response
        problem = _not_a_completion(http.content, http.headers.get("content-type", ""))
        if problem:
            return Failure("malformed", problem)
        response = raw.parse()
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

    def _hint(self) -> str:
        if self.endpoint.provider == "embedded":
            return "start it with `samdesk llm serve` (or `make demo`)"
        return "check SAMDESK_LLM_BASE_URL and your network"


def _connection_failure(exc: openai.APIConnectionError) -> Failure:
    """Refused or reset before a reply ("unreachable"), or closed in the middle of one.

    Matched by the transport's class names: the SDK's HTTP library is its own business.
    """
    cause: BaseException | None = exc.__cause__
    while cause is not None:
        if type(cause).__name__ in ("RemoteProtocolError", "ReadError"):
            return Failure("cut_off", short(str(cause)))
        if cause.__cause__ is None:
            break
        cause = cause.__cause__
    return Failure("unreachable", short(str(exc.__cause__ or exc)))


def _not_a_completion(body: bytes, content_type: str) -> str | None:
    """What is wrong with a 200 reply that is not a chat completion (a proxy's HTML page, say)."""
    kind = content_type.split(";")[0] or "no content type"
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(body)
    except ValueError:
        return f"the reply is not JSON ({kind}: {short(text, 80)!r})"
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return f"the JSON reply has no choices ({short(text, 80)!r})"
    if not isinstance(choices[0].get("message"), dict):
        return "the reply's first choice has no message"
    return None
