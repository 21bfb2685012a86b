"""Sliding-window abuse limits shared by every worker process.

The counters are rows in ``rate_events`` keyed by a keyed hash of the IP address or phone number (so
neither is kept in clear there). :func:`hit` checks every limit and then records one event under each,
inside the caller's write transaction: BEGIN IMMEDIATE serialises writers across processes, so two
workers cannot both see "4 of 5" and both let a sixth request through. A refused attempt records
nothing, so the window ends an hour after the last *accepted* submission, not after the last knock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiosqlite

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


def submit_limits(settings: Settings) -> tuple[Limit, Limit]:
    per_hour = settings.submit_limit_per_hour
    text = f"为防止恶意刷稿，同一网络或同一手机号每小时最多投稿 {per_hour} 篇。您的文章还在下面，请约 {{minutes}} 分钟后再提交。"
    return Limit("submit-ip", per_hour, 3600, text), Limit("submit-phone", per_hour, 3600, text)


def track_limit(settings: Settings) -> Limit:
    text = "查询次数太多了。为保护投稿人的信息，请约 {minutes} 分钟后再试。"
    return Limit("track-ip", settings.track_lookup_limit, 15 * 60, text)


async def hit(conn: aiosqlite.Connection, secret: str, checks: Sequence[tuple[Limit, str]]) -> None:
    """Count one attempt against each (limit, raw key); RateLimited, recording nothing, if any is full."""
    at = now()
    keyed = [(limit, keyed_hash(secret, f"rate:{limit.bucket}", key)) for limit, key in checks]
    for limit, key_hash in keyed:
        count, oldest = await store.window(conn, limit.bucket, key_hash, since=at - limit.window)
        if count >= limit.limit:
            retry_after = math.ceil((oldest or at) + limit.window - at)
            raise RateLimited(limit, max(1, retry_after))
    for limit, key_hash in keyed:
        await store.record(conn, limit.bucket, key_hash, at=at)
