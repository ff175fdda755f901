"""A content-addressed cache of LLM replies, so a re-run of the evals is offline and identical.

The key is the SHA-256 of everything that can change a reply: model id, messages, JSON
schema and generation parameters. A changed prompt therefore misses the cache instead of
silently replaying an old answer. The shipped datasets' replies are committed under
``evals/cache/``; with ``offline=True`` (CI) a miss is an error, never a network call.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agent.llm import ChatMessage, ChatModel, Completion
from samdesk.errors import LLMError

CACHE_DIR = Path(__file__).resolve().parent / "cache"


class CacheMissError(LLMError):
    """An offline run asked for a reply nobody has recorded."""


@dataclass
class CacheStats:
    hits: int = 0
    recorded: int = 0


def cache_key(
    model: str,
    messages: list[ChatMessage],
    schema: dict[str, Any] | None,
    params: dict[str, Any],
) -> str:
    payload = {
        "model": model,
        "messages": [[m.role, m.content] for m in messages],
        "schema": schema,
        "params": params,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class CachedChatModel(ChatModel):
    """Wraps a model: answers from the cache, or asks the model and records the reply."""

    def __init__(
        self,
        inner: ChatModel,
        directory: Path = CACHE_DIR,
        *,
        params: dict[str, Any] | None = None,
        offline: bool = False,
    ):
        self.name = inner.name
        self.inner = inner
        self.directory = directory
        self.params = params or {}
        self.offline = offline
        self.stats = CacheStats()

    def path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def complete(
        self,
        messages: list[ChatMessage],
        *,
        schema: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> Completion:
        params = self.params if seed is None else {**self.params, "seed": seed}
        key = cache_key(self.name, messages, schema, params)
        path = self.path(key)
        if path.exists():
            self.stats.hits += 1
            return Completion(**json.loads(path.read_text(encoding="utf-8"))["completion"])
        if self.offline:
            raise CacheMissError(
                f"no recorded reply of {self.name} for this request (cache key {key[:12]} under "
                f"{self.directory}); a prompt, case or setting changed. Record it by running "
                "`samdesk eval run` without --offline against the model, then commit evals/cache/"
            )
        completion = self.inner.complete(messages, schema=schema, seed=seed)
        self._write(path, {"model": self.name, "params": params, "completion": asdict(completion)})
        self.stats.recorded += 1
        return completion

    def _write(self, path: Path, entry: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(entry, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        # Write then rename: an interrupted run never leaves a half-written reply behind.
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; these files are committed
        os.replace(tmp, path)
