"""Alembic on both engines: from nothing to every head, all the way down, and up again.

On the default run this is SQLite; with SAMDESK_TEST_POSTGRES_URL set it is an empty
PostgreSQL database, the deployment a team uses. Processes starting together (several
desk workers) must not both migrate.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from samdesk.db import MIGRATIONS, make_engine, migrate
from samdesk.models import Base
from tests.pg import databases


def empty_database(tmp_path: Path) -> Engine:
    found = databases()
    if found is not None:
        return make_engine(found.for_dir(tmp_path / "empty", empty=True))
    return make_engine(f"sqlite:///{tmp_path / 'empty.db'}")


def alembic(engine: Engine, action: str, target: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, target)


def schema_diff(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


def heads_applied(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(MigrationContext.configure(connection).get_current_heads())


def test_upgrade_heads_downgrade_base_and_upgrade_again(tmp_path: Path) -> None:
    engine = empty_database(tmp_path)
    heads = set(ScriptDirectory(str(MIGRATIONS)).get_heads())
    assert inspect(engine).get_table_names() == []
    alembic(engine, "upgrade", "heads")
    assert heads_applied(engine) == heads
    assert schema_diff(engine) == []
    alembic(engine, "downgrade", "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    assert heads_applied(engine) == set()
    alembic(engine, "upgrade", "heads")
    assert heads_applied(engine) == heads
    assert schema_diff(engine) == []
    engine.dispose()


def test_processes_migrating_at_once_take_turns(tmp_path: Path) -> None:
    """Four engines (as four freshly started workers) migrate one empty database together."""
    first = empty_database(tmp_path)
    engines = [first, *(make_engine(str(first.url.render_as_string(False))) for _ in range(3))]
    errors: list[BaseException] = []
    start = threading.Barrier(len(engines))

    def run(engine: Engine) -> None:
        start.wait()
        try:
            migrate(engine)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert heads_applied(first) == set(ScriptDirectory(str(MIGRATIONS)).get_heads())
    assert schema_diff(first) == []
    for engine in engines:
        engine.dispose()
