"""The page cache's version check on PostgreSQL is one query for all the requests waiting at once
(db.postgres.CoalescedRead): never an answer from a query that began before the request asked, or a
publish just committed could be missed by the next page."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import pytest

from citizenvoice.db.postgres import CoalescedRead


class FakeDatabase:
    """read() as the real one offers it; what matters here is when queries start and end."""

    @asynccontextmanager
    async def read(self):
        yield object()


class Versions:
    """A content version the test moves, read by a query the test holds open until it says so."""

    def __init__(self) -> None:
        self.version = 1
        self.started = 0
        self.release = asyncio.Event()
        self.fail = False

    async def query(self, conn) -> int:
        self.started += 1
        seen = self.version  # what the row holds when the query begins
        await self.release.wait()
        if self.fail:
            raise ConnectionResetError("server went away")
        return seen


def test_callers_waiting_together_share_one_query() -> None:
    async def scenario() -> tuple[list[int], int]:
        versions = Versions()
        read = CoalescedRead(FakeDatabase(), versions.query)
        callers = [asyncio.ensure_future(read()) for _ in range(20)]
        await asyncio.sleep(0)
        versions.release.set()
        return await asyncio.gather(*callers), versions.started

    answers, queries = asyncio.run(scenario())
    assert answers == [1] * 20 and queries == 1


def test_a_caller_arriving_during_a_query_waits_for_one_that_began_after_it() -> None:
    async def scenario() -> tuple[int, int, int]:
        versions = Versions()
        read = CoalescedRead(FakeDatabase(), versions.query)
        early = asyncio.ensure_future(read())
        await asyncio.sleep(0.01)  # the first query is running, having seen version 1
        versions.version = 2  # a publish commits
        late = asyncio.ensure_future(read())  # the next request, after the commit
        await asyncio.sleep(0.01)
        versions.release.set()
        return await early, await late, versions.started

    early, late, queries = asyncio.run(scenario())
    assert (early, late, queries) == (1, 2, 2)  # the late caller saw the publish


def test_a_failed_query_fails_its_waiters_and_the_next_call_asks_again() -> None:
    async def scenario() -> tuple[list[BaseException | int], int]:
        versions = Versions()
        read = CoalescedRead(FakeDatabase(), versions.query)
        versions.fail = True
        versions.release.set()
        failed = await asyncio.gather(read(), read(), return_exceptions=True)
        versions.fail = False
        return [*failed, await read()], versions.started

    answers, queries = asyncio.run(scenario())
    assert [type(a) for a in answers[:2]] == [ConnectionResetError, ConnectionResetError]
    assert answers[2] == 1 and queries == 2


def test_a_caller_that_gives_up_does_not_cancel_the_others() -> None:
    async def scenario() -> int:
        versions = Versions()
        read = CoalescedRead(FakeDatabase(), versions.query)
        impatient = asyncio.ensure_future(read())
        patient = asyncio.ensure_future(read())
        await asyncio.sleep(0.01)
        impatient.cancel()
        versions.release.set()
        with pytest.raises(asyncio.CancelledError):
            await impatient
        return await patient

    assert asyncio.run(scenario()) == 1
