"""WeChat share cards: the JS-SDK signature, and the access_token / jsapi_ticket behind it.

A page opened inside WeChat shows its own title, summary and picture on a share card only when it calls
``wx.config`` with a signature made on the server from a ``jsapi_ticket``. The ticket comes from
``cgi-bin/ticket/getticket`` with an ``access_token`` from ``cgi-bin/token``; both live two hours and
the provider limits how often they may be fetched (2,000 tokens a day per account), so:

* both are kept in ``provider_credentials``, shared by every worker and host, and used until
  :data:`REFRESH_MARGIN` before they expire; each worker also keeps the ticket in memory;
* one refresh at a time: a worker takes a lease with a conditional UPDATE (store.credentials), calls
  the provider and stores the result; the others wait a moment for it rather than call too;
* a provider error (a wrong secret, a quota) is logged once per error code by each worker, keeps the
  lease for :data:`FAILURE_PAUSE` so the provider is not hammered, and only means no share card —
  never a broken page.

The signature is sha1 of ``jsapi_ticket=…&noncestr=…&timestamp=…&url=…`` (keys in ASCII order, raw
values, the URL without its fragment), as WeChat's JS-SDK documentation (附录1) specifies.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from citizenvoice.settings import Settings
from citizenvoice.store import credentials

log = logging.getLogger("citizenvoice.wechat")

ACCESS_TOKEN = "wechat_access_token"
JSAPI_TICKET = "wechat_jsapi_ticket"
REFRESH_MARGIN = timedelta(minutes=5)
LEASE = timedelta(seconds=20)  # longer than a provider call may take (HTTP_TIMEOUT twice)
FAILURE_PAUSE = timedelta(seconds=60)
WAIT_FOR_OTHER = 5.0  # seconds a worker waits for another's refresh
POLL = 0.05
HTTP_TIMEOUT = 8.0
# Where the JS-SDK is loaded from: the page's script and the CSP name these origins, and only for a
# page opened inside WeChat (res2 is WeChat's documented fallback host).
SCRIPT_URL = "https://res.wx.qq.com/open/js/jweixin-1.6.0.js"
SCRIPT_ORIGINS = ("https://res.wx.qq.com", "https://res2.wx.qq.com")
# Codes that mean the access_token itself is no longer good: fetch a new one and try once more.
_TOKEN_INVALID = frozenset({40001, 40014, 42001})


class ProviderError(Exception):
    """WeChat answered with an ``errcode`` (or not at all)."""

    def __init__(self, code: int | str, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


def signature(ticket: str, noncestr: str, timestamp: int | str, url: str) -> str:
    """The JS-SDK signature of ``url`` (its ``#…`` part dropped)."""
    page = url.split("#", 1)[0]
    plain = f"jsapi_ticket={ticket}&noncestr={noncestr}&timestamp={timestamp}&url={page}"
    return hashlib.sha1(plain.encode("utf-8")).hexdigest()  # noqa: S324 - the provider's algorithm


def is_wechat_browser(user_agent: str | None) -> bool:
    """WeChat's in-app browser (and its desktop and Work variants) say MicroMessenger."""
    return bool(user_agent) and "MicroMessenger" in (user_agent or "")


@dataclass(frozen=True)
class Fetched:
    value: str
    expires_in: int  # seconds


class Provider(Protocol):
    async def access_token(self, appid: str, secret: str) -> Fetched: ...

    async def jsapi_ticket(self, access_token: str) -> Fetched: ...


class HttpProvider:
    """The two calls over HTTPS (stdlib urllib in a thread: two requests every two hours need no client
    library). ``api_base`` is ``https://api.weixin.qq.com`` in production, a local fake in tests."""

    def __init__(self, api_base: str) -> None:
        self.api_base = api_base.rstrip("/")

    async def access_token(self, appid: str, secret: str) -> Fetched:
        query = {"grant_type": "client_credential", "appid": appid, "secret": secret}
        answer = await asyncio.to_thread(self._get, "/cgi-bin/token", query)
        return _fetched(answer, "access_token")

    async def jsapi_ticket(self, access_token: str) -> Fetched:
        answer = await asyncio.to_thread(self._get, "/cgi-bin/ticket/getticket",
                                         {"access_token": access_token, "type": "jsapi"})
        return _fetched(answer, "ticket")

    def _get(self, path: str, query: dict[str, str]) -> dict[str, Any]:
        url = f"{self.api_base}{path}?{urllib.parse.urlencode(query)}"
        try:
            with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:  # noqa: S310 - https by setting
                data = json.loads(response.read().decode("utf-8"))
        except (OSError, ValueError) as exc:
            raise ProviderError("network", str(exc)) from exc
        if not isinstance(data, dict):
            raise ProviderError("format", "not a JSON object")
        return data


def _fetched(answer: dict[str, Any], field: str) -> Fetched:
    code = answer.get("errcode", 0)
    if code not in (0, None) or not isinstance(answer.get(field), str):
        raise ProviderError(code if code not in (0, None) else "format", str(answer.get("errmsg", "")))
    try:
        expires_in = int(answer.get("expires_in", 7200))
    except (TypeError, ValueError):
        expires_in = 7200
    return Fetched(answer[field], expires_in)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _usable(credential: credentials.Credential | None, now: datetime) -> bool:
    return bool(credential and credential.value and credential.expires_at > _iso(now + REFRESH_MARGIN))


class JsapiTickets:
    """One per worker (app.state): the ticket in memory, backed by the shared table."""

    def __init__(self, settings: Settings, provider: Provider | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self.provider = provider or HttpProvider(settings.wechat_api_base)
        self.clock = clock or (lambda: datetime.now(UTC))
        self._ticket: tuple[str, str] | None = None  # (value, expires_at)
        self._logged: set[str] = set()

    async def ticket(self, db: Any) -> str | None:
        """A valid jsapi_ticket, or None when WeChat cannot give one now (already logged)."""
        now = self.clock()
        if self._ticket and self._ticket[1] > _iso(now + REFRESH_MARGIN):
            return self._ticket[0]
        deadline = time.monotonic() + WAIT_FOR_OTHER
        while True:
            async with db.read() as conn:
                stored = await credentials.get(conn, JSAPI_TICKET)
            if _usable(stored, now):
                assert stored is not None
                self._ticket = (stored.value, stored.expires_at)
                return stored.value
            if stored is None or stored.refreshing_until < _iso(now):
                # Nobody is refreshing: try to be the one (waiting workers only read, so they do not
                # crowd the writer while the one refresh is under way).
                async with db.write() as conn:
                    won = await credentials.claim_refresh(conn, JSAPI_TICKET, now=_iso(now),
                                                          until=_iso(now + LEASE))
                if won:
                    return await self._refresh(db, now)
            elif stored.last_error:
                return None  # a recent refresh failed: wait out the pause, show no share card meanwhile
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(POLL)
            now = self.clock()

    async def _refresh(self, db: Any, now: datetime) -> str | None:
        try:
            token = await self._access_token(db, now, renew=False)
            try:
                fetched = await self.provider.jsapi_ticket(token)
            except ProviderError as exc:
                if exc.code not in _TOKEN_INVALID:
                    raise
                token = await self._access_token(db, now, renew=True)
                fetched = await self.provider.jsapi_ticket(token)
        except ProviderError as exc:
            self._log_once(exc)
            async with db.write() as conn:
                # The lease is held for the pause: nobody asks the provider again before it ends.
                await credentials.hold_after_failure(conn, JSAPI_TICKET, until=_iso(now + FAILURE_PAUSE),
                                                     error=f"{exc.code} {exc.message}", now=_iso(now))
            return None
        expires_at = _iso(now + timedelta(seconds=fetched.expires_in))
        async with db.write() as conn:
            await credentials.save(conn, JSAPI_TICKET, value=fetched.value, expires_at=expires_at, now=_iso(now))
        self._ticket = (fetched.value, expires_at)
        return fetched.value

    async def _access_token(self, db: Any, now: datetime, *, renew: bool) -> str:
        # Only the holder of the ticket's lease gets here, so the token needs no lease of its own.
        if not renew:
            async with db.read() as conn:
                stored = await credentials.get(conn, ACCESS_TOKEN)
            if _usable(stored, now):
                assert stored is not None
                return stored.value
        fetched = await self.provider.access_token(self.settings.wechat_appid, self.settings.wechat_secret)
        async with db.write() as conn:
            await credentials.save(conn, ACCESS_TOKEN, value=fetched.value,
                                   expires_at=_iso(now + timedelta(seconds=fetched.expires_in)), now=_iso(now))
        return fetched.value

    def _log_once(self, exc: ProviderError) -> None:
        key = str(exc.code)
        if key in self._logged:
            return
        self._logged.add(key)
        log.warning("WeChat refused the share-card credentials: errcode %s (%s); pages show no WeChat share "
                    "card until it succeeds", exc.code, exc.message)


@dataclass(frozen=True)
class JssdkConfig:
    app_id: str
    timestamp: int
    nonce_str: str
    signature: str


async def jssdk_config(tickets: JsapiTickets, db: Any, url: str,
                       nonce: Callable[[], str] | None = None) -> JssdkConfig | None:
    """What ``wx.config`` needs for the page at ``url``; None when no ticket can be had now."""
    ticket = await tickets.ticket(db)
    if ticket is None:
        return None
    stamp = int(tickets.clock().timestamp())
    noncestr = (nonce or (lambda: secrets.token_urlsafe(12)))()
    return JssdkConfig(tickets.settings.wechat_appid, stamp, noncestr, signature(ticket, noncestr, stamp, url))

