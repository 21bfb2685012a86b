"""The one way tests store an essay without the submission form: ``make_essay(client, status, …)``.

The essay goes in as the form stores it (``store.essays.insert_essay``, then screened in the same
transaction, as ``views/submit.py`` does) and reaches ``status`` through ``lifecycle.transition``, the
way moderators, editors and authors move it, with the city of the app's site settings. Each essay has
every private field filled (phone, e-mail, address, a secret tracking token), so tests that look for
leaks have something to look for.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from unittest import mock

from starlette.testclient import TestClient
from support import SAMPLE_BODY, db_write

from citizenvoice.domain import lifecycle, moderation, sitesettings
from citizenvoice.domain.screening import ScreenerCache
from citizenvoice.model.essays import Action, Actor, Status, new_tracking_code
from citizenvoice.store import directions as direction_store
from citizenvoice.store import essays as essay_store

PHONE = "13812345678"
EMAIL = "writer@example.cn"
SUBMIT_IP = "203.0.113.9"  # a documentation address: it cannot be mistaken for the test server's own
EDITION = "《锦州日报》2026-11-24 T08版"

MODERATOR = lifecycle.ActorRef(Actor.MODERATOR)
EDITOR = lifecycle.ActorRef(Actor.EDITOR)

# How each status is reached, as in production.
STEPS: dict[str, list[tuple[Action, lifecycle.ActorRef]]] = {
    "pending": [],
    "published": [(Action.APPROVE, MODERATOR)],
    "printed": [(Action.APPROVE, MODERATOR), (Action.PRINT, EDITOR)],
    "rejected": [(Action.REJECT, MODERATOR)],
    "needs_revision": [(Action.REVISE, MODERATOR)],
    "unpublished": [(Action.APPROVE, MODERATOR), (Action.UNPUBLISH, MODERATOR)],
    "withdrawn": [(Action.WITHDRAW, lifecycle.AUTHOR)],
    "withdrawn_after_publishing": [(Action.APPROVE, MODERATOR), (Action.WITHDRAW, lifecycle.AUTHOR)],
}


class StoredEssay(NamedTuple):
    id: int
    token: str  # the author's secret tracking token (only its hash is stored)


def make_essay(
    client: TestClient,
    status: Status | str = "pending",
    *,
    headline: str = "港口的灯光照亮回家的路",
    body: str = SAMPLE_BODY,
    direction: str = "wellbeing",
    author_role: str = "resident",
    author_name: str = "李春梅",
    affiliation: str = "",
    byline_mode: str = "full",
    phone: str = PHONE,
    email: str = EMAIL,
    consent_print: bool = True,
    photo: bytes | None = None,
    photo_path: str | None = None,
    submit_ip: str = SUBMIT_IP,
    submitted_hours_ago: float | None = None,
    screen: bool = True,
    featured: bool = False,
    published_at: str | None = None,
    edition: str = EDITION,
    reason: str = "测试理由",
    note: str = "测试备注",
) -> StoredEssay:
    """Store an essay and bring it to ``status`` (a Status or a key of STEPS); returns (id, token).

    ``photo``: the bytes of a photo file written to the media directory (``photo_path`` names one
    already there). ``submitted_hours_ago`` dates the submission back; ``published_at`` (ISO, UTC)
    fixes the moment the essay is published. ``featured`` is set on approval and ``edition`` when it
    is printed. ``screen=False`` leaves the screening out: no flags, no duplicate links.
    """
    token = secrets.token_urlsafe(24)
    if photo is not None:
        photo_path = _store_photo(client, photo)

    async def make(conn: Any) -> int:
        board = await direction_store.get_by_slug(conn, direction)
        assert board is not None, direction
        new = essay_store.NewEssay(
            direction_id=board.id, headline=headline, body=body, author_role=author_role, author_name=author_name,
            affiliation=affiliation, byline_mode=byline_mode, phone=phone, email=email, photo_path=photo_path,
            consent_print=consent_print,
        )
        submitted = None if submitted_hours_ago is None else datetime.now(UTC) - timedelta(hours=submitted_hours_ago)
        with _clock(essay_store, submitted and moderation.iso(submitted)):
            essay_id = await essay_store.insert_essay(
                conn, new, tracking_code=new_tracking_code(), token=token, submit_ip=submit_ip
            )
        if screen:
            # A cache of its own: the app's is the app's business; the screening is the same.
            screener = await moderation.load_screener(conn, ScreenerCache())
            await moderation.screen_submission(conn, essay_id, screener)
        city = (await sitesettings.load(conn, client.app.state.settings)).city
        for action, actor in STEPS[str(status)]:
            changes: dict[str, Any] = {}
            if action == Action.APPROVE:
                changes["featured"] = int(featured)
            if action == Action.PRINT:
                changes["printed_edition"] = edition
            with _clock(lifecycle, published_at):
                await lifecycle.transition(
                    conn, essay_id, action, actor, city=city, reason=reason, note=note, changes=changes
                )
        return essay_id

    return StoredEssay(db_write(client, make), token)


def _store_photo(client: TestClient, photo: bytes) -> str:
    relative = f"photos/{secrets.token_hex(8)}.jpg"
    target = client.app.state.settings.media_path / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(photo)
    return relative


@contextmanager
def _clock(module: Any, moment: str | None) -> Iterator[None]:
    """``module.utcnow()`` answers ``moment`` meanwhile (the real time when it is None)."""
    if moment is None:
        yield
        return
    with mock.patch.object(module, "utcnow", lambda: moment):
        yield
