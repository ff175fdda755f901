"""Alembic environment: runs on the connection samdesk hands it, or on a URL from the CLI."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from samdesk.models import Base

config = context.config
connection = config.attributes.get("connection")


def _run(conn: object) -> None:
    context.configure(
        connection=conn,
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:
    with create_engine(config.get_main_option("sqlalchemy.url") or "").connect() as conn:
        _run(conn)
        conn.commit()
