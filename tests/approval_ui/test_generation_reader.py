"""The per-request read of the desk generation: right after every change, and still right when
its own PostgreSQL connection is cut (it falls back to the pooled path, then reconnects);
requests that arrive during a read share the next one, never the one already in flight."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from approval_ui.generation_reader import GenerationReader
from samdesk.generation import Generations
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


def postgresql_reader(sessions: sessionmaker[Session]) -> GenerationReader:
    engine = sessions.kw["bind"]
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite is read inline, with no connection of its own")
    return GenerationReader(engine)


def test_a_cut_postgresql_connection_costs_nothing_but_a_reconnect(
    sessions: sessionmaker[Session],
) -> None:
    reader = postgresql_reader(sessions)
    engine = sessions.kw["bind"]

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


def test_requests_during_a_read_share_the_next_read_and_see_what_came_before(
    sessions: sessionmaker[Session],
) -> None:
    reader = postgresql_reader(sessions)
    own_read = reader._read_on_own_connection  # noqa: SLF001 - the round trip under test
    trips: list[int | None] = []

    async def scenario() -> tuple[int | None, list[int | None]]:
        held, answered = asyncio.Event(), asyncio.Event()

        async def counted() -> Generations | None:
            numbers = await own_read()
            trips.append(numbers.desk if numbers else None)
            if len(trips) == 1:
                answered.set()
                await held.wait()  # the first read has its answer but has not returned it
            return numbers

        reader._read_on_own_connection = counted  # type: ignore[method-assign]  # noqa: SLF001
        first = asyncio.ensure_future(desk_now(reader))
        await answered.wait()
        await asyncio.to_thread(make_draft, sessions)  # committed while that read is in flight
        later = [asyncio.ensure_future(desk_now(reader)) for _ in range(20)]
        await asyncio.sleep(0.05)
        held.set()
        seen = [await first, *[await each for each in later]]
        await reader.close()
        return seen[0], seen[1:]

    first, later = on_own_loop(scenario)
    assert first is not None
    assert later == [first + 1] * 20  # none was given the read that began before the change
    assert len(trips) == 2  # and the twenty shared one round trip
