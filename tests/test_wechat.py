"""WeChat share cards (citizenvoice/domain/wechat.py): the JS-SDK signature, the access_token and
jsapi_ticket fetched once for every worker, and the share script only inside WeChat.

The provider is a local fake HTTP server that answers as WeChat's documentation says
(``cgi-bin/token``, ``cgi-bin/ticket/getticket``: JSON with ``errcode``/``errmsg`` on failure) and counts
the calls, since the real one limits them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from api_support import ApiClient
from factories import make_essay
from starlette.testclient import TestClient

from citizenvoice import db as database
from citizenvoice.domain import wechat

APPID = "wx5f2a6b7c8d9e0f11"
SECRET = "0123456789abcdef0123456789abcdef"
WECHAT_UA = ("Mozilla/5.0 (Linux; Android 13; V2218A) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
             "Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160083 MMWEBSDK/20231202 MicroMessenger/8.0.47.2560")
PHONE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile Safari/604.1"


def test_the_signature_matches_wechats_worked_example() -> None:
    # JS-SDK documentation, 附录1-JS-SDK使用权限签名算法.
    ticket = "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
    assert wechat.signature(ticket, "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value") == (
        "0f9de62fce790f9a083d5c99e95740ceb90c27ed")
    # The fragment is not part of what is signed.
    assert wechat.signature(ticket, "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value#share") == (
        "0f9de62fce790f9a083d5c99e95740ceb90c27ed")


@dataclass
class FakeWeChat:
    """cgi-bin/token and cgi-bin/ticket/getticket, as documented; ``fail_token`` answers an errcode."""

    url: str = ""
    token_calls: int = 0
    ticket_calls: int = 0
    fail_token: tuple[int, str] | None = None
    expires_in: int = 7200
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, path: str, query: dict[str, str]) -> dict[str, object]:
        import time

        time.sleep(self.delay)
        with self.lock:
            if path == "/cgi-bin/token":
                self.token_calls += 1
                if self.fail_token:
                    return {"errcode": self.fail_token[0], "errmsg": self.fail_token[1]}
                if query.get("grant_type") != "client_credential" or query.get("appid") != APPID:
                    return {"errcode": 40013, "errmsg": "invalid appid"}
                if query.get("secret") != SECRET:
                    return {"errcode": 40125, "errmsg": "invalid appsecret"}
                return {"access_token": f"ACCESS-{self.token_calls}", "expires_in": self.expires_in}
            if path == "/cgi-bin/ticket/getticket":
                self.ticket_calls += 1
                if query.get("type") != "jsapi" or query.get("access_token") != f"ACCESS-{self.token_calls}":
                    return {"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}
                return {"errcode": 0, "errmsg": "ok", "ticket": f"TICKET-{self.ticket_calls}",
                        "expires_in": self.expires_in}
        return {"errcode": 404, "errmsg": "no such api"}


def provider_handler(fake: FakeWeChat) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            body = json.dumps(fake.answer(parts.path, query)).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json; encoding=utf-8")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def provider() -> Iterator[FakeWeChat]:
    fake = FakeWeChat()
    server = ThreadingHTTPServer(("127.0.0.1", 0), provider_handler(fake))
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


@pytest.fixture
def configured(tmp_path, make_app, provider: FakeWeChat) -> Iterator[TestClient]:  # noqa: ANN001
    app = make_app(tmp_path, wechat_appid=APPID, wechat_secret=SECRET, wechat_api_base=provider.url,
                   base_url="https://voice.example.cn")
    with TestClient(app, base_url="https://voice.example.cn") as client:
        yield client


def test_the_config_signs_the_page_with_the_fetched_ticket(configured: TestClient, provider: FakeWeChat) -> None:
    api = ApiClient(configured)
    page = "https://voice.example.cn/essays/1?from=singlemessage"
    config = api.get("/api/v1/wechat/jssdk-config", params={"url": page + "#top"}).json()
    assert config["appId"] == APPID and set(config) == {"appId", "timestamp", "nonceStr", "signature"}
    expected = hashlib.sha1(
        f"jsapi_ticket=TICKET-1&noncestr={config['nonceStr']}&timestamp={config['timestamp']}&url={page}".encode()
    ).hexdigest()
    assert config["signature"] == expected
    for _ in range(5):
        api.get("/api/v1/wechat/jssdk-config", params={"url": page})
    assert (provider.token_calls, provider.ticket_calls) == (1, 1)


def test_five_workers_at_once_make_one_token_call(tmp_path, make_app, make_settings, provider: FakeWeChat) -> None:  # noqa: ANN001
    """Five apps on one database stand for five worker processes: each has its own memory, connections
    and JsapiTickets; only the table is shared. The provider answers slowly, so all five ask at once."""
    provider.delay = 0.3
    settings = make_settings(tmp_path, wechat_appid=APPID, wechat_secret=SECRET, wechat_api_base=provider.url)
    database.migrate(settings.database)

    async def worker() -> str | None:
        db = database.open_database(settings, readers=1)
        await db.open()
        try:
            return await wechat.JsapiTickets(settings).ticket(db)
        finally:
            await db.close()

    async def five() -> list[str | None]:
        return await asyncio.gather(*(worker() for _ in range(5)))

    assert asyncio.run(five()) == ["TICKET-1"] * 5
    assert (provider.token_calls, provider.ticket_calls) == (1, 1)


def test_a_ticket_near_expiry_is_fetched_again(tmp_path, make_settings, provider: FakeWeChat) -> None:  # noqa: ANN001
    settings = make_settings(tmp_path, wechat_appid=APPID, wechat_secret=SECRET, wechat_api_base=provider.url)
    database.migrate(settings.database)
    now = [datetime(2026, 12, 6, 8, 0, tzinfo=UTC)]
    tickets = wechat.JsapiTickets(settings, clock=lambda: now[0])

    async def ask() -> str | None:
        db = database.open_database(settings, readers=1)
        await db.open()
        try:
            return await tickets.ticket(db)
        finally:
            await db.close()

    assert asyncio.run(ask()) == "TICKET-1"
    now[0] += timedelta(seconds=7200) - wechat.REFRESH_MARGIN - timedelta(seconds=1)
    assert asyncio.run(ask()) == "TICKET-1"  # still good
    now[0] += timedelta(seconds=2)
    assert asyncio.run(ask()) == "TICKET-2"  # within the margin: renewed, with a new token as well
    assert (provider.token_calls, provider.ticket_calls) == (2, 2)


def test_a_provider_error_is_logged_once_and_never_breaks_a_page(configured: TestClient, provider: FakeWeChat,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    provider.fail_token = (40125, "invalid appsecret")
    api = ApiClient(configured)
    essay = make_essay(configured, "published")
    with caplog.at_level(logging.WARNING, logger="citizenvoice.wechat"):
        for _ in range(3):
            answer = api.get("/api/v1/wechat/jssdk-config", params={"url": "https://voice.example.cn/"})
            assert answer.status_code == 503 and answer.json()["error"]["code"] == "provider_unavailable"
        page = configured.get(f"/essays/{essay.id}", headers={"user-agent": WECHAT_UA})
    assert page.status_code == 200
    warnings = [r.getMessage() for r in caplog.records if r.name == "citizenvoice.wechat"]
    assert len(warnings) == 1 and "40125" in warnings[0] and SECRET not in warnings[0]
    assert provider.token_calls == 1  # the failure pauses refreshing: no call per page view


def test_the_config_signs_only_this_sites_pages(configured: TestClient) -> None:
    api = ApiClient(configured)
    answer = api.get("/api/v1/wechat/jssdk-config", params={"url": "https://evil.example/voice.example.cn"})
    assert answer.status_code == 422 and "url" in answer.json()["error"]["fields"]


def test_without_configuration_there_is_no_config_and_no_script(client: TestClient) -> None:
    api = ApiClient(client)
    assert api.get("/api/v1/wechat/jssdk-config", params={"url": "http://127.0.0.1:8000/"}).status_code == 404
    essay = make_essay(client, "published")
    page = client.get(f"/essays/{essay.id}", headers={"user-agent": WECHAT_UA})
    assert "jweixin" not in page.text and "res.wx.qq.com" not in page.headers["content-security-policy"]
    assert "user-agent" not in page.headers.get("vary", "").lower()


@pytest.mark.parametrize("path", ["/", "/boards/wellbeing", "/essays/{id}"])
def test_the_share_script_loads_only_inside_wechat(configured: TestClient, path: str) -> None:
    essay = make_essay(configured, "published")
    url = path.format(id=essay.id)
    for _ in range(2):  # the second answers come from the page cache: each browser keeps its own copy
        inside = configured.get(url, headers={"user-agent": WECHAT_UA})
        outside = configured.get(url, headers={"user-agent": PHONE_UA})
        assert "res.wx.qq.com/open/js/jweixin-1.6.0.js" in inside.text and "wechat-share" in inside.text
        assert "https://res.wx.qq.com" in inside.headers["content-security-policy"]
        assert "jweixin" not in outside.text and "wechat-share" not in outside.text
        assert "res.wx.qq.com" not in outside.headers["content-security-policy"]
        for answer in (inside, outside):
            assert "user-agent" in answer.headers["vary"].lower()
    assert "hit" in inside.headers["cache-status"] and "hit" in outside.headers["cache-status"]


def test_the_search_page_gets_no_share_script(configured: TestClient) -> None:
    page = configured.get("/search?q=港口", headers={"user-agent": WECHAT_UA})
    assert "jweixin" not in page.text
