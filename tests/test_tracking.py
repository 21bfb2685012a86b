"""The receipt and tracking page, withdraw and revise, finding the page again by code + phone, and
keeping the phone, e-mail and token off every page but the author's own."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from citizenvoice.domain import lifecycle, ratelimit, submission
from citizenvoice.domain.lifecycle import ActorRef
from citizenvoice.model.essays import Action, Actor
from citizenvoice.store import essays as essay_store
from tests.submit_helpers import (
    BODY,
    EMAIL,
    PHONE,
    field_value,
    parse,
    post_from,
    read,
    signed_long_ago,
    submit_essay,
    write,
)

MODERATOR = ActorRef(Actor.MODERATOR)
EDITOR = ActorRef(Actor.EDITOR)
PRIVATE = {"cache-control": "no-store", "referrer-policy": "no-referrer", "x-robots-tag": "noindex"}


def essay_for(client: TestClient, token: str) -> essay_store.Essay:
    essay = read(client, lambda conn: essay_store.get_by_token(conn, token))
    assert essay is not None
    return essay


def move(client: TestClient, token: str, action: Action, actor: ActorRef = MODERATOR, **kwargs) -> None:
    essay_id = essay_for(client, token).id
    write(client, lambda conn: lifecycle.transition(conn, essay_id, action, actor, city="锦州", **kwargs))


def assert_private(response) -> None:
    for header, value in PRIVATE.items():
        assert value in response.headers[header], header


def status_text(html: str) -> str:
    return parse(html).by_id("status-title").text()


# ---------------------------------------------------------------------------------------------------
# The receipt


def test_receipt_shows_code_link_status_and_text(client: TestClient) -> None:
    token = submit_essay(client)
    response = client.get(f"/track/{token}")
    assert response.status_code == 200
    assert_private(response)
    page = parse(response.text)
    essay = essay_for(client, token)
    assert essay.tracking_code in page.find("h1").text()
    assert "请保存此链接" in response.text
    assert page.by_id("page-url").get("value") == f"http://testserver/track/{token}"
    assert "待审核" in status_text(response.text)
    assert "河堤上的新步道" in page.find("article").text()
    assert "王淑芬" in page.find("article").text()  # the byline as it would print


@pytest.mark.parametrize("token", ["x" * 43, "short", "a" * 200])
def test_unknown_token_is_a_private_404(client: TestClient, token: str) -> None:
    submit_essay(client)
    response = client.get(f"/track/{token}")
    assert response.status_code == 404
    assert_private(response)
    assert "没有找到这篇投稿" in response.text


STATUS_CASES = [
    # (how to get there, label, text the author should see)
    ([(Action.REVISE, MODERATOR, {"note": "请把第二段写得具体一些"})], "需修改", "请把第二段写得具体一些"),
    ([(Action.APPROVE, MODERATOR, {})], "已发布", "/essays/"),
    ([(Action.REJECT, MODERATOR, {"reason": "与本栏目主题无关", "note": "欢迎再写写身边的变化"})], "未采用",
     "与本栏目主题无关"),
    ([(Action.WITHDRAW, lifecycle.AUTHOR, {})], "已撤回", "您已撤回这篇投稿"),
    ([(Action.APPROVE, MODERATOR, {}), (Action.PRINT, EDITOR, {"changes": {"printed_edition": "《锦州日报》2026-01-05 T08版"}})],
     "已见报", "《锦州日报》2026-01-05 T08版"),
    ([(Action.APPROVE, MODERATOR, {}), (Action.UNPUBLISH, MODERATOR, {})], "已下线", "已从网站撤下"),
]


@pytest.mark.parametrize(("steps", "label", "shown"), STATUS_CASES)
def test_every_status_is_explained_in_chinese(client: TestClient, steps, label: str, shown: str) -> None:
    token = submit_essay(client)
    for action, actor, kwargs in steps:
        move(client, token, action, actor, **kwargs)
    html = client.get(f"/track/{token}").text
    assert label in status_text(html)
    assert shown in parse(html).find("section", class_="status-panel").text() + html
    if label == "已发布":
        link = parse(html).find("section", class_="status-panel").find("a")
        assert link.get("href") == f"/essays/{essay_for(client, token).id}"
    if label == "未采用":
        assert "欢迎再写写身边的变化" in html


def test_history_lists_every_status_change_without_staff_names(client: TestClient) -> None:
    token = submit_essay(client)
    move(client, token, Action.REVISE, note="请补充细节")
    history = parse(client.get(f"/track/{token}").text).find("ol", class_="history").text()
    assert "您：提交投稿" in history and "编辑部：编辑请您修改" in history


# ---------------------------------------------------------------------------------------------------
# Withdraw


def withdraw_form(client: TestClient, base: str) -> dict[str, str]:
    page = parse(client.get(f"{base}/withdraw").text)
    form = page.find("form", action=f"{base}/withdraw")
    assert form is not None, "confirmation step has no form"
    return {name: field_value(form, name) for name in ("csrf_token", "version")}


def test_withdraw_has_a_confirmation_step_and_is_recorded(client: TestClient) -> None:
    token = submit_essay(client)
    page = parse(client.get(f"/track/{token}").text)
    assert page.find("a", href=f"/track/{token}/withdraw") is not None
    confirm = client.get(f"/track/{token}/withdraw")
    assert confirm.status_code == 200 and "确定撤回" in confirm.text
    assert_private(confirm)
    assert essay_for(client, token).status == "pending"  # showing the confirmation changes nothing
    response = client.post(f"/track/{token}/withdraw", data=withdraw_form(client, f"/track/{token}"))
    assert response.status_code == 303 and response.headers["location"] == f"/track/{token}"
    html = client.get(f"/track/{token}").text
    assert "已撤回" in status_text(html)
    assert f"/track/{token}/withdraw" not in html
    essay_id = essay_for(client, token).id
    events = read(client, lambda conn: essay_store.list_events(conn, essay_id))
    assert (events[-1].action, events[-1].actor_kind, events[-1].to_status) == ("withdraw", "author", "withdrawn")


def test_withdraw_needs_csrf(client: TestClient) -> None:
    token = submit_essay(client)
    form = withdraw_form(client, f"/track/{token}")
    response = client.post(f"/track/{token}/withdraw", data={**form, "csrf_token": "nope"})
    assert response.status_code == 403
    assert essay_for(client, token).status == "pending"


def test_withdraw_refused_once_printed(client: TestClient) -> None:
    token = submit_essay(client)
    form = withdraw_form(client, f"/track/{token}")
    move(client, token, Action.APPROVE)
    move(client, token, Action.PRINT, EDITOR, changes={"printed_edition": "《锦州日报》T08版"})
    html = client.get(f"/track/{token}").text
    assert f"/track/{token}/withdraw" not in html
    assert client.get(f"/track/{token}/withdraw").status_code == 303
    response = client.post(f"/track/{token}/withdraw", data={**form, "version": ""})
    assert response.status_code == 409
    assert "不能执行此操作" in response.text
    assert essay_for(client, token).status == "printed"


def test_withdraw_with_a_stale_page_changes_nothing(client: TestClient) -> None:
    token = submit_essay(client)
    form = withdraw_form(client, f"/track/{token}")
    move(client, token, Action.APPROVE)  # a moderator acted after the author loaded the page
    response = client.post(f"/track/{token}/withdraw", data=form)
    assert response.status_code == 409
    assert "最新状态" in response.text
    assert essay_for(client, token).status == "published"


# ---------------------------------------------------------------------------------------------------
# Revise and resubmit


def revise_form(html: str) -> dict[str, str]:
    page = parse(html)
    return {n: field_value(page, n) for n in ("csrf_token", "version", "headline", "body")}


def test_revise_round_trip(client: TestClient) -> None:
    token = submit_essay(client)
    assert "重新提交审核" not in client.get(f"/track/{token}").text  # only after 需修改
    move(client, token, Action.REVISE, note="第三段请写写您打算怎么做。")
    html = client.get(f"/track/{token}").text
    assert "第三段请写写您打算怎么做。" in html
    form = revise_form(html)
    assert form["body"] == BODY

    too_short = client.post(f"/track/{token}/revise", data={**form, "body": "太短了。"})
    assert too_short.status_code == 422
    page = parse(too_short.text)
    assert "至少需要 200 个字" in page.by_id("body-error").text()
    assert field_value(page, "body") == "太短了。"

    new_body = BODY + "\n\n我打算每个周末都去河边捡垃圾，也带上邻居家的孩子。"
    response = client.post(f"/track/{token}/revise", data={**form, "headline": "河堤上的新步道（修改稿）",
                                                           "body": new_body + "\u200b  "})
    assert response.status_code == 303 and response.headers["location"] == f"/track/{token}"
    essay = essay_for(client, token)
    assert essay.status == "pending" and essay.body == new_body and essay.author_note == ""
    revisions = read(client, lambda conn: essay_store.list_revisions(conn, essay.id))
    assert [r.number for r in revisions] == [1, 2] and revisions[0].body == BODY
    events = read(client, lambda conn: essay_store.list_events(conn, essay.id))
    assert [e.action for e in events] == ["submit", "revise", "resubmit"]
    assert "待审核" in status_text(client.get(f"/track/{token}").text)


def test_revise_csrf_failure_keeps_the_new_text(client: TestClient) -> None:
    token = submit_essay(client)
    move(client, token, Action.REVISE, note="请修改")
    form = revise_form(client.get(f"/track/{token}").text)
    new_body = BODY + "\n\n补充的一段话，写的是我准备做的事情。"
    response = client.post(f"/track/{token}/revise", data={**form, "body": new_body, "csrf_token": "x"})
    assert response.status_code == 403
    assert field_value(parse(response.text), "body") == new_body
    assert essay_for(client, token).status == "needs_revision"


def test_revise_refused_when_not_asked(client: TestClient) -> None:
    token = submit_essay(client)
    move(client, token, Action.REVISE, note="请修改")
    form = revise_form(client.get(f"/track/{token}").text)
    move(client, token, Action.WITHDRAW, lifecycle.AUTHOR)
    response = client.post(f"/track/{token}/revise", data={**form, "version": ""})
    assert response.status_code == 409
    assert essay_for(client, token).status == "withdrawn"


# ---------------------------------------------------------------------------------------------------
# Finding the page again: tracking code + last four digits of the phone


def lookup(client: TestClient, code: str, tail: str):
    page = parse(client.get("/track").text)
    return client.post("/track", data={"csrf_token": field_value(page, "csrf_token"), "code": code,
                                       "phone_tail": tail})


def test_right_pair_opens_the_tracking_page(client: TestClient) -> None:
    token = submit_essay(client)
    code = essay_for(client, token).tracking_code
    response = lookup(client, code.lower().replace("-", " "), PHONE[-4:])
    assert response.status_code == 303
    assert_private(response)
    link = response.headers["location"]
    assert link.startswith("/track/code/") and token not in link
    page = client.get(link)
    assert page.status_code == 200
    assert_private(page)
    assert code in page.text and "一小时内有效" in page.text
    assert "/export.json" not in page.text  # privacy actions need the real link


def test_wrong_pair_and_unknown_code_get_the_same_answer(client: TestClient) -> None:
    token = submit_essay(client)
    code = essay_for(client, token).tracking_code
    wrong_phone = lookup(client, code, "0000")
    unknown = lookup(client, "CV-2222-3333", "0000")
    assert wrong_phone.status_code == unknown.status_code == 404
    assert wrong_phone.text.replace(code, "CV-2222-3333") == unknown.text
    assert "没有找到与这组投稿编号和手机号后四位相符的投稿" in unknown.text
    assert field_value(parse(unknown.text), "phone_tail") == ""


@pytest.mark.parametrize(("code", "tail", "field"), [("", "5678", "code"), ("CV-12", "5678", "code"),
                                                     ("CV-2222-3333", "56", "phone_tail")])
def test_lookup_format_errors_are_shown_by_field(client: TestClient, code: str, tail: str, field: str) -> None:
    response = lookup(client, code, tail)
    assert response.status_code == 422
    assert parse(response.text).by_id(f"{field}-error").text().strip()


def test_lookups_are_rate_limited_per_ip(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    token = submit_essay(client)
    code = essay_for(client, token).tracking_code
    limit = client.app.state.settings.track_lookup_limit
    for n in range(limit):
        assert lookup(client, f"CV-2222-33{n:02d}", "0000").status_code == 404
    blocked = lookup(client, code, PHONE[-4:])  # even the right pair, once the budget is spent
    assert blocked.status_code == 429
    assert "查询次数太多了" in blocked.text
    assert int(blocked.headers["retry-after"]) > 0
    later = ratelimit.now() + 15 * 60 + 1
    monkeypatch.setattr(ratelimit, "now", lambda: later)
    assert lookup(client, code, PHONE[-4:]).status_code == 303


def test_lookups_of_one_tracking_code_are_limited_per_day(client: TestClient,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # The 4-digit tail of a known code is 10,000 guesses: spread over many addresses it would be found,
    # so the code itself has a budget too, counted from every address.
    token = submit_essay(client)
    code = essay_for(client, token).tracking_code
    limit = client.app.state.settings.track_code_limit
    for n in range(limit):
        payload = {"csrf_token": field_value(parse(client.get("/track").text), "csrf_token"), "code": code, "phone_tail": f"{n:04d}"}
        assert post_from(client, f"203.0.113.{n + 1}", "/track", payload).status_code == 404
    payload = {"csrf_token": field_value(parse(client.get("/track").text), "csrf_token"), "code": code, "phone_tail": PHONE[-4:]}
    blocked = post_from(client, "203.0.113.200", "/track", payload)
    assert blocked.status_code == 429 and "这个投稿编号今天已查询多次" in blocked.text
    later = ratelimit.now() + 24 * 3600 + 1
    monkeypatch.setattr(ratelimit, "now", lambda: later)
    assert lookup(client, code, PHONE[-4:]).status_code == 303


def test_lookup_link_expires_after_an_hour(client: TestClient) -> None:
    token = submit_essay(client)
    essay = essay_for(client, token)
    secret = client.app.state.secret_key
    old = signed_long_ago(secret, submission.LOOKUP_SALT, {"essay": essay.id}, submission.LOOKUP_MAX_AGE + 60)
    response = client.get(f"/track/code/{old}")
    assert response.status_code == 404 and "已失效" in response.text
    forged = signed_long_ago("not-the-secret", submission.LOOKUP_SALT, {"essay": essay.id}, 0)
    assert client.get(f"/track/code/{forged}").status_code == 404


def test_lookup_link_can_withdraw(client: TestClient) -> None:
    token = submit_essay(client)
    code = essay_for(client, token).tracking_code
    base = lookup(client, code, PHONE[-4:]).headers["location"]
    response = client.post(f"{base}/withdraw", data=withdraw_form(client, base))
    assert response.status_code == 303 and response.headers["location"] == base
    assert essay_for(client, token).status == "withdrawn"


# ---------------------------------------------------------------------------------------------------
# Privacy: phone, e-mail and token only ever on the author's own page


def test_phone_email_and_token_appear_on_no_public_page(client: TestClient) -> None:
    token = submit_essay(client, email=EMAIL)
    essay = essay_for(client, token)
    move(client, token, Action.APPROVE)
    secrets_ = (PHONE, PHONE[:3] + " " + PHONE[3:7], EMAIL, token, essay.tracking_code)
    paths = ["/", "/boards/ecology", f"/essays/{essay.id}", "/feed.atom", "/search?q=步道", "/sitemap.xml",
             "/track", "/submit", "/privacy"]
    rendered = 0
    for path in paths:
        response = client.get(path)
        if response.status_code == 404 and path != "/":
            continue  # a page another issue has not built yet
        assert response.status_code == 200, path
        rendered += 1
        for secret in secrets_:
            assert secret not in response.text, (path, secret)
    assert rendered >= 3  # /, /track and /submit at least; the public pages as they are built
    own = client.get(f"/track/{token}").text
    assert token in own and essay.tracking_code in own
    assert PHONE not in own and EMAIL not in own  # even there, only masked
    assert PHONE[-4:] in own
