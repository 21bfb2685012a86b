"""No private data on any public page, feed, search result or sitemap.

Essays are submitted through the real form with distinctive phone numbers and e-mail addresses, one of
them with an anonymous byline (so its name and affiliation are private too), and approved by a
moderator through the real decision form; one more stays pending, one is rejected. Then every public
GET route (enumerated from the app) is crawled as an anonymous visitor, following every same-site link,
the sitemaps' <loc>s and the feeds' links, and searching for every secret. No response body or header
may contain a phone number (in any common spelling), an e-mail address, a tracking token or code, an
anonymous author's name or affiliation, or a headline that is not published.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

import httpx2
import pgtest
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from support import SAMPLE_BODY, add_user

from citizenvoice.settings import Settings
from citizenvoice.web.routing import AccessRoute

SECRET = "no-leaks-secret-key-0123456789-abcdef"
BASE = "http://testserver"
MAX_PAGES = 400


@dataclass(frozen=True)
class Author:
    headline: str
    name: str
    affiliation: str
    phone: str
    email: str
    byline_mode: str = "full"
    decision: str = "approve"


AUTHORS = (
    Author("港口的灯光照亮回家的路", "钱卫东", "锦州港务集团 调度员", "13987650123", "leak.canary@example.org"),
    Author("河堤步道一直修到海边", "隐名作者甲", "锦州某机关 科长", "15011112222", "hidden.author@example.net",
           byline_mode="role_only"),
    Author("还在排队的待审文章", "待审作者", "", "18633334444", "pending.author@example.com", decision="none"),
    Author("没有被采用的一篇文章", "未采用作者", "", "17755556666", "rejected.author@example.com", decision="reject"),
)


@dataclass
class Published:
    client: TestClient
    essay_ids: list[int] = field(default_factory=list)
    all_ids: list[int] = field(default_factory=list)
    secrets: dict[str, str] = field(default_factory=dict)  # secret -> what it is
    public_headlines: list[str] = field(default_factory=list)


def phone_spellings(phone: str) -> list[str]:
    return [phone, f"{phone[:3]} {phone[3:7]} {phone[7:]}", f"{phone[:3]}-{phone[3:7]}-{phone[7:]}",
            f"+86{phone}", f"{phone[:3]}****{phone[7:]}"]  # fmt: skip


def _csrf(page: str, name: str = "csrf_token") -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert match, f"no {name} field"
    return match.group(1)


def _submit(client: TestClient, author: Author) -> tuple[str, str]:
    client.cookies.clear()
    page = client.get("/submit").text
    form = {
        "csrf_token": _csrf(page), "form_token": _csrf(page, "form_token"), "headline": author.headline,
        "body": SAMPLE_BODY, "direction": "wellbeing", "author_role": "resident", "author_name": author.name,
        "affiliation": author.affiliation, "byline_mode": author.byline_mode, "phone": author.phone,
        "email": author.email, "consent_publish": "yes", "consent_privacy": "yes", "consent_print": "yes",
    }  # fmt: skip
    response = client.post("/submit", data=form)
    assert response.status_code == 303, response.text[:500]
    token = response.headers["location"].removeprefix("/track/")
    code = re.search(r"CV-[0-9A-Z]{4}-[0-9A-Z]{4}", client.get(f"/track/{token}").text)
    assert code, "the tracking page shows no tracking code"
    return token, code.group(0)


def _decide(client: TestClient, essay_id: int, action: str) -> None:
    page = client.get(f"/moderate/{essay_id}").text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    data = {"csrf_token": _csrf(page), "action": action, "version": version.group(1)}
    if action == "reject":
        select = re.search(r'<select id="reject-reason".*?</select>', page, re.S)
        assert select, "no rejection reasons on the moderation page"
        data["reason"] = next(v for v in re.findall(r'<option value="([^"]*)"', select.group(0)) if v)
    response = client.post(f"/moderate/{essay_id}/decision", data=data)
    assert response.status_code == 303, response.text[:500]


def _essay_id(settings: Settings, code: str) -> int:
    return int(pgtest.query(settings, "SELECT id FROM essays WHERE tracking_code = ?", (code,))[0][0])


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, make_app: Callable[..., Starlette]) -> Iterator[Published]:
    app = make_app(tmp_path_factory.mktemp("leaks"), secret_key=SECRET, submit_limit_per_phone=1000, submit_limit_per_address=1000, base_url=BASE)
    settings = app.state.settings
    with TestClient(app, base_url=BASE, follow_redirects=False) as client:
        world = Published(client)
        tokens = [(_submit(client, author), author) for author in AUTHORS]
        add_user(client, "leaks-moderator", "moderator")
        client.cookies.clear()
        login = client.get("/login").text
        response = client.post("/login", data={"username": "leaks-moderator", "password": "correct horse battery",
                                               "csrf_token": _csrf(login)})  # fmt: skip
        assert response.status_code == 303
        for (token, code), author in tokens:
            essay_id = _essay_id(settings, code)
            world.all_ids.append(essay_id)
            if author.decision != "none":
                _decide(client, essay_id, author.decision)
            world.secrets.update({token: "tracking token", code: "tracking code", author.email: "e-mail",
                                  author.email.split("@")[0]: "e-mail name", quote(author.email): "e-mail"})
            world.secrets.update(dict.fromkeys(phone_spellings(author.phone), "phone"))
            if author.decision == "approve":
                world.essay_ids.append(essay_id)
                world.public_headlines.append(author.headline)
            else:
                world.secrets[author.headline] = "unpublished headline"
            if author.byline_mode == "role_only" or author.decision != "approve":
                world.secrets[author.name] = "private name"
                if author.affiliation:
                    world.secrets[author.affiliation] = "private affiliation"
        client.cookies.clear()  # from here on: an anonymous visitor
        yield world


# ---------------------------------------------------------------------------------------------------
# The crawl


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("href", "src", "action") and value:
                self.links.append(value)


def links_in(response: httpx2.Response, url: str) -> list[str]:
    kind = response.headers.get("content-type", "")
    if kind.startswith("text/html"):
        parser = _Links()
        parser.feed(response.text)
        found = parser.links
    elif "xml" in kind or "atom" in kind:
        found = re.findall(r"<loc>([^<]+)</loc>|href=\"([^\"]+)\"", response.text)
        found = [a or b for a, b in found]
    elif kind.startswith("text/plain"):
        found = re.findall(r"(?:Sitemap|Allow):\s*(\S+)", response.text)
    else:
        found = []
    return [urljoin(BASE + url, link) for link in found]


def is_public_page(url: str) -> bool:
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != urlsplit(BASE).netloc:
        return False
    private = ("/track", "/moderate", "/editor", "/admin", "/login", "/logout", "/static/")
    return not parts.path.startswith(private) and not parts.path.endswith("/photo")


def start_urls(published: Published) -> list[str]:
    urls = []
    for route in published.client.app.routes:
        if not isinstance(route, AccessRoute) or route.access or "GET" not in (route.methods or ()):
            continue
        if not is_public_page(route.path):
            continue
        for essay_id in published.essay_ids or [1]:
            urls.append(re.sub(r"\{(\w+)(?::\w+)?\}", lambda m, i=essay_id: str(i) if "id" in m.group(1) else "wellbeing",
                               route.path))  # fmt: skip
    # Unpublished essays are linked from nowhere; their pages must still say nothing.
    urls += [f"/essays/{essay_id}" for essay_id in published.all_ids]
    return sorted(set(urls))


def crawl(published: Published) -> dict[str, httpx2.Response]:
    seen: dict[str, httpx2.Response] = {}
    queue = deque(start_urls(published))
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if path in seen or not is_public_page(url):
            continue
        response = published.client.get(path)
        seen[path] = response
        queue.extend(link for link in links_in(response, path) if is_public_page(link))
    return seen


def leaks_in(response: httpx2.Response, secrets: dict[str, str]) -> list[str]:
    text = response.text if not response.headers.get("content-type", "").startswith(("image/", "application/pdf")) else ""
    headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
    return [f"{what} {secret!r}" for secret, what in secrets.items() if secret in text or secret in headers]


@pytest.fixture(scope="module")
def pages(published: Published) -> dict[str, httpx2.Response]:
    return crawl(published)


def test_the_crawl_reaches_the_public_site(published: Published, pages: dict[str, httpx2.Response]) -> None:
    assert any(p.startswith("/essays/") for p in pages), sorted(pages)
    assert any(p.startswith("/boards/") for p in pages)
    assert {"/", "/feed.atom", "/sitemap.xml", "/robots.txt", "/search"} <= set(pages) | {"/search"}
    everything = "".join(r.text for r in pages.values() if r.headers.get("content-type", "").startswith("text/html"))
    for headline in published.public_headlines:  # the published essays are there, so the crawl is not empty
        assert headline in everything


def test_no_public_response_contains_private_data(published: Published, pages: dict[str, httpx2.Response]) -> None:
    found = {path: leaks_in(response, published.secrets) for path, response in pages.items()}
    assert {path: leaks for path, leaks in found.items() if leaks} == {}
    assert all(r.status_code < 500 for r in pages.values())
    unpublished = set(published.all_ids) - set(published.essay_ids)
    assert unpublished and all(pages[f"/essays/{i}"].status_code in (404, 410) for i in unpublished)


def test_searching_for_a_secret_finds_nothing(published: Published) -> None:
    for secret, what in published.secrets.items():
        if what == "unpublished headline" or len(secret) < 4:
            continue
        response = published.client.get("/search", params={"q": secret})
        assert response.status_code == 200
        # The page repeats the query in its search box; what it must not do is find an essay by it.
        for headline in published.public_headlines:
            assert headline not in response.text, f"searching a {what} found an essay"


def test_search_results_show_only_public_bylines(published: Published) -> None:
    response = published.client.get("/search", params={"q": "港区"})
    assert response.status_code == 200
    assert any(h in response.text for h in published.public_headlines)
    assert leaks_in(response, published.secrets) == []


def test_the_export_of_private_data_needs_the_secret_token(published: Published, tmp_path: Path) -> None:
    token = next(s for s, what in published.secrets.items() if what == "tracking token")
    for guess in (token[:-1] + ("A" if token[-1] != "A" else "B"), token[:20], token.upper()):
        response = published.client.get(f"/track/{guess}/export.json")
        assert response.status_code == 404
        assert leaks_in(response, published.secrets) == []
