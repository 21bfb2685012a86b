"""The one place an essay changes: status transitions and text edits, each version-checked,
recorded in the audit trail, and mirrored into the search index in the same transaction.

Callers open the transaction (``async with db.write() as conn``) and pass the connection, so a
decision, its event and its index update commit or roll back together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiosqlite

from citizenvoice.domain.messaging import notify
from citizenvoice.model.essays import (
    PUBLIC_STATUSES,
    Action,
    Actor,
    BylineParts,
    IllegalTransition,
    Status,
    byline,
    next_status,
)
from citizenvoice.store import essays as essay_store
from citizenvoice.store import search, utcnow
from citizenvoice.store.essays import Essay


class EssayNotFound(LookupError):
    pass


class StaleVersion(Exception):
    """The essay changed since the actor loaded it; nothing was written."""

    message = "这篇文章刚刚被其他人更新过，您看到的是旧版本。请刷新后再操作。"


@dataclass(frozen=True)
class ActorRef:
    kind: Actor
    user_id: int | None = None


AUTHOR = ActorRef(Actor.AUTHOR)
SYSTEM = ActorRef(Actor.SYSTEM)

# The decisions whose reason and note are written to the author: the tracking page shows them (as
# essays.reject_reason and author_note, set below and by moderation for an unpublish). The note of any
# other event is the newsroom's own: an approval's internal note, an edit's explanation, the system's.
ADDRESSED_TO_AUTHOR: frozenset[Action] = frozenset({Action.REJECT, Action.REVISE, Action.UNPUBLISH})


async def _load(conn: aiosqlite.Connection, essay_id: int, version: int | None) -> Essay:
    essay = await essay_store.get_essay(conn, essay_id)
    if essay is None:
        raise EssayNotFound(essay_id)
    if version is not None and version != essay.version:
        raise StaleVersion()
    return essay


def _status_changes(essay: Essay, action: Action, to: Status, reason: str, note: str) -> dict[str, Any]:
    changes: dict[str, Any] = {"status": to}
    if to != Status.PENDING or action == Action.RESUBMIT:
        changes["review_stage"] = 1  # out of the queue, or back in at the start: review begins again
    if to == Status.PUBLISHED and not essay.published_at:
        changes["published_at"] = utcnow()
    if action == Action.REJECT:
        changes.update(reject_reason=reason, author_note=note)
    elif action == Action.REVISE:
        changes.update(author_note=note)
    elif action == Action.RESUBMIT:
        changes.update(author_note="")
    return changes


async def transition(
    conn: aiosqlite.Connection,
    essay_id: int,
    action: Action | str,
    actor: ActorRef,
    *,
    city: str,
    version: int | None = None,
    reason: str = "",
    note: str = "",
    changes: dict[str, Any] | None = None,
    review_stage: int | None = None,
) -> Essay:
    """Move an essay along the state machine; IllegalTransition, StaleVersion or EssayNotFound if not.
    ``review_stage`` is the review level a moderation decision was taken at, for the audit trail."""
    action = Action(action)
    essay = await _load(conn, essay_id, version)
    to = next_status(essay.status, action, actor.kind)
    updates = {**(changes or {}), **_status_changes(essay, action, to, reason, note)}
    if not await essay_store.update_essay(conn, essay_id, essay.version, **updates):
        raise StaleVersion()
    await essay_store.add_event(
        conn, essay_id, str(action), str(essay.status), str(to),
        actor_kind=str(actor.kind), actor_id=actor.user_id, reason=reason, note=note, review_stage=review_stage,
    )
    changed = await _after_change(conn, essay_id, city)
    await notify.status_changed(conn, changed, action)  # the author's message commits with the change
    return changed


async def move_stage(
    conn: aiosqlite.Connection,
    essay_id: int,
    action: str,
    actor: ActorRef,
    *,
    version: int | None,
    from_stage: int,
    to_stage: int,
    note: str = "",
    changes: dict[str, Any] | None = None,
) -> Essay:
    """Hand a pending essay to another review level (``pass`` up, ``send_back`` down): the status stays
    pending, the version moves, the event records the level that decided."""
    essay = await _load(conn, essay_id, version)
    if essay.status != Status.PENDING:
        raise IllegalTransition(essay.status, Action.APPROVE, actor.kind)
    if not await essay_store.update_essay(conn, essay_id, essay.version, **(changes or {}), review_stage=to_stage):
        raise StaleVersion()
    await essay_store.add_event(
        conn, essay_id, action, str(essay.status), str(essay.status),
        actor_kind=str(actor.kind), actor_id=actor.user_id, note=note, review_stage=from_stage,
    )  # fmt: skip
    moved = await essay_store.get_essay(conn, essay_id)
    assert moved is not None
    return moved


async def edit_text(
    conn: aiosqlite.Connection,
    essay_id: int,
    actor: ActorRef,
    *,
    city: str,
    version: int | None,
    headline: str,
    body: str,
    note: str = "",
    extra: dict[str, Any] | None = None,
) -> Essay:
    """Store a corrected text as a new revision (e.g. a moderator fixing typos); status unchanged."""
    essay = await _load(conn, essay_id, version)
    if not await essay_store.update_essay(conn, essay_id, essay.version, headline=headline, body=body, **(extra or {})):
        raise StaleVersion()
    await essay_store.add_revision(conn, essay_id, headline, body, actor_kind=str(actor.kind), actor_id=actor.user_id)
    await essay_store.add_event(
        conn, essay_id, "edit", str(essay.status), str(essay.status),
        actor_kind=str(actor.kind), actor_id=actor.user_id, note=note,
    )
    return await _after_change(conn, essay_id, city)


async def resubmit(
    conn: aiosqlite.Connection,
    essay_id: int,
    *,
    city: str,
    version: int | None,
    headline: str,
    body: str,
    extra: dict[str, Any] | None = None,
) -> Essay:
    """The author's revised text after 需修改: a new revision, back into the queue."""
    essay = await transition(
        conn, essay_id, Action.RESUBMIT, AUTHOR, city=city, version=version,
        changes={"headline": headline, "body": body, **(extra or {})},
    )
    await essay_store.add_revision(conn, essay_id, headline, body, actor_kind="author", actor_id=None)
    return essay


async def _after_change(conn: aiosqlite.Connection, essay_id: int, city: str) -> Essay:
    essay = await essay_store.get_essay(conn, essay_id)
    assert essay is not None
    await sync_search(conn, essay, city)
    return essay


async def sync_search(conn: aiosqlite.Connection, essay: Essay, city: str) -> None:
    """Only what the public may read is ever searchable."""
    if essay.status in PUBLIC_STATUSES:
        await search.index_essay(conn, search_doc(essay, city))
    else:
        await search.remove_essay(conn, essay.id)


def essay_byline(essay: Essay, city: str) -> str:
    parts = BylineParts(essay.affiliation, essay.author_name, essay.byline_mode, essay.author_role)
    return byline(parts, city)


def search_doc(essay: Essay, city: str) -> search.SearchDoc:
    return search.SearchDoc(
        essay_id=essay.id,
        direction=essay.direction_slug,
        headline=essay.headline,
        byline=essay_byline(essay, city),
        body=essay.body,
        published_at=essay.published_at or essay.updated_at,
    )
