"""Shared fixtures: real SQLite files, a real chromadb index and the real embedding model."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from retrieval.embeddings import Embedder, SentenceTransformerEmbedder
from retrieval.index import VectorIndex
from retrieval.ingest import ingest
from samdesk.config import Settings
from samdesk.db import make_engine, migrate, session_factory
from tests.cassettes import vcr_config  # noqa: F401  (a fixture, used by pytest-recording)
from tests.chroma_server import chroma_server  # noqa: F401  (a fixture: `chroma run`, on demand)
from tests.pg import Databases, databases

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
AS_OF = datetime(2026, 11, 26, tzinfo=UTC)  # the sample data's "today"; recency depends on it


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL run (tests/pg.py), skip what only makes sense on SQLite."""
    if databases() is None:
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.args[0] if marker.args else "checks SQLite itself"
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


@pytest.fixture(scope="session", autouse=True)
def postgres() -> Iterator[Databases | None]:
    """With SAMDESK_TEST_POSTGRES_URL set, a data dir's default database is a private
    PostgreSQL one instead of ``<data_dir>/samdesk.db`` (every Settings, app and CLI)."""
    found = databases()
    if found is None:
        yield None
        return
    sqlite_default = Settings.resolved_database_url

    def on_postgres(self: Settings) -> str:
        return self.database_url or found.for_dir(self.data_dir)

    Settings.resolved_database_url = property(on_postgres)  # type: ignore[method-assign,assignment]
    try:
        yield found
    finally:
        Settings.resolved_database_url = sqlite_default  # type: ignore[method-assign]
        found.close()


@pytest.fixture(autouse=True)
def postgres_per_test(postgres: Databases | None, request: pytest.FixtureRequest) -> Iterator[None]:
    """A test's databases (those of data dirs in its tmp_path) go when it ends."""
    if postgres is None or "tmp_path" not in request.fixturenames:
        yield
        return
    tmp_path: Path = request.getfixturevalue("tmp_path")
    yield
    postgres.release_under(tmp_path)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return SentenceTransformerEmbedder("all-MiniLM-L6-v2")


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    # _env_file is a BaseSettings.__init__ argument that pydantic's dataclass_transform
    # signature (only the fields) leaves out; the overrides are validated by pydantic.
    return Settings(_env_file=None, env="test", data_dir=data_dir, **overrides)  # type: ignore[call-arg]


def make_sessions(url: str) -> sessionmaker[Session]:
    engine = make_engine(url)
    migrate(engine)
    return session_factory(engine)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def sessions(settings: Settings) -> sessionmaker[Session]:
    return make_sessions(settings.resolved_database_url)


@pytest.fixture
def index(tmp_path: Path, embedder: Embedder) -> VectorIndex:
    return VectorIndex.persistent(tmp_path / "chroma", embedder)


@pytest.fixture(scope="session")
def sample_workspace(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, postgres: Databases | None
) -> Path:
    """The sample accounts ingested once per run: a data dir with a database and an index."""
    data_dir = tmp_path_factory.mktemp("samples") / "data"
    settings = make_settings(data_dir)
    index = VectorIndex.persistent(settings.chroma_dir, embedder)
    sessions = make_sessions(settings.resolved_database_url)
    report = ingest([SAMPLES], index=index, sessions=sessions)
    assert not report.errors, report.errors
    sessions.kw["bind"].dispose()
    if postgres is not None:
        postgres.freeze(data_dir)  # a copy of the dir (``workspace``) clones its database
    return data_dir


@pytest.fixture
def workspace(sample_workspace: Path, tmp_path: Path) -> Iterator[Path]:
    """A private copy of the ingested samples, so a test may change it freely."""
    data_dir = tmp_path / "ws"
    shutil.copytree(sample_workspace, data_dir)
    yield data_dir


@pytest.fixture
def sample_settings(workspace: Path) -> Settings:
    return make_settings(workspace)


@pytest.fixture
def sample_sessions(sample_settings: Settings) -> sessionmaker[Session]:
    return make_sessions(sample_settings.resolved_database_url)


@pytest.fixture
def sample_index(sample_settings: Settings, embedder: Embedder) -> VectorIndex:
    return VectorIndex.persistent(sample_settings.chroma_dir, embedder)
