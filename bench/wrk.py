"""``wrk`` scripts and ``wrk`` output, in one place, so every benchmark that loads the desk
sends the same requests for the same intent and reads its figures the same way.

wrk runs in a second process, one thread, 4 connections, for a bounded time (``-d``), and
only ever against the loopback server the benchmark started.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

APPROVE_BODY = '{"confirm_flags": true}'
APPROVE_PATH = "/api/drafts/{draft_id}/approve"  # what ``approve`` posts to, each id in turn
REQUESTS_S = re.compile(r"Requests/sec:\s+([\d.]+)")

# wrk's own summary has no percentiles: the script's ``done`` prints one JSON line of figures.
DONE = [
    "done = function(summary, latency, requests)",
    "  local e = summary.errors",
    '  io.write(string.format(\'{"requests": %d, "seconds": %.3f, "p50_ms": %.3f, '
    '"p99_ms": %.3f, "max_ms": %.3f, "non_2xx": %d, "socket_errors": %d}\\n\', '
    "summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, "
    "latency:percentile(99) / 1000, latency.max / 1000, e.status, "
    "e.connect + e.read + e.write + e.timeout))",
    "end",
]


def script(
    token: str | None,
    path: str = "/",
    *,
    distinct: bool = False,
    approve: list[int] | None = None,
    mixed: list[int] | None = None,
    post: str = APPROVE_PATH,
) -> str:
    """GET ``path`` (``distinct``: each with a query string of its own, so no page comes from
    the desk's cache); or approve the ids of ``approve`` in turn (POSTed to ``post``, its
    ``{draft_id}`` replaced: the ceiling server's no-op takes the same body); or the soak's mix over
    ``mixed`` ids (per 10 requests: 6 queue views, 2 edits, 2 approves of the drafts just
    edited)."""
    lines = []
    if token:
        lines.append(f'wrk.headers["Authorization"] = "Bearer {token}"')
    ids = approve if approve is not None else mixed
    if ids is not None:
        lines += [
            'wrk.headers["Content-Type"] = "application/json"',
            "local ids = {" + ",".join(map(str, ids)) + "}",
        ]
    lines.append("local i = 0")
    if approve is not None:
        before, _, after = post.partition("{draft_id}")
        lines += [
            "request = function()",
            "  i = i + 1",
            f'  local path = "{before}" .. ids[((i - 1) % #ids) + 1] .. "{after}"',
            f"  return wrk.format(\"POST\", path, nil, '{APPROVE_BODY}')",
            "end",
        ]
    elif mixed is not None:
        lines += [
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
    elif distinct:
        lines += [
            "request = function()",
            "  i = i + 1",
            f'  return wrk.format(nil, "{path}?uncached=" .. i)',
            "end",
        ]
    else:
        lines.append(f'wrk.path = "{path}"')
    return "\n".join(lines + DONE) + "\n"


@dataclass(frozen=True)
class Result:
    """``requests_per_s``: wrk's own summary figure; ``figures``: the ``done`` line, plus
    ``rate`` (its requests over its seconds, to 0.1 req/s)."""

    requests_per_s: float
    figures: dict[str, Any]


def parse(out: str) -> Result:
    rate = REQUESTS_S.search(out)
    line = next((ln for ln in out.splitlines() if ln.startswith("{")), None)
    if rate is None or line is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    figures: dict[str, Any] = json.loads(line)
    figures["rate"] = round(figures["requests"] / figures["seconds"], 1)
    return Result(float(rate.group(1)), figures)


def run(base: str, lua: str, seconds: float, tmp: Path, *, timeout_s: int | None = None) -> Result:
    """``lua`` against ``base`` for ``seconds`` (whole, at least 1); ``timeout_s``: wrk's
    per-request timeout, else its default (2 s)."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    path = tmp / f"load-{os.getpid()}.lua"
    path.write_text(lua)
    command = ["wrk", "-t1", "-c4", f"-d{max(1, round(seconds))}s"]
    if timeout_s is not None:
        command += ["--timeout", f"{timeout_s}s"]
    out = subprocess.run(
        [*command, "-s", str(path), base + "/"],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    return parse(out)
