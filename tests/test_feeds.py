"""Atom feeds (site-wide and per board) parse as valid Atom with the required elements, carry only
public essays and no private data; JSON-LD cannot end its script element."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import lxml.html
from factories import EMAIL, PHONE, SUBMIT_IP, make_essay
from starlette.testclient import TestClient
from support import SAMPLE_BODY
from test_public import read

from citizenvoice.store import essays as essay_store
from citizenvoice.web import feeds

A = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def atom(client: TestClient, url: str) -> ET.Element:
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    assert response.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = ET.fromstring(response.content)
    assert root.tag == f"{A}feed"
    return root


def check_required_elements(root: ET.Element) -> None:
    """RFC 4287: a feed has one id, title and updated, an author (here on the feed and every entry),
    a self link; each entry has one id, title, updated and an alternate link or content."""
    for tag in ("id", "title", "updated"):
        assert len(root.findall(f"{A}{tag}")) == 1, tag
    assert RFC3339.fullmatch(root.findtext(f"{A}updated") or "")
    assert root.findtext(f"{A}author/{A}name")
    assert [link.get("rel") for link in root.findall(f"{A}link")] == ["self", "alternate"]
    ids = []
    for entry in root.findall(f"{A}entry"):
        for tag in ("id", "title", "updated", "published"):
            assert len(entry.findall(f"{A}{tag}")) == 1, tag
        assert RFC3339.fullmatch(entry.findtext(f"{A}updated") or "")
        assert RFC3339.fullmatch(entry.findtext(f"{A}published") or "")
        assert entry.findtext(f"{A}author/{A}name")
        assert entry.find(f"{A}link[@rel='alternate']") is not None
        assert entry.find(f"{A}content").get("type") == "html"
        ids.append(entry.findtext(f"{A}id"))
    assert len(ids) == len(set(ids))


def titles(root: ET.Element) -> list[str]:
    return [e.findtext(f"{A}title") or "" for e in root.findall(f"{A}entry")]


def test_site_feed_is_valid_atom_with_public_essays_newest_first(client: TestClient) -> None:
    make_essay(client, "published", headline="较早的", published_at="2026-03-01T08:00:00.000000Z")
    make_essay(client, "published", headline="生态的", direction="ecology",
               published_at="2026-03-02T08:00:00.000000Z")
    make_essay(client, "printed", headline="见报的", published_at="2026-03-03T08:00:00.000000Z")
    make_essay(client, "published", headline="推荐的", featured=True, published_at="2026-02-01T08:00:00.000000Z")
    make_essay(client, "pending", headline="待审的")
    make_essay(client, "unpublished", headline="下线的")
    root = atom(client, "/feed.atom")
    check_required_elements(root)
    assert titles(root) == ["见报的", "生态的", "较早的", "推荐的"]  # feeds are chronological
    assert root.findtext(f"{A}id") == "http://127.0.0.1:8000/feed.atom"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "zh-CN"
    first = root.find(f"{A}entry")
    assert first is not None
    assert first.findtext(f"{A}author/{A}name") == "锦州市民 李春梅"
    assert re.fullmatch(r"http://127\.0\.0\.1:8000/essays/\d+", first.findtext(f"{A}id") or "")
    assert first.find(f"{A}category").get("label") == "民生福祉"
    content = lxml.html.fragment_fromstring(first.findtext(f"{A}content") or "", create_parent="div")
    assert [p.text_content() for p in content.findall("p")] == SAMPLE_BODY.split("\n\n")


def test_board_feed_holds_only_that_board(client: TestClient) -> None:
    make_essay(client, "published", headline="民生的")
    make_essay(client, "published", headline="生态的", direction="ecology")
    root = atom(client, "/boards/ecology/feed.atom")
    check_required_elements(root)
    assert titles(root) == ["生态的"]
    assert root.findtext(f"{A}title") == "生态宜居 · 写给下一个五年"
    assert root.find(f"{A}link[@rel='alternate']").get("href") == "http://127.0.0.1:8000/boards/ecology"


def test_empty_feed_is_still_valid(client: TestClient) -> None:
    root = atom(client, "/boards/silver-economy/feed.atom")
    check_required_elements(root)
    assert titles(root) == [] and root.findtext(f"{A}updated") == feeds.EPOCH


def test_feed_entries_carry_no_private_data(client: TestClient) -> None:
    essay_id, token = make_essay(client, "published", headline="只署身份的", author_role="enterprise",
                                 author_name="赵铁柱", affiliation="海风重工车间主任", byline_mode="role_only")
    essay = read(client, lambda conn: essay_store.get_essay(conn, essay_id))
    assert essay is not None
    for url in ("/feed.atom", "/boards/wellbeing/feed.atom"):
        body = client.get(url).text
        assert "只署身份的" in body and "锦州企业工作者" in body
        for private in (PHONE, EMAIL, essay.tracking_code, "赵铁柱", "海风重工", SUBMIT_IP, token):
            assert private not in body, (url, private)


def test_essay_text_is_escaped_in_the_feed(client: TestClient) -> None:
    make_essay(client, "published", headline="A & B <c>", body="第一段 <script>alert(1)</script> & 更多。\n\n第二段。")
    raw = client.get("/feed.atom").text
    assert "<script>" not in raw and "<c>" not in raw
    root = ET.fromstring(raw.encode())
    assert titles(root) == ["A & B <c>"]
    content = root.find(f"{A}entry/{A}content")
    assert content is not None and "&lt;script&gt;" in (content.text or "")  # escaped inside the HTML too


def test_json_ld_cannot_close_its_script_element() -> None:
    data = {"headline": "</script><script>alert(1)</script><!-- & -->"}
    text = str(feeds.json_ld(data))
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == data
