"""The load and soak benchmarks' code paths, run for a few seconds: no failed request, and
every approval leaves exactly one queued outbox row. Not timed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench import bench_load, bench_soak, serve
from bench.common import scratch

pytestmark = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")


def test_load_on_samdesk_serve_fails_no_request_and_keeps_the_outbox_exact() -> None:
    with scratch("load-test") as tmp:
        url = f"sqlite:///{(tmp / 'data' / 'samdesk.db').resolve()}"
        # 1,600 pending drafts: more than one second of approvals can use (262/s here on
        # 2026-12-05; 240 drafts ran out and the repeats were 409s)
        figures, info = bench_load.run_database("SQLite", url, tmp / "data", 2_000, 1, [1])
    run = info["workers_1"]
    for endpoint in ("healthz", "queue_page", "approve"):
        assert run[endpoint]["requests"] > 0
        assert run[endpoint]["non_2xx"] == 0 and run[endpoint]["socket_errors"] == 0
    assert run["outbox"]["approved"] > 0
    assert run["outbox"]["wrong_outbox"] == 0 and run["outbox"]["misbound_outbox"] == 0
    assert run["server_rss_mib"]["peak"] >= run["server_rss_mib"]["after_warmup"] > 0
    assert [f.name.split(" (")[0] for f in figures] == [
        "load: queue page GET / req/s ÷ GET /healthz",
        "load: approve POST req/s ÷ GET /healthz",
    ]


def test_a_short_soak_edits_and_reapproves_without_errors(tmp_path: Path) -> None:
    info = bench_soak.soak(
        f"sqlite:///{(tmp_path / 'data' / 'samdesk.db').resolve()}", tmp_path / "data", 200, 0.05
    )
    assert info["wrk"]["requests"] > 10
    assert info["wrk"]["non_2xx"] == 0 and info["wrk"]["socket_errors"] == 0
    assert info["outbox"]["approved"] > 0
    assert info["outbox"]["wrong_outbox"] == 0 and info["outbox"]["misbound_outbox"] == 0
    assert info["rss_mib"]["start"] > 0


def test_the_server_tree_includes_the_process_itself() -> None:
    import os

    assert os.getpid() in serve.process_tree(os.getpid())
    assert serve.rss_mib(os.getpid()) > 0
