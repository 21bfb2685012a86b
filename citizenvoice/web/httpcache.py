"""Conditional GET for public pages: a content ETag, Cache-Control, and 304 Not Modified.

Public pages are the same for every visitor (they never load the signed-in user or issue a CSRF
cookie), so they may be cached by browsers and shared proxies. The ETag is a hash of the rendered
body rather than of some data version: the page is always correct, including the parts that depend
on other essays (counts, previous/next links), and a client whose copy is current receives an empty
304 instead of the page again. There is deliberately no Last-Modified: a page can change without
any of its essays changing (an essay beside it taken down), and a date would not show that.

``PAGE`` makes every cache revalidate on each use, so an essay a moderator takes down disappears
at once; feeds and sitemaps, which readers and crawlers poll, may be reused for a few minutes.
"""

from __future__ import annotations

import hashlib

from starlette.requests import Request
from starlette.responses import Response

PAGE = "public, max-age=0, must-revalidate"
FEED = "public, max-age=300"
PHOTO = "public, max-age=300"

# Headers a 304 must repeat (RFC 9110 §15.4.5); the body and its length are left out.
_KEPT_ON_304 = ("cache-control", "etag", "vary", "content-location", "expires")


def etag_for(body: bytes) -> str:
    # Weak: GZipMiddleware may re-encode the body, and a weak tag promises only equivalent content.
    return 'W/"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith("W/") else tag


def matches(if_none_match: str | None, etag: str) -> bool:
    """The weak comparison RFC 9110 prescribes for If-None-Match."""
    if not if_none_match:
        return False
    candidates = [_opaque(t) for t in if_none_match.split(",")]
    return "*" in candidates or _opaque(etag) in candidates


def not_modified(response: Response) -> Response:
    headers = {k: v for k, v in response.headers.items() if k in _KEPT_ON_304}
    return Response(status_code=304, headers=headers)


def conditional(request: Request, response: Response, *, cache_control: str = PAGE, etag: str | None = None) -> Response:
    """Tag a successful GET/HEAD response and answer 304 when the client already holds it."""
    if request.method not in ("GET", "HEAD") or response.status_code != 200:
        return response
    response.headers["etag"] = etag or etag_for(response.body)
    response.headers["cache-control"] = cache_control
    if matches(request.headers.get("if-none-match"), response.headers["etag"]):
        return not_modified(response)
    return response
