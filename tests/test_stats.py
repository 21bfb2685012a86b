"""The editorial meeting's statistics: the numbers on /editor/stats and in its exports are the numbers in
the database (checked against direct queries on generated data), the filters drive page and exports
alike, the exports open in the csv module and openpyxl and hold nothing private, and the target mix is
an editor's form with CSRF."""

from __future__ import annotations

import csv
import datetime as dt
import io
import sqlite3
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pgtest
import pytest
from factories import PHONE, make_essay
from starlette.testclient import TestClient
from support import add_user, csrf_from, login

from bench import generate
from citizenvoice.model.essays import AUTHOR_ROLES

BEIJING = dt.timezone(dt.timedelta(hours=8))
FOUR_VOICES = ("resident", "community", "enterprise", "research")


# --- generated data, one app for the module -----------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory, make_app) -> Iterator[tuple[TestClient, Path]]:
    root = tmp_path_factory.mktemp("stats")
    db_path = root / "data" / "citizenvoice.db"
    db_path.parent.mkdir(parents=True)
    generate.generate(600, db_path, seed=17, processes=0, city="锦州", quiet=True)
    app = make_app(root)
    if app.state.settings.database_url:  # on PostgreSQL: the generated site, moved (tests/pgtest.py)
        pgtest.move_sqlite_file(db_path, app.state.settings.database_url)
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        add_user(client, "stats-editor", "editor")
        login(client, "stats-editor")
        yield client, app.state.settings


def rows(settings, sql: str, params: tuple = ()) -> list[sqlite3.Row]:  # type: ignore[no-untyped-def]
    return pgtest.records(settings, sql, params)


def moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def beijing_day(text: str) -> dt.date:
    return moment(text).astimezone(BEIJING).date()


def year_range() -> dict[str, str]:
    today = dt.datetime.now(BEIJING).date()
    return {"from": (today - dt.timedelta(days=400)).isoformat(), "to": today.isoformat()}


def in_range(text: str, params: dict[str, str]) -> bool:
    return dt.date.fromisoformat(params["from"]) <= beijing_day(text) <= dt.date.fromisoformat(params["to"])


def expected_cube(db_path: Path, params: dict[str, str]) -> dict[tuple[str, str, str], tuple[int, int, int, int]]:
    """(week Monday, direction name, role label) -> (submitted, published, printed, rejected), from raw rows."""
    cube: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for e in rows(db_path, "SELECT e.*, d.name AS direction_name, d.slug FROM essays e JOIN directions d"
                           " ON d.id = e.direction_id"):  # fmt: skip
        if not in_range(e["submitted_at"], params) or params.get("direction", e["slug"]) != e["slug"]:
            continue
        if params.get("role", e["author_role"]) != e["author_role"]:
            continue
        day = beijing_day(e["submitted_at"])
        key = ((day - dt.timedelta(days=day.weekday())).isoformat(), e["direction_name"], AUTHOR_ROLES[e["author_role"]])
        counts = cube[key]
        counts[0] += 1
        counts[1] += e["published_at"] is not None
        counts[2] += e["status"] == "printed"
        counts[3] += e["status"] == "rejected"
    return {k: tuple(v) for k, v in cube.items()}


def read_csv(response) -> list[list[str]]:  # noqa: ANN001
    assert response.content.startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM, for Excel"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


class Cards(HTMLParser):
    """The summary cards as a user reads them: label -> number."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: dict[str, str] = {}
        self._in: str | None = None
        self._label = ""

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "dl" and ("class", "stat-cards") in attrs:
            self._in = "dl"
        elif self._in and tag in ("dt", "dd"):
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == "dl":
            self._in = None
        elif self._in in ("dt", "dd") and tag == self._in:
            self._in = "dl"

    def handle_data(self, data: str) -> None:
        if self._in == "dt":
            self._label = data.strip()
        elif self._in == "dd":
            self.cards[self._label] = data.strip()


def cards(html: str) -> dict[str, str]:
    parser = Cards()
    parser.feed(html)
    return parser.cards


# --- the numbers -----------------------------------------------------------------------------------------


def test_summary_cards_match_the_database(generated) -> None:
    client, db_path = generated
    params = year_range()
    response = client.get("/editor/stats", params=params)
    assert response.status_code == 200
    essays = [e for e in rows(db_path, "SELECT * FROM essays") if in_range(e["submitted_at"], params)]
    published = sum(e["published_at"] is not None for e in essays)
    rejected = sum(e["status"] == "rejected" for e in essays)
    pending = rows(db_path, "SELECT count(*) FROM essays WHERE status = 'pending'")[0][0]
    shown = cards(response.text)
    assert shown["投稿"] == str(len(essays)) == "600"
    assert shown["发布"] == str(published)
    assert shown["见报"] == str(sum(e["status"] == "printed" for e in essays))
    assert shown["采用率"] == f"{published / (published + rejected) * 100:.1f}%"
    assert shown["待审核（现在）"] == str(pending)


def test_the_csv_is_the_week_direction_role_cube_of_the_database(generated) -> None:
    client, db_path = generated
    params = year_range()
    table = read_csv(client.get("/editor/stats.csv", params=params))
    assert table[0] == ["周（周一）", "方向", "作者身份", "投稿", "发布", "见报", "未采用", "采用率（%）"]
    got = {(r[0], r[1], r[2]): tuple(int(v) for v in r[3:7]) for r in table[1:]}
    assert got == expected_cube(db_path, params)
    for r in table[1:]:
        published, rejected = int(r[4]), int(r[6])
        assert r[7] == (f"{round(published / (published + rejected) * 100, 1)}" if published + rejected else "")


def test_filters_drive_the_page_and_both_exports(generated) -> None:
    client, db_path = generated
    params = {**year_range(), "direction": "silver-economy", "role": "resident"}
    expected = expected_cube(db_path, params)
    assert expected, "the generated data has resident essays on this board"
    table = read_csv(client.get("/editor/stats.csv", params=params))
    assert {(r[0], r[1], r[2]): tuple(int(v) for v in r[3:7]) for r in table[1:]} == expected
    assert {r[1] for r in table[1:]} == {"银发经济先行区"} and {r[2] for r in table[1:]} == {"居民"}

    book = openpyxl.load_workbook(io.BytesIO(client.get("/editor/stats.xlsx", params=params).content))
    assert book.sheetnames == ["筛选条件", "按周", "按周×方向×身份", "决定用时", "待审队列", "声音平衡"]
    cube = list(book["按周×方向×身份"].iter_rows(min_row=2, values_only=True))
    assert {(r[0], r[1], r[2]): tuple(r[3:7]) for r in cube} == expected
    weekly_total = sum(r[1] for r in book["按周"].iter_rows(min_row=2, values_only=True))
    assert weekly_total == sum(v[0] for v in expected.values())
    assert cards(client.get("/editor/stats", params=params).text)["投稿"] == str(weekly_total)


def test_median_time_to_each_decision_matches_the_events(generated) -> None:
    client, db_path = generated
    params = year_range()
    first: dict[str, dict[int, dt.datetime]] = defaultdict(dict)
    for ev in rows(db_path, "SELECT essay_id, action, created_at FROM essay_events"
                            " WHERE action IN ('approve', 'reject', 'revise', 'print') ORDER BY created_at"):  # fmt: skip
        first[ev["action"]].setdefault(ev["essay_id"], moment(ev["created_at"]))
    submitted = {e["id"]: e["submitted_at"] for e in rows(db_path, "SELECT id, submitted_at FROM essays")}
    book = openpyxl.load_workbook(io.BytesIO(client.get("/editor/stats.xlsx", params=params).content))
    got = {r[0]: (r[1], r[2]) for r in book["决定用时"].iter_rows(min_row=2, values_only=True)}
    labels = {"approve": "通过发布", "reject": "未采用", "revise": "退回修改", "print": "见报"}
    for action, label in labels.items():
        hours = [(at - moment(submitted[i])).total_seconds() / 3600 for i, at in first[action].items()
                 if in_range(submitted[i], params)]  # fmt: skip
        assert got[label][0] == len(hours)
        assert got[label][1] == pytest.approx(round(statistics.median(hours), 1), abs=0.051)


def test_queue_age_matches_the_pending_essays(generated) -> None:
    client, db_path = generated
    now = dt.datetime.now(dt.UTC)
    ages = sorted((now - moment(e["submitted_at"])).total_seconds() / 3600
                  for e in rows(db_path, "SELECT submitted_at FROM essays WHERE status = 'pending'"))  # fmt: skip
    book = openpyxl.load_workbook(io.BytesIO(client.get("/editor/stats.xlsx").content))
    got = dict(book["待审队列"].iter_rows(min_row=2, values_only=True))
    assert got["待审核总数"] == len(ages)
    assert got["等待时长中位数（小时）"] == pytest.approx(statistics.median(ages), abs=0.2)
    assert got["最久等待（小时）"] == pytest.approx(ages[-1], abs=0.2)
    assert sum(got[b] for b in ("1 天内", "1–3 天", "3–7 天", "7 天以上")) == len(ages)


def test_voice_balance_counts_the_printed_column_against_the_target(generated) -> None:
    client, db_path = generated
    params = year_range()
    printed = Counter(
        e["author_role"] if e["author_role"] in FOUR_VOICES else "other"
        for e in rows(db_path, "SELECT e.author_role, ev.created_at FROM essays e JOIN essay_events ev"
                               " ON ev.essay_id = e.id AND ev.action = 'print'")  # fmt: skip
        if in_range(e["created_at"], params)
    )
    assert sum(printed.values()) > 0
    book = openpyxl.load_workbook(io.BytesIO(client.get("/editor/stats.xlsx", params=params).content))
    got = {r[0]: r[1:] for r in book["声音平衡"].iter_rows(min_row=2, values_only=True)}
    labels = {"resident": "居民", "community": "社区工作者", "enterprise": "企业", "research": "科研", "other": "其他"}
    total = sum(printed.values())
    for voice, label in labels.items():
        count, share, target = got[label]
        assert count == printed[voice]
        assert share == round(printed[voice] / total * 100, 1)
        assert target == (25 if voice in FOUR_VOICES else 0)  # the migration's starting mix


# --- the page --------------------------------------------------------------------------------------------


def test_every_chart_is_an_svg_image_with_its_data_table(generated) -> None:
    client, _ = generated
    html = client.get("/editor/stats").text
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg"') == 5
    assert html.count('role="img"') == 5 and html.count("<title id=\"chart-title-") == 5
    assert html.count("<caption>") == 6
    assert "<script" not in html.split("<main", 1)[1]
    assert "最近 12 周" in html


def test_unreadable_filters_are_explained_not_an_error(generated) -> None:
    client, _ = generated
    response = client.get("/editor/stats", params={"from": "2026-13-45", "direction": "nope", "role": "x"})
    assert response.status_code == 200
    for note in ("起始日期无法识别", "没有这个方向", "没有这个作者身份"):
        assert note in response.text
    swapped = client.get("/editor/stats", params={"from": "2026-06-01", "to": "2026-05-01"})
    assert "起始日期晚于截止日期，已对调" in swapped.text


def test_the_target_mix_is_an_editors_form_with_csrf(generated) -> None:
    client, db_path = generated
    page = client.get("/editor/stats")
    token = csrf_from(page.text)
    mix = {"resident": "40", "community": "20", "enterprise": "20", "research": "10"}
    assert client.post("/editor/stats/targets", data=mix).status_code == 403
    too_much = client.post("/editor/stats/targets", data={**mix, "research": "30", "csrf_token": token})
    assert too_much.status_code == 422 and "合计 110%，不能超过 100%" in too_much.text
    saved = client.post("/editor/stats/targets?direction=wellbeing", data={**mix, "csrf_token": token})
    assert saved.status_code == 303
    assert saved.headers["location"] == "/editor/stats?direction=wellbeing&saved=1#targets"
    shown = client.get("/editor/stats?saved=1")
    assert "目标比例已保存" in shown.text and 'name="resident" type="number"' in shown.text
    assert 'value="40"' in shown.text
    assert [tuple(r) for r in rows(db_path, "SELECT voice, percent FROM voice_targets ORDER BY voice")] == [
        ("community", 20), ("enterprise", 20), ("research", 10), ("resident", 40)]
    audit = rows(db_path, "SELECT actor_name, action FROM admin_audit WHERE action = 'stats.targets'")
    assert [tuple(a) for a in audit] == [("stats-editor", "stats.targets")]
    book = openpyxl.load_workbook(io.BytesIO(client.get("/editor/stats.xlsx").content))
    assert {r[0]: r[3] for r in book["声音平衡"].iter_rows(min_row=2, values_only=True)}["其他"] == 10


# --- the essay list --------------------------------------------------------------------------------------


def test_the_essay_list_holds_the_filtered_essays_and_nothing_private(generated) -> None:
    client, db_path = generated
    params = {**year_range(), "status": "printed"}
    response = client.get("/editor/essays.xlsx", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content))["文章列表"]
    table = list(sheet.iter_rows(values_only=True))
    assert table[0] == ("标题", "方向", "作者身份", "署名（见报）", "状态", "投稿时间（北京时间）", "发布时间（北京时间）",
                        "见报时间（北京时间）", "字数", "见报版次")  # fmt: skip
    printed = rows(db_path, "SELECT headline, printed_edition, phone, email, submitted_at FROM essays"
                            " WHERE status = 'printed' ORDER BY submitted_at, id")  # fmt: skip
    printed = [p for p in printed if in_range(p["submitted_at"], params)]
    assert [(r[0], r[4], r[9]) for r in table[1:]] == [(p["headline"], "已见报", p["printed_edition"]) for p in printed]
    submitted = moment(printed[0]["submitted_at"]).astimezone(BEIJING).replace(tzinfo=None, microsecond=0)
    assert table[1][5] == submitted
    everything = {str(v) for row in table for v in row if v is not None}
    private = {p["phone"] for p in printed} | {p["email"] for p in printed if p["email"]}
    assert not everything & private


def test_essay_list_byline_characters_and_no_formula(client, staff_client) -> None:
    staff_client("editor")
    make_essay(client, "published", headline="=HYPERLINK(\"http://x\")测试", affiliation="滨海社区",
               author_name="王海", author_role="community")  # fmt: skip
    make_essay(client, "pending", headline="匿名来信", byline_mode="role_only", author_name="不该出现")
    response = client.get("/editor/essays.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content))["文章列表"]
    table = list(sheet.iter_rows(min_row=2))
    headline = table[0][0]
    assert headline.value == '=HYPERLINK("http://x")测试' and headline.data_type == "s"
    assert [r[3].value for r in table] == ["滨海社区 王海", "锦州市民"]
    assert all(isinstance(r[8].value, int) and r[8].value > 100 for r in table)
    assert PHONE not in {str(c.value) for r in table for c in r}
    only_pending = openpyxl.load_workbook(io.BytesIO(client.get("/editor/essays.xlsx?status=pending").content))
    assert [r[0] for r in only_pending["文章列表"].iter_rows(min_row=2, values_only=True)] == ["匿名来信"]


# --- who may look ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/editor/stats", "/editor/stats.csv", "/editor/stats.xlsx", "/editor/essays.xlsx"])
def test_editors_chiefs_and_admins_may_look_moderators_may_not(client, path: str) -> None:
    assert client.get(path).status_code == 303  # to the sign-in page
    add_user(client, "a-moderator", "moderator")
    login(client, "a-moderator")
    assert client.get(path).status_code == 403
    for name, role in (("an-editor", "editor"), ("a-chief", "chief"), ("an-admin", "admin")):
        add_user(client, name, role)
        client.cookies.clear()
        login(client, name)
        assert client.get(path).status_code == 200
