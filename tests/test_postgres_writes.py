"""Write transactions on PostgreSQL without a single-writer funnel (only with CITIZENVOICE_TEST_DATABASE_URL).

Two ``Database`` handles on one database stand for two hosts (each its own pool). A write transaction
waits for another only when both serialise on the same key (db.serialize) or touch the same row; a
rate limit counted by many transactions at once still lets exactly its limit through.
"""

from __future__ import annotations

import asyncio

import pgtest
import pytest

from citizenvoice import db
from citizenvoice.db import postgres
from citizenvoice.domain import ratelimit

pytestmark = pytest.mark.skipif(not pgtest.enabled(), reason="needs PostgreSQL (CITIZENVOICE_TEST_DATABASE_URL)")

SECRET = "writes-test-secret"


async def _hosts(url: str) -> tuple[postgres.Database, postgres.Database]:
    a, b = postgres.Database(url), postgres.Database(url)
    await a.open()
    await b.open()
    return a, b


async def _record_event(database: postgres.Database, key: str) -> None:
    async with database.write() as conn:
        await db.serialize(conn, key)
        await conn.execute("INSERT INTO rate_events (bucket, key_hash, created_at) VALUES ('t', ?, 1)", (key,))


def test_a_write_on_another_key_does_not_wait_for_an_open_one() -> None:
    async def scenario() -> None:
        a, b = await _hosts(pgtest.fresh_database())
        release = asyncio.Event()

        async def slow() -> None:
            async with a.write() as conn:
                await db.serialize(conn, "key-a")
                await conn.execute("INSERT INTO rate_events (bucket, key_hash, created_at) VALUES ('t', 'a', 1)")
                await release.wait()

        holder = asyncio.create_task(slow())
        await asyncio.sleep(0.05)
        # Under the old funnel this waited for `slow` to commit; now it commits while `slow` is open.
        await asyncio.wait_for(_record_event(b, "key-b"), timeout=10)
        release.set()
        await holder
        async with a.read() as conn:
            rows = await (await conn.execute("SELECT key_hash FROM rate_events ORDER BY key_hash")).fetchall()
        assert [r[0] for r in rows] == ["a", "key-b"]
        await a.close()
        await b.close()

    asyncio.run(scenario())


def test_a_write_on_the_same_key_waits_until_the_first_commits() -> None:
    async def scenario() -> None:
        a, b = await _hosts(pgtest.fresh_database())
        release = asyncio.Event()

        async def first() -> None:
            async with a.write() as conn:
                await db.serialize(conn, "same")
                await release.wait()

        holder = asyncio.create_task(first())
        await asyncio.sleep(0.05)
        second = asyncio.create_task(_record_event(b, "same"))
        done, _ = await asyncio.wait({second}, timeout=0.5)
        assert not done, "the second transaction went ahead while the first held the key"
        release.set()
        await holder
        await asyncio.wait_for(second, timeout=10)
        await a.close()
        await b.close()

    asyncio.run(scenario())


def test_a_rate_limit_lets_exactly_its_limit_through_when_two_hosts_count_at_once() -> None:
    limit = ratelimit.Limit("submit-phone", 3, 3600, "请约 {minutes} 分钟后再试。")

    async def attempt(database: postgres.Database) -> bool:
        try:
            async with database.write() as conn:
                await ratelimit.hit(conn, SECRET, [(limit, "13812345678")])
                await asyncio.sleep(0.01)  # the window between the count and the commit, widened
        except ratelimit.RateLimited:
            return False
        return True

    async def scenario() -> list[bool]:
        a, b = await _hosts(pgtest.fresh_database())
        outcomes = await asyncio.gather(*(attempt(a if n % 2 else b) for n in range(12)))
        await a.close()
        await b.close()
        return outcomes

    assert sum(asyncio.run(scenario())) == 3


def test_write_at_once_runs_a_transaction_again_after_a_serialization_failure() -> None:
    import asyncpg

    attempts = []

    async def transaction(conn) -> str:  # type: ignore[no-untyped-def]
        attempts.append(1)
        await conn.execute("UPDATE leases SET holder = ? WHERE name = 'message_sender'", (f"try {len(attempts)}",))
        if len(attempts) == 1:  # what PostgreSQL raises when it aborts a transaction to keep it consistent
            raise asyncpg.SerializationError("could not serialize access due to concurrent update")
        return "done"

    async def scenario() -> tuple[str, str]:
        database = postgres.Database(pgtest.fresh_database())
        await database.open()
        try:
            result = await database.write_at_once(transaction)
            async with database.read() as conn:
                row = await (await conn.execute("SELECT holder FROM leases WHERE name = 'message_sender'")).fetchone()
            return result, row[0]
        finally:
            await database.close()

    assert asyncio.run(scenario()) == ("done", "try 2")  # the first attempt rolled back, the second committed
    assert len(attempts) == 2


_PUBLISHED_ESSAY = (
    "INSERT INTO essays (tracking_code, token_hash, status, direction_id, headline, body, author_role,"
    " author_name, byline_mode, submitted_at, updated_at, published_at)"
    " VALUES (?, ?, 'published', (SELECT min(id) FROM directions), ?, '正文', 'resident', '王某', 'full',"
    " '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z')"
)


def _published_essay(n: int) -> tuple[str, tuple[str, str, str]]:
    return _PUBLISHED_ESSAY, (f"CV-TEST-000{n}", f"hash-{n}", f"标题{n}")


def test_two_writes_to_published_essays_in_opposite_orders_both_commit() -> None:
    # Marking a print page printed updates its essays one after another; an edit of one of them may
    # arrive in between. Each update of a public essay bumps the page-cache content version, one row:
    # taken at the first update, it made the print desk hold that row while waiting for the edited
    # essay, and the edit wait for that row while holding the essay — a deadlock, one of them aborted.
    async def scenario() -> None:
        a, b = await _hosts(pgtest.fresh_database())
        try:
            async with a.write() as conn:
                first = (await conn.execute_insert(*_published_essay(1)))[0]
                second = (await conn.execute_insert(*_published_essay(2)))[0]
            async with a.read() as conn:
                version_before = (await (await conn.execute(
                    "SELECT version FROM list_versions WHERE name = 'public_content'")).fetchone())[0]
            desk_began = asyncio.Event()

            async def print_desk() -> str:
                async with a.write() as conn:
                    await conn.execute("UPDATE essays SET status = 'printed' WHERE id = ?", (first,))
                    desk_began.set()
                    await asyncio.sleep(0.3)  # the edit of the second essay arrives meanwhile
                    await conn.execute("UPDATE essays SET status = 'printed' WHERE id = ?", (second,))
                return "printed"

            async def edit() -> str:
                await desk_began.wait()
                async with b.write() as conn:
                    await conn.execute("UPDATE essays SET featured = 1 WHERE id = ?", (second,))
                return "edited"

            outcomes = await asyncio.wait_for(
                asyncio.gather(print_desk(), edit(), return_exceptions=True), timeout=30)
            async with a.read() as conn:
                rows = await (await conn.execute(
                    "SELECT status, featured FROM essays WHERE id IN (?, ?) ORDER BY id", (first, second))).fetchall()
                version_after = (await (await conn.execute(
                    "SELECT version FROM list_versions WHERE name = 'public_content'")).fetchone())[0]
            assert [str(o) for o in outcomes] == ["printed", "edited"]  # neither aborted as a deadlock
            assert [tuple(r) for r in rows] == [("printed", 0), ("printed", 1)]
            assert version_after == version_before + 3  # one bump per update of a public essay, all kept
        finally:
            await a.close()
            await b.close()

    asyncio.run(scenario())
