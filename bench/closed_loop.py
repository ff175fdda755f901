"""Closed-loop load on one endpoint of a loopback desk: requests per second and how many
were not 2xx. ``wrk -t1 -c4`` when installed, else 4 threads of httpx in a child process
(bench/load_client.py). The desk benchmark and the profiler both drive the desk this way.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

REQUESTS_S = re.compile(r"Requests/sec:\s+([\d.]+)")
NON_2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")


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


def load(
    base: str,
    path: str,
    token: str | None,
    seconds: float,
    *,
    approve: list[int] | None = None,
    distinct: bool = False,
    tmp: Path,
) -> tuple[float, int]:
    """Requests per second over ``seconds`` of closed-loop load, and how many were not 2xx."""
    spec = LoadSpec(base, path, token, seconds, approve, distinct)
    return _wrk(spec, tmp) if shutil.which("wrk") else _python_load(spec)


def _wrk(spec: LoadSpec, tmp: Path) -> tuple[float, int]:
    lines = []
    if spec.token:
        lines.append(f'wrk.headers["Authorization"] = "Bearer {spec.token}"')
    if spec.distinct:
        lines += [
            "local n = 0",
            "request = function()",
            "  n = n + 1",
            f'  return wrk.format(nil, "{spec.path}?uncached=" .. n)',
            "end",
        ]
    if spec.approve is not None:
        lines += [
            'wrk.method = "POST"',
            'wrk.headers["Content-Type"] = "application/json"',
            "wrk.body = '{\"confirm_flags\": true}'",
            "local ids = {" + ",".join(map(str, spec.approve)) + "}",
            "local i = 0",
            "request = function()",
            "  i = i + 1",
            '  return wrk.format(nil, "/api/drafts/" .. ids[((i - 1) % #ids) + 1] .. "/approve")',
            "end",
        ]
    script = tmp / "load.lua"
    script.write_text("\n".join(lines) + "\n")
    seconds = max(1, round(spec.seconds))
    out = subprocess.run(
        ["wrk", "-t1", "-c4", f"-d{seconds}s", "-s", str(script), f"{spec.base}{spec.path}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=spec.seconds + 30,
    ).stdout
    rate = REQUESTS_S.search(out)
    if rate is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    bad = NON_2XX.search(out)
    return float(rate.group(1)), int(bad.group(1)) if bad else 0


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
