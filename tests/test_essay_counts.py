"""The moderation queue's counts come from essay_counts (migration 0035), kept by triggers on essays:
they must say what counting the essays says, after every way an essay moves, on both databases; and
on PostgreSQL, concurrent writers must neither wait for one another on a count nor lose one.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pgtest
import pytest
from factories import STEPS, make_essay
from moderation_support import run_db

from citizenvoice.db import postgres
from citizenvoice.model.essays import new_tracking_code
from citizenvoice.store import directions as direction_store
from citizenvoice.store import essays as essay_store
from citizenvoice.store import moderation as store
from citizenvoice.store.moderation import QueueFilters


async def _counted_directly(conn: Any) -> dict[tuple[str, int], int]:
    cursor = await conn.execute("SELECT status, review_stage, count(*) FROM essays GROUP BY status, review_stage")
    return {(r[0], int(r[1])): int(r[2]) for r in await cursor.fetchall()}


async def _both(conn: Any) -> tuple[dict[tuple[str, int], int], dict[str, int], dict[int, int], int, int]:
    direct = await _counted_directly(conn)
    return (
        direct,
        await store.counts_by_status(conn),
        await store.pending_by_stage(conn),
        await store.count_queue(conn, QueueFilters()),
        await store.count_queue(conn, QueueFilters(stages=(2, None))),
    )


def _agree(client: Any) -> dict[tuple[str, int], int]:
    direct, by_status, by_stage, queue, upper = run_db(client, _both)
    statuses: dict[str, int] = {}
    for (status, _stage), n in direct.items():
        statuses[status] = statuses.get(status, 0) + n
    assert by_status == statuses
    assert by_stage == {stage: n for (status, stage), n in direct.items() if status == "pending"}
    assert queue == statuses.get("pending", 0)
    assert upper == sum(n for (status, stage), n in direct.items() if status == "pending" and stage >= 2)
    return direct


def test_the_queue_counts_follow_every_way_an_essay_moves(client) -> None:
    assert _agree(client) == {}
    for status in STEPS:
        make_essay(client, status)
    make_essay(client, "pending")
    counts = _agree(client)
    assert counts[("pending", 1)] == 2
    assert counts[("withdrawn", 1)] == 2  # "withdrawn" and "withdrawn_after_publishing"

    # A level's pass moves an essay to the next stage without changing its status.
    lifted = make_essay(client, "pending").id
    run_db(client, lambda conn: conn.execute("UPDATE essays SET review_stage = 2 WHERE id = ?", (lifted,)), write=True)
    assert _agree(client)[("pending", 2)] == 1
    # An update that changes neither column leaves the counts alone.
    run_db(client, lambda conn: conn.execute("UPDATE essays SET headline = '新标题' WHERE id = ?", (lifted,)), write=True)
    assert _agree(client)[("pending", 2)] == 1


def test_a_filtered_queue_is_still_counted_from_the_essays(client) -> None:
    make_essay(client, "pending", author_role="enterprise")
    make_essay(client, "pending")
    assert run_db(client, lambda conn: store.count_queue(conn, QueueFilters(author_role="enterprise"))) == 1
    assert run_db(client, lambda conn: store.count_queue(conn, QueueFilters())) == 2


def test_the_queue_page_shows_the_counts(client, staff_client) -> None:
    for _ in range(3):
        make_essay(client, "pending")
    make_essay(client, "published")
    page = staff_client("moderator").get("/moderate").text
    assert "<dt>待审核</dt><dd><strong>3</strong> 篇" in page
    assert "共 3 篇符合条件" in page


# ---------------------------------------------------------------------------------------------------
# PostgreSQL: concurrent writers

needs_postgres = pytest.mark.skipif(not pgtest.enabled(), reason="needs PostgreSQL (CITIZENVOICE_TEST_DATABASE_URL)")


async def _submit(database: postgres.Database, direction_id: int, hold: asyncio.Event | None = None) -> int:
    async with database.write() as conn:
        new = essay_store.NewEssay(
            direction_id=direction_id, headline="港口的灯光", body="正文" * 120, author_role="resident",
            author_name="李春梅", affiliation="", byline_mode="full", phone="13812345678", email="",
            photo_path=None, consent_print=True,
        )
        essay_id = await essay_store.insert_essay(conn, new, tracking_code=new_tracking_code(), token=secrets.token_urlsafe(24),
                                                  submit_ip=None)  # fmt: skip
        if hold is not None:
            await hold.wait()
        return essay_id


@needs_postgres
def test_concurrent_submissions_neither_wait_on_a_count_nor_lose_one() -> None:
    async def scenario() -> None:
        url = pgtest.fresh_database()
        a, b = postgres.Database(url), postgres.Database(url)
        await a.open()
        await b.open()
        try:
            async with a.read() as conn:
                direction = (await direction_store.list_directions(conn))[0].id
            await _submit(a, direction)  # the count's first row, committed
            release = asyncio.Event()
            held = asyncio.create_task(_submit(a, direction, hold=release))
            await asyncio.sleep(0.1)  # the held transaction has counted its essay and not committed
            # Another host's submission commits while that row is held: it takes another row.
            other = asyncio.create_task(_submit(b, direction))
            done, _ = await asyncio.wait([other], timeout=10)
            release.set()
            await held
            await other
            assert done, "a submission waited for another transaction's count"
            await asyncio.gather(*(_submit(a if i % 2 else b, direction) for i in range(60)))
            async with a.write() as conn:  # approvals and withdrawals at once move counts both ways
                await conn.execute("UPDATE essays SET status = 'published' WHERE id % 3 = 0")
            await asyncio.gather(*(_withdraw(b, n) for n in range(1, 64, 3)))
            async with a.read() as conn:
                direct = await _counted_directly(conn)
                assert await store.counts_by_status(conn) == {s: n for (s, _), n in direct.items()}
                assert sum(direct.values()) == 63
                rows = await (await conn.execute("SELECT count(*) FROM essay_counts")).fetchone()
                assert rows[0] <= 2 * 63  # rows only where writers overlapped, never one per change
        finally:
            await a.close()
            await b.close()

    asyncio.run(scenario())


async def _withdraw(database: postgres.Database, essay_id: int) -> None:
    async with database.write() as conn:
        await conn.execute("UPDATE essays SET status = 'withdrawn' WHERE id = ? AND status = 'pending'", (essay_id,))
