"""Administration data: the admin audit trail, admin writes to users, directions, rejection reasons and
site texts, and the queries behind authors' privacy rights (export, erasure, retention) and the
maintenance commands.

Every function takes an open connection so the caller decides the transaction: an admin change and
its audit row are written in the same ``db.write()`` block.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aiosqlite

from citizenvoice.store import fetch_all, fetch_one, fetch_value, insert, utcnow

# ---------------------------------------------------------------------------------------------------
# The audit trail


@dataclass(frozen=True)
class AuditEntry:
    id: int
    actor_id: int | None
    actor_name: str
    action: str
    target: str
    before: Any
    after: Any
    created_at: str


def _to_json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


async def record_audit(
    conn: aiosqlite.Connection,
    *,
    actor_id: int | None,
    actor_name: str,
    action: str,
    target: str,
    before: Any = None,
    after: Any = None,
) -> int:
    return await insert(
        conn,
        "INSERT INTO admin_audit (actor_id, actor_name, action, target, before_json, after_json, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (actor_id, actor_name, action, target, _to_json(before), _to_json(after), utcnow()),
    )


def _audit(row: aiosqlite.Row) -> AuditEntry:
    return AuditEntry(
        id=row["id"],
        actor_id=row["actor_id"],
        actor_name=row["actor_name"],
        action=row["action"],
        target=row["target"],
        before=json.loads(row["before_json"]) if row["before_json"] is not None else None,
        after=json.loads(row["after_json"]) if row["after_json"] is not None else None,
        created_at=row["created_at"],
    )


async def list_audit(conn: aiosqlite.Connection, *, limit: int, offset: int = 0) -> list[AuditEntry]:
    rows = await fetch_all(
        conn, "SELECT * FROM admin_audit ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset)
    )
    return [_audit(r) for r in rows]


async def count_audit(conn: aiosqlite.Connection) -> int:
    return int(await fetch_value(conn, "SELECT count(*) FROM admin_audit") or 0)


# ---------------------------------------------------------------------------------------------------
# Users (what store/users.py does not already offer)


async def count_active_admins(conn: aiosqlite.Connection, *, excluding: int | None = None) -> int:
    return int(
        await fetch_value(
            conn,
            "SELECT count(*) FROM users u JOIN user_roles r ON r.user_id = u.id"
            " WHERE r.role = 'admin' AND u.disabled = 0 AND u.id IS DISTINCT FROM ?",
            (excluding,),
        )
        or 0
    )


async def set_display_name(conn: aiosqlite.Connection, user_id: int, display_name: str) -> None:
    await conn.execute("UPDATE users SET display_name = ? WHERE id = ?", (display_name, user_id))


async def end_sessions(conn: aiosqlite.Connection, user_id: int) -> None:
    # A role change takes effect on the next request anyway; ending the sessions also signs the user
    # out, so a removed role cannot linger in an open tab.
    await conn.execute("UPDATE users SET session_epoch = session_epoch + 1 WHERE id = ?", (user_id,))
    await conn.execute("DELETE FROM staff_sessions WHERE user_id = ?", (user_id,))


# ---------------------------------------------------------------------------------------------------
# Directions (boards)


async def direction_slug_taken(conn: aiosqlite.Connection, slug: str) -> bool:
    return await fetch_one(conn, "SELECT 1 FROM directions WHERE slug = ?", (slug,)) is not None


async def next_direction_position(conn: aiosqlite.Connection, pillar: str) -> int:
    last = await fetch_value(conn, "SELECT max(position) FROM directions WHERE pillar = ?", (pillar,))
    if last is None:
        last = await fetch_value(conn, "SELECT coalesce(max(position), 0) FROM directions")
    return int(last) + 10


async def insert_direction(
    conn: aiosqlite.Connection, *, slug: str, name: str, description: str, pillar: str
) -> int:
    position = await next_direction_position(conn, pillar)
    return await insert(
        conn,
        "INSERT INTO directions (slug, name, description, pillar, position) VALUES (?, ?, ?, ?, ?)",
        (slug, name, description, pillar, position),
    )


async def update_direction(
    conn: aiosqlite.Connection, direction_id: int, *, name: str, description: str, pillar: str, moved: bool
) -> None:
    # A board moved to another pillar goes to the end of that pillar's list.
    position = await next_direction_position(conn, pillar) if moved else None
    await conn.execute(
        "UPDATE directions SET name = ?, description = ?, pillar = ?, position = coalesce(?, position)"
        " WHERE id = ?",
        (name, description, pillar, position, direction_id),
    )


async def set_direction_archived(conn: aiosqlite.Connection, direction_id: int, archived: bool) -> None:
    await conn.execute("UPDATE directions SET archived = ? WHERE id = ?", (int(archived), direction_id))


async def set_direction_positions(conn: aiosqlite.Connection, positions: dict[int, int]) -> None:
    await conn.executemany(
        "UPDATE directions SET position = ? WHERE id = ?", [(pos, did) for did, pos in positions.items()]
    )


async def essay_counts_by_direction(conn: aiosqlite.Connection) -> dict[int, int]:
    rows = await fetch_all(conn, "SELECT direction_id, count(*) AS n FROM essays GROUP BY direction_id")
    return {r["direction_id"]: r["n"] for r in rows}


# ---------------------------------------------------------------------------------------------------
# Rejection reasons


async def get_reason(conn: aiosqlite.Connection, reason_id: int) -> dict[str, Any] | None:
    row = await fetch_one(
        conn, "SELECT id, label, position, active, kind FROM rejection_reasons WHERE id = ?", (reason_id,)
    )
    return None if row is None else {**dict(row), "active": bool(row["active"])}


async def reason_label_taken(conn: aiosqlite.Connection, label: str, *, excluding: int | None = None) -> bool:
    row = await fetch_one(
        conn, "SELECT 1 FROM rejection_reasons WHERE label = ? AND id IS DISTINCT FROM ?", (label, excluding)
    )
    return row is not None


async def insert_reason(conn: aiosqlite.Connection, label: str, kind: str = "reject") -> int:
    position = (
        int(await fetch_value(conn, "SELECT coalesce(max(position), 0) FROM rejection_reasons") or 0) + 10
    )
    return await insert(
        conn, "INSERT INTO rejection_reasons (label, position, kind) VALUES (?, ?, ?)", (label, position, kind)
    )


async def update_reason(
    conn: aiosqlite.Connection, reason_id: int, *, label: str, position: int, active: bool
) -> None:
    await conn.execute(
        "UPDATE rejection_reasons SET label = ?, position = ?, active = ? WHERE id = ?",
        (label, position, int(active), reason_id),
    )


# ---------------------------------------------------------------------------------------------------
# Site texts


async def site_settings_version(conn: aiosqlite.Connection) -> int:
    return int(await fetch_value(conn, "SELECT version FROM list_versions WHERE name = 'site_settings'") or 0)


async def load_site_settings(conn: aiosqlite.Connection) -> dict[str, str]:
    rows = await fetch_all(conn, "SELECT key, value FROM site_settings")
    return {r["key"]: r["value"] for r in rows}


async def save_site_settings(conn: aiosqlite.Connection, overrides: dict[str, str | None]) -> None:
    """Set (or, for None, drop back to the default) each key, and tell every worker to reload."""
    now = utcnow()
    for key, value in overrides.items():
        if value is None:
            await conn.execute("DELETE FROM site_settings WHERE key = ?", (key,))
        else:
            await conn.execute(
                "INSERT INTO site_settings (key, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, value, now),
            )
    await conn.execute("UPDATE list_versions SET version = version + 1 WHERE name = 'site_settings'")


# ---------------------------------------------------------------------------------------------------
# Authors' rights: export and erasure

# The author's copy of their data (domain/privacy.py decides what goes in it). Each query names its
# columns: a column added to a table later is not selected, so it cannot reach the author by default.


async def essay_export_row(conn: aiosqlite.Connection, essay_id: int) -> dict[str, Any] | None:
    row = await fetch_one(
        conn,
        "SELECT e.id, e.tracking_code, e.status, d.name AS direction_name, e.headline, e.body, e.author_role,"
        " e.author_name, e.affiliation, e.byline_mode, e.phone, e.email, e.photo_path, e.consent_print,"
        " e.submitted_at, e.published_at, e.printed_edition, e.personal_data_erased_at, e.text_removed_at"
        " FROM essays e JOIN directions d ON d.id = e.direction_id WHERE e.id = ?",
        (essay_id,),
    )
    return None if row is None else dict(row)


async def revision_export_rows(conn: aiosqlite.Connection, essay_id: int) -> list[dict[str, Any]]:
    rows = await fetch_all(
        conn,
        "SELECT number, headline, body, actor_kind, created_at FROM essay_revisions"
        " WHERE essay_id = ? ORDER BY number",
        (essay_id,),
    )
    return [dict(r) for r in rows]


async def event_export_rows(conn: aiosqlite.Connection, essay_id: int) -> list[dict[str, Any]]:
    # reason and note are selected for the domain to keep only the ones addressed to the author.
    rows = await fetch_all(
        conn,
        "SELECT action, from_status, to_status, actor_kind, reason, note, created_at FROM essay_events"
        " WHERE essay_id = ? ORDER BY id",
        (essay_id,),
    )
    return [dict(r) for r in rows]


async def signoff_export_rows(conn: aiosqlite.Connection, essay_id: int) -> list[dict[str, Any]]:
    """Each request to confirm the print version, with the text the author was shown and their answer."""
    rows = await fetch_all(
        conn,
        "SELECT r.requested_at, v.headline, v.byline, v.body, r.answer, r.answer_note, r.answered_at"
        " FROM signoff_requests r JOIN print_versions v ON v.id = r.print_version_id"
        " WHERE r.essay_id = ? ORDER BY r.id",
        (essay_id,),
    )
    return [dict(r) for r in rows]


async def compiled_export_row(conn: aiosqlite.Connection, essay_id: int) -> dict[str, Any] | None:
    """How a reporter gathered the essay, without the reporter (staff are the newsroom to the author)."""
    row = await fetch_one(
        conn, "SELECT source, consent_note, entered_at FROM compiled_essays WHERE essay_id = ?", (essay_id,)
    )
    return dict(row) if row else None


async def erasure_rows(conn: aiosqlite.Connection, essay_id: int) -> list[dict[str, Any]]:
    rows = await fetch_all(
        conn,
        "SELECT source, keep_text, created_at FROM erasure_requests WHERE essay_id = ? ORDER BY id",
        (essay_id,),
    )
    return [dict(r) for r in rows]


async def table_exists(conn: aiosqlite.Connection, name: str) -> bool:
    return (
        await fetch_one(conn, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        is not None
    )


async def essay_status(conn: aiosqlite.Connection, essay_id: int) -> str | None:
    return await fetch_value(conn, "SELECT status FROM essays WHERE id = ?", (essay_id,))


async def erase_personal_data(conn: aiosqlite.Connection, essay_id: int, *, at: str) -> str | None:
    """Blank name, unit, phone, e-mail, photo and IP; the byline becomes "{city}市民". Returns the photo
    path the caller must delete. The version bump makes any decision on the old version stale."""
    photo = await fetch_value(conn, "SELECT photo_path FROM essays WHERE id = ?", (essay_id,))
    await conn.execute(
        "UPDATE essays SET author_name = '', affiliation = '', byline_mode = 'full', phone = NULL,"
        " email = NULL, photo_path = NULL, submit_ip = NULL,"
        " personal_data_erased_at = coalesce(personal_data_erased_at, ?),"
        " version = version + 1, updated_at = ? WHERE id = ?",
        (at, at, essay_id),
    )
    # A reporter's note on how the author agreed may name the author or how to reach them.
    await conn.execute("UPDATE compiled_essays SET consent_note = '' WHERE essay_id = ?", (essay_id,))
    return photo


async def remove_text(conn: aiosqlite.Connection, essay_id: int, *, placeholder: str, at: str) -> None:
    """Take the author's words out of the essay and every earlier revision, and what screening derived
    from them: the flags (words as written), the MinHash signature and band keys, the duplicate links
    (which would show the removed essay beside another author's) and the high-risk mark."""
    await conn.execute(
        "UPDATE essays SET headline = ?, body = '', high_risk = 0, text_removed_at = coalesce(text_removed_at, ?),"
        " version = version + 1, updated_at = ? WHERE id = ?",
        (placeholder, at, at, essay_id),
    )
    await conn.execute(
        "UPDATE essay_revisions SET headline = ?, body = '' WHERE essay_id = ?", (placeholder, essay_id)
    )
    await conn.execute("DELETE FROM essay_flags WHERE essay_id = ?", (essay_id,))
    await conn.execute("DELETE FROM essay_shingle_bands WHERE essay_id = ?", (essay_id,))
    await conn.execute("DELETE FROM essay_minhash WHERE essay_id = ?", (essay_id,))
    await conn.execute(
        "DELETE FROM essay_duplicates WHERE essay_id = ? OR other_id = ?", (essay_id, essay_id)
    )


async def photo_in_use(conn: aiosqlite.Connection, photo_path: str) -> bool:
    """Photos are stored by content, so two essays may share one file."""
    return await fetch_one(
        conn, "SELECT 1 FROM essays WHERE photo_path = ? UNION ALL SELECT 1 FROM page_features WHERE photo_path = ?",
        (photo_path, photo_path),
    ) is not None


async def erase_print_copies(
    conn: aiosqlite.Connection, essay_id: int, *, byline: str, remove_text: bool, placeholder: str
) -> None:
    """The print desk keeps its own copies: the print versions' bylines (and text), the editors' notes
    from calling the author, and the author's sign-off replies. An essay taken down also leaves any
    page still in draft."""
    if remove_text:
        await conn.execute(
            "UPDATE print_versions SET byline = ?, headline = ?, body = '' WHERE essay_id = ?",
            (byline, placeholder, essay_id),
        )
        await conn.execute(
            "DELETE FROM print_slots WHERE essay_id = ?"
            " AND page_id IN (SELECT id FROM print_pages WHERE state = 'draft')",
            (essay_id,),
        )
    else:
        await conn.execute("UPDATE print_versions SET byline = ? WHERE essay_id = ?", (byline, essay_id))
    await conn.execute(
        "UPDATE author_verifications SET note = '（作者已要求删除个人信息）' WHERE essay_id = ?", (essay_id,)
    )
    await conn.execute("UPDATE signoff_requests SET answer_note = '' WHERE essay_id = ?", (essay_id,))


async def force_status(conn: aiosqlite.Connection, essay_id: int, status: str, *, at: str) -> None:
    """Only for erasure of a printed essay, which the state machine (rightly) lets no one else undo."""
    await conn.execute(
        "UPDATE essays SET status = ?, version = version + 1, updated_at = ? WHERE id = ?",
        (status, at, essay_id),
    )


async def record_erasure(
    conn: aiosqlite.Connection, essay_id: int, *, source: str, keep_text: str, at: str
) -> None:
    await conn.execute(
        "INSERT INTO erasure_requests (essay_id, source, keep_text, created_at) VALUES (?, ?, ?, ?)",
        (essay_id, source, keep_text, at),
    )


async def erasure_state(conn: aiosqlite.Connection, essay_id: int) -> tuple[str | None, str | None]:
    row = await fetch_one(
        conn, "SELECT personal_data_erased_at, text_removed_at FROM essays WHERE id = ?", (essay_id,)
    )
    return (None, None) if row is None else (row[0], row[1])


# ---------------------------------------------------------------------------------------------------
# Retention


async def essays_due_for_purge(conn: aiosqlite.Connection, *, before: str, limit: int) -> list[int]:
    rows = await fetch_all(
        conn,
        "SELECT id FROM essays WHERE status IN ('rejected', 'withdrawn') AND personal_data_erased_at IS NULL"
        " AND updated_at < ? ORDER BY id LIMIT ?",
        (before, limit),
    )
    return [r["id"] for r in rows]


async def clear_old_ips(conn: aiosqlite.Connection, *, before: str) -> int:
    async with conn.execute(
        "UPDATE essays SET submit_ip = NULL WHERE submit_ip IS NOT NULL AND submitted_at < ?", (before,)
    ) as cur:
        return cur.rowcount


async def delete_old_rate_events(conn: aiosqlite.Connection, *, before: float) -> int:
    async with conn.execute("DELETE FROM rate_events WHERE created_at < ?", (before,)) as cur:
        return cur.rowcount


async def delete_old_login_failures(conn: aiosqlite.Connection, *, before: float) -> int:
    async with conn.execute("DELETE FROM login_failures WHERE created_at < ?", (before,)) as cur:
        return cur.rowcount


# Essays' photos and feature articles' photos (one file may serve both: photos are stored by content).
_REFERENCED_PHOTOS = (
    "SELECT photo_path FROM essays WHERE photo_path IS NOT NULL"
    " UNION SELECT photo_path FROM page_features WHERE photo_path IS NOT NULL"
)


async def referenced_photos(conn: aiosqlite.Connection) -> set[str]:
    """The photos the site refers to (``referenced_media`` for an async connection: PostgreSQL's backup)."""
    return {r[0] for r in await fetch_all(conn, _REFERENCED_PHOTOS)}


# The keys where the queue's kept counts (essay_counts, migration 0035) and the essays disagree: a
# trigger dropped or disabled, or rows written around it. One statement for both databases.
_COUNT_DRIFT = """
SELECT k.status, k.review_stage, coalesce(c.n, 0) AS kept, coalesce(e.n, 0) AS actual
FROM (SELECT status, review_stage FROM essay_counts UNION SELECT status, review_stage FROM essays) AS k
LEFT JOIN (SELECT status, review_stage, sum(n) AS n FROM essay_counts GROUP BY status, review_stage) AS c
  ON c.status = k.status AND c.review_stage = k.review_stage
LEFT JOIN (SELECT status, review_stage, count(*) AS n FROM essays GROUP BY status, review_stage) AS e
  ON e.status = k.status AND e.review_stage = k.review_stage
WHERE coalesce(c.n, 0) <> coalesce(e.n, 0)
ORDER BY k.status, k.review_stage
"""


def _drift_lines(rows: Iterable[Any]) -> list[str]:
    return [f"essay counts: {r[0]} at review stage {r[1]} kept as {r[2]}, essays hold {r[3]}" for r in rows]


@dataclass(frozen=True)
class CheckedFacts:
    """What ``citizenvoice check`` reads through the store on PostgreSQL, in the backup's snapshot."""

    photos: set[str]
    problems: list[str]


async def checked_facts(conn: aiosqlite.Connection) -> CheckedFacts:
    counted = await fetch_value(conn, "SELECT to_regclass('essay_counts') IS NOT NULL")  # 0035 applied
    drift = _drift_lines(await fetch_all(conn, _COUNT_DRIFT)) if counted else []
    return CheckedFacts(await referenced_photos(conn), drift)


# ---------------------------------------------------------------------------------------------------
# Maintenance (plain sqlite3: the command line runs these with the server possibly up)


def integrity_problems(conn: sqlite3.Connection) -> list[str]:
    problems = [r[0] for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
    problems += [
        f"foreign key: {r[0]} row {r[1]} -> {r[2]}" for r in conn.execute("PRAGMA foreign_key_check")
    ]
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'essay_counts'").fetchone():  # 0035 applied
        problems += _drift_lines(conn.execute(_COUNT_DRIFT))
    return problems


def referenced_media(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute(_REFERENCED_PHOTOS)}


def table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND sql NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name"
        )
    ]
    # Names come from sqlite_master itself, quoted; no user input reaches this statement.
    return {n: conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0] for n in names}  # noqa: S608


def holds_content(conn: sqlite3.Connection) -> bool:
    """True when the database has essays or staff: restoring over it would lose someone's work."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for table in ("essays", "users"):
        if table in tables and conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():  # noqa: S608
            return True
    return False


def truncate_wal(conn: sqlite3.Connection) -> bool:
    """Checkpoint and empty the WAL file, so page images of erased personal data do not linger in it.
    False when a reader kept it from completing (the next run will)."""
    busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return busy == 0


def applied_migrations(conn: sqlite3.Connection) -> list[str]:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "schema_migrations" not in tables:
        return []
    return [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY version")]
