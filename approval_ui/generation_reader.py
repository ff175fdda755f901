"""Read the desk generations (samdesk/generation.py) once per request, at the least cost.

Every desk request starts with this read, so its cost is the floor under every cached page.
SQLite: a primary-key read of a local file that writers never block (WAL), done inline; a
trip through the thread pool would cost more than the read. PostgreSQL: one round trip on
a connection of its own in autocommit mode, awaited on the event loop (a pooled connection
adds a ROLLBACK round trip, and the thread pool its hand-over: 0.9 ms against 0.2 ms here).
If that connection fails, the read falls back to the ordinary pooled path, whose errors
the desk answers as for any query (503 when the database is out of reach).
"""

from __future__ import annotations

import asyncio

import psycopg
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from samdesk import generation
from samdesk.generation import Generations

CONNECT_TIMEOUT_S = 2


class GenerationReader:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        url = engine.url
        self._dsn = (
            url.set(drivername="postgresql").render_as_string(hide_password=False)
            if url.drivername == "postgresql+psycopg"
            else None
        )
        self._connection: psycopg.AsyncConnection[tuple[int, int]] | None = None
        self._lock = asyncio.Lock()  # one read in flight on the connection at a time

    async def read(self) -> Generations | None:
        if self._engine.dialect.name == "sqlite":
            return generation.read(self._engine)
        if self._dsn is not None:
            try:
                return await self._read_on_own_connection()
            except psycopg.Error:
                await self.close()  # reconnected on the next request
        return await run_in_threadpool(generation.read, self._engine)

    async def _read_on_own_connection(self) -> Generations | None:
        async with self._lock:
            if self._connection is None or self._connection.closed:
                self._connection = await psycopg.AsyncConnection.connect(
                    self._dsn or "", autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
                )
            cursor = await self._connection.execute(generation.CURRENT_SQL)
            rows = await cursor.fetchall()
        return generation.parse(rows)

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()
