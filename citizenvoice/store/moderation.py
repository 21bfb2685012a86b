"""The moderation queue and what moderators see beside an essay: flags, duplicates, claims, the author's
other submissions. Status changes themselves go through citizenvoice.domain.lifecycle.

The queue is ordered (high_risk DESC, submitted_at, id) and paged by keyset on exactly that key, so
page 200 costs what page 1 costs. ``high_risk`` has two values, so a page is read as (at most) two
index range scans of ``essays_status_submitted``: the high-risk group after the cursor, then the
normal group. Each is an equality on (status, high_risk) plus a row-value range on (submitted_at,
id), which SQLite answers with a seek instead of walking the rows before the cursor.

Queries here are assembled only from fixed SQL fragments and ``?`` placeholders (hence the S608
waivers); every value, search terms included, is a parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import aiosqlite

from citizenvoice.store import fetch_all, fetch_one, fetch_value, insert
from citizenvoice.text import numbers

PAGE_SIZE = 30
SEARCH_MAX = 40  # characters of a queue search term
EXCERPT_CHARS = 90
_USER_LABEL = "coalesce(nullif(u.display_name, ''), u.username)"


# ---------------------------------------------------------------------------------------------------
# The queue


@dataclass(frozen=True)
class QueueFilters:
    status: str = "pending"
    direction_id: int | None = None
    author_role: str = ""
    flag: str = ""  # a flag kind, or "duplicate"
    has_photo: bool = False
    search: str = ""
    # (user id, unix time): leave out essays someone else holds a live claim on ("next item").
    available_to: tuple[int, float] | None = None
    # Pending essays of review stages (lowest, highest); highest None = that stage and above (the final
    # level's queue also holds essays left above it by a lowered setting). None = every stage.
    stages: tuple[int, int | None] | None = None


@dataclass(frozen=True, order=True)
class Cursor:
    """The sort key of the last row of a page: (high_risk, submitted_at, id)."""

    high_risk: int
    submitted_at: str
    id: int

    def encode(self) -> str:
        return f"{self.high_risk}~{self.submitted_at}~{self.id}"

    @classmethod
    def decode(cls, raw: str) -> Cursor | None:
        parts = raw.split("~")
        last_id = numbers.parse_int(parts[2], low=1) if len(parts) == 3 else None
        if last_id is None or parts[0] not in ("0", "1") or len(parts[1]) > 40:
            return None
        return cls(int(parts[0]), parts[1], last_id)


@dataclass(frozen=True)
class QueueItem:
    id: int
    version: int
    status: str
    headline: str
    excerpt: str
    direction_name: str
    author_role: str
    high_risk: bool
    submitted_at: str
    has_photo: bool
    revisions: int

    @property
    def cursor(self) -> Cursor:
        return Cursor(int(self.high_risk), self.submitted_at, self.id)


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filter_sql(filters: QueueFilters) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    if filters.direction_id is not None:
        where.append("e.direction_id = ?")
        params.append(filters.direction_id)
    if filters.author_role:
        where.append("e.author_role = ?")
        params.append(filters.author_role)
    if filters.has_photo:
        where.append("e.photo_path IS NOT NULL")
    if filters.flag == "duplicate":
        where.append(
            "(EXISTS (SELECT 1 FROM essay_duplicates x WHERE x.essay_id = e.id)"
            " OR EXISTS (SELECT 1 FROM essay_duplicates x WHERE x.other_id = e.id))"
        )
    elif filters.flag:
        where.append("EXISTS (SELECT 1 FROM essay_flags f WHERE f.essay_id = e.id AND f.kind = ?)")
        params.append(filters.flag)
    if filters.search:
        # Bounded: only the rows of one status (the pending queue), and the term is short.
        where.append("(e.headline LIKE ? ESCAPE '\\' OR e.body LIKE ? ESCAPE '\\')")
        params += [_like(filters.search[:SEARCH_MAX])] * 2
    if filters.stages is not None:
        low, high = filters.stages
        where.append("e.review_stage >= ?")
        params.append(low)
        if high is not None:
            where.append("e.review_stage <= ?")
            params.append(high)
    if filters.available_to is not None:
        where.append(
            "NOT EXISTS (SELECT 1 FROM essay_claims c WHERE c.essay_id = e.id AND c.user_id <> ? AND c.expires_at > ?)"
        )
        params += list(filters.available_to)
    return where, params


def queue_sql(filters: QueueFilters, high_risk: int, after: Cursor | None, limit: int) -> tuple[str, list[Any]]:
    """One risk group of the queue after ``after``. Public so tests can EXPLAIN the exact query."""
    where = ["e.status = ?", "e.high_risk = ?"]
    params: list[Any] = [filters.status, high_risk]
    if after is not None and after.high_risk == high_risk:
        where.append("(e.submitted_at, e.id) > (?, ?)")
        params += [after.submitted_at, after.id]
    extra, extra_params = _filter_sql(filters)
    sql = (
        "SELECT e.id, e.version, e.status, e.headline, substr(e.body, 1, ?) AS excerpt,"  # noqa: S608
        " d.name AS direction_name, e.author_role, e.high_risk, e.submitted_at,"
        " e.photo_path IS NOT NULL AS has_photo,"
        " (SELECT count(*) FROM essay_revisions r WHERE r.essay_id = e.id) AS revisions"
        " FROM essays e JOIN directions d ON d.id = e.direction_id"
        f" WHERE {' AND '.join(where + extra)}"
        " ORDER BY e.submitted_at, e.id LIMIT ?"
    )
    return sql, [EXCERPT_CHARS, *params, *extra_params, limit]


def _item(row: aiosqlite.Row) -> QueueItem:
    values = dict(row)
    values["high_risk"] = bool(values["high_risk"])
    values["has_photo"] = bool(values["has_photo"])
    return QueueItem(**values)


async def queue_page(
    conn: aiosqlite.Connection, filters: QueueFilters, *, after: Cursor | None = None, limit: int = PAGE_SIZE
) -> list[QueueItem]:
    """Up to ``limit`` items after the cursor: high-risk first, then oldest first."""
    items: list[QueueItem] = []
    for group in (1, 0):
        if after is not None and after.high_risk < group:
            continue  # the cursor is already past this group
        sql, params = queue_sql(filters, group, after, limit - len(items))
        items += [_item(r) for r in await fetch_all(conn, sql, params)]
        if len(items) >= limit:
            break
    return items


async def count_queue(conn: aiosqlite.Connection, filters: QueueFilters) -> int:
    if replace(filters, status=QueueFilters.status, stages=None) == QueueFilters():  # no filter but these two
        return await _counted(conn, filters.status, filters.stages)
    extra, params = _filter_sql(filters)
    where = " AND ".join(["e.status = ?", *extra])
    return int(await fetch_value(conn, f"SELECT count(*) FROM essays e WHERE {where}", [filters.status, *params]))  # noqa: S608


async def _counted(conn: aiosqlite.Connection, status: str, stages: tuple[int, int | None] | None) -> int:
    """The essays of one status (and range of review stages) from essay_counts, which triggers keep."""
    low, high = stages if stages is not None else (None, None)
    return sum(n for (s, stage), n in (await _counts(conn)).items()
               if s == status and (low is None or stage >= low) and (high is None or stage <= high))  # fmt: skip


async def _counts(conn: aiosqlite.Connection) -> dict[tuple[str, int], int]:
    """Essays per (status, review stage): a few rows, where counting the essays themselves visits every
    one (migration 0035 says how the triggers keep them, and why PostgreSQL may have several rows a key)."""
    rows = await fetch_all(
        conn, "SELECT status, review_stage, sum(n) AS n FROM essay_counts GROUP BY status, review_stage"
    )
    return {(r["status"], int(r["review_stage"])): int(r["n"]) for r in rows if r["n"]}


async def counts_by_status(conn: aiosqlite.Connection) -> dict[str, int]:
    counts: dict[str, int] = {}
    for (status, _stage), n in (await _counts(conn)).items():
        counts[status] = counts.get(status, 0) + n
    return counts


async def pending_by_stage(conn: aiosqlite.Connection) -> dict[int, int]:
    return {stage: n for (status, stage), n in (await _counts(conn)).items() if status == "pending"}


async def passed_below(conn: aiosqlite.Connection, essay_id: int, user_id: int, stage: int) -> bool:
    """Whether the user passed this essay at a level below ``stage`` since it last entered the queue."""
    return bool(
        await fetch_value(
            conn,
            "SELECT count(*) FROM essay_events WHERE essay_id = ? AND action = 'pass' AND actor_id = ?"
            " AND review_stage < ? AND id > coalesce((SELECT max(id) FROM essay_events"
            "   WHERE essay_id = ? AND action IN ('submit', 'resubmit')), 0)",
            (essay_id, user_id, stage, essay_id),
        )
    )


async def queue_health(conn: aiosqlite.Connection, *, overdue_before: str) -> tuple[str | None, int]:
    """(submitted_at of the oldest pending essay, how many pending essays were submitted before the cutoff)."""
    oldest = await fetch_value(conn, "SELECT min(submitted_at) FROM essays WHERE status = 'pending'")
    overdue = await fetch_value(
        conn, "SELECT count(*) FROM essays WHERE status = 'pending' AND submitted_at < ?", (overdue_before,)
    )
    return oldest, int(overdue or 0)


async def essay_cursor(conn: aiosqlite.Connection, essay_id: int) -> Cursor | None:
    row = await fetch_one(conn, "SELECT high_risk, submitted_at, id FROM essays WHERE id = ?", (essay_id,))
    return Cursor(row["high_risk"], row["submitted_at"], row["id"]) if row else None


def _placeholders(ids: Sequence[int]) -> str:
    return ", ".join("?" for _ in ids)


async def flag_counts(conn: aiosqlite.Connection, ids: Sequence[int]) -> dict[int, dict[str, int]]:
    if not ids:
        return {}
    rows = await fetch_all(
        conn,
        f"SELECT essay_id, kind, count(*) AS n FROM essay_flags WHERE essay_id IN ({_placeholders(ids)})"  # noqa: S608
        " GROUP BY essay_id, kind",
        ids,
    )
    counts: dict[int, dict[str, int]] = {}
    for r in rows:
        counts.setdefault(r["essay_id"], {})[r["kind"]] = r["n"]
    return counts


async def duplicate_counts(conn: aiosqlite.Connection, ids: Sequence[int]) -> dict[int, int]:
    if not ids:
        return {}
    marks = _placeholders(ids)
    rows = await fetch_all(
        conn,
        f"SELECT id, count(*) AS n FROM (SELECT essay_id AS id FROM essay_duplicates WHERE essay_id IN ({marks})"  # noqa: S608
        f" UNION ALL SELECT other_id FROM essay_duplicates WHERE other_id IN ({marks})) AS links GROUP BY id",
        [*ids, *ids],
    )
    return {r["id"]: r["n"] for r in rows}


# ---------------------------------------------------------------------------------------------------
# Flags


@dataclass(frozen=True)
class StoredFlag:
    field: str
    kind: str
    term: str
    matched: str
    start_at: int
    end_at: int
    explanation: str


async def replace_flags(
    conn: aiosqlite.Connection, essay_id: int, flags: Iterable[StoredFlag], *, list_version: int, at: str
) -> None:
    await conn.execute("DELETE FROM essay_flags WHERE essay_id = ?", (essay_id,))
    await conn.executemany(
        "INSERT INTO essay_flags (essay_id, field, kind, term, matched, start_at, end_at, explanation,"
        " list_version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (essay_id, f.field, f.kind, f.term, f.matched, f.start_at, f.end_at, f.explanation, list_version, at)
            for f in flags
        ],
    )


async def list_flags(conn: aiosqlite.Connection, essay_id: int) -> list[StoredFlag]:
    rows = await fetch_all(
        conn,
        "SELECT field, kind, term, matched, start_at, end_at, explanation FROM essay_flags"
        " WHERE essay_id = ? ORDER BY field DESC, start_at, id",
        (essay_id,),
    )
    return [StoredFlag(**dict(r)) for r in rows]


async def set_high_risk(conn: aiosqlite.Connection, essay_id: int, high_risk: bool) -> None:
    # Derived from the text by screening, always in the transaction that changed the text (which
    # already bumped the version), so it does not bump the version again.
    await conn.execute("UPDATE essays SET high_risk = ? WHERE id = ?", (int(high_risk), essay_id))


# ---------------------------------------------------------------------------------------------------
# Near-duplicates


@dataclass(frozen=True)
class Candidate:
    id: int
    signature: bytes | None  # None for essays screened before signatures were stored (migration 0010)


@dataclass(frozen=True)
class DuplicateLink:
    other_id: int
    headline: str
    status: str
    similarity: float
    submitted_at: str
    author_role: str


async def replace_bands(conn: aiosqlite.Connection, essay_id: int, keys: Sequence[str], signature: bytes) -> None:
    """The essay's LSH band keys and the MinHash signature they came from (none without keys: such a
    text is never a candidate)."""
    await conn.execute("DELETE FROM essay_shingle_bands WHERE essay_id = ?", (essay_id,))
    await conn.executemany(
        "INSERT INTO essay_shingle_bands (band_key, essay_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [(key, essay_id) for key in keys],
    )
    if keys:
        await conn.execute(
            "INSERT INTO essay_minhash (essay_id, signature) VALUES (?, ?)"
            " ON CONFLICT (essay_id) DO UPDATE SET signature = excluded.signature", (essay_id, signature)
        )
    else:
        await conn.execute("DELETE FROM essay_minhash WHERE essay_id = ?", (essay_id,))


async def duplicate_candidates(
    conn: aiosqlite.Connection, essay_id: int, keys: Sequence[str], *, since: str
) -> list[Candidate]:
    """Essays submitted since ``since`` sharing at least one LSH band with these keys (text not removed),
    with their stored signatures; their texts are read only for the candidates the signature leaves open."""
    if not keys:
        return []
    rows = await fetch_all(
        conn,
        "SELECT e.id, m.signature FROM essays e LEFT JOIN essay_minhash m ON m.essay_id = e.id"  # noqa: S608
        f" WHERE e.id IN (SELECT b.essay_id FROM essay_shingle_bands b WHERE b.band_key IN ({_placeholders(keys)}))"
        " AND e.id <> ? AND e.submitted_at >= ? AND e.text_removed_at IS NULL ORDER BY e.id",
        [*keys, essay_id, since],
    )
    return [Candidate(r["id"], r["signature"]) for r in rows]


async def essay_bodies(conn: aiosqlite.Connection, ids: Sequence[int]) -> dict[int, str]:
    """id -> body, in id order."""
    if not ids:
        return {}
    rows = await fetch_all(
        conn, f"SELECT id, body FROM essays WHERE id IN ({_placeholders(ids)}) ORDER BY id", ids  # noqa: S608
    )
    return {r["id"]: r["body"] for r in rows}


async def replace_duplicates(
    conn: aiosqlite.Connection, essay_id: int, links: Iterable[tuple[int, float]], *, at: str
) -> None:
    """Forget this essay's links (either side) and store the fresh ones, the later essay first."""
    await conn.execute("DELETE FROM essay_duplicates WHERE essay_id = ? OR other_id = ?", (essay_id, essay_id))
    await conn.executemany(
        "INSERT INTO essay_duplicates (essay_id, other_id, similarity, created_at) VALUES (?, ?, ?, ?)",
        [(max(essay_id, other), min(essay_id, other), round(sim, 4), at) for other, sim in links],
    )


async def duplicates_of(conn: aiosqlite.Connection, essay_id: int) -> list[DuplicateLink]:
    rows = await fetch_all(
        conn,
        "SELECT e.id AS other_id, e.headline, e.status, x.similarity, e.submitted_at, e.author_role"
        " FROM (SELECT other_id AS id, similarity FROM essay_duplicates WHERE essay_id = ?"
        "       UNION ALL SELECT essay_id, similarity FROM essay_duplicates WHERE other_id = ?) x"
        " JOIN essays e ON e.id = x.id ORDER BY x.similarity DESC, e.id",
        (essay_id, essay_id),
    )
    return [DuplicateLink(**dict(r)) for r in rows]


# ---------------------------------------------------------------------------------------------------
# The author's other submissions


@dataclass(frozen=True)
class OtherSubmission:
    id: int
    headline: str
    status: str
    submitted_at: str


async def submissions_by_phone(
    conn: aiosqlite.Connection, phone: str | None, *, exclude: int, limit: int = 20
) -> list[OtherSubmission]:
    if not phone:
        return []
    rows = await fetch_all(
        conn,
        "SELECT id, headline, status, submitted_at FROM essays WHERE phone = ? AND id <> ?"
        " ORDER BY submitted_at DESC, id DESC LIMIT ?",
        (phone, exclude, limit),
    )
    return [OtherSubmission(**dict(r)) for r in rows]


# ---------------------------------------------------------------------------------------------------
# Claims


@dataclass(frozen=True)
class Claim:
    essay_id: int
    user_id: int
    holder: str
    claimed_at: float
    expires_at: float


_CLAIM_SELECT = (
    f"SELECT c.essay_id, c.user_id, {_USER_LABEL} AS holder, c.claimed_at, c.expires_at"  # noqa: S608
    " FROM essay_claims c JOIN users u ON u.id = c.user_id"
)


async def get_claim(conn: aiosqlite.Connection, essay_id: int) -> Claim | None:
    """The claim row, live or expired: callers compare expires_at with their clock."""
    row = await fetch_one(conn, f"{_CLAIM_SELECT} WHERE c.essay_id = ?", (essay_id,))
    return Claim(**dict(row)) if row else None


async def live_claims(conn: aiosqlite.Connection, ids: Sequence[int], *, now: float) -> dict[int, Claim]:
    if not ids:
        return {}
    rows = await fetch_all(
        conn, f"{_CLAIM_SELECT} WHERE c.essay_id IN ({_placeholders(ids)}) AND c.expires_at > ?", [*ids, now]
    )
    return {r["essay_id"]: Claim(**dict(r)) for r in rows}


async def put_claim(conn: aiosqlite.Connection, essay_id: int, user_id: int, *, now: float, expires: float) -> None:
    await conn.execute(
        "INSERT INTO essay_claims (essay_id, user_id, claimed_at, expires_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (essay_id) DO UPDATE SET user_id = excluded.user_id,"
        " claimed_at = CASE WHEN essay_claims.user_id = excluded.user_id AND essay_claims.expires_at > excluded.claimed_at"
        "   THEN essay_claims.claimed_at ELSE excluded.claimed_at END,"
        " expires_at = excluded.expires_at",
        (essay_id, user_id, now, expires),
    )


async def delete_claim(conn: aiosqlite.Connection, essay_id: int) -> None:
    await conn.execute("DELETE FROM essay_claims WHERE essay_id = ?", (essay_id,))


async def record_claim_event(
    conn: aiosqlite.Connection, essay_id: int, user_id: int, action: str, *, previous_user_id: int | None, at: str
) -> int:
    return await insert(
        conn,
        "INSERT INTO claim_events (essay_id, user_id, action, previous_user_id, created_at) VALUES (?, ?, ?, ?, ?)",
        (essay_id, user_id, action, previous_user_id, at),
    )


@dataclass(frozen=True)
class ClaimEvent:
    action: str
    user: str
    previous: str | None
    created_at: str


async def list_claim_events(conn: aiosqlite.Connection, essay_id: int) -> list[ClaimEvent]:
    rows = await fetch_all(
        conn,
        f"SELECT ce.action, {_USER_LABEL} AS user,"  # noqa: S608
        " (SELECT coalesce(nullif(p.display_name, ''), p.username) FROM users p WHERE p.id = ce.previous_user_id)"
        " AS previous, ce.created_at"
        " FROM claim_events ce JOIN users u ON u.id = ce.user_id WHERE ce.essay_id = ? ORDER BY ce.id",
        (essay_id,),
    )
    return [ClaimEvent(**dict(r)) for r in rows]


async def user_labels(conn: aiosqlite.Connection, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await fetch_all(
        conn, f"SELECT u.id, {_USER_LABEL} AS label FROM users u WHERE u.id IN ({_placeholders(wanted)})", wanted  # noqa: S608
    )
    return {r["id"]: r["label"] for r in rows}
