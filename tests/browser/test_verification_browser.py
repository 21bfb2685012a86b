"""Phone verification in the browser at 375 px: without JavaScript, 「获取验证码」 brings the same form
back with everything kept and a code field, a wrong code is an error at the field, the right one
reaches the receipt; with JavaScript the button asks for the code in place and counts down."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import resident
from tests.browser.conftest import PHONE, RUN_AXE, PageFactory, served

pytestmark = pytest.mark.browser

BODY = (
    "我们小区门口的公交站以前只有一块牌子，下雨天老人只能站在雨里等车。去年站台加了顶棚和座椅，"
    "还装上了电子站牌，能看到下一班车还有几分钟到。\n\n"
    "我希望下一个五年，每个公交站都能有顶棚和座椅，线路能通到新建的医院和学校，"
    "早晚高峰多发几班车。也希望站台旁边能有一块小小的社区公告栏。\n\n"
    "我愿意做文明乘车的志愿者，在站台帮老人看站牌、扶他们上车。一座城市的便利，就从家门口的一站开始。"
    "等到新线路通车的那一天，我想带着孙子从家门口坐车去看看新建的图书馆。"
)


@pytest.fixture(scope="module")
def verifying_server(live_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    data_dir = tmp_path_factory.mktemp("verifying")
    env = {**live_env, "CITIZENVOICE_DATA_DIR": str(data_dir), "CITIZENVOICE_PHONE_VERIFICATION": "required"}
    with served(env, data_dir / "server.log") as url:
        yield url, data_dir


@pytest.fixture
def pages(browser: Any, verifying_server: tuple[str, Path]) -> Iterator[PageFactory]:
    factory = PageFactory(browser, verifying_server[0])
    try:
        yield factory
    finally:
        factory.close()


def code_sent_to(data_dir: Path, phone: str, seconds: float = 15) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        path = data_dir / "outbox.jsonl"
        lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
        codes = [line["params"]["code"] for line in lines if line["template"] == "verification_code" and line["to"] == phone]
        if codes:
            return codes[-1]
        time.sleep(0.2)  # the server's sender delivers within a second or two
    raise AssertionError(f"no code reached {phone}")


def no_sideways_scroll(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_without_javascript_the_code_flow_keeps_every_field(pages: PageFactory, verifying_server) -> None:
    _, data_dir = verifying_server
    page = pages(PHONE, javascript_enabled=False)
    page.goto("/submit")
    resident.fill_essay(page, headline="家门口的公交站", phone="13612345678", body=BODY, direction="wellbeing",
                        name="孙秀英")
    page.click("button:has-text('获取验证码')")
    page.wait_for_selector("#code-notice:not([hidden])")
    assert "验证码已发送到 136****5678" in page.inner_text("#code-notice")
    assert page.input_value("#headline") == "家门口的公交站"
    assert page.input_value("#body") == BODY
    assert page.input_value("#author_name") == "孙秀英"
    assert page.is_checked("#consent_publish") and page.is_checked("#consent_privacy")
    assert no_sideways_scroll(page)
    code = code_sent_to(data_dir, "13612345678")

    page.fill("#phone_code", "000000" if code != "000000" else "111111")
    page.click("button[data-final-submit]")
    page.wait_for_selector("#phone_code-error")
    assert "验证码不对" in page.inner_text("#phone_code-error")
    assert page.input_value("#body") == BODY
    assert no_sideways_scroll(page)

    page.fill("#phone_code", code)
    page.click("button[data-final-submit]")
    page.wait_for_url(re.compile(r"/track/[A-Za-z0-9_-]{43}$"))
    assert "待审核" in page.locator("#status-title").inner_text()
    assert not pages.errors, pages.errors


def test_the_form_with_the_code_field_has_no_axe_violations(pages: PageFactory, axe_source: str) -> None:
    page = pages(PHONE)
    page.goto("/submit")
    resident.fill_essay(page, headline="站台上的长椅", phone="13612341111", body=BODY, direction="wellbeing",
                        name="孙秀英")
    page.click("button[data-final-submit]")  # no code yet: the error at the code field
    page.wait_for_selector("#phone_code-error")
    page.evaluate(axe_source)
    assert page.evaluate(RUN_AXE) == []


def test_with_javascript_the_button_counts_down_in_place(pages: PageFactory, verifying_server) -> None:
    _, data_dir = verifying_server
    page = pages(PHONE)
    page.goto("/submit")
    resident.fill_essay(page, headline="站台上的顶棚", phone="13612340000", body=BODY, direction="wellbeing",
                        name="孙秀英")
    url = page.url
    page.click("button:has-text('获取验证码')")
    # The button is disabled at the click and counts down once the answer is in: wait for the answer.
    page.wait_for_selector("[data-code-button]:disabled:has-text('秒后可重新获取')")
    assert re.search(r"\d+ 秒后可重新获取", page.inner_text("[data-code-button]"))
    assert "验证码已发送到 136****0000" in page.inner_text("#code-notice")
    assert page.url == url and page.input_value("#headline") == "站台上的顶棚"
    page.fill("#phone_code", code_sent_to(data_dir, "13612340000"))
    page.click("button[data-final-submit]")
    page.wait_for_url(re.compile(r"/track/[A-Za-z0-9_-]{43}$"))
    assert not pages.errors, pages.errors
