"""The directions (boards) table."""

from __future__ import annotations

import aiosqlite

from citizenvoice.model.directions import Direction
from citizenvoice.store import fetch_all, fetch_one

_COLUMNS = "id, slug, name, description, pillar, position, archived"


def _direction(row: aiosqlite.Row) -> Direction:
    return Direction(
        id=row["id"],
        slug=row["slug"],
        name=row["name"],
        description=row["description"],
        pillar=row["pillar"],
        position=row["position"],
        archived=bool(row["archived"]),
    )


async def list_directions(conn: aiosqlite.Connection, *, include_archived: bool = True) -> list[Direction]:
    where = "" if include_archived else "WHERE archived = 0"
    rows = await fetch_all(conn, f"SELECT {_COLUMNS} FROM directions {where} ORDER BY position, id")
    return [_direction(r) for r in rows]


async def get_by_slug(conn: aiosqlite.Connection, slug: str) -> Direction | None:
    row = await fetch_one(conn, f"SELECT {_COLUMNS} FROM directions WHERE slug = ?", (slug,))
    return _direction(row) if row else None


async def get_by_id(conn: aiosqlite.Connection, direction_id: int) -> Direction | None:
    row = await fetch_one(conn, f"SELECT {_COLUMNS} FROM directions WHERE id = ?", (direction_id,))
    return _direction(row) if row else None
