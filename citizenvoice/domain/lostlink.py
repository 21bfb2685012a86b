"""「找回查询链接」: a resident who lost the private link enters the phone; when essays were left with it,
an SMS with their tracking links is queued. The page answers the same either way, so it tells nobody
whether a number has essays; limited per phone and per address, so it cannot be made to send on and on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from citizenvoice.domain import ratelimit, submission
from citizenvoice.domain.keys import keyed_hash
from citizenvoice.domain.messaging import notify
from citizenvoice.settings import Settings
from citizenvoice.store import essays as essay_store
from citizenvoice.store import utcnow

ANSWER = ("如果这个手机号投过稿，我们会把查询链接用短信发给它，通常一两分钟内送达。"
          "没有收到？请核对手机号，或用投稿编号和手机号后四位查询。")


@dataclass(frozen=True)
class Asked:
    phone: str
    errors: dict[str, str] = field(default_factory=dict)
    alert: str = ""
    status_code: int = 200
    retry_after: int | None = None
    done: bool = False


async def ask(db: Any, secret: str, settings: Settings, raw_phone: str, ip: str) -> Asked:
    phone = submission.clean_phone(raw_phone)
    error = submission.check_phone(phone)
    if error:
        return Asked(phone, errors={"phone": error}, status_code=422)
    address_limit, phone_limit = ratelimit.lost_link_limits(settings)
    try:
        async with db.write() as conn:
            await ratelimit.hit(conn, secret, [(address_limit, ip), (phone_limit, phone)])
            essays = await essay_store.ids_by_phone(conn, phone)
            if essays:
                items = [{"tracking_code": code, "essay_id": essay_id} for essay_id, code in essays]
                key = f"lost:{keyed_hash(secret, 'lost', phone)}:{utcnow()}"
                await notify.queue(conn, key, "sms", phone, "lost_link", {"items": items})
    except ratelimit.RateLimited as exc:
        return Asked(phone, alert=exc.message, status_code=429, retry_after=exc.retry_after)
    return Asked(phone, done=True)
