"""Issue 16's walk: an editor takes four essays from the approved pool to 「已见报」 with JavaScript off
on a desktop, counting every action (a click, a form submit, a field typed into, a box ticked). The
newsroom's goal is at most 20; the count is printed and written to ``$CITIZENVOICE_SHOTS_DIR``
(default ``cv-print-walk`` in the temporary folder) with a screenshot of each screen."""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, PHONE

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("CITIZENVOICE_SHOTS_DIR") or Path(tempfile.gettempdir()) / "cv-print-walk")
PASSWORD = "print-walk-password-2026"
GOAL = 20


class Walk:
    """The page, with each user action counted and named."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.actions: list[str] = []

    def click(self, locator: Any, what: str) -> None:
        self.actions.append(f"click {what}")
        locator.click()
        self.page.wait_for_load_state()

    def fill(self, selector: str, value: str, what: str) -> None:
        self.actions.append(f"type {what}")
        self.page.fill(selector, value)

    def check(self, locator: Any, what: str) -> None:
        self.actions.append(f"tick {what}")
        locator.check()

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(SHOTS / f"{len(self.actions):02d}-{name}.png"), full_page=True)


def fits_a_phone(page: Any, name: str) -> None:
    """The same screen at 375 px: nothing wider than the phone (not counted as an action)."""
    page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
    width = page.evaluate("document.scrollingElement.scrollWidth")
    page.screenshot(path=str(SHOTS / f"phone-{name}.png"), full_page=True)
    page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
    assert width <= PHONE[0], f"{name} is {width}px wide on a 375px phone"


def test_four_essays_from_the_approved_pool_to_printed(page_factory: Any, citizenvoice_cli: Callable[..., Any]) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    citizenvoice_cli("demo")
    username = f"walk-editor-{secrets.token_hex(3)}"
    citizenvoice_cli("user", "add", username, "--role", "editor", "--password-stdin", input=PASSWORD + "\n")
    page = page_factory(DESKTOP, javascript_enabled=False)
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto("/editor")  # signed in at the print desk: the walk starts here
    walk = Walk(page)
    label = f"W{secrets.randbelow(90) + 10}"

    walk.fill("#f-page_label", label, "the page label (the date is tomorrow's by default)")
    walk.click(page.get_by_role("button", name="新建版面"), "新建版面")
    assert re.search(r"/editor/pages/\d+$", page.url), page.url
    page_url = page.url
    walk.click(page.get_by_role("link", name="从已发布文章中挑选"), "从已发布文章中挑选")
    boxes = page.locator("#place-form input[type=checkbox][name=essay_id]:not([disabled])")
    assert boxes.count() >= 4, "the approved pool has fewer than four candidates"
    for index in range(4):
        walk.check(boxes.nth(index), f"candidate {index + 1}")
    walk.shot("candidates-ticked")
    walk.click(page.get_by_role("button", name="放入选中的文章"), "放入选中的文章")
    assert page.locator("#slots li").count() == 4
    walk.click(page.get_by_role("button", name=re.compile("显示本版未核实作者的电话")), "显示电话")
    walk.shot("phones-shown")
    fits_a_phone(page, "page-screen")
    for _ in range(4):
        form = page.locator("form.verify-form").first
        note = form.locator("input[name=note]")
        walk.fill(f"#{note.get_attribute('id')}", "已电话联系作者，确认本人投稿及署名", "the verification note")
        walk.click(form.get_by_role("button"), "记录「已核实」")
    assert page.locator("form.verify-form").count() == 0
    walk.shot("verified")
    walk.click(page.get_by_role("button", name="锁定版面"), "锁定版面")
    walk.click(page.get_by_role("button", name="标记为已见报"), "标记为已见报")
    walk.shot("confirm")
    fits_a_phone(page, "confirm")
    walk.click(page.get_by_role("button", name=re.compile("^确认")), "确认见报")
    assert page.url.startswith(page_url)
    assert "已标记见报" in page.content()
    walk.shot("printed")

    report = f"{len(walk.actions)} actions from the approved pool to printed (goal ≤ {GOAL}):\n" + "\n".join(
        f"{n:2d}. {a}" for n, a in enumerate(walk.actions, start=1))
    (SHOTS / "actions.txt").write_text(report + "\n", encoding="utf-8")
    print(report)
    assert page_factory.errors == []
    assert len(walk.actions) <= GOAL, report
