"""/moderate as a moderator uses it: the queue, the item page, the decision contract (version, claims,
reasons, notes), redaction, bulk decisions, and what the author then sees on the tracking page."""

from __future__ import annotations

import asyncio

import httpx2
import pytest
from factories import make_essay
from moderation_support import Staff, body_about, csrf, decide, essay, events, run_db
from submit_helpers import parse, submit_essay, valid_form
from support import csrf_from

from citizenvoice.domain import moderation
from citizenvoice.store import essays as essay_store
from citizenvoice.store import moderation as store
from citizenvoice.store import wordlists

REASON = "与本栏目主题无关"


@pytest.fixture
def staff(client) -> Staff:
    staff = Staff(client)
    staff.add("anna")
    staff.add("bo")
    staff.act_as("anna")
    return staff


@pytest.fixture
def clock(monkeypatch):
    now = [1_800_000_000.0]
    monkeypatch.setattr(moderation, "clock", lambda: now[0])
    return now


def queue_ids(html: str) -> list[int]:
    page = parse(html)
    return [int((h2.find("a").get("href") or "").rsplit("/", 1)[1]) for h2 in page.find_all("h2", class_="queue-title")]


def reason_id(client, label: str = REASON) -> str:
    reasons = run_db(client, wordlists.rejection_reasons)
    return str(next(r.id for r in reasons if r.label == label))


# ---------------------------------------------------------------------------------------------------
# The queue


def test_queue_lists_high_risk_first_then_oldest_with_health_and_counts(client, staff) -> None:
    old = make_essay(client, body=body_about(1), submitted_hours_ago=30).id
    new = make_essay(client, body=body_about(2), submitted_hours_ago=1).id
    risky = make_essay(client, body="有人在群里拉人网络刷单。" + body_about(3), submitted_hours_ago=2).id
    make_essay(client, "published", body=body_about(4))
    page = client.get("/moderate")
    assert page.status_code == 200
    assert queue_ids(page.text) == [risky, old, new]
    tree = parse(page.text)
    first = tree.find_all("li", class_="queue-item")[0]
    assert first.has_class("is-risk") and "高风险" in first.text() and "禁用词 1" in first.text()
    health = "".join(tree.find(class_="queue-health").text().split())
    assert "待审核3篇" in health and "最早一篇已等待30小时" in health and "超过24小时未审1篇" in health
    tabs = " ".join(tree.find(class_="status-tabs").text().split())
    assert "待审核 3" in tabs and "已发布 1" in tabs


def test_queue_filters_search_and_status_tabs(client, staff) -> None:
    student = make_essay(client, body=body_about(5), author_role="student", direction="ecology").id
    phone = make_essay(client, body="我的手机 13912345678。" + body_about(6)).id
    night = make_essay(client, headline="夜市里的烟火气", body=body_about(7)).id
    published = make_essay(client, "published", body=body_about(8)).id
    assert queue_ids(client.get("/moderate?role=student").text) == [student]
    assert queue_ids(client.get("/moderate?direction=ecology").text) == [student]
    assert queue_ids(client.get("/moderate?flag=phone").text) == [phone]
    assert queue_ids(client.get("/moderate?q=烟火").text) == [night]
    assert queue_ids(client.get("/moderate?status=published").text) == [published]
    empty = parse(client.get("/moderate?q=没有这个词").text).find(class_="empty")
    assert empty is not None and "没有符合筛选条件的文章" in empty.text()


def test_queue_pages_by_keyset(client, staff, monkeypatch) -> None:
    monkeypatch.setattr(store, "PAGE_SIZE", 2)
    ids = [make_essay(client, body=body_about(10 + n), submitted_hours_ago=10 - n).id for n in range(5)]
    seen, url = [], "/moderate"
    while url:
        html = client.get(url).text
        seen += queue_ids(html)
        nxt = parse(html).find("a", rel="next")
        url = nxt.get("href") if nxt else None
    assert seen == ids
    assert client.get("/moderate?after=garbage").status_code == 200  # a bad cursor is the first page


def test_empty_queue_says_so(client, staff) -> None:
    empty = parse(client.get("/moderate").text).find(class_="empty")
    assert empty is not None and "队列是空的" in empty.text()


# ---------------------------------------------------------------------------------------------------
# The item page


def test_a_real_submission_is_screened_and_explained_on_the_item_page(client, staff) -> None:
    body = valid_form()["body"].replace("菜市场。", "菜市场，路边有人发赌 博小广告，还写着加 我 微 信。", 1)
    staff.anonymous()
    token = submit_essay(client, headline="河堤上的新步道", body=body)
    staff.act_as("anna")
    stored = run_db(client, lambda conn: essay_store.get_by_token(conn, token))
    assert stored.high_risk is True
    page = parse(client.get(f"/moderate/{stored.id}").text)
    marks = {m.text(): m for m in page.find_all("mark")}
    assert marks["赌 博"].has_class("flag-banned") and "禁用词「赌博」" in (marks["赌 博"].get("title") or "")
    assert marks["加 我 微 信"].has_class("flag-suspect")
    flags = " ".join(page.by_id("flags").text().split())
    assert "命中禁用词「赌博」（禁用词表；原文写作「赌 博」" in flags
    assert "命中可疑词「加我微信」" in flags
    assert queue_ids(client.get("/moderate").text)[0] == stored.id


def test_item_page_shows_the_author_s_other_submissions_masked_and_duplicates(client, staff) -> None:
    first = make_essay(client, headline="第一篇文章标题", body=body_about(20), phone="13800138000").id
    second = make_essay(client, headline="第二篇文章标题", body=body_about(20), phone="13800138000").id
    make_essay(client, headline="别人写的文章", body=body_about(21), phone="13999999999")
    html = client.get(f"/moderate/{second}").text
    assert "13800138000" not in html
    others = parse(html).find("section", **{"aria-labelledby": "others-title"})
    assert "138****8000" in others.text() and "第一篇文章标题" in others.text()
    assert "别人写的文章" not in others.text()
    duplicates = " ".join(parse(html).by_id("duplicates").text().split())
    assert "相似度 100%" in duplicates and "第一篇文章标题" in duplicates and f"#{first}" in duplicates


def test_opening_an_item_claims_it_and_colleagues_see_who_holds_it(client, staff) -> None:
    essay_id = make_essay(client).id
    client.get(f"/moderate/{essay_id}")
    mine = parse(client.get(f"/moderate/{essay_id}").text)
    assert "您正在审核这篇文章" in mine.find(class_="claim-mine").text()
    staff.act_as("bo")
    theirs = parse(client.get(f"/moderate/{essay_id}").text)
    assert "「anna」正在审核这篇文章" in theirs.find(class_="claim-other").text()
    approve = theirs.by_id("form-approve").find("button", type="submit")
    assert "disabled" in approve.attrs
    assert "anna 审核中" in client.get("/moderate").text


# ---------------------------------------------------------------------------------------------------
# Decisions


def test_approve_publishes_with_corrected_direction_and_featured_then_goes_to_the_next(client, staff) -> None:
    first = make_essay(client, body=body_about(30), submitted_hours_ago=3).id
    second = make_essay(client, body=body_about(31), submitted_hours_ago=2).id
    response = decide(client, first, "approve", direction="ecology", featured="1", note="写得好")
    assert response.status_code == 303 and response.headers["location"] == f"/moderate/next?after={first}"
    after = essay(client, first)
    assert (after.status, after.direction_slug, after.featured) == ("published", "ecology", True)
    last = events(client, first)[-1]
    assert last.action == "approve" and last.actor_name == "anna" and "设为精选" in last.note
    nxt = client.get(response.headers["location"])
    assert nxt.headers["location"] == f"/moderate/{second}"
    assert "已通过并发表" in client.get(nxt.headers["location"]).text


def test_a_stale_version_is_refused_with_409_and_nothing_changes(client, staff) -> None:
    essay_id = make_essay(client).id
    version = essay(client, essay_id).version
    assert decide(client, essay_id, "edit", headline="改过的标题呀", body=body_about(32)).status_code == 303
    before, trail = essay(client, essay_id), events(client, essay_id)
    response = decide(client, essay_id, "approve", version=version)
    assert response.status_code == 409
    alert = parse(response.text).find(class_="alert-error").text()
    assert "刚刚被其他人更新过" in alert and "请刷新后再操作" in alert
    assert essay(client, essay_id) == before and events(client, essay_id) == trail
    # The refusal page carries the fresh version, so deciding again from it works.
    fresh = parse(response.text).by_id("form-approve").find("input", name="version").get("value")
    assert fresh == str(before.version)


def test_reject_needs_a_reason_from_the_list_and_the_author_sees_it(client, staff) -> None:
    staff.anonymous()
    token = submit_essay(client)
    staff.act_as("anna")
    essay_id = run_db(client, lambda conn: essay_store.get_by_token(conn, token)).id
    refused = decide(client, essay_id, "reject", reason="我随便写的理由", note="谢谢您的投稿")
    assert refused.status_code == 422
    form = parse(refused.text).by_id("form-reject")
    assert "请从列表中选择不予采用的理由" in form.text()
    assert form.find("textarea", name="note").text() == "谢谢您的投稿"  # the note typed is kept
    assert essay(client, essay_id).status == "pending"

    assert decide(client, essay_id, "reject", reason=reason_id(client), note="欢迎换个角度再写").status_code == 303
    rejected = essay(client, essay_id)
    assert (rejected.status, rejected.reject_reason, rejected.author_note) == ("rejected", REASON, "欢迎换个角度再写")
    staff.anonymous()
    status = " ".join(parse(client.get(f"/track/{token}").text).find(class_="status-panel").text().split())
    assert f"原因：{REASON}" in status and "欢迎换个角度再写" in status


def test_revise_needs_a_note_and_the_resubmission_returns_with_a_diff(client, staff) -> None:
    staff.anonymous()
    token = submit_essay(client)
    staff.act_as("anna")
    essay_id = run_db(client, lambda conn: essay_store.get_by_token(conn, token)).id
    refused = decide(client, essay_id, "revise", note="")
    assert refused.status_code == 422 and "请写下给作者的修改意见" in parse(refused.text).by_id("form-revise").text()
    assert decide(client, essay_id, "revise", note="请把第三段写得更具体些。").status_code == 303

    staff.anonymous()
    track = client.get(f"/track/{token}").text
    assert "请把第三段写得更具体些。" in parse(track).find(class_="status-panel").text()
    revised = valid_form()["body"].replace("每周巡一次河", "每周六早上巡一次河")
    response = client.post(f"/track/{token}/revise", data={
        "csrf_token": csrf_from(track), "version": str(essay(client, essay_id).version),
        "headline": "河堤上的新步道", "body": revised,
    })  # fmt: skip
    assert response.status_code == 303
    staff.act_as("anna")
    assert essay_id in queue_ids(client.get("/moderate").text)
    page = parse(client.get(f"/moderate/{essay_id}").text)
    diff = page.find("details", class_="diff")
    assert [i.text() for i in diff.find(class_="diff-body").find_all("ins")] == ["六早上"]
    assert "第 2 稿与第 1 稿相比（作者修改）" in diff.text()


def test_edit_fixes_typos_as_a_new_revision_with_the_editor_recorded(client, staff) -> None:
    essay_id = make_essay(client, headline="港口的灯光照亮回家得路").id
    body = essay(client, essay_id).body
    response = decide(client, essay_id, "edit", headline="港口的灯光照亮回家的路", body=body, note="改错别字")
    assert response.status_code == 303 and response.headers["location"] == f"/moderate/{essay_id}"
    revisions = run_db(client, lambda conn: essay_store.list_revisions(conn, essay_id))
    assert [(r.number, r.actor_kind, r.actor_name) for r in revisions] == [(1, "author", None), (2, "moderator", "anna")]
    assert essay(client, essay_id).status == "pending"
    page = parse(client.get(f"/moderate/{essay_id}").text)
    headline = page.find(class_="diff-headline")
    assert [(d.text(), i.text()) for d, i in zip(headline.find_all("del"), headline.find_all("ins"), strict=True)] == [
        ("得", "的")
    ]
    assert "改错别字" in page.by_id("trail").text()
    unchanged = decide(client, essay_id, "edit", headline="港口的灯光照亮回家的路", body=body)
    assert unchanged.status_code == 422 and "文字没有变化" in unchanged.text


def test_unpublish_needs_a_reason_and_takes_the_essay_down(client, staff) -> None:
    essay_id = make_essay(client, "published").id
    assert decide(client, essay_id, "unpublish", reason="").status_code == 422
    assert decide(client, essay_id, "unpublish", reason="作者来电要求撤下").status_code == 303
    after = essay(client, essay_id)
    assert after.status == "unpublished" and after.reject_reason == "作者来电要求撤下"
    assert events(client, essay_id)[-1].reason == "作者来电要求撤下"


def test_the_author_sees_both_the_reason_and_the_note_of_an_unpublish(client, staff) -> None:
    staff.anonymous()
    token = submit_essay(client)
    staff.act_as("anna")
    essay_id = run_db(client, lambda conn: essay_store.get_by_token(conn, token)).id
    assert decide(client, essay_id, "approve").status_code == 303
    response = decide(client, essay_id, "unpublish", reason="文中涉及他人隐私", note="删去邻居的姓名后欢迎再投")
    assert response.status_code == 303
    staff.anonymous()
    status = " ".join(parse(client.get(f"/track/{token}").text).find(class_="status-panel").text().split())
    assert "已下线" in status
    assert "原因：文中涉及他人隐私" in status and "删去邻居的姓名后欢迎再投" in status


def test_a_decision_without_a_csrf_token_is_refused(client, staff) -> None:
    essay_id = make_essay(client).id
    response = client.post(f"/moderate/{essay_id}/decision", data={"action": "approve", "version": "1"})
    assert response.status_code == 403 and essay(client, essay_id).status == "pending"


# ---------------------------------------------------------------------------------------------------
# Claims over HTTP


def test_a_colleague_s_claim_blocks_decisions_until_taken_over_which_is_recorded(client, staff) -> None:
    essay_id = make_essay(client).id
    client.get(f"/moderate/{essay_id}")  # anna claims it
    staff.act_as("bo")
    blocked = decide(client, essay_id, "approve")
    assert blocked.status_code == 423
    assert "「anna」正在审核这篇文章" in parse(blocked.text).find(class_="alert-error").text()
    assert essay(client, essay_id).status == "pending"

    taken = client.post(f"/moderate/{essay_id}/claim", data={"csrf_token": csrf(client), "takeover": "1"})
    assert taken.status_code == 303
    trail = " ".join(parse(client.get(f"/moderate/{essay_id}").text).by_id("trail").text().split())
    assert "bo 接手审核 原由「anna」审核" in trail
    staff.act_as("anna")
    assert decide(client, essay_id, "approve").status_code == 423
    staff.act_as("bo")
    assert decide(client, essay_id, "approve").status_code == 303


def test_an_expired_claim_no_longer_blocks(client, staff, clock) -> None:
    essay_id = make_essay(client).id
    client.get(f"/moderate/{essay_id}")
    staff.act_as("bo")
    assert decide(client, essay_id, "approve").status_code == 423
    clock[0] += moderation.CLAIM_SECONDS + 1
    assert decide(client, essay_id, "approve").status_code == 303


def test_release_puts_the_item_back(client, staff) -> None:
    essay_id = make_essay(client).id
    client.get(f"/moderate/{essay_id}")
    assert client.post(f"/moderate/{essay_id}/release", data={"csrf_token": csrf(client)}).status_code == 303
    staff.act_as("bo")
    assert decide(client, essay_id, "approve").status_code == 303


def test_two_moderators_posting_at_the_same_moment_exactly_one_wins(client, staff) -> None:
    essay_id = make_essay(client).id
    version = str(essay(client, essay_id).version)
    jars = {name: staff.jars[name] for name in ("anna", "bo")}
    tokens = {name: csrf_from(staff.act_as(name).get("/moderate").text) for name in jars}
    reason = reason_id(client)

    async def post(name: str, action: str, extra: dict[str, str]) -> httpx2.Response:
        transport = httpx2.ASGITransport(app=client.app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver", cookies=jars[name]) as c:
            data = {"action": action, "version": version, "csrf_token": tokens[name], **extra}
            return await c.post(f"/moderate/{essay_id}/decision", data=data)

    async def both() -> list[httpx2.Response]:
        return list(await asyncio.gather(post("anna", "approve", {}),
                                         post("bo", "reject", {"reason": reason})))  # fmt: skip

    codes = sorted(r.status_code for r in client.portal.call(both))
    assert codes == [303, 409]
    assert len([e for e in events(client, essay_id) if e.action in ("approve", "reject")]) == 1


# ---------------------------------------------------------------------------------------------------
# Redaction


def test_personal_data_is_flagged_and_redacted_in_one_action(client, staff) -> None:
    body = ("欢迎联系我：13912345678，邮箱 li.chunmei@example.cn，身份证 11010519491231002X，"
            "详情见 www.example.com 。") + body_about(40)  # fmt: skip
    essay_id = make_essay(client, body=body).id
    page = parse(client.get(f"/moderate/{essay_id}").text)
    kinds = {m.get("class") for m in page.find_all("mark")}
    assert {"flag flag-phone", "flag flag-email", "flag flag-id_number", "flag flag-url"} <= kinds
    assert "疑似身份证号码（模式：18 位号码" in page.by_id("flags").text()

    version = page.by_id("form-redact").find("input", name="version").get("value")
    response = client.post(f"/moderate/{essay_id}/redact", data={"csrf_token": csrf(client), "version": version})
    assert response.status_code == 303
    after = essay(client, essay_id)
    for secret in ("13912345678", "li.chunmei", "11010519491231002X", "www.example.com"):
        assert secret not in after.body
    assert "〔已隐去手机号〕" in after.body and "〔已隐去身份证号〕" in after.body
    assert [f.kind for f in run_db(client, lambda conn: store.list_flags(conn, essay_id))] == []
    revisions = run_db(client, lambda conn: essay_store.list_revisions(conn, essay_id))
    assert revisions[0].body == body and revisions[1].actor_name == "anna"
    assert "隐去个人信息" in events(client, essay_id)[-1].note and "共 4 处" in events(client, essay_id)[-1].note
    again = client.post(f"/moderate/{essay_id}/redact", data={"csrf_token": csrf(client), "version": str(after.version)})
    assert again.status_code == 409 and "没有发现需要隐去的个人信息" in again.text


# ---------------------------------------------------------------------------------------------------
# Bulk


def test_bulk_approve_checks_each_item_and_reports_each(client, staff) -> None:
    fine = make_essay(client, body=body_about(50)).id
    stale = make_essay(client, body=body_about(51)).id
    held = make_essay(client, body=body_about(52)).id
    staff.act_as("bo")
    client.get(f"/moderate/{held}")  # bo claims it
    staff.act_as("anna")
    items = [f"{fine}:{essay(client, fine).version}", f"{stale}:{essay(client, stale).version + 5}",
             f"{held}:{essay(client, held).version}"]  # fmt: skip
    response = client.post("/moderate/bulk", data={"csrf_token": csrf(client), "action": "approve", "ids": items})
    assert response.status_code == 200
    rows = {r.find("a").get("href"): " ".join(r.text().split()) for r in parse(response.text).find_all("tr")[1:]}
    assert "已通过并发表" in rows[f"/moderate/{fine}"]
    assert "刚刚被其他人更新过" in rows[f"/moderate/{stale}"]
    assert "「bo」正在审核" in rows[f"/moderate/{held}"]
    assert [essay(client, i).status for i in (fine, stale, held)] == ["published", "pending", "pending"]
    assert [e.actor_name for e in events(client, fine) if e.action == "approve"] == ["anna"]


def test_bulk_reject_uses_one_reason_for_all_and_records_each(client, staff) -> None:
    ids = [make_essay(client, body=body_about(60 + n)).id for n in range(3)]
    items = [f"{i}:{essay(client, i).version}" for i in ids]
    no_reason = client.post("/moderate/bulk", data={"csrf_token": csrf(client), "action": "reject", "ids": items})
    assert no_reason.status_code == 200 and "成功 0 篇" in no_reason.text
    response = client.post("/moderate/bulk", data={
        "csrf_token": csrf(client), "action": "reject", "ids": items, "reason": reason_id(client)})
    assert "成功 3 篇" in response.text
    for i in ids:
        assert (essay(client, i).status, essay(client, i).reject_reason) == ("rejected", REASON)
        assert [e.reason for e in events(client, i) if e.action == "reject"] == [REASON]


def test_bulk_without_a_selection_goes_back_to_the_queue(client, staff) -> None:
    response = client.post("/moderate/bulk", data={"csrf_token": csrf(client), "action": "approve"})
    assert response.status_code == 303 and response.headers["location"] == "/moderate"
    assert "请先勾选文章" in client.get("/moderate").text


# ---------------------------------------------------------------------------------------------------
# Navigation, photo, assets


def test_next_skips_items_colleagues_hold_and_ends_at_the_queue(client, staff) -> None:
    first = make_essay(client, body=body_about(70), submitted_hours_ago=3).id
    second = make_essay(client, body=body_about(71), submitted_hours_ago=2).id
    staff.act_as("bo")
    client.get(f"/moderate/{first}")
    staff.act_as("anna")
    assert client.get("/moderate/next").headers["location"] == f"/moderate/{second}"
    assert decide(client, second, "approve").status_code == 303
    assert client.get(f"/moderate/next?after={second}").headers["location"] == "/moderate"


def test_the_photo_is_served_to_moderators_only(client, staff, settings) -> None:
    relative = "photos/ab/abcdef.jpg"
    file = settings.media_path / relative
    file.parent.mkdir(parents=True)
    file.write_bytes(b"\xff\xd8\xff\xe0fake-jpeg")
    essay_id = make_essay(client, photo_path=relative).id
    page = parse(client.get(f"/moderate/{essay_id}").text)
    assert page.find("img", src=f"/moderate/{essay_id}/photo") is not None
    photo = client.get(f"/moderate/{essay_id}/photo")
    assert photo.status_code == 200 and photo.content.startswith(b"\xff\xd8")
    assert "no-store" in photo.headers["cache-control"]
    assert client.get(f"/moderate/{make_essay(client, body=body_about(72)).id}/photo").status_code == 404
    staff.anonymous()
    assert client.get(f"/moderate/{essay_id}/photo").status_code == 303


def test_pages_link_their_own_css_and_js_and_use_no_inline_styles(client, staff) -> None:
    essay_id = make_essay(client).id
    for url in ("/moderate", f"/moderate/{essay_id}"):
        html = client.get(url).text
        tree = parse(html)
        assert any("/static/css/moderate.css" in (link.get("href") or "") for link in tree.find_all("link"))
        assert any("/static/js/moderate.js" in (s.get("src") or "") for s in tree.find_all("script"))
        assert " style=" not in html and "<script>" not in html
        assert client.get(url).headers["cache-control"] == "private, no-store"
