"""Issue 16: moderation sees print problems (suggestions that never block, with what matched, one
detector shared with the print desk), ready-made revision reasons the admin edits, and a revising
author correcting the byline."""

from __future__ import annotations

import pytest
from factories import make_essay
from moderation_support import Staff, body_about, decide, essay, run_db, text_of
from submit_helpers import parse, submit_essay, valid_form
from support import csrf_from

from citizenvoice.domain import printdesk
from citizenvoice.store import essays as essay_store
from citizenvoice.store import wordlists
from citizenvoice.text import printcheck

TROUBLED = (
    "我家门口就是核电核电站，每天早上都能看见海边的灯。下一个五年，我希望公园多一些树荫，老人散步的路\n\n"
    "平一些,孩子上学的路安全一些。我愿意做一名志愿者。\n\n" + "我们一起守护这座城市的海岸线" * 16 + "。"
)


@pytest.fixture
def staff(client) -> Staff:
    staff = Staff(client)
    staff.add("anna")
    staff.act_as("anna")
    return staff


def test_each_print_problem_is_found_with_what_matched() -> None:
    flags = {f.kind: f for f in printcheck.print_flags(TROUBLED)}
    assert set(flags) == {"doubled", "mid_sentence_break", "half_width", "long_paragraph"}
    assert "核电核电" in flags["doubled"].matched and "「核电」连写了两遍" in flags["doubled"].explanation
    assert "老人散步的路¶平一些" in flags["mid_sentence_break"].matched
    assert flags["half_width"].matched.strip() == "平一些,孩子上学" and "全角「，」" in flags["half_width"].explanation
    assert "第 3 段" in flags["long_paragraph"].explanation


@pytest.mark.parametrize("clean", [
    "我们一步一步往前走，天天向上。",  # 一步一步 is style; 天天 a single reduplicated character
    "去年 GDP 增长了 5.2%，人均收入达到 3.5 万元。",  # a decimal point, ASCII around ASCII
    "第一段。\n\n第二段！\n\n“第三段。”",
])  # fmt: skip
def test_correct_text_has_no_print_flags(clean: str) -> None:
    assert printcheck.print_flags(clean) == []


def test_the_print_desk_and_moderation_use_one_detector() -> None:
    assert printdesk.suspect_breaks is printcheck.suspect_breaks
    assert [b.paragraph for b in printdesk.suspect_breaks(TROUBLED)] == [1]


def test_the_moderator_sees_print_flags_as_suggestions_that_do_not_block(client, staff) -> None:
    essay_id = make_essay(client, body=TROUBLED).id
    page = client.get(f"/moderate/{essay_id}").text
    panel = text_of(page, "print-flags")
    for label in ("叠词", "句中分段", "半角标点", "段落过长"):
        assert label in panel
    assert "核电核电" in panel and "不影响审核决定" in panel
    assert decide(client, essay_id, "approve").status_code == 303  # never blocks


def test_revision_offers_the_admins_ready_made_reasons(client, staff) -> None:
    staff.anonymous()
    token = submit_essay(client)
    staff.act_as("anna")
    essay_id = run_db(client, lambda conn: essay_store.get_by_token(conn, token)).id
    options = parse(client.get(f"/moderate/{essay_id}").text).by_id("revise-reason").find_all("option")
    labels = [o.text() for o in options]
    assert "请重新分段：有的段落断在句子中间" in labels and "与本栏目主题无关" not in labels  # not a reject reason
    reasons = run_db(client, lambda conn: wordlists.rejection_reasons(conn, kind="revise"))
    chosen = next(r for r in reasons if r.label == "请修正文中的错字和标点")
    assert decide(client, essay_id, "revise", reason=str(chosen.id)).status_code == 303  # a reason alone will do
    staff.anonymous()
    status = parse(client.get(f"/track/{token}").text).find(class_="status-panel").text()
    assert "请修正文中的错字和标点" in status
    staff.act_as("anna")
    refused = decide(client, make_essay(client, body=body_about(7)).id, "revise", reason="不存在的理由")
    assert refused.status_code == 422 and "请从列表中选择退回修改的理由" in refused.text


def test_the_admin_adds_a_revision_reason(client, staff) -> None:
    staff.add("root", "admin")
    staff.act_as("root")
    page = client.get("/admin/reasons").text
    response = client.post("/admin/reasons", data={"csrf_token": csrf_from(page), "label": "请补充照片的说明",
                                                   "kind": "revise"})  # fmt: skip
    assert response.status_code == 303
    reasons = run_db(client, lambda conn: wordlists.rejection_reasons(conn, kind="revise"))
    assert "请补充照片的说明" in [r.label for r in reasons]
    assert "请补充照片的说明" not in [r.label for r in run_db(client, wordlists.rejection_reasons)]
    bad = client.post("/admin/reasons", data={"csrf_token": csrf_from(page), "label": "某个理由", "kind": "x"})
    assert bad.status_code == 422 and "请选择这是退稿理由还是退回修改的理由" in bad.text


def test_a_revising_author_corrects_the_byline(client, staff) -> None:
    staff.anonymous()
    token = submit_essay(client)
    staff.act_as("anna")
    essay_id = run_db(client, lambda conn: essay_store.get_by_token(conn, token)).id
    decide(client, essay_id, "revise", note="请补充您的单位，见报时署名用。")
    staff.anonymous()
    track = client.get(f"/track/{token}").text
    form = {"csrf_token": csrf_from(track), "version": str(essay(client, essay_id).version),
            "headline": valid_form()["headline"], "body": valid_form()["body"]}
    bad = client.post(f"/track/{token}/revise", data={**form, "author_name": "", "affiliation": "锦州港集团 工程师"})
    assert bad.status_code == 422
    kept = parse(bad.text)
    assert kept.by_id("affiliation").get("value") == "锦州港集团 工程师" and kept.by_id("author_name-error")
    ok = client.post(f"/track/{token}/revise", data={**form, "author_name": "王海燕", "affiliation": "锦州港集团 工程师"})
    assert ok.status_code == 303
    stored = essay(client, essay_id)
    assert (stored.author_name, stored.affiliation, stored.status) == ("王海燕", "锦州港集团 工程师", "pending")
    staff.act_as("anna")
    assert "锦州港集团 工程师 王海燕" in client.get(f"/moderate/{essay_id}").text
    assert "署名" not in text_of(client.get(f"/moderate/{essay_id}").text, "flags")


def test_a_corrected_byline_is_screened_for_the_moderator(client, staff) -> None:
    staff.anonymous()
    token = submit_essay(client)
    staff.act_as("anna")
    essay_id = run_db(client, lambda conn: essay_store.get_by_token(conn, token)).id
    decide(client, essay_id, "revise", note="请补充您的单位，见报时署名用。")
    staff.anonymous()
    track = client.get(f"/track/{token}").text
    client.post(f"/track/{token}/revise", data={
        "csrf_token": csrf_from(track), "version": str(essay(client, essay_id).version),
        "headline": valid_form()["headline"], "body": valid_form()["body"],
        "author_name": "王海燕", "affiliation": "网络刷单工作室 13912345678"})  # fmt: skip
    staff.act_as("anna")
    flags = text_of(client.get(f"/moderate/{essay_id}").text, "flags")
    assert "署名" in flags and "刷单" in flags


def test_the_slot_screen_lists_the_same_print_problems(client, staff) -> None:
    from test_printdesk import _page, _post

    staff.add("ed", "editor")
    staff.act_as("ed")
    essay_id = make_essay(client, "published", body=TROUBLED).id
    page_id = _page(client)
    _post(client, f"/editor/pages/{page_id}/slots", essay_id=str(essay_id))
    html = client.get(f"/editor/pages/{page_id}/slots/{essay_id}").text
    assert "第 1 段结尾" in text_of(html, "suspect-breaks")
    listed = text_of(html, "print-flags")
    assert "叠词" in listed and "核电核电" in listed and "半角标点" in listed and "句中分段" not in listed
