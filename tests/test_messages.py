"""Messages to authors: one per status change, written with the change, delivered by the sender loop
to the outbox file in the contract's shape, in Chinese, with absolute links; the author can stop them."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from starlette.testclient import TestClient

from citizenvoice.domain import lifecycle
from citizenvoice.domain.lifecycle import ActorRef
from citizenvoice.domain.messaging import sender as sender_module
from citizenvoice.domain.messaging import templates
from citizenvoice.model.essays import Action, Actor
from citizenvoice.settings import MESSAGE_KINDS
from citizenvoice.store import essays as essay_store
from citizenvoice.store import messages as message_store
from tests.messaging_helpers import deliver, messages, outbox, quiet
from tests.submit_helpers import EMAIL, PHONE, field_value, parse, read, submit_essay, write

MODERATOR = ActorRef(Actor.MODERATOR)
EDITOR = ActorRef(Actor.EDITOR)
BASE = "https://cv.example.cn"


@pytest.fixture
def app(settings, make_app):
    return make_app(settings, base_url=BASE)


@pytest.fixture(autouse=True)
def counted(client: TestClient) -> None:
    quiet(client)  # these tests count what each round delivers


def essay_for(client: TestClient, token: str) -> essay_store.Essay:
    essay = read(client, lambda conn: essay_store.get_by_token(conn, token))
    assert essay is not None
    return essay


def move(client: TestClient, token: str, action: Action, actor: ActorRef = MODERATOR, **kwargs) -> None:
    essay_id = essay_for(client, token).id
    write(client, lambda conn: lifecycle.transition(conn, essay_id, action, actor, city="锦州", **kwargs))


def sms(client: TestClient, template: str) -> list[dict]:
    return [line for line in outbox(client) if line["template"] == template and "@" not in line["to"]]


def test_every_template_renders_chinese_text_with_its_params() -> None:
    params = {
        "verification_code": {"code": "123456"},
        "received": {"headline": "河堤", "tracking_code": "CV-AAAA-BBBB", "track": 7},
        "needs_revision": {"tracking_code": "CV-AAAA-BBBB", "note": "请补充细节", "track": 7},
        "rejected": {"tracking_code": "CV-AAAA-BBBB", "reason": "与主题无关", "track": 7},
        "published": {"tracking_code": "CV-AAAA-BBBB", "path": "/essays/7"},
        "printed": {"tracking_code": "CV-AAAA-BBBB", "edition": "《锦州日报》2026-11-24 T08版"},
        "signoff_requested": {"tracking_code": "CV-AAAA-BBBB", "track": 7, "suffix": "/signoff"},
        "lost_link": {"items": [{"tracking_code": "CV-AAAA-BBBB", "essay_id": 7},
                                {"tracking_code": "CV-CCCC-DDDD", "essay_id": 8}]},
    }
    assert set(params) == set(MESSAGE_KINDS) == set(templates.TEMPLATES)
    expected_words = {"verification_code": "验证码是123456", "received": "已收到", "needs_revision": "需要修改：请补充细节",
                      "rejected": "原因：与主题无关", "published": f"已在网上发表：{BASE}/essays/7",
                      "printed": "已见报：《锦州日报》2026-11-24 T08版", "signoff_requested": "确认",
                      "lost_link": "CV-CCCC-DDDD"}
    for kind, values in params.items():
        rendered = templates.render(kind, values, base_url=BASE, secret="s")
        assert expected_words[kind] in rendered.text, kind
        assert "{" not in rendered.text and "}" not in rendered.text
        if "track" in values or "items" in values:
            assert f"{BASE}/track/code/" in rendered.text
    signoff = templates.render("signoff_requested", params["signoff_requested"], base_url=BASE, secret="s")
    assert signoff.params["link"].endswith("/signoff")


def test_mail_has_plain_text_and_html_and_says_how_to_stop() -> None:
    rendered = templates.render("published", {"tracking_code": "CV-AAAA-BBBB", "path": "/essays/7"},
                                base_url=BASE, secret="s", email=True)
    assert rendered.subject == "您的投稿已发表"
    assert "不再通知我" in rendered.text and "不再通知我" in rendered.html
    assert f'<a href="{BASE}/essays/7">' in rendered.html
    code = templates.render("verification_code", {"code": "123456"}, base_url=BASE, secret="s", email=True)
    assert "不再通知我" not in code.text  # a code the resident asked for is not a notification


def test_receipt_is_queued_with_the_essay_and_delivered_to_the_outbox(client: TestClient) -> None:
    token = submit_essay(client)
    essay = essay_for(client, token)
    queued = messages(client)
    assert [(m.channel, m.template, m.status) for m in queued] == [("sms", "received", "queued"),
                                                                     ("email", "received", "queued")]
    assert deliver(client) == 2
    lines = outbox(client)
    assert [line["to"] for line in lines] == [PHONE, EMAIL]
    line = lines[0]
    assert set(line) == {"to", "template", "params", "text", "at"}
    assert line["template"] == "received"
    assert line["params"]["tracking_code"] == essay.tracking_code
    assert line["params"]["link"].startswith(f"{BASE}/track/code/")
    assert essay.tracking_code in line["text"] and line["params"]["link"] in line["text"]
    assert dt.datetime.fromisoformat(line["at"]).tzinfo is not None
    # the link in the SMS opens the author's tracking page
    page = client.get(line["params"]["link"].removeprefix(BASE))
    assert page.status_code == 200 and essay.tracking_code in page.text
    assert [m.status for m in messages(client)] == ["sent", "sent"]
    assert deliver(client) == 0  # sent once, not again


def test_each_status_change_promises_its_message(client: TestClient) -> None:
    revise = submit_essay(client, headline="要改的文章")
    move(client, revise, Action.REVISE, note="请补充您家附近河堤的具体位置")
    reject = submit_essay(client, headline="不用的文章", phone="13900000001")
    move(client, reject, Action.REJECT, reason="与征文主题无关")
    publish = submit_essay(client, headline="发表的文章", phone="13900000002")
    move(client, publish, Action.APPROVE)
    move(client, publish, Action.PRINT, EDITOR, changes={"printed_edition": "《锦州日报》2026-11-24 T08版"})
    deliver(client)
    assert "需要修改：请补充您家附近河堤的具体位置" in sms(client, "needs_revision")[0]["text"]
    assert "原因：与征文主题无关" in sms(client, "rejected")[0]["text"]
    published = sms(client, "published")[0]
    assert published["params"]["link"] == f"{BASE}/essays/{essay_for(client, publish).id}"
    assert "《锦州日报》2026-11-24 T08版" in sms(client, "printed")[0]["text"]
    # withdrawing is the author's own act: nothing to tell them
    before = len(messages(client))
    move(client, revise, Action.WITHDRAW, lifecycle.AUTHOR)
    assert len(messages(client)) == before


def test_a_long_note_is_cut_for_the_sms_but_not_for_the_mail(client: TestClient) -> None:
    token = submit_essay(client)
    note = "请把第二段关于停车难的内容写得更具体一些，比如早上几点开始堵、堵在哪个路口、您希望怎么解决。"
    move(client, token, Action.REVISE, note=note)
    deliver(client)
    sms_line = sms(client, "needs_revision")[0]
    mail_line = next(line for line in outbox(client) if line["template"] == "needs_revision" and "@" in line["to"])
    assert len(sms_line["params"]["note"]) <= templates.SMS_PARAM_CHARS and sms_line["params"]["note"].endswith("…")
    assert note in mail_line["text"]


def test_a_failed_change_promises_nothing(client: TestClient) -> None:
    token = submit_essay(client)
    essay_id = essay_for(client, token).id
    before = len(messages(client))

    async def revise_then_fail(conn) -> None:
        await lifecycle.transition(conn, essay_id, Action.REVISE, MODERATOR, city="锦州", note="改")
        raise RuntimeError("the rest of the decision failed")

    with pytest.raises(RuntimeError):
        write(client, revise_then_fail)
    assert len(messages(client)) == before  # rolled back with the status change
    assert essay_for(client, token).status == "pending"


def test_the_author_can_stop_notifications_from_the_tracking_page(client: TestClient) -> None:
    token = submit_essay(client)
    page = parse(client.get(f"/track/{token}").text)
    assert page.by_id("notifications") is not None
    response = client.post(f"/track/{token}/notify", data={"csrf_token": field_value(page, "csrf_token"),
                                                            "notify": "off"})
    assert response.status_code == 200
    assert "不会再给您发通知" in parse(response.text).by_id("notify-alert").text()
    before = len(messages(client))
    move(client, token, Action.REVISE, note="请补充")
    assert len(messages(client)) == before
    # and back on
    page = parse(client.get(f"/track/{token}").text)
    client.post(f"/track/{token}/notify", data={"csrf_token": field_value(page, "csrf_token"), "notify": "on"})
    move(client, token, Action.RESUBMIT, lifecycle.AUTHOR, changes={"headline": "河堤上的新步道"})
    move(client, token, Action.APPROVE)
    assert [m.template for m in messages(client)][-2:] == ["published", "published"]


def test_stopping_needs_the_csrf_token(client: TestClient) -> None:
    token = submit_essay(client)
    response = client.post(f"/track/{token}/notify", data={"csrf_token": "forged", "notify": "off"})
    assert response.status_code == 403
    assert essay_for(client, token).notify is True


def test_the_outbox_never_holds_the_secret_tracking_token(client: TestClient) -> None:
    token = submit_essay(client)
    deliver(client)
    assert all(token not in json.dumps(line) for line in outbox(client))
    assert all(token not in json.dumps(m.params) for m in messages(client))


def test_a_failing_provider_is_retried_with_backoff_then_marked_failed(client: TestClient,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from citizenvoice.domain.messaging.backends import SendFailed

    class Refusing:
        calls = 0

        def send(self, message, rendered):
            Refusing.calls += 1
            raise SendFailed("isv.BUSINESS_LIMIT_CONTROL: 触发分钟级流控")

    sender = client.app.state.sender
    monkeypatch.setattr(sender, "backends", {"sms": Refusing(), "email": Refusing()})
    clock = {"now": dt.datetime(2026, 12, 1, tzinfo=dt.UTC)}
    monkeypatch.setattr(sender, "clock", lambda: clock["now"])
    write(client, lambda conn: message_store.enqueue(conn, key="t:1", channel="sms", recipient=PHONE,
                                                    template="verification_code", params={"code": "111111"},
                                                    essay_id=None, at="2026-12-01T00:00:00.000000Z"))
    delays = []
    for _ in range(sender.settings.message_max_attempts):
        assert deliver(client) == 0
        (message,) = messages(client)
        if message.status == "failed":
            break
        due = dt.datetime.fromisoformat(message.next_attempt_at.replace("Z", "+00:00"))
        delays.append((due - clock["now"]).total_seconds())
        assert deliver(client) == 0 and Refusing.calls == len(delays)  # not due yet: not tried again
        clock["now"] = due
    (message,) = messages(client)
    assert message.status == "failed" and "流控" in message.last_error
    assert delays[:3] == [30, 60, 120]
    assert Refusing.calls == sender.settings.message_max_attempts


def test_only_the_lease_holder_sends(client: TestClient, settings) -> None:
    submit_essay(client)
    other = sender_module.Sender(client.app.state.db, client.app.state.settings, "k",
                                 client.app.state.sender.backends, holder="another-worker")
    deliver(client)  # the app's sender holds the lease now
    submit_essay(client, phone="13900000009")
    assert client.portal.call(lambda: other.round(100)) == 0
    assert len(outbox(client)) == 2


def test_the_sender_is_bounded_per_round(client: TestClient) -> None:
    for n in range(4):
        submit_essay(client, phone=f"1390000{n:04d}")
    budget = client.app.state.sender.budget
    assert budget == client.app.state.settings.messages_per_minute // 60
    assert client.portal.call(lambda: client.app.state.sender.round()) == budget


def test_signoff_request_promises_a_message(client: TestClient) -> None:
    token = submit_essay(client)
    essay = essay_for(client, token)
    from citizenvoice.domain.messaging import notify

    write(client, lambda conn: notify.signoff_requested(conn, essay, "1:2"))
    write(client, lambda conn: notify.signoff_requested(conn, essay, "1:2"))  # the same request twice: once
    deliver(client)
    lines = sms(client, "signoff_requested")
    assert len(lines) == 1 and lines[0]["params"]["link"].endswith("/signoff")
    # without a real request from the print desk the sign-off page has nothing to show; its tracking page does
    assert client.get(lines[0]["params"]["link"].removeprefix(BASE).removesuffix("/signoff")).status_code == 200


def test_erasing_the_essay_erases_its_messages(client: TestClient) -> None:
    from citizenvoice.domain import privacy

    token = submit_essay(client)
    essay = essay_for(client, token)
    deliver(client)
    assert len(messages(client)) == 2
    media = client.app.state.settings.media_path
    write(client, lambda conn: privacy.erase_for_author(conn, essay.id, "anonymous", city="锦州", media_dir=media))
    assert messages(client) == []


def test_the_log_names_no_phone_or_address(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="citizenvoice.messages")
    submit_essay(client)
    deliver(client)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "written to the outbox for 138****5678" in logged
    assert PHONE not in logged and EMAIL not in logged and "w***@example.cn" in logged
