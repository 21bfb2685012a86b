"""The admin area: every change takes effect where users notice it, and leaves an audit record."""

from __future__ import annotations

import ast
import sqlite3
from html.parser import HTMLParser
from pathlib import Path

import pgtest
import pytest
from factories import make_essay
from starlette.testclient import TestClient
from support import PASSWORD, add_user, csrf_from, db_read, login

from citizenvoice.domain import sitesettings as site_texts
from citizenvoice.settings import Settings
from citizenvoice.store import admin as admin_store
from citizenvoice.store import directions as direction_store
from citizenvoice.store import users as user_store
from citizenvoice.store import wordlists
from citizenvoice.web import sitesettings
from tests.submit_helpers import post_essay

NEW_PASSWORD = "a much longer secret"


def post(client: TestClient, url: str, data: dict, page: str = "/admin"):
    token = csrf_from(client.get(page).text)
    return client.post(url, data={**data, "csrf_token": token})


def relogin(client: TestClient, username: str, password: str = PASSWORD) -> None:
    client.cookies.delete("cv_session")  # sign out, whoever was signed in
    login(client, username, password)


def login_fails(client: TestClient, username: str, password: str) -> bool:
    client.cookies.delete("cv_session")
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    return response.status_code == 400


read = db_read


def audit(client: TestClient) -> list[admin_store.AuditEntry]:
    return read(client, admin_store.list_audit, limit=1000)


def last_audit(client: TestClient, action: str) -> admin_store.AuditEntry:
    entries = [e for e in audit(client) if e.action == action]
    assert entries, f"no audit row for {action}"
    return entries[0]


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.errors: list[str] = []
        self.values: dict[str, str] = {}
        self._in_error = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self._in_error = tag == "p" and "error" in (attrs.get("class") or "").split()
        if tag == "input" and attrs.get("name"):
            self.values[attrs["name"]] = attrs.get("value") or ""

    def handle_data(self, data):
        if self._in_error and data.strip():
            self.errors.append(data.strip())

    def handle_endtag(self, tag):
        if tag == "p":
            self._in_error = False


def parse(html: str) -> _Text:
    parser = _Text()
    parser.feed(html)
    return parser


@pytest.fixture
def admin_client(staff_client) -> TestClient:
    return staff_client("admin", username="chief")


# ---------------------------------------------------------------------------------------------------
# access


def test_admin_area_is_for_admins_only(client):
    assert client.get("/admin/users").status_code == 303
    assert client.post("/admin/users", data={}).status_code == 401
    add_user(client, "mod", "moderator")
    relogin(client, "mod")
    assert client.get("/admin").status_code == 403
    assert client.get("/admin/settings").status_code == 403


def test_every_admin_route_requires_the_admin_role(app):
    admin_routes = [r for r in app.routes if getattr(r, "path", "").startswith("/admin")]
    assert len(admin_routes) >= 15
    assert all(r.access == frozenset({"admin"}) for r in admin_routes)


# ---------------------------------------------------------------------------------------------------
# users


def test_add_user_who_can_then_sign_in(admin_client):
    response = post(
        admin_client,
        "/admin/users",
        {
            "username": "wang.editor",
            "display_name": "王编辑",
            "password": NEW_PASSWORD,
            "roles": ["editor"],
        },
    )
    assert response.status_code == 303
    entry = last_audit(admin_client, "user.add")
    assert entry.actor_name == "chief" and entry.target == "user:wang.editor"
    assert entry.before is None and entry.after == {
        "username": "wang.editor",
        "display_name": "王编辑",
        "roles": ["editor"],
    }
    assert NEW_PASSWORD not in str(entry.after)
    assert "王编辑" in admin_client.get(response.headers["location"]).text
    relogin(admin_client, "wang.editor", NEW_PASSWORD)
    assert admin_client.get("/admin").status_code == 403  # signed in (not sent to /login), but no admin


def test_add_user_rejects_short_password_and_keeps_the_other_fields(admin_client):
    response = post(
        admin_client,
        "/admin/users",
        {
            "username": "li",
            "display_name": "李审核",
            "password": "short",
            "roles": [],
        },
    )
    assert response.status_code == 422
    page = parse(response.text)
    assert "密码至少需要 12 个字符（现在是 5 个）。可以用几个词连成一句话，更长也更好记。" in page.errors
    assert any("用户名" in e for e in page.errors) and "请至少选择一个角色。" in page.errors
    assert page.values["display_name"] == "李审核" and page.values["password"] == ""
    assert read(admin_client, user_store.get_by_username, "li") is None
    assert not [e for e in audit(admin_client) if e.action == "user.add"]


def test_duplicate_username_is_refused(admin_client):
    add_user(admin_client, "zhao", "moderator")
    response = post(
        admin_client, "/admin/users", {"username": "ZHAO", "password": NEW_PASSWORD, "roles": ["editor"]}
    )
    assert response.status_code == 422
    assert "这个用户名已被使用。" in parse(response.text).errors


def test_disable_user_ends_their_session_at_once(admin_client):
    user_id = add_user(admin_client, "deputy", "admin")
    relogin(admin_client, "deputy")
    deputy_session = admin_client.cookies.get("cv_session")
    assert admin_client.get("/admin").status_code == 200
    relogin(admin_client, "chief")
    response = post(admin_client, f"/admin/users/{user_id}/status", {"disabled": "1"})
    assert response.status_code == 303
    entry = last_audit(admin_client, "user.disable")
    assert (entry.target, entry.before, entry.after) == (
        "user:deputy",
        {"disabled": False},
        {"disabled": True},
    )
    admin_client.cookies.delete("cv_session")
    admin_client.cookies.set("cv_session", deputy_session)
    assert admin_client.get("/admin").status_code == 303  # signed out: back to the login page
    assert login_fails(admin_client, "deputy", PASSWORD)


def test_admin_cannot_disable_or_demote_themselves(admin_client):
    me = read(admin_client, user_store.get_by_username, "chief").user
    response = post(admin_client, f"/admin/users/{me.id}/status", {"disabled": "1"})
    assert response.status_code == 422 and "不能停用自己的账号。" in response.text
    response = post(admin_client, f"/admin/users/{me.id}", {"display_name": "", "roles": ["editor"]})
    assert response.status_code == 422 and "不能取消自己的管理员角色" in response.text
    assert read(admin_client, user_store.get_by_id, me.id).roles == {"admin"}
    assert audit(admin_client) == []


def test_reset_password_records_no_secret(admin_client):
    user_id = add_user(admin_client, "ed", "editor")
    response = post(admin_client, f"/admin/users/{user_id}/password", {"password": NEW_PASSWORD})
    assert response.status_code == 303
    entry = last_audit(admin_client, "user.password")
    assert entry.target == "user:ed" and entry.before is None
    stored = pgtest.query(admin_client.app.state.settings, "SELECT before_json, after_json FROM admin_audit")
    assert NEW_PASSWORD not in str(stored) and "argon2" not in str(stored)
    assert login_fails(admin_client, "ed", PASSWORD)
    relogin(admin_client, "ed", NEW_PASSWORD)


def test_change_roles_is_audited_with_before_and_after(admin_client):
    user_id = add_user(admin_client, "ed", "editor")
    response = post(
        admin_client, f"/admin/users/{user_id}", {"display_name": "编辑甲", "roles": ["editor", "moderator"]}
    )
    assert response.status_code == 303
    assert read(admin_client, user_store.get_by_id, user_id).roles == {"editor", "moderator"}
    entry = last_audit(admin_client, "user.update")
    assert entry.before == {"display_name": "", "roles": ["editor"]}
    assert entry.after == {"display_name": "编辑甲", "roles": ["editor", "moderator"]}


# ---------------------------------------------------------------------------------------------------
# directions


def direction(client, slug):
    return read(client, direction_store.get_by_slug, slug)


def test_add_direction_appears_on_the_home_page(admin_client):
    response = post(
        admin_client,
        "/admin/directions",
        {
            "slug": "green-port",
            "name": "绿色港口",
            "description": "岸电、清洁能源和零碳码头。",
            "pillar": "industry",
        },
    )
    assert response.status_code == 303
    created = direction(admin_client, "green-port")
    assert created.name == "绿色港口" and not created.archived
    entry = last_audit(admin_client, "direction.add")
    assert entry.target == "direction:green-port" and entry.after["name"] == "绿色港口"
    assert "绿色港口" in admin_client.get("/").text


def test_add_direction_validates_slug_and_name(admin_client):
    response = post(
        admin_client,
        "/admin/directions",
        {
            "slug": "Green Port",
            "name": "港",
            "description": "",
            "pillar": "industry",
        },
    )
    assert response.status_code == 422
    errors = parse(response.text).errors
    assert any("网址名" in e for e in errors) and "名称为 2–30 个字。" in errors
    response = post(
        admin_client,
        "/admin/directions",
        {
            "slug": "wellbeing",
            "name": "重复网址",
            "description": "",
            "pillar": "livelihood",
        },
    )
    assert "这个网址名已被使用。" in parse(response.text).errors


def test_rename_describe_and_move_between_pillars(admin_client):
    before = direction(admin_client, "ecology")
    response = post(
        admin_client,
        f"/admin/directions/{before.id}",
        {
            "name": "美丽海湾",
            "description": "海岸线和湿地。",
            "pillar": "innovation",
        },
    )
    assert response.status_code == 303
    after = direction(admin_client, "ecology")
    assert (after.name, after.description, after.pillar) == ("美丽海湾", "海岸线和湿地。", "innovation")
    innovation = [d for d in read(admin_client, direction_store.list_directions) if d.pillar == "innovation"]
    assert max(innovation, key=lambda d: d.position).slug == "ecology"  # joins the end of its new pillar
    entry = last_audit(admin_client, "direction.update")
    assert entry.before["name"] == "生态宜居" and entry.after["name"] == "美丽海湾"
    assert entry.before["pillar"] == "livelihood" and entry.after["pillar"] == "innovation"


def _industry_order(client) -> list[str]:
    directions = read(client, direction_store.list_directions)
    return [d.slug for d in sorted(directions, key=lambda d: (d.position, d.id)) if d.pillar == "industry"]


def test_reorder_within_a_pillar(admin_client):
    start = _industry_order(admin_client)
    second = direction(admin_client, start[1])
    response = post(admin_client, f"/admin/directions/{second.id}/move", {"step": "up"})
    assert response.status_code == 303
    assert _industry_order(admin_client) == [start[1], start[0], *start[2:]]
    home = admin_client.get("/").text
    assert home.index(second.name) < home.index(direction(admin_client, start[0]).name)
    entry = last_audit(admin_client, "direction.move")
    assert entry.before == {"order": start} and entry.after["order"][0] == start[1]


def test_archived_direction_takes_no_new_essays_but_stays_readable(admin_client):
    board = direction(admin_client, "silver-economy")
    published, _ = make_essay(admin_client, "published", direction="silver-economy", headline="银发的早晨")
    assert 'value="silver-economy"' in admin_client.get("/submit").text
    response = post(admin_client, f"/admin/directions/{board.id}/archive", {"archived": "1"})
    assert response.status_code == 303
    assert direction(admin_client, "silver-economy").archived
    entry = last_audit(admin_client, "direction.archive")
    assert (entry.target, entry.after) == ("direction:silver-economy", {"archived": True})

    # no longer offered on the submission form, and a crafted post for it is refused
    form = admin_client.get("/submit").text
    assert 'value="silver-economy"' not in form and 'value="wellbeing"' in form
    refused = post_essay(admin_client, direction="silver-economy")
    assert refused.status_code == 422 and "请从列表中选择一个正在征稿的方向。" in refused.text
    assert read(admin_client, essay_count, board.id) == 1  # only the essay published before
    open_slugs = {d.slug for d in read(admin_client, direction_store.list_directions, include_archived=False)}
    assert "silver-economy" not in open_slugs

    # still readable at its address, but it no longer asks for essays
    board_page = admin_client.get("/boards/silver-economy")
    assert board_page.status_code == 200 and board.name in board_page.text
    assert "本方向已结束征稿" in board_page.text
    assert "/submit?direction=silver-economy" not in board_page.text
    assert admin_client.get("/boards/silver-economy/feed.atom").status_code == 200
    assert f'href="/essays/{published}"' in board_page.text
    essay_page = admin_client.get(f"/essays/{published}")
    assert essay_page.status_code == 200 and "/submit?direction=silver-economy" not in essay_page.text
    assert "银发经济先行区" in admin_client.get("/").text  # its published essay keeps it on the home page

    post(admin_client, f"/admin/directions/{board.id}/archive", {"archived": "0"})
    assert not direction(admin_client, "silver-economy").archived
    assert last_audit(admin_client, "direction.unarchive").after == {"archived": False}
    assert 'value="silver-economy"' in admin_client.get("/submit").text


async def essay_count(conn, direction_id: int) -> int:
    counts = await admin_store.essay_counts_by_direction(conn)
    return counts.get(direction_id, 0)


# ---------------------------------------------------------------------------------------------------
# word lists and rejection reasons


def test_bulk_paste_word_list_replaces_it_and_bumps_the_version(admin_client):
    version = read(admin_client, wordlists.words_version)
    old = set(read(admin_client, wordlists.load_words)["banned"])
    pasted = "赌博\r\n\r\n  网络赌场  \n赌博\n高利贷\n"
    response = post(admin_client, "/admin/words/banned", {"words": pasted}, page="/admin/words")
    assert response.status_code == 303
    assert sorted(read(admin_client, wordlists.load_words)["banned"]) == sorted(
        ["赌博", "网络赌场", "高利贷"]
    )
    assert read(admin_client, wordlists.words_version) == version + 1
    entry = last_audit(admin_client, "words.replace")
    assert entry.target == "words:banned"
    assert entry.after == {"count": 3, "added": ["网络赌场", "高利贷"]}
    assert entry.before == {"count": len(old), "removed": sorted(old - {"赌博"})}
    assert "网络赌场" in admin_client.get("/admin/words").text


def test_word_list_with_an_overlong_line_keeps_the_pasted_text(admin_client):
    pasted = "新词一\n" + "长" * 31
    response = post(admin_client, "/admin/words/suspect", {"words": pasted}, page="/admin/words")
    assert response.status_code == 422
    assert "新词一" in response.text and "过长的行" in response.text
    assert "新词一" not in read(admin_client, wordlists.load_words)["suspect"]
    assert not [e for e in audit(admin_client) if e.action == "words.replace"]


def test_rejection_reasons_add_edit_and_retire(admin_client):
    response = post(admin_client, "/admin/reasons", {"label": "涉及他人隐私"}, page="/admin/reasons")
    assert response.status_code == 303
    reasons = read(admin_client, wordlists.rejection_reasons)
    added = next(r for r in reasons if r.label == "涉及他人隐私")
    assert last_audit(admin_client, "reason.add").after["label"] == "涉及他人隐私"
    response = post(
        admin_client,
        f"/admin/reasons/{added.id}",
        {"label": "涉及他人隐私信息", "position": "5"},
        page="/admin/reasons",
    )
    assert response.status_code == 303
    active = read(admin_client, wordlists.rejection_reasons)
    assert "涉及他人隐私信息" not in [r.label for r in active]  # unticked "在用": no longer offered
    every = read(admin_client, wordlists.rejection_reasons, include_inactive=True)
    assert any(r.label == "涉及他人隐私信息" and not r.active and r.position == 5 for r in every)
    entry = last_audit(admin_client, "reason.update")
    assert entry.before["active"] is True and entry.after["active"] is False


def test_duplicate_rejection_reason_is_refused(admin_client):
    response = post(admin_client, "/admin/reasons", {"label": "与本栏目主题无关"}, page="/admin/reasons")
    assert response.status_code == 422 and "已有相同的理由。" in parse(response.text).errors


# ---------------------------------------------------------------------------------------------------
# site settings


def test_site_settings_change_what_every_page_shows(admin_client):
    response = post(
        admin_client,
        "/admin/settings",
        {
            "site_name": "海城之声",
            "city": "海城",
            "paper_name": "海城日报",
            "column_title": "写给下一个五年",
            "lead": "新的五年，请写下你的期待。",
        },
        page="/admin/settings",
    )
    assert response.status_code == 303
    entry = last_audit(admin_client, "settings.update")
    assert entry.before == {"site_name": "市民之声", "city": "锦州", "paper_name": "锦州日报", "lead": ""}
    assert entry.after["site_name"] == "海城之声" and entry.after["city"] == "海城"
    assert "column_title" not in entry.after  # unchanged values are not recorded as changes
    effective = sitesettings.site_settings_for_app(admin_client.app)
    assert (effective.site_name, effective.city, effective.paper_name) == ("海城之声", "海城", "海城日报")
    page = admin_client.get("/privacy").text
    assert "海城日报" in page and "海城市民" in page


def test_site_settings_require_the_names(admin_client):
    response = post(
        admin_client,
        "/admin/settings",
        {
            "site_name": "",
            "city": "海城",
            "paper_name": "海城日报",
            "column_title": "写给下一个五年",
            "lead": "",
        },
        page="/admin/settings",
    )
    assert response.status_code == 422
    page = parse(response.text)
    assert "请填写网站名称。" in page.errors and page.values["city"] == "海城"


def test_another_worker_picks_up_site_settings_after_the_check_interval(admin_client, settings, monkeypatch):
    now = [1000.0]
    other = site_texts.SiteSettingsCache(settings, clock=lambda: now[0])
    db = admin_client.app.state.db
    assert admin_client.portal.call(other.refresh, db).city == "锦州"
    post(
        admin_client,
        "/admin/settings",
        {
            "site_name": "市民之声",
            "city": "海城",
            "paper_name": "锦州日报",
            "column_title": "写给下一个五年",
            "lead": "",
        },
        page="/admin/settings",
    )
    now[0] += site_texts.CHECK_INTERVAL / 2
    assert admin_client.portal.call(other.refresh, db).city == "锦州"  # cached: no query yet
    now[0] += site_texts.CHECK_INTERVAL
    assert admin_client.portal.call(other.refresh, db).city == "海城"


def _is_deployment_settings(node: ast.expr) -> bool:
    """``….state.settings``: the deployment's Settings object on the app."""
    state = node.value if isinstance(node, ast.Attribute) and node.attr == "settings" else None
    return isinstance(state, ast.Attribute) and state.attr == "state"


def _deployment_settings_names(tree: ast.AST) -> set[str]:
    """Names a module binds to ``….state.settings``, also inside ``a, b = x.state.settings, …``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            pairs = [(target, node.value)]
            if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                pairs = list(zip(target.elts, node.value.elts, strict=False))
            names |= {t.id for t, v in pairs if isinstance(t, ast.Name) and _is_deployment_settings(v)}
    return names


def test_handlers_take_the_site_texts_from_the_site_settings():
    """app.state.settings holds only the deployment's defaults of what an admin may change; a handler
    or template helper that reads a site text from it ignores the admin (as the print desk once did)."""
    package = Path(__file__).resolve().parent.parent / "citizenvoice"
    reads = []
    for path in sorted([*package.glob("views/*.py"), *package.glob("web/*.py")]):
        if path.name == "sitesettings.py":  # where the defaults and the admin's overrides are merged
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = _deployment_settings_names(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in sitesettings.FIELDS and (
                _is_deployment_settings(node.value) or (isinstance(node.value, ast.Name) and node.value.id in aliases)
            ):
                reads.append(f"{path.relative_to(package)}:{node.lineno} .{node.attr}")
    assert reads == []


# ---------------------------------------------------------------------------------------------------
# the audit trail itself


def test_audit_trail_is_append_only(admin_client):
    post(admin_client, "/admin/reasons", {"label": "内容空泛"}, page="/admin/reasons")
    settings = admin_client.app.state.settings
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        pgtest.execute(settings, "UPDATE admin_audit SET actor_name = 'someone else'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        pgtest.execute(settings, "DELETE FROM admin_audit")


def test_audit_page_lists_changes_newest_first_with_pages(admin_client):
    for n in range(55):
        post(admin_client, "/admin/reasons", {"label": f"第{n}条理由"}, page="/admin/reasons")
    first = admin_client.get("/admin/audit").text
    assert "第54条理由" in first and "chief" in first and "新增退稿理由" in first
    assert "第0条理由" not in first and 'rel="next"' in first
    second = admin_client.get("/admin/audit?page=2").text
    assert "第0条理由" in second and "第54条理由" not in second


def test_without_overrides_the_deployment_settings_apply(tmp_path, make_app):
    with TestClient(make_app(tmp_path, city="海城")) as fresh:
        assert "海城市民" in fresh.get("/privacy").text


def test_every_admin_page_renders_and_unknown_items_are_not_found(admin_client):
    me = read(admin_client, user_store.get_by_username, "chief").user
    board = direction(admin_client, "wellbeing")
    for path in (
        "/admin",
        "/admin/users",
        f"/admin/users/{me.id}",
        "/admin/directions",
        f"/admin/directions/{board.id}",
        "/admin/words",
        "/admin/reasons",
        "/admin/settings",
        "/admin/audit",
    ):
        response = admin_client.get(path)
        assert response.status_code == 200, path
        assert 'aria-current="page"' in response.text and 'lang="zh-CN"' in response.text
    assert admin_client.get("/admin/users/9999").status_code == 404
    assert admin_client.get("/admin/directions/9999").status_code == 404
    assert post(admin_client, "/admin/words/other", {"words": "x"}).status_code == 404
    assert (
        post(admin_client, "/admin/reasons/9999", {"label": "不存在的理由", "position": "1"}).status_code
        == 404
    )


def test_admin_forms_need_the_csrf_token(admin_client):
    admin_client.get("/admin")
    response = admin_client.post(
        "/admin/users", data={"username": "sneaky", "password": NEW_PASSWORD, "roles": "admin"}
    )
    assert response.status_code == 403
    assert read(admin_client, user_store.get_by_username, "sneaky") is None and audit(admin_client) == []


def test_user_commands_on_the_command_line_are_audited_too(tmp_path, monkeypatch, make_app):
    import io

    from citizenvoice import cli

    monkeypatch.setenv("CITIZENVOICE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CITIZENVOICE_SECRET_KEY", "test-secret-key-not-for-production")
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli.main(["user", "add", "chief", "--role", "admin", "--password-stdin"]) == 0
    assert cli.main(["user", "disable", "chief"]) == 0
    assert cli.main(["user", "disable", "chief"]) == 0  # nothing changes, nothing more is recorded
    with TestClient(make_app(Settings.from_env()), follow_redirects=False) as client:
        entries = [(e.actor_name, e.action, e.target, e.after) for e in reversed(audit(client))]
        add_user(client, "boss", "admin")
        login(client, "boss")
        page = client.get("/admin/audit").text
    assert page.count("命令行 · ") == 2 and "command line" not in page
    assert entries == [
        ("command line", "user.add", "user:chief", {"username": "chief", "display_name": "", "roles": ["admin"]}),
        ("command line", "user.disable", "user:chief", {"disabled": True}),
    ]
    assert PASSWORD not in repr(entries)
