"""`samdesk eval` as a developer runs it: one command, offline, a report and a gate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from samdesk.cli import app
from samdesk.config import get_settings
from tests.pg import database_env

runner = CliRunner()
CASES = ["--case", "acme-champion-retiring", "--case", "acme-case-study-kickoff"]


@pytest.fixture(autouse=True)
def embedded_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("OPENAI_API_KEY", "SAMDESK_LLM_BASE_URL", "SAMDESK_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SAMDESK_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_run_writes_identical_reports_and_gates(tmp_path: Path) -> None:
    outputs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = runner.invoke(
            app, ["eval", "run", "--offline", *CASES, "--out", str(out), "--fail-under", "0.2"]
        )
        assert result.exit_code == 0, result.output
        assert "Gate passed" in result.output and "v2 vs v1: case score" in result.output
        outputs.append(((out / "report.json").read_bytes(), (out / "report.html").read_bytes()))
    assert outputs[0] == outputs[1]  # a re-run is offline and byte-identical
    report = json.loads(outputs[0][0])
    assert [v["label"] for v in report["variants"]] == ["v1", "v2"]
    assert report["meta"]["cases"] == 2 and "judge" in report["meta"]

    strict = runner.invoke(
        app,
        ["eval", "run", "--offline", *CASES, "--out", str(tmp_path / "c"), "--fail-under", "0.99"],
    )
    assert strict.exit_code == 1 and "FAIL v1: pass_rate" in strict.output


def test_one_kind_variant_runs_only_that_kind(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "eval",
            "run",
            "--offline",
            *CASES,
            "-p",
            "outreach@v1",
            "-p",
            "outreach@v2",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert [c["case_id"] for c in report["cases"]] == ["acme-champion-retiring"]


def test_offline_miss_is_a_clear_error(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SAMDESK_DATA_DIR": str(tmp_path / "data"),
        **database_env(tmp_path / "data"),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from samdesk.cli import main; main()",
            "eval",
            "run",
            "--offline",
            *CASES,
            "--cache-dir",
            str(tmp_path / "empty"),
            "--out",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "error: no recorded reply of smollm2-135m-instruct" in done.stderr
    assert "Traceback" not in done.stderr


def test_claims_command_publishes_checker_quality() -> None:
    result = runner.invoke(app, ["eval", "claims", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert set(figures) == {
        "claims/product",
        "claims/product+evals",
        "holdout/product",
        "holdout/product+evals",
    }
    assert figures["holdout/product+evals"]["recall"] >= figures["holdout/product"]["recall"]


def test_export_edits_on_an_empty_desk(tmp_path: Path) -> None:
    out = tmp_path / "edits.yaml"
    result = runner.invoke(app, ["eval", "export-edits", "--out", str(out), "--anonymize"])
    assert result.exit_code == 0, result.output
    assert "Wrote 0 case(s)" in result.output and out.read_text().startswith("name: edits")
