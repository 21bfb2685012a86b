"""When a message is promised: each helper queues rows in the caller's transaction, so a status change
and the messages it promises commit (or roll back) together.

SMS go to the phone only when it may receive them (``essays.sms_channel``: verified, or given while
verification was off); mail goes to the address the author left. An author who stopped notifications
on the tracking page gets none (the verification code and a requested lost link are not notifications).
"""

from __future__ import annotations

from typing import Any

from citizenvoice.domain.messaging import templates
from citizenvoice.model.essays import Action
from citizenvoice.store import messages as store
from citizenvoice.store import utcnow
from citizenvoice.store.essays import Essay, NewEssay

# The action that moved an essay -> the message that tells its author.
ACTION_TEMPLATES: dict[Action, str] = {
    Action.REVISE: "needs_revision",
    Action.REJECT: "rejected",
    Action.APPROVE: "published",
    Action.PRINT: "printed",
}


async def queue(conn: Any, key: str, channel: str, recipient: str, template: str, params: dict[str, Any],
                essay_id: int | None = None) -> bool:
    if channel == "sms":
        params = {k: templates.short(v) if k in {"note", "reason", "headline"} else v for k, v in params.items()}
    return await store.enqueue(conn, key=f"{key}:{channel}", channel=channel, recipient=recipient,
                               template=template, params=params, essay_id=essay_id, at=utcnow())


async def to_author(conn: Any, essay: Essay, template: str, params: dict[str, Any], key: str) -> int:
    """Queue ``template`` to the essay's phone and e-mail, as the author allows; how many were queued."""
    if not essay.notify:
        return 0
    queued = 0
    if essay.phone and essay.sms_channel:
        queued += await queue(conn, key, "sms", essay.phone, template, params, essay.id)
    if essay.email:
        queued += await queue(conn, key, "email", essay.email, template, params, essay.id)
    return queued


async def received(conn: Any, essay_id: int, tracking_code: str, essay: NewEssay) -> int:
    """The receipt of a new essay (from what intake just stored: no second read on the busy path)."""
    params = {"headline": essay.headline, "tracking_code": tracking_code, "track": essay_id}
    key = f"essay:{essay_id}:received"
    queued = 0
    if essay.phone:  # a new essay's phone may receive messages (essays.sms_channel)
        queued += await queue(conn, key, "sms", essay.phone, "received", params, essay_id)
    if essay.email:
        queued += await queue(conn, key, "email", essay.email, "received", params, essay_id)
    return queued


async def status_changed(conn: Any, essay: Essay, action: Action) -> int:
    """Called by lifecycle.transition with the essay as it now is."""
    template = ACTION_TEMPLATES.get(action)
    if template is None:
        return 0
    params: dict[str, Any] = {"tracking_code": essay.tracking_code}
    if action == Action.REVISE:
        params.update(note=essay.author_note or "请查看编辑的修改意见", track=essay.id)
    elif action == Action.REJECT:
        params.update(reason=essay.reject_reason or essay.author_note or "未说明", track=essay.id)
    elif action == Action.APPROVE:
        params.update(path=f"/essays/{essay.id}")
    elif action == Action.PRINT:
        params.update(edition=essay.printed_edition or "")
    return await to_author(conn, essay, template, params, f"essay:{essay.id}:v{essay.version}:{template}")


async def signoff_requested(conn: Any, essay: Essay, request_key: str) -> int:
    params = {"tracking_code": essay.tracking_code, "track": essay.id, "suffix": "/signoff"}
    return await to_author(conn, essay, "signoff_requested", params, f"essay:{essay.id}:signoff:{request_key}")
