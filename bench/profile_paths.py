"""Profile samdesk's own hot paths with pyinstrument, so a fix starts from evidence.

``python -m bench.profile_paths draft`` profiles outreach drafts against the zero-latency
stub; ``queue`` profiles the desk's queue page and approve action over 10k drafts (SQLite),
in process. Each writes a text tree to ``bench/profiles/<path>.txt`` and prints it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from bench import stub_llm
from bench.common import AS_OF, scratch

PROFILES = Path(__file__).resolve().parent / "profiles"
OWN = ("approval_ui/", "samdesk/", "agent/", "retrieval/")
ENTRY = "samdesk/cli.py"  # `samdesk serve` is under every sample of the server: not a hot path


def profile(name: str, work: Callable[[], None], *, interval: float = 0.0005) -> str:
    from pyinstrument import Profiler

    profiler = Profiler(interval=interval)
    with profiler:
        work()
    text: str = profiler.output_text(unicode=True, color=False, show_all=False)
    PROFILES.mkdir(exist_ok=True)
    (PROFILES / f"{name}.txt").write_text(text)
    return text


def profile_draft(drafts: int) -> str:
    from bench.workspace import sample_runtime

    with stub_llm.running_stub(0) as base_url, scratch("profile") as tmp:
        runtime = sample_runtime(tmp / "data", llm_base_url=base_url)
        runtime.draft_outreach("acme-financial", "sig-acme-009", as_of=AS_OF)

        def work() -> None:
            for _ in range(drafts):
                runtime.draft_outreach("acme-financial", "sig-acme-009", as_of=AS_OF)
                runtime.draft_briefing("acme-financial", as_of=AS_OF)

        return profile("draft", work)


def profile_queue(seconds: int, *, approve: bool = False) -> str:
    """py-spy samples the desk server (``samdesk serve``, a child process) while the queue
    page (or the approve action) is under load."""
    import threading

    from bench.bench_desk import seed
    from bench.closed_loop import load
    from bench.serve import samdesk_serve

    with scratch("profile-desk") as tmp:
        url = f"sqlite:///{(tmp / 'data' / 'samdesk.db').resolve()}"
        seeded = seed(url, 10_000)
        with samdesk_serve(tmp / "data", url) as server:
            base = server.base
            load(base, "/", seeded.token, 1, tmp=tmp)  # warm-up
            raw = tmp / "stacks.txt"
            spy = threading.Thread(
                target=subprocess.run,
                args=(
                    [
                        str(Path(sys.executable).with_name("py-spy")),
                        "record",
                        "-p",
                        str(server.pid),
                        "-d",
                        str(seconds),
                        "-r",
                        "200",
                        "-f",
                        "raw",
                        "-o",
                        str(raw),
                        "--nonblocking",
                    ],
                ),
                kwargs={"capture_output": True, "check": True},
            )
            spy.start()
            if approve:
                load(base, "/api", seeded.token, seconds, approve=seeded.pending, tmp=tmp)
            else:
                load(base, "/", seeded.token, seconds, tmp=tmp)
            spy.join()
            text = summarize(raw.read_text())
    PROFILES.mkdir(exist_ok=True)
    (PROFILES / ("approve.txt" if approve else "queue.txt")).write_text(text)
    return text


def summarize(collapsed: str, top: int = 30) -> str:
    """Inclusive share of samples per function, samdesk's own first, from py-spy's raw stacks."""
    total = 0
    inclusive: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        total += int(count)
        for frame in set(stack.split(";")):
            inclusive[frame] += int(count)
    ours = [
        (f, n) for f, n in inclusive.most_common() if any(p in f for p in OWN) and ENTRY not in f
    ]
    lines = [f"{total} samples; inclusive share of samdesk's own functions:"]
    lines += [f"  {n / total:6.1%}  {f}" for f, n in ours[:top]]
    lines += ["", "inclusive share of all functions:"]
    lines += [f"  {n / total:6.1%}  {f}" for f, n in inclusive.most_common(top)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", choices=["draft", "queue", "approve"])
    parser.add_argument("--count", type=int, default=20, help="drafts, or seconds of load")
    args = parser.parse_args(argv)
    if args.path == "draft":
        text = profile_draft(args.count)
    else:
        text = profile_queue(args.count, approve=args.path == "approve")
    print(text)


if __name__ == "__main__":
    main()
