"""The WeChat share card in a real browser: an essay page opened with WeChat's user agent loads the
JS-SDK, asks the server to sign its address, and hands WeChat the card's title, summary, link and
picture; the same page in another browser loads none of it. WeChat's script host is answered by a
stand-in that records what the page calls (the real JS-SDK only talks to the WeChat app), and the
server fetches its ticket from the fake provider of tests/test_wechat.py.
"""

from __future__ import annotations

import hashlib
import subprocess
import threading
from http.server import ThreadingHTTPServer
from typing import Any

import pytest

from tests.browser.conftest import PHONE, PageFactory, _cli, free_port, served

pytestmark = pytest.mark.browser

WECHAT_UA = ("Mozilla/5.0 (Linux; Android 13; V2218A) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
             "Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160083 MMWEBSDK/20231202 MicroMessenger/8.0.47.2560")
STAND_IN = """
window.wx = {
  config: function (c) { window.__wxConfig = c; },
  ready: function (f) { setTimeout(f, 0); },
  updateAppMessageShareData: function (d) { window.__card = d; },
  updateTimelineShareData: function (d) { window.__timeline = d; },
};
"""


@pytest.fixture(scope="module")
def wechat_site(tmp_path_factory: pytest.TempPathFactory, live_env: dict[str, str]) -> Any:
    from test_wechat import APPID, SECRET, FakeWeChat, provider_handler

    fake = FakeWeChat()
    provider = ThreadingHTTPServer(("127.0.0.1", 0), provider_handler(fake))
    fake.url = f"http://127.0.0.1:{provider.server_address[1]}"
    threading.Thread(target=provider.serve_forever, daemon=True).start()
    data = tmp_path_factory.mktemp("wechat-site")
    port = free_port()
    env = {**live_env, "CITIZENVOICE_DATA_DIR": str(data), "CITIZENVOICE_BASE_URL": f"http://127.0.0.1:{port}",
           "CITIZENVOICE_WECHAT_APPID": APPID, "CITIZENVOICE_WECHAT_SECRET": SECRET,
           "CITIZENVOICE_WECHAT_API_BASE": fake.url}
    subprocess.run([*_cli(), "demo"], env=env, check=True, capture_output=True, timeout=120)
    try:
        with served(env, data / "server.log", port=port) as url:
            yield url, fake
    finally:
        provider.shutdown()
        provider.server_close()


def _open_essay(browser: Any, url: str, user_agent: str | None) -> tuple[Any, PageFactory, list[str]]:
    factory = PageFactory(browser, url)
    page = factory(PHONE, **({"user_agent": user_agent} if user_agent else {}))
    wechat_requests: list[str] = []

    def stand_in(route: Any) -> None:
        wechat_requests.append(route.request.url)
        route.fulfill(status=200, content_type="application/javascript", body=STAND_IN)

    page.route("https://res.wx.qq.com/**", stand_in)
    page.goto("/")
    page.locator("a[href*='/essays/']").first.click()
    page.wait_for_load_state("networkidle")
    return page, factory, wechat_requests


def test_inside_wechat_the_page_sets_its_share_card(browser: Any, wechat_site: Any) -> None:
    url, fake = wechat_site
    page, factory, loaded = _open_essay(browser, url, WECHAT_UA)
    try:
        page.wait_for_function("() => window.__card !== undefined", timeout=10_000)
        config = page.evaluate("() => window.__wxConfig")
        card = page.evaluate("() => window.__card")
        address = page.url.split("#")[0]
        expected = hashlib.sha1(f"jsapi_ticket=TICKET-1&noncestr={config['nonceStr']}&timestamp={config['timestamp']}"
                                f"&url={address}".encode()).hexdigest()
        assert config["signature"] == expected and config["appId"].startswith("wx")
        assert card["title"] == page.locator("h1").first.inner_text().strip()
        assert card["link"] == address and card["imgUrl"].startswith(url) and card["desc"]
        assert page.evaluate("() => window.__timeline.title") == card["title"]
        assert set(loaded) == {"https://res.wx.qq.com/open/js/jweixin-1.6.0.js"}  # the home page's, the essay's
        assert factory.errors == []  # no CSP violation, no failed request
    finally:
        factory.close()


def test_other_browsers_load_nothing_from_wechat(browser: Any, wechat_site: Any) -> None:
    url, _ = wechat_site
    page, factory, loaded = _open_essay(browser, url, None)
    try:
        assert loaded == [] and page.evaluate("() => window.wx === undefined")
        assert factory.errors == []
    finally:
        factory.close()
