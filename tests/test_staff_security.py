"""Staff-account security: nobody can lock a stranger out, sessions end when they should, passwords
that a guess would find are refused, and CSRF tokens change with the person signed in."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from support import PASSWORD, add_user, csrf_from, db_read, login

from citizenvoice.domain import accounts
from citizenvoice.store import sessions as session_store


def from_address(client: TestClient, host: str) -> None:
    """Send the client's next requests from another address (as another network would)."""
    client._transport.client = (host, 50000)  # noqa: SLF001  (TestClient has no public knob for it)


def another_browser(client: TestClient) -> TestClient:
    """A second browser (its own cookies) on the same running app."""
    other = TestClient(client.app, follow_redirects=False)
    other.portal = client.portal
    return other


def try_login(client: TestClient, username: str, password: str) -> int:
    token = csrf_from(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token}).status_code


def failures(client: TestClient) -> int:
    rows = db_read(client, lambda conn: conn.execute_fetchall("SELECT count(*) FROM login_failures"))
    return rows[0][0]


def audit_actions(client: TestClient) -> list[str]:
    rows = db_read(client, lambda conn: conn.execute_fetchall("SELECT action FROM admin_audit ORDER BY id"))
    return [r[0] for r in rows]


# ---------------------------------------------------------------------------------------------------
# 1. No lockout by strangers


def test_guesses_from_six_addresses_do_not_keep_the_admin_out(client: TestClient) -> None:
    add_user(client, "adm1", "admin")
    for n in range(6):
        from_address(client, f"203.0.113.{n + 1}")
        client.cookies.clear()
        assert try_login(client, "adm1", "wrong-password-guess") == 400
    from_address(client, "198.51.100.7")
    client.cookies.clear()
    assert try_login(client, "adm1", PASSWORD) == 303


def test_the_owner_signs_in_from_a_clean_address_while_an_attacker_is_throttled(client: TestClient) -> None:
    add_user(client, "adm1", "admin")
    from_address(client, "203.0.113.9")
    for _ in range(accounts.THROTTLE_LIMIT + 3):
        try_login(client, "adm1", "wrong-password-guess")
    assert try_login(client, "adm1", PASSWORD) == 400  # the attacker's own address waits, right password or not
    from_address(client, "198.51.100.7")
    client.cookies.clear()
    assert try_login(client, "adm1", PASSWORD) == 303


def test_a_correct_password_is_never_counted_as_a_failure(client: TestClient) -> None:
    add_user(client, "li", "editor")
    for _ in range(accounts.THROTTLE_LIMIT):
        try_login(client, "li", "wrong-password-guess")
    counted = failures(client)
    assert try_login(client, "li", PASSWORD) == 400  # throttled here …
    assert failures(client) == counted  # … but neither it nor the wait it would extend is recorded


def test_many_failures_of_one_account_alert_the_admins_without_locking_it(client: TestClient) -> None:
    add_user(client, "adm1", "admin")
    for n in range(accounts.ACCOUNT_ALERT):
        from_address(client, f"203.0.113.{n + 1}")
        client.cookies.clear()
        try_login(client, "adm1", "wrong-password-guess")
    assert audit_actions(client).count("login.many_failures") == 1
    from_address(client, "198.51.100.7")
    client.cookies.clear()
    assert try_login(client, "adm1", PASSWORD) == 303


# ---------------------------------------------------------------------------------------------------
# 2. Sessions that end


def test_after_logout_the_old_session_cookie_opens_nothing(client: TestClient) -> None:
    add_user(client, "wang", "moderator")
    login(client, "wang")
    kept = client.cookies.get("cv_session")
    assert client.get("/moderate").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/moderate").text)})
    client.cookies.set("cv_session", kept)  # a copy of the cookie, kept by whoever had it
    response = client.get("/moderate")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_the_session_cookie_carries_only_a_random_id(client: TestClient) -> None:
    import base64
    import json

    add_user(client, "wang", "moderator")
    login(client, "wang")
    payload = json.loads(base64.b64decode(client.cookies.get("cv_session").split(".")[0]))
    assert list(payload) == ["sid"] and len(payload["sid"]) >= 40  # no user id, role or time in the cookie
    stored = db_read(client, lambda conn: conn.execute_fetchall("SELECT id_hash FROM staff_sessions"))
    assert [r[0] for r in stored] != [payload["sid"]]  # only its hash is kept


def sessions_of(client: TestClient, user_id: int) -> list[session_store.StaffSession]:
    return db_read(client, session_store.list_for_user, user_id)


def test_account_sessions_lists_mine_and_ends_another_at_once(app) -> None:
    with TestClient(app, follow_redirects=False) as phone:
        user_id = add_user(phone, "zhao", "editor")
        phone.headers["user-agent"] = "Mozilla/5.0 (Linux; Android 14) MicroMessenger/8.0"
        login(phone, "zhao")
        laptop = another_browser(phone)
        laptop.headers["user-agent"] = "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0 Safari/537.36"
        login(laptop, "zhao")
        page = laptop.get("/account/sessions")
        assert page.status_code == 200
        assert "微信 · Android" in page.text and "Chrome · Windows" in page.text and "当前" in page.text
        phone_session = next(s for s in sessions_of(laptop, user_id) if "Android" in s.user_agent)
        ended = laptop.post(f"/account/sessions/{phone_session.id}/end", data={"csrf_token": csrf_from(page.text)})
        assert ended.status_code == 303
        assert phone.get("/editor").status_code == 303  # the phone is signed out
        assert laptop.get("/editor").status_code == 200  # the laptop is not
        assert len(sessions_of(laptop, user_id)) == 1


def test_nobody_ends_another_users_session(client: TestClient) -> None:
    other = add_user(client, "qian", "moderator")
    login(client, "qian")
    [theirs] = sessions_of(client, other)
    client.cookies.clear()
    add_user(client, "sun", "moderator")
    login(client, "sun")
    token = csrf_from(client.get("/account/sessions").text)
    assert client.post(f"/account/sessions/{theirs.id}/end", data={"csrf_token": token}).status_code == 404
    assert len(sessions_of(client, other)) == 1


def test_an_admin_ends_all_of_a_users_sessions_and_it_is_audited(app) -> None:
    with TestClient(app, follow_redirects=False) as target:
        user_id = add_user(target, "ed", "editor")
        login(target, "ed")
        assert target.get("/editor").status_code == 200
        admin = another_browser(target)
        add_user(admin, "boss", "admin")
        login(admin, "boss")
        page = admin.get(f"/admin/users/{user_id}")
        response = admin.post(f"/admin/users/{user_id}/sessions/end", data={"csrf_token": csrf_from(page.text)})
        assert response.status_code == 303
        assert target.get("/editor").status_code == 303
        assert "user.sessions_end" in audit_actions(admin)


def test_changing_ones_password_ends_the_other_sessions_and_keeps_this_one(app) -> None:
    with TestClient(app, follow_redirects=False) as here:
        add_user(here, "wu", "moderator")
        login(here, "wu")
        elsewhere = another_browser(here)
        login(elsewhere, "wu")
        form = {"current_password": PASSWORD, "new_password": "river lantern 2031 ferry",
                "new_password_again": "river lantern 2031 ferry",
                "csrf_token": csrf_from(here.get("/account/password").text)}  # fmt: skip
        response = here.post("/account/password", data=form)
        assert response.status_code == 200 and "密码已修改" in response.text
        assert elsewhere.get("/moderate").status_code == 303
        assert here.get("/moderate").status_code == 200
        here.cookies.clear()
        assert try_login(here, "wu", PASSWORD) == 400
        assert try_login(here, "wu", "river lantern 2031 ferry") == 303


def test_a_wrong_current_password_changes_nothing(client: TestClient) -> None:
    add_user(client, "wu", "moderator")
    login(client, "wu")
    form = {"current_password": "not-my-password", "new_password": "river lantern 2031 ferry",
            "new_password_again": "river lantern 2031 ferry",
            "csrf_token": csrf_from(client.get("/account/password").text)}  # fmt: skip
    response = client.post("/account/password", data=form)
    assert response.status_code == 422 and "当前密码不正确。" in response.text
    client.cookies.clear()
    assert try_login(client, "wu", PASSWORD) == 303


# ---------------------------------------------------------------------------------------------------
# 3. Real password rules, the same everywhere


WEAK = [
    ("aaaaaaaaaaaa", "同一个字符"),
    (" " * 12, "全是空格"),
    ("password1234", "太常见"),
    ("qwertyuiop12", "太常见"),
    ("newuser-2026-xx", "用户名"),
    ("锦州日报锦州日报锦州日报", "锦州日报"),
    ("short", "至少需要 12 个字符"),
]


@pytest.mark.parametrize(("password", "says"), WEAK, ids=[w[1] for w in WEAK])
def test_the_admin_form_refuses_a_weak_password_and_says_what_to_change(staff_client, password, says) -> None:
    client = staff_client("admin", username="boss")
    token = csrf_from(client.get("/admin/users").text)
    form = {"username": "newuser", "password": password, "roles": ["moderator"], "csrf_token": token}
    response = client.post("/admin/users", data=form)
    assert response.status_code == 422
    assert says in response.text and 'value="newuser"' in response.text


def test_the_paper_name_an_admin_set_is_refused_too(staff_client) -> None:
    client = staff_client("admin", username="boss")
    page = client.get("/admin/settings")
    form = {"site_name": "写给下一个五年", "city": "营口", "paper_name": "营口日报", "column_title": "写给下一个五年",
            "lead": "", "csrf_token": csrf_from(page.text)}  # fmt: skip
    assert client.post("/admin/settings", data=form).status_code == 303
    token = csrf_from(client.get("/admin/users").text)
    response = client.post("/admin/users", data={"username": "newuser", "password": "营口日报营口日报营口日报",
                                                 "roles": ["editor"], "csrf_token": token})  # fmt: skip
    assert response.status_code == 422 and "营口日报" in response.text


def test_a_strong_password_is_accepted(staff_client) -> None:
    client = staff_client("admin", username="boss")
    token = csrf_from(client.get("/admin/users").text)
    response = client.post("/admin/users", data={"username": "newuser", "password": "ferry lantern 2031 rain",
                                                 "roles": ["editor"], "csrf_token": token})  # fmt: skip
    assert response.status_code == 303


# ---------------------------------------------------------------------------------------------------
# 6. CSRF tokens change with the person signed in


def test_the_csrf_cookie_is_rotated_at_login_and_logout(client: TestClient) -> None:
    add_user(client, "wang", "moderator")
    add_user(client, "li", "moderator")
    client.get("/login")
    before = client.cookies.get("cv_csrf")
    login(client, "wang")
    after_login = client.cookies.get("cv_csrf")
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/moderate").text)})
    after_logout = client.cookies.get("cv_csrf")
    login(client, "li")
    next_user = client.cookies.get("cv_csrf")
    assert len({before, after_login, after_logout, next_user}) == 4


def test_a_token_from_before_login_is_refused_on_staff_forms(client: TestClient) -> None:
    add_user(client, "wang", "moderator")
    stale = csrf_from(client.get("/login").text)
    login(client, "wang")
    assert client.post("/logout", data={"csrf_token": stale}).status_code == 403
    assert client.get("/moderate").status_code == 200  # still signed in: the forged logout did nothing


def test_staff_form_tokens_are_bound_to_the_session(app) -> None:
    with TestClient(app, follow_redirects=False) as first:
        add_user(first, "wang", "moderator")
        login(first, "wang")
        token = csrf_from(first.get("/account/sessions").text)
        # The same browser cookie for CSRF, but another session: the token is worth nothing there.
        second = another_browser(first)
        login(second, "wang")
        second.cookies.set("cv_csrf", first.cookies.get("cv_csrf"))
        assert second.post("/logout", data={"csrf_token": token}).status_code == 403


def test_the_sessions_table_is_emptied_of_expired_rows_at_the_next_login(client: TestClient, monkeypatch) -> None:
    import time

    from citizenvoice.web import sessions

    add_user(client, "wang", "moderator")
    login(client, "wang")
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + sessions.ABSOLUTE_TIMEOUT + 60)
    client.cookies.clear()
    login(client, "wang")
    rows = db_read(client, lambda conn: conn.execute_fetchall("SELECT count(*) FROM staff_sessions"))
    assert rows[0][0] == 1
