"""Conditional GET on public pages: ETags, 304 Not Modified, Cache-Control; plus the static-file and
gzip behaviour the public pages rely on."""

from __future__ import annotations

import pytest
from factories import make_essay
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.testclient import TestClient

from citizenvoice.web import httpcache

PUBLIC_PAGES = ["/", "/boards/wellbeing", "/search", "/search?q=港口", "/feed.atom", "/boards/wellbeing/feed.atom",
                "/sitemap.xml", "/sitemap-pages.xml", "/sitemap-essays.xml", "/robots.txt"]


def request(method: str = "GET", if_none_match: str | None = None) -> Request:
    headers = [(b"if-none-match", if_none_match.encode())] if if_none_match else []
    return Request({"type": "http", "method": method, "path": "/", "headers": headers, "query_string": b""})


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('W/"abc"', True),
        ('"abc"', True),  # weak comparison ignores the W/ prefix on either side
        ('"x", W/"abc"', True),
        ("*", True),
        ('"abcd"', False),
        ("", False),
        (None, False),
    ],
)
def test_if_none_match_uses_weak_comparison(header: str | None, expected: bool) -> None:
    assert httpcache.matches(header, 'W/"abc"') is expected


def test_conditional_tags_and_answers_304_with_the_validators() -> None:
    fresh = httpcache.conditional(request(), HTMLResponse("<p>你好</p>"))
    assert fresh.status_code == 200
    assert fresh.headers["etag"].startswith('W/"') and fresh.headers["cache-control"] == httpcache.PAGE
    again = httpcache.conditional(request(if_none_match=fresh.headers["etag"]), HTMLResponse("<p>你好</p>"))
    assert again.status_code == 304 and again.body == b""
    assert again.headers["etag"] == fresh.headers["etag"] and again.headers["cache-control"] == httpcache.PAGE
    assert "content-type" not in again.headers
    changed = httpcache.conditional(request(if_none_match=fresh.headers["etag"]), HTMLResponse("<p>再见</p>"))
    assert changed.status_code == 200


def test_conditional_leaves_other_responses_alone() -> None:
    for req, response in [(request("POST"), HTMLResponse("x")), (request(), HTMLResponse("x", status_code=404))]:
        out = httpcache.conditional(req, response)
        assert out is response and "etag" not in out.headers
    head = httpcache.conditional(request("HEAD", if_none_match="*"), Response("x"))
    assert head.status_code == 304


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_answer_304_when_unchanged(client: TestClient, path: str) -> None:
    make_essay(client, "published", headline="港口的灯光")
    first = client.get(path)
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert "public" in first.headers["cache-control"]
    assert "set-cookie" not in first.headers  # nothing per-visitor, so shared caches may keep it
    again = client.get(path, headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag


def test_essay_page_304_and_revalidation_after_a_change(client: TestClient) -> None:
    essay_id = make_essay(client, "published", headline="港口的灯光").id
    first = client.get(f"/essays/{essay_id}")
    assert first.headers["cache-control"] == "public, max-age=0, must-revalidate"
    assert client.get(f"/essays/{essay_id}", headers={"if-none-match": first.headers["etag"]}).status_code == 304
    make_essay(client, "published", headline="同一方向的新文章")  # changes the essay page's previous/next links
    changed = client.get(f"/essays/{essay_id}", headers={"if-none-match": first.headers["etag"]})
    assert changed.status_code == 200 and "同一方向的新文章" in changed.text


def test_home_etag_changes_when_an_essay_is_published(client: TestClient) -> None:
    etag = client.get("/").headers["etag"]
    make_essay(client, "published", headline="新发表的文章")
    response = client.get("/", headers={"if-none-match": etag})
    assert response.status_code == 200 and "新发表的文章" in response.text


def test_head_requests_get_the_validators_without_a_body(client: TestClient) -> None:
    response = client.head("/")
    assert response.status_code == 200 and response.content == b"" and response.headers["etag"]
    assert client.head("/", headers={"if-none-match": response.headers["etag"]}).status_code == 304


def test_errors_are_not_marked_cacheable(client: TestClient) -> None:
    for path in ("/boards/nope", "/essays/424242"):
        response = client.get(path)
        assert response.status_code == 404
        assert "etag" not in response.headers and "public" not in response.headers.get("cache-control", "")


def test_feeds_may_be_reused_for_a_few_minutes(client: TestClient) -> None:
    assert client.get("/feed.atom").headers["cache-control"] == httpcache.FEED == "public, max-age=300"


def test_stylesheet_is_content_hashed_cached_for_a_year_and_gzipped(client: TestClient) -> None:
    html = client.get("/").text
    href = html.split('<link rel="stylesheet" href="')[1].split('"')[0]
    assert href.startswith("/static/css/site.css?v=")
    css = client.get(href, headers={"accept-encoding": "gzip"})
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert css.headers["content-encoding"] == "gzip"
    page = client.get("/", headers={"accept-encoding": "gzip"})
    assert page.headers["content-encoding"] == "gzip" and page.headers["etag"].startswith('W/"')
