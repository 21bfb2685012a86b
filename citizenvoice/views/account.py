"""Staff sign-in and sign-out."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from citizenvoice.domain import accounts
from citizenvoice.domain.keys import keyed_hash
from citizenvoice.model.staff import User
from citizenvoice.web import sessions
from citizenvoice.web.forms import read_form, text_field
from citizenvoice.web.routing import PUBLIC, route
from citizenvoice.web.security import client_ip
from citizenvoice.web.templating import render

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
    ip_hash = keyed_hash(request.app.state.secret_key, "login-ip", client_ip(request))
    user = await accounts.authenticate(request.app.state.db, username, password, ip_hash) if username else None
    if user is None:
        context = {"next": next_path or "", "username": username, "error": accounts.LOGIN_FAILED_MESSAGE}
        return render(request, "auth/login.html", context, status_code=400)
    sessions.start_session(request, user)
    return RedirectResponse(next_path or staff_home(user), status_code=303)


async def logout(request: Request) -> Response:
    await read_form(request)
    sessions.end_session(request)
    return RedirectResponse("/", status_code=303)


routes = [
    route("/login", login_page, access=PUBLIC),
    route("/login", login, access=PUBLIC, methods=["POST"], name="login_post"),
    route("/logout", logout, access=PUBLIC, methods=["POST"]),
]
