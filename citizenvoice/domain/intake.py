"""A resident's essay on its way in: from the posted form to the moderation queue, in one call.

:func:`submit` checks the fields and the form token, refuses bots and abusers, decodes the photo, and
stores the essay, its photo, its used form token and its screening findings in one transaction. The
view only parses the request (and checks CSRF, an HTTP matter) and renders what comes back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from citizenvoice.domain import moderation, photos, ratelimit, submission, verification
from citizenvoice.domain.messaging import notify
from citizenvoice.domain.screening import ScreenerCache
from citizenvoice.model.essays import new_tracking_code
from citizenvoice.settings import Settings
from citizenvoice.store import admin as admin_store
from citizenvoice.store import essays as essay_store
from citizenvoice.store import ratelimit as rate_store
from citizenvoice.store.essays import NewEssay

TEXT_KEPT = "您填写的内容都还在下面。"
FORM_EXPIRED = f"这张表单已过期。{TEXT_KEPT}请检查后再次点击「提交投稿」。"
FORM_ALREADY_USED = "这张表单已经提交过一篇文章。如果这是另一篇新文章，请检查内容后再次点击「提交投稿」。"
KEY_ALREADY_USED = "这个 idempotency_key 已经提交过另一篇文章。新文章请用新的键。"
BOT_REFUSED = "提交未能完成。请刷新页面后重新提交。"


@dataclass(frozen=True)
class Submitted:
    """What became of one POST of the form: a tracking token, or what to show the resident again."""

    values: dict[str, str]  # cleaned values, to fill the form again
    form_token: str  # the form token the form shown again carries
    token: str | None = None  # the tracking token: stored now, or by an earlier identical POST
    errors: dict[str, str] = field(default_factory=dict)
    alert: str = ""
    status_code: int = 303
    retry_after: int | None = None
    refused: bool = False  # a bot: no form again, a plain refusal
    verified_phone: str = ""  # a phone this POST proved by its code: the browser may remember it

    @property
    def stored(self) -> bool:
        return self.token is not None


class _StaleForm(Exception):
    """The form token already created an essay with a different text: a new essay on an old form."""


def unverified(secret: str, raw: Mapping[str, str], directions: Mapping[str, int], alert: str) -> Submitted:
    """The form shown again, nothing stored, when the request's origin could not be verified (CSRF)."""
    signed = raw.get(submission.FORM_TOKEN_FIELD, "")
    form_token = signed if submission.read_form_token(secret, signed) else submission.issue_form_token(secret)
    values = submission.validate(raw, directions).values
    return Submitted(values, form_token, alert=f"{alert}{TEXT_KEPT}", status_code=403)


async def submit(
    db: Any,
    screener: ScreenerCache,
    settings: Settings,
    secret: str,
    raw: Mapping[str, str],
    photo_data: bytes | None,
    *,
    directions: Mapping[str, int],
    ip: str,
    phone_code: str = "",
    remembered_phone: bool = False,
) -> Submitted:
    """Take one posted form (``raw`` by field name, ``directions`` slug → id of the open ones).

    With phone verification required, the essay is stored only when ``phone_code`` is the phone's
    valid code, or the browser already proved this phone (``remembered_phone``)."""
    checked = submission.validate(raw, directions)
    signed = raw.get(submission.FORM_TOKEN_FIELD, "")
    nonce = submission.read_form_token(secret, signed)
    form_token = signed if nonce else submission.issue_form_token(secret)
    if raw.get(submission.HONEYPOT_FIELD):
        # A field no person can see or reach was filled in: a bot. Nothing is stored, and the answer is
        # a plain refusal rather than a fake success, so a person caught by mistake (an over-eager
        # autofill) is not told their essay arrived when it did not.
        return Submitted(checked.values, form_token, alert=BOT_REFUSED, status_code=400, refused=True)
    if nonce is None:
        return Submitted(checked.values, form_token, alert=FORM_EXPIRED, status_code=400)
    if not checked.ok:
        return Submitted(checked.values, form_token, errors=checked.errors, status_code=422)
    photo = None
    if photo_data is not None:
        try:
            # Decoding and re-encoding is CPU work; keep it off the event loop.
            photo = await asyncio.to_thread(photos.process_photo, photo_data, max_bytes=settings.photo_max_bytes)
        except photos.PhotoError as exc:
            return Submitted(checked.values, form_token, errors={"photo": exc.message}, status_code=422)
    assert checked.essay is not None
    needs_code = settings.phone_verification == "required" and not remembered_phone
    try:
        token, code_error = await _store(db, screener, settings, secret, checked.essay, photo, nonce, ip,
                                         phone_code if needs_code else None)
    except ratelimit.RateLimited as exc:
        return Submitted(checked.values, form_token, alert=exc.message, status_code=429,
                         retry_after=exc.retry_after)
    except _StaleForm:
        return Submitted(checked.values, submission.issue_form_token(secret), alert=FORM_ALREADY_USED,
                         status_code=409)
    if code_error:
        return Submitted(checked.values, form_token, errors={"phone_code": code_error}, status_code=422)
    return Submitted(checked.values, form_token, token=token, verified_phone=checked.essay.phone if needs_code else "")


async def submit_keyed(
    db: Any,
    screener: ScreenerCache,
    settings: Settings,
    secret: str,
    raw: Mapping[str, str],
    *,
    key: str,
    directions: Mapping[str, int],
    ip: str,
    phone_code: str = "",
) -> Submitted:
    """The same submission for a client that sends an idempotency key instead of a signed form token (the
    JSON API): the same validation, limits, screening and transaction. The key plays the form token's
    part, in its own namespace, so a retry with the same key and text gets the same tracking token.
    With phone verification required the same code is required too (the API has no remembered phone)."""
    checked = submission.validate(raw, directions)
    if not checked.ok:
        return Submitted(checked.values, "", errors=checked.errors, status_code=422)
    assert checked.essay is not None
    needs_code = settings.phone_verification == "required"
    try:
        token, code_error = await _store(db, screener, settings, secret, checked.essay, None, f"api:{key}", ip,
                                         phone_code if needs_code else None)
    except ratelimit.RateLimited as exc:
        return Submitted(checked.values, "", alert=exc.message, status_code=429, retry_after=exc.retry_after)
    except _StaleForm:
        return Submitted(checked.values, "", alert=KEY_ALREADY_USED, status_code=409)
    if code_error:
        return Submitted(checked.values, "", errors={"phone_code": code_error}, status_code=422)
    return Submitted(checked.values, "", token=token)


async def _store(
    db: Any, screener: ScreenerCache, settings: Settings, secret: str, essay: NewEssay,
    photo: photos.ProcessedPhoto | None, nonce: str, ip: str, phone_code: str | None,
) -> tuple[str, str]:
    """Store the essay, its photo and its used form token in one transaction; return the tracking token
    and, when ``phone_code`` was to be checked and is not the phone's valid code, the error (then the
    transaction commits only the counted try, and no essay)."""
    token = submission.tracking_token(secret, nonce)
    saved: list[str] = []
    # Screening is CPU work on the text alone: done here, it does not hold up the one writer.
    prescreened = await moderation.prescreen_text(db, screener, essay.headline, essay.body)

    async def transaction(conn: Any) -> str:
        nonlocal essay
        if await _already_stored(conn, nonce, token, essay):
            return ""  # a double tap of a stored essay: its code was used by the first
        if phone_code is not None:
            # In the essay's own transaction: a wrong code commits its counted try and nothing else; a
            # right one is used up only if the essay is stored (a refusal below rolls both back).
            checked = await verification.check(conn, secret, essay.phone, phone_code)
            if not checked.ok:
                return checked.error
        ip_limit, phone_limit = ratelimit.submit_limits(settings)
        await ratelimit.hit(conn, secret, [(ip_limit, ip), (phone_limit, essay.phone)])
        if photo is not None:
            saved.append(photos.store_photo(photo, settings.media_path))
        essay = dataclasses.replace(essay, photo_path=saved[0] if saved else None)
        code = await unused_tracking_code(conn)
        # Verified, or verification off (then the per-phone limit bounds what the phone can be sent).
        essay_id = await essay_store.insert_essay(conn, essay, tracking_code=code, token=token, submit_ip=ip,
                                                  sms_channel=True)
        await rate_store.use_form_token(conn, submission.form_token_hash(nonce), essay_id)
        await moderation.screen_essay(conn, screener, essay_id, prescreened)
        await notify.received(conn, essay_id, code, essay)
        return ""

    try:
        # ~20 statements in one round trip to the writer's thread (db.write_at_once explains why).
        code_error = await db.write_at_once(transaction)
    except sqlite3.IntegrityError:
        # Another worker process stored this form token first (primary key): it is the same essay, and
        # its photo is the same file (stored by content), which discard_photos sees in use and keeps.
        await discard_photos(db, settings, saved)
        return token, ""
    except BaseException:
        await discard_photos(db, settings, saved)
        raise
    return token, code_error


async def _already_stored(conn: Any, nonce: str, token: str, essay: NewEssay) -> bool:
    """True if this form token already made this essay (a double tap or a retry); _StaleForm if it made
    a different one (the same old form reused for a new text, which must not vanish into the first)."""
    if not await rate_store.form_token_used(conn, submission.form_token_hash(nonce)):
        return False
    stored = await essay_store.get_by_token(conn, token)
    if stored is not None and (stored.headline, stored.body) != (essay.headline, essay.body):
        raise _StaleForm()
    return True


async def unused_tracking_code(conn: Any) -> str:
    while True:
        code = new_tracking_code()
        if not await essay_store.tracking_code_exists(conn, code):
            return code


async def discard_photos(db: Any, settings: Settings, saved: list[str]) -> None:
    """Delete the photo a failed submission wrote, unless a stored essay uses the same file."""
    for relative in saved:
        async with db.read() as conn:
            in_use = await admin_store.photo_in_use(conn, relative)
        if not in_use:
            photos.delete_photo(settings.media_path, relative)


@dataclass(frozen=True)
class CodeAsked:
    """What became of one press of 「获取验证码」: the form again, every field kept, and a notice or an error."""

    values: dict[str, str]
    form_token: str
    notice: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    status_code: int = 200
    wait: int = 0  # seconds before another code may be asked for


async def ask_code(db: Any, settings: Settings, secret: str, raw: Mapping[str, str],
                   directions: Mapping[str, int], ip: str) -> CodeAsked:
    """Send a verification code to the form's phone (the SMS is queued in the code's transaction)."""
    values = {**submission.validate(raw, directions).values, "phone_code": ""}
    signed = raw.get(submission.FORM_TOKEN_FIELD, "")
    form_token = signed if submission.read_form_token(secret, signed) else submission.issue_form_token(secret)
    phone = submission.clean_phone(raw.get("phone", ""))
    phone_error = submission.check_phone(phone)
    if phone_error:
        return CodeAsked(values, form_token, errors={"phone": phone_error}, status_code=422)
    try:
        async with db.write() as conn:
            await verification.issue(conn, secret, settings, phone, ip)
    except verification.CodeRefused as exc:
        return CodeAsked(values, form_token, errors={"phone_code": exc.message}, status_code=429,
                         wait=exc.retry_after or 0)
    notice = (f"验证码已发送到 {submission.mask_phone(phone)}，10 分钟内有效。"
              "收到短信后把 6 位数字填在下面，再点「提交投稿」。")
    return CodeAsked(values, form_token, notice=notice, wait=verification.RESEND_AFTER)
