"""What ``citizenvoice serve`` says once when it starts, before its workers do (so once, however many):

* while no active admin exists, the one-time link ``/setup/<token>`` for creating the first admin in
  the browser (:mod:`citizenvoice.domain.setup`);
* a warning when the server listens beyond this machine but ``CITIZENVOICE_BASE_URL`` still names a
  loopback address, which every share link, feed and sitemap would then carry (``serve`` refuses to
  start in that case unless ``--allow-local-links`` is given, and then warns).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import sys
from typing import IO
from urllib.parse import urlsplit

from citizenvoice import db as database
from citizenvoice.domain import setup as first_admin
from citizenvoice.settings import SETTINGS, Settings
from citizenvoice.web.logs import JsonFormatter

LOGGER = "citizenvoice.startup"
log = logging.getLogger(LOGGER)
DEFAULT_BASE_URL: str = next(s.default for s in SETTINGS if s.name == "base_url")
_WILDCARDS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}
_LINK = "{link}"  # stands for the link while the line passes the log scrubber


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: assume others reach it


def base_url_warning(settings: Settings, host: str) -> str | None:
    """The warning for a server others can reach whose links point back at the machine itself."""
    base = settings.base_url
    if is_loopback(host) or not is_loopback(urlsplit(base).hostname or ""):
        return None
    unset = "未设置" if base == DEFAULT_BASE_URL else f"是 {base}"
    return (
        f"服务监听 {host or '所有地址'}，但 CITIZENVOICE_BASE_URL {unset}：分享链接、订阅源和站点地图里的"
        f"地址都会是 {base}，别人打不开。请把它设为读者访问本站的地址，如 https://voice.example.cn。 "
        f"CITIZENVOICE_BASE_URL is not set to the public origin while serving on {host or '*'}: "
        f"share links, feeds and sitemaps will say {base}."
    )


def refusal(warning: str) -> str:
    """``serve`` refuses a production start whose links would point back at the machine itself."""
    return (f"未启动：{warning}\n设置 CITIZENVOICE_BASE_URL 后重新启动；只在内网试用时可加 --allow-local-links。"
            "\nNot started: set CITIZENVOICE_BASE_URL, or pass --allow-local-links to serve anyway.")


def origin(settings: Settings, host: str, port: int) -> str:
    """Where the operator opens the link: the configured public origin, else the address served."""
    if settings.base_url != DEFAULT_BASE_URL:
        return settings.base_url.rstrip("/")
    host = _WILDCARDS.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def _issue(settings: Settings) -> str | None:
    db = database.open_database(settings, readers=1)
    await db.open()
    try:
        async with db.write() as conn:
            return await first_admin.issue_token(conn)
    finally:
        await db.close()


def setup_line(link: str) -> str:
    """The one log line that carries the link: JSON like every other line, but with the link left in.

    The scrubber would mask the token, as it masks every token; this line is the one place it is
    meant to be seen, so the link is put in after the line has been formatted.
    """
    hours = int(first_admin.TOKEN_LIFETIME.total_seconds() // 3600)
    message = (
        f"还没有管理员账号：请在 {hours} 小时内用浏览器打开 {_LINK} 创建第一位管理员（链接只能用一次，"
        f"也只在这里显示一次）。No admin account yet: open the link within {hours} hours to create the "
        "first admin (one use, shown only here), or run `citizenvoice user add NAME --role admin`."
    )
    record = logging.LogRecord(LOGGER, logging.WARNING, __file__, 0, message, None, None)
    line = JsonFormatter().format(record)
    assert line.count(_LINK) == 1
    return line.replace(_LINK, json.dumps(link, ensure_ascii=False)[1:-1])


def announce(settings: Settings, *, host: str, port: int, stream: IO[str] | None = None) -> str | None:
    """Warn about the base URL if need be; print the first-admin link if no admin exists. Returns the
    link printed, if any. Call once per start, after migrating and before any worker starts."""
    warning = base_url_warning(settings, host)
    if warning:
        log.warning(warning)
    token = asyncio.run(_issue(settings))
    if token is None:
        return None
    link = f"{origin(settings, host, port)}/setup/{token}"
    out = stream or sys.stderr
    out.write(setup_line(link) + "\n")
    out.flush()
    return link
