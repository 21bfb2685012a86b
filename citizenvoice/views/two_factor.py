"""Two-factor sign-in: one's own enrolment at /account/2fa, and the login's second step."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from citizenvoice.domain import twofactor
from citizenvoice.model.staff import ROLES, User
from citizenvoice.store import twofactor as twofactor_store
from citizenvoice.web import sessions, sitesettings
from citizenvoice.web.forms import read_form, text_field
from citizenvoice.web.routing import PUBLIC, route
from citizenvoice.web.templating import render
from citizenvoice.web.twofactor import ENROL_PATH

STAFF = tuple(ROLES)
NO_STORE = {"cache-control": "no-store"}  # keys, codes and step tokens stay out of every cache
_FLASH = "two_factor_flash"


def _required(request: Request, user: User) -> bool:
    return twofactor.required_for(request.app.state.settings.two_factor, user)


async def _me(request: Request) -> User:
    user = await sessions.current_user(request)
    assert user is not None  # the route admits staff only
    return user


# ---------------------------------------------------------------------------------------------------
# The login's second step


async def second_step(request: Request, user: User, destination: str) -> Response | None:
    """For an enrolled user whose password was right: the page asking for a code, instead of a session.

    ``destination``: where the login goes on to (a local path the password step checked)."""
    if not await twofactor.is_enrolled(request.app.state.db, user.id):
        return None
    token = twofactor.step_token(request.app.state.secret_key, user, destination)
    return _step_page(request, token)


def _step_page(request: Request, token: str, *, field: str = "", error: str = "",
               typed: dict[str, str] | None = None, status_code: int = 200) -> Response:  # fmt: skip
    context = {"step_token": token, "error": error, "error_field": field, "typed": typed or {}}
    return render(request, "auth/two_factor_login.html", context, status_code=status_code, headers=NO_STORE)


async def login_second_step(request: Request) -> Response:
    form = await read_form(request)
    token = text_field(form, "step_token")
    typed = {"totp_code": text_field(form, "totp_code")[:40], "recovery_code": text_field(form, "recovery_code")[:100]}
    codes = twofactor.Codes(totp=typed["totp_code"], recovery=typed["recovery_code"])
    try:
        signed_in = await twofactor.complete_login(request.app.state.db, request.app.state.secret_key, token, codes,
                                                   sessions.login_address(request))  # fmt: skip
    except twofactor.StepExpired:
        context = {"next": "", "username": "", "error": twofactor.STEP_EXPIRED}
        return render(request, "auth/login.html", context, status_code=400)
    except twofactor.CodeRefused as refusal:
        return _step_page(request, token, field=refusal.field, error=refusal.message, typed=typed, status_code=400)
    await sessions.start_session(request, signed_in.user)
    if signed_in.verified.kind == "recovery":
        # A spent recovery code usually means a lost phone: show what is left and how to move to a new one.
        left = signed_in.verified.recovery_codes_left
        request.session[_FLASH] = f"您用一个恢复码登录了，还剩 {left} 个。如果手机丢了或换了，请在下面「换一部手机」。"
        return RedirectResponse(ENROL_PATH, status_code=303)
    return RedirectResponse(signed_in.destination, status_code=303)


# ---------------------------------------------------------------------------------------------------
# One's own second factor


def _enrol_context(request: Request, user: User, secret: str, token: str) -> dict[str, Any]:
    site = sitesettings.site_settings(request)
    issuer = "·".join(name for name in (site.paper_name, site.site_name) if name)
    uri = twofactor.provisioning_uri(secret, user.username, issuer)
    return {"secret": twofactor.grouped(secret), "uri": uri, "qr": Markup(twofactor.qr_svg(uri)), "pending": token,
            "issuer": issuer}  # fmt: skip


async def _enrol_page(request: Request, user: User, *, secret: str | None = None, token: str = "",
                      errors: dict[str, str] | None = None, typed: dict[str, str] | None = None,
                      alert: str = "", status_code: int = 200) -> Response:  # fmt: skip
    if secret is None:
        secret = twofactor.new_secret()
        token = twofactor.enrol_token(request.app.state.secret_key, user.id, secret)
    async with request.app.state.db.read() as conn:
        enrolment = await twofactor_store.get(conn, user.id)
    context = {
        **_enrol_context(request, user, secret, token),
        "replacing": enrolment is not None,
        "required": _required(request, user),
        "errors": errors or {},
        "typed": typed or {},
        "alert": alert,
        "flash": request.session.pop(_FLASH, None),
    }
    return render(request, "auth/two_factor_enrol.html", context, status_code=status_code, headers=NO_STORE)


async def _status_page(request: Request, user: User, enrolment: twofactor_store.Enrolment, *,
                       errors: dict[str, str] | None = None, status_code: int = 200) -> Response:  # fmt: skip
    context = {
        "enrolment": enrolment,
        "required": _required(request, user),
        "errors": errors or {},
        "flash": request.session.pop(_FLASH, None),
    }
    return render(request, "auth/two_factor.html", context, status_code=status_code, headers=NO_STORE)


async def two_factor_page(request: Request) -> Response:
    user = await _me(request)
    async with request.app.state.db.read() as conn:
        enrolment = await twofactor_store.get(conn, user.id)
    if enrolment is None or request.query_params.get("replace") == "1":
        return await _enrol_page(request, user)
    return await _status_page(request, user, enrolment)


def _codes_page(request: Request, codes: list[str], *, replaced: bool) -> Response:
    # "Continue" goes to /login, which sends a signed-in staff member on to their own start page.
    context = {"codes": codes, "replaced": replaced, "continue_to": "/login"}
    return render(request, "auth/two_factor_codes.html", context, headers=NO_STORE)


async def enrol(request: Request) -> Response:
    user = await _me(request)
    form = await read_form(request)
    token = text_field(form, "pending")
    typed = {"totp_code": text_field(form, "totp_code")[:40], "current_code": text_field(form, "current_code")[:100]}
    secret = twofactor.pending_secret(request.app.state.secret_key, token, user.id)
    if secret is None:
        return await _enrol_page(request, user, alert=twofactor.ENROL_EXPIRED, status_code=400)
    try:
        codes = await twofactor.confirm_enrolment(
            request.app.state.db, user, secret, typed["totp_code"], current=twofactor.one_field(typed["current_code"]),
            ip_hash=sessions.login_address(request), keep_session_id=_session_id(request),
        )  # fmt: skip
    except twofactor.CodeRefused as refusal:
        return await _enrol_page(request, user, secret=secret, token=token, errors={refusal.field: refusal.message},
                                 typed=typed, status_code=422)  # fmt: skip
    return _codes_page(request, codes, replaced=False)


def _session_id(request: Request) -> int | None:
    here = sessions.current_session(request)
    return here.id if here else None


async def _refused_on_status(request: Request, user: User, refusal: twofactor.CodeRefused, form: str) -> Response:
    async with request.app.state.db.read() as conn:
        enrolment = await twofactor_store.get(conn, user.id)
    if enrolment is None:
        return RedirectResponse(ENROL_PATH, status_code=303)
    return await _status_page(request, user, enrolment, errors={form: refusal.message}, status_code=422)


async def recovery_codes(request: Request) -> Response:
    user = await _me(request)
    code = text_field(await read_form(request), "code")
    try:
        codes = await twofactor.regenerate_recovery_codes(request.app.state.db, user, twofactor.one_field(code),
                                                          sessions.login_address(request))  # fmt: skip
    except twofactor.CodeRefused as refusal:
        return await _refused_on_status(request, user, refusal, "codes")
    return _codes_page(request, codes, replaced=True)


async def turn_off(request: Request) -> Response:
    user = await _me(request)
    code = text_field(await read_form(request), "code")
    try:
        await twofactor.disable(request.app.state.db, user, twofactor.one_field(code), sessions.login_address(request),
                                policy=request.app.state.settings.two_factor)  # fmt: skip
    except twofactor.CodeRefused as refusal:
        return await _refused_on_status(request, user, refusal, "disable")
    request.session[_FLASH] = "两步验证已关闭，登录时只需要密码。请删除验证器里这个账号的那一条。"
    return RedirectResponse(ENROL_PATH, status_code=303)


routes = [
    route("/login/2fa", login_second_step, access=PUBLIC, methods=["POST"]),
    route("/account/2fa", two_factor_page, access=STAFF, before_two_factor=True),
    route("/account/2fa", enrol, access=STAFF, methods=["POST"], before_two_factor=True, name="two_factor_enrol"),
    route("/account/2fa/recovery-codes", recovery_codes, access=STAFF, methods=["POST"]),
    route("/account/2fa/disable", turn_off, access=STAFF, methods=["POST"]),
]
