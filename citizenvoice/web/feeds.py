"""What machines read about published essays: Atom feeds, sitemaps, and schema.org JSON-LD.

XML is built with ElementTree, which escapes every text and attribute, so an essay's text can never
break out of its element. Entries carry only what the essay page shows: headline, printed byline,
dates, board and text — never a phone number, e-mail address, tracking code or token.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# A feed with no entries still needs <updated>; any fixed instant before the column began will do.
EPOCH = "2025-01-01T00:00:00Z"


@dataclass(frozen=True)
class FeedEntry:
    url: str
    title: str
    author: str
    published: str
    updated: str
    summary: str
    content_html: str
    category: str
    category_label: str


@dataclass(frozen=True)
class Feed:
    url: str  # the feed's own address, also its id
    page_url: str  # the page it mirrors
    title: str
    subtitle: str
    publisher: str
    entries: list[FeedEntry]

    @property
    def updated(self) -> str:
        return max((e.updated for e in self.entries), default=EPOCH)


def _el(parent: ET.Element, tag: str, text: str | None = None, ns: str = ATOM, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ns}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def _serialize(root: ET.Element, default_ns: str) -> bytes:
    ET.register_namespace("", default_ns)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def atom(feed: Feed) -> bytes:
    """The feed as an Atom 1.0 document (RFC 4287)."""
    root = ET.Element(f"{{{ATOM}}}feed", {_XML_LANG: "zh-CN"})
    _el(root, "id", feed.url)
    _el(root, "title", feed.title)
    if feed.subtitle:
        _el(root, "subtitle", feed.subtitle)
    _el(root, "updated", feed.updated)
    _el(root, "link", rel="self", type="application/atom+xml", href=feed.url)
    _el(root, "link", rel="alternate", type="text/html", href=feed.page_url)
    _el(_el(root, "author"), "name", feed.publisher)
    for entry in feed.entries:
        _entry(root, entry)
    return _serialize(root, ATOM)


def _entry(root: ET.Element, entry: FeedEntry) -> None:
    item = _el(root, "entry")
    _el(item, "id", entry.url)
    _el(item, "title", entry.title)
    _el(item, "link", rel="alternate", type="text/html", href=entry.url)
    _el(item, "published", entry.published)
    _el(item, "updated", entry.updated)
    _el(_el(item, "author"), "name", entry.author)
    _el(item, "category", term=entry.category, label=entry.category_label)
    _el(item, "summary", entry.summary)
    _el(item, "content", entry.content_html, type="html")


@dataclass(frozen=True)
class SitemapUrl:
    loc: str
    lastmod: str | None = None


def sitemap_index(locations: Iterable[str]) -> bytes:
    root = ET.Element(f"{{{SITEMAP}}}sitemapindex")
    for loc in locations:
        _el(_el(root, "sitemap", ns=SITEMAP), "loc", loc, ns=SITEMAP)
    return _serialize(root, SITEMAP)


def urlset(urls: Iterable[SitemapUrl]) -> bytes:
    root = ET.Element(f"{{{SITEMAP}}}urlset")
    for url in urls:
        item = _el(root, "url", ns=SITEMAP)
        _el(item, "loc", url.loc, ns=SITEMAP)
        if url.lastmod:
            _el(item, "lastmod", url.lastmod[:10], ns=SITEMAP)  # W3C date; the day is enough
    return _serialize(root, SITEMAP)


def json_ld(data: Mapping[str, Any]) -> Markup:
    """JSON for a <script type="application/ld+json"> element.

    The element's content ends at the first "</script", and "<!--" changes how it is parsed, so
    every <, > and & is written as a JSON escape: the data stays the same, the markup cannot end.
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704 - escaped above for the script element it goes into
