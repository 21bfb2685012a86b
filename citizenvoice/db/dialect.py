"""Where SQLite's dialect and PostgreSQL's meet: the one place that rewrites the store's SQL.

The store writes SQL once, with ``?`` placeholders, in the subset both databases understand
(docs/architecture.md, "Where the database dialect shows", lists what that subset is). On PostgreSQL
:class:`PgConnection` gives the store the part of ``aiosqlite.Connection`` it uses, over an asyncpg
connection, and :func:`translate` turns each statement into PostgreSQL's (cached, so a statement is
rewritten once per process):

- ``?`` placeholders become ``$1, $2 …`` (never inside a string literal or a quoted name);
- ``group_concat(x)`` becomes ``string_agg(x, ',')``; ``LIKE`` becomes ``ILIKE`` (SQLite's LIKE
  ignores ASCII case); ``INDEXED BY index`` (a SQLite planner hint) is dropped;
- an ``INSERT`` into a table with an ``id`` column gets ``RETURNING id``, which is how ``lastrowid``
  is answered.

SQLite's functions that the store uses and PostgreSQL lacks (``julianday``, ``date`` with modifiers,
``sum`` over a comparison) are defined under the same names by migrations/postgresql/0001_core.sql.

Values are coerced to the parameter types PostgreSQL inferred (SQLite would store ``'3'`` in an
INTEGER column; asyncpg refuses a str for an int8), and rows come back as :class:`Row`, which, like
``sqlite3.Row``, answers both ``row[0]`` and ``row["name"]``. Numeric results (``sum`` of integers is
``numeric`` on PostgreSQL) come back as int or float, as SQLite gives them.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from decimal import Decimal
from functools import lru_cache
from typing import Any

import asyncpg

# Store code catches these names on both backends (db/__init__ exports them).
IntegrityError = sqlite3.IntegrityError

_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|\?", re.S)
_GROUP_CONCAT = re.compile(r"\bgroup_concat\s*\(([^()]*)\)", re.I)
_LIKE = re.compile(r"\bLIKE\b", re.I)
_INDEXED_BY = re.compile(r"\s+INDEXED\s+BY\s+[a-z_][a-z0-9_]*", re.I)
_INSERT = re.compile(r"^\s*INSERT\s+INTO\s+([a-z_][a-z0-9_]*)", re.I)
_RETURNING = re.compile(r"\bRETURNING\b", re.I)

# Tables whose rows have an ``id`` (identity) column: an INSERT into them returns it. Filled once a
# pool opens (the catalogue knows), so a table added by a later migration needs no code here.
ID_TABLES: set[str] = set()


@lru_cache(maxsize=4096)
def translate(sql: str) -> str:
    """PostgreSQL's text for one statement of the store's portable SQL."""
    count = 0

    def placeholder(match: re.Match[str]) -> str:
        nonlocal count
        token = match.group(0)
        if token != "?":
            return token
        count += 1
        return f"${count}"

    out = _TOKEN.sub(placeholder, sql)
    out = _outside_literals(out, _rewrite)
    insert = _INSERT.match(out)
    if insert and insert.group(1).lower() in ID_TABLES and not _RETURNING.search(out):
        out = out.rstrip().rstrip(";") + " RETURNING id"
    return out


def _rewrite(sql: str) -> str:
    sql = _GROUP_CONCAT.sub(r"string_agg(\1, ',')", sql)
    sql = _INDEXED_BY.sub("", sql)  # a SQLite planner hint; PostgreSQL's planner chooses
    return _LIKE.sub("ILIKE", sql)


def _outside_literals(sql: str, rewrite: Any) -> str:
    parts, last = [], 0
    for match in re.finditer(r"'(?:[^']|'')*'", sql):
        parts.append(rewrite(sql[last : match.start()]))
        parts.append(match.group(0))
        last = match.end()
    parts.append(rewrite(sql[last:]))
    return "".join(parts)


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class Row(tuple):
    """A result row: index and key access, ``keys()``, ``dict(row)`` — what sqlite3.Row offers."""

    __slots__ = ()
    _names: tuple[str, ...] = ()

    def __new__(cls, record: asyncpg.Record) -> Row:
        row = super().__new__(cls, (_number(v) for v in record.values()))
        return row

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index()[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)

    def _index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self._names)}


@lru_cache(maxsize=1024)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    index = {name: i for i, name in enumerate(names)}
    return type("Row", (Row,), {"__slots__": (), "_names": names, "_index": lambda self: index})


def rows_of(records: Sequence[asyncpg.Record]) -> list[Row]:
    if not records:
        return []
    cls = _row_class(tuple(records[0].keys()))
    return [cls(r) for r in records]


_INTS = {"int2", "int4", "int8", "oid"}
_FLOATS = {"float4", "float8", "numeric"}
_TEXTS = {"text", "varchar", "bpchar", "citext", "name"}


def _coerce(value: Any, type_name: str) -> Any:
    if value is None:
        return None
    if type_name in _TEXTS:
        text = value if isinstance(value, str) else str(value)
        # PostgreSQL's text cannot hold NUL; SQLite's can. The app strips NUL from what it stores, so
        # one can only arrive in a look-up (a hostile path or query), where U+FFFD finds nothing either.
        return text.replace("\x00", "\ufffd") if "\x00" in text else text
    if type_name in _INTS:
        if isinstance(value, bool):
            return int(value)
        return int(value) if isinstance(value, int | str | float) else value
    if type_name in _FLOATS:
        return float(value) if isinstance(value, int | str | float) else value
    if type_name == "bytea" and isinstance(value, memoryview | bytearray):
        return bytes(value)
    if type_name == "bool" and isinstance(value, int):
        return bool(value)
    return value


class Cursor:
    """What ``await conn.execute(…)`` gives: the rows, ``lastrowid`` and ``rowcount``."""

    def __init__(self, rows: list[Row], lastrowid: int | None, rowcount: int) -> None:
        self._rows = rows
        self._at = 0
        self.lastrowid = lastrowid
        self.rowcount = rowcount

    async def fetchone(self) -> Row | None:
        if self._at >= len(self._rows):
            return None
        self._at += 1
        return self._rows[self._at - 1]

    async def fetchall(self) -> list[Row]:
        rest, self._at = self._rows[self._at :], len(self._rows)
        return rest

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


class _Pending:
    """A call that is both awaitable and an ``async with`` (aiosqlite's execute is both)."""

    def __init__(self, coroutine: Any) -> None:
        self._coroutine = coroutine

    def __await__(self) -> Any:
        return self._coroutine.__await__()

    async def __aenter__(self) -> Any:
        return await self._coroutine

    async def __aexit__(self, *exc: object) -> None:
        return None


def _translate_error(exc: asyncpg.PostgresError) -> Exception:
    # Constraint violations and the triggers' RAISE EXCEPTION (the append-only audit trail, the
    # known-value rules) are what SQLite reports as IntegrityError; callers catch that one name.
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError | asyncpg.RaiseError):
        error = IntegrityError(str(exc))
        error.__cause__ = exc
        return error
    return exc


class PgConnection:
    """The aiosqlite-like face of one asyncpg connection, for the store."""

    dialect = "postgresql"

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.raw = conn

    @property
    def in_transaction(self) -> bool:
        return self.raw.is_in_transaction()

    async def _prepared(self, text: str) -> Any:
        # asyncpg's public prepare() bypasses the connection's statement cache, which cost a
        # Parse/Describe round trip for every statement (the submissions bench: 34/s on PostgreSQL).
        # _prepare(use_cache=True) is what its own fetch() uses: the server-side statement kept in
        # the connection's LRU across pool acquires, a fresh wrapper for this one.
        prepare = getattr(self.raw, "_prepare", None)
        if prepare is None:  # pragma: no cover - an asyncpg without it: correct, only slower
            return await self.raw.prepare(text)
        return await prepare(text, use_cache=True)

    async def _run(self, sql: str, parameters: Iterable[Any]) -> Cursor:
        text = translate(sql)
        params = list(parameters)
        try:
            statement = await self._prepared(text)
            types = statement.get_parameters()
            args = [_coerce(v, t.name) for v, t in zip(params, types, strict=False)]
            records = await statement.fetch(*args)
            status = statement.get_statusmsg()
        except asyncpg.InvalidCachedStatementError:
            # The schema changed under a kept statement (a migration on another host): prepare anew.
            # Inside a transaction the error has aborted it, so it is the caller's to see.
            await self.raw.reload_schema_state()
            if self.in_transaction:
                raise
            return await self._run(sql, parameters)
        except asyncpg.PostgresError as exc:
            raise _translate_error(exc) from exc
        rows = rows_of(records)
        rowcount = _rowcount(status)
        lastrowid = None
        if _INSERT.match(text) and rows and "id" in rows[0].keys():
            lastrowid = rows[-1]["id"]
        return Cursor(rows, lastrowid, rowcount if rowcount >= 0 else len(rows))

    def execute(self, sql: str, parameters: Iterable[Any] = ()) -> _Pending:
        return _Pending(self._run(sql, parameters))

    async def _fetchall(self, sql: str, parameters: Iterable[Any]) -> list[Row]:
        return (await self._run(sql, parameters))._rows

    def execute_fetchall(self, sql: str, parameters: Iterable[Any] = ()) -> _Pending:
        return _Pending(self._fetchall(sql, parameters))

    async def _insert(self, sql: str, parameters: Iterable[Any]) -> tuple[int | None]:
        return ((await self._run(sql, parameters)).lastrowid,)

    def execute_insert(self, sql: str, parameters: Iterable[Any] = ()) -> _Pending:
        return _Pending(self._insert(sql, parameters))

    async def _many(self, sql: str, parameters: Iterable[Iterable[Any]]) -> Cursor:
        count = 0
        for params in parameters:
            count += (await self._run(sql, params)).rowcount
        return Cursor([], None, count)

    def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> _Pending:
        return _Pending(self._many(sql, parameters))


def _rowcount(status: str | None) -> int:
    # "INSERT 0 3", "UPDATE 2", "DELETE 0", "SELECT 5"
    if not status:
        return -1
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1
