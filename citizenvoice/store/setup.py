"""The first-admin setup links (migration 0011): only token hashes and their expiry."""

from __future__ import annotations

from datetime import UTC, datetime

import aiosqlite

from citizenvoice.store import fetch_value


def _iso(moment: datetime) -> str:
    # The same text form as store.utcnow(), so stored times compare correctly as strings.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def replace_token(conn: aiosqlite.Connection, token_hash: str, expires_at: datetime) -> None:
    """Keep only this token: a link printed by an earlier start stops working."""
    await conn.execute("DELETE FROM setup_tokens")
    await conn.execute(
        "INSERT INTO setup_tokens (token_hash, expires_at) VALUES (?, ?)", (token_hash, _iso(expires_at))
    )


async def token_valid(conn: aiosqlite.Connection, token_hash: str, now: datetime) -> bool:
    found = await fetch_value(
        conn, "SELECT 1 FROM setup_tokens WHERE token_hash = ? AND expires_at > ?", (token_hash, _iso(now))
    )
    return found is not None


async def delete_tokens(conn: aiosqlite.Connection) -> None:
    await conn.execute("DELETE FROM setup_tokens")


async def count_tokens(conn: aiosqlite.Connection) -> int:
    return int(await fetch_value(conn, "SELECT count(*) FROM setup_tokens") or 0)
