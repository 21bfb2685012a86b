"""A reporter enters an interview essay for its author at 375 px with JavaScript off: a first try with
mistakes comes back with the errors in Chinese and the typing kept; the second stores it and shows the
tracking code and link to pass on."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import PHONE

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("CITIZENVOICE_SHOTS_DIR") or Path(tempfile.gettempdir()) / "cv-compiled")
PASSWORD = "compiled-walk-password-2026"
BODY = ("去年冬天，社区里的老人们最怕的是下雪天出门。楼道没有扶手，小区门口的坡又陡，好几位老人摔过跤。"
        "我们几个志愿者商量着，把最陡的那段坡铺上了防滑垫，又在每个单元门口装了扶手。\n\n"
        "下一个五年，我希望社区里能有一个像样的老年食堂，中午能吃上一口热饭；"
        "也希望楼里加装电梯的事能早点落地，让住在六楼的老人也能下楼晒晒太阳。\n\n"
        "我今年六十八岁，还能再干几年志愿者。我愿意每周去食堂帮厨，去楼道里看看独居的老人，"
        "把大家的难处记下来，转给社区。城市越变越好，我们这些老人也想跟上，也想出一份力。")


def _fits(page: Any, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    width = page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE[0], f"{name} is {width}px wide on a 375px phone"


def test_a_reporter_enters_an_essay_on_a_phone_without_javascript(
    page_factory: Any, citizenvoice_cli: Callable[..., Any]
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    username = f"reporter-{secrets.token_hex(3)}"
    citizenvoice_cli("user", "add", username, "--role", "editor", "--password-stdin", input=PASSWORD + "\n")
    page = page_factory(PHONE, javascript_enabled=False)
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto("/editor")
    page.get_by_role("link", name="代作者录入稿件（记者整理）").click()
    page.wait_for_load_state()
    _fits(page, "compiled-form")
    page.fill("#headline", "楼道里的扶手")
    page.fill("#body", "太短")
    page.select_option("#direction", index=1)
    page.select_option("#author_role", "resident")
    page.fill("#author_name", "周玉兰")
    page.fill("#phone", "13912345678")
    page.check("#consent_publish")
    page.check("#consent_privacy")
    page.get_by_role("button", name="录入稿件").click()
    page.wait_for_load_state()
    assert "正文至少需要 200 个字" in page.locator("#body-error").inner_text()
    assert "请写明作者是怎样同意发表的" in page.locator("#consent_note-error").inner_text()
    assert page.input_value("#headline") == "楼道里的扶手"
    assert page.input_value("#author_name") == "周玉兰"
    _fits(page, "compiled-errors")
    page.fill("#body", BODY)
    page.get_by_label("来信").check()
    page.fill("#consent_note", "作者来信附言同意网站发表，12月1日电话再次确认")
    page.check("#consent_privacy")
    page.check("#consent_publish")
    page.get_by_role("button", name="录入稿件").click()
    page.wait_for_load_state()
    assert "稿件已录入" in page.locator("h1").inner_text()
    code = page.locator("#tracking-code").inner_text()
    link = page.locator("#tracking-link").get_attribute("href")
    assert code.startswith("CV-") and "/track/" in link
    _fits(page, "compiled-receipt")
    assert page_factory.errors == []
