"""What the load and soak benchmarks share: ``samdesk serve`` in a child process, ``wrk``
scripts that walk draft ids, and the server's memory (all its processes).

Load only ever goes to the loopback server started here, for a bounded time (wrk ``-d``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench.common import bench_env, free_port, wait_for_http
from samdesk.models import Draft, OutboxMessage

SAMDESK = Path(sys.executable).with_name("samdesk")
APPROVE_BODY = '{"confirm_flags": true}'


def serve_supports_workers() -> bool:
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
    pid: int


@contextmanager
def samdesk_serve(data_dir: Path, url: str, *, workers: int = 1) -> Iterator[Server]:
    """``samdesk serve`` on a free loopback port, as a user starts it."""
    port = free_port()
    env = bench_env(
        SAMDESK_DATA_DIR=str(data_dir),
        SAMDESK_DATABASE_URL=url,
        SAMDESK_ENV="test",
        SAMDESK_HOST="127.0.0.1",
        SAMDESK_PORT=str(port),
    )
    command = [str(SAMDESK), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers > 1:
        command += ["--workers", str(workers)]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_http(f"{base}/healthz", timeout_s=90)
        except TimeoutError:
            proc.terminate()
            _, err = proc.communicate(timeout=15)
            raise RuntimeError(f"samdesk serve did not start:\n{err.decode()[-2000:]}") from None
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


def lua(
    token: str,
    *,
    approve: list[int] | None = None,
    mixed: list[int] | None = None,
    get: str = "/",
) -> str:
    """A wrk script: GET ``get``; or approve each id of ``approve`` once, in order; or the
    soak's mix over ``mixed`` ids (per 10 requests: 6 queue views, 2 edits, 2 approves of
    the drafts just edited). Its ``done`` prints one JSON line of figures."""
    lines = [
        f'wrk.headers["Authorization"] = "Bearer {token}"',
        'wrk.headers["Content-Type"] = "application/json"',
        "local i = 0",
    ]
    if approve is not None:
        lines += [
            "local ids = {" + ",".join(map(str, approve)) + "}",
            "request = function()",
            "  i = i + 1",
            '  local path = "/api/drafts/" .. ids[((i - 1) % #ids) + 1] .. "/approve"',
            f"  return wrk.format(\"POST\", path, nil, '{APPROVE_BODY}')",
            "end",
        ]
    elif mixed is not None:
        lines += [
            "local ids = {" + ",".join(map(str, mixed)) + "}",
            'local views = {"/", "/?page=2", "/api/drafts?kind=outreach", "/",',
            '  "/?status=approved", "/"}',
            "local cycle = 0",
            "request = function()",
            "  i = i + 1",
            "  local step = (i - 1) % 10",
            "  if step == 0 then cycle = cycle + 1 end",
            '  if step < 6 then return wrk.format("GET", views[step + 1]) end',
            "  local id = ids[((2 * (cycle - 1) + step % 2) % #ids) + 1]",
            "  if step < 8 then",
            "    local body = '{\"body\": \"Soak edit ' .. i .. ': thanks for the update.\"}'",
            '    return wrk.format("PATCH", "/api/drafts/" .. id, nil, body)',
            "  end",
            '  local path = "/api/drafts/" .. id .. "/approve"',
            f"  return wrk.format(\"POST\", path, nil, '{APPROVE_BODY}')",
            "end",
        ]
    else:
        lines.append(f'wrk.path = "{get}"')
    lines += [
        "done = function(summary, latency, requests)",
        "  local e = summary.errors",
        '  io.write(string.format(\'{"requests": %d, "seconds": %.3f, "p50_ms": %.3f, '
        '"p99_ms": %.3f, "max_ms": %.3f, "non_2xx": %d, "socket_errors": %d}\\n\', '
        "summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, "
        "latency:percentile(99) / 1000, latency.max / 1000, e.status, "
        "e.connect + e.read + e.write + e.timeout))",
        "end",
    ]
    return "\n".join(lines) + "\n"


def wrk(
    base: str, script: str, seconds: float, tmp: Path, *, connections: int = 4
) -> dict[str, Any]:
    """Closed-loop load from a second process for ``seconds``: req/s, p50/p99 latency."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    path = tmp / f"load-{os.getpid()}.lua"
    path.write_text(script)
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            str(path),
            base + "/",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    line = next((ln for ln in out.splitlines() if ln.startswith("{")), None)
    if line is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    figures: dict[str, Any] = json.loads(line)
    figures["rate"] = round(figures["requests"] / figures["seconds"], 1)
    return figures


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
