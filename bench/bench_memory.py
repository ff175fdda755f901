"""Memory: peak RSS of ``samdesk demo --no-serve`` ÷ the embedding model alone.

The demo runs as a user would run it, in a fresh temporary data directory over a copy of the
samples, with drafts going to the zero-latency stub model (so what is measured is samdesk's
process, not the model server's). The baseline, measured in the same run, is a bare Python
process that loads all-MiniLM-L6-v2 and encodes the same sample chunks: the floor any
in-process embedding costs. The desk server's peak RSS with 10k drafts is in the desk
benchmark. Peak RSS is read from the kernel (``ru_maxrss`` of a waited child).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench import stub_llm
from bench.common import (
    REPEATS,
    RESULTS,
    SAMPLES,
    Figure,
    bench_env,
    figure,
    interleave,
    median,
    record,
    scratch,
)

# Runs argv[1:] and prints the peak RSS (KiB) of that child, and only that child.
MEASURE = (
    "import resource, subprocess, sys; "
    "code = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(code)"
)
MODEL_ONLY = (
    "import pathlib, sys; "
    "from retrieval.chunks import plan_chunks, signal_chunk; "
    "from retrieval.embeddings import SentenceTransformerEmbedder; "
    "from retrieval.plans import load_plan; from retrieval.signals import load_signals; "
    "p = pathlib.Path(sys.argv[1]); "
    "chunks = [c for f in sorted((p / 'accounts').glob('*.md')) "
    "          for c in plan_chunks(load_plan(f)[0])]; "
    "chunks += [signal_chunk(s) for s in load_signals(p / 'signals' / 'signals.jsonl')[0]]; "
    "SentenceTransformerEmbedder('all-MiniLM-L6-v2').embed([c.title + '\\n' + c.text "
    "for c in chunks])"
)


def peak_rss_mib(argv: list[str], env: dict[str, str]) -> float:
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, *argv], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"{argv[:3]} failed:\n{done.stderr[-2000:]}")
    return int(done.stdout.strip().splitlines()[-1]) / 1024


def run(repeats: int = REPEATS) -> tuple[list[Figure], dict[str, float]]:
    samdesk = str(Path(sys.executable).with_name("samdesk"))
    seconds: list[float] = []
    with stub_llm.running_stub(0) as base_url, scratch("memory") as tmp:
        samples = tmp / "samples"
        shutil.copytree(SAMPLES, samples)
        runs = iter(range(1_000))

        def demo() -> float:
            data = tmp / f"data-{next(runs)}"
            env = bench_env(SAMDESK_DATA_DIR=str(data), SAMDESK_LLM_BASE_URL=base_url)
            started = time.perf_counter()
            rss = peak_rss_mib(
                [samdesk, "demo", "--no-serve", "--samples", str(samples), "--as-of", "2026-11-26"],
                env,
            )
            seconds.append(time.perf_counter() - started)
            shutil.rmtree(data, ignore_errors=True)
            return rss

        def model_only() -> float:
            return peak_rss_mib([sys.executable, "-c", MODEL_ONLY, str(samples)], bench_env())

        subject, baseline = interleave(demo, model_only, repeats)
    return [
        figure(
            "samdesk demo --no-serve peak RSS ÷ MiniLM alone encoding the same chunks",
            subject,
            baseline,
            better="lower",
            unit="MiB",
        )
    ], {"demo_wall_seconds_median": round(median(seconds), 1)}


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    figures, extra = run(args.repeats)
    record("memory", figures, path=args.results, **extra)
    return figures


if __name__ == "__main__":
    main()
