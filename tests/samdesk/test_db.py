from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from samdesk.config import Settings
from samdesk.db import make_engine, migrate
from samdesk.models import Base


def test_migrations_build_exactly_the_models_schema(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    migrate(engine)  # idempotent
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


@pytest.mark.sqlite_only("PRAGMA checks of the SQLite engine")
def test_sqlite_is_durable_wal_with_full_sync_and_foreign_keys(settings: Settings) -> None:
    engine = make_engine(settings.resolved_database_url)
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
