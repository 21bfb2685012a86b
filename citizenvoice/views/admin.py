"""The admin area: staff accounts, boards, screening word lists, rejection reasons, site texts, and
the audit trail of all of it. Handlers parse the form, call :mod:`citizenvoice.administration` in one
write transaction, and redirect (or re-render the form with the errors next to the fields)."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from citizenvoice.domain import administration as admin
from citizenvoice.domain.messaging import desk as message_desk
from citizenvoice.model.directions import by_pillar
from citizenvoice.model.staff import ROLES, User
from citizenvoice.store import admin as admin_store
from citizenvoice.store import directions as direction_store
from citizenvoice.store import twofactor as twofactor_store
from citizenvoice.store import users as user_store
from citizenvoice.store import wordlists
from citizenvoice.text import numbers
from citizenvoice.text.normalize import normalize_line
from citizenvoice.web import sessions, sitesettings
from citizenvoice.web.forms import read_form, text_field
from citizenvoice.web.routing import route
from citizenvoice.web.templating import render

ADMIN = ["admin"]
AUDIT_PAGE_SIZE = 50
_FLASH = "admin_flash"


async def _actor(request: Request) -> User:
    user = await sessions.current_user(request)
    assert user is not None  # the route's access check let only admins in
    return user


def _flash(request: Request, message: str) -> None:
    request.session[_FLASH] = message


def _page(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200) -> Response:
    context = {
        "flash": request.session.pop(_FLASH, None),
        "ACTION_LABELS": admin.ACTION_LABELS,
        "FIELD_LABELS": admin.FIELD_LABELS,
        **context,
    }
    return render(request, template, context, status_code=status_code)


def _done(request: Request, path: str, message: str) -> Response:
    _flash(request, message)
    return RedirectResponse(path, status_code=303)


def _not_found() -> HTTPException:
    return HTTPException(404, "没有找到这一项，可能已被删除。")


# ---------------------------------------------------------------------------------------------------
# Overview and audit trail


async def dashboard(request: Request) -> Response:
    db = request.app.state.db
    async with db.read() as conn:
        context = {
            "users": await user_store.list_users(conn),
            "directions": await direction_store.list_directions(conn),
            "words": await wordlists.load_words(conn),
            "reasons": await wordlists.rejection_reasons(conn, include_inactive=True),
            "recent": await admin_store.list_audit(conn, limit=8),
        }
    return _page(request, "admin/dashboard.html", context)


async def audit_log(request: Request) -> Response:
    page = numbers.page_number(request.query_params)
    async with request.app.state.db.read() as conn:
        total = await admin_store.count_audit(conn)
        entries = await admin_store.list_audit(
            conn, limit=AUDIT_PAGE_SIZE, offset=(page - 1) * AUDIT_PAGE_SIZE
        )
    pages = max(1, -(-total // AUDIT_PAGE_SIZE))
    return _page(
        request, "admin/audit.html", {"entries": entries, "page": page, "pages": pages, "total": total}
    )


# ---------------------------------------------------------------------------------------------------
# Users


# Staff texts are normalised like residents' (citizenvoice.textnorm; word lists and site texts in
# administration): NUL, control, zero-width and bidi characters never reach the database or the pages.
def _user_form(form: FormData) -> admin.UserForm:
    return admin.UserForm(
        username=text_field(form, "username").strip(),
        display_name=normalize_line(text_field(form, "display_name")),
        password=text_field(form, "password"),
        roles=frozenset(v for v in form.getlist("roles") if isinstance(v, str)),
    )


def _names(request: Request) -> tuple[str, ...]:
    """What a staff password must not be built on: the paper's and the site's names, as the admin set them."""
    site = sitesettings.site_settings(request)
    return (site.paper_name, site.site_name)


async def users_page(
    request: Request, *, values: admin.UserForm | None = None, errors: dict[str, str] | None = None
) -> Response:
    async with request.app.state.db.read() as conn:
        users = await user_store.list_users(conn)
        two_factor = await twofactor_store.enrolled_user_ids(conn)
    values = values or admin.UserForm("", "", "", frozenset())
    context = {"users": users, "values": values, "errors": errors or {}, "roles": ROLES, "two_factor": two_factor}
    return _page(request, "admin/users.html", context, status_code=422 if errors else 200)


async def user_add(request: Request) -> Response:
    values = _user_form(await read_form(request))
    try:
        async with request.app.state.db.write() as conn:
            user_id = await admin.add_user(conn, await _actor(request), values, _names(request))
    except admin.Invalid as exc:
        # Everything the admin typed comes back, except the password: it is never echoed into HTML.
        kept = admin.UserForm(values.username, values.display_name, "", values.roles)
        return await users_page(request, values=kept, errors=exc.errors)
    return _done(request, f"/admin/users/{user_id}", f"已新增用户 {values.username}。")


async def user_page(
    request: Request, *, errors: dict[str, str] | None = None, values: dict[str, Any] | None = None
) -> Response:
    user_id = request.path_params["user_id"]
    async with request.app.state.db.read() as conn:
        user = await user_store.get_by_id(conn, user_id)
        two_factor = await twofactor_store.get(conn, user_id)
    if user is None:
        raise _not_found()
    values = values or {"display_name": user.display_name, "roles": user.roles}
    context = {
        "subject": user,
        "values": values,
        "errors": errors or {},
        "roles": ROLES,
        "is_self": user.id == (await _actor(request)).id,
        "two_factor": two_factor,
    }
    return _page(request, "admin/user.html", context, status_code=422 if errors else 200)


async def user_update(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    form = _user_form(await read_form(request))
    try:
        async with request.app.state.db.write() as conn:
            await admin.update_user(
                conn, await _actor(request), user_id, display_name=form.display_name, roles=form.roles
            )
    except admin.NotFound:
        raise _not_found() from None
    except admin.Invalid as exc:
        return await user_page(
            request, errors=exc.errors, values={"display_name": form.display_name, "roles": form.roles}
        )
    return _done(request, f"/admin/users/{user_id}", "用户资料已保存。")


async def user_sessions_end(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    await read_form(request)
    try:
        async with request.app.state.db.write() as conn:
            ended = await admin.end_user_sessions(conn, await _actor(request), user_id)
    except admin.NotFound:
        raise _not_found() from None
    if user_id == (await _actor(request)).id:
        return RedirectResponse("/login", status_code=303)  # the admin signed themself out too
    return _done(request, f"/admin/users/{user_id}", f"已结束该用户的 {ended} 个登录会话。")


async def user_password(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    form = await read_form(request)
    try:
        async with request.app.state.db.write() as conn:
            await admin.reset_password(conn, await _actor(request), user_id, text_field(form, "password"),
                                       _names(request))
    except admin.NotFound:
        raise _not_found() from None
    except admin.Invalid as exc:
        return await user_page(request, errors=exc.errors)
    return _done(request, f"/admin/users/{user_id}", "密码已重置，该用户需要用新密码重新登录。")


async def user_status(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    disabled = text_field(await read_form(request), "disabled") == "1"
    try:
        async with request.app.state.db.write() as conn:
            await admin.set_user_disabled(conn, await _actor(request), user_id, disabled)
    except admin.NotFound:
        raise _not_found() from None
    except admin.Invalid as exc:
        return await user_page(request, errors=exc.errors)
    message = "账号已停用，该用户已被登出。" if disabled else "账号已重新启用。"
    return _done(request, f"/admin/users/{user_id}", message)


async def user_two_factor_reset(request: Request) -> Response:
    user_id = request.path_params["user_id"]
    await read_form(request)
    try:
        async with request.app.state.db.write() as conn:
            await admin.reset_two_factor(conn, await _actor(request), user_id)
    except admin.NotFound:
        raise _not_found() from None
    except admin.Invalid as exc:
        return await user_page(request, errors=exc.errors)
    return _done(request, f"/admin/users/{user_id}", "已重置两步验证并结束该用户的所有登录会话；TA 下次登录后可以重新设置。")


# ---------------------------------------------------------------------------------------------------
# Directions


def _direction_form(form: FormData) -> admin.DirectionForm:
    return admin.DirectionForm(
        slug=text_field(form, "slug").strip().lower(),
        name=normalize_line(text_field(form, "name")),
        description=normalize_line(text_field(form, "description")),
        pillar=text_field(form, "pillar"),
    )


async def directions_page(
    request: Request, *, values: admin.DirectionForm | None = None, errors: dict[str, str] | None = None
) -> Response:
    async with request.app.state.db.read() as conn:
        directions = await direction_store.list_directions(conn)
        counts = await admin_store.essay_counts_by_direction(conn)
    context = {
        "pillars": by_pillar(directions),
        "counts": counts,
        "errors": errors or {},
        "values": values or admin.DirectionForm("", "", "industry"),
    }
    return _page(request, "admin/directions.html", context, status_code=422 if errors else 200)


async def direction_add(request: Request) -> Response:
    values = _direction_form(await read_form(request))
    try:
        async with request.app.state.db.write() as conn:
            await admin.add_direction(conn, await _actor(request), values)
    except admin.Invalid as exc:
        return await directions_page(request, values=values, errors=exc.errors)
    return _done(request, "/admin/directions", f"已新增方向「{values.name}」。")


async def direction_page(
    request: Request, *, values: admin.DirectionForm | None = None, errors: dict[str, str] | None = None
) -> Response:
    async with request.app.state.db.read() as conn:
        direction = await direction_store.get_by_id(conn, request.path_params["direction_id"])
        counts = await admin_store.essay_counts_by_direction(conn)
    if direction is None:
        raise _not_found()
    values = values or admin.DirectionForm(
        direction.name, direction.description, direction.pillar, direction.slug
    )
    context = {
        "direction": direction,
        "values": values,
        "errors": errors or {},
        "essay_count": counts.get(direction.id, 0),
    }
    return _page(request, "admin/direction.html", context, status_code=422 if errors else 200)


async def direction_update(request: Request) -> Response:
    direction_id = request.path_params["direction_id"]
    values = _direction_form(await read_form(request))
    try:
        async with request.app.state.db.write() as conn:
            await admin.update_direction(conn, await _actor(request), direction_id, values)
    except admin.NotFound:
        raise _not_found() from None
    except admin.Invalid as exc:
        return await direction_page(request, values=values, errors=exc.errors)
    return _done(request, "/admin/directions", f"方向「{values.name}」已保存。")


async def direction_move(request: Request) -> Response:
    direction_id = request.path_params["direction_id"]
    step = -1 if text_field(await read_form(request), "step") == "up" else 1
    try:
        async with request.app.state.db.write() as conn:
            await admin.move_direction(conn, await _actor(request), direction_id, step)
    except admin.NotFound:
        raise _not_found() from None
    return _done(request, f"/admin/directions#direction-{direction_id}", "顺序已调整。")


async def direction_archive(request: Request) -> Response:
    direction_id = request.path_params["direction_id"]
    archived = text_field(await read_form(request), "archived") == "1"
    try:
        async with request.app.state.db.write() as conn:
            await admin.set_direction_archived(conn, await _actor(request), direction_id, archived)
    except admin.NotFound:
        raise _not_found() from None
    message = "已归档：版面仍可浏览，但不再接受新投稿。" if archived else "已恢复：重新接受投稿。"
    return _done(request, "/admin/directions", message)


# ---------------------------------------------------------------------------------------------------
# Word lists


async def words_page(
    request: Request, *, list_name: str = "", text: str = "", errors: dict[str, str] | None = None
) -> Response:
    async with request.app.state.db.read() as conn:
        words = await wordlists.load_words(conn)
    texts = {name: "\n".join(items) for name, items in words.items()}
    if list_name:
        texts[list_name] = text  # what the admin pasted, so a long list is not lost to one bad line
    context = {
        "texts": texts,
        "counts": {k: len(v) for k, v in words.items()},
        "errors_for": list_name,
        "errors": errors or {},
        "labels": admin.WORD_LIST_LABELS,
    }
    return _page(request, "admin/words.html", context, status_code=422 if errors else 200)


async def words_save(request: Request) -> Response:
    list_name = request.path_params["list_name"]
    if list_name not in wordlists.LISTS:
        raise _not_found()
    text = text_field(await read_form(request), "words")
    try:
        async with request.app.state.db.write() as conn:
            added, removed = await admin.replace_words(conn, await _actor(request), list_name, text)
    except admin.Invalid as exc:
        return await words_page(request, list_name=list_name, text=text, errors=exc.errors)
    label = admin.WORD_LIST_LABELS[list_name]
    message = (
        f"{label}已更新：新增 {added} 个，删除 {removed} 个。" if added or removed else f"{label}没有变化。"
    )
    return _done(request, f"/admin/words#list-{list_name}", message)


# ---------------------------------------------------------------------------------------------------
# Rejection reasons


async def reasons_page(
    request: Request,
    *,
    errors: dict[str, str] | None = None,
    error_id: int | None = None,
    values: dict[str, Any] | None = None,
) -> Response:
    async with request.app.state.db.read() as conn:
        reasons = await wordlists.rejection_reasons(conn, include_inactive=True, kind=None)
    context = {"reasons": reasons, "REASON_KINDS": admin.REASON_KINDS, "errors": errors or {}, "error_id": error_id, "values": values or {}}
    return _page(request, "admin/reasons.html", context, status_code=422 if errors else 200)


async def reason_add(request: Request) -> Response:
    form = await read_form(request)
    label, kind = normalize_line(text_field(form, "label")), text_field(form, "kind") or "reject"
    try:
        async with request.app.state.db.write() as conn:
            await admin.add_reason(conn, await _actor(request), label, kind)
    except admin.Invalid as exc:
        return await reasons_page(request, errors=exc.errors, values={"label": label, "kind": kind})
    return _done(request, "/admin/reasons", f"已新增{admin.REASON_KINDS[kind]}「{label}」。")


async def reason_update(request: Request) -> Response:
    reason_id = request.path_params["reason_id"]
    form = await read_form(request)
    label = normalize_line(text_field(form, "label"))
    try:
        position = int(text_field(form, "position") or "0")
    except ValueError:
        position = 10**9  # out of range: reported as an error next to the field
    values = {
        "label": label,
        "position": text_field(form, "position"),
        "active": text_field(form, "active") == "1",
    }
    try:
        async with request.app.state.db.write() as conn:
            await admin.update_reason(
                conn,
                await _actor(request),
                reason_id,
                label=label,
                position=position,
                active=values["active"],
            )
    except admin.NotFound:
        raise _not_found() from None
    except admin.Invalid as exc:
        return await reasons_page(request, errors=exc.errors, error_id=reason_id, values=values)
    return _done(request, f"/admin/reasons#reason-{reason_id}", "退稿理由已保存。")


# ---------------------------------------------------------------------------------------------------
# Site settings


async def settings_page(
    request: Request, *, values: dict[str, str] | None = None, errors: dict[str, str] | None = None
) -> Response:
    current = await sitesettings.refreshed(request, force=True)
    base = request.app.state.settings
    keys = [*sitesettings.FIELDS, *sitesettings.CHOICES, *sitesettings.NUMBERS]
    values = values or {key: str(getattr(current, key)) for key in keys}
    context = {"fields": sitesettings.FIELDS, "choices": sitesettings.CHOICES, "values": values,
               "numbers": sitesettings.NUMBERS,
               "errors": errors or {}, "base": base}  # fmt: skip
    return _page(request, "admin/settings.html", context, status_code=422 if errors else 200)


async def settings_save(request: Request) -> Response:
    form = await read_form(request)
    values = {key: text_field(form, key)
              for key in [*sitesettings.FIELDS, *sitesettings.CHOICES, *sitesettings.NUMBERS]}
    try:
        async with request.app.state.db.write() as conn:
            changed = await admin.save_site_settings(
                conn, await _actor(request), values, request.app.state.settings
            )
    except admin.Invalid as exc:
        return await settings_page(request, values=values, errors=exc.errors)
    await sitesettings.refreshed(request, force=True)  # this worker shows the change at once
    return _done(request, "/admin/settings", "站点设置已保存。" if changed else "没有需要保存的修改。")


# ---------------------------------------------------------------------------------------------------
# Messages to authors


async def messages_page(request: Request) -> Response:
    status = request.query_params.get("status") or None
    async with request.app.state.db.read() as conn:
        counts, rows = await message_desk.overview(conn, status)
    context = {"counts": counts, "rows": rows, "status": status, "STATUSES": message_desk.STATUSES,
               "CHANNELS": message_desk.CHANNELS, "TEMPLATES": message_desk.TEMPLATE_LABELS}
    return _page(request, "admin/messages.html", context)


async def message_retry(request: Request) -> Response:
    await read_form(request)
    message_id = numbers.parse_int(request.path_params["message_id"])
    if message_id is None:
        raise _not_found()
    try:
        async with request.app.state.db.write() as conn:
            await message_desk.retry(conn, await _actor(request), message_id)
    except message_desk.NotRetryable as exc:
        return _done(request, "/admin/messages", exc.message)
    return _done(request, "/admin/messages", "已重新排队，发送程序会在几秒内再试一次。")


routes = [
    route("/admin", dashboard, access=ADMIN, name="admin_dashboard"),
    route("/admin/audit", audit_log, access=ADMIN),
    route("/admin/users", users_page, access=ADMIN),
    route("/admin/users", user_add, access=ADMIN, methods=["POST"]),
    route("/admin/users/{user_id:id}", user_page, access=ADMIN),
    route("/admin/users/{user_id:id}", user_update, access=ADMIN, methods=["POST"]),
    route("/admin/users/{user_id:id}/password", user_password, access=ADMIN, methods=["POST"]),
    route("/admin/users/{user_id:id}/status", user_status, access=ADMIN, methods=["POST"]),
    route("/admin/users/{user_id:id}/sessions/end", user_sessions_end, access=ADMIN, methods=["POST"]),
    route("/admin/users/{user_id:id}/two-factor/reset", user_two_factor_reset, access=ADMIN, methods=["POST"]),
    route("/admin/directions", directions_page, access=ADMIN),
    route("/admin/directions", direction_add, access=ADMIN, methods=["POST"]),
    route("/admin/directions/{direction_id:id}", direction_page, access=ADMIN),
    route("/admin/directions/{direction_id:id}", direction_update, access=ADMIN, methods=["POST"]),
    route("/admin/directions/{direction_id:id}/move", direction_move, access=ADMIN, methods=["POST"]),
    route("/admin/directions/{direction_id:id}/archive", direction_archive, access=ADMIN, methods=["POST"]),
    route("/admin/words", words_page, access=ADMIN),
    route("/admin/words/{list_name}", words_save, access=ADMIN, methods=["POST"]),
    route("/admin/reasons", reasons_page, access=ADMIN),
    route("/admin/reasons", reason_add, access=ADMIN, methods=["POST"]),
    route("/admin/reasons/{reason_id:id}", reason_update, access=ADMIN, methods=["POST"]),
    route("/admin/messages", messages_page, access=ADMIN),
    route("/admin/messages/{message_id}/retry", message_retry, access=ADMIN, methods=["POST"]),
    route("/admin/settings", settings_page, access=ADMIN),
    route("/admin/settings", settings_save, access=ADMIN, methods=["POST"]),
]
