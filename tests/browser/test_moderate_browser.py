"""A moderator at a desktop (1280×900): signs in, opens the oldest item in the queue, approves it and
finds it public; then a keyboard-only run over 20 items (a = approve), timed for the closing note."""

from __future__ import annotations

import re
import secrets
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from submit_helpers import field_value, parse, valid_form

from tests.browser.conftest import DESKTOP, PHONE

pytestmark = pytest.mark.browser

PASSWORD = "moderator-password-2026"
TRIAL_LOG = Path("/tmp/cv-moderate-keyboard-trial.txt")


@pytest.fixture(scope="module")
def moderator(citizenvoice_cli: Any) -> str:
    name = f"mod-{secrets.token_hex(3)}"
    citizenvoice_cli("user", "add", name, "--role", "moderator", "--password-stdin", input=PASSWORD + "\n")
    return name


def submit(base_url: str, n: int) -> str:
    """Submit an essay through the real form over HTTP; return the tracking page's path."""
    body = valid_form()["body"] + f"\n\n这是第 {n} 封信，编号{secrets.token_hex(4)}。"
    with httpx2.Client(base_url=base_url, follow_redirects=False) as http:
        form = parse(http.get("/submit").text)
        tokens = {name: field_value(form, name) for name in ("csrf_token", "form_token")}
        response = http.post("/submit", data={**tokens, **valid_form(headline=f"河堤上的新步道{n}", body=body)})
    assert response.status_code == 303, response.text[-800:]
    return response.headers["location"]


def sign_in(page: Any, name: str) -> None:
    page.goto("/login")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/moderate$"))


def tracking_code(page: Any, track_path: str) -> str:
    page.goto(track_path)
    return page.locator("h1.tracking-code").inner_text().strip().split()[-1]


def test_moderator_approves_the_oldest_item_and_it_goes_public(page_factory: Any, live_server: str,
                                                               moderator: str) -> None:  # fmt: skip
    track_path = submit(live_server, 0)
    page = page_factory(DESKTOP)
    ours = tracking_code(page, track_path)
    sign_in(page, moderator)
    for _ in range(50):  # other browser tests share this server: approve oldest-first until ours is done
        page.goto("/moderate")
        # the oldest item no other moderator holds (another browser test may have left a claim)
        first = page.locator("li.queue-item").filter(has_not_text="审核中").locator("h2.queue-title a").first
        href = first.get_attribute("href")
        first.click()
        page.wait_for_url(re.compile(re.escape(href) + "$"))
        code = page.locator(".item-meta").inner_text()
        page.click("#form-approve button[type=submit]")
        page.wait_for_url(re.compile(r"/moderate(/\d+)?$"))
        assert "已通过并发表" in page.locator(".alert-ok").inner_text()
        if ours in code:
            essay_id = href.rsplit("/", 1)[1]
            break
    else:
        pytest.fail("our essay never reached the head of the queue")

    # The author's tracking page says 已发布 and links to the public page, which shows the essay.
    page.goto(track_path)
    assert "已发布" in page.locator("#status-title").inner_text()
    page.click(f".status-panel a[href='/essays/{essay_id}']")
    page.wait_for_url(re.compile(rf"/essays/{essay_id}$"))
    public = page.goto(f"/essays/{essay_id}")
    assert public is not None and public.status == 200
    assert "河堤上的新步道0" in page.locator("h1").first.inner_text()
    assert page_factory.errors == []


def test_keyboard_only_run_over_20_items(page_factory: Any, live_server: str, moderator: str) -> None:
    for n in range(1, 21):
        submit(live_server, n)
    page = page_factory(DESKTOP)
    sign_in(page, moderator)
    page.goto("/moderate")
    page.keyboard.press("j")  # the queue's "start" link
    page.wait_for_url(re.compile(r"/moderate/\d+$"))
    page.screenshot(path="/tmp/cv-moderate-item-desktop.png", full_page=True)
    decided: list[str] = []
    started = time.monotonic()
    for _ in range(20):
        page.wait_for_selector("#form-approve")
        current = page.url
        decided.append(current.rsplit("/", 1)[1])
        page.keyboard.press("a")
        page.wait_for_url(lambda url, current=current: url != current and re.search(r"/moderate(/\d+)?$", url))
    elapsed = time.monotonic() - started
    assert len(set(decided)) == 20  # twenty different items, each decided once
    TRIAL_LOG.write_text(f"20 items approved keyboard-only in {elapsed:.1f}s = {20 * 60 / elapsed:.0f}/min "
                         "(machine round-trip only; no reading time)\n")  # fmt: skip
    assert page_factory.errors == []


def test_the_item_page_fits_a_phone(page_factory: Any, live_server: str, moderator: str) -> None:
    submit(live_server, 99)
    page = page_factory(PHONE)
    sign_in(page, moderator)
    page.goto("/moderate?q=" + "河堤上的新步道99")
    page.locator("h2.queue-title a").first.click()
    page.wait_for_url(re.compile(r"/moderate/\d+$"))
    widths = page.evaluate("""() => {
        const wrap = document.querySelector('#trail .table-wrap');
        return {page: document.documentElement.scrollWidth, viewport: window.innerWidth,
                trail: wrap.scrollWidth, trailBox: wrap.clientWidth};
    }""")
    # The audit trail is read on a phone without sideways scrolling.
    assert widths["page"] <= widths["viewport"], widths
    assert widths["trail"] <= widths["trailBox"], widths
    # A closed section must look openable, not like an empty box with a heading.
    marker = page.evaluate("getComputedStyle(document.querySelector('.decision-edit summary'), '::before').content")
    assert marker not in ("none", "normal", ""), marker
    assert page_factory.errors == []
