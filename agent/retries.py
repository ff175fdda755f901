"""When a failed model call is worth another attempt, how long to wait, and how to say it failed.

samdesk retries model calls itself, not through the vendor SDK, so that every attempt is
counted, a server's Retry-After is honoured only up to ``llm_max_retry_after_s`` (a longer
wait fails at once: the SAM hears now, not after the wait) and the failed draft says what
happened, e.g. "the model timed out after 3 attempts (0.5 s each, 1.7 s in all)".
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

from samdesk.config import Settings

FailureKind = Literal["timeout", "unreachable", "cut_off", "status", "rate_limited", "malformed"]
# Statuses a server may answer once and not again: overloaded, restarting, conflicting.
RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504}
_STATUS_HINTS = {
    401: "; check SAMDESK_LLM_API_KEY (or OPENAI_API_KEY)",
    403: "; check SAMDESK_LLM_API_KEY (or OPENAI_API_KEY)",
    404: "; check SAMDESK_LLM_BASE_URL and SAMDESK_LLM_MODEL",
}


@dataclass(frozen=True)
class Failure:
    """One failed attempt: what kind, in a few words, and the wait the server asked for."""

    kind: FailureKind
    detail: str
    status: int | None = None
    retry_after_s: float | None = None

    @property
    def retryable(self) -> bool:
        return self.kind != "status" or self.status in RETRYABLE_STATUS


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    timeout_s: float = 120.0
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    max_retry_after_s: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_retries=settings.llm_max_retries,
            timeout_s=settings.llm_timeout_s,
            backoff_s=settings.llm_retry_backoff_s,
            max_retry_after_s=settings.llm_max_retry_after_s,
        )

    @property
    def attempts(self) -> int:
        return 1 + self.max_retries

    def wait_before_retry(self, failure: Failure, attempt: int) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or ``None``: give up now."""
        if not failure.retryable or attempt >= self.attempts:
            return None
        if failure.retry_after_s is not None:
            if failure.retry_after_s > self.max_retry_after_s:
                return None
            return failure.retry_after_s
        # Jittered, so that a batch's calls that failed together do not retry together.
        return min(self.backoff_s * 2.0 ** (attempt - 1), self.max_backoff_s) * random.uniform(
            0.5, 1.0
        )

    def give_up(self, failure: Failure, attempts: int, elapsed_s: float, url: str) -> str:
        """The reason a SAM reads on the failed draft: what, where, how often, how long."""
        tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
        took = f"{tries} in {elapsed_s:.1f} s"
        if failure.kind == "timeout":
            return (
                f"the model timed out after {tries} ({self.timeout_s:g} s each, "
                f"{elapsed_s:.1f} s in all) at {url}; check the model server or raise "
                "SAMDESK_LLM_TIMEOUT_S"
            )
        if failure.kind == "rate_limited" and (failure.retry_after_s or 0) > self.max_retry_after_s:
            return (
                f"the model server at {url} is rate limiting (429) and asked to wait "
                f"{failure.retry_after_s:g} s, longer than SAMDESK_LLM_MAX_RETRY_AFTER_S "
                f"({self.max_retry_after_s:g} s); not retried ({took}), draft again later"
            )
        if failure.kind == "rate_limited":
            return f"the model server at {url} was still rate limiting (429) after {took}"
        if failure.kind == "status":
            return (
                f"the model server at {url} answered {failure.status} after {took}: "
                f"{failure.detail}{_STATUS_HINTS.get(failure.status or 0, '')}"
            )
        if failure.kind == "cut_off":
            return (
                f"the model server at {url} closed the connection mid-reply after {took} "
                f"({failure.detail})"
            )
        if failure.kind == "malformed":
            return f"the model server at {url} sent no usable chat completion after {took}: " + (
                failure.detail
            )
        return f"cannot reach the model server at {url} after {took} ({failure.detail})"


def status_failure(status: int, headers: Mapping[str, str], message: str) -> Failure:
    kind: FailureKind = "rate_limited" if status == 429 else "status"
    detail = re.sub(r"^Error code: \d+ - ", "", message)  # the SDK's prefix says it twice
    return Failure(kind, short(detail), status, retry_after(headers))


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms`` (OpenAI's) or ``Retry-After`` (seconds or an HTTP date)."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(float(value) * scale, 0.0)
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max((when - datetime.now(UTC)).total_seconds(), 0.0)
    return None


def short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
