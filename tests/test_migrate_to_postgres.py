"""``citizenvoice migrate-to-postgres``: the demo site moved from SQLite onto PostgreSQL renders every
public page and the authors' tracking pages exactly as before; a second move into the now non-empty
database is refused with exit 1 and copies nothing. The copy drops the tables' indexes, keys and
triggers while it fills them: afterwards the schema is the migrations' own, and a move that fails
half-way leaves the target empty and whole, so the next attempt succeeds (only with
CITIZENVOICE_TEST_DATABASE_URL)."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pgtest
import pytest
from starlette.testclient import TestClient

from citizenvoice.app import create_app
from citizenvoice.domain import submission

pytestmark = pytest.mark.skipif(not pgtest.enabled(), reason="needs PostgreSQL (CITIZENVOICE_TEST_DATABASE_URL)")

SECRET_KEY = "test-secret-key-not-for-production"  # conftest.py's, which make_settings uses
_CSRF = re.compile(r'(name="csrf_token" value=")[^"]+"')


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "CITIZENVOICE_DATA_DIR": str(data_dir), "CITIZENVOICE_SECRET_KEY": SECRET_KEY}
    return subprocess.run([sys.executable, "-c", "import sys; from citizenvoice.cli import main; sys.exit(main())",
                           *args], env=env, capture_output=True, text=True, timeout=300)  # fmt: skip


# Everything the copy drops and recreates, as the catalogue defines it.
_SCHEMA = [
    "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY 2",
    "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint"
    " WHERE connamespace = current_schema()::regnamespace ORDER BY 1, 2",
    "SELECT tgrelid::regclass::text, tgname, tgenabled FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2",
]


def _schema(settings) -> list[list[tuple[object, ...]]]:  # type: ignore[no-untyped-def]
    return [[tuple(r) for r in pgtest.query(settings, sql)] for sql in _SCHEMA]


def _pages(settings, paths: list[str]) -> dict[str, tuple[int, str]]:  # type: ignore[no-untyped-def]
    with TestClient(create_app(settings), base_url="http://testserver", follow_redirects=False) as client:
        return {p: (r.status_code, _CSRF.sub(r"\1…", r.text)) for p in paths for r in [client.get(p)]}


def test_the_demo_site_moves_and_every_page_compares_equal(tmp_path: Path, make_settings) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    assert _cli(data, "demo").returncode == 0
    on_sqlite = make_settings(tmp_path, database_url="")
    url = pgtest.fresh_database()

    moved = _cli(data, "migrate-to-postgres", "--to", url)
    assert moved.returncode == 0, moved.stderr
    assert "every count and checksum agrees" in moved.stdout
    assert re.search(r"^essays\s+(\d+) → +\1 +checksum ok$", moved.stdout, re.M), moved.stdout

    essays = pgtest.query(on_sqlite, "SELECT id, status FROM essays ORDER BY id")
    boards = [r[0] for r in pgtest.query(on_sqlite, "SELECT slug FROM directions ORDER BY id")]
    assert any(status == "published" for _, status in essays) and any(s == "pending" for _, s in essays)
    paths = ["/", "/feed.atom", "/sitemap.xml", "/sitemap-pages.xml", "/sitemap-essays.xml", "/robots.txt",
             "/search?q=港口", "/search?q=城", *(f"/boards/{slug}" for slug in boards),
             *(f"/boards/{slug}/feed.atom" for slug in boards),
             *(f"/essays/{essay_id}" for essay_id, _ in essays),
             *(f"/track/code/{submission.lookup_token(SECRET_KEY, essay_id)}" for essay_id, _ in essays)]
    before = _pages(on_sqlite, paths)
    after = _pages(make_settings(tmp_path, database_url=url), paths)
    # Search finds the same essays; its order after the headline hits is bm25 on SQLite and newest
    # first on PostgreSQL (docs/architecture.md), so those pages are compared as sets of results.
    exact = [p for p in paths if not p.startswith("/search")]
    assert [p for p in exact if before[p] != after[p]] == []
    for p in (p for p in paths if p.startswith("/search")):
        found = [sorted(set(re.findall(r'href="/essays/(\d+)"', page[1]))) for page in (before[p], after[p])]
        assert found[0] == found[1] and found[0], p
    assert sum(1 for p in paths if before[p][0] == 200) > len(boards)

    again = _cli(data, "migrate-to-postgres", "--to", url)
    assert again.returncode == 1
    assert "not empty" in again.stderr and "essays" in again.stderr


def test_after_a_move_the_indexes_keys_and_triggers_are_the_migrations_own(tmp_path: Path, make_settings) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    assert _cli(data, "demo").returncode == 0
    fresh = _schema(make_settings(tmp_path, database_url=pgtest.fresh_database()))
    assert any("cv_search_grams" in r[2] for r in fresh[0]) and any("FOREIGN KEY" in r[3] for r in fresh[1]) and fresh[2]
    url = pgtest.fresh_database()

    assert _cli(data, "migrate-to-postgres", "--to", url).returncode == 0
    assert _schema(make_settings(tmp_path, database_url=url)) == fresh


def test_a_move_that_fails_half_way_leaves_the_target_empty_and_a_second_attempt_succeeds(
    tmp_path: Path, make_settings  # type: ignore[no-untyped-def]
) -> None:
    data = tmp_path / "data"
    assert _cli(data, "demo").returncode == 0
    on_sqlite = make_settings(tmp_path, database_url="")
    # A row PostgreSQL refuses only once the rows are in, when the copy restores the foreign keys: a
    # revision of an essay that does not exist (SQLite checks foreign keys per connection, not this one).
    source = sqlite3.connect(on_sqlite.db_path)
    source.execute("INSERT INTO essay_revisions (essay_id, number, headline, body, actor_kind, created_at)"
                   " SELECT max(id) + 1000, 1, '标题', '正文', 'author', '2026-01-01T00:00:00Z' FROM essays")  # fmt: skip
    source.commit()
    url = pgtest.fresh_database()
    on_postgres = make_settings(tmp_path, database_url=url)
    fresh = _schema(on_postgres)

    failed = _cli(data, "migrate-to-postgres", "--to", url)
    assert failed.returncode == 1
    assert "the copy failed" in failed.stderr and "essay_revisions" in failed.stderr, failed.stderr
    assert "Traceback" not in failed.stderr
    assert pgtest.query(on_postgres, "SELECT count(*) FROM essays") == [(0,)]
    assert _schema(on_postgres) == fresh

    source.execute("DELETE FROM essay_revisions WHERE essay_id NOT IN (SELECT id FROM essays)")
    source.commit()
    source.close()
    moved = _cli(data, "migrate-to-postgres", "--to", url)
    assert moved.returncode == 0, moved.stderr
    assert "every count and checksum agrees" in moved.stdout
    assert _schema(on_postgres) == fresh
