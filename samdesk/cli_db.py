"""``samdesk db``: the schema, for deployments that migrate once per release.

Every samdesk process also migrates when it starts (concurrent starts take turns, see
:func:`samdesk.db.migrate`), so this is for doing it explicitly: before rolling out a
release, or to check which revisions a database is at.
"""

from __future__ import annotations

import typer
from rich.console import Console

from samdesk.config import get_settings

# Alembic and SQLAlchemy load inside the commands: `samdesk --help` stays fast (see cli.py).
db_app = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)
console = Console()


def _applied_and_heads() -> tuple[set[str], set[str]]:
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from samdesk.db import MIGRATIONS, make_engine

    engine = make_engine(get_settings().resolved_database_url)
    try:
        with engine.connect() as connection:
            applied = set(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()
    return applied, set(ScriptDirectory(str(MIGRATIONS)).get_heads())


@db_app.command("upgrade")
def upgrade() -> None:
    """Apply every migration not yet applied (idempotent)."""
    from samdesk.db import make_engine, migrate

    engine = make_engine(get_settings().resolved_database_url)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    applied, _ = _applied_and_heads()
    console.print(f"Schema at {', '.join(sorted(applied))}.", highlight=False)


@db_app.command("current")
def current() -> None:
    """Show the applied revisions; exit 1 when migrations are pending."""
    applied, heads = _applied_and_heads()
    console.print(f"Applied: {', '.join(sorted(applied)) or 'nothing'}.", highlight=False)
    if applied != heads:
        console.print(f"Pending: {', '.join(sorted(heads - applied))}.", highlight=False)
        raise typer.Exit(1)
