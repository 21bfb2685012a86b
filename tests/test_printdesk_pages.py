"""Issue 16, pages: settings editable until printed, deleting a draft, placing several at once,
verification from the page screen, and the confirmation before 标记见报."""

from __future__ import annotations

import datetime as dt

import lxml.html
from factories import make_essay
from support import SAMPLE_BODY, db_read
from test_printdesk import VOICES, _page, _post

from citizenvoice.domain import printdesk


def _four(client) -> list[int]:
    return [
        make_essay(client, "published", author_role=role, affiliation=aff, author_name=name, headline=headline,
                   phone=f"1391234567{i}")[0]
        for i, (role, aff, name, headline) in enumerate(VOICES)
    ]


def _doc(html: str):
    return lxml.html.fromstring(html)


def _text(node) -> str:
    return " ".join(node.text_content().split())


def _log(html: str) -> str:
    return _text(_doc(html).xpath("//section[h2[@id='log-title']]")[0])


def test_several_candidates_are_placed_at_once_in_the_order_given(staff_client):
    client = staff_client("editor")
    ids = _four(client)
    page_id = _page(client)
    picker = client.get(f"/editor/pages/{page_id}/candidates").text
    boxes = _doc(picker).xpath("//form[@id='place-form']//input[@type='checkbox'][@name='essay_id']")
    assert {int(b.get("value")) for b in boxes} >= set(ids)
    token = picker.split('name="csrf_token" value="')[1].split('"')[0]
    order = [ids[2], ids[0], ids[3]]
    response = client.post(f"/editor/pages/{page_id}/slots",
                           data={"csrf_token": token, "essay_id": [str(i) for i in order]})
    assert response.status_code == 303
    html = client.get(f"/editor/pages/{page_id}").text
    headlines = [_text(h) for h in _doc(html).xpath("//*[@id='slots']//li/h3")]
    assert headlines == [f"{n}. {VOICES[i][3]}" for n, i in enumerate((2, 0, 3), start=1)]


def test_placing_more_than_the_free_slots_places_none_and_says_why(staff_client):
    client = staff_client("editor")
    ids = _four(client)
    page_id = _page(client, slots="2")
    token = client.get("/editor").text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(f"/editor/pages/{page_id}/slots",
                           data={"csrf_token": token, "essay_id": [str(i) for i in ids[:3]]})
    assert response.status_code == 422
    assert "选了 3 篇，本版只剩 2 个位置" in response.text
    assert "本版还没有文章" in client.get(f"/editor/pages/{page_id}").text  # nothing half-written


def test_nothing_checked_is_a_clear_error(staff_client):
    client = staff_client("editor")
    page_id = _page(client)
    response = _post(client, f"/editor/pages/{page_id}/slots")
    assert response.status_code == 422 and "请至少选择一篇文章" in response.text


def test_settings_change_until_printed_and_are_recorded(staff_client):
    client = staff_client("editor")
    page_id = _page(client)
    response = _post(client, f"/editor/pages/{page_id}/settings", lead="新的核心提示。", slogan="向海图强 再创辉煌",
                     page_label="t09")
    assert response.status_code == 303 and response.headers["location"].endswith("#settings")
    html = client.get(f"/editor/pages/{page_id}").text
    assert "T09版" in html and "新的核心提示。" in html
    doc = _doc(html)
    assert doc.get_element_by_id("f-slogan").get("value") == "向海图强 再创辉煌"
    assert doc.get_element_by_id("f-paper").get("value") == "锦州日报"  # fields not posted keep their value
    assert "修改版面设置" in _log(html) and "核心提示" in _log(html)


def test_bad_settings_keep_the_text_and_change_nothing(staff_client):
    client = staff_client("editor")
    ids = _four(client)
    page_id = _page(client)
    for i in ids[:3]:
        _post(client, f"/editor/pages/{page_id}/slots", essay_id=str(i))
    response = _post(client, f"/editor/pages/{page_id}/settings", slots="2", lead="保留我写的这段话")
    assert response.status_code == 422
    assert "本版已有 3 篇文章，篇数不能少于 3" in response.text
    assert "保留我写的这段话" in response.text
    bad_date = _post(client, f"/editor/pages/{page_id}/settings", date="2026/11/30")
    assert bad_date.status_code == 422 and "YYYY-MM-DD" in bad_date.text and 'value="2026/11/30"' in bad_date.text
    html = client.get(f"/editor/pages/{page_id}").text
    assert "保留我写的这段话" not in html and "2026-11-24" in html


def test_settings_are_refused_once_printed(staff_client):
    client = staff_client("editor")
    essay_id = _four(client)[0]
    page_id = _page(client)
    _post(client, f"/editor/pages/{page_id}/slots", essay_id=str(essay_id))
    _post(client, f"/editor/pages/{page_id}/slots/{essay_id}/verify", note="已电话联系作者")
    _post(client, f"/editor/pages/{page_id}/lock")
    assert _post(client, f"/editor/pages/{page_id}/settings", lead="锁定后仍可改").status_code == 303
    _post(client, f"/editor/pages/{page_id}/printed")
    refused = _post(client, f"/editor/pages/{page_id}/settings", lead="见报后不能改")
    assert refused.status_code == 409 and "不能执行此操作" in refused.text
    printed = _doc(client.get(f"/editor/pages/{page_id}").text)
    assert printed.xpath(f"//form[@action='/editor/pages/{page_id}/settings']") == []


def test_a_draft_is_deleted_recorded_and_its_essays_freed(staff_client):
    client = staff_client("editor")
    essay_id, token = make_essay(client, "published", headline="删除草稿的测试")
    page_id = _page(client, page_label="T11")
    _post(client, f"/editor/pages/{page_id}/slots", essay_id=str(essay_id))
    cut = SAMPLE_BODY.split("\n\n")[0] + "\n\n" + SAMPLE_BODY.split("\n\n")[2]
    _post(client, f"/editor/pages/{page_id}/slots/{essay_id}/version", headline="删除草稿的测试",
          byline="锦州市民 李春梅", body=cut)
    assert _post(client, f"/editor/pages/{page_id}/slots/{essay_id}/signoff").status_code == 303
    assert "查看见报稿并答复" in client.get(f"/track/{token}").text
    response = _post(client, f"/editor/pages/{page_id}/delete")
    assert response.status_code == 303 and response.headers["location"].startswith("/editor")
    assert "草稿版面已删除" in client.get(response.headers["location"]).text
    assert client.get(f"/editor/pages/{page_id}").status_code == 404
    index = _doc(client.get("/editor").text)
    assert not index.xpath("//table//td[normalize-space()='T11']")  # not among the pages
    assert "T11版" in _text(index.get_element_by_id("deleted-pages")) and "editor-user" in _text(index)
    assert "查看见报稿并答复" not in client.get(f"/track/{token}").text  # the author is no longer asked
    other = _page(client)
    assert _post(client, f"/editor/pages/{other}/slots", essay_id=str(essay_id)).status_code == 303

    async def events(conn):
        cursor = await conn.execute("SELECT action FROM page_events WHERE page_id = ? ORDER BY id", (page_id,))
        return [r[0] for r in await cursor.fetchall()]

    assert db_read(client, events)[-1] == "delete"


def test_a_locked_page_cannot_be_deleted(staff_client):
    client = staff_client("editor")
    essay_id = _four(client)[0]
    page_id = _page(client)
    _post(client, f"/editor/pages/{page_id}/slots", essay_id=str(essay_id))
    _post(client, f"/editor/pages/{page_id}/lock", override_reason="测试")
    refused = _post(client, f"/editor/pages/{page_id}/delete")
    assert refused.status_code == 409
    assert client.get(f"/editor/pages/{page_id}").status_code == 200


def test_verification_from_the_page_screen_one_form_per_essay(staff_client):
    client = staff_client("editor", username="editor-qian")
    ids = _four(client)
    page_id = _page(client)
    for i in ids:
        _post(client, f"/editor/pages/{page_id}/slots", essay_id=str(i))
    html = client.get(f"/editor/pages/{page_id}").text
    assert "13912345670" not in html
    forms = _doc(html).xpath("//form[contains(@class, 'verify-form')]")
    assert [f.get("action") for f in forms] == [f"/editor/pages/{page_id}/slots/{i}/verify" for i in ids]
    shown = _post(client, f"/editor/pages/{page_id}/phones")
    assert shown.headers["cache-control"] == "no-store"
    for i in range(4):
        assert f"1391234567{i}" in shown.text
    views = client.get(f"/editor/pages/{page_id}/slots/{ids[0]}").text
    assert "电话查看记录（1）" in views and "editor-qian" in views
    empty = _post(client, f"/editor/pages/{page_id}/slots/{ids[0]}/verify", note=" ")
    assert empty.status_code == 422 and "请写明核实情况" in empty.text
    done = _post(client, f"/editor/pages/{page_id}/slots/{ids[0]}/verify", note="已电话联系，确认本人")
    assert done.status_code == 303 and done.headers["location"].startswith(f"/editor/pages/{page_id}")
    after = _doc(client.get(f"/editor/pages/{page_id}").text)
    assert len(after.xpath("//form[contains(@class, 'verify-form')]")) == 3
    assert "已核实（editor-qian）" in _text(after.get_element_by_id(f"slot-{ids[0]}"))


def test_marking_printed_asks_for_confirmation_with_the_date_warnings(staff_client):
    client = staff_client("editor")
    essay_id = _four(client)[0]
    far = (printdesk.beijing_today() - dt.timedelta(days=400)).isoformat()
    page_id = _page(client, date=far)
    _post(client, f"/editor/pages/{page_id}/slots", essay_id=str(essay_id))
    _post(client, f"/editor/pages/{page_id}/lock", override_reason="测试")
    screen = _doc(client.get(f"/editor/pages/{page_id}").text)
    (button,) = screen.xpath("//button[normalize-space()='标记为已见报']")
    assert button.xpath("ancestor::form")[0].get("method") == "get"  # the button only asks
    confirm = client.get(f"/editor/pages/{page_id}/printed")
    assert confirm.status_code == 200
    text = _text(_doc(confirm.text))
    d = dt.date.fromisoformat(far)
    assert f"刊于《锦州日报》{d.year}年{d.month}月{d.day}日 T08版" in text
    assert f"早于 《{VOICES[0][3]}》 的投稿日期" in text
    assert "400 天之前" in text
    assert client.get(f"/essays/{essay_id}").text.count("刊于") == 0  # nothing printed yet


def test_a_near_date_after_submission_has_no_warning(staff_client):
    client = staff_client("editor")
    essay_id = _four(client)[0]
    page_id = _page(client, date=printdesk.next_edition_date())
    _post(client, f"/editor/pages/{page_id}/slots", essay_id=str(essay_id))
    _post(client, f"/editor/pages/{page_id}/lock", override_reason="测试")
    confirm = _doc(client.get(f"/editor/pages/{page_id}/printed").text)
    assert confirm.xpath("//*[contains(@class, 'alert-warn')]") == []
    assert confirm.xpath("//form[@method='post']//button[starts-with(normalize-space(), '确认')]")


def test_the_page_screen_says_how_full_the_proof_is(staff_client):
    from test_printdesk import _full_page, fonts_ready

    if not fonts_ready():
        import pytest

        pytest.skip("no CJK font")
    client = staff_client("editor")
    page_id, _ = _full_page(client)  # four short essays: far from filling an A3 page
    note = _text(_doc(client.get(f"/editor/pages/{page_id}").text).get_element_by_id("proof-fit"))
    assert "留白 约" in note and "%" in note and "最大字号 10.5pt" in note


def test_the_slot_screen_warns_when_a_headline_needs_two_lines(staff_client):
    client = staff_client("editor")
    essay_id = _four(client)[0]
    page_id = _page(client, slots="6")
    _post(client, f"/editor/pages/{page_id}/slots", essay_id=str(essay_id))
    url = f"/editor/pages/{page_id}/slots/{essay_id}"
    assert "headline-fit" not in client.get(url).text
    _post(client, url + "/version", headline="以深耕细作的功夫让老企业走上高质量发展", byline="锦州市民 王建国",
          body=client.portal.call(_body, client, essay_id))
    warning = _text(_doc(client.get(url).text).get_element_by_id("headline-fit"))
    assert "一行放不下" in warning and "「以深耕细作的功夫让老」/「企业走上高质量发展」" in warning


async def _body_of(conn, essay_id):
    cursor = await conn.execute("SELECT body FROM essays WHERE id = ?", (essay_id,))
    return (await cursor.fetchone())[0]


async def _body(client, essay_id):
    async with client.app.state.db.read() as conn:
        return await _body_of(conn, essay_id)
