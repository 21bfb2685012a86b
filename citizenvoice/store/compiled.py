"""Essays a reporter entered for an author: who entered it, how it was gathered, the consent note."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import aiosqlite

from citizenvoice.store import fetch_all, fetch_one


@dataclass(frozen=True)
class CompiledMark:
    essay_id: int
    source: str
    consent_note: str
    entered_by: int
    reporter: str  # the staff member's display name, else the username
    entered_at: str


_SELECT = (
    "SELECT c.essay_id, c.source, c.consent_note, c.entered_by, c.entered_at,"
    " CASE WHEN u.display_name <> '' THEN u.display_name ELSE u.username END AS reporter"
    " FROM compiled_essays c JOIN users u ON u.id = c.entered_by"
)


async def add(
    conn: aiosqlite.Connection, essay_id: int, *, entered_by: int, source: str, consent_note: str, at: str
) -> None:
    await conn.execute(
        "INSERT INTO compiled_essays (essay_id, entered_by, source, consent_note, entered_at) VALUES (?, ?, ?, ?, ?)",
        (essay_id, entered_by, source, consent_note, at),
    )


async def mark_of(conn: aiosqlite.Connection, essay_id: int) -> CompiledMark | None:
    row = await fetch_one(conn, f"{_SELECT} WHERE c.essay_id = ?", (essay_id,))
    return CompiledMark(**dict(row)) if row else None


async def marks(conn: aiosqlite.Connection, essay_ids: Iterable[int]) -> dict[int, CompiledMark]:
    ids = list(essay_ids)
    if not ids:
        return {}
    placeholders = ", ".join("?" for _ in ids)
    rows = await fetch_all(conn, f"{_SELECT} WHERE c.essay_id IN ({placeholders})", ids)
    return {row["essay_id"]: CompiledMark(**dict(row)) for row in rows}


async def page_reporters(conn: aiosqlite.Connection, page_id: int) -> list[str]:
    """The reporters who entered the essays of a print page, in slot order, each once."""
    rows = await fetch_all(
        conn,
        "SELECT CASE WHEN u.display_name <> '' THEN u.display_name ELSE u.username END AS reporter"
        " FROM print_slots s JOIN compiled_essays c ON c.essay_id = s.essay_id JOIN users u ON u.id = c.entered_by"
        " WHERE s.page_id = ? ORDER BY s.position",
        (page_id,),
    )
    return list(dict.fromkeys(row["reporter"] for row in rows))

