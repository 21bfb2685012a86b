"""What the public may read: published and printed essays for the home page, boards, essay pages,
feeds and the sitemap.

Privacy by construction: every query here selects from ``_CARD`` / ``_FULL``, which name only public
columns, so phone, e-mail, tracking code, token hash and IP cannot reach a page, feed or sitemap
through this module. The personal name stays inside :class:`BylineParts`; pages print
:meth:`PublicEssay.byline`, which leaves it out when the author chose a role-only byline.

Index use (checked with EXPLAIN QUERY PLAN in tests/test_public.py): the lists are ordered by
``essays_board`` (direction_id, status, featured DESC, published_at DESC, id DESC) and
``essays_published`` (status, published_at DESC, id DESC). Both start with ``status``, so one ordered
index range exists per public status; each list is a UNION ALL of one branch per status (and per
``featured`` value where that column sits between the filter and the order) that SQLite merges
("MERGE (UNION ALL)") without sorting, stopping after LIMIT rows; each branch also carries its own ORDER BY
… LIMIT, which PostgreSQL needs to do the same (it sorted the whole union instead).

Queries are assembled only from fixed SQL fragments (the status literals above among them) and
``?`` placeholders, hence the S608 waivers; every value from a request is a parameter.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import aiosqlite

from citizenvoice.model.essays import PUBLIC_STATUSES, BylineParts
from citizenvoice.model.public import EXCERPT_CHARS, BoardKey, PublicEssay
from citizenvoice.store import fetch_all, fetch_one, fetch_value

# Literal SQL text, not parameters: the branch per status is what lets the index order the rows.
_STATUSES = tuple(sorted(str(s) for s in PUBLIC_STATUSES))
_IN_PUBLIC = "(" + ", ".join(f"'{s}'" for s in _STATUSES) + ")"

_BASE = (
    "e.id AS id, e.status AS status, e.direction_id AS direction_id, e.headline AS headline,"
    " e.author_role AS author_role, e.author_name AS author_name, e.affiliation AS affiliation,"
    " e.byline_mode AS byline_mode, e.featured AS featured, e.published_at AS published_at,"
    " e.updated_at AS updated_at, e.printed_edition AS printed_edition,"
    " e.photo_path IS NOT NULL AS has_photo"
)
_CARD = f"{_BASE}, substr(e.body, 1, {EXCERPT_CHARS + 1}) AS body"
_FULL = f"{_BASE}, e.body AS body, e.photo_path AS photo_path"

BOARD_ORDER = "featured DESC, published_at DESC, id DESC"
_BOARD_ORDER_REVERSED = "featured, published_at, id"
RECENT_ORDER = "published_at DESC, id DESC"


@dataclass(frozen=True)
class BoardStats:
    direction_id: int
    count: int
    latest: PublicEssay | None


@dataclass(frozen=True)
class BoardPage:
    essays: list[PublicEssay]
    newer: BoardKey | None  # cursor for the page before (None on the first page)
    older: BoardKey | None  # cursor for the page after (None on the last page)


def _essay(row: aiosqlite.Row) -> PublicEssay:
    keys = row.keys()
    return PublicEssay(
        id=row["id"],
        status=row["status"],
        direction_id=row["direction_id"],
        headline=row["headline"],
        body=row["body"],
        byline_parts=BylineParts(row["affiliation"], row["author_name"], row["byline_mode"], row["author_role"]),
        featured=bool(row["featured"]),
        published_at=row["published_at"] or row["updated_at"],
        updated_at=row["updated_at"],
        printed_edition=row["printed_edition"],
        has_photo=bool(row["has_photo"]),
        photo_path=row["photo_path"] if "photo_path" in keys else None,
    )


# ---------------------------------------------------------------------------------------------
# Single essays


async def get_essay(conn: aiosqlite.Connection, essay_id: int) -> PublicEssay | None:
    """The essay if the public may read it."""
    row = await fetch_one(conn, f"SELECT {_FULL} FROM essays e WHERE e.id = ? AND e.status IN {_IN_PUBLIC}",  # noqa: S608
                          (essay_id,))
    return _essay(row) if row else None


async def essay_status(conn: aiosqlite.Connection, essay_id: int) -> str | None:
    """Only the status, to tell 'never public' (404) from 'taken down' (410) without reading text."""
    return await fetch_value(conn, "SELECT status FROM essays WHERE id = ?", (essay_id,))


async def photo_path(conn: aiosqlite.Connection, essay_id: int) -> str | None:
    return await fetch_value(
        conn, f"SELECT photo_path FROM essays WHERE id = ? AND status IN {_IN_PUBLIC}", (essay_id,)  # noqa: S608
    )


# ---------------------------------------------------------------------------------------------
# Boards


def _board_branches(columns: str, extra: str, order: str) -> str:
    """One branch per public status, each in board order and cut to LIMIT ? on its own: PostgreSQL,
    given the plain union, sorted all of a board's essays (70,000 at a million, excerpts read from
    TOAST: 0.5 s) instead of merging the branches' index order as SQLite does."""
    return " UNION ALL ".join(
        f"SELECT * FROM (SELECT {columns} FROM essays e WHERE e.direction_id = ? AND e.status = '{status}'{extra}"  # noqa: S608
        f" ORDER BY {order} LIMIT ?) AS b{i}"
        for i, status in enumerate(_STATUSES)
    )


async def board_page(
    conn: aiosqlite.Connection,
    direction_id: int,
    *,
    role: str | None = None,
    after: BoardKey | None = None,
    before: BoardKey | None = None,
    limit: int = 20,
) -> BoardPage:
    """One page of a board in board order: after ``after`` (older), or the page ending before ``before``."""
    cursor = before or after
    rows = await _board_rows(conn, direction_id, role=role, cursor=cursor, backwards=before is not None,
                             limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    if before is not None:
        rows.reverse()
    essays = [_essay(r) for r in rows]
    if not essays:
        return BoardPage([], None, None)
    has_newer = more if before is not None else after is not None
    has_older = more if before is None else True
    return BoardPage(essays, essays[0].key if has_newer else None, essays[-1].key if has_older else None)


async def _board_rows(
    conn: aiosqlite.Connection,
    direction_id: int,
    *,
    role: str | None,
    cursor: BoardKey | None,
    backwards: bool,
    limit: int,
    columns: str = _CARD,
) -> list[aiosqlite.Row]:
    extra, params = "", [direction_id]
    if role:
        extra += " AND e.author_role = ?"
        params.append(role)
    if cursor is not None:
        extra += f" AND (e.featured, e.published_at, e.id) {'>' if backwards else '<'} (?, ?, ?)"
        params += [cursor.featured, cursor.published_at, cursor.id]
    order = _BOARD_ORDER_REVERSED if backwards else BOARD_ORDER
    sql = f"{_board_branches(columns, extra, order)} ORDER BY {order} LIMIT ?"
    return await fetch_all(conn, sql, [*[*params, limit] * len(_STATUSES), limit])


async def neighbours(
    conn: aiosqlite.Connection, essay: PublicEssay
) -> tuple[PublicEssay | None, PublicEssay | None]:
    """(previous, next) within the essay's board, in board order."""
    found = []
    for backwards in (True, False):
        rows = await _board_rows(conn, essay.direction_id, role=None, cursor=essay.key, backwards=backwards,
                                 limit=1)
        found.append(_essay(rows[0]) if rows else None)
    return found[0], found[1]


async def board_count(conn: aiosqlite.Connection, direction_id: int, role: str | None = None) -> int:
    sql = f"SELECT count(*) FROM essays WHERE direction_id = ? AND status IN {_IN_PUBLIC}"  # noqa: S608
    params: list[object] = [direction_id]
    if role:
        sql += " AND author_role = ?"
        params.append(role)
    return int(await fetch_value(conn, sql, params) or 0)


async def role_counts(conn: aiosqlite.Connection, direction_id: int) -> dict[str, int]:
    rows = await fetch_all(
        conn,
        f"SELECT author_role, count(*) AS n FROM essays WHERE direction_id = ? AND status IN {_IN_PUBLIC}"  # noqa: S608
        " GROUP BY author_role",
        (direction_id,),
    )
    return {r["author_role"]: r["n"] for r in rows}


# ---------------------------------------------------------------------------------------------
# Home page

# For each board and each (status, featured) pair, the count and the newest essay: every scalar
# subquery is one seek in essays_board, so the whole home page costs one statement, not one per board.
_BOARD_STATS = f"""
WITH statuses(status) AS (VALUES {", ".join(f"('{s}')" for s in _STATUSES)}),
     flags(featured) AS (VALUES (0), (1)),
     tops AS (
       SELECT d.id AS direction_id,
         (SELECT count(*) FROM essays x WHERE x.direction_id = d.id AND x.status = s.status
            AND x.featured = f.featured) AS n,
         (SELECT x.id FROM essays x WHERE x.direction_id = d.id AND x.status = s.status
            AND x.featured = f.featured ORDER BY x.published_at DESC, x.id DESC LIMIT 1) AS top_id
       FROM directions d, statuses s, flags f)
SELECT t.direction_id AS board, t.n AS n, {_CARD}
FROM tops t LEFT JOIN essays e ON e.id = t.top_id
"""  # noqa: S608


async def board_stats(conn: aiosqlite.Connection) -> dict[int, BoardStats]:
    """Published count and newest essay of every board, keyed by direction id."""
    counts: dict[int, int] = {}
    latest: dict[int, PublicEssay] = {}
    for row in await fetch_all(conn, _BOARD_STATS):
        board = row["board"]
        counts[board] = counts.get(board, 0) + row["n"]
        if row["id"] is not None:
            essay = _essay(row)
            current = latest.get(board)
            if current is None or (essay.published_at, essay.id) > (current.published_at, current.id):
                latest[board] = essay
    return {board: BoardStats(board, n, latest.get(board)) for board, n in counts.items()}


async def recent(
    conn: aiosqlite.Connection, *, direction_id: int | None = None, limit: int = 20, full: bool = False
) -> list[PublicEssay]:
    """The newest public essays (site-wide or one board), newest first: the home page and the feeds."""
    columns = _FULL if full else _CARD
    if direction_id is None:
        branches = [f"SELECT {columns} FROM essays e WHERE e.status = '{s}'" for s in _STATUSES]  # noqa: S608
        branch_params: list[object] = []
    else:
        # featured sits between direction_id/status and published_at in essays_board: one branch per value.
        branches = [
            f"SELECT {columns} FROM essays e WHERE e.direction_id = ? AND e.status = '{s}' AND e.featured = {f}"  # noqa: S608
            for s in _STATUSES
            for f in (0, 1)
        ]
        branch_params = [direction_id]
    # Each branch takes its own newest first, so either database merges a few rows per branch. Left
    # to PostgreSQL, the union was sorted whole: 850,000 rows, each excerpt read from TOAST (2 s at
    # a million essays).
    limited = [
        f"SELECT * FROM ({branch} ORDER BY e.published_at DESC, e.id DESC LIMIT ?) AS b{i}"  # noqa: S608
        for i, branch in enumerate(branches)
    ]
    sql = f"{' UNION ALL '.join(limited)} ORDER BY {RECENT_ORDER} LIMIT ?"
    params = [value for _ in branches for value in (*branch_params, limit)]
    return [_essay(r) for r in await fetch_all(conn, sql, [*params, limit])]


async def featured(conn: aiosqlite.Connection, limit: int = 4) -> list[PublicEssay]:
    """Featured essays, newest first. Few essays are featured, so sorting their keys is cheap; the
    cards are read for the page only (sorted with their excerpts, 17,000 featured essays of a million
    took 150 ms on PostgreSQL, each excerpt read from TOAST)."""
    rows = await fetch_all(
        conn,
        f"SELECT {_CARD} FROM essays e WHERE e.id IN (SELECT x.id FROM essays x"  # noqa: S608
        f" WHERE x.direction_id IN (SELECT id FROM directions) AND x.status IN {_IN_PUBLIC} AND x.featured = 1"
        " ORDER BY x.published_at DESC, x.id DESC LIMIT ?)"
        f" ORDER BY {RECENT_ORDER}",
        (limit,),
    )
    return [_essay(r) for r in rows]


# ---------------------------------------------------------------------------------------------
# Sitemap


@dataclass(frozen=True)
class SitemapEntry:
    id: int
    updated_at: str


async def public_count(conn: aiosqlite.Connection) -> int:
    return int(await fetch_value(conn, f"SELECT count(*) FROM essays WHERE status IN {_IN_PUBLIC}") or 0)  # noqa: S608


async def sitemap_chunk(conn: aiosqlite.Connection, after_id: int, limit: int) -> list[SitemapEntry]:
    """Public essays by id after ``after_id`` (keyset, so a chunk costs its size, not its position)."""
    rows = await fetch_all(
        conn,
        f"SELECT id, updated_at FROM essays WHERE id > ? AND status IN {_IN_PUBLIC} ORDER BY id LIMIT ?",  # noqa: S608
        (after_id, limit),
    )
    return [SitemapEntry(r["id"], r["updated_at"]) for r in rows]


async def sitemap_boundaries(conn: aiosqlite.Connection, size: int) -> list[int]:
    """The id each sitemap chunk starts after: 0, then the last id of every full chunk."""
    rows = await fetch_all(
        conn,
        f"SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM essays"  # noqa: S608
        f" WHERE status IN {_IN_PUBLIC}) AS numbered WHERE n % ? = 0 ORDER BY id",
        (size,),
    )
    return [0, *(r["id"] for r in rows)]


# ---------------------------------------------------------------------------------------------
# The public content version (migrations/0009): bumped by triggers with every write a public page shows


def content_version(conn: sqlite3.Connection) -> int | None:
    """Synchronous, for the page cache's check on every request (``Database.peek()``); None if unknown."""
    row = conn.execute("SELECT version FROM list_versions WHERE name = 'public_content'").fetchone()
    return None if row is None else int(row[0])


# ---------------------------------------------------------------------------------------------
# What changed: the JSON API's feed for clients that keep a copy (migrations/0024, essays_changes)


@dataclass(frozen=True)
class ChangedEssay:
    id: int
    updated_at: str
    essay: PublicEssay | None  # None: no longer public (taken down, withdrawn, erased)


async def changed_since(conn: aiosqlite.Connection, updated_at: str, essay_id: int, limit: int) -> list[ChangedEssay]:
    """Essays that are or were public, changed after (updated_at, id), oldest change first."""
    rows = await fetch_all(
        conn,
        f"SELECT {_CARD} FROM essays e WHERE e.published_at IS NOT NULL"  # noqa: S608
        " AND (e.updated_at, e.id) > (?, ?) ORDER BY e.updated_at, e.id LIMIT ?",
        (updated_at, essay_id, limit),
    )
    return [ChangedEssay(r["id"], r["updated_at"], _essay(r) if r["status"] in _STATUSES else None) for r in rows]
async def read_content_version(conn: aiosqlite.Connection) -> int | None:
    """:func:`content_version` on an async connection (PostgreSQL, which has no synchronous peek)."""
    row = await fetch_one(conn, "SELECT version FROM list_versions WHERE name = 'public_content'")
    return None if row is None else int(row[0])
