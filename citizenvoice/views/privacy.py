"""The privacy notice, and the author's rights reached from the tracking page: a JSON copy of their
data (domain/privacy.export_document says what it holds), and erasure of their personal data.

``{token}`` is the secret tracking token (only its hash is stored), so these pages are as private as
the tracking page itself: never cached, never indexed, never sending the URL on as a referrer.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from citizenvoice.domain import privacy
from citizenvoice.model.essays import Status
from citizenvoice.store import admin as admin_store
from citizenvoice.store import essays as essay_store
from citizenvoice.store.essays import Essay
from citizenvoice.web import sitesettings
from citizenvoice.web.forms import read_form, text_field
from citizenvoice.web.routing import PUBLIC, route
from citizenvoice.web.templating import render

PRIVATE_HEADERS = {
    "cache-control": "private, no-store",
    "x-robots-tag": "noindex",
    "referrer-policy": "no-referrer",
}
NOT_FOUND = "没有找到这篇投稿。请检查链接是否完整，或通过「查进度」用投稿编号查询。"


async def notice(request: Request) -> Response:
    site = await sitesettings.refreshed(request)
    context = {"site": site, "retention_days": request.app.state.settings.retention_days}
    return render(request, "privacy/notice.html", context)


async def _essay_for(request: Request) -> Essay:
    token = request.path_params["token"]
    if not (8 <= len(token) <= 128):
        raise HTTPException(404, NOT_FOUND)
    async with request.app.state.db.read() as conn:
        essay = await essay_store.get_by_token(conn, token)
    if essay is None:
        raise HTTPException(404, NOT_FOUND)
    return essay


async def export_json(request: Request) -> Response:
    essay = await _essay_for(request)
    async with request.app.state.db.read() as conn:
        document = await privacy.export_document(
            conn, essay.id, media_dir=request.app.state.settings.media_path
        )
    body = privacy.export_json(document)
    headers = {**PRIVATE_HEADERS, "content-disposition": f'attachment; filename="{essay.tracking_code}.json"'}
    return Response(body, media_type="application/json; charset=utf-8", headers=headers)


async def _page_context(request: Request, essay: Essay) -> dict[str, Any]:
    async with request.app.state.db.read() as conn:
        erased_at, removed_at = await admin_store.erasure_state(conn, essay.id)
    site = await sitesettings.refreshed(request)
    return {
        "essay": essay,
        "token": request.path_params["token"],
        "erased_at": erased_at,
        "removed_at": removed_at,
        "printed": essay.status == Status.PRINTED or bool(essay.printed_edition),
        "anonymous_byline": f"{site.city}市民",
        "choices": {k: v.format(city=site.city) for k, v in privacy.KEEP_TEXT_CHOICES.items()},
    }


async def delete_page(request: Request) -> Response:
    essay = await _essay_for(request)
    context = {**await _page_context(request, essay), "keep_text": "", "errors": {}}
    return render(request, "privacy/delete.html", context, headers=PRIVATE_HEADERS)


def _validate(keep_text: str, confirmed: bool) -> dict[str, str]:
    errors = {}
    if keep_text not in privacy.KEEP_TEXT_CHOICES:
        errors["keep_text"] = "请选择文章的处理方式。"
    if not confirmed:
        errors["confirm"] = "请勾选确认。删除后无法恢复。"
    return errors


async def delete(request: Request) -> Response:
    form = await read_form(request)
    essay = await _essay_for(request)
    keep_text = text_field(form, "keep_text")
    errors = _validate(keep_text, text_field(form, "confirm") == "yes")
    if errors:
        context = {**await _page_context(request, essay), "keep_text": keep_text, "errors": errors}
        return render(request, "privacy/delete.html", context, status_code=422, headers=PRIVATE_HEADERS)
    site = await sitesettings.refreshed(request)
    async with request.app.state.db.write() as conn:
        await privacy.erase_for_author(
            conn, essay.id, keep_text, city=site.city, media_dir=request.app.state.settings.media_path
        )
    target = request.url_for("privacy_delete_page", token=request.path_params["token"]).path
    return RedirectResponse(f"{target}?done=1", status_code=303, headers=PRIVATE_HEADERS)


routes = [
    route("/privacy", notice, access=PUBLIC),
    route("/track/{token}/export.json", export_json, access=PUBLIC),
    route("/track/{token}/delete", delete_page, access=PUBLIC, name="privacy_delete_page"),
    route("/track/{token}/delete", delete, access=PUBLIC, methods=["POST"], name="privacy_delete"),
]
