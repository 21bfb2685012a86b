"""backup / restore / check / purge, run the way an operator runs them: through the command line, on
whichever database the suite runs on (SQLite's backup API, or pg_dump / pg_restore on PostgreSQL)."""

from __future__ import annotations

import json
import sqlite3
import tarfile
import threading
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pgtest
import pytest

from citizenvoice import cli
from citizenvoice import db as database
from citizenvoice.ops import maintenance as operations
from citizenvoice.settings import Settings

PHONE = "13812345678"


def run_cli(monkeypatch, settings: Settings, *argv: str) -> int:
    monkeypatch.setenv("CITIZENVOICE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CITIZENVOICE_SECRET_KEY", settings.secret_key)
    return cli.main(list(argv))


_PG_INSERT_ESSAY = (
    "WITH e AS (INSERT INTO essays (tracking_code, token_hash, status, direction_id, headline, body, author_role,"
    " author_name, byline_mode, phone, photo_path, submitted_at, updated_at)"
    " VALUES (?, ?, 'pending', 1, ?, ?, 'resident', '市民', 'full', ?, ?, '2026-01-01T00:00:00Z',"
    " '2026-01-01T00:00:00Z') RETURNING id, headline, body),"
    " r AS (INSERT INTO essay_revisions (essay_id, number, headline, body, actor_kind, created_at)"
    " SELECT id, 1, headline, body, 'author', '2026-01-01T00:00:00Z' FROM e)"
    " INSERT INTO essay_events (essay_id, action, to_status, actor_kind, created_at)"
    " SELECT id, 'submit', 'pending', 'author', '2026-01-01T00:00:00Z' FROM e"
)


def insert_essay(conn: Any, n: int, photo: str | None = None) -> None:
    """One essay as the app writes it: the essay, its first revision and its event in one transaction
    (on PostgreSQL one statement: pgtest's connection commits each statement on its own)."""
    if isinstance(conn, pgtest.SyncPg):
        conn.execute(_PG_INSERT_ESSAY, (f"CV-{n:09d}", f"hash-{n}", f"标题{n}", "正文。" * 200, PHONE, photo))
        return
    with conn:
        cur = conn.execute(
            "INSERT INTO essays (tracking_code, token_hash, status, direction_id, headline, body, author_role,"
            " author_name, byline_mode, phone, photo_path, submitted_at, updated_at)"
            " VALUES (?, ?, 'pending', 1, ?, ?, 'resident', '市民', 'full', ?, ?, '2026-01-01T00:00:00Z',"
            " '2026-01-01T00:00:00Z')",
            (f"CV-{n:09d}", f"hash-{n}", f"标题{n}", "正文。" * 200, PHONE, photo),
        )
        essay_id = cur.lastrowid
        conn.execute(
            "INSERT INTO essay_revisions (essay_id, number, headline, body, actor_kind, created_at)"
            " VALUES (?, 1, ?, ?, 'author', '2026-01-01T00:00:00Z')",
            (essay_id, f"标题{n}", "正文。" * 200),
        )
        conn.execute(
            "INSERT INTO essay_events (essay_id, action, to_status, actor_kind, created_at)"
            " VALUES (?, 'submit', 'pending', 'author', '2026-01-01T00:00:00Z')",
            (essay_id,),
        )


def connect(settings: Settings) -> Any:
    """The app's database: a sqlite3 connection in WAL mode, or tests/pgtest.py's on PostgreSQL."""
    if settings.database_url:
        return pgtest.connect(settings)
    conn = sqlite3.connect(settings.db_path, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    return conn


@pytest.fixture
def live(tmp_path, make_settings) -> Settings:
    settings = make_settings(tmp_path / "live")
    database.migrate(settings.database_url or settings.db_path)
    conn = connect(settings)
    for n in range(3):
        photo = f"photos/p{n}.jpg"
        (settings.media_path / "photos").mkdir(parents=True, exist_ok=True)
        (settings.media_path / photo).write_bytes(b"jpeg %d" % n)
        insert_essay(conn, n, photo)
    conn.close()
    return settings


def consistency(settings: Settings) -> dict[str, int]:
    if not settings.database_url:  # PostgreSQL enforces its constraints on every write
        conn = sqlite3.connect(settings.db_path)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        finally:
            conn.close()
    essays = pgtest.query(settings, "SELECT count(*) FROM essays")[0][0]
    # every committed essay arrived with exactly its revision and its event: no torn transaction
    torn = pgtest.query(
        settings,
        "SELECT count(*) FROM essays e WHERE (SELECT count(*) FROM essay_revisions r WHERE r.essay_id = e.id) != 1"
        " OR (SELECT count(*) FROM essay_events v WHERE v.essay_id = e.id) != 1",
    )[0][0]
    revisions = pgtest.query(settings, "SELECT count(*) FROM essay_revisions")[0][0]
    return {"essays": essays, "torn": torn, "revisions": revisions}


def prefill(settings: Settings, first: int, last: int) -> None:
    """Essays ``first``..``last`` (enough pages that a copy is not instantaneous)."""
    if not settings.database_url:
        conn = connect(settings)
        for n in range(first, last + 1):
            insert_essay(conn, n)
        conn.close()
        return
    for table, sql in (
        ("essays", "INSERT INTO essays (tracking_code, token_hash, status, direction_id, headline, body, author_role,"
                   " author_name, byline_mode, phone, submitted_at, updated_at)"
                   " SELECT 'CV-' || lpad(n::text, 9, '0'), 'hash-' || n, 'pending', 1, '标题' || n, repeat('正文。', 200),"
                   " 'resident', '市民', 'full', ?, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'"
                   " FROM generate_series(?::int, ?::int) AS n"),
        ("essay_revisions", "INSERT INTO essay_revisions (essay_id, number, headline, body, actor_kind, created_at)"
                            " SELECT id, 1, headline, body, 'author', submitted_at FROM essays e"
                            " WHERE NOT EXISTS (SELECT 1 FROM essay_revisions r WHERE r.essay_id = e.id)"),
        ("essay_events", "INSERT INTO essay_events (essay_id, action, to_status, actor_kind, created_at)"
                         " SELECT id, 'submit', 'pending', 'author', submitted_at FROM essays e"
                         " WHERE NOT EXISTS (SELECT 1 FROM essay_events v WHERE v.essay_id = e.id)"),
    ):  # fmt: skip
        pgtest.execute(settings, sql, (PHONE, first, last) if table == "essays" else ())


def test_backup_while_a_writer_is_busy_restores_to_a_consistent_database(live, tmp_path, monkeypatch,
                                                                         make_settings):
    prefill(live, 3, 1499)
    busy, backup_started, stop = threading.Event(), threading.Event(), threading.Event()
    after_backup_started = [0]

    def writer() -> None:
        wconn = connect(live)
        n = 100_000
        while not (stop.is_set() and after_backup_started[0] >= 3):
            insert_essay(wconn, n)
            n += 1
            if n == 100_020:
                busy.set()
            if backup_started.is_set():
                after_backup_started[0] += 1
        wconn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        busy.wait()
        backup_started.set()
        assert run_cli(monkeypatch, live, "backup", str(tmp_path / "nightly")) == 0
    finally:
        stop.set()
        thread.join()

    restored = make_settings(tmp_path / "restored")
    assert run_cli(monkeypatch, restored, "restore", str(tmp_path / "nightly")) == 0
    state = consistency(restored)
    assert state["torn"] == 0 and state["essays"] == state["revisions"]
    assert 1500 + 20 <= state["essays"] < consistency(live)["essays"]
    manifest = operations.verify_backup(tmp_path / "nightly")
    assert manifest["table_counts"]["essays"] == state["essays"]
    assert (restored.media_path / "photos/p1.jpg").read_bytes() == b"jpeg 1"
    assert run_cli(monkeypatch, restored, "check") == 0


def test_tar_gz_backup_holds_database_media_and_manifest(live, tmp_path, monkeypatch, capsys, make_settings):
    target = tmp_path / "backups" / "cv.tar.gz"
    assert run_cli(monkeypatch, live, "backup", str(target)) == 0
    with tarfile.open(target) as tar:
        names = set(tar.getnames())
    database_file = "citizenvoice.pgdump" if live.database_url else "citizenvoice.db"
    assert {database_file, "manifest.json", "media/photos/p0.jpg"} <= names
    assert "3 essays, 3 media files" in capsys.readouterr().out
    assert run_cli(monkeypatch, live, "backup", str(target)) == 1  # never overwrites a backup

    restored = make_settings(tmp_path / "restored")
    assert run_cli(monkeypatch, restored, "restore", str(target)) == 0
    assert consistency(restored)["essays"] == 3
    assert (restored.media_path / "photos/p2.jpg").read_bytes() == b"jpeg 2"


def test_restore_refuses_to_overwrite_a_database_with_content(live, tmp_path, monkeypatch, capsys):
    assert run_cli(monkeypatch, live, "backup", str(tmp_path / "b1")) == 0
    conn = connect(live)
    insert_essay(conn, 99)
    conn.close()
    (live.media_path / "photos" / "new.jpg").write_bytes(b"new")

    assert run_cli(monkeypatch, live, "restore", str(tmp_path / "b1")) == 2
    assert "--force" in capsys.readouterr().err
    assert consistency(live)["essays"] == 4  # untouched

    assert run_cli(monkeypatch, live, "restore", str(tmp_path / "b1"), "--force") == 0
    assert consistency(live)["essays"] == 3
    assert not (live.media_path / "photos" / "new.jpg").exists()
    moved = [p for p in live.data_dir.iterdir() if p.name.startswith("media.before-restore-")]
    assert len(moved) == 1 and (moved[0] / "photos" / "new.jpg").read_bytes() == b"new"


def test_restore_rejects_a_tampered_backup(live, tmp_path, monkeypatch, capsys, make_settings):
    assert run_cli(monkeypatch, live, "backup", str(tmp_path / "b")) == 0
    database_file = "citizenvoice.pgdump" if live.database_url else "citizenvoice.db"
    with (tmp_path / "b" / database_file).open("r+b") as f:
        f.seek(5000)
        f.write(b"garbage")
    restored = make_settings(tmp_path / "restored")
    assert run_cli(monkeypatch, restored, "restore", str(tmp_path / "b")) == 2
    assert "checksum" in capsys.readouterr().err
    if restored.database_url:
        assert pgtest.query(restored, "SELECT count(*) FROM essays") == [(0,)]
    else:
        assert not restored.db_path.exists()


def test_check_reports_orphaned_media_and_missing_migrations(live, monkeypatch, capsys):
    assert run_cli(monkeypatch, live, "check") == 0
    assert "all checks passed" in capsys.readouterr().out

    (live.media_path / "photos" / "forgotten.jpg").write_bytes(b"x")
    (live.media_path / "photos" / "p0.jpg").unlink()
    assert run_cli(monkeypatch, live, "check") == 1
    out = capsys.readouterr().out
    assert "orphaned media file (no essay refers to it): photos/forgotten.jpg" in out
    assert "photo missing from media: photos/p0.jpg" in out

    (live.media_path / "photos" / "forgotten.jpg").unlink()
    (live.media_path / "photos" / "p0.jpg").write_bytes(b"jpeg 0")
    pgtest.execute(live, "DELETE FROM schema_migrations WHERE name = '0006_admin'")
    assert run_cli(monkeypatch, live, "check") == 1
    assert "migration not applied: 0006_admin" in capsys.readouterr().out


def test_check_reports_queue_counts_that_disagree_with_the_essays(live, monkeypatch, capsys):
    assert run_cli(monkeypatch, live, "check") == 0
    capsys.readouterr()
    pgtest.execute(live, "UPDATE essay_counts SET n = n + 2 WHERE status = 'pending'")
    assert run_cli(monkeypatch, live, "check") == 1
    assert "integrity: essay counts: pending at review stage 1 kept as 5, essays hold 3" in capsys.readouterr().out


def test_check_without_a_database_fails(tmp_path, monkeypatch, capsys, make_settings):
    overrides = {"database_url": pgtest.empty_database()} if pgtest.enabled() else {}
    assert run_cli(monkeypatch, make_settings(tmp_path / "empty", **overrides), "check") == 1
    assert "no database" in capsys.readouterr().out


def test_purge_command_is_safe_to_repeat(live, monkeypatch, capsys):
    conn = connect(live)
    with conn:
        conn.execute("UPDATE essays SET status = 'rejected' WHERE id = 1")
    conn.close()
    assert run_cli(monkeypatch, live, "purge") == 0
    assert "essays erased: 1" in capsys.readouterr().out  # 2026-01-01 is past the 30-day rule
    assert pgtest.query(live, "SELECT phone, photo_path FROM essays WHERE id = 1") == [(None, None)]
    assert pgtest.query(live, "SELECT phone FROM essays WHERE id = 2") == [(PHONE,)]
    assert not (live.media_path / "photos" / "p0.jpg").exists()
    assert run_cli(monkeypatch, live, "purge") == 0
    assert "essays erased: 0, photos deleted: 0" in capsys.readouterr().out
    if not live.database_url:
        wal = live.db_path.with_name(live.db_path.name + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0  # no old page images of erased data left in it


def test_export_and_erase_by_tracking_code_for_a_verified_request(live, monkeypatch, capsys):
    conn = connect(live)
    with conn:
        conn.execute("UPDATE essays SET tracking_code = 'CV-AB3D-EF7H', email = 'a@example.cn' WHERE id = 1")
    conn.close()
    assert run_cli(monkeypatch, live, "export", "cv ab3d ef7h") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["essay"]["phone"] == PHONE and document["essay"]["email"] == "a@example.cn"
    assert "token_hash" not in document["essay"]

    assert run_cli(monkeypatch, live, "erase", "CV-AB3D-EF7H", "--keep-text", "remove") == 0
    assert pgtest.query(live, "SELECT phone, email, body FROM essays WHERE id = 1") == [(None, None, "")]
    assert pgtest.query(live, "SELECT actor_name, action, target FROM admin_audit") == [
        ("command line", "privacy.erase", "essay:CV-AB3D-EF7H")
    ]
    assert not (live.media_path / "photos" / "p0.jpg").exists()
    assert run_cli(monkeypatch, live, "erase", "CV-ZZZZ-ZZZZ", "--keep-text", "remove") == 1


@pytest.mark.skipif(not pgtest.enabled(), reason="needs PostgreSQL (CITIZENVOICE_TEST_DATABASE_URL)")
def test_a_backup_restores_only_onto_the_database_kind_it_came_from(live, tmp_path, monkeypatch, capsys,
                                                                    make_settings):
    on_sqlite = make_settings(tmp_path / "sqlite-site", database_url="")
    database.migrate(on_sqlite.db_path)
    assert run_cli(monkeypatch, on_sqlite, "backup", str(tmp_path / "from-sqlite")) == 0
    assert run_cli(monkeypatch, live, "backup", str(tmp_path / "from-postgres")) == 0
    capsys.readouterr()

    assert run_cli(monkeypatch, live, "restore", str(tmp_path / "from-sqlite"), "--force") == 2
    assert "migrate-to-postgres" in capsys.readouterr().err
    assert consistency(live)["essays"] == 3  # untouched
    assert run_cli(monkeypatch, on_sqlite, "restore", str(tmp_path / "from-postgres"), "--force") == 2
    assert "PostgreSQL" in capsys.readouterr().err


@pytest.fixture
def owned_by_a_plain_role(tmp_path, make_settings) -> Any:
    """A site whose database belongs to an ordinary login role (no superuser, no CREATEDB): how a
    paper's DBA hands the app its database."""
    role = f"cv_app_{tmp_path.name[-24:].lower().replace('-', '_')}"
    name = f"{role}_db"
    pgtest._blocking(lambda: pgtest._admin(
        f"CREATE ROLE {role} LOGIN PASSWORD 'app-password' NOSUPERUSER NOCREATEDB NOCREATEROLE",
        f'CREATE DATABASE "{name}" OWNER {role}'))  # fmt: skip
    parts = urlsplit(pgtest.url_for(name))
    url = urlunsplit(parts._replace(netloc=f"{role}:app-password@{parts.hostname}:{parts.port}"))
    yield make_settings(tmp_path / "site", database_url=url)
    pgtest._blocking(lambda: pgtest._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f"DROP ROLE {role}"))


@pytest.mark.skipif(not pgtest.enabled(), reason="needs PostgreSQL (CITIZENVOICE_TEST_DATABASE_URL)")
def test_a_database_owner_without_superuser_migrates_backs_up_and_restores(owned_by_a_plain_role, tmp_path,
                                                                          monkeypatch, capsys):
    site = owned_by_a_plain_role
    assert run_cli(monkeypatch, site, "migrate") == 0  # the extensions it creates are trusted ones
    conn = connect(site)
    for n in range(2):
        insert_essay(conn, n, None)
    conn.close()
    assert run_cli(monkeypatch, site, "backup", str(tmp_path / "nightly")) == 0
    conn = connect(site)
    insert_essay(conn, 7, None)
    conn.close()
    capsys.readouterr()

    assert run_cli(monkeypatch, site, "restore", str(tmp_path / "nightly"), "--force") == 0
    assert "restored" in capsys.readouterr().out
    assert consistency(site)["essays"] == 2
    assert run_cli(monkeypatch, site, "check") == 0
    assert "all checks passed" in capsys.readouterr().out
    # The restored schema still belongs to the app's role: the next release's migration can alter it.
    owners = pgtest.query(site, "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
    assert owners == [(urlsplit(site.database_url).username,)]
