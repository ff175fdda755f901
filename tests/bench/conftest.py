"""Benchmarks in tests run tiny, on the session's ingested samples, writing to a temp file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import workspace


@pytest.fixture(autouse=True)
def ingested_template(sample_workspace: Path) -> Iterator[None]:
    """Benchmarks copy the already-ingested samples instead of ingesting them again."""
    workspace.TEMPLATE = sample_workspace
    yield
    workspace.TEMPLATE = None
