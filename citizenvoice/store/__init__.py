"""The data-access layer: every SQL statement of the app lives in this package (and in search.py).

One module per area; each function takes an open aiosqlite connection, so callers decide the
transaction (``db.write()`` or ``db.read()``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import aiosqlite


def utcnow() -> str:
    """Timestamps are stored as ISO-8601 UTC strings, which sort correctly as text."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# One round trip to the connection's thread per statement (execute_fetchall / execute_insert), not
# three (execute, fetch, close): at city scale the hops, not SQLite, were what a page waited on.


async def fetch_one(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
    rows = await conn.execute_fetchall(sql, tuple(params))
    return next(iter(rows), None)


async def fetch_all(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
    return list(await conn.execute_fetchall(sql, tuple(params)))


async def fetch_value(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> Any:
    row = await fetch_one(conn, sql, params)
    return None if row is None else row[0]


async def insert(conn: aiosqlite.Connection, sql: str, params: Iterable[Any] = ()) -> int:
    row = await conn.execute_insert(sql, tuple(params))
    assert row is not None and row[0]
    return int(row[0])
