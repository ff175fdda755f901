"""Closed-loop load that does not need ``wrk``: the desk benchmark and the profiler must run
on a machine without it, so they take requests per second and the non-2xx count from wrk
(bench/wrk.py) when installed, else from 4 threads of httpx in a child process
(bench/load_client.py).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import wrk


@dataclass(frozen=True)
class LoadSpec:
    """One closed-loop load; ``distinct``: every GET has a query string of its own, so no
    page comes from the desk's cache."""

    base: str
    path: str
    token: str | None
    seconds: float
    approve: list[int] | None = None
    distinct: bool = False
    post: str = wrk.APPROVE_PATH


def load(
    base: str,
    path: str,
    token: str | None,
    seconds: float,
    *,
    approve: list[int] | None = None,
    distinct: bool = False,
    post: str = wrk.APPROVE_PATH,
    tmp: Path,
) -> tuple[float, int]:
    """Requests per second over ``seconds`` of closed-loop load, and how many were not 2xx."""
    spec = LoadSpec(base, path, token, seconds, approve, distinct, post)
    return _wrk(spec, tmp) if shutil.which("wrk") else _python_load(spec)


def _wrk(spec: LoadSpec, tmp: Path) -> tuple[float, int]:
    lua = wrk.script(
        spec.token, spec.path, distinct=spec.distinct, approve=spec.approve, post=spec.post
    )
    result = wrk.run(spec.base, lua, spec.seconds, tmp)
    return result.requests_per_s, int(result.figures["non_2xx"])


def _python_load(spec: LoadSpec) -> tuple[float, int]:
    """The fallback load: 4 threads of kept-alive httpx in a child process, bounded in time."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.load_client", json.dumps(asdict(spec))],
        capture_output=True,
        text=True,
        check=True,
        timeout=spec.seconds + 60,
    ).stdout
    data = json.loads(out)
    return float(data["rate"]), int(data["bad"])
