"""Issue 16: a correction made in the print version reaches the web when the editor asks
("同时更正网络版"): the public essay page and the author's page show it, recorded as an edit."""

from __future__ import annotations

import lxml.html
from factories import make_essay
from support import db_read
from test_printdesk import _page, _post

from citizenvoice.text.diff import diff_html

TYPO_BODY = (
    "清晨六点，港区的吊机已经亮起了灯。我在这座城市生活了三十年，看着核电核电站从图纸变成现实，"
    "看着码头从几条泊位长成今天的模样。下一个五年，我希望家门口的公园多一些树荫，老人散步的路平一些，\n\n"
    "孩子上学的路安全一些。作为社区的一名志愿者，我准备做三件事：帮楼里的老人学会用手机挂号，"
    "和邻居们一起把小区的角落种上花，每个月组织一次河边的清洁活动。\n\n"
    "写给下一个五年：愿我们的城市更开放、更温暖，也愿每一个普通人的期待都被听见。"
)
FIXED_BODY = TYPO_BODY.replace("核电核电站", "核电站").replace("平一些，\n\n孩子", "平一些，孩子")


def _text(html: str) -> str:
    return " ".join(lxml.html.fromstring(html).text_content().split())


def _placed(client) -> tuple[int, int, str]:
    essay_id, token = make_essay(client, "published", body=TYPO_BODY, headline="核电站旁的早晨")
    page_id = _page(client)
    _post(client, f"/editor/pages/{page_id}/slots", essay_id=str(essay_id))
    return page_id, essay_id, token


def _events(client, essay_id: int) -> list[tuple[str, str, str]]:
    async def read(conn):
        cursor = await conn.execute(
            "SELECT action, actor_kind, note FROM essay_events WHERE essay_id = ? ORDER BY id", (essay_id,))
        return [tuple(r) for r in await cursor.fetchall()]

    return db_read(client, read)


def test_a_print_correction_reaches_the_public_page_and_the_author(staff_client):
    client = staff_client("editor")
    page_id, essay_id, token = _placed(client)
    assert "核电核电站" in client.get(f"/essays/{essay_id}").text  # the typo is online (and cached)
    response = _post(client, f"/editor/pages/{page_id}/slots/{essay_id}/version", headline="核电站旁的早晨",
                     byline="锦州市民 李春梅", body=FIXED_BODY, correct_online="1")
    assert response.status_code == 303 and response.headers["location"].endswith("saved=online")
    public = client.get(f"/essays/{essay_id}").text
    assert "核电核电站" not in public and "核电站从图纸变成现实" in public
    assert "平一些，孩子上学" in _text(public)  # the broken paragraph mended
    author = client.get(f"/track/{token}").text
    assert "核电核电站" not in _text(author.split('id="correction-title"')[0])
    doc = lxml.html.fromstring(author)
    (correction,) = doc.xpath("//section[h2[@id='correction-title']]")
    assert "核电" in "".join(correction.xpath(".//del/text()"))  # the author sees what was corrected
    assert correction.xpath(".//del/span[@class='para-mark']")  # and the mended paragraph break
    assert "编辑部修订了文字" in _text(author)
    action, actor, note = _events(client, essay_id)[-1]
    assert (action, actor) == ("edit", "editor") and "见报稿更正同步到网络版" in note
    assert "请作者确认" not in note  # a typo and a break are not substantive: no sign-off asked


def test_without_the_box_the_online_text_stays(staff_client):
    client = staff_client("editor")
    page_id, essay_id, token = _placed(client)
    _post(client, f"/editor/pages/{page_id}/slots/{essay_id}/version", headline="核电站旁的早晨",
          byline="锦州市民 李春梅", body=FIXED_BODY)
    assert "核电核电站" in client.get(f"/essays/{essay_id}").text
    assert 'id="correction-title"' not in client.get(f"/track/{token}").text


def test_a_cut_is_refused_as_a_web_correction_with_the_text_kept(staff_client):
    client = staff_client("editor")
    page_id, essay_id, _ = _placed(client)
    cut = TYPO_BODY.split("\n\n")[0] + "\n\n" + TYPO_BODY.split("\n\n")[2]
    response = _post(client, f"/editor/pages/{page_id}/slots/{essay_id}/version", headline="核电站旁的早晨",
                     byline="锦州市民 李春梅", body=cut, correct_online="1")
    assert response.status_code == 422
    assert "属于见报删节，网络版保留作者全文" in response.text
    doc = lxml.html.fromstring(response.text)
    assert doc.get_element_by_id("v-body").text_content().strip() == cut.strip()
    assert doc.xpath("//input[@name='correct_online']")[0].get("checked") is not None
    assert "第 2 版见报稿" not in response.text  # nothing saved
    assert [e[0] for e in _events(client, essay_id)][-1] != "edit"


def test_a_substantive_correction_asks_the_author_to_sign_off(staff_client):
    client = staff_client("editor")
    page_id, essay_id, token = _placed(client)
    changed = FIXED_BODY.replace("三十年", "四十多年").replace("三件事", "四件小事")
    _post(client, f"/editor/pages/{page_id}/slots/{essay_id}/version", headline="核电站旁的早晨",
          byline="锦州市民 李春梅", body=changed, correct_online="1")
    assert "四十多年" in client.get(f"/essays/{essay_id}").text
    assert "查看见报稿并答复" in client.get(f"/track/{token}").text
    assert "请作者确认" in _events(client, essay_id)[-1][2]


def test_the_diff_marks_a_deleted_and_an_added_paragraph_break():
    merged = diff_html("第一段。\n\n第二段", "第一段。第二段")
    assert str(merged) == '第一段。<del><span class="para-mark" title="段落分隔">¶</span></del>第二段'
    split = diff_html("第一段。第二段", "第一段。\n\n第二段")
    assert str(split) == '第一段。<ins><span class="para-mark" title="段落分隔">¶</span>\n\n</ins>第二段'
    assert str(diff_html("<b>", "<i>")) == "&lt;<del>b</del><ins>i</ins>&gt;"
