"""Two app hosts on one PostgreSQL database (slow; only with CITIZENVOICE_TEST_DATABASE_URL): two real
``citizenvoice serve`` processes, each with its own data directory and page cache, one database.

- The same decision on the same queue item sent through both hosts at once: exactly one wins (303),
  the other is told the essay changed (409), and the essay carries one decision.
- A publish through host A is on host B's cached home page at B's very next response.
- Two hosts running ``citizenvoice migrate`` at once on a new database: each migration is applied
  exactly once, both commands succeed, and the schema is whole.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

import httpx2
import pgtest
import pytest
from test_crash_safety import load_crash_test

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not pgtest.enabled(), reason="needs PostgreSQL (CITIZENVOICE_TEST_DATABASE_URL)"),
]

PASSWORD = "correct horse battery"
SECRET = "two-hosts-share-this-secret-key"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_VERSION = re.compile(r'name="version" value="(\d+)"')


def _env(url: str) -> dict[str, str]:
    return {"CITIZENVOICE_DATABASE_URL": url, "CITIZENVOICE_SECRET_KEY": SECRET}


async def _signed_in(url: str) -> httpx2.AsyncClient:
    client = httpx2.AsyncClient(base_url=url, timeout=30.0)
    page = await client.get("/login")
    response = await client.post("/login", data={"username": "mod", "password": PASSWORD,
                                                 "csrf_token": _CSRF.search(page.text).group(1)})  # fmt: skip
    assert response.status_code == 303, response.text[:300]
    return client


async def _form(client: httpx2.AsyncClient, essay_id: int) -> dict[str, str]:
    page = await client.get(f"/moderate/{essay_id}")
    assert page.status_code == 200, page.text[:300]
    return {"csrf_token": _CSRF.search(page.text).group(1), "version": _VERSION.search(page.text).group(1)}


def _two_hosts(tmp_path: Path):  # type: ignore[no-untyped-def]
    crash_test = load_crash_test()
    url = pgtest.fresh_database()
    env = _env(url)
    subprocess.run([*crash_test.cli(), "user", "add", "mod", "--role", "moderator", "--password-stdin"],
                   input=PASSWORD + "\n", text=True, env=crash_test.server_env(tmp_path / "a", **env),
                   check=True, capture_output=True, timeout=120)  # fmt: skip
    return crash_test, url, env


def _essay_ids(url: str, status: str) -> list[int]:
    class _S:
        database_url = url

    return [r[0] for r in pgtest.query(_S(), "SELECT id FROM essays WHERE status = ? ORDER BY id", (status,))]


def test_the_same_decision_through_two_hosts_wins_once_and_the_other_gets_409(tmp_path: Path) -> None:
    crash_test, url, env = _two_hosts(tmp_path)
    (tmp_path / "a").mkdir(exist_ok=True)
    (tmp_path / "b").mkdir(exist_ok=True)
    with crash_test.running(tmp_path / "a", env=env) as a, crash_test.running(tmp_path / "b", env=env) as b:
        asyncio.run(crash_test.submit_all(a.url, crash_test.make_submissions(1), concurrency=1))
        [essay_id] = _essay_ids(url, "pending")

        async def race() -> list[int]:
            on_a, on_b = await _signed_in(a.url), await _signed_in(b.url)
            try:
                form_a, form_b = await _form(on_a, essay_id), await _form(on_b, essay_id)
                assert form_a["version"] == form_b["version"]
                answers = await asyncio.gather(
                    on_a.post(f"/moderate/{essay_id}/decision", data={**form_a, "action": "approve"}),
                    on_b.post(f"/moderate/{essay_id}/decision", data={**form_b, "action": "approve"}),
                )
                return sorted(r.status_code for r in answers)
            finally:
                await on_a.aclose()
                await on_b.aclose()

        statuses = asyncio.run(race())
    assert statuses == [303, 409]

    class _S:
        database_url = url

    approvals = pgtest.query(_S(), "SELECT count(*) FROM essay_events WHERE essay_id = ? AND action = 'approve'",
                             (essay_id,))  # fmt: skip
    assert approvals == [(1,)]
    assert _essay_ids(url, "published") == [essay_id]


def test_a_publish_through_host_a_is_on_host_bs_cached_page_at_once(tmp_path: Path) -> None:
    crash_test, url, env = _two_hosts(tmp_path)
    (tmp_path / "a").mkdir(exist_ok=True)
    (tmp_path / "b").mkdir(exist_ok=True)
    with crash_test.running(tmp_path / "a", env=env) as a, crash_test.running(tmp_path / "b", env=env) as b:
        asyncio.run(crash_test.submit_all(a.url, crash_test.make_submissions(1), concurrency=1))
        [essay_id] = _essay_ids(url, "pending")
        headline = crash_test.make_submissions(1)[0].headline
        before = [httpx2.get(f"{b.url}/", timeout=10) for _ in range(2)]
        assert "hit" in before[1].headers.get("x-cache", before[1].headers.get("cache-status", "")), before[1].headers
        assert headline not in before[1].text

        async def approve_on_a() -> int:
            client = await _signed_in(a.url)
            try:
                form = await _form(client, essay_id)
                response = await client.post(f"/moderate/{essay_id}/decision", data={**form, "action": "approve"})
                return response.status_code
            finally:
                await client.aclose()

        assert asyncio.run(approve_on_a()) == 303
        after = httpx2.get(f"{b.url}/", timeout=10)
    assert after.status_code == 200
    assert headline in after.text


def test_two_hosts_migrating_one_new_database_at_once_apply_each_migration_once(tmp_path: Path) -> None:
    from citizenvoice import db

    crash_test = load_crash_test()
    url = pgtest.empty_database()
    hosts = [subprocess.Popen([*crash_test.cli(), "migrate"], env=crash_test.server_env(tmp_path / name, **_env(url)),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name in ("a", "b")]  # fmt: skip
    outputs = [host.communicate(timeout=180) for host in hosts]
    assert [host.returncode for host in hosts] == [0, 0], outputs
    said = sorted(out.strip().splitlines()[-1] for out, _ in outputs)
    # One applied the lot; the other waited for the migration lock and then found nothing to do.
    assert said[0].startswith("applied: 0001_core, ") and said[1] == "database is up to date", outputs
    expected = [m.version for m in db.available_migrations(db.PG_MIGRATIONS_DIR)]
    rows = pgtest.query(_settings_for(url), "SELECT version, count(*) FROM schema_migrations GROUP BY version ORDER BY version")
    assert rows == [(v, 1) for v in expected]
    assert pgtest.query(_settings_for(url), "SELECT count(*) FROM directions")[0][0] > 0  # the seeded boards, once


def _settings_for(url: str):  # type: ignore[no-untyped-def]
    from types import SimpleNamespace

    return SimpleNamespace(database_url=url)
