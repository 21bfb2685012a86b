"""A resident on a phone (375×812): writes an essay, submits it and reaches the receipt; sees errors
next to the fields; gets a draft back after a reload; and can do all of it with JavaScript off."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser import resident
from tests.browser.conftest import PHONE

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp")
BODY = (
    "我家楼下的早市开了二十多年，天不亮就有卖豆浆油条的、卖自家种的青菜的。"
    "这几年早市搬进了新建的便民市场，地面干净了，摊位整齐了，还装上了遮雨棚。\n\n"
    "我希望下一个五年，这样的便民市场能开到每个街道，让老人走几步就能买到新鲜菜；"
    "也希望市场里多几个修鞋、配钥匙、缝补衣服的小摊，这些手艺人是一个社区的烟火气。\n\n"
    "我愿意做市场的志愿者，帮老人扫码付款，教他们用手机查菜价。城市的温度，就藏在这些清早的吆喝声里。"
    "等到新市场开到我们街道那天，我想请邻居们一起去逛一逛。"
)


def fill_essay(page: Any, *, headline: str = "清早的吆喝声", phone: str = "13912345678") -> None:
    resident.fill_essay(page, headline=headline, phone=phone, body=BODY, direction="wellbeing", name="赵桂兰")


def no_sideways_scroll(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_phone_submission_reaches_the_receipt(page_factory: Any) -> None:
    page = page_factory(PHONE, javascript_enabled=True)
    page.goto("/submit")
    assert no_sideways_scroll(page)
    fill_essay(page)
    counter = page.locator("#body-counter")
    assert re.search(r"已写 \d+ 字", counter.inner_text())
    page.wait_for_selector("#draft-status:not([hidden])")  # autosaved to localStorage
    assert page.evaluate("localStorage.getItem('cv-submit-draft-v1')") is not None

    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/track/[A-Za-z0-9_-]{43}$"))
    code = page.locator("h1.tracking-code").inner_text()
    assert re.search(r"CV-[2-9A-Z]{4}-[2-9A-Z]{4}", code)
    assert page.get_by_role("heading", name="请保存此链接").is_visible()
    assert "待审核" in page.locator("#status-title").inner_text()
    assert page.locator("#page-url").input_value() == page.url
    assert "清早的吆喝声" in page.locator(".my-essay").inner_text()
    assert page.evaluate("localStorage.getItem('cv-submit-draft-v1')") is None  # cleared after success
    assert no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "cv-receipt-phone.png"), full_page=True)
    assert page_factory.errors == []


def test_phone_errors_are_shown_next_to_fields(page_factory: Any) -> None:
    page = page_factory(PHONE, javascript_enabled=True)
    page.goto("/submit")
    fill_essay(page, headline="短", phone="12345")
    page.uncheck("#consent_privacy")
    page.click("button[type=submit]")
    page.wait_for_selector("#error-summary")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    summary = page.locator("#error-summary").inner_text()
    assert "3 处" in summary
    assert page.locator("#headline-error").is_visible()
    assert page.locator("#phone-error").is_visible()
    assert page.locator("#consent_privacy-error").is_visible()
    assert page.input_value("#body") == BODY.replace("\r\n", "\n")
    assert no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "cv-submit-errors-phone.png"), full_page=True)
    page.click("#error-summary a[href='#phone']")
    assert page.evaluate("document.activeElement.id") == "phone"
    assert page_factory.errors == []


def test_draft_comes_back_after_a_reload(page_factory: Any) -> None:
    page = page_factory(PHONE, javascript_enabled=True)
    page.goto("/submit")
    page.fill("#headline", "写了一半的文章")
    page.fill("#body", "今天先写到这里，明天接着写。")
    page.wait_for_selector("#draft-status:not([hidden])")
    page.goto("/submit")
    banner = page.locator("#draft-banner")
    banner.wait_for(state="visible")
    assert "写了一半的文章" in banner.inner_text()
    assert page.input_value("#headline") == ""
    page.click("[data-draft-restore]")
    assert page.input_value("#headline") == "写了一半的文章"
    assert page.input_value("#body") == "今天先写到这里，明天接着写。"
    assert banner.is_hidden()
    assert page_factory.errors == []


def test_submission_works_with_javascript_off(page_factory: Any) -> None:
    page = page_factory(PHONE, javascript_enabled=False)
    page.goto("/submit")
    assert page.locator(".counter").count() == 0  # no enhancement, nothing missing
    fill_essay(page, headline="不开脚本也能投稿", phone="13712345678")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/track/[A-Za-z0-9_-]{43}$"))
    assert "待审核" in page.locator("#status-title").inner_text()
    # withdraw, with its confirmation step, needs no script either
    page.click("text=撤回投稿…")
    page.wait_for_url(re.compile(r"/withdraw$"))
    page.click("button:has-text('确认撤回')")
    page.wait_for_url(re.compile(r"/track/[A-Za-z0-9_-]{43}$"))
    assert "已撤回" in page.locator("#status-title").inner_text()
