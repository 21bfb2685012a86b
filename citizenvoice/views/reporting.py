"""The reporter's desk: entering an essay on its author's behalf (记者整理), and the receipt that shows
the reporter the author's tracking code and link to pass on.

Editors do this (the editor role): at this paper the reporters who compile the column are the print
desk's own staff (docs/operations.md, "Reporter-compiled essays", says why there is no reporter role).
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from citizenvoice.domain import compiled, submission
from citizenvoice.model.directions import by_pillar
from citizenvoice.store import compiled as compiled_store
from citizenvoice.store import directions as direction_store
from citizenvoice.store import essays as essay_store
from citizenvoice.web import sessions
from citizenvoice.web.forms import parse_form, text_field, upload_bytes
from citizenvoice.web.routing import route
from citizenvoice.web.security import CSRF_FAILED_MESSAGE, CSRF_FIELD, csrf_valid
from citizenvoice.web.templating import render

EDITOR = ["editor"]
# The receipt carries the author's secret tracking token in its URL: never cached, never passed on.
PRIVATE_HEADERS = {"cache-control": "no-store", "referrer-policy": "no-referrer", "x-robots-tag": "noindex"}
LABELS = {**{name: rule.label for name, rule in submission.RULES.items()}, "source": "稿件来源",
          "consent_note": "作者同意的方式", "photo": "照片"}


async def _open_directions(request: Request) -> list:
    async with request.app.state.db.read() as conn:
        return await direction_store.list_directions(conn, include_archived=False)


def _form(request: Request, directions: list, values: dict[str, str], form_token: str, *,
          errors: dict[str, str] | None = None, alert: str = "", photo_dropped: bool = False,
          status_code: int = 200) -> Response:
    errors = errors or {}
    context = {
        "values": values, "errors": errors, "alert": alert, "form_token": form_token,
        "summary": [(name, errors[name]) for name in compiled.FIELD_ORDER if name in errors],
        "labels": LABELS, "rules": submission.RULES, "byline_modes": submission.BYLINE_MODES,
        "pillars": [group for group in by_pillar(directions) if group[2]], "SOURCES": compiled.SOURCES,
        "form_token_field": submission.FORM_TOKEN_FIELD, "photo_dropped": photo_dropped,
        "photo_types": submission.PHOTO_TYPES,
        "photo_max_mb": request.app.state.settings.photo_max_bytes // (1024 * 1024),
    }
    return render(request, "editor/essay_new.html", context, status_code=status_code,
                  headers={"cache-control": "no-store"})


async def new_essay(request: Request) -> Response:
    directions = await _open_directions(request)
    values = {"byline_mode": "full", "source": "interview"}
    return _form(request, directions, values, submission.issue_form_token(request.app.state.secret_key))


async def enter_essay(request: Request) -> Response:
    # No max_file_bytes: an oversized photo becomes an error next to the photo field, not an error page
    # that loses the reporter's typing (max_body_bytes still caps the request).
    form = await parse_form(request, max_files=1)
    try:
        names = (*submission.FIELD_NAMES, *compiled.EXTRA_FIELDS, submission.FORM_TOKEN_FIELD, CSRF_FIELD)
        raw = {name: text_field(form, name) for name in names}
        photo_data = await upload_bytes(form, "photo")
    finally:
        await form.close()
    directions = await _open_directions(request)
    open_slugs = {d.slug: d.id for d in directions}
    app = request.app
    if not csrf_valid(request, raw[CSRF_FIELD]):
        # The reporter's typing is kept: the form comes back with the reason, nothing stored.
        values = {**submission.validate(raw, open_slugs).values, **compiled.check_extra(raw)[0]}
        token = raw[submission.FORM_TOKEN_FIELD] or submission.issue_form_token(app.state.secret_key)
        return _form(request, directions, values, token, alert=f"{CSRF_FAILED_MESSAGE}您填写的内容都还在下面。",
                     photo_dropped=photo_data is not None, status_code=403)
    user = await sessions.current_user(request)
    assert user is not None  # route() required a signed-in editor
    outcome = await compiled.enter(app.state.db, app.state.screener, app.state.secret_key, raw,
                                   directions=open_slugs, user_id=user.id, photo_data=photo_data,
                                   settings=app.state.settings)
    if outcome.stored:
        return RedirectResponse(f"/editor/essays/{outcome.essay_id}/entered/{outcome.token}", status_code=303,
                                headers=PRIVATE_HEADERS)
    return _form(request, directions, outcome.values, outcome.form_token, errors=outcome.errors,
                 alert=outcome.alert, photo_dropped=photo_data is not None, status_code=outcome.status_code)


async def entered(request: Request) -> Response:
    essay_id, token = request.path_params["essay_id"], request.path_params["token"]
    async with request.app.state.db.read() as conn:
        essay = await essay_store.get_by_token(conn, token) if 20 <= len(token) <= 100 else None
        mark = await compiled_store.mark_of(conn, essay_id)
    if essay is None or essay.id != essay_id or mark is None:
        raise HTTPException(404, "没有找到这篇录入的稿件。")
    base = request.app.state.settings.base_url.rstrip("/")
    context = {"essay": essay, "mark": mark, "SOURCES": compiled.SOURCES, "track_url": f"{base}/track/{token}"}
    return render(request, "editor/essay_entered.html", context, headers=PRIVATE_HEADERS)


routes = [
    route("/editor/essays/new", new_essay, access=EDITOR),
    route("/editor/essays", enter_essay, access=EDITOR, methods=["POST"]),
    route("/editor/essays/{essay_id:id}/entered/{token}", entered, access=EDITOR),
]
