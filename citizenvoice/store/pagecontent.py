"""The paper's own content on a print page: the feature article (versioned) and the directions band."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from citizenvoice.store import fetch_all, fetch_one, fetch_value, utcnow


@dataclass(frozen=True)
class Feature:
    page_id: int
    version: int
    headline: str
    byline: str
    body: str
    photo_path: str | None
    photo_credit: str
    char_count: int
    removed: bool
    created_by: str  # the staff member who saved this version
    created_at: str


@dataclass(frozen=True)
class BandBox:
    position: int
    direction_id: int
    slug: str
    name: str
    description: str


_FEATURE = (
    "SELECT f.page_id, f.version, f.headline, f.byline, f.body, f.photo_path, f.photo_credit, f.char_count,"
    " f.removed, u.username AS created_by, f.created_at FROM page_features f JOIN users u ON u.id = f.created_by"
)


def _feature(row: aiosqlite.Row) -> Feature:
    data = dict(row)
    return Feature(**{**data, "removed": bool(data["removed"])})


async def latest_feature(conn: aiosqlite.Connection, page_id: int) -> Feature | None:
    """The page's newest feature version, removed or not; None if it never had one."""
    row = await fetch_one(conn, f"{_FEATURE} WHERE f.page_id = ? ORDER BY f.version DESC LIMIT 1", (page_id,))
    return _feature(row) if row else None


async def feature_versions(conn: aiosqlite.Connection, page_id: int) -> list[Feature]:
    rows = await fetch_all(conn, f"{_FEATURE} WHERE f.page_id = ? ORDER BY f.version DESC", (page_id,))
    return [_feature(r) for r in rows]


async def add_feature_version(
    conn: aiosqlite.Connection, page_id: int, *, headline: str, byline: str, body: str, photo_path: str | None,
    photo_credit: str, char_count: int, removed: bool, user_id: int,
) -> int:
    current = await fetch_value(conn, "SELECT max(version) FROM page_features WHERE page_id = ?", (page_id,))
    version = int(current or 0) + 1
    await conn.execute(
        "INSERT INTO page_features (page_id, version, headline, byline, body, photo_path, photo_credit, char_count,"
        " removed, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (page_id, version, headline, byline, body, photo_path, photo_credit, char_count, int(removed), user_id,
         utcnow()),
    )
    return version


async def band(conn: aiosqlite.Connection, page_id: int) -> list[BandBox]:
    rows = await fetch_all(
        conn,
        "SELECT b.position, b.direction_id, d.slug, b.name, b.description FROM page_band b"
        " JOIN directions d ON d.id = b.direction_id WHERE b.page_id = ? ORDER BY b.position",
        (page_id,),
    )
    return [BandBox(**dict(r)) for r in rows]


async def replace_band(conn: aiosqlite.Connection, page_id: int, boxes: list[tuple[int, str, str]]) -> None:
    """``boxes``: (direction id, name, description) in the band's order."""
    await conn.execute("DELETE FROM page_band WHERE page_id = ?", (page_id,))
    await conn.executemany(
        "INSERT INTO page_band (page_id, position, direction_id, name, description) VALUES (?, ?, ?, ?, ?)",
        [(page_id, position, d, name, text) for position, (d, name, text) in enumerate(boxes, start=1)],
    )


async def touch_page(conn: aiosqlite.Connection, page_id: int) -> None:
    """A change of the page's content: a new page version (the proof stamp says which)."""
    await conn.execute(
        "UPDATE print_pages SET updated_at = ?, version = version + 1 WHERE id = ?", (utcnow(), page_id)
    )
