"""A fresh install on a phone (375×812) with JavaScript off: the operator copies the link ``citizenvoice
serve`` printed, creates the first admin (a too-short password first: the error shows next to the field
and the username stays), signs in on the page that follows, and lands in the admin area.

The shared live server is not fresh (other tests add staff to it), so this module starts its own.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import PHONE, PageFactory, served

pytestmark = pytest.mark.browser

LINK = re.compile(r"http://127\.0\.0\.1:\d+/setup/[A-Za-z0-9_-]+")
PASSWORD = "first-admin-password-2026"


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("fresh-install")
    env = {key: value for key, value in os.environ.items() if not key.startswith("CITIZENVOICE_")}
    env["CITIZENVOICE_DATA_DIR"] = str(data_dir)
    log_path = data_dir / "server.log"
    with served(env, log_path) as url:
        yield url, log_path


@pytest.fixture
def pages(browser: Any, fresh_server: tuple[str, Path]) -> Iterator[PageFactory]:
    factory = PageFactory(browser, fresh_server[0])
    try:
        yield factory
    finally:
        factory.close()


def fits_the_screen(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_operator_opens_the_printed_link_creates_the_admin_and_signs_in(
    pages: PageFactory, fresh_server: tuple[str, Path]
) -> None:
    [link] = LINK.findall(fresh_server[1].read_text(errors="replace"))
    page = pages(PHONE, javascript_enabled=False)

    page.goto(link)
    assert page.locator("h1").inner_text() == "创建第一位管理员"
    assert fits_the_screen(page)
    page.fill("#username", "chief")
    page.fill("#display_name", "张主任")
    page.fill("#password", "short")
    page.fill("#password_again", "short")
    page.click("button[type=submit]")
    assert page.locator(".field.has-error .error").inner_text().startswith("密码至少需要 12 个字符")
    assert page.locator(".field.has-error #password").count() == 1  # the message sits with its field
    assert page.input_value("#username") == "chief" and page.input_value("#display_name") == "张主任"
    assert fits_the_screen(page)

    page.fill("#password", PASSWORD)
    page.fill("#password_again", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/setup/done$"))
    assert "管理员账号「chief」已创建" in page.locator("[role=status]").inner_text()
    assert page.input_value("#username") == "chief"
    assert fits_the_screen(page)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/admin$"))
    assert "退出（张主任）" in page.locator(".site-nav").inner_text()

    # The link is spent: opened again, it is the ordinary 404 page.
    assert page.goto(link).status == 404
    assert pages.errors == []
