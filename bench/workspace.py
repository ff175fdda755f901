"""A private samdesk workspace for a benchmark: settings, a runtime, the samples ingested."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import select

from agent.batch import DraftJob
from bench.common import AS_OF, SAMPLES
from retrieval.ingest import ingest
from samdesk.config import Settings
from samdesk.models import SignalRecord
from samdesk.runtime import Runtime, pick_meeting


def bench_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings that ignore ``.env`` and the caller's environment files."""
    return Settings(_env_file=None, env="test", data_dir=data_dir, **overrides)  # type: ignore[call-arg]


# A data directory with the samples already ingested, copied instead of ingesting again
# (tests point it at their session-wide ingested workspace).
TEMPLATE: Path | None = None


def sample_runtime(data_dir: Path, **overrides: Any) -> Runtime:
    """A runtime over ``data_dir`` with the sample accounts and signals ingested."""
    if TEMPLATE is not None:
        shutil.copytree(TEMPLATE, data_dir)
        return Runtime.open(bench_settings(data_dir, **overrides))
    runtime = Runtime.open(bench_settings(data_dir, **overrides))
    report = ingest([SAMPLES], index=runtime.index, sessions=runtime.sessions)
    if report.errors:
        raise RuntimeError(f"the samples did not ingest cleanly: {report.errors[:3]}")
    return runtime


def sample_jobs(runtime: Runtime, count: int) -> list[DraftJob]:
    """``count`` drafts over the samples: outreach for each signal, then briefings, cycling."""
    with runtime.sessions() as session:
        signals = list(
            session.execute(
                select(SignalRecord.id, SignalRecord.account_id).order_by(SignalRecord.id)
            )
        )
    plans = {account: runtime.plan(account) for account in sorted({a for _, a in signals})}
    jobs = [
        DraftJob("outreach", plans[account], signal_id=sid, as_of=AS_OF) for sid, account in signals
    ]
    jobs += [
        DraftJob("briefing", plan, meeting=pick_meeting(plan, None), as_of=AS_OF)
        for plan in plans.values()
        if plan.meetings
    ]
    return [jobs[i % len(jobs)] for i in range(count)]
