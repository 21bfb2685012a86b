"""The author's side of the sign-off on cuts: see the print version, accept it or object."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from citizenvoice import printdesk
from citizenvoice.forms import read_form, text_field
from citizenvoice.printdesk import PrintDeskError
from citizenvoice.routing import PUBLIC, route
from citizenvoice.store import essays as essay_store
from citizenvoice.store import printdesk as print_store
from citizenvoice.templating import render
from citizenvoice.textdiff import diff_html
from citizenvoice.textnorm import normalize_text

PRIVATE_HEADERS = {"cache-control": "no-store", "referrer-policy": "no-referrer", "x-robots-tag": "noindex"}


async def _essay_and_request(request: Request):  # noqa: ANN202
    token = request.path_params["token"]
    async with request.app.state.db.read() as conn:
        essay = await essay_store.get_by_token(conn, token)
        if essay is None:
            raise HTTPException(404, "没有找到这篇投稿。请检查链接是否完整。")
        signoff = await print_store.latest_signoff(conn, essay.id)
        version = await print_store.get_print_version(conn, signoff.print_version_id) if signoff else None
    if signoff is None or version is None:
        raise HTTPException(404, "编辑没有请您确认见报稿。")
    return essay, signoff, version


async def signoff_page(request: Request, *, error: str = "", note: str = "", status_code: int = 200) -> Response:
    essay, signoff, version = await _essay_and_request(request)
    context = {
        "essay": essay, "signoff": signoff, "version": version, "diff": diff_html(essay.body, version.body),
        "token": request.path_params["token"], "error": error, "note": note,
    }
    return render(request, "signoff/signoff.html", context, status_code=status_code, headers=PRIVATE_HEADERS)


async def answer(request: Request) -> Response:
    form = await read_form(request)
    essay, _, _ = await _essay_and_request(request)
    choice, note = text_field(form, "answer"), normalize_text(text_field(form, "note"))
    try:
        async with request.app.state.db.write() as conn:
            await printdesk.answer_signoff(conn, essay.id, choice, note)
    except PrintDeskError as exc:
        return await signoff_page(request, error=exc.message, note=note, status_code=exc.status)
    return RedirectResponse(f"/track/{request.path_params['token']}/signoff?answered=1", status_code=303)


routes = [
    route("/track/{token}/signoff", signoff_page, access=PUBLIC),
    route("/track/{token}/signoff", answer, access=PUBLIC, methods=["POST"], name="signoff_answer"),
]
