"""Logging for the CLI and the desk: useful at INFO, never a secret or a draft body.

Draft bodies are logged only at DEBUG (agent.drafting); API keys never, because every
record passes through :class:`SecretFilter` whatever library emitted it.
"""

from __future__ import annotations

import logging
import re

SECRET = re.compile(
    r"(sk-[A-Za-z0-9_-]{8,}|Bearer\s+[A-Za-z0-9._~+/=-]{8,}|(api[_-]?key|password)=[^\s&]+)",
    re.IGNORECASE,
)


class SecretFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if SECRET.search(message):
            record.msg, record.args = SECRET.sub("[redacted]", message), None
        return True


def setup(level: int | str = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(SecretFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "chromadb", "sentence_transformers"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
