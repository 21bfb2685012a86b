"""Print pages, slots, print versions, verification, sign-off requests and their records."""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from citizenvoice.store import fetch_all, fetch_one, fetch_value, insert, utcnow
from citizenvoice.store.essays import Essay, essay_from_row


@dataclass(frozen=True)
class PrintPage:
    id: int
    paper: str
    pub_date: str
    page_label: str
    column_title: str
    slots: int
    slot_budget: int
    lead: str
    credits: str
    byline_style: str
    state: str
    version: int
    created_at: str
    printed_at: str | None
    essay_count: int = 0
    slogan: str = ""


@dataclass(frozen=True)
class PrintVersion:
    id: int
    number: int
    headline: str
    byline: str
    body: str
    char_count: int
    created_by_name: str | None
    created_at: str


@dataclass(frozen=True)
class Signoff:
    id: int
    print_version_id: int
    version_number: int
    requested_at: str
    answer: str | None
    answer_note: str
    answered_at: str | None


@dataclass(frozen=True)
class Slot:
    essay: Essay
    position: int
    verified_at: str | None
    verified_by_name: str | None
    verify_note: str


@dataclass(frozen=True)
class PageEvent:
    action: str
    actor_name: str | None
    essay_id: int | None
    reason: str
    created_at: str


_PAGE_COLUMNS = (
    "p.id, p.paper, p.pub_date, p.page_label, p.column_title, p.slots, p.slot_budget, p.lead, p.credits,"
    " p.byline_style, p.state, p.version, p.created_at, p.printed_at, p.slogan,"
    " (SELECT count(*) FROM print_slots s WHERE s.page_id = p.id) AS essay_count"
)
_ESSAY_SELECT = (
    "SELECT e.*, d.slug AS direction_slug, d.name AS direction_name"
    " FROM essays e JOIN directions d ON d.id = e.direction_id"
)


async def create_page(conn: aiosqlite.Connection, fields: dict[str, object], user_id: int) -> int:
    now = utcnow()
    page_id = await insert(
        conn,
        "INSERT INTO print_pages (paper, pub_date, page_label, column_title, slots, slot_budget, lead, credits,"
        " byline_style, slogan, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            fields["paper"], fields["pub_date"], fields["page_label"], fields["column_title"], fields["slots"],
            fields["slot_budget"], fields["lead"], fields["credits"], fields["byline_style"],
            fields.get("slogan", ""), user_id, now, now,
        ),
    )
    await add_page_event(conn, page_id, "create", user_id)
    return page_id


_UPDATABLE_PAGE_COLUMNS = frozenset(
    {"paper", "pub_date", "page_label", "column_title", "slots", "slot_budget", "lead", "credits", "byline_style",
     "state", "printed_at", "slogan"}
)


async def update_page(conn: aiosqlite.Connection, page_id: int, **changes: object) -> None:
    unknown = set(changes) - _UPDATABLE_PAGE_COLUMNS
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    assignments = ", ".join(f"{column} = ?" for column in changes)
    await conn.execute(
        f"UPDATE print_pages SET {assignments}, updated_at = ?, version = version + 1 WHERE id = ?",
        (*changes.values(), utcnow(), page_id),
    )


async def get_page(conn: aiosqlite.Connection, page_id: int) -> PrintPage | None:
    row = await fetch_one(
        conn, f"SELECT {_PAGE_COLUMNS} FROM print_pages p WHERE p.id = ? AND p.deleted_at IS NULL", (page_id,)
    )
    return PrintPage(**dict(row)) if row else None


async def list_pages(conn: aiosqlite.Connection, *, limit: int, offset: int) -> list[PrintPage]:
    rows = await fetch_all(
        conn,
        f"SELECT {_PAGE_COLUMNS} FROM print_pages p WHERE p.deleted_at IS NULL ORDER BY p.pub_date DESC, p.id DESC LIMIT ? OFFSET ?",
        (limit, offset),
    )
    return [PrintPage(**dict(r)) for r in rows]


async def count_pages(conn: aiosqlite.Connection) -> int:
    return int(await fetch_value(conn, "SELECT count(*) FROM print_pages WHERE deleted_at IS NULL") or 0)


async def list_slots(conn: aiosqlite.Connection, page_id: int) -> list[Slot]:
    rows = await fetch_all(
        conn,
        f"SELECT s.position AS slot_position, av.created_at AS slot_verified_at, av.note AS slot_note,"
        f" u.username AS slot_verified_by, x.* FROM print_slots s"
        f" JOIN ({_ESSAY_SELECT}) x ON x.id = s.essay_id"
        f" LEFT JOIN author_verifications av ON av.id = (SELECT max(id) FROM author_verifications a"
        f" WHERE a.essay_id = s.essay_id)"
        f" LEFT JOIN users u ON u.id = av.user_id"
        f" WHERE s.page_id = ? ORDER BY s.position, s.essay_id",
        (page_id,),
    )
    return [
        Slot(essay_from_row(r), r["slot_position"], r["slot_verified_at"], r["slot_verified_by"], r["slot_note"] or "")
        for r in rows
    ]


async def page_of_essay(conn: aiosqlite.Connection, essay_id: int) -> int | None:
    return await fetch_value(conn, "SELECT page_id FROM print_slots WHERE essay_id = ?", (essay_id,))


async def place_essay(conn: aiosqlite.Connection, page_id: int, essay_id: int) -> None:
    position = await fetch_value(
        conn, "SELECT coalesce(max(position), 0) + 1 FROM print_slots WHERE page_id = ?", (page_id,)
    )
    await conn.execute(
        "INSERT INTO print_slots (page_id, essay_id, position) VALUES (?, ?, ?)", (page_id, essay_id, position)
    )


async def delete_page(conn: aiosqlite.Connection, page_id: int, user_id: int) -> None:
    """Hide a draft page and free its essays; the row stays for its append-only records."""
    now = utcnow()
    await conn.execute("DELETE FROM print_slots WHERE page_id = ?", (page_id,))
    await conn.execute(
        "UPDATE print_pages SET deleted_at = ?, deleted_by = ?, updated_at = ?, version = version + 1 WHERE id = ?",
        (now, user_id, now, page_id),
    )


@dataclass(frozen=True)
class DeletedPage:
    id: int
    pub_date: str
    page_label: str
    column_title: str
    deleted_at: str
    deleted_by_name: str | None


async def deleted_pages(conn: aiosqlite.Connection, *, limit: int = 10) -> list[DeletedPage]:
    rows = await fetch_all(
        conn,
        "SELECT p.id, p.pub_date, p.page_label, p.column_title, p.deleted_at, u.username AS deleted_by_name"
        " FROM print_pages p LEFT JOIN users u ON u.id = p.deleted_by"
        " WHERE p.deleted_at IS NOT NULL ORDER BY p.deleted_at DESC, p.id DESC LIMIT ?",
        (limit,),
    )
    return [DeletedPage(**dict(r)) for r in rows]


async def remove_essay(conn: aiosqlite.Connection, page_id: int, essay_id: int) -> None:
    await conn.execute("DELETE FROM print_slots WHERE page_id = ? AND essay_id = ?", (page_id, essay_id))


async def set_positions(conn: aiosqlite.Connection, page_id: int, ordered_essay_ids: list[int]) -> None:
    await conn.executemany(
        "UPDATE print_slots SET position = ? WHERE page_id = ? AND essay_id = ?",
        [(index + 1, page_id, essay_id) for index, essay_id in enumerate(ordered_essay_ids)],
    )


async def record_verification(conn: aiosqlite.Connection, essay_id: int, user_id: int, note: str) -> None:
    await conn.execute(
        "INSERT INTO author_verifications (essay_id, user_id, note, created_at) VALUES (?, ?, ?, ?)",
        (essay_id, user_id, note, utcnow()),
    )


async def add_print_version(
    conn: aiosqlite.Connection, page_id: int, essay_id: int, headline: str, byline: str, body: str,
    char_count: int, user_id: int | None,
) -> int:
    return await insert(
        conn,
        "INSERT INTO print_versions (page_id, essay_id, number, headline, byline, body, char_count, created_by,"
        " created_at) VALUES (?, ?, (SELECT coalesce(max(number), 0) + 1 FROM print_versions"
        " WHERE page_id = ? AND essay_id = ?), ?, ?, ?, ?, ?, ?)",
        (page_id, essay_id, page_id, essay_id, headline, byline, body, char_count, user_id, utcnow()),
    )


async def print_versions(conn: aiosqlite.Connection, page_id: int, essay_id: int) -> list[PrintVersion]:
    rows = await fetch_all(
        conn,
        "SELECT v.id, v.number, v.headline, v.byline, v.body, v.char_count, u.username AS created_by_name,"
        " v.created_at FROM print_versions v LEFT JOIN users u ON u.id = v.created_by"
        " WHERE v.page_id = ? AND v.essay_id = ? ORDER BY v.number",
        (page_id, essay_id),
    )
    return [PrintVersion(**dict(r)) for r in rows]


async def latest_versions(conn: aiosqlite.Connection, page_id: int) -> dict[int, PrintVersion]:
    rows = await fetch_all(
        conn,
        "SELECT v.essay_id, v.id, v.number, v.headline, v.byline, v.body, v.char_count,"
        " u.username AS created_by_name, v.created_at FROM print_versions v"
        " LEFT JOIN users u ON u.id = v.created_by"
        " WHERE v.page_id = ? AND v.number = (SELECT max(number) FROM print_versions w"
        " WHERE w.page_id = v.page_id AND w.essay_id = v.essay_id)",
        (page_id,),
    )
    return {r["essay_id"]: PrintVersion(**{k: r[k] for k in r.keys() if k != "essay_id"}) for r in rows}


async def request_signoff(conn: aiosqlite.Connection, page_id: int, essay_id: int, version_id: int, user_id: int) -> int:
    return await insert(
        conn,
        "INSERT INTO signoff_requests (page_id, essay_id, print_version_id, requested_by, requested_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (page_id, essay_id, version_id, user_id, utcnow()),
    )


_SIGNOFF_SELECT = (
    "SELECT r.id, r.print_version_id, v.number AS version_number, r.requested_at, r.answer, r.answer_note,"
    " r.answered_at FROM signoff_requests r JOIN print_versions v ON v.id = r.print_version_id"
)


async def latest_signoff(conn: aiosqlite.Connection, essay_id: int, page_id: int | None = None) -> Signoff | None:
    # a deleted draft's requests are void: the author is no longer asked
    where = "r.essay_id = ? AND r.page_id IN (SELECT id FROM print_pages WHERE deleted_at IS NULL)"
    params: list[object] = [essay_id]
    if page_id is not None:
        where, params = where + " AND r.page_id = ?", [*params, page_id]
    row = await fetch_one(conn, f"{_SIGNOFF_SELECT} WHERE {where} ORDER BY r.id DESC LIMIT 1", params)
    return Signoff(**dict(row)) if row else None


async def answer_signoff(conn: aiosqlite.Connection, signoff_id: int, answer: str, note: str) -> bool:
    async with conn.execute(
        "UPDATE signoff_requests SET answer = ?, answer_note = ?, answered_at = ? WHERE id = ? AND answer IS NULL",
        (answer, note, utcnow(), signoff_id),
    ) as cur:
        return cur.rowcount == 1


async def get_print_version(conn: aiosqlite.Connection, version_id: int) -> PrintVersion | None:
    row = await fetch_one(
        conn,
        "SELECT v.id, v.number, v.headline, v.byline, v.body, v.char_count, NULL AS created_by_name, v.created_at"
        " FROM print_versions v WHERE v.id = ?",
        (version_id,),
    )
    return PrintVersion(**dict(row)) if row else None


async def add_page_event(
    conn: aiosqlite.Connection, page_id: int, action: str, user_id: int | None, *, essay_id: int | None = None,
    reason: str = "",
) -> None:
    await conn.execute(
        "INSERT INTO page_events (page_id, action, actor_id, essay_id, reason, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        (page_id, action, user_id, essay_id, reason, utcnow()),
    )


async def page_events(conn: aiosqlite.Connection, page_id: int) -> list[PageEvent]:
    rows = await fetch_all(
        conn,
        "SELECT ev.action, u.username AS actor_name, ev.essay_id, ev.reason, ev.created_at FROM page_events ev"
        " LEFT JOIN users u ON u.id = ev.actor_id WHERE ev.page_id = ? ORDER BY ev.id",
        (page_id,),
    )
    return [PageEvent(**dict(r)) for r in rows]


async def record_phone_view(conn: aiosqlite.Connection, essay_id: int, user_id: int) -> None:
    await conn.execute(
        "INSERT INTO phone_views (essay_id, user_id, viewed_at) VALUES (?, ?, ?)", (essay_id, user_id, utcnow())
    )


async def phone_views(conn: aiosqlite.Connection, essay_id: int) -> list[tuple[str, str]]:
    rows = await fetch_all(
        conn,
        "SELECT u.username, p.viewed_at FROM phone_views p JOIN users u ON u.id = p.user_id"
        " WHERE p.essay_id = ? ORDER BY p.id",
        (essay_id,),
    )
    return [(r["username"], r["viewed_at"]) for r in rows]


@dataclass(frozen=True)
class CandidateFilter:
    direction: str = ""
    author_role: str = ""
    min_chars: int | None = None
    max_chars: int | None = None
    has_photo: bool | None = None
    verified: bool | None = None


async def candidates(
    conn: aiosqlite.Connection, filters: CandidateFilter, *, limit: int, offset: int
) -> tuple[list[Essay], int]:
    """Published essays whose authors consented to print and that are on no page yet."""
    where = ["e.status = 'published'", "e.consent_print = 1",
             "NOT EXISTS (SELECT 1 FROM print_slots s WHERE s.essay_id = e.id)"]
    params: list[object] = []
    if filters.direction:
        where.append("d.slug = ?")
        params.append(filters.direction)
    if filters.author_role:
        where.append("e.author_role = ?")
        params.append(filters.author_role)
    if filters.min_chars is not None:
        where.append("length(e.body) >= ?")
        params.append(filters.min_chars)
    if filters.max_chars is not None:
        where.append("length(e.body) <= ?")
        params.append(filters.max_chars)
    if filters.has_photo is not None:
        where.append("e.photo_path IS NOT NULL" if filters.has_photo else "e.photo_path IS NULL")
    if filters.verified is not None:
        where.append(
            ("" if filters.verified else "NOT ") + "EXISTS (SELECT 1 FROM author_verifications v WHERE v.essay_id = e.id)"
        )
    clause = " AND ".join(where)
    total = await fetch_value(
        conn, f"SELECT count(*) FROM essays e JOIN directions d ON d.id = e.direction_id WHERE {clause}", params
    )
    rows = await fetch_all(
        conn,
        f"{_ESSAY_SELECT} WHERE {clause} ORDER BY e.published_at DESC, e.id DESC LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    return [essay_from_row(r) for r in rows], int(total or 0)
