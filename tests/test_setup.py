"""The first admin of a fresh install: ``citizenvoice serve`` prints a one-time link /setup/<token> while no
admin exists, the operator opens it and creates the admin in the browser, and the link is dead from then
on (used, expired, or any link once an admin exists: 404). Also what else serve says at start: the
base-URL warning, and /healthz showing the base URL."""

from __future__ import annotations

import io
import json
import logging
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import httpx2
import pytest
from starlette.testclient import TestClient
from support import PASSWORD, add_user, csrf_from, db_read, db_write

from citizenvoice import cli, serving, startup
from citizenvoice.app import create_app
from citizenvoice.domain import administration
from citizenvoice.domain import setup as first_admin
from citizenvoice.settings import Settings
from citizenvoice.store import admin as admin_store
from citizenvoice.store import users as user_store
from citizenvoice.web import logs

SECRET = "test-secret-key-not-for-production"
ADMIN_PASSWORD = "a long first-admin secret"
LINK = re.compile(r"https?://[^\s\"]+/setup/([A-Za-z0-9_-]+)")


def make_settings(data_dir: Path, **overrides) -> Settings:
    return Settings(data_dir=data_dir, secret_key=SECRET, **overrides).resolved()


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[TestClient]:
    """A client of an app on a fresh install: migrated, no staff account at all."""
    with TestClient(create_app(make_settings(tmp_path / "data")), follow_redirects=False) as client:
        yield client


def issue(client: TestClient, now: datetime | None = None) -> str | None:
    return db_write(client, first_admin.issue_token, now=now)


def form_for(client: TestClient, token: str, **fields: str) -> dict[str, str]:
    page = client.get(f"/setup/{token}")
    assert page.status_code == 200, page.text[:300]
    values = {"username": "chief", "display_name": "张主任", "password": ADMIN_PASSWORD,
              "password_again": ADMIN_PASSWORD, **fields}  # fmt: skip
    return {**values, "csrf_token": csrf_from(page.text)}


def create(client: TestClient, token: str, **fields: str) -> httpx2.Response:
    return client.post(f"/setup/{token}", data=form_for(client, token, **fields))


def users(client: TestClient) -> list:
    return db_read(client, user_store.list_users)


class Fields(HTMLParser):
    """Each form field on a page (a ``.field`` block): its inputs' values and the errors shown in it."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.fields: list[dict] = []
        self._depth = 0  # > 0 inside a .field block
        self._in_error = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        classes = (named.get("class") or "").split()
        if tag == "div" and "field" in classes and not self._depth:
            self.fields.append({"inputs": {}, "errors": []})
            self._depth = 1
        elif tag == "div" and self._depth:
            self._depth += 1
        elif tag == "input" and self._depth and named.get("name"):
            self.fields[-1]["inputs"][named["name"]] = named.get("value") or ""
        self._in_error = tag == "p" and "error" in classes and bool(self._depth)

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self._depth:
            self._depth -= 1
        if tag == "p":
            self._in_error = False

    def handle_data(self, data: str) -> None:
        if self._in_error and data.strip():
            self.fields[-1]["errors"].append(data.strip())

    def of(self, name: str) -> dict:
        return next(f for f in self.fields if name in f["inputs"])


# ---------------------------------------------------------------------------------------------------
# The link creates the first admin, once


def test_the_operator_creates_the_first_admin_and_signs_in(fresh: TestClient) -> None:
    token = issue(fresh)
    assert token and users(fresh) == []
    page = fresh.get(f"/setup/{token}")
    assert page.status_code == 200 and "创建第一位管理员" in page.text
    assert page.headers["cache-control"] == "private, no-store"  # never kept by a proxy or the browser

    created = create(fresh, token)
    assert created.status_code == 303 and created.headers["location"] == "/setup/done"
    [admin] = users(fresh)
    assert (admin.username, admin.display_name, admin.roles) == ("chief", "张主任", frozenset({"admin"}))

    done = fresh.get("/setup/done")
    assert done.status_code == 200 and "管理员账号「chief」已创建" in done.text
    login_form = Fields(done.text)
    assert login_form.of("username")["inputs"]["username"] == "chief"
    signed_in = fresh.post("/login", data={"username": "chief", "password": ADMIN_PASSWORD, "next": "/admin",
                                           "csrf_token": csrf_from(done.text)})  # fmt: skip
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/admin"
    assert fresh.get("/admin").status_code == 200
    assert fresh.get("/admin/users").status_code == 200


def test_the_link_works_once(fresh: TestClient) -> None:
    token = issue(fresh)
    assert create(fresh, token).status_code == 303
    assert fresh.get(f"/setup/{token}").status_code == 404
    again = fresh.post(f"/setup/{token}", data={"username": "second", "password": ADMIN_PASSWORD,
                                                "password_again": ADMIN_PASSWORD,
                                                "csrf_token": csrf_from(fresh.get("/login").text)})  # fmt: skip
    assert again.status_code == 404
    assert [u.username for u in users(fresh)] == ["chief"]


def test_the_link_lasts_24_hours(fresh: TestClient) -> None:
    now = datetime.now(UTC)
    token = issue(fresh, now - timedelta(hours=23, minutes=59))
    assert fresh.get(f"/setup/{token}").status_code == 200
    token = issue(fresh, now - timedelta(hours=24, seconds=1))
    assert fresh.get(f"/setup/{token}").status_code == 404
    page_token = csrf_from(fresh.get("/login").text)
    response = fresh.post(f"/setup/{token}", data={"username": "chief", "password": ADMIN_PASSWORD,
                                                   "password_again": ADMIN_PASSWORD, "csrf_token": page_token})
    assert response.status_code == 404 and users(fresh) == []


def test_an_unknown_link_is_a_404(fresh: TestClient) -> None:
    issue(fresh)
    for token in ("not-the-token", "x" * 43, "x" * 5000):
        assert fresh.get(f"/setup/{token}").status_code == 404


def test_a_newer_start_replaces_the_older_link(fresh: TestClient) -> None:
    older, newer = issue(fresh), issue(fresh)
    assert fresh.get(f"/setup/{older}").status_code == 404
    assert fresh.get(f"/setup/{newer}").status_code == 200


def test_no_link_works_once_an_admin_exists(fresh: TestClient) -> None:
    token = issue(fresh)
    add_user(fresh, "boss", "admin")  # e.g. made with `citizenvoice user add` meanwhile
    assert fresh.get(f"/setup/{token}").status_code == 404
    refused = fresh.post(f"/setup/{token}", data={"username": "intruder", "password": ADMIN_PASSWORD,
                                                  "password_again": ADMIN_PASSWORD,
                                                  "csrf_token": csrf_from(fresh.get("/login").text)})  # fmt: skip
    assert refused.status_code == 404
    assert [u.username for u in users(fresh)] == ["boss"]
    assert issue(fresh) is None  # and the next start prints none


def test_staff_without_the_admin_role_do_not_count_as_an_admin(fresh: TestClient) -> None:
    add_user(fresh, "mod", "moderator")
    token = issue(fresh)
    assert token and fresh.get(f"/setup/{token}").status_code == 200
    taken = create(fresh, token, username="MOD")  # usernames are case-insensitive
    assert taken.status_code == 422
    assert Fields(taken.text).of("username")["errors"] == ["这个用户名已被使用。"]


def test_a_post_without_a_valid_csrf_token_changes_nothing(fresh: TestClient) -> None:
    token = issue(fresh)
    data = {"username": "chief", "password": ADMIN_PASSWORD, "password_again": ADMIN_PASSWORD}
    fresh.get(f"/setup/{token}")  # the browser has its CSRF cookie
    for forged in ({}, {"csrf_token": "forged"}):
        refused = fresh.post(f"/setup/{token}", data={**data, **forged})
        assert refused.status_code == 403 and "页面已过期或来源无法验证" in refused.text
    assert users(fresh) == []
    assert create(fresh, token).status_code == 303  # the link still works


# ---------------------------------------------------------------------------------------------------
# The form: the rules of /admin/users, Chinese errors next to the field, input kept


def test_a_weak_password_is_refused_next_to_the_field_and_the_rest_is_kept(fresh: TestClient) -> None:
    token = issue(fresh)
    refused = create(fresh, token, password="short", password_again="short")
    assert refused.status_code == 422
    page = Fields(refused.text)
    assert page.of("password")["errors"] == ["密码至少需要 12 个字符（现在是 5 个）。可以用几个词连成一句话，更长也更好记。"]
    assert page.of("username")["inputs"]["username"] == "chief"
    assert page.of("display_name")["inputs"]["display_name"] == "张主任"
    assert "short" not in refused.text  # passwords are never echoed into the page
    assert users(fresh) == []
    assert create(fresh, token).status_code == 303  # corrected, the same link goes through


def test_the_two_passwords_must_match(fresh: TestClient) -> None:
    token = issue(fresh)
    refused = create(fresh, token, password_again=ADMIN_PASSWORD + "!")
    assert refused.status_code == 422
    assert Fields(refused.text).of("password_again")["errors"] == ["两次输入的密码不一致，请重新输入。"]
    assert users(fresh) == []


@pytest.mark.parametrize(("fields", "field"), [
    ({"username": "x"}, "username"),
    ({"username": "张三"}, "username"),
    ({"display_name": "名" * 41}, "display_name"),
    ({"password": "p" * 201, "password_again": "p" * 201}, "password"),
])  # fmt: skip
def test_the_rules_are_those_of_admin_user_creation(fresh: TestClient, fields: dict, field: str) -> None:
    token = issue(fresh)
    refused = create(fresh, token, **fields)
    assert refused.status_code == 422
    values = {"username": "chief", "display_name": "", "password": ADMIN_PASSWORD, **fields}
    values.pop("password_again", None)
    with pytest.raises(administration.Invalid) as admin_says:  # what /admin/users would answer
        administration.check_new_user(administration.UserForm(**values, roles=frozenset({"admin"})))
    assert Fields(refused.text).of(field)["errors"] == [admin_says.value.errors[field]]


def test_the_page_is_escaped_and_works_without_javascript(fresh: TestClient) -> None:
    token = issue(fresh)
    refused = create(fresh, token, username="<script>alert(1)</script>", display_name='"><b>x</b>')
    assert refused.status_code == 422
    assert "<script>alert(1)</script>" not in refused.text and "<b>x</b>" not in refused.text
    assert Fields(refused.text).of("display_name")["inputs"]["display_name"] == '"><b>x</b>'
    assert f'<form method="post" action="/setup/{token}"' in refused.text  # a plain form post
    assert "<script" not in refused.text


# ---------------------------------------------------------------------------------------------------
# What is stored and recorded


def test_the_new_admin_is_audited_like_any_added_user(fresh: TestClient) -> None:
    token = issue(fresh)
    create(fresh, token)
    [entry] = db_read(fresh, admin_store.list_audit, limit=10)
    assert (entry.actor_id, entry.actor_name, entry.action, entry.target) == (
        None, first_admin.SETUP_ACTOR, "user.add", "user:chief")  # fmt: skip
    assert entry.before is None
    assert entry.after == {"username": "chief", "display_name": "张主任", "roles": ["admin"]}


def test_only_a_hash_of_the_token_is_stored_and_never_the_password(fresh: TestClient) -> None:
    token = issue(fresh)
    data_dir = fresh.app.state.settings.data_dir
    conn = sqlite3.connect(data_dir / "citizenvoice.db")
    try:
        assert conn.execute("SELECT token_hash FROM setup_tokens").fetchall() == [(first_admin.token_hash(token),)]
        create(fresh, token)
        assert conn.execute("SELECT count(*) FROM setup_tokens").fetchone() == (0,)
    finally:
        conn.close()
    stored = b"".join(f.read_bytes() for f in data_dir.iterdir() if f.name.startswith("citizenvoice.db"))
    assert token.encode() not in stored and ADMIN_PASSWORD.encode() not in stored


def test_the_done_page_is_only_for_the_browser_that_created_the_admin(fresh: TestClient) -> None:
    assert fresh.get("/setup/done").status_code == 404
    create(fresh, issue(fresh))
    fresh.cookies.delete("cv_session")
    assert fresh.get("/setup/done").status_code == 404


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """The JSON log as it reaches stderr, for the duration of one test."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    handler = logs.configure_logging("INFO", stream=stream)
    yield stream
    root.removeHandler(handler)
    root.handlers[:], _ = saved
    root.setLevel(saved[1])


def test_neither_the_token_nor_the_password_reaches_the_log(fresh: TestClient, log_stream: io.StringIO) -> None:
    for _ in range(20):  # tokens are random: a few, so a scrubber that misses some shapes shows
        token = issue(fresh)
        fresh.get(f"/setup/{token}")
        assert token not in log_stream.getvalue()
    create(fresh, token)
    output = log_stream.getvalue()
    assert "/setup/" in output  # the requests were logged…
    assert token not in output and ADMIN_PASSWORD not in output  # …without the secrets


# ---------------------------------------------------------------------------------------------------
# What `citizenvoice serve` says at start


@pytest.fixture
def serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """Run the ``serve`` command up to the point where the workers would start; returns its stderr lines."""
    monkeypatch.setenv("CITIZENVOICE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CITIZENVOICE_SECRET_KEY", SECRET)
    monkeypatch.delenv("CITIZENVOICE_BASE_URL", raising=False)
    monkeypatch.setattr(serving, "run", lambda *args, **kwargs: 0)
    root = logging.getLogger()
    saved = root.handlers[:], root.level

    def run(*argv: str, env: dict[str, str] | None = None) -> list[dict]:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        assert cli.main(["serve", *argv]) == 0
        return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]

    yield run
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


def links(lines: list[dict]) -> list[str]:
    return [m.group(0) for line in lines for m in [LINK.search(line["message"])] if m]


def test_serve_prints_the_link_once_and_the_link_opens_the_form(serve, tmp_path: Path) -> None:
    lines = serve("--port", "18150")
    [link] = links(lines)
    assert link.startswith("http://127.0.0.1:18150/setup/")
    [line] = [line for line in lines if link in line["message"]]
    assert line["level"] == "WARNING" and "创建第一位管理员" in line["message"]
    with TestClient(create_app(make_settings(tmp_path / "data")), follow_redirects=False) as client:
        assert client.get(link.removeprefix("http://127.0.0.1:18150")).status_code == 200
        assert create(client, LINK.search(link).group(1)).status_code == 303
    assert links(serve("--port", "18150")) == []  # an admin exists: no link any more


def test_the_link_uses_the_configured_base_url(serve) -> None:
    [link] = links(serve("--host", "0.0.0.0", env={"CITIZENVOICE_BASE_URL": "https://voice.example.cn/"}))
    assert link.startswith("https://voice.example.cn/setup/")


def test_serve_refuses_to_start_when_others_would_get_loopback_links(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CITIZENVOICE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CITIZENVOICE_BASE_URL", raising=False)
    started: list[object] = []
    monkeypatch.setattr(serving, "run", lambda *args, **kwargs: started.append(args) or 0)
    assert cli.main(["serve", "--host", "0.0.0.0"]) == 1
    error = capsys.readouterr().err
    assert started == [] and "未启动" in error and "CITIZENVOICE_BASE_URL" in error and "--allow-local-links" in error


def test_serve_warns_when_allowed_to_give_others_loopback_links(serve) -> None:
    lines = serve("--host", "0.0.0.0", "--port", "18150", "--allow-local-links")
    [warning] = [line for line in lines if "CITIZENVOICE_BASE_URL" in line["message"]]
    assert warning["level"] == "WARNING"
    assert "分享链接、订阅源和站点地图" in warning["message"] and "http://127.0.0.1:8000" in warning["message"]
    [link] = links(lines)  # a wildcard address is no place to open: the link names this machine
    assert link.startswith("http://127.0.0.1:18150/setup/")


@pytest.mark.parametrize(("host", "base_url"), [
    ("127.0.0.1", None), ("localhost", None), ("::1", None),
    ("0.0.0.0", "https://voice.example.cn"), ("192.0.2.10", "http://192.0.2.10:8000"),
])  # fmt: skip
def test_no_warning_when_links_are_right(serve, host: str, base_url: str | None) -> None:
    env = {"CITIZENVOICE_BASE_URL": base_url} if base_url else None
    lines = serve("--host", host, env=env)
    assert [line for line in lines if "CITIZENVOICE_BASE_URL" in line["message"]] == []


def test_the_warning_names_a_loopback_base_url_that_was_set_too() -> None:
    settings = Settings(base_url="http://localhost:8000")
    warning = startup.base_url_warning(settings, "::")
    assert warning and "是 http://localhost:8000" in warning


def test_healthz_shows_the_base_url(tmp_path: Path) -> None:
    for base_url in ("http://127.0.0.1:8000", "https://voice.example.cn"):
        app = create_app(make_settings(tmp_path / base_url.split("//")[1], base_url=base_url))
        with TestClient(app) as client:
            health = client.get("/healthz").json()
        assert health["status"] == "ok" and health["base_url"] == base_url


def test_add_user_from_the_shell_still_works_on_a_fresh_install(serve, monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    assert cli.main(["user", "add", "chief", "--role", "admin", "--password-stdin"]) == 0
    assert links(serve()) == []


@pytest.mark.slow
def test_two_workers_print_one_link_and_the_token_nowhere_else(tmp_path: Path) -> None:
    from test_crash_safety import load_crash_test

    with load_crash_test().running(tmp_path, workers=2) as server:
        token = LINK.search(server.log_text()).group(1)
        link = f"{server.url}/setup/{token}"
        assert httpx2.get(link, timeout=10).status_code == 200  # served by a worker
        assert httpx2.get(f"{server.url}/healthz", timeout=10).status_code == 200
        output = server.wait_for_log("Started server process", times=2)
    assert len(re.findall(r"Started server process", output)) == 2, output[-2000:]
    [line] = [line for line in output.splitlines() if token in line]  # not in the access log either
    assert link in json.loads(line)["message"] and output.count(token) == 1
