"""Statistics for the editorial meeting: the dashboard, its target mix form, and its exports. The same
query parameters (from, to, direction, role) filter the page and every download."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from citizenvoice.domain import stats, statsexport
from citizenvoice.store import directions as direction_store
from citizenvoice.store import stats as store
from citizenvoice.web import charts, sessions
from citizenvoice.web.forms import read_form, text_field
from citizenvoice.web.routing import route
from citizenvoice.web.sitesettings import site_settings
from citizenvoice.web.templating import render

STAFF = ("editor", "chief", "admin")  # the editorial meeting: editors, chiefs (终审) and admins


def _today() -> dt.date:
    return dt.datetime.now(stats.BEIJING).date()


async def _dashboard(request: Request) -> stats.Dashboard:
    async with request.app.state.db.read() as conn:
        return await stats.load_dashboard(conn, request.query_params, _today())


def _charts(board: stats.Dashboard) -> dict[str, object]:
    weeks = [w for w, _ in board.weeks]
    rates = [(d.name, round(t.approval_rate * 100)) for d, t in board.by_direction if t.approval_rate is not None]
    return {
        "weekly": charts.weekly_lines("每周投稿、发布、见报篇数", weeks, [
            ("投稿", [t.submitted for _, t in board.weeks]), ("发布", [t.published for _, t in board.weeks]),
            ("见报", [t.printed for _, t in board.weeks])]),
        "rates": charts.bars("各方向采用率", rates, unit="%"),
        "decisions": charts.bars("投稿到各项决定的中位时长（小时）",
                                 [(d.label, round(d.median_hours, 1)) for d in board.decisions if d.median_hours is not None]),
        "queue": charts.bars("待审稿件等待时长分布（篇）", list(board.queue.buckets)),
        "balance": charts.paired_bars("见报声音平衡：实际与目标", [
            (v.label, round((v.share or 0) * 100), v.target) for v in board.balance], ("实际", "目标"), unit="%"),
    }  # fmt: skip


async def dashboard(request: Request, *, target_error: str = "", target_values: dict | None = None,
                    status_code: int = 200) -> Response:  # fmt: skip
    board = await _dashboard(request)
    query = board.filters.query()
    context = {
        "board": board, "charts": _charts(board), "query": urlencode(query), "filters": board.filters,
        "target_error": target_error, "target_values": target_values or {v: str(p) for v, p in board.targets.items()},
        "saved": request.query_params.get("saved") == "1", "VOICE_LABELS": stats.VOICE_LABELS,
    }  # fmt: skip
    response = render(request, "editor/stats.html", context, status_code=status_code)
    response.headers["cache-control"] = "no-store"
    return response


async def save_targets(request: Request) -> Response:
    form = await read_form(request)
    raw = {voice: text_field(form, voice) for voice in store.VOICES}
    try:
        targets = stats.parse_targets(raw)
    except stats.TargetError as exc:
        return await dashboard(request, target_error=exc.message, target_values=raw, status_code=422)
    user = await sessions.current_user(request)
    assert user is not None  # route() required a signed-in editor
    async with request.app.state.db.write() as conn:
        await stats.save_targets(conn, targets, user.id, user.label)
    query = urlencode({**dict(request.query_params), "saved": "1"})
    return RedirectResponse(f"/editor/stats?{query}#targets", status_code=303)


def _download(data: bytes, media_type: str, filename: str) -> Response:
    return Response(data, media_type=media_type, headers={
        "content-disposition": f'attachment; filename="{filename}"', "cache-control": "no-store"})  # fmt: skip


def _stem(filters: stats.Filters) -> str:
    return f"{filters.start.isoformat()}_{filters.end.isoformat()}"


async def stats_csv(request: Request) -> Response:
    board = await _dashboard(request)
    data = statsexport.build_csv(board)
    return _download(data, "text/csv; charset=utf-8", f"stats-{_stem(board.filters)}.csv")


async def stats_xlsx(request: Request) -> Response:
    board = await _dashboard(request)
    data = await run_in_threadpool(statsexport.build_stats_xlsx, board)
    return _download(data, statsexport.XLSX_MEDIA_TYPE, f"stats-{_stem(board.filters)}.xlsx")


async def essays_xlsx(request: Request) -> Response:
    async with request.app.state.db.read() as conn:
        directions = await direction_store.list_directions(conn)
        filters = stats.parse_filters(request.query_params, directions, _today())
        rows = await store.essay_rows(conn, stats.scope(filters, directions))
    data = await run_in_threadpool(statsexport.build_essays_xlsx, rows, site_settings(request).city)
    return _download(data, statsexport.XLSX_MEDIA_TYPE, f"essays-{_stem(filters)}.xlsx")


routes = [
    route("/editor/stats", dashboard, access=STAFF, name="stats"),
    route("/editor/stats/targets", save_targets, access=STAFF, methods=["POST"], name="stats_targets"),
    route("/editor/stats.csv", stats_csv, access=STAFF),
    route("/editor/stats.xlsx", stats_xlsx, access=STAFF),
    route("/editor/essays.xlsx", essays_xlsx, access=STAFF),
]
