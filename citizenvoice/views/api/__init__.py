"""JSON API v1 for a WeChat mini-program and other clients: the public reads, and the resident's own
submission, tracking, withdrawal, revision and sign-off.

Every operation is declared once in :data:`OPERATIONS` (method, path, shapes from schema.py, the
answers it can give); the routes and /api/v1/openapi.json are both built from that list. Handlers
parse, call the same domain functions as the pages, and answer with a Struct. Nothing here ever
answers with a phone number, an e-mail address, a tracking token other than the author's own on
submission, or an essay the public may not read.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from citizenvoice.domain import intake, lifecycle, moderation, printdesk, submission, verification, wechat
from citizenvoice.domain.printdesk import PrintDeskError
from citizenvoice.model.directions import by_pillar
from citizenvoice.model.essays import (
    AUTHOR_ACTION_LABELS,
    PUBLIC_STATUSES,
    ROLE_GROUP_LABELS,
    STATUS_LABELS,
    Action,
    Actor,
    IllegalTransition,
    Status,
    allowed_actions,
)
from citizenvoice.model.public import BoardKey, PublicEssay
from citizenvoice.model.review import INTERNAL_REVIEW_ACTIONS
from citizenvoice.store import directions as direction_store
from citizenvoice.store import essays as essay_store
from citizenvoice.store import printdesk as print_store
from citizenvoice.store import public as public_store
from citizenvoice.store import search
from citizenvoice.store.essays import Essay
from citizenvoice.text import highlight, numbers
from citizenvoice.text.normalize import web_paragraphs
from citizenvoice.views.api import schema
from citizenvoice.views.api.openapi import document
from citizenvoice.views.public import printed_label
from citizenvoice.web import jsonapi, sitesettings
from citizenvoice.web.jsonapi import ApiError
from citizenvoice.web.routing import PUBLIC, AccessRoute, route
from citizenvoice.web.security import client_ip
from citizenvoice.web.sitesettings import site_settings

PREFIX = "/api/v1"
BOARD_PAGE_SIZE = 20
SEARCH_PAGE_SIZE = 20
SEARCH_MAX_RESULTS = 1000
SEARCH_QUERY_CHARS = 200
CHANGES_PAGE_SIZE = 100
NO_ESSAY = "没有找到这篇文章。它可能还在审核中，或编号有误。"
GONE = "这篇文章已经下线，不再公开。"
NO_BOARD = "没有这个征文方向。"
NO_SUBMISSION = "没有找到这篇投稿。请检查凭据是否完整。"
STALE = "投稿状态刚刚有了变化，请看看最新状态后再决定。"
LABELS = {rule.name: rule.label for rule in submission.FIELD_RULES} | {
    "phone_code": "验证码", "idempotency_key": "幂等键", "version": "版本号", "answer": "答复", "note": "意见",
}

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # below PREFIX, Starlette syntax
    handler: Handler
    summary: str
    answers: dict[int, Any]  # status -> response Struct (or None for an empty body)
    body: Any = None  # request Struct
    query: dict[str, str] = field(default_factory=dict)  # name -> description
    cached: tuple[str, ...] | None = None  # the query parameters a cached answer may carry; None: not cached
    tag: str = "read"


def _base(request: Request) -> str:
    return request.app.state.settings.base_url.rstrip("/")


def _answers(handler: Handler) -> Handler:
    """ApiError anywhere below the handler becomes the API's JSON error."""

    @functools.wraps(handler)
    async def answering(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as exc:
            return jsonapi.error_response(exc)

    return answering


# ---------------------------------------------------------------------------------------------------
# Public reads


def _direction(d: Any, counts: dict[int, int]) -> schema.Direction:
    return schema.Direction(slug=d.slug, name=d.name, description=d.description, pillar=d.pillar,
                            pillar_name=d.pillar_name, published=counts.get(d.id, 0),
                            open_for_submission=not d.archived)


def _printed(essay: PublicEssay, paper: str) -> schema.Printed | None:
    label = printed_label(essay, paper)
    return None if label is None else schema.Printed(label=label, edition=essay.printed_edition)


def _photo(request: Request, essay: PublicEssay) -> str | None:
    return f"{_base(request)}/essays/{essay.id}/photo" if essay.has_photo else None


def _summary(request: Request, essay: PublicEssay, boards: dict[int, Any]) -> schema.EssaySummary:
    site = site_settings(request)
    direction = boards[essay.direction_id]
    return schema.EssaySummary(
        id=essay.id, url=f"{_base(request)}/essays/{essay.id}", headline=essay.headline,
        byline=essay.byline(site.city), excerpt=essay.excerpt,
        direction=schema.DirectionRef(slug=direction.slug, name=direction.name), author_role=essay.byline_parts.author_role,
        featured=essay.featured, published_at=essay.published_at, updated_at=essay.updated_at,
        printed=_printed(essay, site.paper_name), photo_url=_photo(request, essay),
    )


async def directions(request: Request) -> Response:
    async with request.app.state.db.read() as conn:
        listed = await direction_store.list_directions(conn)
        stats = await public_store.board_stats(conn)
    counts = {board: s.count for board, s in stats.items()}
    shown = [d for d in listed if not d.archived or counts.get(d.id)]
    pillars = [schema.Pillar(key=key, name=name, directions=[d.slug for d in group])
               for key, name, group in by_pillar(shown) if group]
    ordered = [d for _, _, group in by_pillar(shown) for d in group]
    return jsonapi.cached(request, schema.Directions(pillars=pillars,
                                                     directions=[_direction(d, counts) for d in ordered]))


async def board(request: Request) -> Response:
    role = request.query_params.get("role") or None
    if role is not None and role not in ROLE_GROUP_LABELS:
        raise ApiError(422, "没有这种作者身份。", fields={"role": "可选：" + "、".join(ROLE_GROUP_LABELS)})
    raw_cursor = request.query_params.get("cursor") or None
    cursor = BoardKey.parse(raw_cursor)
    if raw_cursor and cursor is None:
        raise ApiError(422, "游标无效，请从第一页重新开始。", fields={"cursor": "游标无效。"})
    async with request.app.state.db.read() as conn:
        direction = await direction_store.get_by_slug(conn, request.path_params["slug"])
        if direction is None:
            raise ApiError(404, NO_BOARD)
        page = await public_store.board_page(conn, direction.id, role=role, after=cursor, limit=BOARD_PAGE_SIZE)
        count = await public_store.board_count(conn, direction.id)
    boards = {direction.id: direction}
    return jsonapi.cached(request, schema.Board(
        direction=_direction(direction, {direction.id: count}), role=role,
        essays=[_summary(request, e, boards) for e in page.essays],
        next_cursor=page.older.token() if page.older else None,
    ))


async def _public_essay(conn: Any, essay_id: int) -> PublicEssay:
    essay = await public_store.get_essay(conn, essay_id)
    if essay is None:
        gone = await public_store.essay_status(conn, essay_id) == Status.UNPUBLISHED
        raise ApiError(410 if gone else 404, GONE if gone else NO_ESSAY)
    return essay


async def essay(request: Request) -> Response:
    async with request.app.state.db.read() as conn:
        found = await _public_essay(conn, request.path_params["essay_id"])
        direction = await direction_store.get_by_id(conn, found.direction_id)
    assert direction is not None
    summary = _summary(request, found, {direction.id: direction})
    return jsonapi.cached(request, schema.Essay(
        id=found.id, url=summary.url, headline=found.headline, byline=summary.byline,
        paragraphs=web_paragraphs(found.body), direction=summary.direction, author_role=summary.author_role,
        featured=found.featured, published_at=found.published_at, updated_at=found.updated_at,
        printed=summary.printed, photo_url=summary.photo_url,
    ))


def _marked(text: str, terms: list[str]) -> schema.Highlighted:
    return schema.Highlighted(text=text, highlights=[[s, e] for s, e in highlight.match_spans(text, terms)])


async def search_essays(request: Request) -> Response:
    q = request.query_params.get("q", "")[:SEARCH_QUERY_CHARS].strip()
    direction = request.query_params.get("direction") or None
    raw_cursor = request.query_params.get("cursor") or "0"
    offset = numbers.parse_int(raw_cursor)
    if offset is None or offset % SEARCH_PAGE_SIZE or offset >= SEARCH_MAX_RESULTS:
        raise ApiError(422, "游标无效，请从第一页重新开始。", fields={"cursor": "游标无效。"})
    if not search.parse_query(q):
        raise ApiError(422, "请输入要搜索的字词。", fields={"q": "请输入要搜索的字词。"})
    async with request.app.state.db.read() as conn:
        boards = {d.slug: d for d in await direction_store.list_directions(conn)}
        if direction is not None and direction not in boards:
            raise ApiError(422, NO_BOARD, fields={"direction": NO_BOARD})
        results = await search.search(conn, q, direction=direction, limit=SEARCH_PAGE_SIZE, offset=offset)
    hits = []
    for hit in results.hits:
        doc = hit.doc
        assert doc is not None
        text, spans = highlight.snippet_spans(doc.body, results.terms)
        board_ = boards.get(doc.direction)
        hits.append(schema.SearchHit(
            id=hit.essay_id, url=f"{_base(request)}/essays/{hit.essay_id}",
            direction=schema.DirectionRef(slug=doc.direction, name=board_.name if board_ else doc.direction),
            published_at=hit.published_at, headline=_marked(doc.headline, results.terms),
            byline=_marked(doc.byline, results.terms),
            snippet=schema.Highlighted(text=text, highlights=[[s, e] for s, e in spans]),
        ))
    following = offset + SEARCH_PAGE_SIZE
    more = following < min(results.total, SEARCH_MAX_RESULTS)
    return jsonapi.cached(request, schema.SearchResults(
        query=q, terms=results.terms, total=results.total, total_exact=results.total_exact, results=hits,
        next_cursor=str(following) if more else None,
    ))


_CHANGES_START = "0000-00-00T00:00:00Z~0"


def _changes_cursor(raw: str | None) -> tuple[str, int]:
    stamp, _, essay_id = (raw or _CHANGES_START).rpartition("~")
    number = numbers.parse_int(essay_id)
    if not stamp or number is None or len(stamp) > 40:
        raise ApiError(422, "游标无效，请从头开始。", fields={"cursor": "游标无效。"})
    return stamp, number


async def changes(request: Request) -> Response:
    stamp, after_id = _changes_cursor(request.query_params.get("cursor"))
    async with request.app.state.db.read() as conn:
        boards = {d.id: d for d in await direction_store.list_directions(conn)}
        changed = await public_store.changed_since(conn, stamp, after_id, CHANGES_PAGE_SIZE + 1)
    more = len(changed) > CHANGES_PAGE_SIZE
    changed = changed[:CHANGES_PAGE_SIZE]
    cursor = f"{changed[-1].updated_at}~{changed[-1].id}" if changed else f"{stamp}~{after_id}"
    return jsonapi.cached(request, schema.Changes(
        changes=[schema.Change(id=c.id, change="published" if c.essay else "removed", updated_at=c.updated_at,
                               essay=_summary(request, c.essay, boards) if c.essay else None) for c in changed],
        cursor=cursor, more=more,
    ))


# ---------------------------------------------------------------------------------------------------
# The resident's own essay


def _form_values(data: schema.Submission) -> dict[str, str]:
    """The JSON body as the fields the web form posts, for the shared validation."""
    values = {name: getattr(data, name) for name in submission.FIELD_NAMES}
    return {name: ("yes" if value is True else "" if value is False else value) for name, value in values.items()}


def _refusal(outcome: intake.Submitted) -> ApiError:
    if outcome.errors:
        first = next(iter(outcome.errors.values()))
        return ApiError(422, first, fields=outcome.errors)
    headers = {"retry-after": str(outcome.retry_after)} if outcome.retry_after else None
    return ApiError(outcome.status_code, outcome.alert, headers=headers)


async def phone_code(request: Request) -> Response:
    """Send a verification code by SMS (the same code, limits and messages as the form's 「获取验证码」)."""
    data = await jsonapi.read_json(request, schema.PhoneCodeRequest, LABELS)
    app = request.app
    site = await sitesettings.refreshed(request)
    outcome = await intake.ask_code(app.state.db, site, app.state.secret_key, {"phone": data.phone}, {},
                                    client_ip(request))
    if outcome.errors:
        field, message = next(iter(outcome.errors.items()))
        headers = {"retry-after": str(outcome.wait)} if outcome.wait else None
        raise ApiError(outcome.status_code, message, fields={"phone": message} if field == "phone" else None,
                       headers=headers)
    return jsonapi.private(schema.PhoneCodeSent(
        sent_to=submission.mask_phone(submission.clean_phone(data.phone)),
        expires_in=int(verification.CODE_TTL.total_seconds()), resend_after=verification.RESEND_AFTER,
    ), status=202)


async def submit(request: Request) -> Response:
    data = await jsonapi.read_json(request, schema.Submission, LABELS)
    app = request.app
    async with app.state.db.read() as conn:
        open_slugs = {d.slug: d.id for d in await direction_store.list_directions(conn, include_archived=False)}
    site = await sitesettings.refreshed(request)  # the admin's limits and verification setting
    outcome = await intake.submit_keyed(app.state.db, app.state.screener, site, app.state.secret_key,
                                        _form_values(data), key=data.idempotency_key, directions=open_slugs,
                                        ip=client_ip(request), phone_code=data.phone_code)
    if not outcome.stored:
        raise _refusal(outcome)
    assert outcome.token is not None
    async with app.state.db.read() as conn:
        stored = await essay_store.get_by_token(conn, outcome.token)
    assert stored is not None
    return jsonapi.private(schema.Submitted(
        tracking_code=stored.tracking_code, tracking_token=outcome.token,
        track_url=f"{_base(request)}/track/{outcome.token}",
    ), status=201)


async def _own_essay(request: Request) -> Essay:
    token = request.path_params["token"]
    async with request.app.state.db.read() as conn:
        found = await essay_store.get_by_token(conn, token) if 20 <= len(token) <= 100 else None
    if found is None:
        raise ApiError(404, NO_SUBMISSION)
    return found


async def _tracked(request: Request, found: Essay) -> schema.Tracked:
    site = await sitesettings.refreshed(request)
    async with request.app.state.db.read() as conn:
        events = [e for e in await essay_store.list_events(conn, found.id) if e.action not in INTERNAL_REVIEW_ACTIONS]
        signoff = await print_store.latest_signoff(conn, found.id)
        version = await print_store.get_print_version(conn, signoff.print_version_id) if signoff else None
        page_id = await print_store.page_of_essay(conn, found.id) if signoff else None
        page = await print_store.get_page(conn, page_id) if page_id is not None else None
    actions = allowed_actions(found.status, Actor.AUTHOR)
    by = {"author": "author", "system": "system"}
    signoff_out = None
    if signoff is not None and version is not None:
        style = page.byline_style if page is not None else "under_headline"
        signoff_out = schema.SignoffRequest(
            version=signoff.version_number, requested_at=signoff.requested_at,
            answer=signoff.answer if signoff.answer in ("accepted", "objected") else None,  # type: ignore[arg-type]
            headline=version.headline, byline=_printed_byline(style, found, version), body=version.body,
        )
    return schema.Tracked(
        tracking_code=found.tracking_code, status=str(found.status), status_label=STATUS_LABELS[found.status],
        version=found.version, headline=found.headline, body=found.body,
        byline=lifecycle.essay_byline(found, site.city),
        direction=schema.DirectionRef(slug=found.direction_slug, name=found.direction_name),
        submitted_at=found.submitted_at, updated_at=found.updated_at,
        reason=found.reject_reason or None, note_for_author=found.author_note or None,
        can_withdraw=Action.WITHDRAW in actions, can_revise=Action.RESUBMIT in actions,
        public_url=f"{_base(request)}/essays/{found.id}" if found.status in PUBLIC_STATUSES else None,
        signoff=signoff_out,
        history=[schema.HistoryEntry(at=e.created_at, by=by.get(e.actor_kind, "editors"),  # type: ignore[arg-type]
                                     action=e.action, label=AUTHOR_ACTION_LABELS.get(e.action, e.action))
                 for e in events],
    )


def _printed_byline(style: str, found: Essay, version: Any) -> str:
    """The byline as it will print, wherever the page's style puts it (under the headline or after the body)."""
    placed = printdesk.byline_as_printed(style, found, version)
    return placed.under_headline or placed.after_body


async def track(request: Request) -> Response:
    return jsonapi.private(await _tracked(request, await _own_essay(request)))


async def withdraw(request: Request) -> Response:
    data = await jsonapi.read_json(request, schema.Withdraw, LABELS)
    found = await _own_essay(request)
    site = await sitesettings.refreshed(request)
    try:
        async with request.app.state.db.write() as conn:
            await lifecycle.transition(conn, found.id, Action.WITHDRAW, lifecycle.AUTHOR, city=site.city,
                                       version=data.version)
    except IllegalTransition as exc:
        raise ApiError(409, f"没有撤回：{exc.message}") from None
    except lifecycle.StaleVersion:
        raise ApiError(409, f"没有撤回：{STALE}", code="stale_version") from None
    return jsonapi.private(await _tracked(request, await _own_essay(request)))


async def revise(request: Request) -> Response:
    data = await jsonapi.read_json(request, schema.Revision, LABELS)
    found = await _own_essay(request)
    checked = submission.validate_revision({"headline": data.headline, "body": data.body})
    if not checked.ok:
        raise ApiError(422, next(iter(checked.errors.values())), fields=checked.errors)
    site = await sitesettings.refreshed(request)
    try:
        async with request.app.state.db.write() as conn:
            await lifecycle.resubmit(conn, found.id, city=site.city, version=data.version,
                                     headline=checked.values["headline"], body=checked.values["body"])
            await moderation.screen_essay(conn, request.app.state.screener, found.id)
    except IllegalTransition as exc:
        raise ApiError(409, f"没有重新提交：{exc.message}") from None
    except lifecycle.StaleVersion:
        raise ApiError(409, f"没有重新提交：{STALE}", code="stale_version") from None
    return jsonapi.private(await _tracked(request, await _own_essay(request)))


async def answer_signoff(request: Request) -> Response:
    data = await jsonapi.read_json(request, schema.SignoffAnswer, LABELS)
    found = await _own_essay(request)
    try:
        async with request.app.state.db.write() as conn:
            await printdesk.answer_signoff(conn, found.id, data.answer, data.note)
    except PrintDeskError as exc:
        raise ApiError(exc.status, exc.message, fields={"note": exc.message} if exc.status == 422 else None) from None
    return jsonapi.private(await _tracked(request, found))


# ---------------------------------------------------------------------------------------------------
# WeChat share signature and the schema


async def jssdk_config(request: Request) -> Response:
    settings = request.app.state.settings
    if not settings.wechat_configured:
        raise ApiError(404, "本站没有配置微信分享。")
    url = request.query_params.get("url", "")
    base = _base(request)
    if not (url == base or url.startswith(base + "/")) or len(url) > 2000:
        raise ApiError(422, "只能为本站的网页签名。", fields={"url": f"应以 {base}/ 开头。"})
    config = await wechat.jssdk_config(request.app.state.wechat, request.app.state.db, url)
    if config is None:
        raise ApiError(503, "微信暂时没有返回分享凭据，请稍后再试。", code="provider_unavailable")
    return jsonapi.json_response(
        schema.JssdkConfig(app_id=config.app_id, timestamp=config.timestamp, nonce_str=config.nonce_str,
                           signature=config.signature),
        headers={"cache-control": "no-store"},
    )


async def openapi_document(request: Request) -> Response:
    return jsonapi.cached(request, document(OPERATIONS, _base(request)), cache_control="public, max-age=300")


_ERRORS = {422: schema.ErrorBody}
OPERATIONS: list[Operation] = [
    Operation("GET", "/openapi.json", openapi_document, "本接口的 OpenAPI 3.1 说明", {200: dict}, cached=()),
    Operation("GET", "/directions", directions, "征文方向（按四大板块分组）和各方向已公开的文章数",
              {200: schema.Directions}, cached=()),
    Operation("GET", "/boards/{slug}/essays", board, "一个方向下已公开的文章，按版面顺序分页",
              {200: schema.Board, 404: schema.ErrorBody, **_ERRORS},
              query={"cursor": "上一页返回的 next_cursor", "role": "作者身份分组：" + "、".join(ROLE_GROUP_LABELS)},
              cached=("cursor", "role")),
    Operation("GET", "/essays/{essay_id:id}", essay, "一篇已公开的文章",
              {200: schema.Essay, 404: schema.ErrorBody, 410: schema.ErrorBody}, cached=()),
    Operation("GET", "/search", search_essays, "全文搜索已公开的文章（与网站同样的中文精确匹配）",
              {200: schema.SearchResults, **_ERRORS},
              query={"q": "搜索词，空格分隔多个词", "direction": "只搜这个方向（slug）", "cursor": "上一页返回的 next_cursor"}),
    Operation("GET", "/changes", changes, "自游标以来公开文章的变化（新发表、修改、下线）",
              {200: schema.Changes, **_ERRORS}, query={"cursor": "上次返回的 cursor；不带则从头开始"},
              cached=("cursor",)),
    Operation("POST", "/phone-codes", phone_code, "给手机发 6 位验证码（投稿需要验证时）",
              {202: schema.PhoneCodeSent, **_ERRORS}, body=schema.PhoneCodeRequest, tag="write"),
    Operation("POST", "/submissions", submit, "投稿（与网页表单同样的校验、筛查和频率限制）",
              {201: schema.Submitted, 409: schema.ErrorBody, 429: schema.ErrorBody, **_ERRORS},
              body=schema.Submission, tag="write"),
    Operation("GET", "/track/{token}", track, "作者查看自己投稿的状态、原因和历史",
              {200: schema.Tracked, 404: schema.ErrorBody}, tag="write"),
    Operation("POST", "/track/{token}/withdraw", withdraw, "作者撤回投稿",
              {200: schema.Tracked, 404: schema.ErrorBody, 409: schema.ErrorBody, **_ERRORS},
              body=schema.Withdraw, tag="write"),
    Operation("POST", "/track/{token}/revision", revise, "作者按编辑意见修改后重新提交",
              {200: schema.Tracked, 404: schema.ErrorBody, 409: schema.ErrorBody, **_ERRORS},
              body=schema.Revision, tag="write"),
    Operation("POST", "/track/{token}/signoff", answer_signoff, "作者确认或对见报稿提出意见",
              {200: schema.Tracked, 404: schema.ErrorBody, 409: schema.ErrorBody, **_ERRORS},
              body=schema.SignoffAnswer, tag="write"),
    Operation("GET", "/wechat/jssdk-config", jssdk_config, "微信 JS-SDK 的 wx.config 参数（本站网页的分享卡片）",
              {200: schema.JssdkConfig, 404: schema.ErrorBody, 503: schema.ErrorBody, **_ERRORS},
              query={"url": "当前网页地址（不含 # 之后的部分）"}, tag="wechat"),
]

# The API's published reads the page cache keeps (web/pagecache.py), like public.CACHED_PAGES.
CACHED: dict[str, tuple[str, ...]] = {
    PREFIX + op.path: op.cached for op in OPERATIONS if op.cached is not None
}

routes: list[AccessRoute] = [
    route(PREFIX + op.path, _answers(op.handler), access=PUBLIC, methods=[op.method],
          name="api_" + op.handler.__name__)
    for op in OPERATIONS
]
