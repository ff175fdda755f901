"""Shared fixtures: real SQLite files, a real chromadb index and the real embedding model."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from retrieval.embeddings import Embedder, SentenceTransformerEmbedder
from retrieval.index import VectorIndex
from retrieval.ingest import ingest
from samdesk.config import Settings
from samdesk.db import make_engine, migrate, session_factory
from tests.cassettes import vcr_config  # noqa: F401  (a fixture, used by pytest-recording)

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"
AS_OF = datetime(2026, 11, 26, tzinfo=UTC)  # the sample data's "today"; recency depends on it


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return SentenceTransformerEmbedder("all-MiniLM-L6-v2")


def make_settings(data_dir: Path, **overrides: object) -> Settings:
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
def sample_workspace(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Path:
    """The sample accounts ingested once per run: a data dir with a database and an index."""
    data_dir = tmp_path_factory.mktemp("samples") / "data"
    settings = make_settings(data_dir)
    index = VectorIndex.persistent(settings.chroma_dir, embedder)
    report = ingest([SAMPLES], index=index, sessions=make_sessions(settings.resolved_database_url))
    assert not report.errors, report.errors
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
