"""Bad input and faults of the PostgreSQL backend: a malformed URL stops every command with one line
naming the setting; an unreachable server at start leaves the app up with /healthz 503 naming the
reason and the Chinese 503 page; a server lost mid-run gives the 503 page, writes nothing, and the app
recovers without a restart once the server is back (that last one stops the test cluster itself:
only under `make test-postgres`, which says where it is in CITIZENVOICE_TEST_PG_DIR)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pgtest
import pytest
from starlette.testclient import TestClient
from submit_helpers import form_tokens, post_essay

from citizenvoice import cli

CLUSTER = Path(__file__).resolve().parent.parent / "scripts" / "pg-test-cluster"


@pytest.mark.parametrize("url", ["mysql://u@h/db", "postgresql://u@h:port/db", "postgresql://u@h:5432/", "nonsense"])
def test_a_malformed_database_url_is_one_clear_error_and_exit_1(url, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("CITIZENVOICE_DATABASE_URL", url)
    assert cli.main(["migrate"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("citizenvoice: CITIZENVOICE_DATABASE_URL: "), err
    assert "postgresql://user:password@host:port/dbname" in err[0]


def test_an_unreachable_server_at_start_gives_503_with_the_reason(tmp_path, make_app, caplog) -> None:  # type: ignore[no-untyped-def]
    # Port 9 on localhost: nothing listens (discard is never enabled here), so the connection is refused.
    app = make_app(tmp_path, database_url="postgresql://citizenvoice@127.0.0.1:9/none")
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        health = client.get("/healthz")
        page = client.get("/")
    assert "PostgreSQL unreachable" in caplog.text
    assert health.status_code == 503
    assert health.json()["database"] == "postgresql" and health.json()["database_state"] == "unreachable"
    assert "Connect" in health.json()["reason"] or "refused" in health.json()["reason"].lower()
    assert page.status_code == 503 and 'lang="zh-CN"' in page.text and "数据库暂时无法连接" in page.text


def _cluster(action: str) -> None:
    subprocess.run([str(CLUSTER), action, os.environ["CITIZENVOICE_TEST_PG_DIR"]], check=True, timeout=120)


@pytest.mark.slow
@pytest.mark.skipif(not (pgtest.enabled() and os.environ.get("CITIZENVOICE_TEST_PG_DIR")),
                    reason="stops the test cluster: only under make test-postgres (CITIZENVOICE_TEST_PG_DIR)")
def test_losing_the_server_mid_run_gives_503_writes_nothing_and_recovers(client, settings) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/healthz").status_code == 200
    tokens = form_tokens(client)  # the form as the resident loaded it, before the server went away
    _cluster("stop")
    try:
        lost = post_essay(client, tokens=tokens)
        health = client.get("/healthz")
    finally:
        _cluster("resume")
    assert lost.status_code == 503 and "数据库暂时无法连接" in lost.text and 'lang="zh-CN"' in lost.text
    assert health.status_code == 503 and health.json()["reason"]
    deadline = time.monotonic() + 30
    while client.get("/healthz").status_code != 200:
        assert time.monotonic() < deadline, "no recovery within 30 s"
        time.sleep(0.2)  # waiting for a server process we restarted
    assert pgtest.query(settings, "SELECT count(*) FROM essays") == [(0,)]
    assert post_essay(client).status_code == 303
    assert pgtest.query(settings, "SELECT count(*) FROM essays") == [(1,)]
