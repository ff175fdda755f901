from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from samdesk.config import EMBEDDED_MODEL, Settings
from samdesk.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "SAMDESK_LLM_BASE_URL", "SAMDESK_LLM_MODEL", "SAMDESK_ENV"):
        monkeypatch.delenv(name, raising=False)


def settings(**kwargs: Any) -> Settings:
    # _env_file is a BaseSettings.__init__ argument that pydantic's dataclass_transform
    # signature (only the fields) leaves out; the values are validated by pydantic.
    return Settings(_env_file=None, **kwargs)  # type: ignore[call-arg]


def test_with_nothing_set_the_embedded_model_is_used() -> None:
    endpoint = settings().llm_endpoint()
    assert endpoint.provider == "embedded"
    assert endpoint.base_url == "http://127.0.0.1:8089/v1"
    assert endpoint.model == EMBEDDED_MODEL


def test_an_openai_key_switches_the_default_to_openai(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-123")
    endpoint = settings().llm_endpoint()
    assert (endpoint.provider, endpoint.base_url, endpoint.model) == (
        "openai",
        "https://api.openai.com/v1",
        "gpt-4o-mini",
    )
    assert endpoint.api_key == "sk-live-123"


def test_an_explicit_base_url_wins_over_the_openai_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-live-123")
    monkeypatch.setenv("SAMDESK_LLM_BASE_URL", "http://127.0.0.1:11434/v1")
    monkeypatch.setenv("SAMDESK_LLM_MODEL", "llama3.1")
    endpoint = settings().llm_endpoint()
    assert (endpoint.provider, endpoint.base_url, endpoint.model) == (
        "custom",
        "http://127.0.0.1:11434/v1",
        "llama3.1",
    )


def test_env_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("SAMDESK_SENDER=smtp\nSAMDESK_SMTP_PORT=2525\n")
    monkeypatch.chdir(tmp_path)
    loaded = Settings()
    assert (loaded.sender, loaded.smtp_port) == ("smtp", 2525)


@pytest.mark.sqlite_only("the PostgreSQL run replaces this default")
def test_default_database_is_a_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    url = settings(data_dir=tmp_path).resolved_database_url
    assert url == f"sqlite:///{tmp_path.resolve() / 'samdesk.db'}"


def test_placeholder_secrets_are_refused_outside_development() -> None:
    with pytest.raises(ConfigError, match="llm_api_key holds a placeholder"):
        settings(env="production", llm_api_key="changeme")
    assert settings(env="development", llm_api_key="changeme").llm_api_key is not None


def test_secrets_do_not_show_in_the_settings_repr() -> None:
    assert "sk-live-123" not in repr(settings(llm_api_key="sk-live-123"))
