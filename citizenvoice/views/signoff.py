"""The author's side of the sign-off on cuts: see the print version, accept it or object.

Reached from the tracking page, under either of its addresses: ``/track/{token}`` (the secret link)
or ``/track/code/{signed}`` (the hour-long link a lookup by tracking code gives).
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from citizenvoice.domain import printdesk, submission
from citizenvoice.domain.printdesk import PrintDeskError
from citizenvoice.store import essays as essay_store
from citizenvoice.store import printdesk as print_store
from citizenvoice.store.essays import Essay
from citizenvoice.text.diff import diff_html
from citizenvoice.text.normalize import normalize_text
from citizenvoice.web.forms import read_form, text_field
from citizenvoice.web.routing import PUBLIC, route
from citizenvoice.web.templating import render

PRIVATE_HEADERS = {"cache-control": "no-store", "referrer-policy": "no-referrer", "x-robots-tag": "noindex"}
NOT_FOUND = "没有找到这篇投稿。请检查链接是否完整。"


async def _essay(request: Request, conn) -> tuple[Essay | None, str]:  # noqa: ANN001
    """The essay the address names, and the tracking page's own path."""
    params = request.path_params
    if "token" in params:
        return await essay_store.get_by_token(conn, params["token"]), f"/track/{params['token']}"
    essay_id = submission.read_lookup_token(request.app.state.secret_key, params["signed"])
    essay = await essay_store.get_essay(conn, essay_id) if essay_id is not None else None
    return essay, f"/track/code/{params['signed']}"


async def _essay_and_request(request: Request):  # noqa: ANN202
    async with request.app.state.db.read() as conn:
        essay, base = await _essay(request, conn)
        if essay is None:
            raise HTTPException(404, NOT_FOUND, headers=PRIVATE_HEADERS)
        signoff = await print_store.latest_signoff(conn, essay.id)
        version = await print_store.get_print_version(conn, signoff.print_version_id) if signoff else None
        page_id = await print_store.page_of_essay(conn, essay.id)
        page = await print_store.get_page(conn, page_id) if page_id is not None else None
    if signoff is None or version is None:
        raise HTTPException(404, "编辑没有请您确认见报稿。", headers=PRIVATE_HEADERS)
    style = page.byline_style if page is not None else "under_headline"
    return essay, signoff, version, printdesk.byline_as_printed(style, essay, version), base


async def signoff_page(request: Request, *, error: str = "", note: str = "", status_code: int = 200) -> Response:
    essay, signoff, version, byline, base = await _essay_and_request(request)
    context = {
        "essay": essay, "signoff": signoff, "version": version, "diff": diff_html(essay.body, version.body),
        "byline": byline, "base": base, "error": error, "note": note,
    }
    return render(request, "signoff/signoff.html", context, status_code=status_code, headers=PRIVATE_HEADERS)


async def answer(request: Request) -> Response:
    form = await read_form(request)
    essay, _, _, _, base = await _essay_and_request(request)
    choice, note = text_field(form, "answer"), normalize_text(text_field(form, "note"))
    try:
        async with request.app.state.db.write() as conn:
            await printdesk.answer_signoff(conn, essay.id, choice, note)
    except PrintDeskError as exc:
        return await signoff_page(request, error=exc.message, note=note, status_code=exc.status)
    return RedirectResponse(f"{base}/signoff?answered=1", status_code=303, headers=PRIVATE_HEADERS)


routes = [
    route("/track/code/{signed}/signoff", signoff_page, access=PUBLIC, name="signoff_by_code"),
    route("/track/code/{signed}/signoff", answer, access=PUBLIC, methods=["POST"], name="signoff_answer_by_code"),
    route("/track/{token}/signoff", signoff_page, access=PUBLIC),
    route("/track/{token}/signoff", answer, access=PUBLIC, methods=["POST"], name="signoff_answer"),
]
