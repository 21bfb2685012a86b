"""The resident's side: the submission form, the receipt and tracking page, withdraw and revise, and
finding a tracking page again by tracking code + phone.

Tracking pages are reached two ways, and behave the same: ``/track/{token}`` with the secret token the
receipt redirect hands out (only its hash is stored), and ``/track/code/{signed}``, the one-hour link a
correct code + phone pair yields. Both carry a secret in the URL, so their responses are never cached,
never indexed and never send the URL on as a referrer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from citizenvoice.domain import intake, lifecycle, lostlink, moderation, ratelimit, submission, verification
from citizenvoice.model.directions import Direction, by_pillar
from citizenvoice.model.essays import (
    AUTHOR_ACTION_LABELS,
    Action,
    Actor,
    IllegalTransition,
    allowed_actions,
    normalize_tracking_code,
)
from citizenvoice.model.review import INTERNAL_REVIEW_ACTIONS
from citizenvoice.store import directions as direction_store
from citizenvoice.store import essays as essay_store
from citizenvoice.store import printdesk as print_store
from citizenvoice.store.essays import Essay
from citizenvoice.text import numbers
from citizenvoice.text.diff import diff_html
from citizenvoice.web import sitesettings
from citizenvoice.web.forms import parse_form, read_form, text_field, upload_bytes
from citizenvoice.web.routing import PUBLIC, route
from citizenvoice.web.security import CSRF_FAILED_MESSAGE, CSRF_FIELD, client_ip, csrf_valid
from citizenvoice.web.templating import render

PRIVATE_HEADERS = {"cache-control": "no-store", "referrer-policy": "no-referrer", "x-robots-tag": "noindex"}
# The form carries a one-time form token: a cached copy would hand the next essay an already-used token.
FORM_HEADERS = {"cache-control": "no-store"}
NOT_FOUND = "没有找到这篇投稿。请检查链接是否完整，或用投稿编号和手机号后四位查询。"
LINK_EXPIRED = "这个查询链接已失效（有效期一小时）。请重新用投稿编号和手机号后四位查询。"
LOOKUP_MISS = "没有找到与这组投稿编号和手机号后四位相符的投稿。请核对后再试。"


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
    code_notice: str = "",
    code_wait: int = 0,
) -> Response:
    errors = errors or {}
    settings = sitesettings.site_settings(request)
    order = [n for name in submission.FIELD_ORDER for n in ((name, "phone_code") if name == "phone" else (name,))]
    context = {
        "values": values,
        "errors": errors,
        "summary": [(name, errors[name]) for name in order if name in errors],
        "verification": settings.phone_verification == "required",
        "phone_remembered": _remembered(request, values.get("phone", "")),
        "code_notice": code_notice,
        "code_wait": code_wait,
        "pillars": [group for group in by_pillar(directions) if group[2]],
        "rules": submission.RULES,
        "labels": {**{name: rule.label for name, rule in submission.RULES.items()}, "photo": "照片",
                   "phone_code": "短信验证码"},
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
        names = (*submission.FIELD_NAMES, CSRF_FIELD, submission.FORM_TOKEN_FIELD, submission.HONEYPOT_FIELD,
                 "phone_code")
        raw = {name: text_field(form, name) for name in names}
        data = await upload_bytes(form, "photo")
    finally:
        await form.close()
    return raw, data


PHONE_COOKIE = "cv_phone"


def _remembered(request: Request, phone: str) -> bool:
    hours = sitesettings.site_settings(request).phone_remember_hours
    return verification.remembered(request.app.state.secret_key, request.cookies.get(PHONE_COOKIE, ""),
                                   submission.clean_phone(phone), max_age=hours * 3600)


def _remember_phone(request: Request, response: Response, phone: str) -> None:
    if phone:
        settings = sitesettings.site_settings(request)
        response.set_cookie(PHONE_COOKIE, verification.remember(request.app.state.secret_key, phone),
                            max_age=settings.phone_remember_hours * 3600, httponly=True, samesite="lax",
                            secure=request.app.state.settings.https, path="/submit")


async def submit(request: Request) -> Response:
    # No max_file_bytes here: an oversized photo becomes an error next to the photo field (from
    # process_photo) instead of an error page that loses the essay; max_body_bytes still caps the request.
    raw, photo_data = await _read_submission(await parse_form(request, max_files=1))
    directions = await _open_directions(request)
    open_slugs = {d.slug: d.id for d in directions}
    app = request.app
    site = await sitesettings.refreshed(request)
    if csrf_valid(request, raw[CSRF_FIELD]):
        outcome = await intake.submit(app.state.db, app.state.screener, site, app.state.secret_key,
                                      raw, photo_data, directions=open_slugs, ip=client_ip(request),
                                      phone_code=raw["phone_code"], remembered_phone=_remembered(request, raw["phone"]))
    else:
        outcome = intake.unverified(app.state.secret_key, raw, open_slugs, CSRF_FAILED_MESSAGE)
    response: Response
    if outcome.stored:
        response = RedirectResponse(f"/track/{outcome.token}", status_code=303, headers=PRIVATE_HEADERS)
    elif outcome.refused:
        raise HTTPException(outcome.status_code, outcome.alert)
    else:
        retry = {"retry-after": str(outcome.retry_after)} if outcome.retry_after else None
        response = _form_page(request, directions, values={**outcome.values, "phone_code": ""},
                              form_token=outcome.form_token, errors=outcome.errors, alert=outcome.alert,
                              photo_dropped=photo_data is not None, status_code=outcome.status_code, headers=retry)
    _remember_phone(request, response, outcome.verified_phone)
    return response


async def ask_code(request: Request) -> Response:
    """「获取验证码」: without JavaScript the whole form posts here and comes back with every field kept;
    with JavaScript (Accept: application/json) the answer is the notice or error as JSON."""
    raw, photo_data = await _read_submission(await parse_form(request, max_files=1))
    directions = await _open_directions(request)
    open_slugs = {d.slug: d.id for d in directions}
    app = request.app
    site = await sitesettings.refreshed(request)
    if not csrf_valid(request, raw[CSRF_FIELD]):
        outcome = intake.CodeAsked({**submission.validate(raw, open_slugs).values, "phone_code": ""},
                                   raw[submission.FORM_TOKEN_FIELD] or submission.issue_form_token(app.state.secret_key),
                                   errors={"phone_code": f"{CSRF_FAILED_MESSAGE}请再点一次「获取验证码」。"},
                                   status_code=403)
    else:
        outcome = await intake.ask_code(app.state.db, site, app.state.secret_key, raw, open_slugs, client_ip(request))
    if "application/json" in request.headers.get("accept", ""):
        error = outcome.errors.get("phone") or outcome.errors.get("phone_code", "")
        return JSONResponse({"ok": not outcome.errors, "notice": outcome.notice, "error": error,
                             "field": next(iter(outcome.errors), ""), "wait": outcome.wait},
                            status_code=outcome.status_code, headers=FORM_HEADERS)
    return _form_page(request, directions, values=outcome.values, form_token=outcome.form_token,
                      errors=outcome.errors, photo_dropped=photo_data is not None, status_code=outcome.status_code,
                      code_notice=outcome.notice, code_wait=outcome.wait)


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


def _staff_correction(revisions: list[essay_store.Revision]) -> Any:
    """The newsroom's last correction of the text (a moderator's edit, a print correction carried to
    the web), as a diff the author can read; None when the author's own text is the latest."""
    if len(revisions) < 2 or revisions[-1].actor_kind not in ("moderator", "editor"):
        return None
    return diff_html(revisions[-2].body, revisions[-1].body)


async def _track_page(request: Request, access: Access, *, status_code: int = 200, **extra: Any) -> Response:
    essay = access.essay
    site = await sitesettings.refreshed(request)
    async with request.app.state.db.read() as conn:
        # Hand-overs between review levels stay internal: the author sees 审核中 until the last level decides.
        events = [e for e in await essay_store.list_events(conn, essay.id) if e.action not in INTERNAL_REVIEW_ACTIONS]
        revisions = await essay_store.list_revisions(conn, essay.id)
        signoff = await print_store.latest_signoff(conn, essay.id)  # the editor's request to confirm cuts
    actions = allowed_actions(essay.status, Actor.AUTHOR)
    context = {
        "access": access,
        "essay": essay,
        "events": events,
        "action_labels": AUTHOR_ACTION_LABELS,
        "revision_count": len(revisions),
        "staff_correction": _staff_correction(revisions),
        "signoff": signoff,
        "byline": lifecycle.essay_byline(essay, site.city),
        "can_withdraw": Action.WITHDRAW in actions,
        "can_revise": Action.RESUBMIT in actions,
        "phone": submission.mask_phone(essay.phone),
        "email": submission.mask_email(essay.email),
        "page_url": str(request.url.replace(query="", fragment="")),
        "queue_hours": request.app.state.settings.queue_target_hours,
        "values": {"headline": essay.headline, "body": essay.body, "author_name": essay.author_name,
                   "affiliation": essay.affiliation},
        "errors": {},
        "alert": "",
        "revise_alert": "",
        "notify_alert": "",
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
    access = await _access(request)
    raw = {name: text_field(form, name) for name in ("headline", "body", CSRF_FIELD)}
    for name in ("author_name", "affiliation"):  # a form without them keeps the byline as it is
        raw[name] = text_field(form, name) if name in form else getattr(access.essay, name)
    checked = submission.validate_author_revision(raw)
    if not csrf_valid(request, raw[CSRF_FIELD]):
        return await _track_page(request, access, status_code=403, values=checked.values,
                                 revise_alert=f"{CSRF_FAILED_MESSAGE}您修改的内容还在下面。")
    if not checked.ok:
        return await _track_page(request, access, status_code=422, values=checked.values, errors=checked.errors)
    site = await sitesettings.refreshed(request)
    try:
        async with request.app.state.db.write() as conn:
            byline = {k: checked.values[k] for k in ("author_name", "affiliation")
                      if checked.values[k] != getattr(access.essay, k)}
            await lifecycle.resubmit(conn, access.essay.id, city=site.city, version=_version(form),
                                     headline=checked.values["headline"], body=checked.values["body"],
                                     extra=byline or None)
            await moderation.screen_essay(conn, request.app.state.screener, access.essay.id)
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
    site = await sitesettings.refreshed(request)
    try:
        async with app.state.db.write() as conn:
            # Every attempt counts, right or wrong, so guessing pairs is slow whatever the outcome.
            # Per address (/64), and per tracking code: a known code's 4-digit tail cannot be guessed.
            checks = [(ratelimit.track_limit(site), client_ip(request))]
            if code:
                checks.append((ratelimit.track_code_limit(site), code))
            await ratelimit.hit(conn, app.state.secret_key, checks)
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


async def set_notify(request: Request) -> Response:
    """The author's 「不再通知我」 (or 「恢复通知」) on the tracking page."""
    form = await read_form(request)
    access = await _access(request)
    if not csrf_valid(request, text_field(form, CSRF_FIELD)):
        return await _track_page(request, access, status_code=403, notify_alert=CSRF_FAILED_MESSAGE)
    notify = text_field(form, "notify") != "off"
    async with request.app.state.db.write() as conn:
        await essay_store.set_notify(conn, access.essay.id, notify)
    fresh = await _access(request)
    message = "已恢复通知。" if notify else "好的，这篇投稿不会再给您发通知了。"
    return await _track_page(request, fresh, notify_alert=message)


def _lost_page(request: Request, *, values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
               alert: str = "", done: bool = False, status_code: int = 200,
               headers: dict[str, str] | None = None) -> Response:
    context = {"values": values or {}, "errors": errors or {}, "alert": alert, "done": done,
               "answer": lostlink.ANSWER}
    return render(request, "submit/lost.html", context, status_code=status_code,
                  headers={**PRIVATE_HEADERS, **(headers or {})})


async def lost_form(request: Request) -> Response:
    return _lost_page(request)


async def lost(request: Request) -> Response:
    form = await read_form(request)
    phone = text_field(form, "phone")
    if not csrf_valid(request, text_field(form, CSRF_FIELD)):
        return _lost_page(request, values={"phone": phone}, alert=CSRF_FAILED_MESSAGE, status_code=403)
    app = request.app
    site = await sitesettings.refreshed(request)
    asked = await lostlink.ask(app.state.db, app.state.secret_key, site, phone, client_ip(request))
    retry = {"retry-after": str(asked.retry_after)} if asked.retry_after else None
    # The same page whether or not the phone has essays: only the form's own errors differ.
    return _lost_page(request, values={"phone": "" if asked.done else asked.phone}, errors=asked.errors,
                      alert=asked.alert, done=asked.done, status_code=asked.status_code, headers=retry)


routes = [
    route("/submit", submit_form, access=PUBLIC),
    route("/submit", submit, access=PUBLIC, methods=["POST"]),
    route("/submit/code", ask_code, access=PUBLIC, methods=["POST"]),
    route("/track", lookup_form, access=PUBLIC),
    route("/track", lookup, access=PUBLIC, methods=["POST"]),
    route("/track/lost", lost_form, access=PUBLIC),
    route("/track/lost", lost, access=PUBLIC, methods=["POST"]),
    route("/track/code/{signed}", track, access=PUBLIC, name="track_by_code"),
    route("/track/code/{signed}/notify", set_notify, access=PUBLIC, methods=["POST"], name="notify_by_code"),
    route("/track/code/{signed}/withdraw", withdraw_confirm, access=PUBLIC, name="withdraw_confirm_by_code"),
    route("/track/code/{signed}/withdraw", withdraw, access=PUBLIC, methods=["POST"], name="withdraw_by_code"),
    route("/track/code/{signed}/revise", revise, access=PUBLIC, methods=["POST"], name="revise_by_code"),
    route("/track/{token}", track, access=PUBLIC, name="track"),
    route("/track/{token}/notify", set_notify, access=PUBLIC, methods=["POST"], name="notify"),
    route("/track/{token}/withdraw", withdraw_confirm, access=PUBLIC, name="withdraw_confirm"),
    route("/track/{token}/withdraw", withdraw, access=PUBLIC, methods=["POST"], name="withdraw"),
    route("/track/{token}/revise", revise, access=PUBLIC, methods=["POST"], name="revise"),
]
