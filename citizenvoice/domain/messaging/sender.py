"""The sender loop: exactly one active across workers and hosts (a lease row), delivering due messages
at least once, with retries and backoff, and never faster than ``messages_per_minute``.

Each attempt is first recorded (attempts + 1, due again after the backoff) in its own committed
transaction, then sent, then marked sent. A sender killed between the first and the last step leaves
the message queued and due again once the backoff has passed: a crash can repeat a message (the
idempotency key lets the provider or the reader recognise it), never lose one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from citizenvoice.domain.messaging import templates
from citizenvoice.domain.messaging.backends import Backend, SendFailed, mask
from citizenvoice.settings import Settings
from citizenvoice.store import messages as store

log = logging.getLogger("citizenvoice.messages")
LEASE = "message_sender"
TICK = 1.0  # seconds between rounds; each round sends at most messages_per_minute / 60 (at least one)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc() -> dt.datetime:
    """The sender's clock; tests replace it rather than sleep."""
    return dt.datetime.now(dt.UTC)


def backoff(settings: Settings, attempts: int) -> dt.timedelta:
    """Delay before attempt ``attempts + 1``: retry_seconds, doubled each time, at most a day."""
    return dt.timedelta(seconds=min(settings.message_retry_seconds * 2 ** max(0, attempts - 1), 86400))


class Sender:
    def __init__(self, db: Any, settings: Settings, secret: str, backends: Mapping[str, Backend],
                 *, holder: str | None = None, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.db, self.settings, self.secret, self.backends = db, settings, secret, backends
        self.holder = holder or uuid.uuid4().hex
        self.clock = clock or utc
        self.budget = max(1, settings.messages_per_minute // 60)
        self.lease_until: dt.datetime | None = None

    async def holds_lease(self) -> bool:
        """Claim or renew the lease. An idle loop costs reads, not writes: a lease with more than half of
        its time left is not renewed, and another's unexpired lease is seen with a read (nobody else can
        take an unexpired lease, so the conditional UPDATE alone decides who holds it)."""
        now = self.clock()
        ttl = dt.timedelta(seconds=self.settings.message_lease_seconds)
        if self.lease_until is not None and now < self.lease_until - ttl / 2:
            return True
        async with self.db.read() as conn:
            holder, expires_at = await store.lease(conn, LEASE)
        if holder != self.holder and expires_at >= _iso(now):
            self.lease_until = None
            return False
        async with self.db.write() as conn:
            taken = await store.take_lease(conn, LEASE, self.holder, now=_iso(now), until=_iso(now + ttl))
        self.lease_until = now + ttl if taken else None
        return taken

    async def round(self, limit: int | None = None) -> int:
        """One round: take (or renew) the lease, then deliver up to ``limit`` due messages. How many went."""
        if not await self.holds_lease():
            return 0
        now = self.clock()
        async with self.db.read() as conn:
            if not await store.has_due(conn, _iso(now)):
                return 0
        async with self.db.write() as conn:
            due = await store.due(conn, _iso(now), limit or self.budget)
            claimed = []
            for message in due:
                retry_at = now + backoff(self.settings, message.attempts + 1)
                if await store.claim(conn, message.id, message.attempts, _iso(retry_at)):
                    claimed.append(message)
        sent = 0
        for message in claimed:
            sent += await self.deliver(message)
        return sent

    async def deliver(self, message: store.Message) -> int:
        rendered = templates.render(message.template, message.params, base_url=self.settings.base_url,
                                    secret=self.secret, email=message.channel == "email")
        backend = self.backends[message.channel]
        try:
            provider_id = await asyncio.to_thread(backend.send, message, rendered)
        except SendFailed as exc:
            failed = exc.permanent or message.attempts + 1 >= self.settings.message_max_attempts
            reason = exc.reason.replace(message.recipient, mask(message.recipient))  # no number in a log
            async with self.db.write() as conn:
                await store.mark_error(conn, message.id, error=reason, failed=failed)
            log.warning("message %s (%s) not sent: %s%s", message.id, message.template, reason,
                        "; given up" if failed else "; will retry")
            return 0
        kept = dict(message.params)
        if "code" in kept:
            kept["code"] = "******"  # a sent code need not stay readable in the database
        async with self.db.write() as conn:
            await store.mark_sent(conn, message.id, at=_iso(self.clock()), provider_id=provider_id, params=kept)
        return 1

    async def run(self, stop: asyncio.Event) -> None:
        """Rounds until ``stop`` is set (the first a tick after start); errors are logged and the loop
        carries on."""
        while True:
            try:
                await asyncio.wait_for(stop.wait(), TICK)
                break
            except TimeoutError:
                pass
            try:
                await self.round()
            except Exception:  # a database hiccup must not end the loop for good
                log.exception("message sender round failed")
        if self.lease_until is None:
            return
        try:
            async with self.db.write() as conn:
                await store.release_lease(conn, LEASE, self.holder)
        except Exception:
            log.exception("could not release the message sender's lease")
