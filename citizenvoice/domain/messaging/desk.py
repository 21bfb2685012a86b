"""/admin/messages: what the outbox holds (queued, sent, failed with the provider's reason) and a retry
for a failed or stuck message, recorded in the audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from citizenvoice.domain.messaging.backends import mask
from citizenvoice.model.staff import User
from citizenvoice.store import admin as admin_store
from citizenvoice.store import messages as store
from citizenvoice.store import utcnow

STATUSES = {"queued": "待发送", "sent": "已发送", "failed": "发送失败"}
CHANNELS = {"sms": "短信", "email": "邮件"}
TEMPLATE_LABELS = {
    "verification_code": "验证码", "received": "收稿通知", "needs_revision": "需修改", "rejected": "未采用",
    "published": "已发表", "printed": "已见报", "signoff_requested": "请确认见报稿", "lost_link": "找回链接",
}


@dataclass(frozen=True)
class Row:
    id: int
    channel: str
    recipient: str  # masked: the page needs to tell messages apart, not to show whole numbers
    template: str
    status: str
    attempts: int
    last_error: str
    created_at: str
    sent_at: str | None
    next_attempt_at: str


async def overview(conn: Any, status: str | None) -> tuple[dict[str, int], list[Row]]:
    status = status if status in STATUSES else None
    rows = [Row(m.id, m.channel, mask(m.recipient), m.template, m.status, m.attempts, m.last_error, m.created_at,
                m.sent_at, m.next_attempt_at) for m in await store.recent(conn, status)]
    return await store.counts(conn), rows


class NotRetryable(Exception):
    message = "这条消息已经发出，或者已不存在，无需重试。"


async def retry(conn: Any, actor: User, message_id: int) -> None:
    message = await store.get(conn, message_id)
    if message is None or not await store.retry(conn, message_id, utcnow()):
        raise NotRetryable()
    await admin_store.record_audit(conn, actor_id=actor.id, actor_name=actor.username, action="message.retry",
                                   target=f"message:{message_id}",
                                   before={"status": message.status, "error": message.last_error},
                                   after={"status": "queued"})
