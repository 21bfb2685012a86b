"""A reporter enters an essay on its author's behalf (an interview, a letter, a call, a forum).

The essay is the author's: the same fields as the resident's form, checked by the same rules
(:func:`submission.validate`), normalised the same way and screened the same way
(:func:`moderation.prescreen_text` outside the write lock, :func:`moderation.screen_essay` inside it).
It enters the moderation queue as an ordinary pending essay written in the author's name, so bylines,
public pages, search and statistics show the author and never the reporter. What the newsroom needs
to know (who entered it, how it was gathered, how the author agreed) sits beside it in
``compiled_essays``, and the audit trail gets a ``compiled`` event by the reporter.

No rate limits: the reporter is signed-in staff, and a reporter entering ten interviews from one
forum is the job, not abuse. The signed form token still makes a double click store one essay.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from citizenvoice.domain import intake, moderation, photos, submission
from citizenvoice.domain.messaging import notify
from citizenvoice.domain.screening import ScreenerCache
from citizenvoice.model.essays import Status
from citizenvoice.settings import Settings
from citizenvoice.store import compiled as compiled_store
from citizenvoice.store import essays as essay_store
from citizenvoice.store import ratelimit as rate_store
from citizenvoice.store import utcnow
from citizenvoice.text.normalize import normalize_text, visible_length

SOURCES: dict[str, str] = {"interview": "采访", "letter": "来信", "phone": "电话", "event": "座谈会"}
MARK = "记者整理"
CONSENT_NOTE_MIN = 4
CONSENT_NOTE_MAX = 300
FORM_EXPIRED = "这张录入表已过期。您填写的内容都还在下面，请检查后再次点击「录入稿件」。"
FORM_ALREADY_USED = "这张录入表已经录入过另一篇文章。如果这是新的一篇，请检查内容后再次点击「录入稿件」。"
# The fields of the reporter's form beyond the resident's, in the order the form shows them.
EXTRA_FIELDS = ("source", "consent_note")
FIELD_ORDER = (*submission.FIELD_NAMES[:9], "photo", *EXTRA_FIELDS, *submission.FIELD_NAMES[9:])


@dataclass(frozen=True)
class Entered:
    values: dict[str, str]
    form_token: str
    errors: dict[str, str] = field(default_factory=dict)
    alert: str = ""
    status_code: int = 303
    essay_id: int | None = None
    token: str | None = None  # the author's secret tracking token, for the reporter to pass on
    tracking_code: str = ""

    @property
    def stored(self) -> bool:
        return self.essay_id is not None


class _StaleForm(Exception):
    pass


def check_extra(raw: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """How the essay was gathered and how the author agreed: the reporter's own two fields."""
    values = {"source": raw.get("source", "").strip(), "consent_note": normalize_text(raw.get("consent_note", ""))}
    errors: dict[str, str] = {}
    if values["source"] not in SOURCES:
        errors["source"] = "请选择稿件来源：采访、来信、电话或座谈会。"
    count = visible_length(values["consent_note"])
    if count < CONSENT_NOTE_MIN:
        errors["consent_note"] = (
            f"请写明作者是怎样同意发表的（至少 {CONSENT_NOTE_MIN} 个字），例如「11月20日电话确认，同意网站发表和见报」。"
        )
    elif count > CONSENT_NOTE_MAX:
        errors["consent_note"] = f"同意说明最多 {CONSENT_NOTE_MAX} 个字，现在是 {count} 个字，请删减。"
    return values, errors


async def enter(
    db: Any, screener: ScreenerCache, secret: str, raw: Mapping[str, str], *,
    directions: Mapping[str, int], user_id: int, settings: Settings, photo_data: bytes | None = None,
) -> Entered:
    """Store one essay a reporter entered; nothing is written unless every field is right (a photo is
    checked and re-encoded like the resident's, and stored in the essay's transaction)."""
    checked = submission.validate(raw, directions)
    extra, extra_errors = check_extra(raw)
    values = {**checked.values, **extra}
    signed = raw.get(submission.FORM_TOKEN_FIELD, "")
    nonce = submission.read_form_token(secret, signed)
    form_token = signed if nonce else submission.issue_form_token(secret)
    if nonce is None:
        return Entered(values, form_token, alert=FORM_EXPIRED, status_code=400)
    errors = {**checked.errors, **extra_errors}
    if errors:
        return Entered(values, form_token, errors=errors, status_code=422)
    photo = None
    if photo_data is not None:
        try:
            photo = await asyncio.to_thread(photos.process_photo, photo_data, max_bytes=settings.photo_max_bytes)
        except photos.PhotoError as exc:
            return Entered(values, form_token, errors={"photo": exc.message}, status_code=422)
    assert checked.essay is not None
    essay = checked.essay
    saved: list[str] = []
    token = submission.tracking_token(secret, nonce)
    prescreened = await moderation.prescreen_text(db, screener, essay.headline, essay.body)
    stored: dict[str, Any] = {}

    async def transaction(conn: Any) -> None:
        nonlocal essay
        if await rate_store.form_token_used(conn, submission.form_token_hash(nonce)):
            found = await essay_store.get_by_token(conn, token)
            if found is None or (found.headline, found.body) != (essay.headline, essay.body):
                raise _StaleForm()
            stored.update(essay_id=found.id, code=found.tracking_code)
            return
        code = await intake.unused_tracking_code(conn)
        if photo is not None:
            saved.append(photos.store_photo(photo, settings.media_path))
            essay = dataclasses.replace(essay, photo_path=saved[0])
        # The phone came from the author through the reporter (the consent note says how): the receipt
        # with the tracking link goes to it, in this transaction, like a resident's receipt.
        essay_id = await essay_store.insert_essay(conn, essay, tracking_code=code, token=token, submit_ip=None,
                                                  sms_channel=True)
        at = utcnow()
        await compiled_store.add(conn, essay_id, entered_by=user_id, source=extra["source"],
                                 consent_note=extra["consent_note"], at=at)
        # The consent note stays out of the append-only trail: it may name the author or a phone
        # number, and erasure must be able to blank it (it lives in compiled_essays alone).
        await essay_store.add_event(conn, essay_id, "compiled", None, Status.PENDING, actor_kind="editor",
                                    actor_id=user_id, reason=SOURCES[extra["source"]], at=at)
        await rate_store.use_form_token(conn, submission.form_token_hash(nonce), essay_id)
        await moderation.screen_essay(conn, screener, essay_id, prescreened)
        await notify.received(conn, essay_id, code, essay)
        stored.update(essay_id=essay_id, code=code)

    try:
        await db.write_at_once(transaction)
    except _StaleForm:
        return Entered(values, submission.issue_form_token(secret), alert=FORM_ALREADY_USED, status_code=409)
    except sqlite3.IntegrityError:
        # Another worker stored this form token first: the same essay, already entered (its photo is the
        # same file, stored by content, which discard_photos sees in use and keeps).
        await intake.discard_photos(db, settings, saved)
        async with db.read() as conn:
            found = await essay_store.get_by_token(conn, token)
        if found is None:
            raise
        stored.update(essay_id=found.id, code=found.tracking_code)
    except BaseException:
        await intake.discard_photos(db, settings, saved)
        raise
    return Entered(values, form_token, essay_id=stored["essay_id"], token=token, tracking_code=stored["code"])


def credit_line(reporters: list[str]) -> str:
    """The page credit for the reporters who compiled its essays."""
    return f"本栏目内容由本报记者{'、'.join(reporters)}整理" if reporters else ""


CREDIT_PREFIX = "本栏目内容由本报记者"


def refreshed_credits(credits: str, before: str, after: str) -> str | None:
    """The page's credits with the compiled-by line brought up to date, or None to leave them alone.

    The line is the desk's to edit: it is replaced only while it is still the line this function
    wrote (``before``) or the bare placeholder "本栏目内容由本报记者整理"; a page without such a
    line gets it as its first line. An edited line is never overwritten."""
    if before == after:
        return None
    lines = credits.splitlines()
    placeholder = f"{CREDIT_PREFIX}整理"
    for i, line in enumerate(lines):
        if line.strip() in (before, placeholder) and line.strip():
            lines[i:i + 1] = [after] if after else []
            return "\n".join(lines)
    if any(line.strip().startswith(CREDIT_PREFIX) for line in lines) or not after:
        return None
    return "\n".join([after, *lines])
