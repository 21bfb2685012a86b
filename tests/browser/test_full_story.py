"""The whole story in one run, in Debian's Chromium against the real server:

a resident submits on a 375×812 phone with JavaScript on, another with JavaScript off; a moderator (desktop)
approves both; the essay appears on its board and in search; an editor creates a print page, places the
essay, records the author's verification, locks the page, downloads the PDF proof and marks the page
printed; and the author's tracking page shows 已见报.

Every step leaves a numbered screenshot in ``$CITIZENVOICE_SHOTS_DIR`` (default ``cv-full-story`` in the
system's temporary folder), with the PDF proof beside them, to be looked at after a run. A step whose
page does not exist yet fails with the step's name instead of passing silently.
"""

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
from tests.browser.resident import fill_essay

pytestmark = pytest.mark.browser

SHOTS = Path(os.environ.get("CITIZENVOICE_SHOTS_DIR") or Path(tempfile.gettempdir()) / "cv-full-story")
PASSWORD = "full-story-password-2026"
TOKEN_URL = re.compile(r"/track/[A-Za-z0-9_-]{43}$")
BODY = (
    "我家住在渤海边的老城区，每天清晨都能听见港口的汽笛。这些年，海边修起了木栈道，老码头改成了市民公园，"
    "傍晚散步的人越来越多。\n\n"
    "我希望下一个五年，栈道能一直连到新港区，沿途多一些树荫和长椅，让推着婴儿车的年轻父母和拄着拐杖的老人"
    "都能走得舒服。也希望公交站台装上遮雨棚，冬天的海风实在太冷。\n\n"
    "我愿意做一名海岸志愿者，每个周末去捡拾垃圾，给外地游客指路，讲讲这座城市和大海的故事。"
    "城市是大家的，美好的海岸线也要大家一起守护。"
)


class Story:
    """Screenshots numbered in the order the story happens, and a clear failure when a page is missing."""

    def __init__(self, page_factory: Any) -> None:
        self.page_factory = page_factory
        self.count = 0
        self.essay_url = ""
        SHOTS.mkdir(parents=True, exist_ok=True)
        for old in SHOTS.glob("*.png"):
            old.unlink()

    def shot(self, page: Any, name: str) -> None:
        self.count += 1
        page.screenshot(path=str(SHOTS / f"{self.count:02d}-{name}.png"), full_page=True)

    def goto(self, page: Any, url: str, step: str) -> None:
        response = page.goto(url)
        if response is None or response.status >= 400:
            status = response.status if response else "no response"
            pytest.fail(f"step «{step}»: GET {url} answered {status}; this part of the story is not built yet")


def resident_submits(story: Story, *, javascript: bool, headline: str, phone: str) -> Any:
    page = story.page_factory(PHONE, javascript_enabled=javascript)
    story.goto(page, "/submit", "resident opens the form")
    fill_essay(page, headline=headline, phone=phone, body=BODY, direction="ecology", name="孙海燕",
               consent_print=True)  # fmt: skip
    label = "js-on" if javascript else "js-off"
    story.shot(page, f"submit-form-phone-{label}")
    page.click("button[type=submit]")
    page.wait_for_url(TOKEN_URL)
    assert "待审核" in page.locator("#status-title").inner_text()
    assert headline in page.content()
    story.shot(page, f"receipt-phone-{label}")
    return page


def staff_signs_in(story: Story, cli: Callable[..., Any], role: str) -> Any:
    username = f"story-{role}-{secrets.token_hex(3)}"
    cli("user", "add", username, "--role", role, "--password-stdin", input=PASSWORD + "\n")
    page = story.page_factory(DESKTOP)
    story.goto(page, "/login", f"{role} signs in")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, f"{role} could not sign in"
    story.shot(page, f"{role}-home-desktop")
    return page


def moderator_approves(story: Story, page: Any, headline: str, label: str) -> None:
    story.goto(page, f"/moderate?q={headline}", "moderator finds the essay in the queue")
    page.get_by_role("link", name=re.compile(re.escape(headline))).first.click()
    page.wait_for_url(re.compile(r"/moderate/\d+$"))
    story.shot(page, f"moderation-item-{label}-desktop")
    page.locator("#form-approve button[type=submit]").click()
    page.wait_for_load_state()
    assert f"已通过并发表：《{headline}》" in page.content(), "the approval was not confirmed"
    story.shot(page, f"moderation-approved-{label}-desktop")


def public_sees_it(story: Story, headline: str, word: str) -> None:
    page = story.page_factory(PHONE)
    story.goto(page, "/boards/ecology", "the essay on its board")
    assert page.get_by_text(headline).first.is_visible()
    story.shot(page, "board-phone")
    page.get_by_role("link", name=re.compile(re.escape(headline))).first.click()
    page.wait_for_url(re.compile(r"/essays/\d+$"))
    story.essay_url = page.url
    assert headline in page.locator("h1").first.inner_text()
    story.shot(page, "essay-phone")
    story.goto(page, f"/search?q={word}", "the essay in search")
    assert page.get_by_text(headline).first.is_visible()
    story.shot(page, "search-phone")


def editor_prints_it(story: Story, page: Any, headline: str) -> None:
    story.goto(page, "/editor", "editor opens the print desk")
    page.fill("#f-date", "2026-12-01")
    page.fill("#f-page_label", "T08")
    page.fill("#f-slots", "4")
    page.fill("#f-lead", "市民写给下一个五年的期待。")
    page.get_by_role("button", name="新建版面").click()
    page.wait_for_url(re.compile(r"/editor/pages/\d+$"))
    page_url = page.url
    story.shot(page, "print-page-new-desktop")
    page.get_by_role("link", name="从已发布文章中挑选").click()
    row = page.locator("li, tr, article").filter(has_text=headline).last
    story.shot(page, "print-candidates-desktop")
    row.get_by_role("button", name="放入本版").click()
    page.wait_for_load_state()
    page.goto(page_url)
    assert headline in page.locator("#slots").inner_text()
    story.shot(page, "print-page-placed-desktop")
    page.locator("#slots").get_by_role("link", name="编辑见报稿 / 核实").first.click()
    page.fill("#verify-note", "已电话联系作者，确认本人投稿及署名")
    page.get_by_role("button", name="记录「已核实」").click()
    page.wait_for_load_state()
    story.shot(page, "print-slot-verified-desktop")
    page.goto(page_url)
    page.get_by_role("button", name="锁定版面").click()
    page.wait_for_load_state()
    page.goto(page_url)
    assert page.get_by_role("link", name="下载清样 PDF").is_visible(), "the page did not lock"
    proof = page.request.get(page_url + "/proof.pdf")
    assert proof.status == 200 and proof.headers["content-type"].startswith("application/pdf")
    assert proof.body()[:5] == b"%PDF-"
    (SHOTS / "proof.pdf").write_bytes(proof.body())
    story.shot(page, "print-page-locked-desktop")
    page.get_by_role("button", name="标记为已见报").click()
    page.wait_for_load_state()
    assert "确认见报" in page.content(), "marking printed did not ask for confirmation"
    story.shot(page, "print-page-confirm-printed-desktop")
    page.get_by_role("button", name=re.compile("^确认")).click()
    page.wait_for_load_state()
    story.shot(page, "print-page-printed-desktop")


def test_the_full_story(page_factory: Any, citizenvoice_cli: Callable[..., Any]) -> None:
    story = Story(page_factory)
    tag = secrets.token_hex(2).upper()
    headline = f"海岸线上的木栈道{tag}"
    author = resident_submits(story, javascript=True, headline=headline, phone="13645678901")
    resident_submits(story, javascript=False, headline=f"不开脚本的投稿{tag}", phone="13745678901")

    moderator = staff_signs_in(story, citizenvoice_cli, "moderator")
    moderator_approves(story, moderator, headline, "js-on-essay")
    moderator_approves(story, moderator, f"不开脚本的投稿{tag}", "js-off-essay")

    public_sees_it(story, headline, "木栈道")

    editor = staff_signs_in(story, citizenvoice_cli, "editor")
    editor_prints_it(story, editor, headline)

    author.reload()
    assert "已见报" in author.locator("#status-title").inner_text()
    assert "2026年12月1日 T08版" in author.locator("#status-title").locator("xpath=..").inner_text()
    story.shot(author, "tracking-printed-phone")
    story.goto(author, story.essay_url, "the public essay page after printing")
    assert "刊于" in author.content() and "T08" in author.content(), "no 刊于《…》badge on the essay page"
    story.shot(author, "essay-printed-phone")
    assert page_factory.errors == []
    shots = sorted(SHOTS.glob("*.png"))
    assert len(shots) == story.count and all(shot.stat().st_size > 0 for shot in shots), "a step left no screenshot"
