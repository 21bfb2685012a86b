"""The rendered-page cache (citizenvoice/pagecache.py): what a reader sees right after each kind of change,
who is never served a stored page, and what is never stored.

Each test first makes the page cached (the ``Cache-Status`` header says ``hit``), then changes the data the
way the app does, then checks that the very next anonymous GET shows the change.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pgtest
import pytest
from factories import make_essay
from starlette.applications import Starlette
from starlette.testclient import TestClient
from support import add_user, login
from test_public import page, read, text, write

from citizenvoice import db
from citizenvoice.domain import administration, lifecycle, privacy
from citizenvoice.model.essays import Action, Actor
from citizenvoice.settings import Settings
from citizenvoice.store import admin as admin_store
from citizenvoice.store import directions as direction_store
from citizenvoice.store import essays as essay_store
from citizenvoice.store import public as public_store
from citizenvoice.web import sitesettings

MODERATOR = lifecycle.ActorRef(Actor.MODERATOR, None)
EDITOR = lifecycle.ActorRef(Actor.EDITOR, None)


def cached(client: TestClient, path: str, **kwargs: Any) -> Any:
    """GET ``path`` until it comes from the cache; returns that response."""
    client.get(path, **kwargs)
    response = client.get(path, **kwargs)
    assert response.status_code == 200
    assert response.headers["cache-status"] == "CitizenVoice; hit", response.headers.get("cache-status")
    return response


def status(response: Any) -> str:
    return response.headers.get("cache-status", "")


def transition(client: TestClient, essay_id: int, action: Action, actor: lifecycle.ActorRef = MODERATOR,
               **changes: Any) -> None:
    city = sitesettings.site_settings_for_app(client.app).city
    write(client, lambda conn: lifecycle.transition(conn, essay_id, action, actor, city=city, reason="测试",
                                                    note="测试", changes=changes or None))


# ---------------------------------------------------------------------------------------------
# Exact invalidation: the next anonymous GET after each change shows it


def test_publish_shows_on_home_board_and_neighbour_at_once(client: TestClient) -> None:
    first = make_essay(client, "published", headline="第一篇已经发表").id
    for path in ("/", "/boards/wellbeing", f"/essays/{first}", "/feed.atom", "/sitemap-essays.xml"):
        cached(client, path)
    second = make_essay(client, "published", headline="第二篇刚刚通过").id
    assert "第二篇刚刚通过" in client.get("/").text
    assert "第二篇刚刚通过" in client.get("/boards/wellbeing").text
    assert "第二篇刚刚通过" in client.get(f"/essays/{first}").text  # the "next" link
    assert "第二篇刚刚通过" in client.get("/feed.atom").text
    assert f"/essays/{second}" in client.get("/sitemap-essays.xml").text


def test_moderator_edit_shows_the_new_text(client: TestClient) -> None:
    essay_id = make_essay(client, "published", headline="原来的标题写得不好").id
    cached(client, f"/essays/{essay_id}")
    cached(client, "/")
    essay = read(client, lambda conn: essay_store.get_essay(conn, essay_id))

    async def edit(conn: Any) -> None:
        assert await essay_store.update_essay(conn, essay_id, essay.version, headline="修改以后的新标题")

    write(client, edit)
    assert "修改以后的新标题" in page(client.get(f"/essays/{essay_id}")).findtext(".//title")
    assert "修改以后的新标题" in client.get("/").text


def test_unpublish_takes_the_essay_down_everywhere(client: TestClient) -> None:
    essay_id = make_essay(client, "published", headline="即将撤下的文章").id
    cached(client, f"/essays/{essay_id}")
    cached(client, "/")
    transition(client, essay_id, Action.UNPUBLISH)
    gone = client.get(f"/essays/{essay_id}")
    assert gone.status_code == 410
    assert "即将撤下的文章" not in client.get("/").text
    assert status(client.get(f"/essays/{essay_id}")) != "CitizenVoice; hit"  # errors are never stored


def test_print_shows_the_printed_badge(client: TestClient) -> None:
    essay_id = make_essay(client, "published", headline="将要见报的文章").id
    cached(client, f"/essays/{essay_id}")
    transition(client, essay_id, Action.PRINT, EDITOR, printed_edition="《锦州日报》2026-11-24 T08版")
    assert "刊于《锦州日报》2026年11月24日 T08版" in text(page(client.get(f"/essays/{essay_id}")))


def test_erasure_removes_the_authors_name(client: TestClient) -> None:
    essay_id = make_essay(client, "published", headline="署名将被删除", author_name="王建国").id
    assert "王建国" in cached(client, f"/essays/{essay_id}").text
    assert "王建国" in cached(client, "/boards/wellbeing").text
    city, media = sitesettings.site_settings_for_app(client.app).city, client.app.state.settings.media_path
    write(client, lambda conn: privacy.erase_for_author(conn, essay_id, "anonymous", city=city,
                                                        media_dir=media))
    assert "王建国" not in client.get(f"/essays/{essay_id}").text
    assert "王建国" not in client.get("/boards/wellbeing").text


def test_direction_rename_shows_on_its_board_and_home(client: TestClient, staff_client: Any) -> None:
    make_essay(client, "published", headline="民生方向的一篇文章")
    cached(client, "/boards/wellbeing")
    cached(client, "/")
    direction = read(client, lambda conn: direction_store.get_by_slug(conn, "wellbeing"))
    write(client, lambda conn: admin_store.update_direction(
        conn, direction.id, name="民生福祉新名称", description=direction.description, pillar=direction.pillar,
        moved=False))
    assert "民生福祉新名称" in page(client.get("/boards/wellbeing")).findtext(".//h1")
    assert "民生福祉新名称" in client.get("/").text


def test_site_text_change_by_an_admin_shows_on_the_next_anonymous_page(client: TestClient) -> None:
    make_essay(client, "published", headline="首页上的文章")
    cached(client, "/")
    add_user(client, "site-admin", "admin")
    user = read(client, lambda conn: _user(conn, "site-admin"))
    base = client.app.state.settings
    values = {key: getattr(base, key) for key in ("site_name", "city", "paper_name", "lead")}
    write(client, lambda conn: administration.save_site_settings(
        conn, user, {**values, "column_title": "新的栏目名称"}, base))
    assert "新的栏目名称" in client.get("/").text


async def _user(conn: Any, name: str) -> Any:
    from citizenvoice.store import users as user_store

    record = await user_store.get_by_username(conn, name)
    return record.user


def test_queue_activity_does_not_invalidate(client: TestClient) -> None:
    """Submissions, rejections and other non-public writes leave the stored pages in place."""
    make_essay(client, "published", headline="已发表的文章")
    cached(client, "/")
    pending = make_essay(client, "pending", headline="还在审核中的文章").id
    transition(client, pending, Action.REJECT)
    again = client.get("/")
    assert status(again) == "CitizenVoice; hit" and "还在审核中的文章" not in again.text


def test_a_write_through_another_worker_invalidates_this_one(settings: Settings, make_app: Callable[..., Starlette]) -> None:
    """Two app instances on one database stand for two worker processes: neither serves stale pages."""
    with TestClient(make_app(settings)) as one, TestClient(make_app(settings)) as two:
        make_essay(one, "published", headline="第一个进程发表的文章")
        cached(one, "/")
        cached(two, "/")
        make_essay(two, "published", headline="第二个进程发表的文章")
        assert "第二个进程发表的文章" in one.get("/").text


def test_a_write_from_a_plain_connection_is_seen(client: TestClient) -> None:
    """The triggers, not the app code, bump the version: even a command-line UPDATE invalidates."""
    essay_id = make_essay(client, "published", headline="命令行修改之前").id
    cached(client, f"/essays/{essay_id}")
    pgtest.execute(client.app.state.settings, "UPDATE essays SET headline = '命令行修改之后' WHERE id = ?", (essay_id,))
    assert "命令行修改之后" in client.get(f"/essays/{essay_id}").text


def test_the_trigger_watches_every_column_public_pages_read() -> None:
    """A column added to store/public.py's queries must be added to the trigger too."""
    trigger = (db.MIGRATIONS_DIR / "0009_public_pages.sql").read_text(encoding="utf-8")
    watched = set(re.search(r"AFTER UPDATE OF ([\w\s,]+?) ON essays", trigger)[1].replace("\n", " ").split(", "))
    watched = {c.strip() for c in watched}
    read_columns = set(re.findall(r"\be\.(\w+)", public_store._FULL + public_store.BOARD_ORDER))
    assert read_columns and read_columns <= watched, read_columns - watched


# ---------------------------------------------------------------------------------------------
# Who gets stored pages, and what is stored


def test_staff_are_never_served_a_stored_page_nor_fill_the_cache(client: TestClient) -> None:
    essay_id = make_essay(client, "published", headline="员工也会看的文章").id
    cached(client, f"/essays/{essay_id}")
    add_user(client, "mod-one", "moderator")
    login(client, "mod-one")
    for _ in range(2):
        assert status(client.get(f"/essays/{essay_id}")) == "CitizenVoice; fwd=bypass"
        assert status(client.get("/boards/wellbeing")) == "CitizenVoice; fwd=bypass"
    client.cookies.clear()
    # The board was only ever rendered for staff, so nothing was stored for anonymous readers.
    assert status(client.get("/boards/wellbeing")) == "CitizenVoice; fwd=miss; stored"


def test_pages_rendered_for_a_request_with_cookies_are_not_stored(client: TestClient) -> None:
    make_essay(client, "published", headline="带着投稿表单cookie的读者")
    client.get("/submit")  # issues the CSRF cookie, as a resident who opened the form has
    assert client.cookies.get("cv_csrf")
    assert status(client.get("/")) == "CitizenVoice; fwd=miss"
    assert status(client.get("/")) == "CitizenVoice; fwd=miss"
    client.cookies.clear()
    assert status(client.get("/")) == "CitizenVoice; fwd=miss; stored"


def test_private_and_per_visitor_pages_are_never_cached(client: TestClient) -> None:
    tokens = set()
    for _ in range(2):
        form = client.get("/submit")
        assert "cache-status" not in form.headers
        tokens.add(re.search(r'name="form_token" value="([^"]+)"', form.text)[1])
        client.cookies.clear()
    assert len(tokens) == 2  # every visitor gets a fresh one-time form token
    for path in ("/search?q=港口", "/track", "/login"):
        assert "cache-status" not in client.get(path).headers
    assert status(client.get("/?utm_source=weibo")) == ""  # unknown parameters: rendered fresh


def test_missing_pages_are_not_stored(client: TestClient) -> None:
    for _ in range(2):
        response = client.get("/essays/999999")
        assert response.status_code == 404 and status(response) == "CitizenVoice; fwd=miss"
        assert client.get("/boards/no-such-board").status_code == 404


def test_stored_page_keeps_security_headers_and_answers_304(client: TestClient) -> None:
    essay_id = make_essay(client, "published", headline="带有安全响应头的文章").id
    fresh = client.get(f"/essays/{essay_id}")
    hit = cached(client, f"/essays/{essay_id}")
    for header in ("content-security-policy", "x-frame-options", "etag", "cache-control", "x-request-id"):
        assert hit.headers.get(header), header
    assert hit.headers["x-request-id"] != fresh.headers["x-request-id"]
    assert "set-cookie" not in hit.headers
    again = client.get(f"/essays/{essay_id}", headers={"if-none-match": hit.headers["etag"]})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == hit.headers["etag"]


def test_gzip_and_plain_readers_get_the_same_page(client: TestClient) -> None:
    essay_id = make_essay(client, "published", headline="压缩与不压缩").id
    zipped = cached(client, f"/essays/{essay_id}", headers={"accept-encoding": "gzip"})
    plain = client.get(f"/essays/{essay_id}", headers={"accept-encoding": "identity"})
    assert zipped.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert zipped.headers["vary"].lower() == plain.headers["vary"].lower() == "accept-encoding"
    assert zipped.text == plain.text and status(plain) == "CitizenVoice; hit"
    assert int(zipped.headers["content-length"]) < int(plain.headers["content-length"]) == len(plain.content)


def test_head_is_answered_from_the_cache_without_a_body(client: TestClient) -> None:
    make_essay(client, "published", headline="首页文章")
    cached(client, "/")
    head = client.head("/")
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) > 0


def test_cache_can_be_turned_off(tmp_path: Path, make_app: Callable[..., Starlette]) -> None:
    with TestClient(make_app(tmp_path, page_cache_mb=0)) as off:
        assert "cache-status" not in off.get("/").headers


@pytest.mark.parametrize("path", ["/", "/boards/logistics-hub?role=resident", "/sitemap.xml", "/robots.txt"])
def test_public_pages_are_stored(client: TestClient, path: str) -> None:
    assert status(client.get(path)) == "CitizenVoice; fwd=miss; stored"
    assert status(client.get(path)) == "CitizenVoice; hit"
