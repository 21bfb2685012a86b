"""``citizenvoice demo``: hand-written essays across boards and voices, approved and pending, loaded
through the lifecycle, and safe to run twice."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from citizenvoice import cli
from citizenvoice.domain import submission
from citizenvoice.ops import demo
from citizenvoice.settings import Settings
from citizenvoice.text.normalize import normalize_text, visible_length
from tests.submit_helpers import field_value, parse


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "data"
    for name in ("CITIZENVOICE_DATABASE_PATH", "CITIZENVOICE_MEDIA_DIR", "CITIZENVOICE_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CITIZENVOICE_DATA_DIR", str(directory))
    return directory


def rows(data_dir: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(data_dir / "citizenvoice.db") as conn:
        return conn.execute(sql).fetchall()


def test_demo_text_is_original_and_obeys_the_form_rules() -> None:
    assert 8 <= len(demo.ESSAYS) <= 12
    assert len({e.code for e in demo.ESSAYS}) == len(demo.ESSAYS)
    boards = {slug: n for n, slug in enumerate({e.direction for e in demo.ESSAYS}, start=1)}
    for essay in demo.ESSAYS:
        assert 400 <= visible_length(essay.body) <= 900, essay.code
        assert normalize_text(essay.body) == essay.body
        form = {
            "headline": essay.headline, "body": essay.body, "direction": essay.direction,
            "author_role": essay.author_role, "author_name": essay.author_name,
            "affiliation": essay.affiliation, "byline_mode": essay.byline_mode, "phone": essay.phone,
            "consent_publish": "yes", "consent_privacy": "yes",
        }
        assert submission.validate(form, boards).errors == {}, essay.code
    assert len({e.direction for e in demo.ESSAYS}) >= 6
    assert {"community", "enterprise", "resident", "research", "student"} <= {e.author_role for e in demo.ESSAYS}


def test_demo_loads_once_with_approved_and_pending_essays(data_dir: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli.main(["demo"]) == 0
    assert f"added {len(demo.ESSAYS)} demo essays" in capsys.readouterr().out
    assert cli.main(["demo"]) == 0
    assert "nothing added" in capsys.readouterr().out

    statuses = dict(rows(data_dir, "SELECT status, count(*) FROM essays GROUP BY status"))
    assert sum(statuses.values()) == len(demo.ESSAYS)
    assert statuses["published"] >= 4 and statuses["pending"] >= 2
    assert statuses["printed"] == 1 and statuses["needs_revision"] == 1
    boards = rows(data_dir, "SELECT count(DISTINCT direction_id) FROM essays")[0][0]
    assert boards >= 6
    # every status change went through the lifecycle, with its event
    events = rows(data_dir, "SELECT action, actor_kind FROM essay_events ORDER BY id")
    assert events.count(("submit", "author")) == len(demo.ESSAYS)
    assert events.count(("approve", "moderator")) == statuses["published"] + statuses["printed"]
    assert ("print", "editor") in events and ("revise", "moderator") in events
    printed = rows(data_dir, "SELECT printed_edition FROM essays WHERE status = 'printed'")[0][0]
    assert "锦州日报" in printed and "T08" in printed
    assert rows(data_dir, "SELECT count(*) FROM essay_revisions")[0][0] == len(demo.ESSAYS)


def test_demo_essay_can_be_found_and_revised_by_its_author(data_dir: Path, make_app) -> None:
    assert cli.main(["demo"]) == 0
    with TestClient(make_app(Settings.from_env()), follow_redirects=False) as client:
        form = parse(client.get("/track").text)
        response = client.post("/track", data={"csrf_token": field_value(form, "csrf_token"),
                                               "code": "CV-DEMO-0009", "phone_tail": "0009"})
        assert response.status_code == 303
        page = client.get(response.headers["location"]).text
        assert "需修改" in page and "窗口工作人员的全名请删去" in page
        assert "重新提交审核" in page
