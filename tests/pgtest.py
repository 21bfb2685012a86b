"""The test suite on PostgreSQL: ``CITIZENVOICE_TEST_DATABASE_URL=postgresql://user@host:port/postgres``
(a server the suite may create databases on; `make test-postgres` starts a throwaway one) makes every
app the fixtures build use a fresh database of its own, copied from a template migrated once per run
(CREATE DATABASE … TEMPLATE takes ~30 ms; migrating takes ~300 ms). Unset, the suite runs on SQLite.

Also the test side of "read the database directly": :func:`query` and :func:`execute` take the
settings of an app and run one statement with ``?`` placeholders on whichever database it uses.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit, urlunsplit

VARIABLE = "CITIZENVOICE_TEST_DATABASE_URL"
_counter = itertools.count(1)
_created: list[str] = []
_template: str | None = None
DATABASE_BY_DATA_DIR: dict[str, str] = {}  # conftest.py: a test app's data directory → its database


def enabled() -> bool:
    return bool(os.environ.get(VARIABLE, "").strip())


def server_url() -> str:
    return os.environ[VARIABLE].strip()


def url_for(name: str) -> str:
    parts = urlsplit(server_url())
    return urlunsplit(parts._replace(path="/" + name))


def _blocking(factory: Any) -> Any:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


async def _admin(*statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(server_url())
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def _prefix() -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return f"cvtest_{os.getpid()}{worker}"


def template() -> str:
    global _template
    if _template is None:
        from citizenvoice import db

        name = f"{_prefix()}_template"
        _blocking(lambda: _admin(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"'))
        db.migrate(url_for(name))
        _template = name
    return _template


def fresh_database() -> str:
    """The URL of a new database holding the migrated schema and nothing else."""
    source = template()
    name = f"{_prefix()}_{next(_counter)}"
    _blocking(lambda: _admin(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
    _created.append(name)
    return url_for(name)


def empty_database() -> str:
    """The URL of a new database with no schema at all (never migrated)."""
    name = f"{_prefix()}_{next(_counter)}"
    _blocking(lambda: _admin(f'CREATE DATABASE "{name}"'))
    _created.append(name)
    return url_for(name)


def drop_all() -> None:
    global _connections
    if _connections is not None:  # closed first: DROP DATABASE would otherwise have to force them out
        connections, _connections = _connections, None
        connections.close()
    names = [*_created, *([_template] if _template else [])]
    _created.clear()
    _blocking(lambda: _admin(*[f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in names]))


# ---------------------------------------------------------------------------------------------
# Direct access for tests, on either database


def query(settings: Any, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Rows of one statement (``?`` placeholders) on the app's database, outside the app."""
    return _run(settings, sql, params, fetch=True)


def execute(settings: Any, sql: str, params: tuple[Any, ...] = ()) -> int:
    """Run one statement in its own transaction; returns the rows it changed."""
    return _run(settings, sql, params, fetch=False)


class _Connections:
    """One connection per test database, kept open on one event loop thread for the whole session: a
    test's direct reads (the hostile-input battery checksums every table around every request) then
    cost a query each, not a connection, a backend process and a catalogue read each. Calls on one
    database take turns (one connection); a connection the server dropped (the fault tests stop it) is
    replaced and the statement sent again, since a statement on a dead connection never committed."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.conns: dict[str, Any] = {}
        self.locks: dict[str, asyncio.Lock] = {}
        self.thread = threading.Thread(target=self.loop.run_forever, name="pgtest-connections", daemon=True)
        self.thread.start()

    def close(self) -> None:
        async def close_all() -> None:
            for raw in self.conns.values():
                try:
                    await raw.close(timeout=5)
                except Exception:  # noqa: BLE001 - a connection the server already dropped
                    raw.terminate()
            await asyncio.sleep(0)  # let the transports finish closing

        asyncio.run_coroutine_threadsafe(close_all(), self.loop).result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()

    def run(self, url: str, work: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(self._run(url, work), self.loop).result(timeout=120)

    async def _run(self, url: str, work: Any) -> Any:
        import asyncpg

        from citizenvoice.db import postgres

        lock = self.locks.setdefault(url, asyncio.Lock())
        async with lock:
            for attempt in (1, 2):
                raw = self.conns.get(url)
                if raw is None or raw.is_closed():
                    raw = self.conns[url] = await postgres.connect(url)
                    await postgres._load_id_tables(raw)
                try:
                    return await work(raw)
                except (asyncpg.ConnectionDoesNotExistError, asyncpg.InterfaceError, ConnectionError) as exc:
                    self.conns.pop(url, None)
                    raw.terminate()
                    if attempt == 2:
                        raise exc
        raise AssertionError("unreachable")


_connections: _Connections | None = None


def _on_connection(url: str, work: Any) -> Any:
    """``await work(raw)`` on the session's connection to ``url`` (see :class:`_Connections`)."""
    global _connections
    if _connections is None:
        _connections = _Connections()
    return _connections.run(url, work)


def _run(settings: Any, sql: str, params: tuple[Any, ...], *, fetch: bool) -> Any:
    if getattr(settings, "database_url", ""):
        return _on_connection(settings.database_url, lambda raw: _pg_run(raw, sql, params, fetch))
    conn = sqlite3.connect(settings.db_path, isolation_level=None)
    try:
        cur = conn.execute(sql, params)
        return cur.fetchall() if fetch else cur.rowcount
    finally:
        conn.close()


async def _pg_run(raw: Any, sql: str, params: tuple[Any, ...], fetch: bool) -> Any:
    from citizenvoice.db import dialect

    cur = await dialect.PgConnection(raw).execute(sql, params)
    await _advance_sequence(raw, sql)
    return [tuple(r) for r in await cur.fetchall()] if fetch else cur.rowcount


def tables(settings: Any) -> list[str]:
    """The names of the database's tables (SQLite's FTS shadow tables included), sorted."""
    if getattr(settings, "database_url", ""):
        sql = ("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
               " AND table_type = 'BASE TABLE' ORDER BY table_name")
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
    return [r[0] for r in query(settings, sql)]


def table_rows(settings: Any, table: str) -> list[tuple[Any, ...]]:
    """Every row of one table, in an order that does not depend on how the database stores them."""
    quoted = '"' + table.replace('"', '""') + '"'
    return sorted(query(settings, f"SELECT * FROM {quoted}"), key=repr)  # noqa: S608


def records(settings: Any, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """Like :func:`query`, with rows that also answer ``row["column"]`` (sqlite3.Row / dialect.Row)."""
    if getattr(settings, "database_url", ""):
        return _on_connection(settings.database_url, lambda raw: _pg_records(raw, sql, params))
    conn = sqlite3.connect(settings.db_path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


async def _pg_records(raw: Any, sql: str, params: tuple[Any, ...]) -> list[Any]:
    from citizenvoice.db import dialect

    return await (await dialect.PgConnection(raw).execute(sql, params)).fetchall()


def move_sqlite_file(db_path: Any, url: str) -> None:
    """Copy a SQLite file (a generated data set) into the fresh PostgreSQL database at ``url``, as
    ``citizenvoice migrate-to-postgres`` would, so a test built on generated data runs on both."""
    from citizenvoice.ops import moving

    _blocking(lambda: moving.move(db_path, url))


def dump_text(settings: Any) -> str:
    """Every value the database holds, as text (SQLite: ``iterdump``; PostgreSQL: every row of every
    table): what an erasure test searches for leftovers."""
    if not getattr(settings, "database_url", ""):
        conn = sqlite3.connect(settings.db_path)
        try:
            return "\n".join(conn.iterdump())
        finally:
            conn.close()
    return "\n".join(f"{t}: {row!r}" for t in tables(settings) for row in table_rows(settings, t))


# ---------------------------------------------------------------------------------------------
# A blocking connection with sqlite3's face, on either database


class _SyncCursor:
    def __init__(self, rows: list[Any], lastrowid: Any, rowcount: int) -> None:
        self._rows, self.lastrowid, self.rowcount = rows, lastrowid, rowcount

    def fetchone(self) -> Any:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    def __iter__(self) -> Any:
        return iter(self.fetchall())


class SyncPg:
    """``pgtest.connect(settings)`` on PostgreSQL: ``execute(sql, params)`` with ``?`` placeholders,
    each statement on its own connection and committed at once (as a sqlite3 connection's statements
    are in ``with conn:`` blocks), rows with index and key access, ``lastrowid``; ``with conn:`` and
    ``close()`` as sqlite3's."""

    def __init__(self, url: str) -> None:
        self.url = url

    def execute(self, sql: str, params: Any = ()) -> _SyncCursor:
        from citizenvoice.db import dialect

        async def run(raw: Any) -> _SyncCursor:
            cur = await dialect.PgConnection(raw).execute(sql, tuple(params))
            await _advance_sequence(raw, sql)
            return _SyncCursor(list(await cur.fetchall()), cur.lastrowid, cur.rowcount)

        return _on_connection(self.url, run)

    def commit(self) -> None:
        return None

    def close(self) -> None:
        return None

    def __enter__(self) -> SyncPg:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def connect(settings: Any) -> Any:
    """A blocking connection to the app's database: sqlite3's on SQLite, :class:`SyncPg` on PostgreSQL."""
    if getattr(settings, "database_url", ""):
        return SyncPg(settings.database_url)
    return sqlite3.connect(settings.db_path)


def columns(settings: Any, table: str) -> set[str]:
    if getattr(settings, "database_url", ""):
        sql = ("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
               " AND table_name = ?")
        return {r[0] for r in query(settings, sql, (table,))}
    return {r[1] for r in query(settings, f'PRAGMA table_info("{table}")')}


def tables_with_column(settings: Any, column: str) -> set[str]:
    """Base tables (SQLite: not FTS virtual tables) that have ``column``."""
    if getattr(settings, "database_url", ""):
        sql = ("SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t"
               " ON t.table_name = c.table_name AND t.table_schema = c.table_schema"
               " WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.column_name = ?")
        return {r[0] for r in query(settings, sql, (column,))}
    sql = ("SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) c WHERE m.type = 'table'"
           " AND m.sql NOT LIKE 'CREATE VIRTUAL TABLE%' AND c.name = ?")
    return {r[0] for r in query(settings, sql, (column,))}


async def _advance_sequence(raw: Any, sql: str) -> None:
    """A test that inserts a row with an explicit id (SQLite then numbers the next row after it) moves
    the PostgreSQL identity sequence past it, so the app's next insert does not collide."""
    import re

    from citizenvoice.db import dialect

    insert = re.match(r"\s*INSERT\s+INTO\s+([a-z_]+)\s*\(([^)]*)\)", sql, re.I)
    if not insert or insert.group(1) not in dialect.ID_TABLES:
        return
    if "id" not in [c.strip() for c in insert.group(2).split(",")]:
        return
    table = insert.group(1)
    await raw.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
    )
