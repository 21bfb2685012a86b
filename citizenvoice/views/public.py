"""What the city reads: the home page, boards, essay pages, search, feeds, sitemap, robots.txt, and
/healthz for the load balancer.

Every page here is the same for every visitor (no signed-in user is loaded, no CSRF cookie issued),
so each goes through :func:`httpcache.conditional`: a content ETag, a public Cache-Control, and 304s.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.types import Scope

from citizenvoice import db as database
from citizenvoice.domain import wechat
from citizenvoice.domain.photos import PHOTO_DIR
from citizenvoice.model.directions import Direction, by_pillar
from citizenvoice.model.essays import ROLE_GROUP_LABELS, Status
from citizenvoice.model.public import BoardKey, PublicEssay
from citizenvoice.settings import Settings
from citizenvoice.store import directions as direction_store
from citizenvoice.store import public as public_store
from citizenvoice.store import search
from citizenvoice.text import numbers
from citizenvoice.web import feeds, httpcache
from citizenvoice.web.routing import PUBLIC, route
from citizenvoice.web.security import csp_allowing_scripts
from citizenvoice.web.sitesettings import site_settings
from citizenvoice.web.templating import STATIC_DIR, paragraphs_html, render

BOARD_PAGE_SIZE = 20
SEARCH_PAGE_SIZE = 20
SEARCH_MAX_PAGES = 50
SEARCH_QUERY_CHARS = 200
FEED_ENTRIES = 20
SITEMAP_CHUNK = 10_000
HOME_LATEST = 6
HOME_FEATURED = 4
DESCRIPTION_CHARS = 100
DEFAULT_LEAD = (
    "新的五年，城市将走向何方？港口、产业、科技、民生……每一个方向都关乎你我的日子。"
    "本报开设「写给下一个五年」专栏，请你写下对这座城市的期待，也写下你准备为它做的事。"
)
GONE = "这篇文章已经下线，不再公开。"
NO_ESSAY = "没有找到这篇文章。它可能还在审核中，或链接有误。"
NO_BOARD = "没有这个征文方向。请从首页选择一个方向。"
_EDITION = re.compile(r"《(?P<paper>[^》]+)》\s*(?P<y>\d{4})-(?P<m>\d\d)-(?P<d>\d\d)\s*(?P<page>.*?)版?\s*$")


@dataclass(frozen=True)
class Share:
    """What a shared link shows (OpenGraph / Twitter card) and the page's canonical address."""

    title: str
    description: str
    url: str
    image: str
    type: str = "website"
    published: str | None = None
    modified: str | None = None
    section: str | None = None
    json_ld: Any = None
    feeds: list[tuple[str, str]] = field(default_factory=list)  # (title, url) for <link rel=alternate>


def base_url(request: Request) -> str:
    return request.app.state.settings.base_url.rstrip("/")


def _default_image(request: Request) -> str:
    return base_url(request) + request.app.state.static.url("img/default-share.png")


def _page(request: Request, template: str, context: dict[str, Any], *, share_card: bool = False,
          **kwargs: Any) -> Response:
    """A public page. ``share_card``: the home, board and essay pages, which inside WeChat (when it is
    configured) load the JS-SDK for their share card, under a CSP that allows WeChat's script host."""
    settings = request.app.state.settings
    in_wechat = share_card and settings.wechat_configured and wechat.is_wechat_browser(request.headers.get("user-agent"))
    response = render(request, template, {**context, "wechat_share": in_wechat, "wechat_script": wechat.SCRIPT_URL})
    if settings.wechat_configured:
        response.headers["vary"] = "user-agent"
    if in_wechat:
        response.headers["content-security-policy"] = csp_allowing_scripts(wechat.SCRIPT_ORIGINS)
    return httpcache.conditional(request, response, **kwargs)


def _xml(request: Request, body: bytes, media_type: str) -> Response:
    response = Response(body, media_type=media_type)
    return httpcache.conditional(request, response, cache_control=httpcache.FEED)


def printed_label(essay: PublicEssay, paper_name: str) -> str | None:
    """The badge of a printed essay, "刊于《锦州日报》2026年11月24日 T08版"."""
    edition = (essay.printed_edition or "").strip()
    if not edition:
        return f"刊于《{paper_name}》" if essay.status == Status.PRINTED else None
    match = _EDITION.fullmatch(edition)
    if match is None:
        return f"刊于{edition}" if edition.startswith("《") else f"刊于《{paper_name}》{edition}"
    date = f"{int(match['y'])}年{int(match['m'])}月{int(match['d'])}日"
    page = f" {match['page'].strip()}版" if match["page"].strip() else ""
    return f"刊于《{match['paper']}》{date}{page}"


def description(text: str, limit: int = DESCRIPTION_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


# ---------------------------------------------------------------------------------------------
# Home and boards


async def home(request: Request) -> Response:
    async with request.app.state.db.read() as conn:
        directions = await direction_store.list_directions(conn)
        stats = await public_store.board_stats(conn)
        featured = await public_store.featured(conn, HOME_FEATURED)
        latest = await public_store.recent(conn, limit=HOME_LATEST + len(featured))
    site = site_settings(request)
    shown = [d for d in directions if not d.archived or (d.id in stats and stats[d.id].count)]
    share = Share(
        title=site.column_title, description=description(site.lead or DEFAULT_LEAD), url=base_url(request) + "/",
        image=_default_image(request), feeds=[(f"{site.column_title} · 最新文章", base_url(request) + "/feed.atom")],
    )
    return _page(request, "public/home.html", {
        "pillars": [group for group in by_pillar(shown) if group[2]],
        "stats": stats,
        "featured": featured,
        "latest": [e for e in latest if e.id not in {f.id for f in featured}][:HOME_LATEST],
        "boards": {d.id: d for d in directions},
        "lead": site.lead or DEFAULT_LEAD,
        "share": share,
    }, share_card=True)


async def _direction_or_404(conn: Any, slug: str) -> Direction:
    direction = await direction_store.get_by_slug(conn, slug)
    if direction is None:
        raise HTTPException(404, NO_BOARD)
    return direction


def _board_link(slug: str, **params: str | None) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return f"/boards/{slug}" + (f"?{query}" if query else "")


async def board(request: Request) -> Response:
    role = request.query_params.get("role")
    role = role if role in ROLE_GROUP_LABELS else None
    after = BoardKey.parse(request.query_params.get("after"))
    before = None if after else BoardKey.parse(request.query_params.get("before"))
    async with request.app.state.db.read() as conn:
        direction = await _direction_or_404(conn, request.path_params["slug"])
        page = await public_store.board_page(conn, direction.id, role=role, after=after, before=before,
                                             limit=BOARD_PAGE_SIZE)
        roles = await public_store.role_counts(conn, direction.id)
    site = site_settings(request)
    url = base_url(request) + f"/boards/{direction.slug}"
    share = Share(
        title=f"{direction.name} · {site.column_title}", description=description(direction.description),
        url=url, image=_default_image(request), feeds=[(f"{direction.name} · 最新文章", url + "/feed.atom")],
    )
    return _page(request, "public/board.html", {
        "direction": direction,
        "essays": page.essays,
        "total": sum(roles.values()),
        "roles": roles,
        "role": role,
        "newer_url": _board_link(direction.slug, role=role, before=page.newer.token()) if page.newer else None,
        "older_url": _board_link(direction.slug, role=role, after=page.older.token()) if page.older else None,
        "paged": bool(after or before),
        "share": share,
    }, share_card=True)


# ---------------------------------------------------------------------------------------------
# Essays


async def _public_essay_or_error(conn: Any, essay_id: int) -> PublicEssay:
    essay = await public_store.get_essay(conn, essay_id)
    if essay is None:
        # Taken down after publication: say so (410) rather than pretend it never existed. Every
        # other status was never public, and the answer reveals nothing about it.
        gone = await public_store.essay_status(conn, essay_id) == Status.UNPUBLISHED
        raise HTTPException(410 if gone else 404, GONE if gone else NO_ESSAY)
    return essay


async def essay_page(request: Request) -> Response:
    essay_id = request.path_params["essay_id"]
    async with request.app.state.db.read() as conn:
        essay = await _public_essay_or_error(conn, essay_id)
        direction = await direction_store.get_by_id(conn, essay.direction_id)
        previous, following = await public_store.neighbours(conn, essay)
    assert direction is not None  # essays.direction_id is a foreign key
    site = site_settings(request)
    return _page(request, "public/essay.html", {
        "essay": essay,
        "direction": direction,
        "byline": essay.byline(site.city),
        "printed": printed_label(essay, site.paper_name),
        "previous": previous,
        "next": following,
        "share": _essay_share(request, essay, direction, site),
    }, share_card=True)


def _essay_share(request: Request, essay: PublicEssay, direction: Direction, site: Settings) -> Share:
    url = f"{base_url(request)}/essays/{essay.id}"
    image = f"{url}/photo" if essay.photo_path else _default_image(request)
    summary = description(essay.body)
    data = {
        "@context": "https://schema.org",
        "@type": "Article",
        "headline": essay.headline,
        "description": summary,
        "author": {"@type": "Person", "name": essay.byline(site.city)},
        "datePublished": essay.published_at,
        "dateModified": essay.updated_at,
        "image": [image],
        "articleSection": direction.name,
        "inLanguage": "zh-CN",
        "url": url,
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "isPartOf": {"@type": "CreativeWorkSeries", "name": site.column_title},
        "publisher": {"@type": "Organization", "name": site.paper_name},
    }
    return Share(
        title=essay.headline, description=summary, url=url, image=image, type="article",
        published=essay.published_at, modified=essay.updated_at, section=direction.name,
        json_ld=feeds.json_ld(data),
    )


async def essay_photo(request: Request) -> Response:
    """The essay's photo, served only while the essay itself is public."""
    essay_id = request.path_params["essay_id"]
    async with request.app.state.db.read() as conn:
        relative = await public_store.photo_path(conn, essay_id)
    media = request.app.state.settings.media_path.resolve()
    file = (media / relative).resolve() if relative else None
    if file is None or not file.is_relative_to(media / PHOTO_DIR) or not file.is_file():
        raise HTTPException(404, "没有找到这张照片。")
    # Photos are stored under their content hash, so the file name is a strong validator.
    etag = f'"{Path(relative or "").stem[:32]}"'
    headers = {"etag": etag, "cache-control": httpcache.PHOTO}
    if httpcache.matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return FileResponse(file, headers=headers)


# ---------------------------------------------------------------------------------------------
# Search


def _search_page_number(raw: str | None) -> int:
    try:
        return min(max(1, int(raw or "1")), SEARCH_MAX_PAGES)
    except ValueError:
        return 1


async def search_page(request: Request) -> Response:
    q = request.query_params.get("q", "")[:SEARCH_QUERY_CHARS].strip()
    page = _search_page_number(request.query_params.get("page"))
    async with request.app.state.db.read() as conn:
        directions = await direction_store.list_directions(conn)
        boards = {d.slug: d for d in directions}
        chosen = request.query_params.get("direction") or None
        chosen = chosen if chosen in boards else None
        results = None
        if search.parse_query(q):
            results = await search.search(conn, q, direction=chosen, limit=SEARCH_PAGE_SIZE,
                                          offset=(page - 1) * SEARCH_PAGE_SIZE)
    pages = -(-results.total // SEARCH_PAGE_SIZE) if results else 0

    def link(number: int) -> str:
        return "/search?" + urlencode({k: v for k, v in {"q": q, "direction": chosen, "page": number}.items()
                                       if v and not (k == "page" and number == 1)})

    return _page(request, "public/search.html", {
        "q": q,
        "direction": chosen,
        "pillars": by_pillar(directions),
        "boards": boards,
        "results": results,
        "page": page,
        "pages": min(pages, SEARCH_MAX_PAGES),
        "previous_url": link(page - 1) if page > 1 else None,
        "next_url": link(page + 1) if page < min(pages, SEARCH_MAX_PAGES) else None,
        "share": Share(title=f"搜索 · {site_settings(request).column_title}", description="搜索已发布的文章。",
                       url=base_url(request) + "/search", image=_default_image(request)),
    })


# ---------------------------------------------------------------------------------------------
# Feeds, sitemap, robots.txt


def _feed_entry(request: Request, essay: PublicEssay, direction: Direction, city: str) -> feeds.FeedEntry:
    return feeds.FeedEntry(
        url=f"{base_url(request)}/essays/{essay.id}",
        title=essay.headline,
        author=essay.byline(city),
        published=essay.published_at,
        updated=essay.updated_at,
        summary=description(essay.body),
        content_html=str(paragraphs_html(essay.body)),
        category=direction.slug,
        category_label=direction.name,
    )


async def _feed_response(request: Request, direction: Direction | None) -> Response:
    async with request.app.state.db.read() as conn:
        boards = {d.id: d for d in await direction_store.list_directions(conn)}
        essays = await public_store.recent(conn, direction_id=direction.id if direction else None,
                                           limit=FEED_ENTRIES, full=True)
    site = site_settings(request)
    path = f"/boards/{direction.slug}" if direction else ""
    feed = feeds.Feed(
        url=f"{base_url(request)}{path}/feed.atom",
        page_url=f"{base_url(request)}{path or '/'}",
        title=f"{direction.name} · {site.column_title}" if direction else f"{site.column_title} · {site.paper_name}",
        subtitle=direction.description if direction else (site.lead or DEFAULT_LEAD),
        publisher=site.paper_name,
        entries=[_feed_entry(request, e, boards[e.direction_id], site.city) for e in essays],
    )
    return _xml(request, feeds.atom(feed), "application/atom+xml")


async def site_feed(request: Request) -> Response:
    return await _feed_response(request, None)


async def board_feed(request: Request) -> Response:
    async with request.app.state.db.read() as conn:
        direction = await _direction_or_404(conn, request.path_params["slug"])
    return await _feed_response(request, direction)


async def sitemap(request: Request) -> Response:
    """An index: one sitemap for the home page and boards, one per SITEMAP_CHUNK essays (the protocol
    allows 50,000 URLs a file)."""
    async with request.app.state.db.read() as conn:
        starts = await public_store.sitemap_boundaries(conn, SITEMAP_CHUNK)
        total = await public_store.public_count(conn)
    chunks = starts[: max(1, -(-total // SITEMAP_CHUNK))]
    base = base_url(request)
    locations = [f"{base}/sitemap-pages.xml", *(f"{base}/sitemap-essays.xml?after={s}" for s in chunks)]
    return _xml(request, feeds.sitemap_index(locations), "application/xml")


async def sitemap_pages(request: Request) -> Response:
    async with request.app.state.db.read() as conn:
        directions = await direction_store.list_directions(conn)
    base = base_url(request)
    urls = [feeds.SitemapUrl(f"{base}/"), *(feeds.SitemapUrl(f"{base}/boards/{d.slug}") for d in directions)]
    return _xml(request, feeds.urlset(urls), "application/xml")


async def sitemap_essays(request: Request) -> Response:
    raw = request.query_params.get("after", "0")
    after = numbers.parse_int(raw) or 0
    async with request.app.state.db.read() as conn:
        entries = await public_store.sitemap_chunk(conn, after, SITEMAP_CHUNK)
    base = base_url(request)
    urls = [feeds.SitemapUrl(f"{base}/essays/{e.id}", e.updated_at) for e in entries]
    return _xml(request, feeds.urlset(urls), "application/xml")


async def robots(request: Request) -> Response:
    rules = (STATIC_DIR / "robots.txt").read_text(encoding="utf-8").rstrip("\n")
    body = f"{rules}\n\nSitemap: {base_url(request)}/sitemap.xml\n"
    response = Response(body, media_type="text/plain; charset=utf-8")
    return httpcache.conditional(request, response, cache_control=httpcache.FEED)


# ---------------------------------------------------------------------------------------------


async def healthz(request: Request) -> Response:
    db = request.app.state.db
    # The origin every share link, feed and sitemap is built on: a wrong one shows at a glance here.
    base = {"base_url": base_url(request)}
    base["database"] = db.dialect
    try:
        healthy = await db.is_healthy()
        pending = database.pending_migrations(db.path)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"[:300]
        return JSONResponse({"status": "error", "database_state": "unreachable", "reason": reason, **base},
                            status_code=503)
    if not healthy or pending:
        return JSONResponse({"status": "error", "pending_migrations": pending, **base}, status_code=503)
    return JSONResponse({"status": "ok", "database_state": "ok", "migrations": "current", **base})


# Pages the rendered-page cache (pagecache.py) may keep, with the query parameters each understands;
# a request with any other parameter is rendered fresh. Search is left out: its queries are endless.
CACHED_PAGES: dict[str, tuple[str, ...]] = {
    "/": (),
    "/boards/{slug}": ("role", "after", "before"),
    "/boards/{slug}/feed.atom": (),
    "/essays/{essay_id:id}": (),
    "/feed.atom": (),
    "/sitemap.xml": (),
    "/sitemap-pages.xml": (),
    "/sitemap-essays.xml": ("after",),
    "/robots.txt": (),
}


def page_variant(settings: Settings) -> Callable[[Scope], str] | None:
    """With WeChat share cards configured, pages opened in WeChat's browser carry the JS-SDK (and a CSP
    that allows it) and others do not: two copies in the page cache. Without the setting, one."""
    if not settings.wechat_configured:
        return None

    def variant(scope: Scope) -> str:
        agent = next((v for k, v in scope["headers"] if k == b"user-agent"), b"")
        return "wx:" if b"MicroMessenger" in agent else ""

    return variant


def content_version(app: Any) -> int | None:
    """What the page cache compares on every request (store.public.content_version)."""
    db = getattr(app.state, "db", None) if app is not None else None
    if db is None:
        return None
    if db.dialect == "sqlite":
        return public_store.content_version(db.peek())
    # Awaited by the page cache: one indexed row, one query for all the requests waiting at once.
    return db.read_coalesced(public_store.read_content_version)


routes = [
    route("/", home, access=PUBLIC),
    route("/boards/{slug}", board, access=PUBLIC),
    route("/boards/{slug}/feed.atom", board_feed, access=PUBLIC),
    route("/essays/{essay_id:id}", essay_page, access=PUBLIC),
    route("/essays/{essay_id:id}/photo", essay_photo, access=PUBLIC),
    route("/search", search_page, access=PUBLIC),
    route("/feed.atom", site_feed, access=PUBLIC),
    route("/sitemap.xml", sitemap, access=PUBLIC),
    route("/sitemap-pages.xml", sitemap_pages, access=PUBLIC),
    route("/sitemap-essays.xml", sitemap_essays, access=PUBLIC),
    route("/robots.txt", robots, access=PUBLIC),
    route("/healthz", healthz, access=PUBLIC),
]
