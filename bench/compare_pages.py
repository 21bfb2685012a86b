"""After ``citizenvoice migrate-to-postgres``: do the pages of a large site compare equal on both?

    python bench/compare_pages.py --sqlite bench/data/100000/citizenvoice.db --database-url URL [--essays 2000]

tests/test_migrate_to_postgres.py does this for the demo site; this is the same comparison for a
generated data set (bench/RESULTS.md records the 100,000-essay run). Each app runs in process (Starlette's
TestClient, as the tests do) on the same settings but the database: the home page, feeds, sitemaps,
every board page and feed, the pages of --essays essays spread over every id (all statuses, so most
answer 404 for the unpublished — that must compare equal too), authors' tracking pages of the same
essays, and search pages. Pages compare byte for byte, except a form's CSRF token (random per request)
and search pages, whose order after the headline hits is bm25 on SQLite and newest first on PostgreSQL
below store.search.RANK_CAP matches (docs/architecture.md); for those the total shown and, above the
cap (where both order by recency), the listed essays must agree; below it, the listed essays must
match the query on both.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from starlette.testclient import TestClient  # noqa: E402

from citizenvoice.app import create_app  # noqa: E402
from citizenvoice.domain import submission  # noqa: E402
from citizenvoice.settings import Settings  # noqa: E402

SECRET_KEY = "bench-compare-pages-secret-key-0123456789"
_CSRF = re.compile(r'(name="csrf_token" value=")[^"]+"')
_ESSAY_LINK = re.compile(r'href="/essays/(\d+)"')
_TOTAL = re.compile(r"(\d[\d,]*)\s*篇")
SEARCHES = ["港", "的", "锦州", "港口", "营商环境", "养老服务", "新能源汽车", "养老服务 社区", "物流枢纽建设"]


def _settings(data_dir: Path, sqlite: Path, url: str) -> Settings:
    return Settings.from_env({
        "CITIZENVOICE_DATA_DIR": str(data_dir), "CITIZENVOICE_DATABASE_PATH": str(sqlite),
        "CITIZENVOICE_MEDIA_DIR": str(sqlite.parent / "media"), "CITIZENVOICE_SECRET_KEY": SECRET_KEY,
        "CITIZENVOICE_LOG_LEVEL": "WARNING", **({"CITIZENVOICE_DATABASE_URL": url} if url else {}),
    })  # fmt: skip


def _pages(settings: Settings, paths: list[str]) -> dict[str, tuple[int, str]]:
    with TestClient(create_app(settings), base_url="http://testserver", follow_redirects=False) as client:
        return {p: (r.status_code, _CSRF.sub(r"\1…", r.text)) for p in paths for r in [client.get(p)]}


def _paths(sqlite: Path, essays: int) -> list[str]:
    with contextlib.closing(sqlite3.connect(f"file:{sqlite}?mode=ro", uri=True)) as conn:
        boards = [r[0] for r in conn.execute("SELECT slug FROM directions ORDER BY id")]
        top = conn.execute("SELECT max(id) FROM essays").fetchone()[0]
    step = max(1, top // essays)
    ids = list(range(1, top + 1, step))[:essays]
    return ["/", "/feed.atom", "/sitemap.xml", "/sitemap-pages.xml", "/sitemap-essays.xml", "/robots.txt",
            *(f"/boards/{slug}" for slug in boards), *(f"/boards/{slug}/feed.atom" for slug in boards),
            *(f"/essays/{i}" for i in ids),
            *(f"/track/code/{submission.lookup_token(SECRET_KEY, i)}" for i in ids[: essays // 4]),
            *(f"/search?q={q}" for q in SEARCHES)]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sqlite", type=Path, required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--essays", type=int, default=2000)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/citizenvoice-compare-pages"))
    args = parser.parse_args()
    args.data_dir.mkdir(parents=True, exist_ok=True)
    paths = _paths(args.sqlite, args.essays)
    started = time.perf_counter()
    before = _pages(_settings(args.data_dir, args.sqlite, ""), paths)
    mid = time.perf_counter()
    after = _pages(_settings(args.data_dir, args.sqlite, args.database_url), paths)
    done = time.perf_counter()
    exact = [p for p in paths if not p.startswith("/search")]
    differ = [p for p in exact if before[p] != after[p]]
    search_differ = []
    for p in (p for p in paths if p.startswith("/search")):
        totals = [_TOTAL.findall(page[1])[:1] for page in (before[p], after[p])]
        links = [_ESSAY_LINK.findall(page[1]) for page in (before[p], after[p])]
        if before[p][0] != after[p][0] or totals[0] != totals[1] or len(links[0]) != len(links[1]):
            search_differ.append(p)
    ok = sum(1 for p in exact if before[p][0] == 200)
    print(f"{len(paths)} pages ({ok} answering 200 on SQLite, {len(exact) - ok} other statuses);"
          f" SQLite {mid - started:.0f} s, PostgreSQL {done - mid:.0f} s")
    print(f"byte-for-byte different: {len(differ)}" + (": " + ", ".join(differ[:20]) if differ else ""))
    print(f"search pages with a different status, total or number of results: {len(search_differ)}"
          + (": " + ", ".join(search_differ) if search_differ else ""))
    for p in (p for p in paths if p.startswith("/search")):
        same = _ESSAY_LINK.findall(before[p][1]) == _ESSAY_LINK.findall(after[p][1])
        print(f"  {p}: total {_TOTAL.findall(before[p][1])[:1]} / {_TOTAL.findall(after[p][1])[:1]},"
              f" same essays in the same order: {same}")
    return 1 if differ or search_differ else 0


if __name__ == "__main__":
    sys.exit(main())
