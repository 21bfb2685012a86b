"""The submission's bookkeeping: sliding-window rate events, one-time form tokens, and whether a photo
file is still referenced (photos are stored by content, so two essays may share one file).

Both live in the database, not in process memory, so every worker process sees the same counts and
the same used tokens. Callers run these inside one ``db.write()`` transaction (BEGIN IMMEDIATE), which
makes check-then-record atomic across processes.
"""

from __future__ import annotations

import aiosqlite

from citizenvoice.store import fetch_one, fetch_value, utcnow


async def window(conn: aiosqlite.Connection, bucket: str, key_hash: str, *, since: float) -> tuple[int, float | None]:
    """How many events ``key_hash`` has in ``bucket`` since ``since``, and when the oldest of them was."""
    row = await fetch_one(
        conn,
        "SELECT count(*), min(created_at) FROM rate_events WHERE bucket = ? AND key_hash = ? AND created_at > ?",
        (bucket, key_hash, since),
    )
    assert row is not None
    return int(row[0]), row[1]


async def record(conn: aiosqlite.Connection, bucket: str, key_hash: str, *, at: float) -> None:
    await conn.execute(
        "INSERT INTO rate_events (bucket, key_hash, created_at) VALUES (?, ?, ?)", (bucket, key_hash, at)
    )


async def form_token_used(conn: aiosqlite.Connection, token_hash: str) -> bool:
    return await fetch_one(conn, "SELECT 1 FROM form_tokens WHERE token_hash = ?", (token_hash,)) is not None


async def use_form_token(conn: aiosqlite.Connection, token_hash: str, essay_id: int) -> None:
    """Mark the token used; a second use violates the primary key (sqlite3.IntegrityError)."""
    await conn.execute(
        "INSERT INTO form_tokens (token_hash, essay_id, used_at) VALUES (?, ?, ?)", (token_hash, essay_id, utcnow())
    )


async def count_events(conn: aiosqlite.Connection, bucket: str) -> int:
    return int(await fetch_value(conn, "SELECT count(*) FROM rate_events WHERE bucket = ?", (bucket,)) or 0)
