"""The CLI starts without loading the heavy parts: ``--help`` must not wait for the index,
the model client, the database layer or the desk server (see the comment in samdesk/cli.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from approval_ui.permissions import ROLES as DESK_ROLES
from samdesk.cli_users import ROLES

# Modules that take a large share of a second or more to import, and no help screen needs.
HEAVY = (
    "chromadb",
    "openai",
    "torch",
    "sentence_transformers",
    "langchain_core",
    "uvicorn",
    "approval_ui.main",
    "samdesk.runtime",
    "sqlalchemy",
    "alembic",
)
COMMANDS = (
    "ingest",
    "draft",
    "queue",
    "serve",
    "llm",
    "demo",
    "redteam",
    "eval",
    "users",
    "watch",
    "sources",
    "triage",
    "sender",
    "db",
)

# Asks every command and group for its help, in a fresh interpreter, then reports which
# heavy modules that loaded.
EVERY_HELP = """
import json, sys
from typer.main import get_command
from typer.testing import CliRunner
from samdesk.cli import app

loaded_by_import = [m for m in HEAVY if m in sys.modules]

def paths(command, prefix):
    yield prefix
    for name, sub in getattr(command, "commands", {}).items():  # a group's
        yield from paths(sub, [*prefix, name])

runner = CliRunner()
exits = {
    " ".join(path): runner.invoke(app, [*path, "--help"]).exit_code
    for path in paths(get_command(app), [])
}
print(json.dumps({
    "import": loaded_by_import,
    "help": [m for m in HEAVY if m in sys.modules],
    "exits": exits,
}))
"""


def _python(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_importing_the_cli_and_every_help_screen_load_no_heavy_module() -> None:
    done = _python("-c", f"HEAVY = {HEAVY!r}\n{EVERY_HELP}")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["import"] == []
    assert report["help"] == []
    assert len(report["exits"]) > len(COMMANDS)  # the groups' subcommands were asked too
    assert {path: code for path, code in report["exits"].items() if code != 0} == {}


def test_samdesk_help_as_installed_lists_every_command() -> None:
    # pyproject.toml: samdesk = "samdesk.cli:main"
    done = _python("-c", "from samdesk.cli import main; main()", "--help")
    assert done.returncode == 0, done.stderr
    listed = {line.strip("│ ").split(" ")[0] for line in done.stdout.splitlines()}
    assert set(COMMANDS) <= listed


def test_the_roles_in_the_users_help_are_the_desks() -> None:
    assert ROLES == DESK_ROLES
