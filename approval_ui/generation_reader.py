"""Read the desk generations (samdesk/generation.py) once per request, at the least cost.

Every desk request starts with this read, so its cost is the floor under every cached page.
SQLite: a primary-key read of a local file that writers never block (WAL), done inline; a
trip through the thread pool would cost more than the read. PostgreSQL: one round trip on
a connection of its own in autocommit mode, awaited on the event loop (a pooled connection
adds a ROLLBACK round trip, and the thread pool its hand-over: 0.9 ms against 0.2 ms here).
If that connection fails, the read falls back to the ordinary pooled path, whose errors
the desk answers as for any query (503 when the database is out of reach).

Requests that arrive while a PostgreSQL read is in flight share the next read instead of
queueing one each: that read starts after all of them asked, so each still gets numbers at
least as new as every commit made before it asked, at one round trip per batch.
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
        self._next: asyncio.Future[Generations | None] | None = None  # the next read's result
        self._reading: asyncio.Task[None] | None = None  # one read in flight at a time

    async def read(self) -> Generations | None:
        if self._engine.dialect.name == "sqlite":
            return generation.read(self._engine)
        if self._dsn is not None:
            try:
                return await self._next_read()
            except psycopg.Error:
                await self.close()  # reconnected on the next request
        return await run_in_threadpool(generation.read, self._engine)

    async def _next_read(self) -> Generations | None:
        """The result of a read that starts after this call (shared with its batch)."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        batch = self._next
        if self._reading is None or self._reading.done():
            self._reading = asyncio.create_task(self._read_batches())
        return await asyncio.shield(batch)  # a request that goes away leaves the batch be

    async def _read_batches(self) -> None:
        while self._next is not None:
            batch, self._next = self._next, None  # later callers wait for the next read
            try:
                batch.set_result(await self._read_on_own_connection())
            except asyncio.CancelledError:  # the app is stopping: so do the waiting requests
                batch.cancel()
                raise
            except Exception as exc:  # noqa: BLE001 - each caller of the batch handles it
                batch.set_exception(exc)

    async def _read_on_own_connection(self) -> Generations | None:
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
