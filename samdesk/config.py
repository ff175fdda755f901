"""The one place settings are read: environment (prefix ``SAMDESK_``), then ``.env``.

The LLM endpoint is resolved in a documented order so that a fresh clone needs no key:
an explicit ``SAMDESK_LLM_BASE_URL`` wins; otherwise ``OPENAI_API_KEY`` selects OpenAI;
otherwise the embedded llama.cpp server on loopback.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from samdesk.errors import ConfigError

PLACEHOLDER_SECRETS = {"changeme", "change-me", "secret", "sk-xxx", "your-key-here", "test"}
EMBEDDED_MODEL = "smollm2-135m-instruct"
OPENAI_DEFAULT_MODEL = "gpt-4o-mini"


@dataclass(frozen=True)
class LLMEndpoint:
    """Where chat completions go, after the lookup order above has been applied."""

    provider: Literal["embedded", "openai", "custom"]
    base_url: str
    model: str
    api_key: str


class Settings(BaseSettings):
    """Every setting of samdesk; the README's configuration table mirrors this class."""

    model_config = SettingsConfigDict(env_prefix="SAMDESK_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    log_level: str = "WARNING"
    data_dir: Path = Path(".data")
    database_url: str | None = None
    # How long a SQLite write waits for another writer's lock before failing with 503.
    sqlite_busy_timeout_ms: int = Field(default=30_000, ge=0)

    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "SAMDESK_OPENAI_API_KEY")
    )
    llm_timeout_s: float = 120.0
    # A timeout, refused connection, 5xx, 429 or garbled reply is retried llm_max_retries
    # times, waiting llm_retry_backoff_s (doubling, jittered) or the server's Retry-After;
    # a Retry-After longer than llm_max_retry_after_s fails the draft at once instead.
    llm_max_retries: int = Field(default=2, ge=0)
    llm_retry_backoff_s: float = Field(default=0.5, ge=0)
    llm_max_retry_after_s: float = Field(default=30.0, ge=0)
    llm_temperature: float = 0.2
    llm_seed: int = 7
    llm_max_tokens: int = 1024
    llm_json_mode: Literal["json_schema", "json_object"] | None = None
    # Redact emails and phone numbers from prompts sent to the model; None means "only for
    # external providers" (the embedded model runs locally).
    redact_pii: bool | None = None
    embedded_llm_port: int = 8089
    embedded_llm_ctx: int = 8192

    # The prompt versions in production; a new version goes live only when promoted here.
    outreach_prompt: str = "outreach@v1"
    briefing_prompt: str = "briefing@v1"

    embedding_model: str = "all-MiniLM-L6-v2"
    chroma_collection: str = "samdesk"
    # A chromadb server (`chroma run`), e.g. http://127.0.0.1:8001; unset: the embedded store
    # in data_dir/chroma. Vectors are computed here either way, so the server needs no model.
    chroma_url: str | None = None
    retrieval_k: int = 8
    # Most prompt tokens (cl100k_base) a draft may use; the lowest-scored sources are dropped
    # to fit. The default leaves the completion (llm_max_tokens) room in the embedded model's
    # 8192-token window even with its own tokenizer, ~15% hungrier (bench/bench_tokens.py).
    prompt_token_budget: int | None = 6000
    recency_half_life_days: float = 30.0
    recency_weight: float = 0.3
    stale_after_days: int = 120
    # Ingest refuses bigger inputs with the file and line, before reading them into memory.
    max_plan_bytes: int = Field(default=1_000_000, gt=0)
    max_signal_bytes: int = Field(default=256_000, gt=0)

    sender: Literal["outbox", "smtp"] = "outbox"
    outbox_dir: Path | None = None
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout_s: float = 30.0
    mail_from: str = "samdesk@northwind.example"
    # Sending (issue 7): a transient (4xx) failure is retried after send_backoff_s, doubling
    # each time, until send_max_attempts; a pending draft not approved within
    # approval_ttl_hours expires and needs a person to reopen it.
    send_max_attempts: int = Field(default=5, ge=1)
    send_backoff_s: float = Field(default=30.0, ge=0)
    approval_ttl_hours: float = Field(default=72.0, gt=0)
    seller_company: str = "Northwind Analytics"

    host: str = "127.0.0.1"
    port: int = 8000
    # The desk refuses request bodies over this many bytes (413) before reading them.
    max_request_bytes: int = Field(default=1_048_576, gt=0)
    # Sign-in throttling: after this many failed sign-ins for one email (any case), or from
    # one client address, within login_failure_window_s, further attempts are refused (429)
    # without checking the password until the window passes. Counted per worker process.
    login_max_failures_per_email: int = Field(default=5, ge=1)
    login_max_failures_per_address: int = Field(default=20, ge=1)
    login_failure_window_s: float = Field(default=900.0, gt=0)

    @model_validator(mode="after")
    def _reject_placeholder_secrets(self) -> Settings:
        if self.env == "development":
            return self
        for name in ("llm_api_key", "openai_api_key", "smtp_password"):
            value = getattr(self, name)
            if value is not None and value.get_secret_value().lower() in PLACEHOLDER_SECRETS:
                raise ConfigError(
                    f"{name} holds a placeholder value; set a real secret "
                    f"(SAMDESK_{name.upper()}) or unset it."
                )
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'samdesk.db').resolve()}"

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def resolved_outbox_dir(self) -> Path:
        return self.outbox_dir or self.data_dir / "outbox"

    def llm_endpoint(self) -> LLMEndpoint:
        """Apply the documented lookup order: explicit URL, then OpenAI key, then embedded."""
        if self.llm_base_url:
            key = self.llm_api_key or self.openai_api_key
            return LLMEndpoint(
                provider="custom",
                base_url=self.llm_base_url,
                model=self.llm_model or EMBEDDED_MODEL,
                api_key=key.get_secret_value() if key else "not-needed",
            )
        if self.openai_api_key:
            return LLMEndpoint(
                provider="openai",
                base_url="https://api.openai.com/v1",
                model=self.llm_model or OPENAI_DEFAULT_MODEL,
                api_key=self.openai_api_key.get_secret_value(),
            )
        return LLMEndpoint(
            provider="embedded",
            base_url=f"http://127.0.0.1:{self.embedded_llm_port}/v1",
            model=self.llm_model or EMBEDDED_MODEL,
            api_key="not-needed",
        )


@lru_cache
def get_settings() -> Settings:
    """Settings for the process; tests build their own ``Settings`` instead."""
    return Settings()
