"""Load: req/s and p50/p99 latency of the queue page, approve and /healthz, 10k drafts stored.

The desk runs as a user starts it (``samdesk serve``; also with ``--workers 2`` when the
command has that option), over SQLite and PostgreSQL (127.0.0.1:5432, a database of its
own, dropped afterwards). ``wrk`` (one thread, 4 connections) loads it from a second
process, on loopback, for a few seconds per endpoint; every approve request approves a
different pending draft. Afterwards every approved draft must have exactly one queued
outbox row for its approved revision. ``python -m bench load``; figures go to
bench/results.json under ``load``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench import serve, wrk
from bench.bench_desk import PG_ADMIN, seed
from bench.common import RESULTS, Figure, figure, record, scratch
from samdesk.db import make_engine, session_factory


def pg_database(name: str) -> str | None:
    """A fresh PostgreSQL database ``name``; None when PostgreSQL is not reachable."""
    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "not here": say so and go on
        print(f"  PostgreSQL not usable at 127.0.0.1:5432 ({exc.__class__.__name__}); skipped")
        return None
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def drop_pg_database(name: str) -> None:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def count(n: int) -> str:
    """``10k`` for whole thousands, else ``1,234``: the figure names results.json keys on."""
    return f"{n // 1000}k" if n and n % 1000 == 0 else f"{n:,}"


def measure(
    label: str,
    url: str,
    data_dir: Path,
    workers: int,
    ids: list[int],
    token: str,
    seconds: float,
    drafts: int,
) -> tuple[list[Figure], dict[str, Any]]:
    """One server: /healthz, the queue page and approve, each ``seconds`` of load."""
    where = f"{count(drafts)} drafts, {label}, {workers} worker{'s' if workers > 1 else ''}"
    with serve.samdesk_serve(data_dir, url, workers=workers) as server, scratch("load") as tmp:

        def load(lua: str, seconds: float) -> dict[str, Any]:
            return wrk.run(server.base, lua, seconds, tmp, timeout_s=30).figures

        load(wrk.script(token, "/healthz"), 1)  # warm-up
        load(wrk.script(token, "/"), 1)
        rss_start = serve.rss_mib(server.pid)
        load_before = os.getloadavg()[0]
        health = load(wrk.script(token, "/healthz"), seconds)
        page = load(wrk.script(token, "/"), seconds)
        approve = load(wrk.script(token, approve=ids), seconds)
        load_after = os.getloadavg()[0]
        rss_end = serve.rss_mib(server.pid)
        rss_peak = serve.rss_mib(server.pid, "VmHWM")
    engine = make_engine(url)
    with session_factory(engine)() as session:
        check = serve.outbox_check(session)
    engine.dispose()
    if approve["requests"] > len(ids):
        print(f"  note: {approve['requests']} approves for {len(ids)} ids: some repeated")
    figures = [
        figure(
            f"load: {name} req/s ÷ GET /healthz ({where})",
            [result["rate"]],
            [health["rate"]],
            better="higher",
            unit="req/s",
            p50_ms=result["p50_ms"],
            p99_ms=result["p99_ms"],
            healthz_p50_ms=health["p50_ms"],
            healthz_p99_ms=health["p99_ms"],
            non_2xx=result["non_2xx"],
            socket_errors=result["socket_errors"],
        )
        for name, result in (("queue page GET /", page), ("approve POST", approve))
    ]
    info = {
        "healthz": health,
        "queue_page": page,
        "approve": approve,
        "outbox": check,
        "server_rss_mib": {
            "after_warmup": round(rss_start),
            "after_load": round(rss_end),
            "peak": round(rss_peak),
        },
        "load_average_1m": [round(load_before, 2), round(load_after, 2)],
    }
    print(
        f"  {where}: healthz {health['rate']} req/s, page {page['rate']} req/s "
        f"(p50 {page['p50_ms']} ms, p99 {page['p99_ms']} ms), approve {approve['rate']} req/s "
        f"(p50 {approve['p50_ms']} ms, p99 {approve['p99_ms']} ms), outbox {check}, "
        f"peak RSS {rss_peak:.0f} MiB",
        flush=True,
    )
    return figures, info


def run_database(
    label: str, url: str, data_dir: Path, drafts: int, seconds: float, worker_counts: list[int]
) -> tuple[list[Figure], dict[str, Any]]:
    seeded = seed(url, drafts)
    figures: list[Figure] = []
    info: dict[str, Any] = {"seed_seconds": round(seeded.seconds, 1)}
    share = len(seeded.pending) // len(worker_counts)
    for n, workers in enumerate(worker_counts):
        ids = seeded.pending[n * share : (n + 1) * share]
        found, extra = measure(label, url, data_dir, workers, ids, seeded.token, seconds, drafts)
        figures += found
        info[f"workers_{workers}"] = extra
    return figures, info


def run(drafts: int, seconds: float, databases: list[str]) -> tuple[list[Figure], dict[str, Any]]:
    workers = [1, 2] if serve.supports_workers() else [1]
    extra: dict[str, Any] = {
        "load_generator": "wrk -t1 -c4, loopback",
        "server": "samdesk serve" + (" (and --workers 2)" if len(workers) > 1 else ""),
        "seconds_per_endpoint": seconds,
    }
    figures: list[Figure] = []
    with scratch("load") as tmp:
        if "sqlite" in databases:
            url = f"sqlite:///{(tmp / 'data' / 'samdesk.db').resolve()}"
            found, extra["sqlite"] = run_database(
                "SQLite", url, tmp / "data", drafts, seconds, workers
            )
            figures += found
        name = f"samdesk_load_{os.getpid()}"
        if "postgresql" in databases and (pg_url := pg_database(name)):
            try:
                found, extra["postgresql"] = run_database(
                    "PostgreSQL", pg_url, tmp / "pg-data", drafts, seconds, workers
                )
                figures += found
            finally:
                drop_pg_database(name)
    return figures, extra


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--drafts", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--db", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    figures, extra = run(args.drafts, args.seconds, args.db or ["sqlite", "postgresql"])
    record("load", figures, path=args.results, **extra)
    return figures


if __name__ == "__main__":
    main()
