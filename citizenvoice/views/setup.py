"""The first-admin page behind the one-time link ``citizenvoice serve`` prints on a fresh install.

GET shows the form; POST creates the admin (:mod:`citizenvoice.domain.setup`) and sends the browser to
a page that says so, with the sign-in form. A link that is unknown, used or expired, and any link once
an admin exists, is a plain 404.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from citizenvoice.domain import administration
from citizenvoice.domain import setup as first_admin
from citizenvoice.text.normalize import normalize_line
from citizenvoice.web import sitesettings
from citizenvoice.web.forms import read_form, text_field
from citizenvoice.web.routing import PUBLIC, route
from citizenvoice.web.templating import render

_CREATED = "setup_created"  # session key: the username this browser just created


def _form(form: FormData) -> first_admin.FirstAdminForm:
    # As /admin/users reads its form (views/admin.py): the display name normalised like all staff text.
    return first_admin.FirstAdminForm(
        username=text_field(form, "username").strip(),
        display_name=normalize_line(text_field(form, "display_name")),
        password=text_field(form, "password"),
        password_again=text_field(form, "password_again"),
    )


def _page(
    request: Request, values: first_admin.FirstAdminForm | None = None, errors: dict[str, str] | None = None
) -> Response:
    values = values or first_admin.FirstAdminForm("", "", "", "")
    context = {"token": request.path_params["token"], "values": values, "errors": errors or {}}
    return render(request, "setup/first_admin.html", context, status_code=422 if errors else 200)


async def setup_page(request: Request) -> Response:
    async with request.app.state.db.read() as conn:
        usable = await first_admin.token_usable(conn, request.path_params["token"])
    if not usable:
        raise HTTPException(404)
    return _page(request)


async def setup_submit(request: Request) -> Response:
    values = _form(await read_form(request))
    try:
        async with request.app.state.db.write() as conn:
            site = sitesettings.site_settings(request)
            await first_admin.create_first_admin(conn, request.path_params["token"], values,
                                                 avoid=(site.paper_name, site.site_name))
    except first_admin.NotFound:
        raise HTTPException(404) from None
    except administration.Invalid as exc:
        # What was typed comes back, except the passwords: they are never echoed into HTML.
        kept = first_admin.FirstAdminForm(values.username, values.display_name, "", "")
        return _page(request, kept, exc.errors)
    request.session[_CREATED] = values.username
    return RedirectResponse("/setup/done", status_code=303)


async def setup_done(request: Request) -> Response:
    username = request.session.get(_CREATED)
    if not isinstance(username, str):
        raise HTTPException(404)  # only the browser that created the admin sees this page
    return render(request, "setup/done.html", {"username": username})


routes = [
    # Before /setup/{token}, which would otherwise take "done" for a token.
    route("/setup/done", setup_done, access=PUBLIC),
    route("/setup/{token}", setup_page, access=PUBLIC),
    route("/setup/{token}", setup_submit, access=PUBLIC, methods=["POST"]),
]
