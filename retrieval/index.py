"""The vector index: one chromadb collection per embedding model, searched per account.

Account scoping is part of the query itself (a ``where`` filter), never a post-filter,
so one account's chunks cannot reach another account's draft.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import chromadb
from chromadb.config import Settings as ChromaSettings

from retrieval.chunks import Chunk, ChunkKind, slug
from retrieval.embeddings import Embedder


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


class VectorIndex:
    def __init__(self, client: Any, embedder: Embedder, collection: str = "samdesk"):
        self.embedder = embedder
        self._collection = client.get_or_create_collection(
            name=f"{collection}-{slug(embedder.name)}"[:63],
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
        )

    @classmethod
    def persistent(cls, path: Path, embedder: Embedder, collection: str = "samdesk") -> VectorIndex:
        path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(
            path=str(path), settings=ChromaSettings(anonymized_telemetry=False)
        )
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

    def delete(self, ids: list[str]) -> None:
        if ids:
            self._collection.delete(ids=ids)

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

        ``query_vector``, when the caller already has the query's embedding (a stored
        chunk's, see :meth:`vectors`), skips embedding ``query``: the model is the cost.
        """
        as_of = as_of or datetime.now(UTC)
        ranking = ranking or Ranking()
        where: dict[str, Any] = {"account_id": account_id}
        if len(kinds) == 1:
            where = {"$and": [where, {"kind": kinds[0]}]}
        # No count() first: chromadb returns fewer (or no) results when it has fewer, and
        # counting cost ~5 ms a query at 100k chunks (bench/bench_retrieval.py).
        found = self._collection.query(
            query_embeddings=[query_vector] if query_vector else self.embedder.embed([query]),
            n_results=max(k * 4, 20),
            where=where,
            include=["documents", "metadatas", "distances"],
        )
        results = []
        for id_, doc, meta, dist in zip(
            found["ids"][0],
            (found["documents"] or [[]])[0],
            (found["metadatas"] or [[]])[0],
            (found["distances"] or [[]])[0],
            strict=True,
        ):
            chunk = chunk_from_record(id_, doc, meta)
            if chunk.account_id != account_id:  # defence in depth; the filter already scopes
                continue
            similarity = 1.0 - float(dist)
            results.append(
                RetrievedChunk(
                    chunk, similarity, ranking.score(similarity, chunk.published_at, as_of)
                )
            )
        results.sort(key=lambda r: (-r.score, r.chunk.id))
        return results[:k]

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
        found = self._collection.get(ids=ids, include=["documents", "metadatas"])
        return [
            chunk_from_record(id_, doc, meta)
            for id_, doc, meta in zip(
                found["ids"], found["documents"] or [], found["metadatas"] or [], strict=True
            )
        ]


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


def _embed_text(chunk: Chunk) -> str:
    return f"{chunk.title}\n{chunk.text}"
