"""Sliding-window abuse limits shared by every worker process.

The counters are rows in ``rate_events`` keyed by a keyed hash of the IP address or phone number (so
neither is kept in clear there). :func:`hit` checks every limit and then records one event under each,
inside the caller's write transaction, serialised per key (BEGIN IMMEDIATE on SQLite, an advisory
lock per bucket and key on PostgreSQL: db.serialize), so two workers or hosts cannot both see "4 of 5"
and both let a sixth request through. A refused attempt records
nothing, so the window ends an hour after the last *accepted* submission, not after the last knock.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite

from citizenvoice import db
from citizenvoice.domain.keys import keyed_hash
from citizenvoice.settings import Settings
from citizenvoice.store import ratelimit as store


@dataclass(frozen=True)
class Limit:
    bucket: str
    limit: int
    window: int  # seconds
    message: str  # Chinese; ``{minutes}`` is filled with the wait


class RateLimited(Exception):
    def __init__(self, limit: Limit, retry_after: int) -> None:
        super().__init__(f"{limit.bucket}: limit {limit.limit} per {limit.window}s")
        self.limit = limit
        self.retry_after = retry_after

    @property
    def message(self) -> str:
        return self.limit.message.format(minutes=max(1, math.ceil(self.retry_after / 60)))


def now() -> float:
    """The clock the limits use; tests replace it rather than sleep."""
    return time.time()


DAY = 24 * 3600


def address_key(ip: str) -> str:
    """The address a limit counts: an IPv4 address, or the /64 of an IPv6 one (a home or a phone gets a
    whole /64, so counting single IPv6 addresses would hand out unlimited buckets)."""
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def submit_limits(settings: Settings) -> tuple[Limit, Limit]:
    """Per address (an hour; high enough for a community centre's shared Wi-Fi) and per phone (a day)."""
    per_address, per_phone = settings.submit_limit_per_address, settings.submit_limit_per_phone
    address_text = (f"这个网络在一小时内已提交了 {per_address} 篇文章，暂时不能再提交。"
                    "您的文章还在下面，请约 {minutes} 分钟后再提交。")
    phone_text = (f"同一手机号每天最多投稿 {per_phone} 篇，今天的篇数已经用完。"
                  "您的文章还在下面，请约 {minutes} 分钟后再提交，或明天再来。")
    return Limit("submit-ip", per_address, 3600, address_text), Limit("submit-phone", per_phone, DAY, phone_text)


def track_limit(settings: Settings) -> Limit:
    text = "查询次数太多了。为保护投稿人的信息，请约 {minutes} 分钟后再试。"
    return Limit("track-ip", settings.track_lookup_limit, 15 * 60, text)


def track_code_limit(settings: Settings) -> Limit:
    text = "这个投稿编号今天已查询多次。为保护投稿人的信息，请约 {minutes} 分钟后再试，或用短信里的链接打开。"
    return Limit("track-code", settings.track_code_limit, DAY, text)


def code_limits(settings: Settings) -> tuple[Limit, Limit]:
    phone_text = f"这个手机号今天已获取了 {settings.code_limit_per_phone} 次验证码，请约 {{minutes}} 分钟后再试。"
    address_text = "这个网络获取验证码的次数太多了，请约 {minutes} 分钟后再试。"
    return (Limit("code-ip", settings.code_limit_per_address, 3600, address_text),
            Limit("code-phone", settings.code_limit_per_phone, DAY, phone_text))


def lost_link_limits(settings: Settings) -> tuple[Limit, Limit]:
    text = "找回链接的次数太多了，请约 {minutes} 分钟后再试。"
    return (Limit("lost-ip", settings.lost_link_limit_per_address, 3600, text),
            Limit("lost-phone", settings.lost_link_limit_per_phone, DAY, text))


async def hit(conn: aiosqlite.Connection, secret: str, checks: Sequence[tuple[Limit, str]]) -> None:
    """Count one attempt against each (limit, raw key); RateLimited, recording nothing, if any is full."""
    at = now()
    keyed = [(limit, keyed_hash(secret, f"rate:{limit.bucket}", _key(limit, key))) for limit, key in checks]
    # Count-then-record: concurrent attempts on the same key take turns (a no-op on SQLite).
    await db.serialize(conn, *(f"rate:{limit.bucket}:{key_hash}" for limit, key_hash in keyed))
    for limit, key_hash in keyed:
        count, oldest = await store.window(conn, limit.bucket, key_hash, since=at - limit.window)
        if count >= limit.limit:
            retry_after = math.ceil((oldest or at) + limit.window - at)
            raise RateLimited(limit, max(1, retry_after))
    for limit, key_hash in keyed:
        await store.record(conn, limit.bucket, key_hash, at=at)


def _key(limit: Limit, key: str) -> str:
    return address_key(key) if limit.bucket.endswith("-ip") else key
