"""The suite on PostgreSQL: one fresh database per data directory, as SQLite has one file.

When ``SAMDESK_TEST_POSTGRES_URL`` is set (a server URL whose database is only used to
connect, e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/test``), every ``Settings``
without an explicit ``database_url`` resolves to a private PostgreSQL database for its data
directory instead of ``<data_dir>/samdesk.db``; tests/conftest.py installs that. So the same
fixtures, CLI calls and apps run on PostgreSQL without knowing it.

A fresh database is ``CREATE DATABASE ... TEMPLATE`` of one migrated once per run (~0.1 s,
no Alembic per test). A data directory can be *frozen* (the ingested samples): it then
carries a marker naming its database, so a ``shutil.copytree`` of it -- which copies the
SQLite file on the default run -- clones that database. When a test ends, the databases of
its ``tmp_path`` are emptied in a background thread (connections cut, every table truncated,
sequences restarted) and handed to later tests as fresh ones; one whose schema a test
changed is dropped instead. Emptying is cheaper than ``DROP DATABASE``, which forces a
server-wide checkpoint each time. Everything is dropped when the run ends.
"""

from __future__ import annotations

import itertools
import os
import queue
import threading
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.pool import NullPool

from samdesk.db import make_engine, migrate

URL_ENV = "SAMDESK_TEST_POSTGRES_URL"
MARKER = ".samdesk-test-postgres"  # in a frozen data dir: the database its copies clone
# The rows migrations insert, put back after emptying a database (0006, 0007: the desk's
# change counters).
SEEDED_BY_MIGRATIONS = "INSERT INTO desk_generation (id, value) VALUES (1, 0), (2, 0)"


# Shared by every Databases of this process, so that two never pick the same name.
_numbers = itertools.count(1)


def server_url() -> str | None:
    return os.environ.get(URL_ENV) or None


class Databases:
    """The run's PostgreSQL databases, by data directory."""

    def __init__(self, url: str) -> None:
        self.server: URL = make_url(url)
        self.admin = create_engine(self.server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self.prefix = f"samdesk_t{os.getpid()}_"
        self._lock = threading.RLock()
        self.by_dir: dict[Path, str] = {}
        self._made: set[str] = set()  # every database this object created and not yet dropped
        self._template: str | None = None
        self._schema: tuple[set[str], set[str]] = (set(), set())  # template's heads, tables
        self._free: list[str] = []  # emptied databases, as good as fresh copies of the template
        self._drops: queue.Queue[str | None] = queue.Queue()
        self._dropper = threading.Thread(target=self._drop_loop, name="pg-dropper", daemon=True)
        self._dropper.start()

    def url(self, name: str) -> str:
        return self.server.set(database=name).render_as_string(hide_password=False)

    def create(self, template: str | None = None) -> str:
        """A new database: a copy of ``template``, else of the migrated empty schema."""
        with self._lock:
            if template is None and self._free:
                return self._free.pop()
            source = template or self.template()
            name = f"{self.prefix}{next(_numbers)}"
            with self.admin.connect() as connection:
                # Cloning needs the source idle; a test may still hold a pooled connection.
                connection.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :source AND pid <> pg_backend_pid()"
                    ),
                    {"source": source},
                )
                connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
            self._made.add(name)
            return name

    def template(self) -> str:
        """The migrated empty database every fresh one copies, made once per run."""
        with self._lock:
            if self._template is None:
                name = f"{self.prefix}template{next(_numbers)}"
                with self.admin.connect() as connection:
                    connection.execute(text(f'CREATE DATABASE "{name}"'))
                self._made.add(name)
                engine = make_engine(self.url(name))
                migrate(engine)
                with engine.connect() as connection:
                    self._schema = _schema(connection)
                engine.dispose()
                self._template = name
            return self._template

    def for_dir(self, data_dir: Path, *, empty: bool = False) -> str:
        """The URL of ``data_dir``'s database, made on first use (a clone for a copied dir,
        without any table when ``empty``)."""
        key = data_dir.resolve()
        with self._lock:
            name = self.by_dir.get(key)
            if name is None:
                marker = key / MARKER
                source = marker.read_text().strip() if marker.is_file() else None
                if empty:
                    source = "template0"
                name = self.by_dir[key] = self.create(source)
                if marker.is_file():
                    marker.write_text(name)
            return self.url(name)

    def freeze(self, data_dir: Path) -> None:
        """Let copies of ``data_dir`` start from its database as it is now."""
        key = data_dir.resolve()
        self.for_dir(key)
        (key / MARKER).write_text(self.by_dir[key])

    def release_under(self, folder: Path) -> None:
        """Recycle or drop (in the background) the databases of data dirs inside ``folder``."""
        root = folder.resolve()
        with self._lock:
            for key in [k for k in self.by_dir if k == root or root in k.parents]:
                self._drops.put(self.by_dir.pop(key))

    def drop(self, name: str) -> None:
        """Drop ``name`` in the background (its connections are cut)."""
        with self._lock:
            self._made.discard(name)
            self._drops.put(name)

    def close(self) -> None:
        """Drop every database made here, and wait for the drops."""
        with self._lock:
            for name in sorted(self._made):
                self._drops.put(name)
            self._made.clear()
            self.by_dir.clear()
            self._template = None
        self._drops.put(None)
        self._dropper.join(timeout=120)
        self.admin.dispose()

    def _drop_loop(self) -> None:
        while (name := self._drops.get()) is not None:
            try:
                if name in self._made and self._empty(name):
                    with self._lock:
                        self._free.append(name)
                    continue
                with self._lock:
                    self._made.discard(name)
                with self.admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            except Exception:  # noqa: BLE001 - a leftover database must not fail the run
                pass

    def _empty(self, name: str) -> bool:
        """Truncate every table of ``name`` if its schema is still the template's."""
        if self._template is None or name == self._template:
            return False
        with self.admin.connect() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
        engine = create_engine(self.url(name), poolclass=NullPool)
        try:
            with engine.begin() as connection:
                if _schema(connection) != self._schema:
                    return False
                tables = ", ".join(f'"{t}"' for t in sorted(self._schema[1]))
                connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
                connection.execute(text(SEEDED_BY_MIGRATIONS))
            return True
        except Exception:  # noqa: BLE001 - no alembic_version (a test dropped it): drop it
            return False
        finally:
            engine.dispose()


def _schema(connection: Connection) -> tuple[set[str], set[str]]:
    """The Alembic revisions applied, and the tables other than Alembic's own."""
    heads = set(connection.scalars(text("SELECT version_num FROM alembic_version")))
    tables = set(
        connection.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
    )
    return heads, tables - {"alembic_version"}


_databases: Databases | None = None


def databases() -> Databases | None:
    """The run's databases, or None on the default SQLite run."""
    global _databases
    url = server_url()
    if url is None:
        return None
    if _databases is None:
        _databases = Databases(url)
    return _databases


def database_env(data_dir: Path) -> dict[str, str]:
    """Environment for a subprocess using ``data_dir``: its database URL on PostgreSQL."""
    found = databases()
    return {"SAMDESK_DATABASE_URL": found.for_dir(data_dir)} if found else {}
