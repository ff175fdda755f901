"""Run the benchmarks, each in its own process, and collect them in ``bench/results.json``.

``python -m bench`` runs all of them but the 10-minute soak (about 17 minutes on 2 cores);
``python -m bench retrieval desk`` runs some, ``python -m bench soak`` the soak. Each prints
its figures as it finishes.
"""

from __future__ import annotations

import subprocess
import sys
import time

from bench.common import RESULTS, bench_env

ORDER = ("tokens", "draft_overhead", "batch", "ingest", "retrieval", "desk", "load", "memory")
ON_DEMAND = ("soak",)  # 10 minutes: only when named (``python -m bench soak``)


def main(argv: list[str]) -> int:
    names = argv or list(ORDER)
    unknown = sorted(set(names) - set(ORDER) - set(ON_DEMAND))
    if unknown:
        choices = ", ".join(ORDER + ON_DEMAND)
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {choices}")
        return 2
    failed = []
    started = time.perf_counter()
    for name in names:
        began = time.perf_counter()
        code = subprocess.run(
            [sys.executable, "-m", f"bench.bench_{name}"], env=bench_env()
        ).returncode
        print(f"   ({name}: {time.perf_counter() - began:.0f} s)", flush=True)
        if code:
            failed.append(name)
    print(f"all done in {time.perf_counter() - started:.0f} s; figures in {RESULTS}")
    if failed:
        print(f"FAILED: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
