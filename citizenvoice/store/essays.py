"""Essays, their revisions and their events (the audit trail)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields

import aiosqlite

from citizenvoice.model.essays import Status
from citizenvoice.store import fetch_all, fetch_one, insert, utcnow


@dataclass(frozen=True)
class Essay:
    id: int
    tracking_code: str
    status: Status
    version: int
    direction_id: int
    direction_slug: str
    direction_name: str
    headline: str
    body: str
    author_role: str
    author_name: str
    affiliation: str
    byline_mode: str
    phone: str | None
    email: str | None
    photo_path: str | None
    consent_print: bool
    featured: bool
    high_risk: bool
    author_note: str
    reject_reason: str
    submitted_at: str
    updated_at: str
    published_at: str | None
    printed_edition: str | None
    review_stage: int = 1  # whose queue a pending essay is in (model/review.py)
    sms_channel: bool = False  # the phone may receive messages (verified, or verification was off)
    notify: bool = True  # the author has not stopped notifications


@dataclass(frozen=True)
class NewEssay:
    """A validated submission, ready to store."""

    direction_id: int
    headline: str
    body: str
    author_role: str
    author_name: str
    affiliation: str
    byline_mode: str
    phone: str
    email: str
    photo_path: str | None
    consent_print: bool


@dataclass(frozen=True)
class Revision:
    number: int
    headline: str
    body: str
    actor_kind: str
    actor_id: int | None
    actor_name: str | None
    created_at: str


@dataclass(frozen=True)
class Event:
    id: int
    action: str
    from_status: str | None
    to_status: str | None
    actor_kind: str
    actor_id: int | None
    actor_name: str | None
    reason: str
    note: str
    created_at: str
    review_stage: int | None = None  # the review level a moderation decision was taken at


_ESSAY_FIELDS = [f.name for f in fields(Essay)]
_SELECT = (
    "SELECT e.*, d.slug AS direction_slug, d.name AS direction_name"
    " FROM essays e JOIN directions d ON d.id = e.direction_id"
)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def essay_from_row(row: aiosqlite.Row) -> Essay:
    values = {name: row[name] for name in _ESSAY_FIELDS}
    values["status"] = Status(values["status"])
    for flag in ("consent_print", "featured", "high_risk", "sms_channel", "notify"):
        values[flag] = bool(values[flag])
    return Essay(**values)


async def get_essay(conn: aiosqlite.Connection, essay_id: int) -> Essay | None:
    row = await fetch_one(conn, f"{_SELECT} WHERE e.id = ?", (essay_id,))
    return essay_from_row(row) if row else None


async def get_by_token(conn: aiosqlite.Connection, token: str) -> Essay | None:
    row = await fetch_one(conn, f"{_SELECT} WHERE e.token_hash = ?", (token_hash(token),))
    return essay_from_row(row) if row else None


async def get_by_tracking_code(conn: aiosqlite.Connection, code: str) -> Essay | None:
    row = await fetch_one(conn, f"{_SELECT} WHERE e.tracking_code = ?", (code,))
    return essay_from_row(row) if row else None


async def insert_essay(
    conn: aiosqlite.Connection, essay: NewEssay, *, tracking_code: str, token: str, submit_ip: str | None,
    sms_channel: bool = False,
) -> int:
    """Store a new pending essay with its first revision and its 'submit' event."""
    now = utcnow()
    essay_id = await insert(
        conn,
        "INSERT INTO essays (tracking_code, token_hash, status, direction_id, headline, body, author_role,"
        " author_name, affiliation, byline_mode, phone, email, photo_path, consent_print, submit_ip,"
        " submitted_at, updated_at, sms_channel) VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            tracking_code, token_hash(token), essay.direction_id, essay.headline, essay.body,
            essay.author_role, essay.author_name, essay.affiliation, essay.byline_mode, essay.phone,
            essay.email or None, essay.photo_path, int(essay.consent_print), submit_ip, now, now,
            int(sms_channel),
        ),
    )
    await add_revision(conn, essay_id, essay.headline, essay.body, actor_kind="author", actor_id=None, at=now)
    await add_event(conn, essay_id, "submit", None, Status.PENDING, actor_kind="author", at=now)
    return essay_id


async def set_notify(conn: aiosqlite.Connection, essay_id: int, notify: bool) -> None:
    """The author's own switch; not a change of the essay (no version bump, nothing for a moderator)."""
    await conn.execute("UPDATE essays SET notify = ? WHERE id = ?", (int(notify), essay_id))


async def ids_by_phone(conn: aiosqlite.Connection, phone: str, limit: int = 3) -> list[tuple[int, str]]:
    """The newest essays left with this phone: (id, tracking code)."""
    rows = await fetch_all(
        conn, "SELECT id, tracking_code FROM essays WHERE phone = ? ORDER BY id DESC LIMIT ?", (phone, limit)
    )
    return [(int(r[0]), r[1]) for r in rows]


async def tracking_code_exists(conn: aiosqlite.Connection, code: str) -> bool:
    return await fetch_one(conn, "SELECT 1 FROM essays WHERE tracking_code = ?", (code,)) is not None


async def update_essay(conn: aiosqlite.Connection, essay_id: int, expected_version: int, **changes: object) -> bool:
    """Apply ``changes`` if the essay is still at ``expected_version``; bumps the version. False if stale."""
    allowed = set(_ESSAY_FIELDS) - {"id", "tracking_code", "version", "direction_slug", "direction_name"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    changes = {"updated_at": utcnow(), **changes}
    assignments = ", ".join(f"{column} = ?" for column in changes)
    values = [str(v) if isinstance(v, Status) else v for v in changes.values()]
    async with conn.execute(
        f"UPDATE essays SET {assignments}, version = version + 1 WHERE id = ? AND version = ?",
        (*values, essay_id, expected_version),
    ) as cur:
        return cur.rowcount == 1


async def add_revision(
    conn: aiosqlite.Connection,
    essay_id: int,
    headline: str,
    body: str,
    *,
    actor_kind: str,
    actor_id: int | None,
    at: str | None = None,
) -> int:
    return await insert(
        conn,
        "INSERT INTO essay_revisions (essay_id, number, headline, body, actor_kind, actor_id, created_at)"
        " VALUES (?, (SELECT coalesce(max(number), 0) + 1 FROM essay_revisions WHERE essay_id = ?),"
        " ?, ?, ?, ?, ?)",
        (essay_id, essay_id, headline, body, actor_kind, actor_id, at or utcnow()),
    )


async def add_event(
    conn: aiosqlite.Connection,
    essay_id: int,
    action: str,
    from_status: str | None,
    to_status: str | None,
    *,
    actor_kind: str,
    actor_id: int | None = None,
    reason: str = "",
    note: str = "",
    at: str | None = None,
    review_stage: int | None = None,
) -> int:
    return await insert(
        conn,
        "INSERT INTO essay_events (essay_id, action, from_status, to_status, actor_kind, actor_id, reason,"
        " note, created_at, review_stage) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (essay_id, action, from_status, to_status, actor_kind, actor_id, reason, note, at or utcnow(), review_stage),
    )


async def list_revisions(conn: aiosqlite.Connection, essay_id: int) -> list[Revision]:
    rows = await fetch_all(
        conn,
        "SELECT r.number, r.headline, r.body, r.actor_kind, r.actor_id, u.username AS actor_name, r.created_at"
        " FROM essay_revisions r LEFT JOIN users u ON u.id = r.actor_id"
        " WHERE r.essay_id = ? ORDER BY r.number",
        (essay_id,),
    )
    return [Revision(**dict(r)) for r in rows]


async def list_events(conn: aiosqlite.Connection, essay_id: int) -> list[Event]:
    rows = await fetch_all(
        conn,
        "SELECT ev.id, ev.action, ev.from_status, ev.to_status, ev.actor_kind, ev.actor_id,"
        " u.username AS actor_name, ev.reason, ev.note, ev.created_at, ev.review_stage"
        " FROM essay_events ev LEFT JOIN users u ON u.id = ev.actor_id"
        " WHERE ev.essay_id = ? ORDER BY ev.id",
        (essay_id,),
    )
    return [Event(**dict(r)) for r in rows]
