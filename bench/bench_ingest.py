"""Ingest: signals indexed per second through samdesk ÷ bare ``SentenceTransformer.encode``.

The subject is ``retrieval.ingest.ingest`` on a JSONL file of signals for the sample accounts
(parse and validate each line, look up what is stored, embed, upsert into chromadb, write
the database rows), into a fresh data directory each repetition. The baseline encodes the
same texts with the same model object and batch size and nothing else. Target >= 0.8.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import REPEATS, RESULTS, SAMPLES, Figure, figure, interleave, record, scratch
from retrieval.embeddings import SentenceTransformerEmbedder
from retrieval.index import VectorIndex
from retrieval.ingest import BATCH, ingest
from samdesk.db import make_engine, migrate, session_factory


def synthetic_signals(count: int) -> list[dict[str, Any]]:
    """``count`` distinct signals: the samples' texts, renumbered and told apart."""
    base = [json.loads(line) for line in (SAMPLES / "signals" / "signals.jsonl").open()]
    out = []
    for i in range(count):
        item = dict(base[i % len(base)])
        item["id"] = f"bench-{i:05d}"
        item["text"] = f"{item['text']} (Report {i}.)"
        out.append(item)
    return out


def run(count: int = 320, repeats: int = REPEATS) -> list[Figure]:
    embedder = SentenceTransformerEmbedder("all-MiniLM-L6-v2", batch_size=BATCH)
    signals = synthetic_signals(count)
    texts = [f"{s['title']}\n{s['text']}" for s in signals]
    with scratch("ingest") as tmp:
        template = tmp / "template"
        _store(template, embedder, [SAMPLES / "accounts"])  # plans only: not timed
        jsonl = tmp / "signals.jsonl"
        jsonl.write_text("".join(json.dumps(s) + "\n" for s in signals))
        runs = iter(range(1_000))

        def ours() -> float:
            target = tmp / f"run-{next(runs)}"
            shutil.copytree(template, target)
            elapsed = 0.0

            def timed_ingest(paths: list[Path], **stores: Any) -> Any:
                nonlocal elapsed  # opening the database and the index is not ingesting
                started = time.perf_counter()
                result = ingest(paths, **stores)
                elapsed = time.perf_counter() - started
                return result

            report = _store(target, embedder, [jsonl], run_ingest=timed_ingest)
            if report.added != count:
                raise RuntimeError(f"expected {count} signals added, got {report.summary()}")
            shutil.rmtree(target)
            return count / elapsed

        def bare() -> float:
            model = embedder._model  # the very same SentenceTransformer
            started = time.perf_counter()
            model.encode(
                texts, batch_size=BATCH, normalize_embeddings=True, show_progress_bar=False
            )
            return count / (time.perf_counter() - started)

        subject, baseline = interleave(ours, bare, repeats)
    return [
        figure(
            f"ingest of {count} signals: signals/s through samdesk ÷ bare encode",
            subject,
            baseline,
            better="higher",
            unit="signals/s",
            target=0.8,
            batch_size=BATCH,
        )
    ]


def _store(
    data_dir: Path,
    embedder: SentenceTransformerEmbedder,
    paths: list[Path],
    run_ingest: Callable[..., Any] = ingest,
) -> Any:
    engine = make_engine(f"sqlite:///{(data_dir / 'samdesk.db').resolve()}")
    migrate(engine)
    try:
        index = VectorIndex.persistent(data_dir / "chroma", embedder)
        return run_ingest(paths, index=index, sessions=session_factory(engine))
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=320)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    figures = run(args.signals, args.repeats)
    record("ingest", figures, path=args.results)
    return figures


if __name__ == "__main__":
    main()
