"""One account's chunks held in memory for exact search: unit vectors, kinds, publication times.

Why not ask chromadb for every query: its account ``where`` filter cost 44 ms a query at 100k
chunks (4.5 ms unfiltered), and even a query on a 500-chunk collection costs milliseconds,
mostly fetching documents and metadata (bench/bench_retrieval.py). An account holds thousands
of chunks, not millions, so one dot product over its own rows is both faster and exact
(recall 1.0 by construction). chromadb stays the store; these are read from it per account.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from retrieval.chunks import Chunk, ChunkKind

Floats = npt.NDArray[np.float64]
Rows = npt.NDArray[np.intp]


@dataclass(frozen=True)
class AccountVectors:
    """The chunks of one account; row ``i`` of every array describes ``chunks[i]``."""

    account_id: str
    chunks: tuple[Chunk, ...]  # in id order, so that a lower row breaks a tie as a lower id
    vectors: npt.NDArray[np.float32]  # (n, d), rows scaled to unit length: dot = cosine
    published_ts: Floats  # POSIX seconds; NaN for chunks that do not age (plans)
    kind_rows: dict[str, npt.NDArray[np.bool_]]

    @classmethod
    def from_records(
        cls,
        account_id: str,
        chunks: Sequence[Chunk],
        embeddings: Any,
    ) -> AccountVectors:
        """Keep only rows of ``account_id``: the store was asked for them, this makes sure."""
        keep = sorted(
            (i for i, chunk in enumerate(chunks) if chunk.account_id == account_id),
            key=lambda i: chunks[i].id,
        )
        mine = tuple(chunks[i] for i in keep)
        if not mine:
            return cls(account_id, (), np.zeros((0, 0), np.float32), np.zeros(0), {})
        raw = np.asarray(embeddings, dtype=np.float32)[keep]
        norms = np.linalg.norm(raw, axis=1, keepdims=True)
        vectors = (raw / np.where(norms > 0, norms, 1.0)).astype(np.float32)
        published = np.array(
            [c.published_at.timestamp() if c.published_at else np.nan for c in mine]
        )
        kinds = np.array([c.kind for c in mine])
        kind_rows = {str(kind): kinds == kind for kind in np.unique(kinds)}
        return cls(account_id, mine, vectors, published, kind_rows)

    def __len__(self) -> int:
        return len(self.chunks)

    def nearest(
        self, query: Sequence[float], n: int, kinds: tuple[ChunkKind, ...]
    ) -> tuple[Rows, Floats]:
        """The ``n`` rows of ``kinds`` most similar to ``query`` (unordered) and their cosines."""
        if not self.chunks:
            return np.zeros(0, np.intp), np.zeros(0)
        q = np.asarray(query, dtype=np.float32)
        norm = float(np.sqrt(q @ q))
        similarities = self.vectors @ (q / norm if norm else q)
        masks = [self.kind_rows[k] for k in set(kinds) if k in self.kind_rows]
        if not masks:
            return np.zeros(0, np.intp), np.zeros(0)
        if len(masks) < len(self.kind_rows):
            allowed = np.logical_or.reduce(masks)
            similarities = np.where(allowed, similarities, -np.inf)
            available = int(allowed.sum())
        else:
            available = len(self.chunks)
        n = min(n, available)
        if n <= 0:
            return np.zeros(0, np.intp), np.zeros(0)
        rows: Rows = (
            np.argpartition(-similarities, n - 1)[:n]
            if n < len(similarities)
            else np.arange(len(similarities))
        )
        return rows, similarities[rows].astype(np.float64)
