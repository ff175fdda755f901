"""Desk: req/s of the queue page and the approve action with 10k drafts ÷ a trivial endpoint.

The desk is ``samdesk serve`` itself (uvicorn, one process; bench/serve.py) in a child
process on a free loopback port, over SQLite and over PostgreSQL (127.0.0.1:5432, its own
``samdesk_bench`` database, dropped and re-created). Load comes from a second process:
``wrk`` when installed, else a bounded Python loop. Each measurement is a few seconds of
closed-loop load; the trivial endpoint is ``GET /healthz``. Target: page and approve >= 0.5
of it. The server's peak RSS after the load is reported too.

Repeated views of the queue page are served from the desk's cache until something changes
(approval_ui/desk_cache.py), which is what a reviewer coming back to the queue gets; the
page rendered anew each time (a distinct query string per request) is reported beside it.
The approvals run after the page loads, so each page round starts from a changed desk.

Beside them, the ceiling: in a server of its own (bench/ceiling.py), approve's exact
request answered by a route that does nothing, on the event loop and after one trip
through the thread pool, each ÷ /healthz. No approval can beat a route that does no work,
so approve's distance to its target is read against this.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from agent.drafting import DraftResult
from agent.prompts import load_prompt
from agent.schemas import DraftOutput
from approval_ui import auth, crud, users
from bench.ceiling import NOOP, NOOP_POOL
from bench.closed_loop import load
from bench.common import AS_OF, REPEATS, RESULTS, SAMPLES, Figure, figure, median, record, scratch
from bench.serve import rss_mib, samdesk_serve
from retrieval.chunks import plan_chunks, signal_chunk
from retrieval.index import RetrievedChunk
from retrieval.plans import load_plan
from retrieval.signals import load_signals
from samdesk.db import make_engine, migrate, session_factory, transaction
from samdesk.models import Account, SignalRecord

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_BENCH = "postgresql+psycopg://postgres@127.0.0.1:5432/samdesk_bench"
REVIEWER = "sarah.chen@northwind.example"


@dataclass
class Seeded:
    pending: list[int]
    token: str
    seconds: float


def seed(url: str, drafts: int) -> Seeded:
    """``drafts`` drafts over the sample accounts: 80% pending, 10% rejected, 10% failed."""
    engine = make_engine(url)
    migrate(engine)
    sessions = session_factory(engine)
    plans = [p for p, _ in map(load_plan, sorted((SAMPLES / "accounts").glob("*.md"))) if p]
    signals, _ = load_signals(SAMPLES / "signals" / "signals.jsonl")
    chunks = {p.account_id: plan_chunks(p) for p in plans}
    news = {
        p.account_id: [signal_chunk(s) for s in signals if s.account_id == p.account_id]
        for p in plans
    }
    prompt = load_prompt("outreach")
    started = time.perf_counter()
    with transaction(sessions) as session:
        for plan in plans:
            session.merge(
                Account(
                    id=plan.account_id,
                    name=plan.name,
                    industry=plan.industry,
                    owner_sam=plan.owner_sam,
                    owner_email=REVIEWER,
                    arr_usd=plan.arr_usd,
                    strategic_score=plan.strategic_score,
                    plan=plan.model_dump(mode="json"),
                    plan_hash="bench",
                )
            )
        for signal in signals:  # the queue ranks outreach by its trigger signal's age
            chunk = signal_chunk(signal)
            session.merge(
                SignalRecord(
                    id=signal.id,
                    account_id=signal.account_id,
                    type=signal.type,
                    title=signal.title,
                    text=signal.text,
                    url=str(signal.source_url),
                    published_at=signal.published_at,
                    content_hash=chunk.content_hash,
                )
            )
        user = users.create_user(
            session, email=REVIEWER, name="Sarah Chen", role="sam", password="bench-password-1"
        )
        token = auth.create_token(session, user, "bench").secret
    pending: list[int] = []
    for start in range(0, drafts, 500):
        with transaction(sessions) as session:
            for i in range(start, min(start + 500, drafts)):
                plan = plans[i % len(plans)]
                trigger = news[plan.account_id][i % len(news[plan.account_id])]
                sources = [trigger, *chunks[plan.account_id][:7]]
                failed = i % 10 == 9
                result = DraftResult(
                    kind="outreach",
                    account_id=plan.account_id,
                    trigger={"type": "signal", "signal_id": trigger.id, "title": trigger.title},
                    prompt=prompt,
                    model="bench",
                    recipient=f"Reviewer <{REVIEWER}>",
                    sources=[RetrievedChunk(c, 0.8, 0.8) for c in sources],
                    output=None
                    if failed
                    else DraftOutput(
                        subject=f"Following up: {trigger.title}"[:200],
                        body=f"Hello,\n\n{trigger.text} [{trigger.id}]\n\n"
                        f"{sources[1].text[:600]} [{sources[1].id}]\n\nBest,\n{plan.owner_sam}",
                        citations=[trigger.id, sources[1].id],
                    ),
                    failure_reason="attempt 2: not JSON" if failed else None,
                    usage={"prompt_tokens": 1500, "completion_tokens": 300},
                    latency_ms=900,
                )
                draft = crud.create_draft(session, result=result)
                draft.created_at = AS_OF - timedelta(minutes=drafts - i)
                session.flush()
                if i % 10 == 8:
                    crud.reject(session, draft, by=REVIEWER, reason="not now")
                elif not failed:
                    pending.append(draft.id)
    seconds = time.perf_counter() - started
    engine.dispose()
    return Seeded(pending, token, seconds)


def postgres_available() -> bool:
    try:
        engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS samdesk_bench WITH (FORCE)"))
            conn.execute(text("CREATE DATABASE samdesk_bench"))
        engine.dispose()
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means "not here": say so and go on
        print(f"  PostgreSQL not usable at 127.0.0.1:5432 ({exc.__class__.__name__}); skipped")
        return False


def durable_commits_per_s(directory: Path, commits: int = 300) -> float:
    """The ceiling under any SQLite write endpoint on this disk: one-row transactions
    committed as the desk commits them (WAL, ``synchronous=FULL``), with nothing else."""
    path = directory / "commit-floor.db"
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE t (n INTEGER)")
        started = time.perf_counter()
        for n in range(commits):
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO t VALUES (?)", (n,))
            db.execute("COMMIT")
        return commits / (time.perf_counter() - started)
    finally:
        db.close()
        for leftover in directory.glob("commit-floor.db*"):
            leftover.unlink()


def run_database(
    label: str, url: str, data_dir: Path, drafts: int, seconds: float, repeats: int
) -> tuple[list[Figure], dict[str, Any]]:
    seeded = seed(url, drafts)
    figures: list[Figure] = []
    with samdesk_serve(data_dir, url) as server, scratch("wrk") as tmp:
        base = server.base
        rss_idle = rss_mib(server.pid, "VmHWM")
        trivial: list[float] = []
        page: list[float] = []
        rendered: list[float] = []
        approve: list[float] = []
        failures = 0
        budget = len(seeded.pending) // (repeats + 1)
        for rep in range(repeats + 1):  # the first round warms up and is dropped
            ids = seeded.pending[rep * budget : (rep + 1) * budget]
            rates = [
                load(base, "/healthz", None, seconds, tmp=tmp),
                load(base, "/", seeded.token, seconds, tmp=tmp),
                load(base, "/api/drafts", seeded.token, seconds, approve=ids, tmp=tmp),
                load(base, "/", seeded.token, seconds, distinct=True, tmp=tmp),
            ]
            if rep == 0:
                continue
            failures += sum(bad for _, bad in rates)
            trivial.append(rates[0][0])
            page.append(rates[1][0])
            approve.append(rates[2][0])
            rendered.append(rates[3][0])
        rss = rss_mib(server.pid, "VmHWM")
    ceiling = measure_ceiling(data_dir, url, seeded, seconds, repeats)
    where = f"{drafts:,} drafts, {label}"
    figures.append(
        figure(
            f"queue page GET / req/s ÷ GET /healthz ({where})",
            page,
            trivial,
            better="higher",
            unit="req/s",
            target=0.5,
            non_2xx=failures,
        )
    )
    figures.append(
        figure(
            f"queue page rendered anew (never cached) req/s ÷ GET /healthz ({where})",
            rendered,
            trivial,
            better="higher",
            unit="req/s",
            rendered_page_ms=round(1000 / median(rendered), 1),
        )
    )
    figures.append(
        figure(
            f"approve POST /api/drafts/{{id}}/approve req/s ÷ GET /healthz ({where})",
            approve,
            trivial,
            better="higher",
            unit="req/s",
            target=0.5,
            queue_page_ms=round(1000 / median(page), 1),
            approve_ms=round(1000 / median(approve), 1),
            bare_durable_commits_per_s=round(durable_commits_per_s(data_dir), 1)
            if url.startswith("sqlite")
            else None,
            approve_over_noop_pool=round(median(approve) / median(ceiling["noop_pool"]), 3),
        )
    )
    for name, how in (
        ("noop", "answered on the event loop"),
        ("noop_pool", "after one trip through the thread pool, as a database write must"),
    ):
        figures.append(
            figure(
                f"ceiling: approve's request doing nothing, {how}, req/s ÷ GET /healthz ({where})",
                ceiling[name],
                ceiling["healthz"],
                better="higher",
                unit="req/s",
            )
        )
    figures.append(
        figure(
            f"desk server peak RSS after the load ÷ just started ({where})",
            [rss],
            [rss_idle],
            better="lower",
            unit="MiB",
        )
    )
    return figures, {"seed_seconds": round(seeded.seconds, 1), "server_peak_rss_mib": round(rss)}


def measure_ceiling(
    data_dir: Path, url: str, seeded: Seeded, seconds: float, repeats: int
) -> dict[str, list[float]]:
    """req/s of the no-op routes of bench/ceiling.py and of /healthz, alternated, in a server
    of their own: what the approve figure would be if approving cost nothing."""
    rates: dict[str, list[float]] = {"healthz": [], "noop": [], "noop_pool": []}
    ids, token = seeded.pending[:100], seeded.token
    with samdesk_serve(data_dir, url, module="bench.ceiling") as server, scratch("wrk") as tmp:
        for rep in range(repeats + 1):  # the first round warms up and is dropped
            measured = {
                "healthz": load(server.base, "/healthz", None, seconds, tmp=tmp),
                "noop": load(server.base, "", token, seconds, approve=ids, post=NOOP, tmp=tmp),
                "noop_pool": load(
                    server.base, "", token, seconds, approve=ids, post=NOOP_POOL, tmp=tmp
                ),
            }
            if rep == 0:
                continue
            for name, (rate, bad) in measured.items():
                if bad:
                    raise RuntimeError(f"the ceiling server answered {bad} {name} requests non-2xx")
                rates[name].append(rate)
    return rates


def run(
    drafts: int = 10_000, seconds: float = 3.0, repeats: int = REPEATS
) -> tuple[list[Figure], dict[str, Any]]:
    figures: list[Figure] = []
    extra: dict[str, Any] = {
        "load_generator": "wrk -t1 -c4" if shutil.which("wrk") else "python httpx, 4 threads"
    }
    with scratch("desk") as tmp:
        data_dir = tmp / "data"
        sqlite_url = f"sqlite:///{(data_dir / 'samdesk.db').resolve()}"
        found, info = run_database("SQLite", sqlite_url, data_dir, drafts, seconds, repeats)
        figures += found
        extra["sqlite"] = info
        if postgres_available():
            found, info = run_database(
                "PostgreSQL", PG_BENCH, tmp / "pg-data", drafts, seconds, repeats
            )
            figures += found
            extra["postgresql"] = info
    return figures, extra


def main(argv: list[str] | None = None) -> list[Figure]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drafts", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    figures, extra = run(args.drafts, args.seconds, args.repeats)
    record("desk", figures, path=args.results, **extra)
    return figures


if __name__ == "__main__":
    main()
