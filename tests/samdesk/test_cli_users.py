"""``samdesk users``: add people and manage their API tokens from the server's shell."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from approval_ui import auth, users
from samdesk.cli import app
from samdesk.config import get_settings
from samdesk.db import transaction
from tests.conftest import make_sessions, make_settings

runner = CliRunner()


@pytest.fixture
def data_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("SAMDESK_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    yield data_dir
    get_settings.cache_clear()


def test_add_a_user_who_can_then_sign_in(data_env: Path) -> None:
    result = runner.invoke(
        app,
        [
            "users",
            "add",
            "Lena.Ortiz@northwind.example",
            "--role",
            "manager",
            "--name",
            "Lena Ortiz",
        ],
        input="a long password\na long password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Added lena.ortiz@northwind.example (manager)." in result.output
    sessions = make_sessions(make_settings(data_env).resolved_database_url)
    with transaction(sessions) as session:
        user = auth.authenticate(session, "lena.ortiz@northwind.example", "a long password")
        assert (user.name, user.role) == ("Lena Ortiz", "manager")
    listing = runner.invoke(app, ["users", "list"])
    assert "lena.ortiz@northwind.example" in listing.output and "active" in listing.output


def test_a_bad_role_is_a_clear_error(data_env: Path) -> None:
    result = runner.invoke(
        app,
        ["users", "add", "x@northwind.example", "--role", "boss", "--name", "X"],
        input="a long password\na long password\n",
    )
    assert result.exit_code != 0
    assert "not one of sam, manager, admin" in str(result.exception)


def test_set_changes_role_and_deactivates(data_env: Path) -> None:
    runner.invoke(
        app,
        ["users", "add", "sam@northwind.example", "--name", "Sam"],
        input="a long password\na long password\n",
    )
    result = runner.invoke(
        app, ["users", "set", "sam@northwind.example", "--role", "admin", "--deactivated"]
    )
    assert result.exit_code == 0, result.output
    assert "sam@northwind.example: admin, deactivated." in result.output


def test_token_create_list_revoke(data_env: Path) -> None:
    runner.invoke(
        app,
        ["users", "add", "sam@northwind.example", "--name", "Sam"],
        input="a long password\na long password\n",
    )
    created = runner.invoke(
        app, ["users", "token", "create", "sam@northwind.example", "--name", "CRM sync"]
    )
    assert created.exit_code == 0, created.output
    secret = re.search(r"sdk_[\w-]+", created.output)
    assert secret
    sessions = make_sessions(make_settings(data_env).resolved_database_url)
    with sessions() as session:
        assert auth.token_user(session, secret.group(0)).email == "sam@northwind.example"

    listing = runner.invoke(app, ["users", "token", "list"])
    assert "CRM sync" in listing.output and "active" in listing.output
    assert secret.group(0) not in listing.output

    revoked = runner.invoke(app, ["users", "token", "revoke", "1"])
    assert revoked.exit_code == 0 and "Revoked token 1." in revoked.output
    with sessions() as session, pytest.raises(Exception, match="revoked"):
        auth.token_user(session, secret.group(0))


def test_demo_users_are_seeded_once(data_env: Path) -> None:
    from samdesk.cli_users import seed_demo_team

    sessions = make_sessions(make_settings(data_env).resolved_database_url)
    seed_demo_team(sessions)
    seed_demo_team(sessions)
    with sessions() as session:
        assert users.count_users(session) == len(users.DEMO_USERS)
