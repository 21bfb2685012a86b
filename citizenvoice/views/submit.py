"""The resident's side: the submission form, the receipt and tracking page, withdraw and revise, and
finding a tracking page again by tracking code + phone.

Tracking pages are reached two ways, and behave the same: ``/track/{token}`` with the secret token the
receipt redirect hands out (only its hash is stored), and ``/track/code/{signed}``, the one-hour link a
correct code + phone pair yields. Both carry a secret in the URL, so their responses are never cached,
never indexed and never send the URL on as a referrer.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from citizenvoice.domain import lifecycle, moderation, photos, ratelimit, submission
from citizenvoice.model.directions import Direction, by_pillar
from citizenvoice.model.essays import (
    Action,
    Actor,
    IllegalTransition,
    allowed_actions,
    new_tracking_code,
    normalize_tracking_code,
)
from citizenvoice.store import directions as direction_store
from citizenvoice.store import essays as essay_store
from citizenvoice.store import printdesk as print_store
from citizenvoice.store import ratelimit as rate_store
from citizenvoice.store.essays import Essay, NewEssay
from citizenvoice.text import numbers
from citizenvoice.web import sitesettings
from citizenvoice.web.forms import parse_form, read_form, text_field
from citizenvoice.web.routing import PUBLIC, route
from citizenvoice.web.security import CSRF_FAILED_MESSAGE, CSRF_FIELD, client_ip, csrf_valid
from citizenvoice.web.templating import render

PRIVATE_HEADERS = {"cache-control": "no-store", "referrer-policy": "no-referrer", "x-robots-tag": "noindex"}
# The form carries a one-time form token: a cached copy would hand the next essay an already-used token.
FORM_HEADERS = {"cache-control": "no-store"}
NOT_FOUND = "没有找到这篇投稿。请检查链接是否完整，或用投稿编号和手机号后四位查询。"
LINK_EXPIRED = "这个查询链接已失效（有效期一小时）。请重新用投稿编号和手机号后四位查询。"
LOOKUP_MISS = "没有找到与这组投稿编号和手机号后四位相符的投稿。请核对后再试。"
TEXT_KEPT = "您填写的内容都还在下面。"


class StaleForm(Exception):
    """The form token already created an essay with a different text: a new essay on an old form."""


# ---------------------------------------------------------------------------------------------------
# The form


async def _open_directions(request: Request) -> list[Direction]:
    async with request.app.state.db.read() as conn:
        return await direction_store.list_directions(conn, include_archived=False)


def _form_page(
    request: Request,
    directions: list[Direction],
    *,
    values: dict[str, str],
    form_token: str,
    errors: dict[str, str] | None = None,
    alert: str = "",
    photo_dropped: bool = False,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    errors = errors or {}
    context = {
        "values": values,
        "errors": errors,
        "summary": [(name, errors[name]) for name in submission.FIELD_ORDER if name in errors],
        "pillars": [group for group in by_pillar(directions) if group[2]],
        "rules": submission.RULES,
        "labels": {**{name: rule.label for name, rule in submission.RULES.items()}, "photo": "照片"},
        "byline_modes": submission.BYLINE_MODES,
        "photo_types": submission.PHOTO_TYPES,
        "form_token": form_token,
        "form_token_field": submission.FORM_TOKEN_FIELD,
        "honeypot_field": submission.HONEYPOT_FIELD,
        "alert": alert,
        "photo_dropped": photo_dropped,
        "photo_max_mb": request.app.state.settings.photo_max_bytes // (1024 * 1024),
    }
    return render(request, "submit/form.html", context, status_code=status_code,
                  headers={**FORM_HEADERS, **(headers or {})})


async def submit_form(request: Request) -> Response:
    directions = await _open_directions(request)
    preset = request.query_params.get("direction", "")
    values = {"direction": preset if any(d.slug == preset for d in directions) else "", "byline_mode": "full"}
    token = submission.issue_form_token(request.app.state.secret_key)
    return _form_page(request, directions, values=values, form_token=token)


async def _read_submission(form: FormData) -> tuple[dict[str, str], bytes | None]:
    try:
        names = (*submission.FIELD_NAMES, CSRF_FIELD, submission.FORM_TOKEN_FIELD, submission.HONEYPOT_FIELD)
        raw = {name: text_field(form, name) for name in names}
        upload = form.get("photo")
        data = await upload.read() if isinstance(upload, UploadFile) and upload.filename else None
    finally:
        await form.close()
    return raw, (data or None)


async def _process_photo(request: Request, data: bytes | None) -> tuple[photos.ProcessedPhoto | None, str]:
    if data is None:
        return None, ""
    max_bytes = request.app.state.settings.photo_max_bytes
    try:
        # Decoding and re-encoding is CPU work; keep it off the event loop.
        return await run_in_threadpool(photos.process_photo, data, max_bytes=max_bytes), ""
    except photos.PhotoError as exc:
        return None, exc.message


async def submit(request: Request) -> Response:
    # No max_file_bytes here: an oversized photo becomes an error next to the photo field (from
    # process_photo) instead of an error page that loses the essay; max_body_bytes still caps the request.
    raw, photo_data = await _read_submission(await parse_form(request, max_files=1))
    secret = request.app.state.secret_key
    directions = await _open_directions(request)
    checked = submission.validate(raw, {d.slug: d.id for d in directions})
    nonce = submission.read_form_token(secret, raw[submission.FORM_TOKEN_FIELD])
    form_token = raw[submission.FORM_TOKEN_FIELD] if nonce else submission.issue_form_token(secret)

    def again(**kwargs: Any) -> Response:
        kwargs.setdefault("photo_dropped", photo_data is not None)
        return _form_page(request, directions, values=checked.values, form_token=form_token, **kwargs)

    if not csrf_valid(request, raw[CSRF_FIELD]):
        return again(alert=f"{CSRF_FAILED_MESSAGE}{TEXT_KEPT}", status_code=403)
    if raw[submission.HONEYPOT_FIELD]:
        # A field no person can see or reach was filled in: a bot. Nothing is stored, and the answer is
        # a plain refusal rather than a fake success, so a person caught by mistake (an over-eager
        # autofill) is not told their essay arrived when it did not.
        raise HTTPException(400, "提交未能完成。请刷新页面后重新提交。")
    if nonce is None:
        return again(alert=f"这张表单已过期。{TEXT_KEPT}请检查后再次点击「提交投稿」。", status_code=400)
    if not checked.ok:
        return again(errors=checked.errors, status_code=422)
    photo, photo_error = await _process_photo(request, photo_data)
    if photo_error:
        return again(errors={"photo": photo_error}, status_code=422)
    assert checked.essay is not None
    try:
        token = await _store(request, checked.essay, photo, nonce)
    except ratelimit.RateLimited as exc:
        return again(alert=exc.message, status_code=429, headers={"retry-after": str(exc.retry_after)})
    except StaleForm:
        form_token = submission.issue_form_token(secret)
        return again(alert="这张表单已经提交过一篇文章。如果这是另一篇新文章，请检查内容后再次点击「提交投稿」。",
                     status_code=409)
    return RedirectResponse(f"/track/{token}", status_code=303, headers=PRIVATE_HEADERS)


async def _already_stored(conn: Any, nonce: str, token: str, essay: NewEssay) -> bool:
    """True if this form token already made this essay (a double tap or a retry); StaleForm if it made
    a different one (the same old form reused for a new text, which must not vanish into the first)."""
    if not await rate_store.form_token_used(conn, submission.form_token_hash(nonce)):
        return False
    stored = await essay_store.get_by_token(conn, token)
    if stored is not None and (stored.headline, stored.body) != (essay.headline, essay.body):
        raise StaleForm()
    return True


async def _unused_code(conn: Any) -> str:
    while True:
        code = new_tracking_code()
        if not await essay_store.tracking_code_exists(conn, code):
            return code


async def _store(request: Request, essay: NewEssay, photo: photos.ProcessedPhoto | None, nonce: str) -> str:
    """Store the essay, its photo and its used form token in one transaction; return the tracking token."""
    settings, secret = request.app.state.settings, request.app.state.secret_key
    token, ip = submission.tracking_token(secret, nonce), client_ip(request)
    saved: list[str] = []
    # Screening is CPU work on the text alone: done here, it does not hold up the one writer.
    prescreened = await moderation.prescreen_text(request.app, essay.headline, essay.body)

    async def transaction(conn: Any) -> None:
        nonlocal essay
        if await _already_stored(conn, nonce, token, essay):
            return
        ip_limit, phone_limit = ratelimit.submit_limits(settings)
        await ratelimit.hit(conn, secret, [(ip_limit, ip), (phone_limit, essay.phone)])
        if photo is not None:
            saved.append(photos.store_photo(photo, settings.media_path))
        essay = dataclasses.replace(essay, photo_path=saved[0] if saved else None)
        code = await _unused_code(conn)
        essay_id = await essay_store.insert_essay(conn, essay, tracking_code=code, token=token, submit_ip=ip)
        await rate_store.use_form_token(conn, submission.form_token_hash(nonce), essay_id)
        await moderation.screen_essay(conn, request.app, essay_id, prescreened)

    try:
        # ~20 statements in one round trip to the writer's thread (db.write_at_once explains why).
        await request.app.state.db.write_at_once(transaction)
    except sqlite3.IntegrityError:
        # Another worker process stored this form token first (primary key): it is the same essay, and
        # its photo is the same file (stored by content), which _discard sees in use and keeps.
        await _discard(request, saved)
        return token
    except BaseException:
        await _discard(request, saved)
        raise
    return token


async def _discard(request: Request, saved: list[str]) -> None:
    """Delete the photo a failed submission wrote, unless a stored essay uses the same file."""
    for relative in saved:
        async with request.app.state.db.read() as conn:
            in_use = await rate_store.photo_in_use(conn, relative)
        if not in_use:
            photos.delete_photo(request.app.state.settings.media_path, relative)


# ---------------------------------------------------------------------------------------------------
# Tracking pages


@dataclass(frozen=True)
class Access:
    essay: Essay
    base: str  # the page's own path; its actions live under it
    token: str | None  # the secret token, when reached by it (the privacy pages need it)


async def _access(request: Request) -> Access:
    params = request.path_params
    async with request.app.state.db.read() as conn:
        if "token" in params:
            token = params["token"]
            essay = await essay_store.get_by_token(conn, token) if 20 <= len(token) <= 100 else None
            base = f"/track/{token}"
        else:
            token = None
            essay_id = submission.read_lookup_token(request.app.state.secret_key, params["signed"])
            if essay_id is None:
                raise HTTPException(404, LINK_EXPIRED, headers=PRIVATE_HEADERS)
            essay = await essay_store.get_essay(conn, essay_id)
            base = f"/track/code/{params['signed']}"
    if essay is None:
        raise HTTPException(404, NOT_FOUND, headers=PRIVATE_HEADERS)
    return Access(essay, base, token)


async def _track_page(request: Request, access: Access, *, status_code: int = 200, **extra: Any) -> Response:
    essay = access.essay
    site = await sitesettings.refreshed(request)
    async with request.app.state.db.read() as conn:
        events = await essay_store.list_events(conn, essay.id)
        revisions = await essay_store.list_revisions(conn, essay.id)
        signoff = await print_store.latest_signoff(conn, essay.id)  # the editor's request to confirm cuts
    actions = allowed_actions(essay.status, Actor.AUTHOR)
    context = {
        "access": access,
        "essay": essay,
        "events": events,
        "revision_count": len(revisions),
        "signoff": signoff,
        "byline": lifecycle.essay_byline(essay, site.city),
        "can_withdraw": Action.WITHDRAW in actions,
        "can_revise": Action.RESUBMIT in actions,
        "phone": submission.mask_phone(essay.phone),
        "email": submission.mask_email(essay.email),
        "page_url": str(request.url.replace(query="", fragment="")),
        "queue_hours": request.app.state.settings.queue_target_hours,
        "values": {"headline": essay.headline, "body": essay.body},
        "errors": {},
        "alert": "",
        "revise_alert": "",
        "rules": submission.RULES,
        **extra,
    }
    return render(request, "submit/track.html", context, status_code=status_code, headers=PRIVATE_HEADERS)


async def track(request: Request) -> Response:
    return await _track_page(request, await _access(request))


def _version(form: FormData) -> int | None:
    return numbers.parse_int(text_field(form, "version"))


async def withdraw_confirm(request: Request) -> Response:
    access = await _access(request)
    if Action.WITHDRAW not in allowed_actions(access.essay.status, Actor.AUTHOR):
        return RedirectResponse(access.base, status_code=303, headers=PRIVATE_HEADERS)
    return render(request, "submit/withdraw.html", {"access": access, "essay": access.essay},
                  headers=PRIVATE_HEADERS)


async def withdraw(request: Request) -> Response:
    form = await read_form(request)
    access = await _access(request)
    site = await sitesettings.refreshed(request)
    try:
        async with request.app.state.db.write() as conn:
            await lifecycle.transition(conn, access.essay.id, Action.WITHDRAW, lifecycle.AUTHOR,
                                       city=site.city, version=_version(form))
    except (IllegalTransition, lifecycle.StaleVersion) as exc:
        fresh = await _access(request)
        return await _track_page(request, fresh, status_code=409, alert=f"没有撤回：{_why(exc)}")
    return RedirectResponse(access.base, status_code=303, headers=PRIVATE_HEADERS)


def _why(exc: Exception) -> str:
    if isinstance(exc, IllegalTransition):
        return exc.message
    return "投稿状态刚刚有了变化，请看看最新状态后再决定。"


async def revise(request: Request) -> Response:
    form = await parse_form(request)
    raw = {name: text_field(form, name) for name in ("headline", "body", CSRF_FIELD)}
    access = await _access(request)
    checked = submission.validate_revision(raw)
    if not csrf_valid(request, raw[CSRF_FIELD]):
        return await _track_page(request, access, status_code=403, values=checked.values,
                                 revise_alert=f"{CSRF_FAILED_MESSAGE}您修改的内容还在下面。")
    if not checked.ok:
        return await _track_page(request, access, status_code=422, values=checked.values, errors=checked.errors)
    site = await sitesettings.refreshed(request)
    try:
        async with request.app.state.db.write() as conn:
            await lifecycle.resubmit(conn, access.essay.id, city=site.city, version=_version(form),
                                     headline=checked.values["headline"], body=checked.values["body"])
            await moderation.screen_essay(conn, request.app, access.essay.id)
    except (IllegalTransition, lifecycle.StaleVersion) as exc:
        fresh = await _access(request)
        message = f"没有重新提交：{_why(exc)}"
        if Action.RESUBMIT in allowed_actions(fresh.essay.status, Actor.AUTHOR):
            return await _track_page(request, fresh, status_code=409, values=checked.values,
                                     revise_alert=f"{message}您修改的内容还在下面。")
        return await _track_page(request, fresh, status_code=409, alert=message)
    return RedirectResponse(access.base, status_code=303, headers=PRIVATE_HEADERS)


# ---------------------------------------------------------------------------------------------------
# Finding the tracking page again


def _lookup_page(request: Request, *, values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                 alert: str = "", status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    context = {"values": values or {}, "errors": errors or {}, "alert": alert}
    return render(request, "submit/lookup.html", context, status_code=status_code,
                  headers={**PRIVATE_HEADERS, **(headers or {})})


async def lookup_form(request: Request) -> Response:
    return _lookup_page(request)


async def lookup(request: Request) -> Response:
    form = await read_form(request)
    raw_code, tail = text_field(form, "code").strip(), submission.clean_phone(text_field(form, "phone_tail"))
    code = normalize_tracking_code(raw_code)
    values = {"code": code or raw_code, "phone_tail": ""}
    errors = submission.check_lookup(code, tail)
    if raw_code and not code:
        errors["code"] = "投稿编号的格式是 CV- 加 8 位字母或数字，例如 CV-7K3F-9Q2M。"
    app = request.app
    try:
        async with app.state.db.write() as conn:
            # Every attempt counts, right or wrong, so guessing pairs is slow whatever the outcome.
            await ratelimit.hit(conn, app.state.secret_key, [(ratelimit.track_limit(app.state.settings),
                                                             client_ip(request))])
            essay = None if errors else await essay_store.get_by_tracking_code(conn, code)
    except ratelimit.RateLimited as exc:
        return _lookup_page(request, values=values, alert=exc.message, status_code=429,
                            headers={"retry-after": str(exc.retry_after)})
    if errors:
        return _lookup_page(request, values=values, errors=errors, status_code=422)
    # An unknown code and a wrong phone get the very same page, so the form reveals no codes.
    if not submission.phone_tail_matches(essay.phone if essay else None, tail) or essay is None:
        return _lookup_page(request, values=values, alert=LOOKUP_MISS, status_code=404)
    signed = submission.lookup_token(app.state.secret_key, essay.id)
    return RedirectResponse(f"/track/code/{signed}", status_code=303, headers=PRIVATE_HEADERS)


routes = [
    route("/submit", submit_form, access=PUBLIC),
    route("/submit", submit, access=PUBLIC, methods=["POST"]),
    route("/track", lookup_form, access=PUBLIC),
    route("/track", lookup, access=PUBLIC, methods=["POST"]),
    route("/track/code/{signed}", track, access=PUBLIC, name="track_by_code"),
    route("/track/code/{signed}/withdraw", withdraw_confirm, access=PUBLIC, name="withdraw_confirm_by_code"),
    route("/track/code/{signed}/withdraw", withdraw, access=PUBLIC, methods=["POST"], name="withdraw_by_code"),
    route("/track/code/{signed}/revise", revise, access=PUBLIC, methods=["POST"], name="revise_by_code"),
    route("/track/{token}", track, access=PUBLIC, name="track"),
    route("/track/{token}/withdraw", withdraw_confirm, access=PUBLIC, name="withdraw_confirm"),
    route("/track/{token}/withdraw", withdraw, access=PUBLIC, methods=["POST"], name="withdraw"),
    route("/track/{token}/revise", revise, access=PUBLIC, methods=["POST"], name="revise"),
]
