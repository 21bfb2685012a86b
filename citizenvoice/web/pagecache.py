"""A cache of finished public pages: the response bytes, already gzipped, served before the rest of
the middleware stack runs.

At city scale most requests are anonymous readers of the same few pages (the home page, a board, the
essay the paper just printed). Rendering one costs milliseconds of queries, Jinja and gzip; replaying
stored bytes costs microseconds. What keeps it correct:

* **Exact invalidation, across worker processes.** SQLite triggers (migrations/0009) bump the
  ``public_content`` version in the same transaction as any write that can change a public page:
  a public essay inserted, edited, published, unpublished, printed, erased; a board renamed; a site
  text changed. Every request reads that version (one primary-key lookup on a synchronous
  connection, a few microseconds) and a page stored under an older version is never served. No code
  path can forget to invalidate, and no worker serves what another worker's write made stale.
* **Only what is the same for everyone.** Only the routes the views declare (``public.CACHED_PAGES``)
  with only the query parameters they understand; only GET and HEAD; never for a request carrying
  the staff session cookie; a page is *stored* only when it was rendered for a request without any
  cookie or credentials, answered 200, set no cookie and was not marked private — so nothing derived
  from a visitor can end up in a page served to another.
* **One render per change.** Concurrent misses for the same page wait for the first one's result
  instead of rendering it sixty-four times over after each publish.

Responses say what happened in ``Cache-Status`` (RFC 9211): ``CitizenVoice; hit``,
``CitizenVoice; fwd=miss; stored``, ``CitizenVoice; fwd=bypass`` …
"""

from __future__ import annotations

import asyncio
import gzip
import inspect
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from citizenvoice import db as database
from citizenvoice.web import httpcache, sitesettings

log = logging.getLogger("citizenvoice.web.pagecache")

GZIP_MINIMUM = 800  # as GZipMiddleware's minimum_size in app.py: tiny bodies are not worth it
_COMPRESSIBLE = (b"text/", b"application/xml", b"application/atom+xml", b"application/json")
# Set here per answer, or meaningless for stored bytes; everything else the app sent is replayed.
_NOT_STORED = frozenset({b"content-length", b"content-encoding", b"vary", b"x-request-id", b"cache-status"})
# Headers a 304 repeats (httpcache._KEPT_ON_304), plus the security headers every answer carries.
_NOT_ON_304 = frozenset({b"content-type", b"content-length", b"content-encoding", b"content-disposition"})
_STRIPPED_ON_MISS = frozenset({b"accept-encoding", b"if-none-match", b"if-modified-since", b"range", b"if-range"})
_CREDENTIALS = frozenset({b"cookie", b"authorization"})
_VARY = (b"vary", b"accept-encoding")
_KEYS = 4096  # cached pages' keys remembered by path and query (cleared when full)


def _status(detail: str) -> tuple[bytes, bytes]:
    return (b"cache-status", b"CitizenVoice; " + detail.encode())


HIT, STORED, MISS, BYPASS = _status("hit"), _status("fwd=miss; stored"), _status("fwd=miss"), _status("fwd=bypass")


@dataclass(frozen=True)
class CachedPage:
    version: int
    headers: tuple[tuple[bytes, bytes], ...]  # as the app sent them, less _NOT_STORED
    plain: bytes
    gzipped: bytes | None  # None when not worth compressing
    etag: str
    vary: tuple[bytes, bytes] = _VARY
    # A hit's whole header list, built once: plain, and gzipped (None when there is no gzipped copy).
    hit_plain: tuple[tuple[bytes, bytes], ...] = field(init=False, repr=False, compare=False)
    hit_gzipped: tuple[tuple[bytes, bytes], ...] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hit_plain", self.answer_headers(HIT, gzipped=False))
        object.__setattr__(self, "hit_gzipped", None if self.gzipped is None else self.answer_headers(HIT, gzipped=True))

    def answer_headers(self, status: tuple[bytes, bytes], *, gzipped: bool) -> tuple[tuple[bytes, bytes], ...]:
        """The headers of a 200 with this page: as stored, Vary, the encoding and length, Cache-Status."""
        if self.gzipped is None:
            return (*self.headers, (b"content-length", str(len(self.plain)).encode()), status)
        if not gzipped:
            return (*self.headers, self.vary, (b"content-length", str(len(self.plain)).encode()), status)
        return (*self.headers, self.vary, (b"content-encoding", b"gzip"),
                (b"content-length", str(len(self.gzipped)).encode()), status)  # fmt: skip

    @property
    def size(self) -> int:
        return len(self.plain) + len(self.gzipped or b"") + sum(len(k) + len(v) for k, v in self.headers) + 200


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    params: frozenset[str]


def compile_rules(pages: Mapping[str, Iterable[str]]) -> tuple[Rule, ...]:
    """Route paths (``/boards/{slug}``, Starlette syntax) and the query parameters each may carry."""
    return tuple(Rule(compile_path(path)[0], frozenset(params)) for path, params in pages.items())


class PageStore:
    """Pages of one content version, least recently used dropped first beyond ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.version: int | None = None
        self._pages: OrderedDict[str, CachedPage] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._pages)

    @property
    def bytes(self) -> int:
        return self._bytes

    def move_to(self, version: int) -> None:
        if version != self.version:
            self._pages.clear()
            self._bytes = 0
            self.version = version

    def get(self, key: str) -> CachedPage | None:
        page = self._pages.get(key)
        if page is None or page.version != self.version:
            return None
        self._pages.move_to_end(key)
        return page

    def put(self, key: str, page: CachedPage) -> bool:
        if page.version != self.version or page.size > self.max_bytes:
            return False  # rendered from data that has changed since: serve it once, keep nothing
        old = self._pages.pop(key, None)
        if old is not None:
            self._bytes -= old.size
        self._pages[key] = page
        self._bytes += page.size
        while self._bytes > self.max_bytes:
            _, dropped = self._pages.popitem(last=False)
            self._bytes -= dropped.size
        return True


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


class PageCacheMiddleware:
    """Pure ASGI; place it before the middleware that adds per-page headers (security, gzip, sessions)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        pages: Mapping[str, Iterable[str]],
        version: Callable[[Any], int | None],
        session_cookie: str,
        max_bytes: int = 32 * 1024 * 1024,
        variant: Callable[[Scope], str] | None = None,
    ) -> None:
        """``variant``: when pages differ by a request header (the WeChat share script, for WeChat's own
        browser only), what tells the copies apart; answers then say ``Vary: User-Agent`` too."""
        self.app = app
        self.variant = variant
        self.vary = (b"vary", b"accept-encoding, user-agent") if variant else _VARY
        self.rules = compile_rules(pages)
        self.read_version = version  # (starlette app) -> current public content version, None if unknown
        self.session_marker = session_cookie.encode() + b"="
        self.store = PageStore(max_bytes)
        self._moving: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None
        self._keys: dict[tuple[str, bytes], str] = {}  # (path, query) -> key, for requests that have one
        self._rendering: dict[str, asyncio.Future[CachedPage | None]] = {}

    # -- which requests ---------------------------------------------------------------------------

    def cache_key(self, scope: Scope) -> str | None:
        """The page's key if this request may be answered from the cache, else None."""
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or self.store.max_bytes <= 0:
            return None
        path: str = scope["path"]
        raw_query: bytes = scope.get("query_string", b"")
        key = self._keys.get((path, raw_query))
        if key is not None:
            return key
        rule = next((r for r in self.rules if r.pattern.match(path)), None)
        if rule is None:
            return None
        query = raw_query.decode("latin-1")
        if query:
            names = {part.split("=", 1)[0] for part in query.split("&")}
            if not names <= rule.params:
                return None
            key = f"{path}?{query}"
        else:
            key = path
        if len(self._keys) >= _KEYS:
            self._keys.clear()
        self._keys[path, raw_query] = key
        return key

    def _is_staff(self, scope: Scope) -> bool:
        cookie = _header(scope, b"cookie")
        return cookie is not None and self.session_marker in cookie or _header(scope, b"authorization") is not None

    # -- the middleware ---------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self.cache_key(scope)
        if key is None:
            await self.app(scope, receive, send)
            return
        if self.variant is not None:
            key = self.variant(scope) + key
        if self._is_staff(scope):
            await self.app(scope, receive, self._marked(send, BYPASS))
            return
        version = await self._current_version(scope)
        if version is None:
            await self.app(scope, receive, self._marked(send, BYPASS))
            return
        page = self.store.get(key)
        if page is not None:
            await self._answer(scope, send, page, HIT)
            return
        await self._miss(scope, receive, send, key, version)

    async def _current_version(self, scope: Scope) -> int | None:
        app = scope.get("app")
        try:
            version = self.read_version(app)
            if inspect.isawaitable(version):
                version = await version
            if version is not None and version != self.store.version:
                async with self._moving_lock():
                    if version != self.store.version:
                        # Site texts are cached per worker and re-read at most once a second; a page
                        # rendered with the old ones must not be stored under the new version.
                        if app is not None and getattr(app.state, "db", None) is not None:
                            await sitesettings.cache_for(app).refresh(app.state.db, force=True)
                        self.store.move_to(version)
        except database.errors():
            log.warning("public content version unreadable; serving without the page cache", exc_info=True)
            return None
        return version

    def _moving_lock(self) -> asyncio.Lock:
        # Created per event loop: tests run one app under several loops, one after the other.
        loop = asyncio.get_running_loop()
        if self._moving is None or self._moving[0] is not loop:
            self._moving = (loop, asyncio.Lock())
        return self._moving[1]

    async def _miss(self, scope: Scope, receive: Receive, send: Send, key: str, version: int) -> None:
        if any(name in _CREDENTIALS for name, _ in scope["headers"]):
            # Served fresh, never stored: the page might depend on what the visitor sent.
            await self.app(scope, receive, self._marked(send, MISS))
            return
        leader = self._rendering.get(key)
        if leader is not None:
            page = await asyncio.shield(leader)
            if page is not None and page.version == version:
                await self._answer(scope, send, page, HIT)
                return
            await self.app(scope, receive, self._marked(send, MISS))
            return
        future: asyncio.Future[CachedPage | None] = asyncio.get_running_loop().create_future()
        self._rendering[key] = future
        try:
            page, raw = await self._render(scope, receive, version)
        except BaseException:
            future.set_result(None)
            raise
        finally:
            if self._rendering.get(key) is future:
                del self._rendering[key]
        if not future.done():
            future.set_result(page)
        if page is None:
            assert raw is not None
            start, body = raw
            start["headers"] = [*start["headers"], MISS]
            await send(start)
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        stored = self.store.put(key, page)
        await self._answer(scope, send, page, STORED if stored else MISS)

    async def _render(self, scope: Scope, receive: Receive, version: int) -> tuple[CachedPage | None, Any]:
        """Run the app for a plain, unconditional copy of the page; a CachedPage if it may be kept."""
        inner = dict(scope)
        inner["headers"] = [(k, v) for k, v in scope["headers"] if k not in _STRIPPED_ON_MISS]
        inner["method"] = "GET"
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(inner, receive, capture)
        body = b"".join(chunks)
        page = self._page(start, body, version)
        if page is None:
            headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            body = b"" if scope["method"] == "HEAD" else body
            return None, ({"type": "http.response.start", "status": start.get("status", 500),
                           "headers": headers}, body)
        return page, None

    def _page(self, start: Message, body: bytes, version: int) -> CachedPage | None:
        if start.get("status") != 200:
            return None
        headers = tuple((k.lower(), v) for k, v in start.get("headers", []))
        names = {k for k, _ in headers}
        control = b",".join(v for k, v in headers if k == b"cache-control").lower()
        if b"set-cookie" in names or b"private" in control or b"no-store" in control or b"content-encoding" in names:
            return None
        etag = next((v.decode("latin-1") for k, v in headers if k == b"etag"), None)
        kept = tuple((k, v) for k, v in headers if k not in _NOT_STORED)
        if etag is None:
            etag = httpcache.etag_for(body)
            kept += ((b"etag", etag.encode("latin-1")),)
        content_type = next((v for k, v in headers if k == b"content-type"), b"")
        worth = len(body) >= GZIP_MINIMUM and content_type.startswith(_COMPRESSIBLE)
        gzipped = gzip.compress(body, compresslevel=9, mtime=0) if worth else None
        return CachedPage(version, kept, body, gzipped, etag, self.vary)

    async def _answer(self, scope: Scope, send: Send, page: CachedPage, status: tuple[bytes, bytes]) -> None:
        if httpcache.matches(_header_str(scope, b"if-none-match"), page.etag):
            headers = [(k, v) for k, v in page.headers if k not in _NOT_ON_304]
            headers += [page.vary, status]
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        zipped = False
        if page.gzipped is not None:
            accept = _header(scope, b"accept-encoding")
            zipped = accept is not None and b"gzip" in accept
        body = page.gzipped if zipped else page.plain
        if status is HIT:
            headers = list(page.hit_gzipped if zipped else page.hit_plain)  # type: ignore[arg-type]
        else:
            headers = list(page.answer_headers(status, gzipped=zipped))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body,
                    "more_body": False})

    @staticmethod
    def _marked(send: Send, status: tuple[bytes, bytes]) -> Send:
        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), status]
            await send(message)

        return marked


def _header_str(scope: Scope, name: bytes) -> str | None:
    value = _header(scope, name)
    return None if value is None else value.decode("latin-1")
