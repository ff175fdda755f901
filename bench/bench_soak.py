"""Soak: 10 minutes of mixed load on the desk, and whether its memory stays flat.

``samdesk serve`` over SQLite (or ``--db postgresql``) with 10k drafts; ``wrk`` (one thread,
4 connections, loopback) sends per 10 requests 6 queue views (pages, filters, the JSON list),
2 edits and 2 approvals of the drafts just edited, walking the pending drafts (an edit of an
approved draft returns it to pending, so they can be approved again). The server's RSS (all
its processes) is read after a warm-up, every 30 s, and at the end; afterwards every approved
draft must have exactly one queued outbox row, for its approved revision.
``python -m bench soak [--minutes 10]``; figures go to bench/results.json under ``soak``.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from pathlib import Path
from typing import Any

from bench import serve, wrk
from bench.bench_desk import seed
from bench.bench_load import drop_pg_database, pg_database
from bench.common import RESULTS, figure, record, scratch
from samdesk.db import make_engine, session_factory


def soak(url: str, data_dir: Path, drafts: int, minutes: float) -> dict[str, Any]:
    seeded = seed(url, drafts)
    samples: list[tuple[float, float]] = []
    loads: list[float] = []
    with serve.samdesk_serve(data_dir, url) as server, scratch("soak") as tmp:
        wrk.run(server.base, wrk.script(seeded.token, "/"), 2, tmp, timeout_s=30)  # warm-up
        start_rss = serve.rss_mib(server.pid)
        stop = threading.Event()
        began = time.monotonic()

        def sample() -> None:
            while not stop.wait(30):
                samples.append((time.monotonic() - began, serve.rss_mib(server.pid)))
                loads.append(os.getloadavg()[0])

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        lua = wrk.script(seeded.token, mixed=seeded.pending)
        result = wrk.run(server.base, lua, minutes * 60, tmp, timeout_s=30).figures
        stop.set()
        sampler.join()
        end_rss = serve.rss_mib(server.pid)
        peak_rss = serve.rss_mib(server.pid, "VmHWM")
    engine = make_engine(url)
    with session_factory(engine)() as session:
        check = serve.outbox_check(session)
    engine.dispose()
    return {
        "minutes": minutes,
        "mix": "per 10 requests: 6 queue views, 2 edits, 2 approves",
        "wrk": result,
        "rss_mib": {
            "start": round(start_rss, 1),
            "end": round(end_rss, 1),
            "peak": round(peak_rss, 1),
            "every_30s": [[round(t), round(m, 1)] for t, m in samples],
        },
        "load_average_1m_every_30s": [round(x, 2) for x in loads],
        "outbox": check,
        "seed_seconds": round(seeded.seconds, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--drafts", type=int, default=10_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with scratch("soak") as tmp:
        if args.db == "sqlite":
            label = "SQLite"
            info = soak(
                f"sqlite:///{(tmp / 'data' / 'samdesk.db').resolve()}",
                tmp / "data",
                args.drafts,
                args.minutes,
            )
        else:
            label = "PostgreSQL"
            name = f"samdesk_soak_{os.getpid()}"
            url = pg_database(name)
            if url is None:
                raise SystemExit("PostgreSQL is not reachable at 127.0.0.1:5432")
            try:
                info = soak(url, tmp / "data", args.drafts, args.minutes)
            finally:
                drop_pg_database(name)
    rss = info["rss_mib"]
    where = f"{args.minutes:g} min mixed load, {args.drafts:,} drafts, {label}"
    fig = figure(
        f"soak: server RSS at the end ÷ after warm-up ({where})",
        [rss["end"]],
        [rss["start"]],
        better="lower",
        unit="MiB",
        req_s=info["wrk"]["rate"],
        p50_ms=info["wrk"]["p50_ms"],
        p99_ms=info["wrk"]["p99_ms"],
        non_2xx=info["wrk"]["non_2xx"],
        socket_errors=info["wrk"]["socket_errors"],
    )
    record("soak", [fig], path=args.results, database=label, **info)


if __name__ == "__main__":
    main()
