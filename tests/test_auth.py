from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient
from support import PASSWORD, add_user, csrf_from, login

from citizenvoice.domain import accounts
from citizenvoice.web import sessions


def test_login_redirects_with_303_and_sets_httponly_lax_cookie(client):
    add_user(client, "wang", "moderator")
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"username": "wang", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["location"] == "/moderate"
    cookie = response.headers["set-cookie"].lower()
    assert "cv_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie


def test_wrong_password_gets_generic_message_and_is_recorded(client):
    add_user(client, "wang", "moderator")
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"username": "wang", "password": "wrong-password", "csrf_token": token})
    assert response.status_code == 400
    assert accounts.LOGIN_FAILED_MESSAGE in response.text
    assert 'value="wang"' in response.text


def test_login_without_csrf_is_refused(client):
    add_user(client, "wang", "moderator")
    client.get("/login")
    response = client.post("/login", data={"username": "wang", "password": PASSWORD})
    assert response.status_code == 403


def test_throttled_after_five_failures_even_with_right_password(client):
    add_user(client, "li", "editor")
    token = csrf_from(client.get("/login").text)
    for _ in range(5):
        client.post("/login", data={"username": "li", "password": "nope-nope-nope", "csrf_token": token})
    response = client.post("/login", data={"username": "li", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 400 and accounts.LOGIN_FAILED_MESSAGE in response.text


def test_session_is_replaced_on_login_and_cleared_on_logout(client):
    add_user(client, "zhao", "editor")
    login(client, "zhao")
    first = client.cookies.get("cv_session")
    token = csrf_from(client.get("/account/sessions").text)
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    login(client, "zhao")
    assert client.cookies.get("cv_session") != first


def test_password_minimum_length():
    with pytest.raises(accounts.WeakPassword, match="至少需要 12 个字符"):
        accounts.check_password("short")


def test_idle_session_expires_after_eight_hours(client, monkeypatch):
    add_user(client, "sun", "moderator")
    login(client, "sun")
    assert client.get("/login").status_code == 303  # signed in: sent on to the staff area
    real_time = time.time
    monkeypatch.setattr(accounts.time, "time", lambda: real_time() + sessions.IDLE_TIMEOUT + 5)
    assert client.get("/login").status_code == 200  # the login form again


def test_disabled_user_is_signed_out_at_once(client):
    from citizenvoice.store import users as user_store

    user_id = add_user(client, "qian", "moderator")
    login(client, "qian")
    assert client.get("/login").status_code == 303

    async def disable() -> None:
        async with client.app.state.db.write() as conn:
            await user_store.set_disabled(conn, user_id, True)

    client.portal.call(disable)
    assert client.get("/login").status_code == 200


def test_absolute_session_timeout_ends_even_an_active_session(client, monkeypatch):
    add_user(client, "zhou", "moderator")
    login(client, "zhou")
    real_time = time.time
    # Active all day: a request every 7 hours keeps the idle clock fresh, so only the 24-hour limit can
    # end the session.
    for hours in (7, 14, 21):
        monkeypatch.setattr(accounts.time, "time", lambda hours=hours: real_time() + hours * 3600)
        assert client.get("/login").status_code == 303, f"signed out after {hours} h"
    monkeypatch.setattr(accounts.time, "time", lambda: real_time() + sessions.ABSOLUTE_TIMEOUT + 3600)
    assert client.get("/login").status_code == 200


def test_many_failures_from_one_address_throttle_every_account(client):
    add_user(client, "wu", "moderator")
    token = csrf_from(client.get("/login").text)
    for n in range(accounts.ADDRESS_LIMIT):
        client.post("/login", data={"username": f"guess-{n}", "password": "nope-nope-nope", "csrf_token": token})
    response = client.post("/login", data={"username": "wu", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 400 and accounts.LOGIN_FAILED_MESSAGE in response.text


def test_the_throttle_lifts_after_fifteen_minutes(client, monkeypatch):
    add_user(client, "zheng", "moderator")
    token = csrf_from(client.get("/login").text)
    for _ in range(accounts.THROTTLE_LIMIT):
        client.post("/login", data={"username": "zheng", "password": "nope-nope-nope", "csrf_token": token})
    real_time = time.time
    monkeypatch.setattr(accounts.time, "time", lambda: real_time() + accounts.THROTTLE_WINDOW - 60)
    refused = client.post("/login", data={"username": "zheng", "password": PASSWORD, "csrf_token": token})
    assert refused.status_code == 400
    # Attempts refused while throttled are not counted, so they do not push the end of the wait on.
    monkeypatch.setattr(accounts.time, "time", lambda: real_time() + accounts.THROTTLE_WINDOW + 60)
    response = client.post("/login", data={"username": "zheng", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303


@pytest.mark.parametrize("https", [True, False])
def test_session_cookie_is_secure_exactly_when_served_over_https(tmp_path, make_app, https):
    app = make_app(tmp_path, https=https)
    with TestClient(app, base_url="https://testserver" if https else "http://testserver",
                    follow_redirects=False) as client:  # fmt: skip
        add_user(client, "feng", "moderator")
        token = csrf_from(client.get("/login").text)
        response = client.post("/login", data={"username": "feng", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("cv_session="))
    assert ("; secure" in cookie.lower()) is https


def test_failures_from_many_addresses_of_one_ipv6_64_count_as_one_address(client):
    from tests.submit_helpers import post_from

    add_user(client, "qian", "moderator")
    token = csrf_from(client.get("/login").text)
    for n in range(accounts.ADDRESS_LIMIT):
        post_from(client, f"2001:db8:77:1:{n + 1:x}::1", "/login",
                  {"username": f"guess-{n}", "password": "nope-nope-nope", "csrf_token": token})
    same = post_from(client, "2001:db8:77:1:ffff::9", "/login",
                     {"username": "qian", "password": PASSWORD, "csrf_token": token})
    assert same.status_code == 400 and accounts.LOGIN_FAILED_MESSAGE in same.text
    other = post_from(client, "2001:db8:77:2::9", "/login", {"username": "qian", "password": PASSWORD, "csrf_token": token})
    assert other.status_code == 303
