"""The vector index: one chromadb collection per embedding model, searched one account at a time.

chromadb is the store (embedded, or a server at ``SAMDESK_CHROMA_URL``); a search runs exactly
over the asked account's own chunks, which are read from the store once and kept in memory
(:mod:`retrieval.account_vectors`). So account scoping is structural: a search never sees
another account's rows, not even as candidates to filter out.

Freshness: this object's own writes are searchable at once. Every write also stamps a new
``samdesk_generation`` on the collection; another process's index (the watcher, the desk, a
second CLI) compares it at most every ``revalidate_s`` seconds and re-reads on a change, so
what another process wrote is searchable within that time (1 s by default).
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from retrieval.account_vectors import AccountVectors, Floats
from retrieval.chunks import Chunk, ChunkKind, slug
from retrieval.embeddings import Embedder
from samdesk.errors import ConfigError

GENERATION = "samdesk_generation"
MAX_HELD_CHUNKS = 250_000
"""Accounts held in memory are bounded: 250k chunks of 384 float32s are ~370 MiB. A SAM's
accounts fit many times over; a team's hundreds of accounts evict the least recently used."""


@dataclass(frozen=True)
class RetrievedChunk:
    chunk: Chunk
    similarity: float
    score: float


@dataclass(frozen=True)
class Ranking:
    """How relevance and recency are blended: only signals age, plans are living documents."""

    recency_weight: float = 0.3
    half_life_days: float = 30.0

    def score(self, similarity: float, published_at: datetime | None, as_of: datetime) -> float:
        if published_at is None:
            return similarity
        age_days = max((as_of - published_at).total_seconds() / 86_400, 0.0)
        recency = math.pow(0.5, age_days / self.half_life_days)
        return (1 - self.recency_weight) * similarity + self.recency_weight * recency

    def scores(self, similarities: Floats, published_ts: Floats, as_of: datetime) -> Floats:
        """:meth:`score` for many chunks at once; ``published_ts`` is NaN where it is None."""
        age_days = np.maximum((as_of.timestamp() - published_ts) / 86_400, 0.0)
        recency = np.power(0.5, age_days / self.half_life_days)
        blended = (1 - self.recency_weight) * similarities + self.recency_weight * recency
        result: Floats = np.where(np.isnan(published_ts), similarities, blended)
        return result


class VectorIndex:
    """Chunks stored in chromadb, searched per account in memory (see the module docstring)."""

    def __init__(
        self,
        client: Any,
        embedder: Embedder,
        collection: str = "samdesk",
        *,
        revalidate_s: float = 1.0,
        max_held_chunks: int = MAX_HELD_CHUNKS,
    ):
        self.embedder = embedder
        self.revalidate_s = revalidate_s
        self.max_held_chunks = max_held_chunks
        self._client = client
        self.collection_name = f"{collection}-{slug(embedder.name)}"[:63]
        self._collection = client.get_or_create_collection(
            name=self.collection_name,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
        )
        self._accounts: dict[str, AccountVectors] = {}
        self._generation: object = None
        self._checked_at = -math.inf
        self._lock = threading.Lock()

    @classmethod
    def persistent(cls, path: Path, embedder: Embedder, collection: str = "samdesk") -> VectorIndex:
        path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(
            path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
        )
        return cls(client, embedder, collection)

    @classmethod
    def http(cls, url: str, embedder: Embedder, collection: str = "samdesk") -> VectorIndex:
        """An index on a chromadb server (``chroma run``) at ``url``, e.g. http://127.0.0.1:8001."""
        parts = urlsplit(url)
        host = parts.hostname
        if parts.scheme not in ("http", "https") or not host or parts.path not in ("", "/"):
            raise ConfigError(
                f"SAMDESK_CHROMA_URL {url!r} is not a chromadb server address; "
                "write it as http://host:port (e.g. http://127.0.0.1:8001)"
            )
        port = parts.port or (443 if parts.scheme == "https" else 8000)
        try:
            client = chromadb.HttpClient(
                host=host,
                port=port,
                ssl=parts.scheme == "https",
                settings=ChromaSettings(anonymized_telemetry=False),
            )
        except ValueError as exc:  # chromadb's way of saying the server did not answer
            raise ConfigError(
                f"no chromadb server answers at SAMDESK_CHROMA_URL={url} ({exc}); start one "
                f"with `chroma run --path <dir> --port {port}` or unset SAMDESK_CHROMA_URL "
                "to use the embedded store"
            ) from exc
        return cls(client, embedder, collection)

    def count(self) -> int:
        return int(self._collection.count())

    def hashes(self, ids: list[str]) -> dict[str, str]:
        """Content hash stored for each of ``ids`` that is indexed."""
        if not ids:
            return {}
        found = self._collection.get(ids=ids, include=["metadatas"])
        return {
            id_: str(meta.get("content_hash", ""))
            for id_, meta in zip(found["ids"], found["metadatas"] or [], strict=True)
        }

    def ids_for(self, account_id: str, kind: ChunkKind) -> set[str]:
        found = self._collection.get(
            where={"$and": [{"account_id": account_id}, {"kind": kind}]}, include=[]
        )
        return set(found["ids"])

    def upsert(self, chunks: list[Chunk]) -> None:
        if not chunks:
            return
        vectors = self.embedder.embed([_embed_text(c) for c in chunks])
        self._collection.upsert(
            ids=[c.id for c in chunks],
            embeddings=vectors,
            documents=[c.text for c in chunks],
            metadatas=[c.metadata() for c in chunks],
        )
        self._changed()

    def delete(self, ids: list[str]) -> None:
        if ids:
            self._collection.delete(ids=ids)
            self._changed()

    def search(
        self,
        query: str,
        *,
        account_id: str,
        k: int = 8,
        as_of: datetime | None = None,
        ranking: Ranking | None = None,
        kinds: tuple[ChunkKind, ...] = ("plan", "signal"),
        query_vector: list[float] | None = None,
    ) -> list[RetrievedChunk]:
        """Top ``k`` chunks of one account, relevance blended with signal recency.

        The ``max(4k, 20)`` most similar chunks are ranked, so a fresh signal can overtake a
        slightly closer old one but a fresh off-topic one cannot crowd out the relevant.
        ``query_vector``, when the caller already has the query's embedding (a stored
        chunk's, see :meth:`vectors`), skips embedding ``query``: the model is the cost.
        """
        as_of = as_of or datetime.now(UTC)
        ranking = ranking or Ranking()
        account = self._account(account_id)
        if not len(account):
            return []
        vector = query_vector if query_vector else self.embedder.embed([query])[0]
        rows, similarities = account.nearest(vector, max(k * 4, 20), kinds)
        scores = ranking.scores(similarities, account.published_ts[rows], as_of)
        best = np.lexsort((rows, -scores))[:k]  # rows are in id order: ties go to the lower id
        return [
            RetrievedChunk(account.chunks[row], similarity, score)
            for row, similarity, score in zip(
                rows[best].tolist(), similarities[best].tolist(), scores[best].tolist(), strict=True
            )
        ]

    def vectors(self, ids: list[str]) -> dict[str, list[float]]:
        """The stored embedding of each of ``ids`` that is indexed."""
        if not ids:
            return {}
        found = self._collection.get(ids=ids, include=["embeddings"])
        embeddings = found["embeddings"] if found["embeddings"] is not None else []
        return {
            id_: [float(x) for x in vector]
            for id_, vector in zip(found["ids"], embeddings, strict=True)
        }

    def get(self, ids: list[str]) -> list[Chunk]:
        return _chunks(self._collection.get(ids=ids, include=["documents", "metadatas"]))

    def _account(self, account_id: str) -> AccountVectors:
        """The account's chunks, read from the store unless held and still current."""
        with self._lock:
            now = time.monotonic()
            if now - self._checked_at >= self.revalidate_s:
                self._checked_at = now
                stored = self._stored_generation()
                if stored != self._generation:
                    self._accounts.clear()
                    self._generation = stored
            held = self._accounts.pop(account_id, None)  # put back last: the most recent
            if held is None:
                # Read after the generation above: what is read is at least that new.
                found = self._collection.get(
                    where={"account_id": account_id},
                    include=["embeddings", "documents", "metadatas"],
                )
                embeddings = found["embeddings"] if found["embeddings"] is not None else []
                held = AccountVectors.from_records(account_id, _chunks(found), embeddings)
            self._accounts[account_id] = held
            self._evict()
            return held

    @property
    def held_chunks(self) -> int:
        """How many chunks this index holds in memory now (at most ``max_held_chunks``, unless
        one account alone has more)."""
        return sum(len(held.chunks) for held in self._accounts.values())

    def _evict(self) -> None:
        """Forget the least recently searched accounts while over the bound; never the last
        one, which a search is about to use."""
        total = self.held_chunks
        while total > self.max_held_chunks and len(self._accounts) > 1:
            total -= len(self._accounts.pop(next(iter(self._accounts))).chunks)

    def _stored_generation(self) -> object:
        collection = self._client.get_collection(self.collection_name, embedding_function=None)
        return (collection.metadata or {}).get(GENERATION)

    def _changed(self) -> None:
        """After a write: forget what is held here, and tell other processes' indexes."""
        generation = uuid.uuid4().hex
        self._collection.modify(metadata={GENERATION: generation})
        with self._lock:
            self._accounts.clear()
            self._generation = generation
            self._checked_at = time.monotonic()


def chunk_from_record(id_: str, document: str | None, meta: Any) -> Chunk:
    published = meta.get("published_at")
    return Chunk(
        id=id_,
        account_id=str(meta["account_id"]),
        kind=meta["kind"],
        section=str(meta.get("section", "")),
        title=str(meta.get("title", "")),
        text=document or "",
        published_at=datetime.fromisoformat(published) if published else None,
        url=meta.get("url"),
        flags=tuple(filter(None, str(meta.get("injection", "")).split(","))),
    )


def _chunks(found: Any) -> list[Chunk]:
    return [
        chunk_from_record(id_, doc, meta)
        for id_, doc, meta in zip(
            found["ids"], found["documents"] or [], found["metadatas"] or [], strict=True
        )
    ]


def _embed_text(chunk: Chunk) -> str:
    return f"{chunk.title}\n{chunk.text}"
