"""Screening word lists and rejection reasons."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

import aiosqlite

from citizenvoice.store import fetch_all, fetch_value

LISTS = ("banned", "suspect")


@dataclass(frozen=True)
class RejectionReason:
    id: int
    label: str
    position: int
    active: bool
    kind: str = "reject"  # or "revise": a ready-made reason for returning an essay for revision


async def words_version(conn: aiosqlite.Connection) -> int:
    return int(await fetch_value(conn, "SELECT version FROM list_versions WHERE name = 'screening_words'") or 0)


def peek_words_version(conn: sqlite3.Connection) -> int:
    """:func:`words_version`, synchronously, for ``Database.peek()`` (a one-row read, no thread hop)."""
    row = conn.execute("SELECT version FROM list_versions WHERE name = 'screening_words'").fetchone()
    return int(row[0]) if row else 0


async def load_words(conn: aiosqlite.Connection) -> dict[str, list[str]]:
    rows = await fetch_all(conn, "SELECT list, word FROM screening_words ORDER BY list, word")
    words: dict[str, list[str]] = {name: [] for name in LISTS}
    for row in rows:
        words[row["list"]].append(row["word"])
    return words


async def replace_words(conn: aiosqlite.Connection, list_name: str, words: Iterable[str]) -> None:
    """Replace one list wholesale (admins paste the whole list) and tell every worker to rebuild."""
    if list_name not in LISTS:
        raise ValueError(list_name)
    unique = sorted({w.strip() for w in words if w.strip()})
    await conn.execute("DELETE FROM screening_words WHERE list = ?", (list_name,))
    await conn.executemany(
        "INSERT INTO screening_words (list, word) VALUES (?, ?)", [(list_name, w) for w in unique]
    )
    await conn.execute("UPDATE list_versions SET version = version + 1 WHERE name = 'screening_words'")


async def rejection_reasons(
    conn: aiosqlite.Connection, *, include_inactive: bool = False, kind: str | None = "reject"
) -> list[RejectionReason]:
    """The reasons of one kind ("reject", "revise"; None: both), active ones unless ``include_inactive``."""
    conditions, params = [], []
    if not include_inactive:
        conditions.append("active = 1")
    if kind is not None:
        conditions.append("kind = ?")
        params.append(kind)
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = await fetch_all(
        conn, f"SELECT id, label, position, active, kind FROM rejection_reasons {where} ORDER BY position, id", params
    )
    return [RejectionReason(r["id"], r["label"], r["position"], bool(r["active"]), r["kind"]) for r in rows]
