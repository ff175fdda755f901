"""The intake commands as a SAM types them: sources, triage, triage eval, one watch tick."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from samdesk.cli import app
from samdesk.config import get_settings
from tests.conftest import SAMPLES
from tests.factories import one_account_inputs
from tests.smtp_server import free_port

runner = CliRunner()


@pytest.fixture
def data_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SAMDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    # no model listens here: drafting fails fast and the triggers wait for a retry
    monkeypatch.setenv("SAMDESK_LLM_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    monkeypatch.setenv("SAMDESK_LLM_MAX_RETRIES", "0")
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


def test_sources_are_added_listed_and_bad_ones_refused(data_env: Path, tmp_path: Path) -> None:
    feed = str(SAMPLES / "feeds" / "acme-financial.rss.xml")
    unknown = runner.invoke(
        app, ["sources", "add-feed", "acme", feed, "--account", "acme-financial"]
    )
    assert unknown.exit_code == 1
    assert "feed needs an ingested account" in str(unknown.exception)
    assert runner.invoke(app, ["ingest", str(one_account_inputs(tmp_path / "in"))]).exit_code == 0
    added = runner.invoke(app, ["sources", "add-feed", "acme", feed, "--account", "acme-financial"])
    assert added.exit_code == 0, added.output
    ics = str(SAMPLES / "calendar" / "sarah-chen.ics")
    assert runner.invoke(app, ["sources", "add-calendar", "sarah", ics]).exit_code == 0
    hook = runner.invoke(app, ["sources", "add-webhook", "crm"])
    assert "Authorization: Bearer sdk_" in hook.output and "signing secret: whsec_" in hook.output
    listing = runner.invoke(app, ["sources", "list"], terminal_width=200)
    for name in ("acme", "sarah", "crm"):
        assert name in listing.output
    assert "never" in listing.output
    tick = runner.invoke(
        app, ["watch", "--once", "--as-of", "2026-11-26T12:00:00"], terminal_width=300
    )
    assert tick.exit_code == 0, tick.output
    assert "polled 2, ingested 5" in tick.output
    assert "drafted 0" in tick.output and "to retry" in tick.output
    after = runner.invoke(app, ["sources", "list"], terminal_width=200)
    assert "changed" in after.output


def test_triage_eval_prints_precision_and_recall_per_type(data_env: Path) -> None:
    result = runner.invoke(app, ["triage", "eval", "--split", "holdout"], terminal_width=200)
    assert result.exit_code == 0
    assert "| leadership_change |" in result.output and "| precision | recall |" in result.output
