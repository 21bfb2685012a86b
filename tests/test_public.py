"""The public side: home, boards, essay pages, search, sitemap, robots.txt and photos — what a reader
sees, what never leaks, and that the lists stay indexed and stable."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiosqlite
import lxml.html
import pytest
from factories import EMAIL, PHONE, SUBMIT_IP, make_essay
from PIL import Image
from starlette.testclient import TestClient
from support import SAMPLE_BODY, db_read, db_write

from citizenvoice.domain import photos
from citizenvoice.model.public import PublicEssay
from citizenvoice.store import essays as essay_store
from citizenvoice.store import public as public_store
from citizenvoice.store import search as search_store
from citizenvoice.views import public as public_views

T = TypeVar("T")
SITEMAP_NS = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}

write = db_write
read = db_read


def page(response: Any) -> Any:
    assert response.status_code == 200, response.text[:500]
    return lxml.html.fromstring(response.text)


def text(node: Any) -> str:
    return " ".join(node.text_content().split())


def card_titles(tree: Any) -> list[str]:
    return [text(a) for a in tree.xpath("//main//*[contains(@class,'card-title')]/a")]


def at(day: int, hour: int = 8) -> str:
    return f"2026-03-{day:02d}T{hour:02d}:00:00.000000Z"


# ---------------------------------------------------------------------------------------------
# Home


def test_home_groups_boards_under_the_four_pillars_with_counts_and_latest(client: TestClient) -> None:
    make_essay(client, "published", headline="树荫下的长椅", published_at=at(1), featured=True)
    make_essay(client, "published", headline="早市的吆喝声", published_at=at(5))
    make_essay(client, "printed", headline="上了报纸的一篇", published_at=at(3))
    make_essay(client, "pending", headline="还在排队的一篇")
    make_essay(client, "unpublished", headline="被撤下的一篇", published_at=at(9))
    make_essay(client, "published", headline="码头的夜班", direction="logistics-hub", published_at=at(2))
    tree = page(client.get("/"))

    pillars = [text(h) for h in tree.xpath("//section[contains(@class,'pillar')]/h3")]
    assert pillars == ["产业为基", "创新为魂", "开放为翼", "民生为本"]
    livelihood = tree.xpath("//section[@aria-labelledby='pillar-livelihood']")[0]
    wellbeing = livelihood.xpath(".//li[.//a[@href='/boards/wellbeing']]")[0]
    assert "已发表 3 篇" in text(wellbeing)  # published + printed; not pending or taken down
    assert "最新：早市的吆喝声" in text(wellbeing)  # the newest, although another one is featured
    industry = tree.xpath("//section[@aria-labelledby='pillar-industry']")[0]
    assert "最新：码头的夜班" in text(industry.xpath(".//li[.//a[@href='/boards/logistics-hub']]")[0])


def test_home_invites_writing_for_boards_without_essays(client: TestClient) -> None:
    make_essay(client, "published", headline="早市的吆喝声")
    tree = page(client.get("/"))
    ecology = tree.xpath("//li[.//a[@href='/boards/ecology']]")[0]
    invite = ecology.xpath(".//a[@href='/submit?direction=ecology']")
    assert invite and "写下第一篇" in text(invite[0])
    assert "已发表" not in text(ecology)
    assert not tree.xpath("//li[.//a[@href='/boards/wellbeing']]//a[starts-with(@href,'/submit')]")


def test_home_shows_featured_and_latest_without_repeating(client: TestClient) -> None:
    make_essay(client, "published", headline="编辑推荐的一篇", featured=True, published_at=at(1))
    make_essay(client, "published", headline="最新的一篇", published_at=at(2))
    tree = page(client.get("/"))
    featured = [text(a) for a in tree.xpath("//section[@aria-labelledby='featured-title']//h3/a")]
    latest = [text(a) for a in tree.xpath("//section[@aria-labelledby='latest-title']//h3/a")]
    assert featured == ["编辑推荐的一篇"]
    assert latest == ["最新的一篇"]
    assert tree.xpath("//a[@class='button button-primary' and @href='/submit']")


def test_archived_boards_leave_the_home_page_until_they_have_essays(client: TestClient) -> None:
    async def archive(conn: aiosqlite.Connection) -> None:
        await conn.execute("UPDATE directions SET archived = 1 WHERE slug IN ('ecology', 'wellbeing')")

    make_essay(client, "published", headline="早市的吆喝声")
    write(client, archive)
    html = client.get("/").text
    assert 'href="/boards/ecology"' not in html
    assert 'href="/boards/wellbeing"' in html
    assert "/submit?direction=wellbeing" not in html


# ---------------------------------------------------------------------------------------------
# Boards


def test_board_lists_featured_first_then_newest_and_only_public_essays(client: TestClient) -> None:
    make_essay(client, "published", headline="旧的推荐", featured=True, published_at=at(1))
    make_essay(client, "published", headline="最新的", published_at=at(4))
    make_essay(client, "printed", headline="见报的", published_at=at(3))
    make_essay(client, "published", headline="较早的", published_at=at(2))
    make_essay(client, "pending", headline="待审的")
    make_essay(client, "unpublished", headline="下线的", published_at=at(9))
    make_essay(client, "published", headline="别的方向", direction="ecology", published_at=at(5))
    tree = page(client.get("/boards/wellbeing"))
    assert card_titles(tree) == ["旧的推荐", "最新的", "见报的", "较早的"]
    assert text(tree.xpath("//h1")[0]) == "民生福祉"
    assert "已发表 4 篇" in text(tree.xpath("//header[@class='board-header']")[0])
    assert "已见报" in text(tree.xpath("//li[.//a[text()='见报的']]")[0])


def test_board_filters_by_author_role(client: TestClient) -> None:
    make_essay(client, "published", headline="社区的声音", author_role="community", affiliation="望潮社区")
    make_essay(client, "published", headline="企业家的话", author_role="enterprise", affiliation="海风公司")
    make_essay(client, "published", headline="居民的信")
    tree = page(client.get("/boards/wellbeing?role=community"))
    assert card_titles(tree) == ["社区的声音"]
    filters = {text(a): a.get("aria-current") for a in tree.xpath("//nav[@class='filters']//a")}
    assert filters == {"全部3": None, "来自社区的声音1": "page", "企业家说1": None, "市民来信1": None}
    assert text(tree.xpath("//h2[@id='list-title']")[0]) == "来自社区的声音"
    empty = page(client.get("/boards/wellbeing?role=research"))
    assert card_titles(empty) == [] and "还没有「科研工作者」的文章" in text(empty)
    assert card_titles(page(client.get("/boards/wellbeing?role=nonsense"))) == ["居民的信", "企业家的话", "社区的声音"]


def test_empty_board_invites_the_first_essay(client: TestClient) -> None:
    tree = page(client.get("/boards/ecology"))
    assert "还在等待第一篇文章" in text(tree)
    assert tree.xpath("//main//a[@href='/submit?direction=ecology']")


def test_unknown_board_is_404(client: TestClient) -> None:
    response = client.get("/boards/no-such-board")
    assert response.status_code == 404
    assert "没有这个征文方向" in response.text
    assert client.get("/boards/no-such-board/feed.atom").status_code == 404


def _follow(client: TestClient, url: str) -> tuple[list[str], str | None, str | None]:
    tree = page(client.get(url))
    older = tree.xpath("//nav[@class='pagination']/a[@rel='next']/@href")
    newer = tree.xpath("//nav[@class='pagination']/a[@rel='prev']/@href")
    return card_titles(tree), (older[0] if older else None), (newer[0] if newer else None)


def test_board_pages_stay_stable_while_essays_arrive(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public_views, "BOARD_PAGE_SIZE", 2)
    make_essay(client, "published", headline="第一篇", published_at=at(1))
    make_essay(client, "published", headline="第二篇", published_at=at(2))
    make_essay(client, "published", headline="第三篇", published_at=at(2))  # same instant as 第二篇: the id decides
    make_essay(client, "published", headline="第四篇", published_at=at(4))
    make_essay(client, "published", headline="第五篇", published_at=at(5))

    first, older, newer = _follow(client, "/boards/wellbeing")
    assert (first, newer) == (["第五篇", "第四篇"], None)
    make_essay(client, "published", headline="新来的", published_at=at(6))  # on top while the reader is on page one
    make_essay(client, "published", headline="新的推荐", featured=True, published_at=at(3))
    second, older, newer = _follow(client, older)
    assert second == ["第三篇", "第二篇"]
    third, last, _ = _follow(client, older)
    assert (third, last) == (["第一篇"], None)
    back, _, _ = _follow(client, newer)
    assert back == ["第五篇", "第四篇"]  # the page before 第三篇, exactly as it was read


def test_board_pagination_keeps_the_role_filter(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public_views, "BOARD_PAGE_SIZE", 1)
    make_essay(client, "published", headline="企业一", author_role="enterprise", published_at=at(1))
    make_essay(client, "published", headline="居民一", published_at=at(2))
    make_essay(client, "published", headline="企业二", author_role="enterprise", published_at=at(3))
    titles, older, _ = _follow(client, "/boards/wellbeing?role=enterprise")
    assert titles == ["企业二"] and older and "role=enterprise" in older
    titles, older, newer = _follow(client, older)
    assert (titles, older) == (["企业一"], None) and newer and "role=enterprise" in newer


def test_a_forged_cursor_shows_the_first_page(client: TestClient) -> None:
    make_essay(client, "published", headline="唯一的一篇")
    for cursor in ("after=1~x~y", "after=' OR 1=1 --", "before=0~1~2026-13-01"):
        assert card_titles(page(client.get(f"/boards/wellbeing?{cursor}"))) == ["唯一的一篇"]


# ---------------------------------------------------------------------------------------------
# Essay pages


def essay_page(client: TestClient, essay_id: int) -> Any:
    return page(client.get(f"/essays/{essay_id}"))


def test_essay_page_prints_the_byline_as_the_paper_would(client: TestClient) -> None:
    full = make_essay(client, "published", headline="楼道里的灯", author_role="community", author_name="林秀梅",
                      affiliation="望潮社区党委书记").id
    resident = make_essay(client, "published", headline="河边的早晨", author_name="王大海").id
    anonymous = make_essay(client, "published", headline="车间里的梦想", author_role="enterprise", author_name="赵铁柱",
                           affiliation="海风重工车间主任", byline_mode="role_only").id
    assert text(essay_page(client, full).xpath("//p[@class='byline']")[0]) == "望潮社区党委书记 林秀梅"
    assert text(essay_page(client, resident).xpath("//p[@class='byline']")[0]) == "锦州市民 王大海"
    response = client.get(f"/essays/{anonymous}")
    assert text(page(response).xpath("//p[@class='byline']")[0]) == "锦州企业工作者"
    assert "赵铁柱" not in response.text and "海风重工" not in response.text  # not in meta or JSON-LD either


def test_essay_page_shows_text_date_board_and_no_private_data(client: TestClient) -> None:
    essay_id, token = make_essay(client, "published", headline="港口的灯光", published_at="2026-03-01T20:00:00.000000Z")
    tracking = read(client, lambda conn: essay_store.get_essay(conn, essay_id))
    assert tracking is not None
    response = client.get(f"/essays/{essay_id}")
    tree = page(response)
    assert text(tree.xpath("//h1")[0]) == "港口的灯光"
    paragraphs = [text(p) for p in tree.xpath("//div[@class='essay-body']/p")]
    assert paragraphs == SAMPLE_BODY.split("\n\n")
    assert "2026年3月2日" in text(tree.xpath("//p[@class='meta']")[0])  # 20:00 UTC is the next day in China
    assert tree.xpath("//p[@class='meta']/a[@href='/boards/wellbeing']")
    for private in (PHONE, "5678", EMAIL, tracking.tracking_code, token, SUBMIT_IP):
        assert private not in response.text


def test_printed_essay_carries_the_edition_badge(client: TestClient) -> None:
    printed = make_essay(client, "printed", headline="见报的文章", edition="《锦州日报》2026-11-24 T08版").id
    published = make_essay(client, "published", headline="还没见报的文章").id
    badge = essay_page(client, printed).xpath("//p[@class='printed']")
    assert text(badge[0]) == "刊于《锦州日报》2026年11月24日 T08版"
    assert not essay_page(client, published).xpath("//p[@class='printed']")


@pytest.mark.parametrize(
    ("edition", "label"),
    [
        ("《锦州日报》2026-11-24 T08版", "刊于《锦州日报》2026年11月24日 T08版"),
        ("《辽沈晚报》2027-01-05 A3", "刊于《辽沈晚报》2027年1月5日 A3版"),
        ("2026年12月1日第5版", "刊于《锦州日报》2026年12月1日第5版"),
        ("", "刊于《锦州日报》"),
    ],
)
def test_printed_label(edition: str, label: str) -> None:
    essay = PublicEssay(
        id=1, status="printed", direction_id=1, headline="", body="", byline_parts=None,  # type: ignore[arg-type]
        featured=False, published_at="", updated_at="", printed_edition=edition, has_photo=False,
    )
    assert public_views.printed_label(essay, "锦州日报") == label


def test_previous_and_next_stay_within_the_board(client: TestClient) -> None:
    make_essay(client, "published", headline="最旧", published_at=at(1))
    middle = make_essay(client, "published", headline="中间", published_at=at(2)).id
    make_essay(client, "published", headline="别处的", direction="ecology", published_at=at(3))
    make_essay(client, "published", headline="最新", published_at=at(4))
    tree = essay_page(client, middle)
    assert text(tree.xpath("//li[@class='essay-nav-prev']/a")[0]) == "最新"
    assert text(tree.xpath("//li[@class='essay-nav-next']/a")[0]) == "最旧"
    assert "别处的" not in text(tree.xpath("//nav[@class='essay-nav']")[0])


@pytest.mark.parametrize("status", ["pending", "rejected", "needs_revision", "withdrawn", "withdrawn_after_publishing"])
def test_essays_never_public_answer_404_without_their_text(client: TestClient, status: str) -> None:
    essay_id = make_essay(client, status, headline="不该被看到的标题", body="不该被看到的正文。" * 20).id
    response = client.get(f"/essays/{essay_id}")
    assert response.status_code == 404
    assert "不该被看到" not in response.text


def test_essay_taken_down_answers_410_without_its_text(client: TestClient) -> None:
    essay_id = make_essay(client, "unpublished", headline="已经下线的标题", body="已经下线的正文。" * 20).id
    response = client.get(f"/essays/{essay_id}")
    assert response.status_code == 410
    assert "已经下线" not in response.text.replace("这篇文章已经下线", "")
    assert client.get("/essays/999999").status_code == 404
    assert client.get("/essays/99999999999999999999999").status_code == 404


def test_share_metadata_and_json_ld(client: TestClient) -> None:
    essay_id = make_essay(client, "published", headline="港口</script><script>alert(1)</script>",
                          author_role="community", author_name="林秀梅", affiliation="望潮社区").id
    response = client.get(f"/essays/{essay_id}")
    tree = page(response)
    meta = {m.get("property") or m.get("name"): m.get("content") for m in tree.xpath("//head/meta")}
    url = f"http://127.0.0.1:8000/essays/{essay_id}"
    assert meta["og:type"] == "article" and meta["og:url"] == url
    assert meta["og:title"] == meta["twitter:title"] == "港口</script><script>alert(1)</script>"
    assert meta["og:image"].startswith("http://127.0.0.1:8000/static/img/default-share.png?v=")
    assert meta["twitter:card"] == "summary_large_image"
    assert meta["description"].startswith(SAMPLE_BODY[:16])
    assert tree.xpath("//link[@rel='canonical']/@href") == [url]
    scripts = tree.xpath("//script[@type='application/ld+json']")
    assert len(scripts) == 1 and not tree.xpath("//script[not(@type='application/ld+json')]")
    data = json.loads(scripts[0].text)
    assert data["@type"] == "Article" and data["headline"] == "港口</script><script>alert(1)</script>"
    assert data["author"]["name"] == "望潮社区 林秀梅" and data["publisher"]["name"] == "锦州日报"
    assert data["articleSection"] == "民生福祉" and data["mainEntityOfPage"]["@id"] == url
    assert "<script>alert" not in response.text


# ---------------------------------------------------------------------------------------------
# Photos


def _stored_photo(client: TestClient) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(buffer, "PNG")
    processed = photos.process_photo(buffer.getvalue(), max_bytes=1_000_000)
    return photos.store_photo(processed, client.app.state.settings.media_path)


def test_photo_is_served_only_while_the_essay_is_public(client: TestClient) -> None:
    path = _stored_photo(client)
    shown = make_essay(client, "published", headline="有照片的", photo_path=path).id
    hidden = make_essay(client, "pending", headline="待审有照片的", photo_path=path).id
    tree = essay_page(client, shown)
    assert tree.xpath(f"//figure[@class='essay-photo']/img[@src='/essays/{shown}/photo']/@alt")
    meta = {m.get("property"): m.get("content") for m in tree.xpath("//head/meta[@property]")}
    assert meta["og:image"] == f"http://127.0.0.1:8000/essays/{shown}/photo"
    response = client.get(f"/essays/{shown}/photo")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg"
    again = client.get(f"/essays/{shown}/photo", headers={"if-none-match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert client.get(f"/essays/{hidden}/photo").status_code == 404
    without = make_essay(client, "published", headline="没照片的").id
    assert client.get(f"/essays/{without}/photo").status_code == 404


# ---------------------------------------------------------------------------------------------
# Search page


def test_search_page_empty_state(client: TestClient) -> None:
    tree = page(client.get("/search"))
    assert "输入想找的字词" in text(tree)
    assert tree.xpath("//form[@role='search' and @method='get']//input[@name='q']")
    assert tree.xpath("//a[@href='/search?q=海']")


def test_search_finds_single_characters_and_highlights_them(client: TestClient) -> None:
    make_essay(client, "published", headline="海边的风", body="每天清晨，我沿着海岸巡检风机。" * 5)
    make_essay(client, "published", headline="山里的路", body="大山深处的村子通了公路。" * 5)
    tree = page(client.get("/search?q=海"))
    assert card_titles(tree) == ["海边的风"]
    assert text(tree.xpath("//h2[@id='result-count']")[0]) == "找到 1 篇"
    marks = tree.xpath("//ol[contains(@class,'search-results')]//mark")
    assert marks and all(text(m) == "海" for m in marks)
    assert tree.xpath("//input[@name='q']/@value") == ["海"]


def test_search_says_more_than_the_cap_instead_of_counting_every_match(client: TestClient, monkeypatch) -> None:
    for n in range(3):
        make_essay(client, "published", headline=f"海边的风{n}", body=f"第{n}次沿着海岸巡检风机。" * 5)
    monkeypatch.setattr(search_store, "COUNT_CAP", 2)
    tree = page(client.get("/search?q=海"))
    assert text(tree.xpath("//h2[@id='result-count']")[0]) == "找到超过 2 篇"
    assert len(card_titles(tree)) == 3  # the page still lists every match
    monkeypatch.setattr(search_store, "COUNT_CAP", 3)
    assert text(page(client.get("/search?q=风机")).xpath("//h2[@id='result-count']")[0]) == "找到 3 篇"


def test_search_no_result_state_and_direction_filter(client: TestClient) -> None:
    make_essay(client, "published", headline="港口的夜", body="港口的吊机彻夜不停。" * 5)
    make_essay(client, "published", headline="生态的港湾", direction="ecology", body="港湾里的水清了。" * 5)
    none = page(client.get("/search?q=火星"))
    assert "没有找到包含「火星」的文章" in text(none)
    assert card_titles(page(client.get("/search?q=港"))) != []
    filtered = page(client.get("/search?q=港&direction=ecology"))
    assert card_titles(filtered) == ["生态的港湾"]
    assert filtered.xpath("//select[@name='direction']/optgroup/option[@selected]/@value") == ["ecology"]
    unknown = page(client.get("/search?q=港&direction=nope"))
    assert len(card_titles(unknown)) == 2


def test_search_escapes_essay_text(client: TestClient) -> None:
    make_essay(client, "published", headline="<b>粗体</b>的标题", body="<img src=x onerror=alert(1)> 海风吹过。" * 5)
    response = client.get("/search?q=海")
    assert "<img src=x" not in response.text and "&lt;img src=x" in response.text
    assert "<b>粗体</b>" not in response.text


def test_search_pagination(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public_views, "SEARCH_PAGE_SIZE", 2)
    for day in range(1, 6):
        make_essay(client, "published", headline=f"海边第{day}天", published_at=at(day))
    seen: list[str] = []
    url: str | None = "/search?q=海边"
    while url:
        tree = page(client.get(url))
        seen += card_titles(tree)
        nxt = tree.xpath("//nav[@class='pagination']/a[@rel='next']/@href")
        url = nxt[0] if nxt else None
    assert sorted(seen) == sorted(f"海边第{d}天" for d in range(1, 6))
    third = page(client.get("/search?q=海边&page=3"))
    assert "第 3 / 3 页" in text(third.xpath("//h2[@id='result-count']")[0])
    assert third.xpath("//nav[@class='pagination']/a[@rel='prev']/@href") == ["/search?q=%E6%B5%B7%E8%BE%B9&page=2"]


# ---------------------------------------------------------------------------------------------
# Nothing unpublished leaks anywhere


def test_unpublished_content_never_leaks(client: TestClient) -> None:
    public = make_essay(client, "published", headline="公开的文章", body="公开的正文写着港口。" * 10).id
    hidden = [
        make_essay(client, status, headline=f"秘密标题{status}", body="秘密正文写着港口。" * 10).id
        for status in ("pending", "rejected", "needs_revision", "unpublished", "withdrawn", "withdrawn_after_publishing")
    ]
    for url in ("/", "/boards/wellbeing", "/search?q=秘密", "/search?q=港口", "/feed.atom",
                "/boards/wellbeing/feed.atom", f"/essays/{public}"):
        response = client.get(url)
        assert response.status_code == 200
        assert "秘密标题" not in response.text and "秘密正文" not in response.text, url
        assert not any(f"/essays/{essay_id}\"" in response.text for essay_id in hidden), url
    assert "公开的文章" in client.get("/search?q=港口").text
    assert _sitemap_essay_ids(client) == {public}


# ---------------------------------------------------------------------------------------------
# Sitemap and robots.txt


def _sitemap_essay_ids(client: TestClient) -> set[int]:
    index = ET.fromstring(client.get("/sitemap.xml").content)
    assert index.tag == "{http://www.sitemaps.org/schemas/sitemap/0.9}sitemapindex"
    ids: set[int] = set()
    for loc in index.findall("s:sitemap/s:loc", SITEMAP_NS):
        path = loc.text.removeprefix("http://127.0.0.1:8000")
        urlset = ET.fromstring(client.get(path).content)
        for url in urlset.findall("s:url/s:loc", SITEMAP_NS):
            match = re.fullmatch(r"http://127\.0\.0\.1:8000/essays/(\d+)", url.text or "")
            if match:
                ids.add(int(match[1]))
    return ids


def test_sitemap_lists_home_boards_and_every_public_essay(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public_views, "SITEMAP_CHUNK", 2)
    public = {make_essay(client, "published", headline=f"公开{n}").id for n in range(5)}
    make_essay(client, "pending", headline="待审")
    make_essay(client, "unpublished", headline="下线")
    response = client.get("/sitemap.xml")
    assert response.headers["content-type"].startswith("application/xml")
    assert len(ET.fromstring(response.content)) == 1 + 3  # pages, then five essays in chunks of two
    assert _sitemap_essay_ids(client) == public
    pages = ET.fromstring(client.get("/sitemap-pages.xml").content)
    locs = [loc.text for loc in pages.findall("s:url/s:loc", SITEMAP_NS)]
    assert "http://127.0.0.1:8000/" in locs and "http://127.0.0.1:8000/boards/ecology" in locs
    lastmods = ET.fromstring(client.get("/sitemap-essays.xml?after=0").content).findall("s:url/s:lastmod", SITEMAP_NS)
    assert lastmods and all(re.fullmatch(r"\d{4}-\d\d-\d\d", m.text or "") for m in lastmods)


def test_robots_txt_keeps_crawlers_out_of_private_pages(client: TestClient) -> None:
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    for private in ("/moderate", "/editor", "/admin", "/track", "/login"):
        assert f"Disallow: {private}" in lines
    assert "Disallow: /boards" not in response.text and "Disallow: /essays" not in response.text
    assert "Sitemap: http://127.0.0.1:8000/sitemap.xml" in lines


# ---------------------------------------------------------------------------------------------
# Index use: lists read ordered index ranges, and the home page does not query per board


async def _traced(conn: aiosqlite.Connection, work: Callable[[], Awaitable[Any]]) -> list[str]:
    statements: list[str] = []
    await conn.set_trace_callback(statements.append)
    try:
        await work()
    finally:
        await conn.set_trace_callback(None)
    return [s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]


async def _plan(conn: aiosqlite.Connection, sql: str) -> list[str]:
    async with conn.execute(f"EXPLAIN QUERY PLAN {sql}") as cursor:
        return [row[3] for row in await cursor.fetchall()]


@pytest.mark.sqlite_only("EXPLAIN QUERY PLAN")
def test_public_lists_use_indexes_without_sorting(client: TestClient) -> None:
    essay_id = make_essay(client, "published", headline="一篇", featured=True).id
    make_essay(client, "published", headline="两篇", author_role="community")

    async def check(conn: aiosqlite.Connection) -> dict[str, list[str]]:
        essay = await public_store.get_essay(conn, essay_id)
        assert essay is not None
        key, board = essay.key, essay.direction_id
        work: dict[str, Callable[[], Awaitable[Any]]] = {
            "board": lambda: public_store.board_page(conn, board, limit=20),
            "board after": lambda: public_store.board_page(conn, board, role="community", after=key),
            "board before": lambda: public_store.board_page(conn, board, before=key),
            "neighbours": lambda: public_store.neighbours(conn, essay),
            "recent": lambda: public_store.recent(conn, limit=6),
            "board feed": lambda: public_store.recent(conn, direction_id=board, full=True),
            "stats": lambda: public_store.board_stats(conn),
            "count": lambda: public_store.board_count(conn, board, "community"),
        }
        plans = {}
        for name, run in work.items():
            statements = await _traced(conn, run)
            assert statements, name
            plans[name] = [line for sql in statements for line in await _plan(conn, sql)]
        return plans

    for name, plan in read(client, check).items():
        assert not [line for line in plan if re.match(r"SCAN (e|x|essays)\b", line)], (name, plan)
        # A sort is allowed only of a branch already cut to LIMIT rows in index order ("SCAN b0", the
        # subquery each status's branch is for PostgreSQL's sake): never of an unbounded set of rows.
        sorted_sets = [plan[i - 1] for i, line in enumerate(plan) if "TEMP B-TREE" in line]
        assert all(re.fullmatch(r"SCAN b\d+", line) for line in sorted_sets), (name, plan)
        assert any("USING" in line and "INDEX" in line for line in plan), (name, plan)


@pytest.mark.sqlite_only("counts SQLite statements with a trace callback")
def test_board_stats_is_one_statement_however_many_boards(client: TestClient) -> None:
    async def add_boards(conn: aiosqlite.Connection) -> None:
        for n in range(8):
            await conn.execute(
                "INSERT INTO directions (slug, name, pillar, position) VALUES (?, ?, 'opening', ?)",
                (f"extra-{n}", f"新方向{n}", 200 + n),
            )

    make_essay(client, "published", headline="一篇")
    write(client, add_boards)

    async def count(conn: aiosqlite.Connection) -> tuple[int, int]:
        statements = await _traced(conn, lambda: public_store.board_stats(conn))
        return len(statements), len(await public_store.board_stats(conn))

    assert read(client, count) == (1, 20)
