"""Security headers on every response, and error pages that are friendly, Chinese and tell nothing.

Every route is enumerated from the app (``app.routes``), requested as the person it is meant for and as
an anonymous visitor, and each response must carry: a Content-Security-Policy without 'unsafe-inline'
or 'unsafe-eval' (so no inline script or style can run), ``X-Content-Type-Options: nosniff``, a
Referrer-Policy, ``frame-ancestors 'none'`` (or ``X-Frame-Options: DENY``) and a Permissions-Policy;
HSTS only when the site is served over HTTPS. HTML pages must also *work* under that policy: no
inline script code, no ``style=""`` attributes and no ``on…=`` handler attributes in any template.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx2
import pytest
from factories import make_essay
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.testclient import TestClient
from support import PASSWORD, add_user

from citizenvoice.store import directions as direction_store
from citizenvoice.web.errors import TITLES
from citizenvoice.web.routing import PUBLIC, AccessRoute, route

SECRET = "security-headers-secret-key-0123456789"
REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}
LEAKS = ("Traceback", "sqlite", "SELECT ", "OperationalError", "RuntimeError", 'File "', "citizenvoice/", "secret")


# ---------------------------------------------------------------------------------------------------
# One app with something behind every route


class Site:
    def __init__(self, client: TestClient, essays: dict[str, tuple[int, str]], page_id: int) -> None:
        self.client = client
        self.essays = essays
        self.page_id = page_id

    def url(self, route: Route) -> str:
        published_id, published_token = self.essays["published"]
        values = {
            "essay_id": published_id, "id": published_id, "token": self.essays["pending"][1],
            "user_id": 1, "direction_id": 1, "reason_id": 1, "list_name": "suspect", "slug": "wellbeing",
            "page_id": self.page_id, "signed": "x" * 30,
        }  # fmt: skip
        del published_token
        return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: str(values.get(m.group(1), 1)), route.path)


def _login(client: TestClient, username: str) -> None:
    client.cookies.clear()  # signed in already, /login would only redirect
    page = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)})
    assert response.status_code == 303


def _print_page(client: TestClient) -> int:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/submit").text)
    assert token
    response = client.post("/editor/pages", data={
        "paper": "锦州日报", "date": "2026-11-24", "page_label": "T08", "column_title": "写给下一个五年",
        "slots": "4", "csrf_token": token.group(1),
    })  # fmt: skip
    match = re.search(r"/editor/pages/(\d+)", response.headers.get("location", ""))
    assert response.status_code == 303 and match, f"POST /editor/pages: {response.status_code}"
    return int(match.group(1))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, make_app: Callable[..., Starlette]) -> Iterator[Site]:
    app = make_app(tmp_path_factory.mktemp("headers"), secret_key=SECRET)
    with TestClient(app, follow_redirects=False, raise_server_exceptions=False) as client:
        add_user(client, "headers-admin", "admin")
        _login(client, "headers-admin")
        essays = {s: make_essay(client, s) for s in ("pending", "published")}
        yield Site(client, essays, _print_page(client))


def access_routes(app: Any) -> list[AccessRoute]:
    return [r for r in app.routes if isinstance(r, AccessRoute)]


def all_requests(site: Site) -> list[tuple[str, str]]:
    """(method, url) for every route in the app, plus a static file and a page that does not exist."""
    requests = [(m, site.url(r)) for r in access_routes(site.client.app) for m in sorted(r.methods or ()) if m != "HEAD"]
    static = site.client.app.state.static.url("css/site.css")
    return [*requests, ("GET", static), ("GET", "/no-such-page"), ("GET", "/static/no-such-file.css")]


# ---------------------------------------------------------------------------------------------------
# Checks


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def header_problems(response: httpx2.Response, *, https: bool = False) -> list[str]:
    h = response.headers
    problems = []
    csp = h.get("content-security-policy", "")
    directives = csp_directives(csp)
    if not csp:
        problems.append("no Content-Security-Policy")
    if "'unsafe-inline'" in csp or "'unsafe-eval'" in csp:
        problems.append(f"CSP allows inline code: {csp}")
    for kind in ("script-src", "style-src"):
        sources = directives.get(kind, directives.get("default-src"))
        if not sources or "*" in sources or any(s.startswith(("http:", "https:", "data:")) for s in sources):
            problems.append(f"CSP {kind} is too open or missing: {sources}")
    if directives.get("object-src") != ["'none'"]:
        problems.append("CSP object-src is not 'none'")
    if directives.get("frame-ancestors") != ["'none'"] and h.get("x-frame-options", "").upper() != "DENY":
        problems.append("neither frame-ancestors 'none' nor X-Frame-Options: DENY")
    if h.get("x-content-type-options", "").lower() != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if h.get("referrer-policy", "").lower() not in REFERRER_POLICIES:
        problems.append(f"Referrer-Policy {h.get('referrer-policy')!r}")
    if not h.get("permissions-policy"):
        problems.append("no Permissions-Policy")
    hsts = h.get("strict-transport-security", "")
    if https and not re.search(r"max-age=(\d{8,}|[2-9]\d{7}|1[6-9]\d{6}|15[6-9]\d{5})", hsts):
        problems.append(f"served over HTTPS without a long HSTS: {hsts!r}")
    if not https and hsts:
        problems.append("HSTS sent over plain HTTP")
    return problems


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if "style" in named:
            self.problems.append(f"<{tag} style=…> (blocked by style-src)")
        self.problems += [f"<{tag} {k}=…> (inline handler)" for k in named if k.startswith("on")]
        self._inline_script = tag == "script" and "src" not in named and named.get("type") != "application/ld+json"
        if tag == "style":
            self.problems.append("<style> element (blocked by style-src)")
        if tag in ("a", "form") and (named.get("href") or named.get("action") or "").lower().startswith("javascript:"):
            self.problems.append(f"<{tag}> with a javascript: URL")

    def handle_data(self, data: str) -> None:
        if self._inline_script and data.strip():
            self.problems.append(f"inline <script>: {data.strip()[:80]!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._inline_script = False


def markup_problems(html: str) -> list[str]:
    parser = _Markup()
    parser.feed(html)
    parser.close()
    return parser.problems


def assert_friendly_error(response: httpx2.Response, status: int) -> None:
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert 'lang="zh-CN"' in html
    assert TITLES[status] in html, f"the {status} page has no Chinese title"
    assert 'href="/"' in html, "no way back to the home page"
    for leak in LEAKS:
        assert leak not in html, f"the {status} page shows {leak!r}"


# ---------------------------------------------------------------------------------------------------
# Every route


def test_the_battery_enumerates_the_apps_routes(site: Site) -> None:
    paths = {url for _, url in all_requests(site)}
    assert {"/", "/submit", "/track", "/login", "/privacy"} <= paths
    assert any(p.startswith("/moderate") for p in paths) and any(p.startswith("/admin") for p in paths)


@pytest.mark.parametrize("who", ["staff", "anonymous"])
def test_every_response_carries_the_security_headers(site: Site, who: str) -> None:
    failures = {}
    signed_in = httpx2.Cookies(site.client.cookies)
    for method, url in all_requests(site):
        if who == "anonymous":
            site.client.cookies.clear()
        response = site.client.request(method, url, data={} if method == "POST" else None)
        problems = header_problems(response)
        if problems:
            failures[f"{method} {url} → {response.status_code}"] = problems
        site.client.cookies = httpx2.Cookies(signed_in)
    assert failures == {}


def test_every_html_page_works_under_the_policy(site: Site) -> None:
    """No inline script, inline style or handler attribute that the CSP would silently block."""
    failures = {}
    for method, url in all_requests(site):
        if method != "GET":
            continue
        response = site.client.get(url)
        if response.headers.get("content-type", "").startswith("text/html"):
            problems = markup_problems(response.text)
            if problems:
                failures[url] = sorted(set(problems))
    assert failures == {}


def test_hsts_is_sent_on_every_response_when_served_over_https(tmp_path: Path, make_app: Callable[..., Starlette]) -> None:
    app = make_app(tmp_path, secret_key=SECRET, https=True)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        for r in access_routes(app):
            if "GET" in (r.methods or ()) and "{" not in r.path:
                response = client.get(r.path)
                assert header_problems(response, https=True) == [], r.path
        client.cookies.clear()
        response = client.get("/login")
        cookie = response.headers.get("set-cookie", "")
        assert "cv_csrf=" in cookie and "Secure" in cookie


def test_static_files_are_not_sniffed(site: Site) -> None:
    response = site.client.get(site.client.app.state.static.url("js/submit.js"))
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-type"].startswith(("text/javascript", "application/javascript"))


def test_mounts_are_only_static_files(site: Site) -> None:
    # A Mount is the one kind of route that bypasses route()'s access check; only /static may be one.
    mounts = [r.path for r in site.client.app.routes if isinstance(r, Mount)]
    assert mounts == ["/static"]


# ---------------------------------------------------------------------------------------------------
# Error pages: 401, 403, 404, 405, 413, 429, 500


def test_404_page(site: Site) -> None:
    response = site.client.get("/no-such-page/../../etc/passwd")
    assert_friendly_error(response, 404)
    assert header_problems(response) == []


def test_403_page(site: Site, tmp_path: Path) -> None:
    add_user(site.client, "headers-moderator", "moderator")
    _login(site.client, "headers-moderator")
    try:
        response = site.client.get("/admin/users")
    finally:
        _login(site.client, "headers-admin")
    assert_friendly_error(response, 403)
    assert "没有权限" in response.text
    assert header_problems(response) == []


def test_401_page(site: Site) -> None:
    signed_in = httpx2.Cookies(site.client.cookies)
    site.client.cookies.clear()
    try:
        response = site.client.post("/moderate/bulk", data={})
    finally:
        site.client.cookies = signed_in
    assert_friendly_error(response, 401)
    assert header_problems(response) == []


def test_405_page(site: Site) -> None:
    response = site.client.request("DELETE", "/submit")
    assert_friendly_error(response, 405)
    assert header_problems(response) == []


def test_413_status_for_a_body_over_the_limit(site: Site) -> None:
    response = site.client.post("/submit", content=b"x" * (11 * 1024 * 1024),
                                headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert response.status_code == 413


def test_413_page_is_chinese_and_carries_the_headers(site: Site) -> None:
    response = site.client.post("/submit", content=b"x" * (11 * 1024 * 1024),
                                headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert header_problems(response) == []
    assert_friendly_error(response, 413)


def test_413_page_for_a_chunked_body_that_declares_no_length(site: Site) -> None:
    chunks = iter([b"x" * (1024 * 1024)] * 11)  # no Content-Length: counted as it streams in
    response = site.client.post("/submit", content=chunks, headers={"content-type": "application/x-www-form-urlencoded"})
    assert "content-length" not in response.request.headers
    assert header_problems(response) == []
    assert_friendly_error(response, 413)


def _essay_form(page: str, phone: str) -> dict[str, str]:
    def field(name: str) -> str:
        match = re.search(rf'name="{name}" value="([^"]*)"', page)
        assert match, name
        return match.group(1)

    return {
        "csrf_token": field("csrf_token"), "form_token": field("form_token"), "headline": "港口的灯光照亮回家的路",
        "body": "清晨六点，港区的吊机已经亮起了灯。" * 15, "direction": "wellbeing", "author_role": "resident",
        "author_name": "李春梅", "byline_mode": "full", "phone": phone, "consent_publish": "yes",
        "consent_privacy": "yes",
    }  # fmt: skip


def test_429_page(tmp_path: Path, make_app: Callable[..., Starlette]) -> None:
    app = make_app(tmp_path, secret_key=SECRET, submit_limit_per_phone=1, submit_limit_per_address=1)
    with TestClient(app, follow_redirects=False) as client:
        first = client.post("/submit", data=_essay_form(client.get("/submit").text, "13812345678"))
        assert first.status_code == 303
        second = client.post("/submit", data=_essay_form(client.get("/submit").text, "13812345678"))
    assert second.status_code == 429
    assert second.headers.get("retry-after", "").isdigit()
    assert "一小时内已提交了 1 篇文章" in second.text and "分钟后再提交" in second.text
    assert 'lang="zh-CN"' in second.text
    assert not any(leak in second.text for leak in LEAKS)
    assert header_problems(second) == []


def _app_with_a_failing_route(make_app: Callable[..., Starlette], tmp_path: Path) -> Any:
    app = make_app(tmp_path, secret_key=SECRET)

    async def boom(request: Request) -> Response:
        raise RuntimeError("SELECT phone FROM essays WHERE token_hash = 'secret'")

    # Test-only route on a fresh app; the real routes are untouched.
    app.router.routes.insert(0, route("/__boom", boom, access=PUBLIC))
    return app


def test_500_page_is_friendly_and_reveals_nothing(tmp_path: Path, make_app: Callable[..., Starlette]) -> None:
    with TestClient(_app_with_a_failing_route(make_app, tmp_path), raise_server_exceptions=False) as client:
        response = client.get("/__boom")
    assert_friendly_error(response, 500)
    assert "您已经提交的文章不会丢失" in response.text


def test_a_failing_store_gives_the_friendly_500(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_app: Callable[..., Starlette]
) -> None:
    async def locked(*args: Any, **kwargs: Any) -> Any:
        raise sqlite3.OperationalError("database is locked: SELECT * FROM essays")

    monkeypatch.setattr(direction_store, "list_directions", locked)
    with TestClient(make_app(tmp_path, secret_key=SECRET), raise_server_exceptions=False) as client:
        response = client.get("/submit")
    assert_friendly_error(response, 500)


def test_500_page_carries_the_security_headers(tmp_path: Path, make_app: Callable[..., Starlette]) -> None:
    with TestClient(_app_with_a_failing_route(make_app, tmp_path), raise_server_exceptions=False) as client:
        response = client.get("/__boom")
    assert response.status_code == 500
    assert header_problems(response) == []
