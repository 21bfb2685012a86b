from __future__ import annotations

import io
import json
import re
import zipfile

import pytest
from factories import make_essay
from support import SAMPLE_BODY, csrf_from, login

from citizenvoice.domain import printexport

CITY = "锦州"  # the deployment's default city; test_the_print_desk_follows_the_admins_site_settings changes it
VOICES = [
    ("community", "城南街道幸福社区党委书记", "王建国", "社区的灯火"),
    ("enterprise", "锦港物流有限公司总经理", "赵明", "一条通向世界的路"),
    ("resident", "", "李春梅", "河边的早晨"),
    ("research", "渤海大学科技处处长", "陈思远", "把论文写在大地上"),
]


def fonts_ready() -> bool:
    try:
        printexport.find_cjk_fonts()
    except printexport.MissingCJKFont:
        return False
    return True


def _page(client, **overrides) -> int:
    token = csrf_from(client.get("/editor").text)
    data = {"paper": "锦州日报", "date": "2026-11-24", "page_label": "T08", "column_title": "写给下一个五年",
            "slots": "4", "slot_budget": "500", "lead": "新的五年，城市向海图强。", "credits": "本栏目内容由本报记者整理",
            "byline_style": "under_headline", "csrf_token": token, **overrides}
    response = client.post("/editor/pages", data=data)
    assert response.status_code == 303, response.text
    match = re.fullmatch(r"/editor/pages/(\d+)", response.headers["location"])
    assert match
    return int(match.group(1))


def _post(client, url: str, **data):
    token = csrf_from(client.get("/editor").text)
    return client.post(url, data={"csrf_token": token, **data})


def _full_page(client) -> tuple[int, list[int]]:
    ids = [
        make_essay(client, "published", author_role=role, affiliation=aff, author_name=name,
                     headline=headline)[0]
        for role, aff, name, headline in VOICES
    ]
    page_id = _page(client)
    for essay_id in ids:
        assert _post(client, f"/editor/pages/{page_id}/slots", essay_id=str(essay_id)).status_code == 303
    return page_id, ids


def test_create_page_validates_fields_in_chinese_and_keeps_input(staff_client):
    client = staff_client("editor")
    token = csrf_from(client.get("/editor").text)
    response = client.post("/editor/pages", data={"paper": "锦州日报", "date": "24/11/2026", "page_label": "T08",
                                                  "column_title": "写给下一个五年", "slots": "12", "csrf_token": token})
    assert response.status_code == 422
    assert "YYYY-MM-DD" in response.text and "篇数应为 1–8" in response.text
    assert 'value="24/11/2026"' in response.text


def test_only_published_print_consenting_essays_not_on_another_page_are_candidates(staff_client):
    client = staff_client("editor")
    ok, _ = make_essay(client, "published", headline="可以见报的文章")
    make_essay(client, "published", headline="不同意见报的文章", consent_print=False)
    make_essay(client, "pending", headline="还在审核的文章")
    first = _page(client)
    html = client.get(f"/editor/pages/{first}/candidates").text
    assert "可以见报的文章" in html
    assert "不同意见报的文章" not in html and "还在审核的文章" not in html
    _post(client, f"/editor/pages/{first}/slots", essay_id=str(ok))
    second = _page(client, page_label="T09")
    assert "可以见报的文章" not in client.get(f"/editor/pages/{second}/candidates").text
    refused = _post(client, f"/editor/pages/{second}/slots", essay_id=str(ok))
    assert refused.status_code == 409 and "另一个版面" in refused.text


def test_over_budget_slot_is_flagged(staff_client):
    client = staff_client("editor")
    essay_id, _ = make_essay(client, "published", body=SAMPLE_BODY * 3)
    page_id = _page(client, slot_budget="300")
    _post(client, f"/editor/pages/{page_id}/slots", essay_id=str(essay_id))
    html = client.get(f"/editor/pages/{page_id}").text
    assert "超出预算" in html


def test_print_version_is_versioned_and_diffed_against_published_text(staff_client):
    client = staff_client("editor")
    essay_id, _ = make_essay(client, "published")
    page_id = _page(client)
    _post(client, f"/editor/pages/{page_id}/slots", essay_id=str(essay_id))
    trimmed = SAMPLE_BODY.split("\n\n")[0] + "\n\n" + SAMPLE_BODY.split("\n\n")[2]
    response = _post(client, f"/editor/pages/{page_id}/slots/{essay_id}/version",
                     headline="港口的灯", byline="锦州市民 李春梅", body=trimmed)
    assert response.status_code == 303
    html = client.get(f"/editor/pages/{page_id}/slots/{essay_id}").text
    assert "第 2 版见报稿" in html and "<del>" in html
    assert client.portal.call(_online_body, client, essay_id) == SAMPLE_BODY  # the online text is untouched


def test_lock_requires_verification_or_an_override_reason(staff_client):
    client = staff_client("editor")
    page_id, ids = _full_page(client)
    refused = _post(client, f"/editor/pages/{page_id}/lock")
    assert refused.status_code == 422 and "未核实" in refused.text
    assert "已锁定" not in client.get(f"/editor/pages/{page_id}").text.split("锁定、导出与见报")[0]
    for essay_id in ids[:3]:
        _post(client, f"/editor/pages/{page_id}/slots/{essay_id}/verify", note="已电话联系作者，确认本人投稿")
    assert _post(client, f"/editor/pages/{page_id}/lock").status_code == 422
    forced = _post(client, f"/editor/pages/{page_id}/lock", override_reason="作者出差，已通过单位确认")
    assert forced.status_code == 303
    html = client.get(f"/editor/pages/{page_id}").text
    assert "作者出差，已通过单位确认" in html  # recorded in the page's log


def test_viewing_the_phone_is_recorded_with_who_and_when(staff_client):
    client = staff_client("editor", username="editor-zhou")
    essay_id, _ = make_essay(client, "published", phone="13912345678")
    page_id = _page(client)
    _post(client, f"/editor/pages/{page_id}/slots", essay_id=str(essay_id))
    before = client.get(f"/editor/pages/{page_id}/slots/{essay_id}").text
    assert "13912345678" not in before
    shown = _post(client, f"/editor/pages/{page_id}/slots/{essay_id}/phone")
    assert "13912345678" in shown.text
    assert "电话查看记录（1）" in shown.text and "editor-zhou" in shown.text


def test_author_signoff_round_trip_accept_and_object(staff_client):
    client = staff_client("editor")
    essay_id, token = make_essay(client, "published")
    page_id = _page(client)
    _post(client, f"/editor/pages/{page_id}/slots", essay_id=str(essay_id))
    # a typo-sized change does not warrant asking the author
    typo = SAMPLE_BODY.replace("吊机", "吊车", 1)
    _post(client, f"/editor/pages/{page_id}/slots/{essay_id}/version", headline="港口的灯", byline="锦州市民 李春梅", body=typo)
    assert _post(client, f"/editor/pages/{page_id}/slots/{essay_id}/signoff").status_code == 422
    cut = SAMPLE_BODY.split("\n\n")[0]
    _post(client, f"/editor/pages/{page_id}/slots/{essay_id}/version", headline="港口的灯", byline="锦州市民 李春梅", body=cut)
    assert _post(client, f"/editor/pages/{page_id}/slots/{essay_id}/signoff").status_code == 303
    assert "等待作者确认" in client.get(f"/editor/pages/{page_id}").text

    author_view = client.get(f"/track/{token}/signoff")
    assert author_view.status_code == 200 and "<del>" in author_view.text
    assert author_view.headers["cache-control"] == "no-store"
    empty_objection = client.post(f"/track/{token}/signoff",
                                  data={"answer": "objected", "note": "", "csrf_token": csrf_from(author_view.text)})
    assert empty_objection.status_code == 422 and "请写下您的意见" in empty_objection.text
    objected = client.post(f"/track/{token}/signoff", data={
        "answer": "objected", "note": "最后一段请保留", "csrf_token": csrf_from(author_view.text)})
    assert objected.status_code == 303
    page_html = client.get(f"/editor/pages/{page_id}").text
    assert "作者有意见" in page_html and "最后一段请保留" in page_html

    # a new request after the editor restores the ending; this time the author accepts
    _post(client, f"/editor/pages/{page_id}/slots/{essay_id}/version", headline="港口的灯", byline="锦州市民 李春梅",
          body=cut + "\n\n" + SAMPLE_BODY.split("\n\n")[2])
    _post(client, f"/editor/pages/{page_id}/slots/{essay_id}/signoff")
    accepted = client.post(f"/track/{token}/signoff", data={"answer": "accepted", "csrf_token": csrf_from(author_view.text)})
    assert accepted.status_code == 303
    assert "作者已同意见报稿" in client.get(f"/editor/pages/{page_id}").text


def test_signoff_page_for_unknown_token_is_404(client):
    assert client.get("/track/not-a-real-token/signoff").status_code == 404


def test_ordering_buttons_move_slots(staff_client):
    client = staff_client("editor")
    page_id, ids = _full_page(client)
    _post(client, f"/editor/pages/{page_id}/slots/{ids[2]}/move", direction="up")
    html = client.get(f"/editor/pages/{page_id}").text
    assert html.index("2. 河边的早晨") < html.index("3. 一条通向世界的路")


def _locked_page(client) -> tuple[int, list[int]]:
    page_id, ids = _full_page(client)
    for essay_id in ids:
        _post(client, f"/editor/pages/{page_id}/slots/{essay_id}/verify", note="已电话核实")
    assert _post(client, f"/editor/pages/{page_id}/lock").status_code == 303
    return page_id, ids


def test_exports_need_a_locked_page(staff_client):
    client = staff_client("editor")
    page_id, _ = _full_page(client)
    assert client.get(f"/editor/pages/{page_id}/package.zip").status_code == 409


def test_package_zip_has_texts_and_manifest_in_slot_order(staff_client):
    client = staff_client("editor")
    page_id, _ = _locked_page(client)
    response = client.get(f"/editor/pages/{page_id}/package.zip")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    manifest = json.loads(archive.read("manifest.json"))
    assert [e["headline"] for e in manifest["essays"]] == [v[3] for v in VOICES]
    first = archive.read(manifest["essays"][0]["text_file"]).decode("utf-8")
    assert "城南街道幸福社区党委书记 王建国" in first
    assert "13812345678" not in json.dumps(manifest, ensure_ascii=False)


def test_docx_has_every_headline_and_byline(staff_client):
    import docx

    client = staff_client("editor")
    page_id, _ = _locked_page(client)
    response = client.get(f"/editor/pages/{page_id}/page.docx")
    document = docx.Document(io.BytesIO(response.content))
    text = "\n".join(p.text for p in document.paragraphs)
    for _, aff, name, headline in VOICES:
        assert headline in text
        assert f"{aff or CITY + '市民'} {name}" in text.splitlines()


@pytest.mark.skipif(not fonts_ready(), reason="no CJK font (apt-get install fonts-noto-cjk)")
def test_proof_pdf_contains_every_headline_and_byline(staff_client):
    from pypdf import PdfReader

    client = staff_client("editor")
    page_id, _ = _locked_page(client)
    response = client.get(f"/editor/pages/{page_id}/proof.pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages))
    for _, aff, name, headline in VOICES:
        assert headline + (aff or CITY + "市民") + name in text  # the byline directly under its headline


def test_mark_printed_updates_essays_public_page_and_tracking(staff_client):
    client = staff_client("editor")
    page_id, ids = _locked_page(client)
    assert _post(client, f"/editor/pages/{page_id}/printed").status_code == 303
    essay_page = client.get(f"/essays/{ids[0]}")
    assert "刊于《锦州日报》2026年11月24日 T08版" in essay_page.text
    events = client.portal.call(_events, client, ids[0])
    assert events[-1] == ("print", "published", "printed")


async def _online_body(client, essay_id):
    from citizenvoice.store import essays as essay_store

    async with client.app.state.db.read() as conn:
        return (await essay_store.get_essay(conn, essay_id)).body


async def _events(client, essay_id):
    from citizenvoice.store import essays as essay_store

    async with client.app.state.db.read() as conn:
        return [(e.action, e.from_status, e.to_status) for e in await essay_store.list_events(conn, essay_id)]


def test_moderators_cannot_use_the_print_desk_and_editors_cannot_moderate(staff_client):
    client = staff_client("moderator")
    assert client.get("/editor").status_code == 403
    client.cookies.clear()
    editor = staff_client("editor")
    assert editor.get("/moderate").status_code == 403


def _exports_as_text(client, page_id: int) -> dict[str, str]:
    """Each export's text with whitespace removed (PDF extraction spaces CJK characters apart)."""
    import docx

    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/editor/pages/{page_id}/package.zip").content))
    package = "".join(archive.read(n).decode("utf-8") for n in sorted(archive.namelist()) if n.endswith(".txt"))
    document = docx.Document(io.BytesIO(client.get(f"/editor/pages/{page_id}/page.docx").content))
    texts = {"package": package, "docx": "\n".join(p.text for p in document.paragraphs)}
    if fonts_ready():
        from pypdf import PdfReader

        pdf = PdfReader(io.BytesIO(client.get(f"/editor/pages/{page_id}/proof.pdf").content))
        texts["pdf"] = "".join(p.extract_text() for p in pdf.pages)
    return {where: re.sub(r"\s+", "", text) for where, text in texts.items()}


def test_after_body_byline_style_prints_the_editors_line_in_every_export(staff_client):
    client = staff_client("editor")
    page_id = _page(client, byline_style="after_body")
    ids = [
        make_essay(client, "published", author_role=role, affiliation=aff, author_name=name,
                     headline=headline)[0]
        for role, aff, name, headline in VOICES[:3]
    ]
    for essay_id in ids:
        _post(client, f"/editor/pages/{page_id}/slots", essay_id=str(essay_id))
    # the editor shortens the first author's title in the print version: the exports follow the edit
    edited = _post(client, f"/editor/pages/{page_id}/slots/{ids[0]}/version", headline=VOICES[0][3],
                   byline="幸福社区党委书记 王建国", body=SAMPLE_BODY)
    assert edited.status_code == 303

    screen = client.get(f"/editor/pages/{page_id}").text
    assert "文末：（作者系幸福社区党委书记）" in screen and f"文末：（作者系{CITY}市民）" in screen
    slot_screen = client.get(f"/editor/pages/{page_id}/slots/{ids[2]}").text
    assert f"（作者系{CITY}市民）" in slot_screen

    assert _post(client, f"/editor/pages/{page_id}/lock", override_reason="测试版面").status_code == 303
    closing = {
        ids[0]: ("王建国", "（作者系幸福社区党委书记）"),
        ids[1]: ("赵明", "（作者系锦港物流有限公司总经理）"),
        ids[2]: ("李春梅", f"（作者系{CITY}市民）"),  # a resident without a unit is bylined with the city
    }
    for where, text in _exports_as_text(client, page_id).items():
        for (_, _, _, headline), (name, after) in zip(VOICES[:3], closing.values(), strict=True):
            assert headline + name + SAMPLE_BODY[:10] in text, where  # only the name under the headline
            assert SAMPLE_BODY.strip()[-10:] + after in text, where  # the unit after the body
        assert "城南街道幸福社区党委书记" not in text, where  # the edit wins over the submitted unit
        assert text.count("（作者系") == 3, where


def test_the_tracking_page_shows_the_signoff_request_under_either_link(staff_client):
    client = staff_client("editor")
    essay_id, token = make_essay(client, "published", phone="13912345678")
    page_id = _page(client, byline_style="after_body")
    _post(client, f"/editor/pages/{page_id}/slots", essay_id=str(essay_id))
    assert 'href="/track/' + token + '/signoff"' not in client.get(f"/track/{token}").text
    _post(client, f"/editor/pages/{page_id}/slots/{essay_id}/version", headline="港口的灯",
          byline="锦州市民 李春梅", body=SAMPLE_BODY.split("\n\n")[0])
    assert _post(client, f"/editor/pages/{page_id}/slots/{essay_id}/signoff").status_code == 303

    tracking = client.get(f"/track/{token}").text
    assert "查看见报稿并答复" in tracking and f'href="/track/{token}/signoff"' in tracking
    # the author sees the byline as this page prints it: name under the headline, unit at the end
    author_view = client.get(f"/track/{token}/signoff").text
    assert '<p class="byline">李春梅</p>' in author_view and "（作者系锦州市民）" in author_view

    # an author who lost the link finds the essay by code and phone digits, and can answer from there
    code = client.portal.call(_tracking_code, client, essay_id)
    lookup = client.post("/track", data={"csrf_token": csrf_from(client.get("/track").text), "code": code,
                                         "phone_tail": "5678"})
    base = lookup.headers["location"]
    assert base.startswith("/track/code/")
    assert f'href="{base}/signoff"' in client.get(base).text
    view = client.get(f"{base}/signoff")
    assert view.status_code == 200 and view.headers["cache-control"] == "no-store"
    answered = client.post(f"{base}/signoff", data={"answer": "accepted", "csrf_token": csrf_from(view.text)})
    assert answered.status_code == 303 and answered.headers["location"] == f"{base}/signoff?answered=1"
    assert "作者已同意见报稿" in client.get(f"/editor/pages/{page_id}").text
    assert "您已于" in client.get(f"/track/{token}").text
    assert client.get("/track/code/not-signed/signoff").status_code == 404


async def _tracking_code(client, essay_id):
    from citizenvoice.store import essays as essay_store

    async with client.app.state.db.read() as conn:
        return (await essay_store.get_essay(conn, essay_id)).tracking_code


def test_candidate_picker_shows_the_pages_balance_and_flags_long_essays(staff_client):
    client = staff_client("editor")
    placed, _ = make_essay(client, "published", direction="ecology", author_role="research",
                             headline="河口的候鸟")
    make_essay(client, "published", headline="一篇很长的文章", body=SAMPLE_BODY * 3)
    make_essay(client, "published", headline="一篇合适的文章")
    page_id = _page(client, slot_budget="300")
    _post(client, f"/editor/pages/{page_id}/slots", essay_id=str(placed))
    html = client.get(f"/editor/pages/{page_id}/candidates").text
    balance = html.split('id="balance-title"')[1].split("</section>")[0]
    assert "科研教育 1" in balance and "生态宜居 1" in balance
    cards = {card.split("</h3>")[0]: card for card in html.split("<h3>")[1:]}
    assert "超出每篇预算" in cards["一篇很长的文章"] and "超出每篇预算" not in cards["一篇合适的文章"]
    from citizenvoice.text.charcount import count_print_chars

    assert f"{count_print_chars(SAMPLE_BODY)} 字" in cards["一篇合适的文章"]


def test_a_paragraph_break_inside_a_sentence_is_pointed_out_until_the_editor_mends_it(staff_client):
    from citizenvoice.domain.printdesk import suspect_breaks

    copied = "我在这座城市生活了三十年，看着码头从几条泊位\n\n长成今天的模样。下一个五年，我希望公园多一些树荫。\n\n作为志愿者，我准备做三件事：\n\n帮老人学会用手机挂号。"
    breaks = [(b.paragraph, b.ending, b.following) for b in suspect_breaks(copied)]
    assert breaks == [(1, "十年，看着码头从几条泊位", "长成今天的模样。下一个五")]  # a colon may end a paragraph
    assert suspect_breaks(SAMPLE_BODY) == []

    client = staff_client("editor")
    essay_id, _ = make_essay(client, "published", body=copied + "\n\n" + SAMPLE_BODY)
    page_id = _page(client)
    _post(client, f"/editor/pages/{page_id}/slots", essay_id=str(essay_id))
    screen = client.get(f"/editor/pages/{page_id}/slots/{essay_id}").text
    assert 'id="suspect-breaks"' in screen and "第 1 段结尾「……十年，看着码头从几条泊位」" in screen
    mended = copied.replace("泊位\n\n长成", "泊位长成") + "\n\n" + SAMPLE_BODY
    _post(client, f"/editor/pages/{page_id}/slots/{essay_id}/version", headline="港口的灯光照亮回家的路",
          byline="锦州市民 李春梅", body=mended)
    assert 'id="suspect-breaks"' not in client.get(f"/editor/pages/{page_id}/slots/{essay_id}").text


def test_the_page_screen_shows_a_preview_image_of_the_draft(staff_client):
    from PIL import Image

    if not fonts_ready():
        pytest.skip("no CJK font installed")
    client = staff_client("editor")
    page_id, _ = _full_page(client)
    html = client.get(f"/editor/pages/{page_id}").text
    src = re.search(r'<img src="(/editor/pages/\d+/preview\.png[^"]*)"', html)
    assert src, "the page screen links no preview"
    response = client.get(src.group(1).replace("&amp;", "&"))
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.width >= 300 and image.height > image.width  # a portrait newspaper page, not a blank strip
    low, high = image.convert("L").getextrema()
    assert high - low > 100  # ink on paper: something is set on it


def _change_site_settings(client, **changes: str) -> None:
    """Change site texts the way an admin does: load /admin/settings, edit some fields, save the form."""
    from submit_helpers import field_value, parse

    form = parse(client.get("/admin/settings").text)
    names = ("csrf_token", "site_name", "city", "paper_name", "column_title", "lead")
    data = {name: field_value(form, name) for name in names}
    assert set(changes) <= set(data)
    response = client.post("/admin/settings", data={**data, **changes})
    assert response.status_code == 303, response.text


def test_the_print_desk_follows_the_admins_site_settings(staff_client):
    from submit_helpers import field_value, parse

    client = staff_client("editor")
    essay_id, _ = make_essay(client, "published", author_name="李春梅")  # a resident, no unit
    client.cookies.clear()
    staff_client("admin", username="chief")
    _change_site_settings(client, city="海城", paper_name="海滨晚报", column_title="新城新篇")
    client.cookies.clear()
    login(client, "editor-user")

    new_page_form = parse(client.get("/editor").text)
    assert field_value(new_page_form, "paper") == "海滨晚报"
    assert field_value(new_page_form, "column_title") == "新城新篇"
    defaults = {name: field_value(new_page_form, name) for name in ("paper", "column_title", "byline_style")}
    page_id = _page(client, **defaults)  # the editor keeps the form's defaults
    assert _post(client, f"/editor/pages/{page_id}/slots", essay_id=str(essay_id)).status_code == 303
    assert "海城市民 李春梅" in client.get(f"/editor/pages/{page_id}").text  # the next print byline
    slot = parse(client.get(f"/editor/pages/{page_id}/slots/{essay_id}").text)
    assert field_value(slot, "byline") == "海城市民 李春梅"
    assert _post(client, f"/editor/pages/{page_id}/lock", override_reason="测试版面").status_code == 303
    for where, text in _exports_as_text(client, page_id).items():  # the proof, the package, the DOCX
        assert "海城市民李春梅" in text and "锦州市民" not in text, where

    assert _post(client, f"/editor/pages/{page_id}/printed").status_code == 303
    hits = parse(client.get("/search", params={"q": "海城"}).text).find_all("h3", class_="card-title")
    assert [hit.find("a").get("href") for hit in hits] == [f"/essays/{essay_id}"]  # the printed search text
    assert "刊于《海滨晚报》2026年11月24日 T08版" in client.get(f"/essays/{essay_id}").text
