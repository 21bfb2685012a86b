"""``citizenvoice migrate-to-postgres``: the demo site moved from SQLite onto PostgreSQL renders every
public page and the authors' tracking pages exactly as before; a second move into the now non-empty
database is refused with exit 1 and copies nothing (only with CITIZENVOICE_TEST_DATABASE_URL)."""

from __future__ import annotations

import re
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
