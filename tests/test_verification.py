"""Phone verification, without JavaScript: 「获取验证码」 posts the whole form to /submit/code, which
sends a 6-digit code and returns the same form with every field kept; the essay is stored only when
POST /submit carries the phone's valid code. Codes: 10 minutes, 5 tries, hashed, a new one after 60 s,
5 per phone a day, 60 per address an hour; a verified phone is remembered by the browser."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from citizenvoice.domain import ratelimit, verification
from citizenvoice.settings import Settings
from tests.messaging_helpers import ask_code, deliver, form_page, messages, outbox, sent_code
from tests.submit_helpers import BODY, PHONE, count, field_value, parse, post_from, read, valid_form


@pytest.fixture
def app(settings, make_app):
    return make_app(settings, phone_verification="required")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    now = {"t": 1_800_000_000.0}
    monkeypatch.setattr(ratelimit, "now", lambda: now["t"])
    return now


def submit_with(client: TestClient, tokens: dict[str, str], code: str, **fields: str):
    return client.post("/submit", data={**tokens, **valid_form(**fields), "phone_code": code})


def test_the_default_follows_the_backend() -> None:
    assert Settings().resolved().phone_verification == "off"
    assert Settings(phone_verification="required").resolved().phone_verification == "required"
    real = Settings(sms_backend="tencent", tencent_secret_id="id", tencent_secret_key="k", tencent_sdk_app_id="1",
                    sms_sign_name="市民之声", sms_templates=",".join(f"{k}=1" for k in verification_kinds()))
    assert real.resolved().phone_verification == "required"
    assert Settings.from_env({"CITIZENVOICE_PHONE_VERIFICATION": "off"}).phone_verification == "off"


def verification_kinds():
    from citizenvoice.settings import MESSAGE_KINDS

    return MESSAGE_KINDS


def test_asking_for_a_code_keeps_every_field_and_adds_phone_code(client: TestClient) -> None:
    tokens = form_page(client)
    response = ask_code(client, PHONE, tokens=tokens, headline="我的河堤", affiliation="河畔社区")
    assert response.status_code == 200
    page = parse(response.text)
    assert field_value(page, "headline") == "我的河堤"
    assert page.find(name="body").text() == BODY
    assert field_value(page, "affiliation") == "河畔社区" and field_value(page, "phone") == PHONE
    assert field_value(page, "form_token") == tokens["form_token"]
    assert page.find(name="phone_code") is not None
    assert "验证码已发送到 138****5678" in page.by_id("code-notice").text()
    assert count(client, "essays") == 0
    code = sent_code(client, PHONE)
    assert len(code) == 6 and code.isdigit()
    (line,) = [line for line in outbox(client) if line["template"] == "verification_code"]
    assert line["to"] == PHONE and code in line["text"]
    # only a keyed hash of the code is stored; once sent, the outbox row no longer shows it
    rows = read(client, lambda conn: conn.execute_fetchall("SELECT phone_hash, code_hash FROM phone_codes"))
    assert all(code not in str(tuple(r)) and PHONE not in str(tuple(r)) for r in rows)
    assert all(m.params.get("code") != code for m in messages(client))


def test_no_essay_without_a_valid_code(client: TestClient) -> None:
    tokens = form_page(client)
    response = submit_with(client, tokens, "")
    assert response.status_code == 422
    page = parse(response.text)
    assert "获取验证码" in page.by_id("phone_code-error").text()
    assert page.find(name="body").text() == BODY
    assert count(client, "essays") == 0


def test_the_right_code_stores_the_essay_and_the_browser_remembers_the_phone(client: TestClient) -> None:
    tokens = form_page(client)
    ask_code(client, PHONE, tokens=tokens)
    response = submit_with(client, tokens, sent_code(client, PHONE))
    assert response.status_code == 303 and response.headers["location"].startswith("/track/")
    assert count(client, "essays") == 1
    assert "cv_phone" in response.headers["set-cookie"] and "HttpOnly" in response.headers["set-cookie"]
    # the second essay that day needs no new code
    page = parse(client.get("/submit").text)
    second = client.post("/submit", data={**{n: field_value(page, n) for n in ("csrf_token", "form_token")},
                                          **valid_form(headline="第二篇文章"), "phone_code": ""})
    assert second.status_code == 303 and count(client, "essays") == 2
    # … but another phone does
    third = submit_with(client, form_page(client), "", phone="13900001111", headline="第三篇文章")
    assert third.status_code == 422 and count(client, "essays") == 2


def test_a_wrong_code_shows_the_form_again_and_counts_a_try(client: TestClient) -> None:
    tokens = form_page(client)
    ask_code(client, PHONE, tokens=tokens)
    code = sent_code(client, PHONE)
    wrong = "000000" if code != "000000" else "111111"
    response = submit_with(client, tokens, wrong, headline="留着的标题")
    assert response.status_code == 422
    page = parse(response.text)
    assert "验证码不对" in page.by_id("phone_code-error").text() and "还可以再试 4 次" in response.text
    assert field_value(page, "headline") == "留着的标题"
    assert count(client, "essays") == 0
    for _ in range(4):
        submit_with(client, tokens, wrong)
    # five wrong tries: even the right code no longer works
    blocked = submit_with(client, tokens, code)
    assert blocked.status_code == 422
    assert "输错次数太多" in parse(blocked.text).by_id("phone_code-error").text()
    assert count(client, "essays") == 0


def test_a_code_expires_after_ten_minutes(client: TestClient, clock) -> None:
    tokens = form_page(client)
    ask_code(client, PHONE, tokens=tokens)
    code = sent_code(client, PHONE)
    clock["t"] += 10 * 60 + 1
    response = submit_with(client, tokens, code)
    assert response.status_code == 422 and "验证码已过期" in response.text
    assert count(client, "essays") == 0


def test_a_code_works_once(client: TestClient) -> None:
    tokens = form_page(client)
    ask_code(client, PHONE, tokens=tokens)
    code = sent_code(client, PHONE)
    assert submit_with(client, tokens, code).status_code == 303
    client.cookies.clear()  # another browser with the same code
    again = submit_with(client, form_page(client), code, headline="另一篇")
    assert again.status_code == 422 and count(client, "essays") == 1


def test_a_new_code_only_after_sixty_seconds(client: TestClient, clock) -> None:
    assert ask_code(client, PHONE).status_code == 200
    too_soon = ask_code(client, PHONE, headline="别丢")
    assert too_soon.status_code == 429
    page = parse(too_soon.text)
    assert "秒后再重新获取" in page.by_id("phone_code-error").text() and field_value(page, "headline") == "别丢"
    clock["t"] += 61
    assert ask_code(client, PHONE).status_code == 200
    deliver(client)
    assert len([line for line in outbox(client) if line["template"] == "verification_code"]) == 2


def test_at_most_five_codes_per_phone_a_day(client: TestClient, clock) -> None:
    for _ in range(5):
        assert ask_code(client, PHONE).status_code == 200
        clock["t"] += 61
    sixth = ask_code(client, PHONE)
    assert sixth.status_code == 429 and "今天已获取了 5 次验证码" in sixth.text
    clock["t"] += 24 * 3600
    assert ask_code(client, PHONE).status_code == 200


def test_at_most_sixty_codes_per_address_an_hour(client: TestClient, clock) -> None:
    for n in range(60):
        assert ask_code(client, f"1390000{n:04d}", ip="2001:db8:1:2::7").status_code == 200
    refused = ask_code(client, "13900009999", ip="2001:db8:1:2:ffff::1")  # the same /64
    assert refused.status_code == 429 and "获取验证码的次数太多了" in refused.text
    assert ask_code(client, "13900009999", ip="2001:db8:1:3::1").status_code == 200  # another /64


def test_a_bad_phone_is_an_error_at_the_phone_field(client: TestClient) -> None:
    response = ask_code(client, "12345")
    assert response.status_code == 422
    assert "11 位中国大陆手机号" in parse(response.text).by_id("phone-error").text()
    assert messages(client) == []


def test_asking_for_a_code_needs_the_csrf_token(client: TestClient) -> None:
    response = ask_code(client, PHONE, tokens={"csrf_token": "forged", "form_token": ""})
    assert response.status_code == 403 and messages(client) == []


def test_with_javascript_the_answer_is_json(client: TestClient) -> None:
    payload = {**form_page(client), **valid_form()}
    response = client.post("/submit/code", data=payload, headers={"accept": "application/json"})
    assert response.status_code == 200
    assert response.json() == {"ok": True, "notice": response.json()["notice"], "error": "", "field": "",
                               "wait": 60}
    again = client.post("/submit/code", data=payload, headers={"accept": "application/json"})
    assert again.status_code == 429 and again.json()["field"] == "phone_code" and again.json()["wait"] > 0


def test_verification_off_needs_no_code(make_app, settings) -> None:
    with TestClient(make_app(settings, phone_verification="off"), follow_redirects=False) as plain:
        page = parse(plain.get("/submit").text)
        assert page.find(name="phone_code") is None
        response = plain.post("/submit", data={**form_page(plain), **valid_form()})
        assert response.status_code == 303


def test_fifty_verified_residents_from_one_address_all_submit(client: TestClient, clock) -> None:
    # A community centre's writing session: one Wi-Fi, fifty phones, each verified, all stored.
    for n in range(50):
        phone = f"1370000{n:04d}"
        client.cookies.clear()
        tokens = form_page(client)
        assert ask_code(client, phone, tokens=tokens, ip="203.0.113.9").status_code == 200
        code = sent_code(client, phone)
        payload = {**tokens, **valid_form(phone=phone, headline=f"第{n + 1}篇文章"), "phone_code": code}
        assert post_from(client, "203.0.113.9", "/submit", payload).status_code == 303, n
    assert count(client, "essays") == 50


def test_verification_is_an_admin_setting(client: TestClient, staff_client) -> None:
    admin = staff_client("admin")
    page = parse(admin.get("/admin/settings").text)
    form = {node.attrs["name"]: node.attrs.get("value", "") for node in page.find_all("input")
            if node.attrs.get("name") and node.attrs.get("type") != "radio"}
    form["review_levels"] = "1"
    form["phone_verification"] = "off"
    form["submit_limit_per_phone"] = "7"
    assert admin.post("/admin/settings", data=form).status_code == 303
    page = parse(admin.get("/admin/settings").text)
    assert field_value(page, "submit_limit_per_phone") == "7"
    assert verification.MAX_TRIES == 5
    form["submit_limit_per_phone"] = "abc"
    bad = admin.post("/admin/settings", data=form)
    assert bad.status_code == 422 and "请填写 1 到 100 之间的整数" in bad.text


def test_a_double_tap_with_the_code_gives_the_same_receipt(client: TestClient) -> None:
    tokens = form_page(client)
    ask_code(client, PHONE, tokens=tokens)
    code = sent_code(client, PHONE)
    first = submit_with(client, tokens, code)
    client.cookies.delete("cv_phone")  # the second tap left before the first answer set the cookie
    second = submit_with(client, tokens, code)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert count(client, "essays") == 1


def test_a_refused_essay_keeps_its_code_valid(make_app, settings, clock) -> None:
    with TestClient(make_app(settings, phone_verification="required", submit_limit_per_address=1),
                    follow_redirects=False) as client:
        tokens = form_page(client)
        ask_code(client, "13900000001", tokens=tokens)
        assert submit_with(client, tokens, sent_code(client, "13900000001"), phone="13900000001").status_code == 303
        clock["t"] += 61
        tokens = form_page(client)
        ask_code(client, PHONE, tokens=tokens)
        code = sent_code(client, PHONE)
        assert submit_with(client, tokens, code).status_code == 429  # the address limit
        from citizenvoice.store import messages as message_store

        latest = read(client, lambda conn: message_store.latest_code(conn, verification.phone_key(
            client.app.state.secret_key, PHONE)))
        assert latest is not None and not latest.used and latest.tries == 0  # still good for a retry
