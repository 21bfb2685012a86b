from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import threading
import time

import pytest
from starlette.testclient import TestClient

from citizenvoice import db as database
from citizenvoice.db import sqlite as sqlite_backend
from citizenvoice.settings import Settings, SettingsError


def test_healthz_reports_migrated_database(client, settings):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    # Which backend answers: the switch is CITIZENVOICE_DATABASE_URL (tests: CITIZENVOICE_TEST_DATABASE_URL).
    assert response.json()["database"] == ("postgresql" if settings.database_url else "sqlite")


def test_migrate_twice_is_a_no_op(tmp_path):
    path = tmp_path / "cv.db"
    first = database.migrate(path)
    assert first and first[0].startswith("0001")
    assert database.migrate(path) == []
    conn = sqlite3.connect(path)
    versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    assert len(versions) == len(set(versions)) == len(first)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_directions_seeded_under_four_pillars(tmp_path):
    path = tmp_path / "cv.db"
    database.migrate(path)
    rows = sqlite3.connect(path).execute("SELECT name, pillar FROM directions").fetchall()
    names = {r[0] for r in rows}
    assert {"营商环境（最佳口碑）", "银发经济先行区", "民生福祉", "生态宜居"} <= names
    assert len(rows) == 12
    assert {r[1] for r in rows} == {"industry", "innovation", "opening", "livelihood"}


def test_generated_secret_key_is_private_and_stable(make_settings, make_app, tmp_path):
    settings = make_settings(tmp_path, secret_key=None)
    app = make_app(settings)
    key_file = settings.data_dir / "secret_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert make_app(settings).state.secret_key == app.state.secret_key  # the next start keeps it


def test_settings_read_from_environment_with_clear_errors(tmp_path):
    env = {"CITIZENVOICE_DATA_DIR": str(tmp_path), "CITIZENVOICE_PAPER_NAME": "海滨晚报", "CITIZENVOICE_HTTPS": "yes"}
    settings = Settings.from_env(env)
    assert settings.paper_name == "海滨晚报" and settings.https is True
    assert settings.db_path == tmp_path / "citizenvoice.db"
    try:
        Settings.from_env({"CITIZENVOICE_HTTPS": "maybe"})
    except SettingsError as exc:
        assert "CITIZENVOICE_HTTPS" in str(exc)
    else:
        raise AssertionError("bad boolean accepted")


def test_home_lists_every_direction_and_column_title(client):
    html = client.get("/").text
    assert "写给下一个五年" in html
    for name in ("港口型国家物流枢纽", "乡村全面振兴", "生态宜居"):
        assert name in html


def test_security_headers_on_every_response(client):
    for path in ("/", "/healthz", "/no-such-page", "/login"):
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "'unsafe-inline'" not in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"]
        assert headers["permissions-policy"]


def test_not_found_page_is_friendly_chinese(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "页面不存在" in response.text and "Traceback" not in response.text


def test_static_files_have_content_hashed_urls(client):
    html = client.get("/").text
    href = html.split('href="/static/css/site.css?v=')[1].split('"')[0]
    response = client.get(f"/static/css/site.css?v={href}")
    assert response.status_code == 200
    assert "immutable" in response.headers["cache-control"]


def test_hsts_only_over_https(tmp_path, make_app):
    with TestClient(make_app(tmp_path, https=True)) as https_client:
        assert "max-age" in https_client.get("/").headers["strict-transport-security"]


def _words(client, *words: str) -> set[str]:
    async def read() -> set[str]:
        async with client.app.state.db.read() as conn:
            rows = await conn.execute_fetchall("SELECT word FROM screening_words")
        return {row[0] for row in rows} & set(words)

    return client.portal.call(read)


@pytest.mark.sqlite_only("write_at_once's inline sqlite3 batch (on PostgreSQL it is an ordinary write transaction)")
def test_write_at_once_commits_the_whole_transaction_or_nothing(client):
    db = client.app.state.db

    async def add(conn, word: str) -> int:
        await conn.execute("INSERT INTO screening_words (list, word) VALUES ('suspect', ?)", (word,))
        await conn.executemany("INSERT INTO screening_words (list, word) VALUES ('banned', ?)", [(word,)])
        rows = await conn.execute_fetchall("SELECT count(*) FROM screening_words WHERE word = ?", (word,))
        return rows[0][0]

    async def fails(conn) -> None:
        await add(conn, "丁戊己")
        raise ValueError("boom")

    async def suspends(conn) -> None:
        await add(conn, "庚辛壬")
        await asyncio.sleep(0)  # not the connection: would need the event loop, which this thread has not

    assert client.portal.call(db.write_at_once, lambda conn: add(conn, "甲乙丙")) == 2
    with pytest.raises(ValueError, match="boom"):
        client.portal.call(db.write_at_once, fails)
    with pytest.raises(RuntimeError, match="awaited something other"):
        client.portal.call(db.write_at_once, suspends)
    assert _words(client, "甲乙丙", "丁戊己", "庚辛壬") == {"甲乙丙"}
    # The connection is usable afterwards, and the ordinary writer sees what it committed.
    assert client.portal.call(db.write_at_once, lambda conn: add(conn, "癸子丑")) == 2
    assert _words(client, "癸子丑") == {"癸子丑"}


def _lock_held_elsewhere(path) -> sqlite3.Connection:
    """Another process's write transaction, as SQLite sees it: a second connection inside BEGIN IMMEDIATE."""
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


def _add_word(word: str):
    async def add(conn) -> str:
        await conn.execute("INSERT INTO screening_words (list, word) VALUES ('suspect', ?)", (word,))
        return word

    return add


def _in_write_block(db, word: str):
    async def write() -> str:
        async with db.write() as conn:
            await conn.execute("INSERT INTO screening_words (list, word) VALUES ('suspect', ?)", (word,))
        return word

    return write


# Both ways into a write transaction: the handlers' ``db.write()`` block and the queued ``write_at_once``.
WRITERS = {
    "write": lambda db, word: _in_write_block(db, word),
    "write_at_once": lambda db, word: lambda: db.write_at_once(_add_word(word)),
}


@pytest.mark.sqlite_only("BEGIN IMMEDIATE across processes (PostgreSQL: tests/test_postgres_hosts.py)")
@pytest.mark.parametrize("writer", WRITERS)
def test_a_write_waits_for_a_lock_held_by_another_process(client, writer):
    db = client.app.state.db
    other = _lock_held_elsewhere(db.path)
    threading.Timer(0.3, other.execute, ["COMMIT"]).start()
    started = time.monotonic()
    assert client.portal.call(WRITERS[writer](db, "等锁")) == "等锁"
    assert time.monotonic() - started >= 0.3  # it really waited for the other transaction
    assert _words(client, "等锁") == {"等锁"}
    other.close()


@pytest.mark.sqlite_only("SQLite's busy timeout")
@pytest.mark.parametrize("writer", WRITERS)
def test_a_write_gives_up_after_the_busy_timeout_and_writes_nothing(client, monkeypatch, writer):
    # The writer reads the timeout from its own module (the package only re-exports the number).
    monkeypatch.setattr(sqlite_backend, "BUSY_TIMEOUT_MS", 200)
    db = client.app.state.db
    other = _lock_held_elsewhere(db.path)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            client.portal.call(WRITERS[writer](db, "超时"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert client.portal.call(WRITERS[writer](db, "之后")) == "之后"  # usable again at once
    assert _words(client, "超时", "之后") == {"之后"}


def test_transactions_queued_together_still_fail_alone(client):
    """Concurrent write_at_once calls share one commit; the one that raises takes only its own rows back."""
    db = client.app.state.db

    async def add(conn, word: str) -> str:
        await conn.execute("INSERT INTO screening_words (list, word) VALUES ('suspect', ?)", (word,))
        return word

    async def fails(conn) -> None:
        await add(conn, "坏")
        raise ValueError("boom")

    async def all_at_once() -> list[object]:
        calls = [db.write_at_once(lambda conn, w=w: add(conn, w)) for w in ("甲", "乙")]
        calls += [db.write_at_once(fails), db.write_at_once(lambda conn: add(conn, "丙"))]
        return await asyncio.gather(*calls, return_exceptions=True)

    first, second, failed, last = client.portal.call(all_at_once)
    assert (first, second, last) == ("甲", "乙", "丙")
    assert isinstance(failed, ValueError)
    assert _words(client, "甲", "乙", "丙", "坏") == {"甲", "乙", "丙"}
