"""Staff sign-in and sign-out, and one's own sessions."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from citizenvoice.domain import accounts
from citizenvoice.model.staff import ROLES, User
from citizenvoice.store import sessions as session_store
from citizenvoice.views import two_factor
from citizenvoice.web import sessions, sitesettings
from citizenvoice.web.forms import read_form, text_field
from citizenvoice.web.routing import PUBLIC, route
from citizenvoice.web.templating import render

STAFF = tuple(ROLES)  # any signed-in staff member
HOME_BY_ROLE = (("moderator", "/moderate"), ("editor", "/editor"), ("admin", "/admin"))


def safe_next(target: str) -> str | None:
    """Only local paths, so a crafted link cannot send a moderator to another site after login."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def staff_home(user: User) -> str:
    return next((path for role, path in HOME_BY_ROLE if role in user.roles), "/")


async def login_page(request: Request) -> Response:
    user = await sessions.current_user(request)
    if user is not None:
        return RedirectResponse(safe_next(request.query_params.get("next", "")) or staff_home(user), 303)
    return render(request, "auth/login.html", {"next": request.query_params.get("next", ""), "username": ""})


async def login(request: Request) -> Response:
    form = await read_form(request)
    username = text_field(form, "username").strip()[:100]
    password = text_field(form, "password")[:1000]
    next_path = safe_next(text_field(form, "next"))
    ip_hash = sessions.login_address(request)
    user = await accounts.authenticate(request.app.state.db, username, password, ip_hash) if username else None
    if user is None:
        context = {"next": next_path or "", "username": username, "error": accounts.LOGIN_FAILED_MESSAGE}
        return render(request, "auth/login.html", context, status_code=400)
    step = await two_factor.second_step(request, user, next_path or staff_home(user))
    if step is not None:  # enrolled: the code comes first, then the session
        return step
    await sessions.start_session(request, user)
    return RedirectResponse(next_path or staff_home(user), status_code=303)


async def logout(request: Request) -> Response:
    await read_form(request)
    await sessions.end_session(request)
    return RedirectResponse("/", status_code=303)


async def sessions_page(request: Request, *, status_code: int = 200, alert: str = "") -> Response:
    user = await sessions.current_user(request)
    assert user is not None  # the route admits staff only
    async with request.app.state.db.read() as conn:
        mine = await session_store.list_for_user(conn, user.id)
    here = sessions.current_session(request)
    context = {"sessions": mine, "current_id": here.id if here else None, "alert": alert}
    return render(request, "auth/sessions.html", context, status_code=status_code)


async def session_end(request: Request) -> Response:
    await read_form(request)
    user = await sessions.current_user(request)
    assert user is not None
    here = sessions.current_session(request)
    session_id = request.path_params["session_id"]
    if here is not None and here.id == session_id:
        await sessions.end_session(request)  # ending this one is signing out
        return RedirectResponse("/login", status_code=303)
    async with request.app.state.db.write() as conn:
        ended = await session_store.end(conn, session_id, user_id=user.id)
    if not ended:
        return await sessions_page(request, status_code=404, alert="没有找到这个会话，它可能已经结束。")
    return RedirectResponse("/account/sessions", status_code=303)


async def password_page(request: Request, *, errors: dict[str, str] | None = None, done: bool = False) -> Response:
    context = {"errors": errors or {}, "done": done}
    return render(request, "auth/password.html", context, status_code=422 if errors else 200)


async def password_change(request: Request) -> Response:
    form = await read_form(request)
    user = await sessions.current_user(request)
    assert user is not None
    site = sitesettings.site_settings(request)
    try:
        async with request.app.state.db.write() as conn:
            await accounts.change_own_password(
                conn, user, text_field(form, "current_password")[:1000], text_field(form, "new_password")[:1000],
                text_field(form, "new_password_again")[:1000], avoid=(site.paper_name, site.site_name),
            )  # fmt: skip
    except accounts.PasswordChangeRefused as exc:
        return await password_page(request, errors=exc.errors)
    # Every session ended with the change, this one too; this browser goes on in a fresh one.
    await sessions.start_session(request, user)
    return await password_page(request, done=True)


routes = [
    route("/login", login_page, access=PUBLIC),
    route("/login", login, access=PUBLIC, methods=["POST"], name="login_post"),
    route("/logout", logout, access=PUBLIC, methods=["POST"]),
    route("/account/sessions", sessions_page, access=STAFF),
    route("/account/password", password_page, access=STAFF),
    route("/account/password", password_change, access=STAFF, methods=["POST"], name="password_change"),
    route("/account/sessions/{session_id:id}/end", session_end, access=STAFF, methods=["POST"]),
]
