"""A reader on a phone (375×812) finds a board and reads an essay; every public page passes axe-core
with no violations; the essay prints without the site's chrome.

axe-core comes from npm (``scripts/system-packages test`` puts it in .cache/npm). The page's CSP
forbids inline scripts, so axe is evaluated through the DevTools protocol, which the CSP does not
govern, rather than injected as a <script> element.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, PHONE, RUN_AXE

pytestmark = pytest.mark.browser

SHOTS = Path("/tmp")
MAX_CHARS_PER_LINE = 38


@pytest.fixture(scope="module")
def demo_essays(citizenvoice_cli: Any, live_server: str) -> None:
    citizenvoice_cli("demo")  # adds nothing when another test module loaded it already


def no_sideways_scroll(page: Any) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def chars_per_line(page: Any, selector: str) -> float:
    """How many full-width characters fit on one line of the element's text."""
    return page.eval_on_selector(
        selector, "el => el.getBoundingClientRect().width / parseFloat(getComputedStyle(el).fontSize)"
    )


def first_essay_url(page: Any) -> str:
    page.goto("/boards/silver-economy")
    href = page.locator("main .card-title a").first.get_attribute("href")
    assert href and re.fullmatch(r"/essays/\d+", href)
    return href


def test_reader_on_a_phone_reads_a_board_and_an_essay(page_factory: Any, demo_essays: None) -> None:
    page = page_factory(PHONE)
    page.goto("/")
    assert page.locator("h1").inner_text() == "写给下一个五年"
    assert no_sideways_scroll(page)
    page.locator("a[href='/boards/silver-economy']").first.click()
    page.wait_for_url(re.compile(r"/boards/silver-economy$"))
    assert page.locator("h1").inner_text() == "银发经济先行区"
    assert no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "cv-board-phone.png"), full_page=True)

    card = page.locator("main .card-title a").first
    headline = card.inner_text()
    card.click()
    page.wait_for_url(re.compile(r"/essays/\d+$"))
    assert page.locator("h1").inner_text() == headline
    assert page.locator("article .byline").inner_text() == "滨海新区海韵街道望潮社区党委书记 林秀梅"
    assert page.locator(".essay-body p").count() >= 3
    assert no_sideways_scroll(page)
    assert chars_per_line(page, ".essay-body p") <= MAX_CHARS_PER_LINE
    line_height = page.eval_on_selector(
        ".essay-body p", "el => parseFloat(getComputedStyle(el).lineHeight) / parseFloat(getComputedStyle(el).fontSize)"
    )
    assert line_height == pytest.approx(1.8, abs=0.01)
    page.screenshot(path=str(SHOTS / "cv-essay-phone.png"), full_page=True)
    assert page_factory.errors == []


def test_essay_lines_stay_short_on_a_wide_screen_and_print_without_chrome(page_factory: Any, demo_essays: None) -> None:
    page = page_factory(DESKTOP)
    page.goto(first_essay_url(page))
    assert chars_per_line(page, ".essay-body p") <= MAX_CHARS_PER_LINE
    page.emulate_media(media="print")
    for hidden in (".site-header", ".site-footer", ".essay-nav, .write-cta", ".breadcrumb"):
        assert not page.locator(hidden).first.is_visible(), hidden
    assert page.locator(".essay-body").is_visible() and page.locator("article h1").is_visible()


@pytest.mark.parametrize("path", ["/", "/boards/silver-economy", "essay", "/search", "/search?q=海", "/search?q=火星",
                                  "/submit"])
def test_no_axe_violations(page_factory: Any, demo_essays: None, axe_source: str, path: str) -> None:
    page = page_factory(PHONE)
    page.goto(first_essay_url(page) if path == "essay" else path)
    page.evaluate(axe_source)
    violations = page.evaluate(RUN_AXE)
    assert violations == [], "\n".join(f"{v['id']} ({v['impact']}): {v['help']} — {v['nodes']}" for v in violations)
    assert page_factory.errors == []


def test_axe_harness_reports_a_real_violation(page_factory: Any, axe_source: str) -> None:
    """Guards the test above against passing vacuously: an image without alt text is reported."""
    page = page_factory(PHONE)
    page.goto("/")
    page.evaluate("document.querySelector('main').appendChild(document.createElement('img')).src = '/static/img/default-share.png'")
    page.evaluate(axe_source)
    assert "image-alt" in [v["id"] for v in page.evaluate(RUN_AXE)]
