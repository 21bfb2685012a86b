"""Authors' rights over their personal information (in the spirit of the PIPL): a copy of everything
stored about their essay, erasure on request, and the retention rule that erases what is no longer
needed without anyone asking.

What counts as personal data here: the name, the unit and title (they identify as surely as a name),
the phone number, the e-mail address, the photo and the IP address. The essay's text is the author's
to keep public anonymously or to take down.
"""

from __future__ import annotations

import base64
import json
import mimetypes
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from citizenvoice.domain import lifecycle
from citizenvoice.model.essays import STATUS_LABELS, Action, Actor, Status
from citizenvoice.model.review import INTERNAL_REVIEW_ACTIONS
from citizenvoice.store import admin as admin_store
from citizenvoice.store import essays as essay_store
from citizenvoice.store import messages as message_store
from citizenvoice.store import utcnow

KEEP_TEXT_CHOICES: dict[str, str] = {
    "anonymous": "保留文章，署名改为「{city}市民」",
    "remove": "文章一并删除，从网站和搜索中撤下",
}
REMOVED_HEADLINE = "（应作者要求，本文已删除）"

# IP addresses and hashed rate-limit keys are kept this long: the longest rate-limit window is an hour
# (submissions per IP and per phone); a day leaves room for investigating an ongoing flood.
RATE_DATA_KEEP = timedelta(days=1)
PURGE_BATCH = 50


class ErasureError(ValueError):
    pass


# ---------------------------------------------------------------------------------------------------
# Export


# The author's copy is built from these allow-lists, level by level: a field is in it because it is
# listed here, so a column added later stays out until someone decides the author should have it.
# /2: the schema-wide "related" section of /1 (which carried staff notes, screening findings and
# other essays' ids) is gone; staff are "newsroom"; the sign-off requests are new. "compiled" (added
# within /2, a new key): how a reporter gathered an essay entered for its author, else null.
EXPORT_FORMAT = "citizenvoice-export/2"
# The essay's own fields; the document adds status_label, and the photo file goes under "photo".
ESSAY_FIELDS = (
    "id", "tracking_code", "status", "direction_name", "headline", "body", "author_role", "author_name",
    "affiliation", "byline_mode", "phone", "email", "consent_print", "submitted_at", "published_at",
    "printed_edition", "personal_data_erased_at", "text_removed_at",
)  # fmt: skip
REVISION_FIELDS = ("number", "headline", "body", "by", "created_at")
EVENT_FIELDS = ("action", "from_status", "to_status", "by", "reason", "note_to_author", "created_at")
SIGNOFF_FIELDS = ("requested_at", "headline", "byline", "body", "answer", "answer_note", "answered_at")
ERASURE_FIELDS = ("source", "keep_text", "created_at")
COMPILED_FIELDS = ("source", "consent_note", "entered_at")


async def export_document(conn: aiosqlite.Connection, essay_id: int, *, media_dir: Path) -> dict[str, Any]:
    """The author's copy of their data, for the tracking page's download and ``citizenvoice export``:
    their texts, revisions, photo, consents, status history and the reasons written to them (what the
    tracking page shows them). Nothing internal: no staff notes, names or roles, no screening
    findings, duplicate links or high-risk mark, no IP address or token hash, nothing about other essays.
    """
    essay = await admin_store.essay_export_row(conn, essay_id)
    if essay is None:
        raise LookupError(essay_id)
    revisions = await admin_store.revision_export_rows(conn, essay_id)
    events = await admin_store.event_export_rows(conn, essay_id)
    signoffs = await admin_store.signoff_export_rows(conn, essay_id)
    erasures = await admin_store.erasure_rows(conn, essay_id)
    compiled = await admin_store.compiled_export_row(conn, essay_id)
    return {
        "format": EXPORT_FORMAT,
        "exported_at": utcnow(),
        "essay": {**_pick(essay, ESSAY_FIELDS), "status_label": STATUS_LABELS[Status(essay["status"])]},
        "photo": photo_export(media_dir, essay["photo_path"]),
        "revisions": [_pick({**r, "by": _by(r["actor_kind"])}, REVISION_FIELDS) for r in revisions],
        # Hand-overs between review levels are the newsroom's own: the author's essay is 审核中 throughout.
        "events": [_pick(_event_as_told(e), EVENT_FIELDS) for e in events if e["action"] not in INTERNAL_REVIEW_ACTIONS],
        "signoffs": [_pick(r, SIGNOFF_FIELDS) for r in signoffs],
        "erasure_requests": [_pick(r, ERASURE_FIELDS) for r in erasures],
        "compiled": _pick(compiled, COMPILED_FIELDS) if compiled else None,
    }


def export_json(document: dict[str, Any]) -> str:
    # No default=: a value JSON cannot hold (bytes…) could only come from a field nobody allowed.
    return json.dumps(document, ensure_ascii=False, indent=2)


def _pick(row: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {name: row[name] for name in fields}


def _by(actor_kind: str) -> str:
    # As the tracking page tells it: 您, 系统, or 编辑部 for every member of staff, whose roles and
    # names are not the author's data.
    return actor_kind if actor_kind in (Actor.AUTHOR, Actor.SYSTEM) else "newsroom"


def _event_as_told(row: dict[str, Any]) -> dict[str, Any]:
    """Only a decision's reason and note written to the author are theirs; any other note is internal."""
    to_author = row["action"] in lifecycle.ADDRESSED_TO_AUTHOR and row["actor_kind"] != Actor.AUTHOR
    return {
        **row,
        "by": _by(row["actor_kind"]),
        "reason": row["reason"] if to_author else "",
        "note_to_author": row["note"] if to_author else "",
    }


def photo_export(media_dir: Path, photo_path: str | None) -> dict[str, Any] | None:
    file = media_file(media_dir, photo_path)
    if file is None or not file.is_file():
        return None
    data = file.read_bytes()
    return {
        "path": photo_path,
        "content_type": mimetypes.guess_type(file.name)[0] or "application/octet-stream",
        "bytes": len(data),
        "base64": base64.b64encode(data).decode("ascii"),
    }


def media_file(media_dir: Path, relative: str | None) -> Path | None:
    """The file a stored media path names, or None if the path would leave the media directory."""
    if not relative:
        return None
    root = media_dir.resolve()
    file = (root / relative).resolve()
    return file if file.is_relative_to(root) and file != root else None


def delete_media(media_dir: Path, relative: str | None) -> bool:
    file = media_file(media_dir, relative)
    if file is None or not file.exists():
        return False
    file.unlink()
    return True


# ---------------------------------------------------------------------------------------------------
# Erasure on the author's request


async def erase_for_author(
    conn: aiosqlite.Connection, essay_id: int, keep_text: str, *, city: str, media_dir: Path
) -> None:
    """Erase the author's personal data at once; keep the text anonymously or take it down.

    Runs inside the caller's write transaction. The photo file goes before the commit: should the
    commit fail, a row pointing at a missing photo is the lesser harm than a photo kept against the
    author's wish (``citizenvoice check`` reports either).
    """
    if keep_text not in KEEP_TEXT_CHOICES:
        raise ErasureError("请选择正文的处理方式。")
    essay = await essay_store.get_essay(conn, essay_id)
    if essay is None:
        raise LookupError(essay_id)
    _, removed_at = await admin_store.erasure_state(conn, essay_id)
    at = utcnow()
    if keep_text == "remove" and removed_at is None:
        await _take_offline(conn, essay, city)
    photo = await admin_store.erase_personal_data(conn, essay_id, at=at)
    await message_store.erase_for_essay(conn, essay_id)
    remove = keep_text == "remove"
    if remove:
        await admin_store.remove_text(conn, essay_id, placeholder=REMOVED_HEADLINE, at=at)
    await admin_store.erase_print_copies(
        conn, essay_id, byline=f"{city}市民", remove_text=remove, placeholder=REMOVED_HEADLINE
    )
    await admin_store.record_erasure(conn, essay_id, source="author", keep_text=keep_text, at=at)
    after = await essay_store.get_essay(conn, essay_id)
    assert after is not None
    note = "作者要求删除个人信息；" + ("正文已删除" if keep_text == "remove" else "正文匿名保留")
    await essay_store.add_event(
        conn, essay_id, "erase", str(after.status), str(after.status), actor_kind="author", note=note, at=at
    )
    # Re-index with the anonymous byline, or drop from the index when the text is gone.
    await lifecycle.sync_search(conn, after, city)
    await _delete_photo_unless_shared(conn, media_dir, photo)


async def _delete_photo_unless_shared(conn: aiosqlite.Connection, media_dir: Path, photo: str | None) -> bool:
    # Photos are stored by content: another essay with the very same picture keeps the file.
    if photo is None or await admin_store.photo_in_use(conn, photo):
        return False
    return delete_media(media_dir, photo)


async def _take_offline(conn: aiosqlite.Connection, essay: essay_store.Essay, city: str) -> None:
    if essay.status in (Status.PENDING, Status.NEEDS_REVISION, Status.PUBLISHED):
        await lifecycle.transition(conn, essay.id, Action.WITHDRAW, lifecycle.AUTHOR, city=city)
    elif essay.status == Status.PRINTED:
        # The state machine lets nobody un-print an essay; the right to deletion still takes the online
        # copy down (the printed edition itself stays in the paper's archive, as printed).
        await admin_store.force_status(conn, essay.id, str(Status.WITHDRAWN), at=utcnow())
        await essay_store.add_event(
            conn,
            essay.id,
            str(Action.WITHDRAW),
            str(Status.PRINTED),
            str(Status.WITHDRAWN),
            actor_kind="author",
            note="作者要求删除，网络版撤下（已见报版面不受影响）",
        )
    # Rejected, unpublished and withdrawn essays are not public; their status stays as it is.


# ---------------------------------------------------------------------------------------------------
# Retention


@dataclass(frozen=True)
class PurgeReport:
    essays: int
    photos: int
    ips: int
    rate_events: int
    login_failures: int

    def summary(self) -> str:
        return (
            f"essays erased: {self.essays}, photos deleted: {self.photos}, IPs cleared: {self.ips},"
            f" rate events deleted: {self.rate_events}, login failures deleted: {self.login_failures}"
        )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def purge(
    db: Any, *, retention_days: int, media_dir: Path, city: str, now: datetime | None = None
) -> PurgeReport:
    """Apply the retention rule. Idempotent: a second run finds nothing left to do."""
    now = now or datetime.now(UTC)
    essays = photos = 0
    while True:
        async with db.write() as conn:
            due = await admin_store.essays_due_for_purge(
                conn, before=_iso(now - timedelta(days=retention_days)), limit=PURGE_BATCH
            )
            for essay_id in due:
                photos += await _purge_essay(conn, essay_id, media_dir, city)
        essays += len(due)
        if len(due) < PURGE_BATCH:
            break
    rate_cutoff = now - RATE_DATA_KEEP
    async with db.write() as conn:
        ips = await admin_store.clear_old_ips(conn, before=_iso(rate_cutoff))
        rate_events = await admin_store.delete_old_rate_events(conn, before=rate_cutoff.timestamp())
        failures = await admin_store.delete_old_login_failures(conn, before=rate_cutoff.timestamp())
        # Sent messages and used codes hold phone numbers: kept only as long as the rate data.
        await message_store.delete_old(conn, before=_iso(rate_cutoff))
        await message_store.purge_codes(conn, before=_iso(rate_cutoff))
    return PurgeReport(essays, photos, ips, rate_events, failures)


async def _purge_essay(conn: aiosqlite.Connection, essay_id: int, media_dir: Path, city: str) -> int:
    at = utcnow()
    photo = await admin_store.erase_personal_data(conn, essay_id, at=at)
    await message_store.erase_for_essay(conn, essay_id)
    await admin_store.erase_print_copies(
        conn, essay_id, byline=f"{city}市民", remove_text=False, placeholder=REMOVED_HEADLINE
    )
    await admin_store.record_erasure(conn, essay_id, source="retention", keep_text="not_public", at=at)
    status = await admin_store.essay_status(conn, essay_id)
    await essay_store.add_event(
        conn, essay_id, "erase", status, status, actor_kind="system", note="保存期限已到，个人信息已删除"
    )
    return int(await _delete_photo_unless_shared(conn, media_dir, photo))
