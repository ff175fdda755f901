"""What every benchmark shares: repetitions, medians, ratios against a same-run baseline, report.

A figure is always a ratio against a baseline measured in the same run, on the same machine,
interleaved with the subject (A B A B ...) so that load from other processes on a shared
machine hits both sides alike. The raw values of every repetition are kept beside the median.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
RESULTS = Path(__file__).resolve().parent / "results.json"
AS_OF = datetime(2026, 11, 26, tzinfo=UTC)  # the sample data's "today"
REPEATS = 5

Better = Literal["higher", "lower"]


@dataclass
class Figure:
    """One benchmark figure: ``ratio`` = median(subject) / median(baseline)."""

    name: str
    ratio: float
    target: float | None
    better: Better
    unit: str
    subject: list[float]
    baseline: list[float]
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def met(self) -> bool | None:
        if self.target is None:
            return None
        return self.ratio >= self.target if self.better == "higher" else self.ratio <= self.target

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "met": self.met}


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100): a value that was actually observed."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def figure(
    name: str,
    subject: list[float],
    baseline: list[float],
    *,
    better: Better,
    unit: str,
    target: float | None = None,
    note: str = "",
    **extra: Any,
) -> Figure:
    ratio = median(subject) / median(baseline) if median(baseline) else float("inf")
    return Figure(name, ratio, target, better, unit, subject, baseline, note, extra)


def interleave(
    subject: Callable[[], float], baseline: Callable[[], float], repeats: int = REPEATS
) -> tuple[list[float], list[float]]:
    """Run both ``repeats`` times, alternating which goes first, after one warm-up of each."""
    subject()
    baseline()
    subjects: list[float] = []
    baselines: list[float] = []
    for i in range(repeats):
        if i % 2:
            baselines.append(baseline())
            subjects.append(subject())
        else:
            subjects.append(subject())
            baselines.append(baseline())
    return subjects, baselines


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call takes."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def show(fig: Figure) -> None:
    verdict = {True: "target met", False: "TARGET MISSED", None: "no target"}[fig.met]
    op = ">=" if fig.better == "higher" else "<="
    target = f" (target {op} {fig.target:g}, {verdict})" if fig.target is not None else ""
    print(f"  {fig.name}: ratio {fig.ratio:.3f}{target}")
    print(f"    subject  median {median(fig.subject):.4g} {fig.unit}  raw {_raw(fig.subject)}")
    print(f"    baseline median {median(fig.baseline):.4g} {fig.unit}  raw {_raw(fig.baseline)}")
    for key, value in fig.extra.items():
        print(f"    {key}: {value}")
    if fig.note:
        print(f"    note: {fig.note}")


def _raw(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.4g}" for v in values) + "]"


def machine() -> dict[str, Any]:
    """The machine the figures come from; benchmarks are meaningless without it."""
    model = ""
    lscpu = shutil.which("lscpu")
    if lscpu:
        out = subprocess.run([lscpu], capture_output=True, text=True, check=False).stdout
        model = next(
            (ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("Model name")),
            "",
        )
    mem_kb = 0
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        first = meminfo.read_text().splitlines()[0].split()
        mem_kb = int(first[1])
    return {
        "cores": os.cpu_count(),
        "cpu": model or platform.processor(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "gpu": "none" if not shutil.which("nvidia-smi") else "present",
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def record(bench: str, figures: list[Figure], path: Path = RESULTS, **extra: Any) -> None:
    """Print the figures and merge them into ``bench/results.json`` under ``bench``."""
    print(f"== {bench}")
    for fig in figures:
        show(fig)
    for key, value in extra.items():
        print(f"  {key}: {value}")
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError:
            data = {}
    data["machine"] = machine()  # the latest run's; each benchmark keeps its own below
    data.setdefault("benchmarks", {})[bench] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": data["machine"],  # benchmarks are run one at a time, on whatever machine
        "load_average_1m": round(os.getloadavg()[0], 2),
        "figures": [f.to_json() for f in figures],
        **extra,
    }
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A temporary directory removed afterwards (benchmarks never touch ``.data``)."""
    path = Path(tempfile.mkdtemp(prefix=f"samdesk-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def wait_for_http(url: str, timeout_s: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout_s:.0f} s")


def bench_env(**overrides: str) -> dict[str, str]:
    """The environment for a child process: offline model loading, no stray settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAMDESK_")}
    env.update(
        HF_HUB_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        HF_HUB_DISABLE_PROGRESS_BARS="1",  # no "Loading weights" bars between the figures
        **overrides,
    )
    return env
