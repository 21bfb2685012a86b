"""A moderator on a phone (375×812) with JavaScript off turns on two-factor sign-in: reads the key off
/account/2fa (as an authenticator app would from the QR code), types a wrong code first (the message
sits with its field), then the right one, is shown ten recovery codes, signs out, and signs in again
with the password and then a code from the app."""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import time
from typing import Any

import pyotp
import pytest

from tests.browser.conftest import PHONE

pytestmark = pytest.mark.browser

PASSWORD = "two-factor-moderator-2026"
SCREENSHOTS = "/tmp/cv-two-factor-{}.png"


def fits_the_screen(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def code(secret: str, steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps)


def test_a_moderator_enrols_on_a_phone_and_signs_in_with_a_code(page_factory: Any, citizenvoice_cli: Any) -> None:
    name = f"tf-{secrets.token_hex(3)}"
    citizenvoice_cli("user", "add", name, "--role", "moderator", "--password-stdin", input=PASSWORD + "\n")
    page = page_factory(PHONE, javascript_enabled=False)

    page.goto("/login")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/moderate$"))

    page.goto("/account/2fa")
    assert page.locator("h1").inner_text() == "开启两步验证"
    qr = page.locator("svg.qr-code")
    box = qr.bounding_box()
    assert box is not None and 150 <= box["width"] <= 375 - 32  # big enough to scan, inside the screen
    assert fits_the_screen(page)
    page.screenshot(path=SCREENSHOTS.format("enrol"), full_page=True)
    secret = page.locator("#secret").inner_text().replace(" ", "")
    uri = page.locator("a[href^='otpauth:']").get_attribute("href")
    assert f"secret={secret}" in uri
    if shutil.which("zbarimg"):  # Debian's zbar-tools, where installed: read the code off the phone's screen
        decoded = subprocess.run(["zbarimg", "--quiet", "--raw", SCREENSHOTS.format("enrol")], capture_output=True,
                                 text=True, timeout=60).stdout.strip()  # fmt: skip
        assert decoded == uri

    accepted = {code(secret, k) for k in (-1, 0, 1)}
    page.fill("#totp_code", next(c for c in ("000000", "111111", "222222") if c not in accepted))
    page.click("main button[type=submit]")
    assert "验证码不正确" in page.locator(".field.has-error #totp-code-error").inner_text()
    assert page.locator("#secret").inner_text().replace(" ", "") == secret  # the same key: no new scan
    assert fits_the_screen(page)

    page.fill("#totp_code", code(secret))
    page.click("main button[type=submit]")
    assert page.locator("h1").inner_text() == "请保存恢复码"
    codes = page.locator("ol.recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    assert fits_the_screen(page)
    page.screenshot(path=SCREENSHOTS.format("codes"), full_page=True)
    page.click("text=我已保存好，继续")
    page.wait_for_url(re.compile(r"/moderate$"))

    page.click("button:has-text('退出')")
    page.goto("/login")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    assert page.locator("h1").inner_text() == "两步验证"
    assert fits_the_screen(page)
    page.screenshot(path=SCREENSHOTS.format("login"), full_page=True)
    page.fill("#totp_code", code(secret, 1))  # the enrolment spent the current step's code
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/moderate$"))
    assert "退出" in page.locator(".site-nav").inner_text()
    assert page_factory.errors == []
