"""Two-factor sign-in for staff, as a staff member and an admin meet it: enrolling with an authenticator
app at /account/2fa, the login's second step (a code, or a one-time recovery code), the setting that
requires it, the admin's reset for a lost phone, and the command-line reset when no other admin can."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest
from starlette.testclient import TestClient
from submit_helpers import Node, count, field_value, parse, signed_long_ago
from support import PASSWORD, add_user, csrf_from, db_read, db_write, login

from citizenvoice.app import create_app
from citizenvoice.domain import accounts, twofactor
from citizenvoice.settings import Settings, SettingsError
from citizenvoice.store import admin as admin_store
from citizenvoice.store import twofactor as twofactor_store
from citizenvoice.store import users as user_store

CODE_FORMAT = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$")


class Clock:
    """Moves time.time() on by whole TOTP steps, so a test can use the next code without waiting."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = 0.0
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() + self.offset)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    return Clock(monkeypatch)


def code(secret: str, steps: int = 0) -> str:
    """The code an authenticator app shows now (``steps`` time steps later)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps)


def wrong_code(secret: str) -> str:
    accepted = {code(secret, k) for k in (-1, 0, 1)}
    return next(c for c in (f"{n:06d}" for n in range(0, 1_000_000, 7919)) if c not in accepted)


def enrol(client: TestClient) -> tuple[str, list[str]]:
    """Enrol the signed-in user through the pages, as a person with an app would: (secret, recovery codes)."""
    page = parse(client.get("/account/2fa").text)
    secret = page.by_id("secret").text().replace(" ", "")
    response = client.post("/account/2fa", data={
        "csrf_token": field_value(page, "csrf_token"), "pending": field_value(page, "pending"),
        "totp_code": code(secret),
    })  # fmt: skip
    assert response.status_code == 200, response.text
    codes = [li.text().strip() for li in parse(response.text).find("ol", class_="recovery-codes").find_all("li")]
    return secret, codes


def password_step(client: TestClient, username: str, password: str = PASSWORD, next_path: str = ""):
    token = csrf_from(client.get("/login").text)
    data = {"username": username, "password": password, "csrf_token": token}
    if next_path:
        data["next"] = next_path
    return client.post("/login", data=data)


def second_step(client: TestClient, step_page_html: str, **fields: str):
    page = parse(step_page_html)
    data = {"csrf_token": field_value(page, "csrf_token"), "step_token": field_value(page, "step_token"), **fields}
    return client.post("/login/2fa", data=data)


def logout(client: TestClient) -> None:
    token = csrf_from(client.get("/account/sessions").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303


def signed_in(client: TestClient) -> bool:
    return client.get("/account/sessions").status_code == 200


def enrolled_user(client: TestClient, username: str, *roles: str) -> tuple[int, str, list[str]]:
    user_id = add_user(client, username, *roles)
    login(client, username)
    secret, codes = enrol(client)
    logout(client)
    return user_id, secret, codes


def audit_actions(client: TestClient) -> list[tuple[str, str, str]]:
    entries = db_read(client, admin_store.list_audit, limit=100)
    return [(e.action, e.actor_name, e.target) for e in entries]


@pytest.fixture
def app_with(settings: Settings):
    """An app whose CITIZENVOICE_TWO_FACTOR is ``policy``, in a client with its lifespan running."""
    opened: list[TestClient] = []

    def make(policy: str) -> TestClient:
        client = TestClient(create_app(dataclasses.replace(settings, two_factor=policy)), follow_redirects=False)
        opened.append(client.__enter__())
        return opened[-1]

    yield make
    for client in opened:
        client.__exit__(None, None, None)


# ---------------------------------------------------------------------------------------------------
# Enrolment


def test_the_enrolment_page_shows_a_qr_code_drawn_here_and_the_key_for_typing(staff_client) -> None:
    client = staff_client("moderator", username="wang-mod")
    response = client.get("/account/2fa")
    assert response.status_code == 200
    assert "no-store" in response.headers["cache-control"]
    page = parse(response.text)
    qr = page.find("svg", class_="qr-code")
    assert qr is not None and qr.find("path") is not None  # inline SVG: no image request, nothing third-party
    assert page.find("img") is None and "<script" not in response.text
    secret = page.by_id("secret").text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    link = next(a for a in page.find_all("a") if (a.get("href") or "").startswith("otpauth:"))
    uri = urlsplit(link.get("href"))
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert unquote(uri.path) == "/锦州日报·市民之声:wang-mod"
    assert parse_qs(uri.query) == {"secret": [secret], "issuer": ["锦州日报·市民之声"]}
    # A fresh key for every visit until one is confirmed: a key seen on a screen once is not kept.
    again = parse(client.get("/account/2fa").text).by_id("secret").text().replace(" ", "")
    assert again != secret
    assert db_read(client, twofactor_store.enrolled_user_ids) == set()


def dark_modules(svg: Node) -> set[tuple[int, int]]:
    """The dark squares segno's SVG path draws: ``M x y`` / ``m dx dy`` moves, ``h n`` a run of n squares."""
    d = next(p.get("d") for p in svg.find_all("path") if p.get("class") == "qrline")
    x = y = 0.0
    dark: set[tuple[int, int]] = set()
    tokens = iter(re.findall(r"[Mmh]|-?\d+(?:\.\d+)?", d))
    for token in tokens:
        if token in "Mm":
            dx, dy = float(next(tokens)), float(next(tokens))
            x, y = (dx, dy) if token == "M" else (x + dx, y + dy)
        elif token == "h":
            run = int(float(next(tokens)))
            dark |= {(int(x) + i, int(y)) for i in range(run)}
            x += run
    return dark


def test_the_qr_code_carries_exactly_the_key_shown(staff_client) -> None:
    import segno

    client = staff_client("editor", username="qr-editor")
    page = parse(client.get("/account/2fa").text)
    uri = next(a.get("href") for a in page.find_all("a") if (a.get("href") or "").startswith("otpauth:"))
    assert page.by_id("secret").text().replace(" ", "") in uri
    expected = segno.make(uri, error="m", micro=False)
    border = 4
    wanted = {(c + border, r + border) for r, row in enumerate(expected.matrix) for c, v in enumerate(row) if v & 1}
    assert dark_modules(page.find("svg", class_="qr-code")) == wanted


def test_enrolment_confirmed_with_a_code_then_ten_recovery_codes_shown_once(staff_client) -> None:
    client = staff_client("editor", username="li-editor")
    user_id = db_read(client, user_store.get_by_username, "li-editor").user.id
    secret, codes = enrol(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(CODE_FORMAT.match(c) for c in codes), codes
    stored = db_read(client, twofactor_store.get, user_id)
    assert stored is not None and stored.secret == secret and stored.recovery_codes_left == 10
    status = client.get("/account/2fa")
    assert "已开启" in status.text and "还剩 10 个恢复码" in status.text
    assert not any(c in status.text for c in codes)  # shown once: never again
    assert ("account.2fa_enable", "li-editor", "user:li-editor") in audit_actions(client)


def test_a_wrong_code_at_enrolment_keeps_the_same_key_and_says_why(staff_client) -> None:
    client = staff_client("editor", username="zhao-editor")
    page = parse(client.get("/account/2fa").text)
    secret = page.by_id("secret").text().replace(" ", "")
    pending = field_value(page, "pending")
    response = client.post("/account/2fa", data={"csrf_token": field_value(page, "csrf_token"),
                                                 "pending": pending, "totp_code": wrong_code(secret)})  # fmt: skip
    assert response.status_code == 422
    again = parse(response.text)
    assert twofactor.WRONG_CODE in again.by_id("totp-code-error").text()
    assert again.by_id("secret").text().replace(" ", "") == secret  # no need to scan a new code
    assert field_value(again, "totp_code") == wrong_code(secret)
    assert db_read(client, twofactor_store.enrolled_user_ids) == set()


def test_a_forged_or_stale_pending_key_is_refused_and_nothing_is_stored(staff_client, settings) -> None:
    client = staff_client("editor", username="qian-editor")
    user_id = db_read(client, user_store.get_by_username, "qian-editor").user.id
    token = csrf_from(client.get("/account/2fa").text)
    secret = pyotp.random_base32()
    for pending in (
        twofactor.enrol_token("an-attackers-own-key", user_id, secret),
        signed_long_ago(settings.secret_key, "two-factor-enrol", {"u": user_id, "s": secret}, 31 * 60),
        twofactor.enrol_token(settings.secret_key, user_id + 1, secret),  # another user's page
    ):
        response = client.post("/account/2fa", data={"csrf_token": token, "pending": pending, "totp_code": code(secret)})
        assert response.status_code == 400
        assert twofactor.ENROL_EXPIRED in response.text
    assert db_read(client, twofactor_store.enrolled_user_ids) == set()


def test_enrolling_ends_the_users_other_sessions(client) -> None:
    add_user(client, "sun-mod", "moderator")
    login(client, "sun-mod")
    elsewhere = dict(client.cookies)
    client.cookies.clear()
    login(client, "sun-mod")
    enrol(client)
    assert signed_in(client)
    client.cookies.clear()
    client.cookies.update(elsewhere)
    assert not signed_in(client)  # a session opened with the password alone does not outlive enrolment


# ---------------------------------------------------------------------------------------------------
# Login


def test_login_of_an_enrolled_user_asks_for_a_code_before_any_session(client) -> None:
    _, secret, _ = enrolled_user(client, "wu-mod", "moderator")
    response = password_step(client, "wu-mod", next_path="/moderate?status=published")
    assert response.status_code == 200
    assert "no-store" in response.headers["cache-control"]
    assert not signed_in(client)
    page = parse(response.text)
    assert page.find("form", action="/login/2fa") is not None
    assert page.find("input", name="totp_code") is not None and page.find("input", name="recovery_code") is not None
    done = second_step(client, response.text, totp_code=code(secret, 1))
    assert done.status_code == 303
    assert done.headers["location"] == "/moderate?status=published"  # where the login was going
    assert signed_in(client)


def test_a_wrong_code_is_refused_in_chinese_next_to_the_field_and_counted(client) -> None:
    _, secret, _ = enrolled_user(client, "zheng-ed", "editor")
    step = password_step(client, "zheng-ed")
    failures_before = count(client, "login_failures")
    typed = wrong_code(secret)
    response = second_step(client, step.text, totp_code=typed)
    assert response.status_code == 400
    page = parse(response.text)
    assert twofactor.WRONG_CODE in page.by_id("totp-code-error").text()
    assert field_value(page, "totp_code") == typed
    assert count(client, "login_failures") == failures_before + 1
    assert not signed_in(client)


def test_wrong_codes_share_the_login_throttle(client) -> None:
    _, secret, _ = enrolled_user(client, "feng-ed", "editor")
    step = password_step(client, "feng-ed")
    for _ in range(accounts.THROTTLE_LIMIT):
        second_step(client, step.text, totp_code=wrong_code(secret))
    right = second_step(client, step.text, totp_code=code(secret, 1))
    assert right.status_code == 400 and twofactor.THROTTLED in right.text
    # ... and the password step, from this address, waits too.
    again = password_step(client, "feng-ed")
    assert again.status_code == 400 and accounts.LOGIN_FAILED_MESSAGE in again.text


def test_a_code_is_accepted_once(client, clock: Clock) -> None:
    _, secret, _ = enrolled_user(client, "chen-mod", "moderator")
    # The code that confirmed enrolment is spent already.
    step = password_step(client, "chen-mod")
    replayed = second_step(client, step.text, totp_code=code(secret))
    assert replayed.status_code == 400 and twofactor.REPLAYED_CODE in replayed.text
    clock.advance(30)
    fresh = code(secret)
    assert second_step(client, step.text, totp_code=fresh).status_code == 303
    logout(client)
    step = password_step(client, "chen-mod")
    again = second_step(client, step.text, totp_code=fresh)
    assert again.status_code == 400 and twofactor.REPLAYED_CODE in again.text
    assert not signed_in(client)


def test_a_recovery_code_signs_in_once(client) -> None:
    user_id, _, codes = enrolled_user(client, "han-ed", "editor")
    step = password_step(client, "han-ed")
    typed = codes[3].lower().replace("-", " ")  # as someone copies it off paper
    response = second_step(client, step.text, recovery_code=typed)
    assert response.status_code == 303 and response.headers["location"] == "/account/2fa"
    page = client.get("/account/2fa").text
    assert "还剩 9 个" in page
    assert ("account.2fa_recovery_used", "han-ed", "user:han-ed") in audit_actions(client)
    logout(client)
    step = password_step(client, "han-ed")
    again = second_step(client, step.text, recovery_code=codes[3])
    assert again.status_code == 400
    assert twofactor.WRONG_RECOVERY in parse(again.text).by_id("recovery-code-error").text()
    assert 'open' in parse(again.text).find("details").attrs  # the recovery field stays in view
    assert db_read(client, twofactor_store.get, user_id).recovery_codes_left == 9


def test_an_expired_or_forged_step_token_goes_back_to_the_password(client, settings, clock: Clock) -> None:
    _, secret, _ = enrolled_user(client, "yang-mod", "moderator")
    step = password_step(client, "yang-mod")
    clock.advance(twofactor.STEP_TOKEN_MAX_AGE + 1)
    late = second_step(client, step.text, totp_code=code(secret))
    assert late.status_code == 400 and twofactor.STEP_EXPIRED in late.text
    assert parse(late.text).find("input", name="password") is not None
    token = csrf_from(client.get("/login").text)
    forged = [
        twofactor.step_token("an-attackers-own-key", _user(client, "yang-mod"), "/moderate"),
        "",
        "not-a-token",
    ]
    for step_token in forged:
        response = client.post("/login/2fa", data={"csrf_token": token, "step_token": step_token,
                                                   "totp_code": code(secret, 1)})  # fmt: skip
        assert response.status_code == 400 and twofactor.STEP_EXPIRED in response.text
    assert not signed_in(client)


def test_a_step_token_dies_with_a_password_change(client) -> None:
    user_id, secret, _ = enrolled_user(client, "kong-ed", "editor")
    step = password_step(client, "kong-ed")

    db_write(client, user_store.set_password, user_id, accounts.hash_password("another fine passphrase 42"))
    response = second_step(client, step.text, totp_code=code(secret, 1))
    assert response.status_code == 400 and twofactor.STEP_EXPIRED in response.text


def _user(client: TestClient, username: str):
    return db_read(client, user_store.get_by_username, username).user


# ---------------------------------------------------------------------------------------------------
# Managing one's own second factor


def test_new_recovery_codes_replace_the_old_ones(client, clock: Clock) -> None:
    _, secret, old = enrolled_user(client, "lu-ed", "editor")
    step = password_step(client, "lu-ed")
    second_step(client, step.text, totp_code=code(secret, 1))
    token = csrf_from(client.get("/account/2fa").text)
    refused = client.post("/account/2fa/recovery-codes", data={"csrf_token": token, "code": wrong_code(secret)})
    assert refused.status_code == 422 and twofactor.WRONG_CODE in refused.text
    clock.advance(60)
    response = client.post("/account/2fa/recovery-codes", data={"csrf_token": token, "code": code(secret)})
    assert response.status_code == 200
    new = [li.text().strip() for li in parse(response.text).find("ol", class_="recovery-codes").find_all("li")]
    assert len(new) == 10 and not set(new) & set(old)
    logout(client)
    step = password_step(client, "lu-ed")
    assert second_step(client, step.text, recovery_code=old[0]).status_code == 400
    assert second_step(client, step.text, recovery_code=new[0]).status_code == 303


def test_turning_it_off_needs_a_current_code(client, clock: Clock) -> None:
    user_id, secret, codes = enrolled_user(client, "ma-mod", "moderator")
    step = password_step(client, "ma-mod")
    second_step(client, step.text, totp_code=code(secret, 1))
    token = csrf_from(client.get("/account/2fa").text)
    refused = client.post("/account/2fa/disable", data={"csrf_token": token, "code": ""})
    assert refused.status_code == 422 and twofactor.NO_CODE in parse(refused.text).by_id("disable-code-error").text()
    assert client.post("/account/2fa/disable", data={"csrf_token": token, "code": codes[0]}).status_code == 303
    assert db_read(client, twofactor_store.get, user_id) is None
    logout(client)
    assert password_step(client, "ma-mod").status_code == 303  # the password alone again


def test_a_new_phone_with_a_recovery_code(client) -> None:
    user_id, old_secret, codes = enrolled_user(client, "tang-ed", "editor")
    step = password_step(client, "tang-ed")
    second_step(client, step.text, recovery_code=codes[0])  # the old phone is lost
    page = parse(client.get("/account/2fa?replace=1").text)
    new_secret = page.by_id("secret").text().replace(" ", "")
    form = {"csrf_token": field_value(page, "csrf_token"), "pending": field_value(page, "pending"),
            "totp_code": code(new_secret)}  # fmt: skip
    missing = client.post("/account/2fa", data=form)
    assert missing.status_code == 422 and twofactor.NEED_CURRENT in parse(missing.text).by_id("current-code-error").text()
    done = client.post("/account/2fa", data={**form, "current_code": codes[1]})
    assert done.status_code == 200 and "请保存恢复码" in done.text
    assert db_read(client, twofactor_store.get, user_id).secret == new_secret
    logout(client)
    step = password_step(client, "tang-ed")
    assert second_step(client, step.text, totp_code=code(old_secret, 1)).status_code == 400
    assert second_step(client, step.text, totp_code=code(new_secret, 1)).status_code == 303


# ---------------------------------------------------------------------------------------------------
# The setting


def test_the_setting_must_be_one_of_its_values() -> None:
    assert Settings.from_env({"CITIZENVOICE_TWO_FACTOR": "Admins"}).two_factor == "admins"
    with pytest.raises(SettingsError, match="CITIZENVOICE_TWO_FACTOR"):
        Settings.from_env({"CITIZENVOICE_TWO_FACTOR": "sometimes"})
    assert Settings.from_env({}).two_factor == "off"


def test_admins_setting_sends_an_admin_to_enrol_before_anything_else(app_with) -> None:
    client = app_with("admins")
    add_user(client, "chief", "admin")
    login(client, "chief")
    response = client.get("/admin/users")
    assert response.status_code == 303 and response.headers["location"] == "/account/2fa"
    assert client.get("/moderate").headers["location"] == "/account/2fa"
    token = csrf_from(client.get("/account/2fa").text)
    refused = client.post("/admin/users", data={"csrf_token": token, "username": "sneak", "password": PASSWORD,
                                                "roles": "editor"})  # fmt: skip
    assert refused.status_code == 403 and "请先开启两步验证" in refused.text
    assert db_read(client, user_store.get_by_username, "sneak") is None
    page = client.get("/account/2fa")
    assert page.status_code == 200 and "本站要求您的账号开启两步验证" in page.text
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303  # signing out still works
    login(client, "chief")
    secret, _ = enrol(client)
    assert client.get("/admin/users").status_code == 200
    # Required: it cannot be turned off, only moved to another phone.
    status = client.get("/account/2fa").text
    assert "不能关闭" in status and 'action="/account/2fa/disable"' not in status
    token = csrf_from(status)
    refused = client.post("/account/2fa/disable", data={"csrf_token": token, "code": code(secret, 1)})
    assert refused.status_code == 422 and twofactor.REQUIRED_CANNOT_DISABLE in refused.text


def test_admins_setting_leaves_other_staff_free_and_all_requires_everyone(app_with) -> None:
    admins_only = app_with("admins")
    add_user(admins_only, "mod-a", "moderator")
    login(admins_only, "mod-a")
    assert admins_only.get("/moderate").status_code == 200
    everyone = app_with("all")
    add_user(everyone, "mod-b", "moderator")
    login(everyone, "mod-b")
    assert everyone.get("/moderate").headers["location"] == "/account/2fa"
    enrol(everyone)
    assert everyone.get("/moderate").status_code == 200


# ---------------------------------------------------------------------------------------------------
# Lost phone: another admin resets it; the command line when no other admin can


def test_another_admin_resets_a_lost_second_factor_and_it_is_audited(client) -> None:
    target_id, secret, _ = enrolled_user(client, "lost-phone", "moderator")
    step = password_step(client, "lost-phone")
    second_step(client, step.text, totp_code=code(secret, 1))
    targets_browser = dict(client.cookies)
    client.cookies.clear()
    add_user(client, "boss", "admin")
    login(client, "boss")
    rows = {tr.find("a").text(): tr.text() for tr in parse(client.get("/admin/users").text).find_all("tr") if tr.find("a")}
    assert "已开启" in rows["lost-phone"] and "未开启" in rows["boss"]  # who still has to enrol, at a glance
    page = client.get(f"/admin/users/{target_id}")
    assert "已开启" in page.text
    token = csrf_from(page.text)
    response = client.post(f"/admin/users/{target_id}/two-factor/reset", data={"csrf_token": token})
    assert response.status_code == 303
    assert "未开启" in client.get(f"/admin/users/{target_id}").text
    assert db_read(client, twofactor_store.get, target_id) is None
    assert ("user.2fa_reset", "boss", "user:lost-phone") in audit_actions(client)
    assert "重置两步验证" in client.get("/admin/audit").text
    logout(client)
    client.cookies.clear()
    client.cookies.update(targets_browser)
    assert not signed_in(client)  # every session of theirs ended
    client.cookies.clear()
    assert password_step(client, "lost-phone").status_code == 303  # the password alone, then enrol again


def test_an_admin_cannot_reset_their_own_second_factor(client) -> None:
    add_user(client, "self-boss", "admin")
    login(client, "self-boss")
    enrol(client)
    user_id = _user(client, "self-boss").id
    page = client.get(f"/admin/users/{user_id}")
    assert "two-factor/reset" not in page.text
    response = client.post(f"/admin/users/{user_id}/two-factor/reset", data={"csrf_token": csrf_from(page.text)})
    assert response.status_code == 422 and "不能在这里重置自己的两步验证" in response.text
    assert db_read(client, twofactor_store.get, user_id) is not None
    assert "user.2fa_reset" not in [a for a, _, _ in audit_actions(client)]


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("CITIZENVOICE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("CITIZENVOICE_SECRET_KEY", settings.secret_key)
    yield settings


def test_the_command_line_resets_it_when_no_other_admin_can(app, cli_env, capsys) -> None:
    from citizenvoice import cli

    with TestClient(app, follow_redirects=False) as client:
        user_id, _, _ = enrolled_user(client, "only-admin", "admin")
    assert cli.main(["user", "reset-2fa", "only-admin"]) == 0
    assert "reset the second factor of only-admin" in capsys.readouterr().out
    assert cli.main(["user", "reset-2fa", "nobody-here"]) == 1
    with TestClient(create_app(cli_env), follow_redirects=False) as client:
        assert db_read(client, twofactor_store.get, user_id) is None
        assert ("user.2fa_reset", "command line", "user:only-admin") in audit_actions(client)
        assert password_step(client, "only-admin").status_code == 303
