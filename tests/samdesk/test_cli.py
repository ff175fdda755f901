"""The CLI as a SAM uses it: in-process for speed, one real subprocess for error output."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from samdesk.cli import app
from samdesk.config import get_settings
from tests.conftest import make_sessions, make_settings
from tests.factories import make_draft, one_account_inputs
from tests.pg import database_env

runner = CliRunner()


@pytest.fixture
def data_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("SAMDESK_DATA_DIR", str(data_dir))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    get_settings.cache_clear()
    yield data_dir
    get_settings.cache_clear()


def test_ingest_keeps_good_items_reports_bad_ones_and_is_idempotent(
    data_env: Path, tmp_path: Path
) -> None:
    folder = one_account_inputs(tmp_path / "in")
    with (folder / "signals" / "acme-financial.jsonl").open("a") as handle:
        handle.write('{"id": "sig-bad", "account_id": "acme-financial"}\n')
    first = runner.invoke(app, ["ingest", str(folder)])
    assert first.exit_code == 1
    assert "acme-financial.jsonl:12: field 'type'" in first.output
    assert "12 added, 0 updated, 0 unchanged, 5 rejected" in first.output
    second = runner.invoke(app, ["ingest", str(folder)])
    assert "0 added, 0 updated, 12 unchanged, 5 rejected" in second.output


def test_queue_lists_drafts_in_review_order(data_env: Path) -> None:
    sessions = make_sessions(make_settings(data_env).resolved_database_url)
    first = make_draft(sessions, subject="First draft here")
    make_draft(sessions, subject="Second draft here", failed="attempt 2: not JSON")
    result = runner.invoke(app, ["queue"])
    assert result.exit_code == 0
    assert result.output.index("First draft") < result.output.index("failed")
    assert str(first) in result.output


def test_an_unreachable_model_is_a_clear_error_not_a_traceback(workspace: Path) -> None:
    env = {
        **os.environ,
        "SAMDESK_DATA_DIR": str(workspace),
        **database_env(workspace),
        "SAMDESK_EMBEDDED_LLM_PORT": "9",
        "SAMDESK_LLM_MAX_RETRIES": "0",
    }
    env.pop("OPENAI_API_KEY", None)
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from samdesk.cli import main; main()",
            "draft",
            "outreach",
            "acme-financial",
            "sig-acme-009",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "cannot reach the model server at http://127.0.0.1:9/v1" in done.stderr
    assert "samdesk llm serve" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.vcr
def test_demo_ingests_drafts_and_skips_what_it_already_drafted(
    data_env: Path, tmp_path: Path
) -> None:
    folder = one_account_inputs(tmp_path / "in")
    args = ["demo", "--samples", str(folder), "--no-serve", "--as-of", "2026-11-26"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "Drafted 2 new draft(s)." in first.output
    again = runner.invoke(app, args)
    assert "Drafted 0 new draft(s)." in again.output
    queue = runner.invoke(app, ["queue", "--account", "acme-financial"])
    assert "briefing" in queue.output and "outreach" in queue.output
