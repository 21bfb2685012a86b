"""The numbers of the editorial meeting's dashboard and its exports: counts, decision times, the
queue, the printed column by voice, the editors' target mix, and the filtered essay list.

Every statement filters through :func:`_scope_sql`, so the page, the CSV and both workbooks count the
same essays. Weeks are Beijing weeks (Monday to Sunday, UTC+8), computed in SQL on the stored UTC
text so the grouping happens in the index scan and not in Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aiosqlite

from citizenvoice.store import fetch_all, utcnow

# The Monday of the Beijing week a stored UTC timestamp falls in ('weekday 0' is the next Sunday, or
# the day itself when it is one).
_WEEK = "date({column}, '+8 hours', 'weekday 0', '-6 days')"
DECISION_ACTIONS = ("approve", "reject", "revise", "print")
VOICES = ("resident", "community", "enterprise", "research")


@dataclass(frozen=True)
class Scope:
    """Which essays count: submitted in [start, end) (UTC text), optionally one board and one role."""

    start: str
    end: str
    direction_id: int | None = None
    author_role: str | None = None
    status: str | None = None  # only the essay list filters by status


def _scope_sql(scope: Scope, *, alias: str = "e", dates: bool = True, status: bool = False) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if dates:
        clauses.append(f"{alias}.submitted_at >= ? AND {alias}.submitted_at < ?")
        params += [scope.start, scope.end]
    if scope.direction_id is not None:
        clauses.append(f"{alias}.direction_id = ?")
        params.append(scope.direction_id)
    if scope.author_role:
        clauses.append(f"{alias}.author_role = ?")
        params.append(scope.author_role)
    if status and scope.status:
        clauses.append(f"{alias}.status = ?")
        params.append(scope.status)
    return (" AND ".join(clauses) or "1 = 1"), params


@dataclass(frozen=True)
class CountRow:
    week: str  # the Monday, YYYY-MM-DD (Beijing)
    direction_id: int
    author_role: str
    submitted: int
    published: int  # ever approved (published_at set), whatever happened after
    printed: int
    rejected: int


async def counts(conn: aiosqlite.Connection, scope: Scope) -> list[CountRow]:
    """Essays by week × direction × author role: submitted, published, printed, rejected."""
    where, params = _scope_sql(scope)
    week = _WEEK.format(column="e.submitted_at")
    rows = await fetch_all(
        conn,
        f"SELECT {week} AS week, e.direction_id, e.author_role, count(*) AS submitted,"
        " count(e.published_at) AS published,"
        " sum(e.status = 'printed') AS printed, sum(e.status = 'rejected') AS rejected"
        f" FROM essays e INDEXED BY essays_submitted_stats WHERE {where}"
        " GROUP BY week, e.direction_id, e.author_role ORDER BY week, e.direction_id, e.author_role",
        params,
    )
    return [CountRow(r["week"], r["direction_id"], r["author_role"], r["submitted"], r["published"],
                     r["printed"], r["rejected"]) for r in rows]  # fmt: skip


async def decision_hours(conn: aiosqlite.Connection, scope: Scope) -> dict[str, list[float]]:
    """For each decision, the hours from submission to the first such decision of each essay in scope,
    sorted (the median is read off the list)."""
    where, params = _scope_sql(scope)
    marks = ", ".join("?" for _ in DECISION_ACTIONS)
    rows = await fetch_all(
        conn,
        "SELECT ev.action, (julianday(min(ev.created_at)) - julianday(e.submitted_at)) * 24 AS hours"
        f" FROM essays e INDEXED BY essays_submitted_stats"
        " JOIN essay_events ev INDEXED BY essay_events_decisions ON ev.essay_id = e.id AND ev.action IN"
        f" ({marks}) WHERE {where} GROUP BY e.id, ev.action",
        [*DECISION_ACTIONS, *params],
    )
    out: dict[str, list[float]] = {action: [] for action in DECISION_ACTIONS}
    for row in rows:
        out[row["action"]].append(row["hours"])
    for hours in out.values():
        hours.sort()  # in Python: cheaper than SQLite's temporary B-tree for a few thousand floats
    return out


async def queue_hours(conn: aiosqlite.Connection, scope: Scope, now: str | None = None) -> list[float]:
    """How long each essay waiting for a moderator (待审核) has waited since it was submitted, sorted.
    The queue is now, so the date range does not apply; the board and the role do."""
    where, params = _scope_sql(scope, dates=False)
    rows = await conn.execute_fetchall(
        "SELECT (julianday(?) - julianday(e.submitted_at)) * 24 FROM essays e"
        f" WHERE e.status = 'pending' AND {where}",
        (now or utcnow(), *params),
    )
    return sorted(row[0] for row in rows)


async def printed_by_role(conn: aiosqlite.Connection, scope: Scope) -> dict[str, int]:
    """Essays printed (their 'print' event) in the date range, by author role; the role filter does
    not apply, since the balance is between roles."""
    where, params = _scope_sql(Scope(scope.start, scope.end, scope.direction_id), dates=False)
    rows = await fetch_all(
        conn,
        "SELECT e.author_role, count(DISTINCT e.id) AS n FROM essay_events ev INDEXED BY essay_events_action_time"
        " JOIN essays e ON e.id = ev.essay_id"
        f" WHERE ev.action = 'print' AND ev.created_at >= ? AND ev.created_at < ? AND {where}"
        " GROUP BY e.author_role",
        [scope.start, scope.end, *params],
    )
    return {row["author_role"]: row["n"] for row in rows}


async def voice_targets(conn: aiosqlite.Connection) -> dict[str, int]:
    rows = await fetch_all(conn, "SELECT voice, percent FROM voice_targets")
    found = {row["voice"]: row["percent"] for row in rows}
    return {voice: found.get(voice, 0) for voice in VOICES}


async def set_voice_targets(conn: aiosqlite.Connection, targets: dict[str, int], user_id: int | None) -> None:
    now = utcnow()
    await conn.executemany(
        "INSERT INTO voice_targets (voice, percent, updated_by, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (voice) DO UPDATE SET percent = excluded.percent, updated_by = excluded.updated_by,"
        " updated_at = excluded.updated_at",
        [(voice, targets[voice], user_id, now) for voice in VOICES],
    )


@dataclass(frozen=True)
class EssayRow:
    """One line of the essay list export: what the newsroom printed or may print, nothing private
    (no phone, e-mail, address, IP or tracking code)."""

    id: int
    headline: str
    direction_name: str
    author_role: str
    author_name: str
    affiliation: str
    byline_mode: str
    status: str
    submitted_at: str
    published_at: str | None
    printed_at: str | None
    printed_edition: str | None
    body: str
    print_byline: str | None  # the latest print version's byline line, if the essay reached a page
    print_chars: int | None


async def essay_rows(conn: aiosqlite.Connection, scope: Scope) -> list[EssayRow]:
    where, params = _scope_sql(scope, status=True)
    rows = await fetch_all(
        conn,
        "SELECT e.id, e.headline, d.name AS direction_name, e.author_role, e.author_name, e.affiliation,"
        " e.byline_mode, e.status, e.submitted_at, e.published_at, e.printed_edition, e.body, pe.printed_at,"
        " pv.byline AS print_byline, pv.char_count AS print_chars"
        " FROM essays e JOIN directions d ON d.id = e.direction_id"
        # the latest print version of each essay (portable: no bare columns beside max())
        " LEFT JOIN print_versions pv ON pv.id = (SELECT max(id) FROM print_versions v WHERE v.essay_id = e.id)"
        " LEFT JOIN (SELECT essay_id, max(created_at) AS printed_at FROM essay_events WHERE action = 'print'"
        " GROUP BY essay_id) pe ON pe.essay_id = e.id"
        f" WHERE {where}"
        " ORDER BY e.submitted_at, e.id",
        params,
    )
    return [_essay_row(row) for row in rows]


def _essay_row(row: aiosqlite.Row) -> EssayRow:
    return EssayRow(**{name: row[name] for name in _ESSAY_ROW_FIELDS})


_ESSAY_ROW_FIELDS: Iterable[str] = tuple(EssayRow.__dataclass_fields__)
