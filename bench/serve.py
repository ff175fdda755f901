"""The desk every server benchmark measures (desk, load, soak, and profile_paths' py-spy),
started as a user starts it (``samdesk serve``, uvicorn's worker processes included) so the
figures are the deployed desk's; its memory summed over those processes; and the outbox
invariant every approval under load keeps.

It listens on loopback only; load comes from bench/closed_loop.py or bench/wrk.py.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.common import bench_env, free_port, wait_for_http
from samdesk.models import Draft, OutboxMessage

SAMDESK = Path(sys.executable).with_name("samdesk")
REPO = Path(__file__).resolve().parent.parent  # where ``python -m bench.<module>`` is found


def supports_workers() -> bool:
    """Whether ``samdesk serve`` has ``--workers`` (it runs uvicorn's worker processes)."""
    out = subprocess.run(
        [str(SAMDESK), "serve", "--help"],
        capture_output=True,
        text=True,
        env=bench_env(COLUMNS="200"),
        check=False,
    ).stdout
    return "--workers" in out


@dataclass
class Server:
    base: str
    pid: int  # the ``samdesk serve`` process: uvicorn itself, or the parent of its workers


@contextmanager
def samdesk_serve(
    data_dir: Path, url: str, *, workers: int = 1, module: str | None = None
) -> Iterator[Server]:
    """``samdesk serve`` on a free loopback port, as a user starts it; answering /healthz.

    ``module``: serve ``python -m <module> --port <port>`` instead, from the same environment
    (bench/ceiling.py: the desk plus routes that do nothing)."""
    port = free_port()
    env = bench_env(
        SAMDESK_DATA_DIR=str(data_dir),
        SAMDESK_DATABASE_URL=url,
        SAMDESK_ENV="test",
        SAMDESK_HOST="127.0.0.1",
        SAMDESK_PORT=str(port),
    )
    command = [str(SAMDESK), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if module is not None:
        command = [sys.executable, "-m", module, "--port", str(port)]
    if workers > 1:
        command += ["--workers", str(workers)]
    # stderr to a file, not an unread pipe: a long run's error log must never block the server.
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
        base = f"http://127.0.0.1:{port}"
        try:
            try:
                wait_for_http(f"{base}/healthz", timeout_s=90)
            except TimeoutError:
                proc.terminate()
                proc.wait(timeout=15)
                err.seek(0)
                tail = err.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"samdesk serve did not start:\n{tail}") from None
            yield Server(base, proc.pid)
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (uvicorn's worker processes), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """Resident memory of the server, summed over its processes (``VmHWM``: each one's peak)."""
    total_kb = 0
    for member in process_tree(pid):
        try:
            lines = Path(f"/proc/{member}/status").read_text().splitlines()
        except OSError:
            continue
        total_kb += next((int(ln.split()[1]) for ln in lines if ln.startswith(f"{field}:")), 0)
    return total_kb / 1024


def outbox_check(session: Session) -> dict[str, int]:
    """The invariant every approval keeps: each approved draft has exactly one queued outbox
    row, for its approved revision; no other draft has a queued row."""
    approved = session.scalar(select(func.count()).where(Draft.status == "approved")) or 0
    queued = (
        select(OutboxMessage.draft_id, func.count().label("n"))
        .where(OutboxMessage.status == "queued")
        .group_by(OutboxMessage.draft_id)
        .subquery()
    )
    rows = session.execute(
        select(Draft.status, Draft.approved_revision, queued.c.n).outerjoin(
            queued, queued.c.draft_id == Draft.id
        )
    ).all()
    wrong = sum(
        1
        for status, _, n in rows
        if (status == "approved" and n != 1) or (status != "approved" and n)
    )
    misbound = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .join(Draft, Draft.id == OutboxMessage.draft_id)
        .where(
            OutboxMessage.status == "queued",
            OutboxMessage.revision_number != Draft.approved_revision,
        )
    )
    return {"approved": approved, "wrong_outbox": wrong, "misbound_outbox": misbound or 0}
