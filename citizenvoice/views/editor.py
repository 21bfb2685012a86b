"""The print desk for editors: pages, the candidate picker, print versions, verification, exports."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from citizenvoice.domain import pagecontent, photos, printdesk, printexport
from citizenvoice.domain.printdesk import BYLINE_STYLES, PAGE_EVENT_LABELS, PAGE_STATES, PrintDeskError
from citizenvoice.model.essays import AUTHOR_ROLES
from citizenvoice.store import directions as direction_store
from citizenvoice.store import pagecontent as content_store
from citizenvoice.store import printdesk as store
from citizenvoice.text import numbers, printcheck
from citizenvoice.text.charcount import count_print_chars
from citizenvoice.text.diff import diff_html, is_substantive_change
from citizenvoice.text.normalize import normalize_line, normalize_text
from citizenvoice.web import sessions
from citizenvoice.web.forms import parse_form, read_form, text_field, upload_bytes
from citizenvoice.web.routing import route
from citizenvoice.web.security import CSRF_FAILED_MESSAGE, CSRF_FIELD, csrf_valid
from citizenvoice.web.sitesettings import site_settings
from citizenvoice.web.templating import render

EDITOR = ["editor"]
PAGE_SIZE = 20


async def _user_id(request: Request) -> int:
    user = await sessions.current_user(request)
    assert user is not None  # route() already required a signed-in editor
    return user.id


def _back(page_id: int, anchor: str = "", notice: str = "") -> RedirectResponse:
    query = f"?notice={notice}" if notice else ""
    return RedirectResponse(f"/editor/pages/{page_id}{query}{anchor}", status_code=303)


async def index(request: Request) -> Response:
    page_number = numbers.page_number(request.query_params)
    async with request.app.state.db.read() as conn:
        pages = await store.list_pages(conn, limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE)
        total = await store.count_pages(conn)
        deleted = await store.deleted_pages(conn)
    context = _index_context(request, pages, total, page_number)
    return render(request, "editor/index.html", {**context, "deleted": deleted})


def _index_context(request: Request, pages: list, total: int, page_number: int, form: Any = None) -> dict:
    site = site_settings(request)  # the admin may have renamed the paper or the column
    defaults = {"paper": site.paper_name, "column_title": site.column_title, "slots": "4",
                "slot_budget": "500", "page_label": "", "date": printdesk.next_edition_date(),
                "lead": "", "credits": "", "slogan": "",
                "byline_style": "under_headline"}
    return {
        "pages": pages, "total": total, "page_number": page_number, "has_next": page_number * PAGE_SIZE < total,
        "values": form.values if form else defaults, "errors": form.errors if form else {},
        "BYLINE_STYLES": BYLINE_STYLES, "PAGE_STATES": PAGE_STATES,
    }


async def create_page(request: Request) -> Response:
    form_data = await read_form(request)
    values = {n: text_field(form_data, n) for n in printdesk.SETTING_FIELDS}
    values = {k: (normalize_text(v) if k in ("lead", "credits") else normalize_line(v)) for k, v in values.items()}
    form = printdesk.validate_page(values)
    if form.errors:
        async with request.app.state.db.read() as conn:
            pages = await store.list_pages(conn, limit=PAGE_SIZE, offset=0)
            total = await store.count_pages(conn)
        return render(request, "editor/index.html", _index_context(request, pages, total, 1, form), status_code=422)
    user_id = await _user_id(request)
    async with request.app.state.db.write() as conn:
        page_id = await store.create_page(conn, form.fields, user_id)
    return RedirectResponse(f"/editor/pages/{page_id}", status_code=303)


async def _page_or_404(conn, page_id: int) -> store.PrintPage:  # noqa: ANN001
    page = await store.get_page(conn, page_id)
    if page is None:
        raise HTTPException(404, "版面不存在。")
    return page


async def page_screen(request: Request, *, error: str = "", status_code: int = 200, phones: dict | None = None,
                      settings_form: Any = None, feature_form: Any = None, band_form: Any = None) -> Response:
    page_id = request.path_params["page_id"]
    async with request.app.state.db.read() as conn:
        page = await _page_or_404(conn, page_id)
        slots = await store.list_slots(conn, page_id)
        versions = await store.latest_versions(conn, page_id)
        signoffs = {s.essay.id: await store.latest_signoff(conn, s.essay.id, page_id) for s in slots}
        check = await printdesk.lock_check(conn, page)
        events = await store.page_events(conn, page_id)
        content = await _content(conn, page_id)
    roles, directions = printdesk.balance(slots)
    fit = await _proof_fit(request, page, slots, versions, content)
    context = {
        "page": page, "slots": slots, "versions": versions, "signoffs": signoffs, "check": check, "fit": fit,
        "events": events, "roles": roles, "directions": directions, "error": error,
        "notice": request.query_params.get("notice", ""), "PAGE_STATES": PAGE_STATES, "EVENT_LABELS": PAGE_EVENT_LABELS,
        "BYLINE_STYLES": BYLINE_STYLES, "credits_lines": [c for c in page.credits.splitlines() if c.strip()],
        "print_bylines": printdesk.printed_bylines(page, slots, versions), "phones": phones or {},
        "settings_values": settings_form.values if settings_form else printdesk.page_settings_values(page),
        "settings_errors": settings_form.errors if settings_form else {},
        **_content_context(content, feature_form, band_form),
    }
    return render(request, "editor/page.html", context, status_code=status_code)


async def _content(conn: Any, page_id: int) -> dict[str, Any]:
    """The page's own content: its feature (newest version), its versions, its band, the catalogue."""
    return {
        "feature": await content_store.latest_feature(conn, page_id),
        "feature_versions": await content_store.feature_versions(conn, page_id),
        "band": await content_store.band(conn, page_id),
        "catalogue": await direction_store.list_directions(conn),
    }


def _content_context(content: dict[str, Any], feature_form: Any, band_form: Any) -> dict[str, Any]:
    feature = pagecontent.current_feature(content["feature"])
    saved = {"headline": feature.headline, "byline": feature.byline, "body": feature.body,
             "photo_credit": feature.photo_credit} if feature else {}
    band_rows = band_form.rows if band_form else [
        {"direction": b.slug, "name": b.name, "description": b.description} for b in content["band"]]
    return {
        "feature": feature, "feature_versions": content["feature_versions"],
        "feature_values": feature_form.values if feature_form else saved,
        "feature_errors": feature_form.errors if feature_form else {},
        "feature_chars": count_print_chars(feature.body) if feature else 0,
        "feature_sections": pagecontent.sections(feature.body) if feature else [],
        "band": content["band"], "band_errors": band_form.errors if band_form else [],
        "band_rows": band_rows + [{"direction": "", "name": "", "description": ""}] * (pagecontent.BAND_MAX - len(band_rows)),
        "catalogue": content["catalogue"], "BAND_MAX": pagecontent.BAND_MAX,
    }


async def _proof_fit(request: Request, page, slots, versions, content) -> printexport.ProofFit | None:  # noqa: ANN001
    """How full the proof is, for the page screen; None without essays or without the CJK fonts."""
    if not slots or any(s.essay.id not in versions for s in slots):
        return None
    settings = request.app.state.settings
    export = printdesk.export_page(
        page, slots, versions, settings.media_path, sheet=settings.print_sheet, body_pt=settings.print_body_pt,
        feature=pagecontent.print_feature(content["feature"], settings.media_path),
        band=pagecontent.print_band(content["band"]))
    try:
        return await run_in_threadpool(printexport.proof_fit, export)
    except printexport.MissingCJKFont:
        return None


async def update_settings(request: Request) -> Response:
    form_data = await read_form(request)
    changes = {n: text_field(form_data, n) for n in printdesk.SETTING_FIELDS if n in form_data}
    changes = {k: (normalize_text(v) if k in ("lead", "credits") else normalize_line(v)) for k, v in changes.items()}
    page_id, user_id = request.path_params["page_id"], await _user_id(request)
    try:
        async with request.app.state.db.write() as conn:
            form = await printdesk.update_settings(conn, page_id, changes, user_id)
    except PrintDeskError as exc:
        return await page_screen(request, error=exc.message, status_code=exc.status)
    if form.errors:
        return await page_screen(request, error="版面设置没有保存，请按提示修改。", settings_form=form, status_code=422)
    return _back(page_id, "#settings", notice="settings")


async def save_feature(request: Request) -> Response:
    """The feature article: a new version from the page screen's form (a photo is optional)."""
    form = await parse_form(request, max_files=1)
    try:
        raw = {name: text_field(form, name) for name in pagecontent.FEATURE_FIELDS}
        remove_photo = text_field(form, "remove_photo") == "yes"
        data = await upload_bytes(form, "photo")
        csrf_ok = csrf_valid(request, text_field(form, CSRF_FIELD))
    finally:
        await form.close()
    if not csrf_ok:
        kept = pagecontent.FeatureForm(pagecontent.validate_feature(raw, has_photo=False).values)
        return await page_screen(request, error=f"{CSRF_FAILED_MESSAGE}特稿没有保存，您写的内容都还在下面。",
                                 feature_form=kept, status_code=403)
    settings = request.app.state.settings
    page_id, user_id = request.path_params["page_id"], await _user_id(request)
    try:
        photo = await pagecontent.prepare_photo(data, settings.photo_max_bytes)
    except photos.PhotoError as exc:
        failed = pagecontent.FeatureForm(pagecontent.validate_feature(raw, has_photo=False).values, {"photo": exc.message})
        return await page_screen(request, error="特稿没有保存：照片无法使用。", feature_form=failed, status_code=422)
    try:
        async with request.app.state.db.write() as conn:
            result = await pagecontent.save_feature(conn, page_id, raw, user_id, photo=photo,
                                                    remove_photo=remove_photo, media_dir=settings.media_path)
    except PrintDeskError as exc:
        return await page_screen(request, error=exc.message, status_code=exc.status)
    if result.errors:
        return await page_screen(request, error="特稿没有保存，请按提示修改。", feature_form=result, status_code=422)
    return _back(page_id, "#feature", notice="feature")


async def remove_feature(request: Request) -> Response:
    await read_form(request)
    page_id, user_id = request.path_params["page_id"], await _user_id(request)
    try:
        async with request.app.state.db.write() as conn:
            await pagecontent.remove_feature(conn, page_id, user_id)
    except PrintDeskError as exc:
        return await page_screen(request, error=exc.message, status_code=exc.status)
    return _back(page_id, "#feature", notice="feature_removed")


async def save_band(request: Request) -> Response:
    """The directions band: ``direction`` repeated in band order, optional ``band_name`` and
    ``band_description`` aligned with it (blank: the catalogue's words)."""
    form = await read_form(request)
    slugs, names, texts = (
        [v for v in form.getlist(key) if isinstance(v, str)] for key in ("direction", "band_name", "band_description"))
    page_id, user_id = request.path_params["page_id"], await _user_id(request)
    try:
        async with request.app.state.db.write() as conn:
            catalogue = await direction_store.list_directions(conn)
            result = await pagecontent.save_band(conn, page_id, slugs, names, texts, catalogue, user_id)
    except PrintDeskError as exc:
        return await page_screen(request, error=exc.message, status_code=exc.status)
    if result.errors:
        return await page_screen(request, error="方向带没有保存，请按提示修改。", band_form=result, status_code=422)
    return _back(page_id, "#band", notice="band")


async def delete_page(request: Request) -> Response:
    await read_form(request)
    user_id = await _user_id(request)
    page_id = request.path_params["page_id"]
    try:
        async with request.app.state.db.write() as conn:
            await printdesk.delete_draft(conn, page_id, user_id)
    except PrintDeskError as exc:
        return await page_screen(request, error=exc.message, status_code=exc.status)
    return RedirectResponse("/editor?notice=deleted", status_code=303)


async def reveal_phones(request: Request) -> Response:
    await read_form(request)
    page_id, user_id = request.path_params["page_id"], await _user_id(request)
    try:
        async with request.app.state.db.write() as conn:
            phones = await printdesk.reveal_phones(conn, page_id, user_id)
    except PrintDeskError as exc:
        raise HTTPException(exc.status, exc.message) from exc
    response = await page_screen(request, phones=phones)
    response.headers["cache-control"] = "no-store"
    return response


async def confirm_printed(request: Request) -> Response:
    page_id = request.path_params["page_id"]
    async with request.app.state.db.read() as conn:
        page = await _page_or_404(conn, page_id)
        slots = await store.list_slots(conn, page_id)
    if page.state != "locked":
        return _back(page_id)
    context = {"page": page, "slots": slots, "edition": printdesk.printed_edition(page),
               "warnings": printdesk.print_date_warnings(page, slots, printdesk.beijing_today())}
    return render(request, "editor/printed_confirm.html", context)


async def candidates(request: Request) -> Response:
    page_id = request.path_params["page_id"]
    params = request.query_params
    filters = store.CandidateFilter(
        direction=params.get("direction", ""), author_role=params.get("author_role", ""),
        min_chars=numbers.parse_int(params.get("min", "")), max_chars=numbers.parse_int(params.get("max", "")),
        has_photo=_optional_bool(params.get("photo", "")), verified=_optional_bool(params.get("verified", "")),
    )
    page_number = numbers.page_number(params)
    async with request.app.state.db.read() as conn:
        page = await _page_or_404(conn, page_id)
        essays, total = await store.candidates(conn, filters, limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE)
        directions = await direction_store.list_directions(conn)
        slots = await store.list_slots(conn, page_id)
    roles, direction_counts = printdesk.balance(slots)
    context = {
        "page": page, "essays": essays, "total": total, "filters": filters, "directions": directions,
        "page_number": page_number, "has_next": page_number * PAGE_SIZE < total, "roles": roles,
        "direction_counts": direction_counts, "query": params,
        # counted the newsroom's way, like the slot budget they are compared with
        "print_chars": {e.id: count_print_chars(e.body) for e in essays},
    }
    return render(request, "editor/candidates.html", context)


def _optional_bool(raw: str) -> bool | None:
    return {"1": True, "0": False}.get(raw)


async def _act(request: Request, action, *, anchor: str = "", notice: str = "") -> Response:  # noqa: ANN001
    """Run one print-desk step in a write transaction; a refusal re-renders the page with the reason."""
    page_id = request.path_params["page_id"]
    try:
        async with request.app.state.db.write() as conn:
            await action(conn, page_id)
    except PrintDeskError as exc:
        return await page_screen(request, error=exc.message, status_code=exc.status)
    return _back(page_id, anchor, notice)


async def place(request: Request) -> Response:
    form = await read_form(request)
    raw = form.getlist("essay_id")
    essay_ids = [numbers.parse_int(str(v), low=1) for v in raw]
    if None in essay_ids:
        raise HTTPException(422, "请选择一篇文章。")
    user_id, city = await _user_id(request), site_settings(request).city
    ids = [i for i in essay_ids if i is not None]
    return await _act(request, lambda conn, page_id: printdesk.place_many(conn, page_id, ids, user_id, city),
                      notice="placed")


async def remove(request: Request) -> Response:
    await read_form(request)
    essay_id, user_id = request.path_params["essay_id"], await _user_id(request)
    return await _act(request, lambda conn, page_id: printdesk.remove(conn, page_id, essay_id, user_id))


async def move(request: Request) -> Response:
    form = await read_form(request)
    essay_id, user_id = request.path_params["essay_id"], await _user_id(request)
    offset = -1 if text_field(form, "direction") == "up" else 1
    return await _act(request, lambda conn, page_id: printdesk.move(conn, page_id, essay_id, offset, user_id),
                      anchor="#slots")


async def verify(request: Request) -> Response:
    form = await read_form(request)
    essay_id, user_id = request.path_params["essay_id"], await _user_id(request)
    note = normalize_text(text_field(form, "note"))
    return await _act(request, lambda conn, page_id: printdesk.verify(conn, page_id, essay_id, user_id, note),
                      anchor=f"#slot-{essay_id}")


async def request_signoff(request: Request) -> Response:
    await read_form(request)
    essay_id, user_id = request.path_params["essay_id"], await _user_id(request)
    return await _act(request, lambda conn, page_id: printdesk.request_signoff(conn, page_id, essay_id, user_id),
                      anchor=f"#slot-{essay_id}")


async def lock(request: Request) -> Response:
    form = await read_form(request)
    reason, user_id = normalize_line(text_field(form, "override_reason")), await _user_id(request)
    return await _act(request, lambda conn, page_id: printdesk.lock(conn, page_id, user_id, reason), notice="locked")


async def unlock(request: Request) -> Response:
    form = await read_form(request)
    reason, user_id = normalize_line(text_field(form, "reason")), await _user_id(request)
    return await _act(request, lambda conn, page_id: printdesk.unlock(conn, page_id, user_id, reason))


async def mark_printed(request: Request) -> Response:
    await read_form(request)
    user_id, city = await _user_id(request), site_settings(request).city
    return await _act(request, lambda conn, page_id: printdesk.mark_printed(conn, page_id, user_id, city),
                      notice="printed")


async def slot_screen(request: Request, *, error: str = "", values: dict | None = None, phone: str = "",
                      status_code: int = 200) -> Response:
    page_id, essay_id = request.path_params["page_id"], request.path_params["essay_id"]
    async with request.app.state.db.read() as conn:
        page = await _page_or_404(conn, page_id)
        slot = next((s for s in await store.list_slots(conn, page_id) if s.essay.id == essay_id), None)
        if slot is None:
            raise HTTPException(404, "这篇文章不在本版。")
        versions = await store.print_versions(conn, page_id, essay_id)
        signoff = await store.latest_signoff(conn, essay_id, page_id)
        views = await store.phone_views(conn, essay_id)
    latest = versions[-1]
    context = {
        "page": page, "slot": slot, "essay": slot.essay, "versions": versions, "latest": latest,
        "values": values or {"headline": latest.headline, "byline": latest.byline, "body": latest.body},
        "diff": diff_html(slot.essay.body, latest.body), "substantive": is_substantive_change(slot.essay.body, latest.body),
        "signoff": signoff, "phone_views": views, "phone": phone, "error": error, "AUTHOR_ROLES": AUTHOR_ROLES,
        "print_byline": printdesk.byline_as_printed(page.byline_style, slot.essay, latest),
        "headline_fit": printexport.headline_fit(
            latest.headline, printexport.per_row(page.slots, slot.position), request.app.state.settings.print_sheet),
        "suspect_breaks": printdesk.suspect_breaks(latest.body),
        # the moderator's print suggestions, the mid-sentence breaks being listed above already
        "print_flags": [f for f in printcheck.print_flags(latest.body) if f.kind != "mid_sentence_break"],
        "PRINT_FLAG_LABELS": printcheck.PRINT_FLAG_LABELS,
        "BYLINE_STYLES": BYLINE_STYLES,
    }
    return render(request, "editor/slot.html", context, status_code=status_code)


async def save_version(request: Request) -> Response:
    form = await read_form(request)
    page_id, essay_id = request.path_params["page_id"], request.path_params["essay_id"]
    values = {
        "headline": normalize_line(text_field(form, "headline")),
        "byline": normalize_line(text_field(form, "byline")),
        "body": normalize_text(text_field(form, "body")),
    }
    problem = _version_problem(values)
    if problem:
        return await slot_screen(request, error=problem, values=values, status_code=422)
    user_id, city = await _user_id(request), site_settings(request).city
    correct_online = text_field(form, "correct_online") == "1"
    try:
        async with request.app.state.db.write() as conn:
            await printdesk.save_version(conn, page_id, essay_id, user_id, **values, correct_online=correct_online,
                                         city=city)
    except PrintDeskError as exc:
        values["correct_online"] = "1" if correct_online else ""
        return await slot_screen(request, error=exc.message, values=values, status_code=exc.status)
    saved = "online" if correct_online else "1"
    return RedirectResponse(f"/editor/pages/{page_id}/slots/{essay_id}?saved={saved}", status_code=303)


def _version_problem(values: dict[str, str]) -> str:
    if not 2 <= len(values["headline"]) <= 40:
        return "见报标题需要 2–40 个字。"
    if not 2 <= len(values["byline"]) <= 80:
        return "署名行需要 2–80 个字。"
    if len(values["body"]) < 50:
        return "见报正文太短了（至少 50 个字）。"
    return ""


async def reveal_phone(request: Request) -> Response:
    await read_form(request)
    page_id, essay_id = request.path_params["page_id"], request.path_params["essay_id"]
    user_id = await _user_id(request)
    try:
        async with request.app.state.db.write() as conn:
            phone = await printdesk.reveal_phone(conn, page_id, essay_id, user_id)
    except PrintDeskError as exc:
        raise HTTPException(exc.status, exc.message) from exc
    response = await slot_screen(request, phone=phone)
    response.headers["cache-control"] = "no-store"
    return response


async def _export_page(request: Request, *, require_locked: bool) -> printexport.PrintPage:
    page_id = request.path_params["page_id"]
    async with request.app.state.db.read() as conn:
        page = await _page_or_404(conn, page_id)
        if require_locked and page.state == "draft":
            raise HTTPException(409, "请先锁定版面，再导出清样、排版包和 Word 文件。")
        slots = await store.list_slots(conn, page_id)
        versions = await store.latest_versions(conn, page_id)
        user = await sessions.current_user(request)
        settings = request.app.state.settings
        feature = pagecontent.print_feature(await content_store.latest_feature(conn, page_id), settings.media_path)
        band = pagecontent.print_band(await content_store.band(conn, page_id))
    return printdesk.export_page(page, slots, versions, settings.media_path, editor=user.username if user else "",
                                 sheet=settings.print_sheet, body_pt=settings.print_body_pt, feature=feature, band=band)


def _download(data: bytes, media_type: str, filename: str) -> Response:
    return Response(data, media_type=media_type, headers={
        "content-disposition": f'attachment; filename="{filename}"', "cache-control": "no-store"})


async def proof_pdf(request: Request) -> Response:
    export = await _export_page(request, require_locked=True)
    try:
        proof = await run_in_threadpool(printexport.render_proof_pdf, export)
    except printexport.MissingCJKFont as exc:
        raise HTTPException(503, str(exc)) from exc
    headers = {"x-proof-overflow": "1" if proof.overflow else "0"}
    response = _download(proof.pdf, "application/pdf", f"proof-{export.page_label}-{export.date.isoformat()}.pdf")
    response.headers.update(headers)
    return response


async def preview_png(request: Request) -> Response:
    export = await _export_page(request, require_locked=False)
    try:
        png = await run_in_threadpool(printexport.render_preview_png, export)
    except printexport.MissingCJKFont as exc:
        raise HTTPException(503, str(exc)) from exc
    return Response(png, media_type="image/png", headers={"cache-control": "no-store"})


async def package_zip(request: Request) -> Response:
    encoding = request.query_params.get("encoding", "utf-8").lower()
    if encoding not in printexport.PACKAGE_ENCODINGS:
        raise HTTPException(422, "排版包的编码只能是 utf-8（默认，带 BOM）或 gb18030。")
    export = await _export_page(request, require_locked=True)
    data = await run_in_threadpool(printexport.build_full_package, export, encoding)
    return _download(data, "application/zip", f"package-{export.page_label}-{export.date.isoformat()}.zip")


async def page_docx(request: Request) -> Response:
    export = await _export_page(request, require_locked=True)
    data = await run_in_threadpool(printexport.build_docx, export)
    media = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return _download(data, media, f"page-{export.page_label}-{export.date.isoformat()}.docx")


_P = "/editor/pages/{page_id:id}"
_S = _P + "/slots/{essay_id:id}"
routes = [
    route("/editor", index, access=EDITOR),
    route("/editor/pages", create_page, access=EDITOR, methods=["POST"]),
    route(_P, page_screen, access=EDITOR),
    route(_P + "/candidates", candidates, access=EDITOR),
    route(_P + "/slots", place, access=EDITOR, methods=["POST"]),
    route(_S, slot_screen, access=EDITOR),
    route(_S + "/version", save_version, access=EDITOR, methods=["POST"]),
    route(_S + "/remove", remove, access=EDITOR, methods=["POST"]),
    route(_S + "/move", move, access=EDITOR, methods=["POST"]),
    route(_S + "/phone", reveal_phone, access=EDITOR, methods=["POST"]),
    route(_S + "/verify", verify, access=EDITOR, methods=["POST"]),
    route(_S + "/signoff", request_signoff, access=EDITOR, methods=["POST"]),
    route(_P + "/lock", lock, access=EDITOR, methods=["POST"]),
    route(_P + "/unlock", unlock, access=EDITOR, methods=["POST"]),
    route(_P + "/printed", mark_printed, access=EDITOR, methods=["POST"]),
    route(_P + "/printed", confirm_printed, access=EDITOR),
    route(_P + "/settings", update_settings, access=EDITOR, methods=["POST"]),
    route(_P + "/delete", delete_page, access=EDITOR, methods=["POST"]),
    route(_P + "/feature", save_feature, access=EDITOR, methods=["POST"]),
    route(_P + "/feature/remove", remove_feature, access=EDITOR, methods=["POST"]),
    route(_P + "/band", save_band, access=EDITOR, methods=["POST"]),
    route(_P + "/phones", reveal_phones, access=EDITOR, methods=["POST"]),
    route(_P + "/proof.pdf", proof_pdf, access=EDITOR),
    route(_P + "/preview.png", preview_png, access=EDITOR),
    route(_P + "/package.zip", package_zip, access=EDITOR),
    route(_P + "/page.docx", page_docx, access=EDITOR),
]
