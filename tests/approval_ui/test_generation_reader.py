"""The per-request read of the desk generation: right after every change, and still right when
its own PostgreSQL connection is cut (it falls back to the pooled path, then reconnects)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from approval_ui.generation_reader import GenerationReader
from tests.factories import make_draft

T = TypeVar("T")


def on_own_loop(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run`` in a thread of its own: earlier tests in the same run (the browser
    tests) leave an event loop running in this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(scenario())).result()


async def desk_now(reader: GenerationReader) -> int | None:
    numbers = await reader.read()
    return numbers.desk if numbers else None


def test_it_follows_every_change(sessions: sessionmaker[Session]) -> None:
    reader = GenerationReader(sessions.kw["bind"])

    async def scenario() -> list[int | None]:
        seen = [await desk_now(reader)]
        make_draft(sessions)
        seen.append(await desk_now(reader))
        seen.append(await desk_now(reader))
        make_draft(sessions)
        seen.append(await desk_now(reader))
        await reader.close()
        return seen

    first, second, same, third = on_own_loop(scenario)
    assert first is not None
    assert (second, same, third) == (first + 1, first + 1, first + 2)


def test_a_cut_postgresql_connection_costs_nothing_but_a_reconnect(
    sessions: sessionmaker[Session],
) -> None:
    engine = sessions.kw["bind"]
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite is read inline, with no connection of its own")
    reader = GenerationReader(engine)

    def cut_readers_connection() -> None:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND application_name = ''"
                    "AND query LIKE 'SELECT id, value FROM desk_generation%'"
                )
            )

    async def scenario() -> tuple[int | None, int | None, int | None, bool]:
        before = await desk_now(reader)
        own = reader._connection  # noqa: SLF001 - the connection under test
        cut_readers_connection()
        make_draft(sessions)
        after_cut = await desk_now(reader)  # the cut connection fails: the pooled path answers
        again = await desk_now(reader)  # and the next read has a connection of its own again
        reconnected = reader._connection is not None and reader._connection is not own  # noqa: SLF001
        await reader.close()
        return before, after_cut, again, reconnected

    before, after_cut, again, reconnected = on_own_loop(scenario)
    assert before is not None
    assert after_cut == again == before + 1
    assert reconnected
