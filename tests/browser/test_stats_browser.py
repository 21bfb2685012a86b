"""An editor opens the statistics for the editorial meeting on a phone (375 px) and on a desktop, with
JavaScript off: the charts are drawn (server-side SVG), nothing scrolls sideways, the filters work as a
plain form, and axe-core finds no violations. Screenshots go to /tmp/cv-stats-*.png."""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, PHONE, RUN_AXE
from tests.browser.test_public_browser import no_sideways_scroll

pytestmark = pytest.mark.browser

PASSWORD = "editor-password-2026"


@pytest.fixture(scope="module")
def editor(citizenvoice_cli: Any, live_server: str) -> str:
    citizenvoice_cli("demo")  # essays to count; adds nothing when another module loaded it already
    name = f"stats-{secrets.token_hex(3)}"
    citizenvoice_cli("user", "add", name, "--role", "editor", "--password-stdin", input=PASSWORD + "\n")
    return name


def sign_in(page: Any, name: str) -> None:
    page.goto("/login?next=/editor/stats")
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/editor/stats$"))


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_dashboard_reads_without_javascript_and_passes_axe(page_factory: Any, editor: str, axe_source: str,
                                                              viewport: tuple[int, int]) -> None:  # fmt: skip
    page = page_factory(viewport, javascript_enabled=False)
    sign_in(page, editor)
    assert page.locator("h1").inner_text() == "投稿统计"
    charts = page.locator("svg.chart-svg[role=img]")
    assert charts.count() == 5
    for index in range(charts.count()):
        box = charts.nth(index).bounding_box()
        assert box and 300 <= box["width"] <= 600, box
    assert no_sideways_scroll(page)
    name = "phone" if viewport == PHONE else "desktop"
    page.screenshot(path=f"/tmp/cv-stats-{name}.png", full_page=True)

    page.select_option("#f-role", "resident")
    page.click("form.stats-filters button[type=submit]")
    page.wait_for_url(re.compile(r"role=resident"))
    assert page.locator("#roles-title + .table-wrap tbody tr").count() == 1
    assert "role=resident" in page.locator("a", has_text="统计表 CSV").get_attribute("href")

    # axe is evaluated through the DevTools protocol, which works with the page's JavaScript off
    script_page = page_factory(viewport)
    sign_in(script_page, editor)
    script_page.evaluate(axe_source)
    violations = script_page.evaluate(RUN_AXE)
    assert violations == [], "\n".join(f"{v['id']} ({v['impact']}): {v['help']} — {v['nodes']}" for v in violations)
    assert page_factory.errors == []
