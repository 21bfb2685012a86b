"""The moderation area (/moderate): the queue, the item page with one form per decision, claims,
one-click redaction and bulk decisions. Handlers parse the request, call :mod:`citizenvoice.moderation`
in one write transaction, and redirect, or re-render the item page with the refusal explained."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response

from citizenvoice.domain import compiled, lifecycle, moderation, privacy, submission
from citizenvoice.domain.screening import highlight_html
from citizenvoice.model import review
from citizenvoice.model.essays import AUTHOR_ROLES, Actor, IllegalTransition, Status, allowed_actions
from citizenvoice.model.staff import User
from citizenvoice.store import compiled as compiled_store
from citizenvoice.store import directions as direction_store
from citizenvoice.store import essays as essay_store
from citizenvoice.store import moderation as store
from citizenvoice.store import wordlists
from citizenvoice.store.moderation import Cursor, QueueFilters
from citizenvoice.text import numbers, printcheck
from citizenvoice.text.diff import diff_html
from citizenvoice.web import sessions, sitesettings
from citizenvoice.web.forms import read_form, text_field
from citizenvoice.web.routing import route
from citizenvoice.web.templating import render

# Every review level works here: 初审 (moderator), 复审 (reviewer), 终审 (chief). Which of them may
# decide on an essay depends on the stage it waits at (domain/moderation.check_level).
MODERATOR = list(review.REVIEW_ROLES)
PRIVATE = {"cache-control": "private, no-store", "x-robots-tag": "noindex"}
_FLASH = "moderate_flash"
REFUSED = (moderation.ClaimedByOther, IllegalTransition, lifecycle.StaleVersion, moderation.WrongLevel,
           moderation.SameEyes)


async def _user(request: Request) -> User:
    user = await sessions.current_user(request)
    assert user is not None  # the route's access check let only moderators and admins in
    return user


async def _who(request: Request, user: User) -> moderation.Reviewer:
    site = await sitesettings.refreshed(request)
    return moderation.Reviewer(user.id, user.roles, site.review_levels)


def _stage(request: Request, who: moderation.Reviewer) -> int:
    """The review stage asked for (``?stage=``), else the lowest one this user decides at."""
    asked = numbers.parse_int(request.query_params.get("stage", ""), low=1)
    if asked is not None and asked in review.stages(who.levels):
        return asked
    return next(iter(review.stages_for(who.roles, who.levels)), 1)


def _essay_id(request: Request) -> int:
    return int(request.path_params["essay_id"])


def _flash(request: Request, message: str) -> None:
    # Appended: a decision's confirmation must survive the "queue is empty" note that may follow it.
    earlier = request.session.get(_FLASH)
    request.session[_FLASH] = f"{earlier} {message}" if earlier else message


def _page(request: Request, template: str, context: dict[str, Any], *, status_code: int = 200) -> Response:
    context = {"flash": request.session.pop(_FLASH, None), "FLAG_LABELS": moderation.FLAG_LABELS, **context}
    return render(request, template, context, status_code=status_code, headers=PRIVATE)


async def _screener(request: Request, conn: Any) -> Any:
    return await moderation.load_screener(conn, request.app.state.screener)


# ---------------------------------------------------------------------------------------------------
# The queue


def _filters(request: Request, directions: list[Any]) -> QueueFilters:
    params = request.query_params
    status = params.get("status", "pending")
    slug = params.get("direction", "")
    flag = params.get("flag", "")
    role = params.get("role", "")
    return QueueFilters(
        status=status if status in {s.value for s in Status} else "pending",
        direction_id=next((d.id for d in directions if d.slug == slug), None),
        author_role=role if role in AUTHOR_ROLES else "",
        flag=flag if flag in moderation.FLAG_LABELS else "",
        has_photo=params.get("photo") == "1",
        search=params.get("q", "").strip()[: store.SEARCH_MAX],
    )


def _query(request: Request, **changes: str) -> str:
    """The current queue's query string with some parameters changed (empty value = removed)."""
    params = {k: v for k, v in request.query_params.items() if k in {"status", "direction", "role", "flag",
                                                                       "photo", "q", "stage"}}  # fmt: skip
    params.update(changes)
    return urlencode({k: v for k, v in params.items() if v})


async def queue(request: Request) -> Response:
    db = request.app.state.db
    who = await _who(request, await _user(request))
    stage = _stage(request, who)
    async with db.read() as conn:
        directions = await direction_store.list_directions(conn)
        filters = _filters(request, directions)
        if filters.status == Status.PENDING:
            filters = replace(filters, stages=moderation.stage_filter(stage, who.levels))
        after = Cursor.decode(request.query_params.get("after", ""))
        rows = await store.queue_page(conn, filters, after=after, limit=store.PAGE_SIZE + 1)
        items, more = rows[: store.PAGE_SIZE], len(rows) > store.PAGE_SIZE
        ids = [i.id for i in items]
        context = {
            "items": items,
            "filters": filters,
            "values": dict(request.query_params),
            "directions": directions,
            "total": await store.count_queue(conn, filters),
            "health": await moderation.queue_health(
                conn, request.app.state.settings.queue_target_hours, levels=who.levels
            ),
            "stage": stage,
            "levels": who.levels,
            "stage_label": lambda s: review.stage_label(s, who.levels),
            "stage_query": lambda s: _query(request, status="pending", stage=str(s), after=""),
            "can_bulk": filters.status == Status.PENDING and review.may_decide(who.roles, stage, who.levels),
            "approve_label": moderation.decision_label("approve", stage, who.levels),
            "flags": await store.flag_counts(conn, ids),
            "duplicates": await store.duplicate_counts(conn, ids),
            "claims": await store.live_claims(conn, ids, now=moderation.clock()),
            "compiled": await compiled_store.marks(conn, ids),
            "reasons": await wordlists.rejection_reasons(conn),
            "next_query": _query(request, after=items[-1].cursor.encode()) if more else None,
            "first_query": _query(request) if after else None,
            "status_query": lambda s: _query(request, status=s),
        }
    return _page(request, "moderate/queue.html", {**context, "ages": _ages(items)})


def _ages(items: list[store.QueueItem]) -> dict[int, str]:
    now = datetime.now(UTC)
    return {i.id: moderation.age_label(moderation.age_hours(i.submitted_at, now)) for i in items}


async def next_item(request: Request) -> Response:
    """The next pending essay of this user's review stage nobody else holds, after ``after`` in queue
    order (wrapping round)."""
    user = await _user(request)
    who = await _who(request, user)
    stage = _stage(request, who)
    if not review.may_decide(who.roles, stage, who.levels):
        _flash(request, f"「{review.stage_label(stage, who.levels)}」的文章不由您决定，可以在队列里查看。")
        return RedirectResponse("/moderate", status_code=303)
    raw = request.query_params.get("after", "")
    filters = QueueFilters(available_to=(user.id, moderation.clock()), stages=moderation.stage_filter(stage, who.levels))
    async with request.app.state.db.read() as conn:
        after_id = numbers.parse_int(raw, low=1)
        cursor = await store.essay_cursor(conn, after_id) if after_id else None
        found = await store.queue_page(conn, filters, after=cursor, limit=1)
        if not found and cursor is not None:
            found = await store.queue_page(conn, filters, limit=1)
    if not found:
        _flash(request, f"{review.stage_label(stage, who.levels)}的文章都处理完了（或正由同事审核）。")
        return RedirectResponse(f"/moderate?stage={stage}" if who.levels > 1 else "/moderate", status_code=303)
    return RedirectResponse(f"/moderate/{found[0].id}", status_code=303)


# ---------------------------------------------------------------------------------------------------
# The item page


async def item(request: Request) -> Response:
    """The item page; opening it claims the essay when there is a decision to make on it."""
    essay_id, user = _essay_id(request), await _user(request)
    async with request.app.state.db.read() as conn:
        essay = await essay_store.get_essay(conn, essay_id)
    if essay is None:
        raise HTTPException(404, "没有找到这篇文章。")
    who = await _who(request, user)
    async with request.app.state.db.read() as conn:
        deciding_here = await moderation.decides_here(conn, essay, who)
    if allowed_actions(essay.status, Actor.MODERATOR) and deciding_here:
        try:
            async with request.app.state.db.write() as conn:
                await moderation.claim(conn, essay_id, user.id)
        except moderation.ClaimedByOther:
            pass  # the page shows who holds it and offers to take over
    return await _item_page(request, essay_id)


async def _item_page(
    request: Request, essay_id: int, *, status_code: int = 200, alert: str = "", failed: str = "",
    errors: dict[str, str] | None = None, values: dict[str, str] | None = None,
) -> Response:  # fmt: skip
    user = await _user(request)
    async with request.app.state.db.read() as conn:
        essay = await essay_store.get_essay(conn, essay_id)
        if essay is None:
            raise HTTPException(404, "没有找到这篇文章。")
        context = await _item_context(request, conn, essay, user)
    if not context["can_decide"]:  # another level's essay: readable, not decidable here
        context.update(actions=[], editable=False)
    context.update(alert=alert, failed=failed, errors=errors or {}, values=values or {})
    return _page(request, "moderate/item.html", context, status_code=status_code)


async def _item_context(request: Request, conn: Any, essay: essay_store.Essay, user: User) -> dict[str, Any]:
    screener = await _screener(request, conn)
    headline_flags = screener.screen(essay.headline).flags
    body_flags = screener.screen(essay.body).flags
    # the byline is screened too (an author may correct it when revising): shown, not stored
    byline_flags = screener.screen(f"{essay.affiliation} {essay.author_name}".strip()).flags
    claim = await moderation.current_claim(conn, essay.id)
    site = await sitesettings.refreshed(request)
    revisions = await essay_store.list_revisions(conn, essay.id)
    levels = site.review_levels
    stage = review.effective_stage(essay.review_stage, levels)
    pending = essay.status == Status.PENDING
    return {
        "essay": essay,
        "levels": levels,
        "stage": stage,
        "stage_label": review.stage_label(stage, levels) if pending and levels > 1 else "",
        "can_decide": not pending or review.may_decide(user.roles, stage, levels),
        "stage_role": review.stage_role(stage, levels),
        "approve_label": moderation.decision_label("approve", stage, levels) if pending else "通过并发表",
        "send_back_to": [(s, review.stage_name(s, levels)) for s in range(stage - 1, 0, -1)] if pending else [],
        "stage_names": {s: review.stage_name(s, 3 if levels == 1 else levels) for s in (1, 2, 3)},
        "byline": lifecycle.essay_byline(essay, site.city),
        "headline_html": Markup(highlight_html(essay.headline, headline_flags)),
        "body_html": _paragraphs(highlight_html(essay.body, body_flags)),
        "flags": [("标题", f) for f in headline_flags] + [("正文", f) for f in body_flags]
        + [("署名", f) for f in byline_flags],
        "print_flags": printcheck.print_flags(essay.body),  # suggestions for print; they never block
        "PRINT_FLAG_LABELS": printcheck.PRINT_FLAG_LABELS,
        "has_pii": any(f.is_pii for f in headline_flags + body_flags),
        "claim": claim,
        "claim_minutes": max(1, round((claim.expires_at - moderation.clock()) / 60)) if claim else 0,
        "mine": claim is not None and claim.user_id == user.id,
        "actions": [str(a) for a in allowed_actions(essay.status, Actor.MODERATOR)],
        "editable": essay.status in moderation.EDITABLE,
        "duplicates": await store.duplicates_of(conn, essay.id),
        "others": await store.submissions_by_phone(conn, essay.phone, exclude=essay.id),
        "phone": submission.mask_phone(essay.phone),
        "revisions": revisions,
        "diffs": _diffs(revisions),
        "trail": await _trail(conn, essay.id),
        "compiled": await compiled_store.mark_of(conn, essay.id),
        "COMPILED_SOURCES": compiled.SOURCES,
        "reasons": await wordlists.rejection_reasons(conn),
        "revise_reasons": await wordlists.rejection_reasons(conn, kind="revise"),
        "directions": await direction_store.list_directions(conn, include_archived=False),
        "AUTHOR_ROLES": AUTHOR_ROLES,
        "DECISION_LABELS": moderation.DECISION_LABELS,
    }


def _paragraphs(html: str) -> Markup:
    # highlight_html escapes everything and never lets a <mark> cross a line, so splitting is safe.
    parts = [p.strip("\n") for p in html.split("\n\n") if p.strip()]
    return Markup("\n").join(Markup("<p>{}</p>").format(Markup(p.replace("\n", "<br>"))) for p in parts)


def _diffs(revisions: list[essay_store.Revision]) -> list[dict[str, Any]]:
    """Each revision against the one before it, newest first."""
    return [
        {"old": old, "new": new, "headline": diff_html(old.headline, new.headline), "body": diff_html(old.body, new.body)}
        for old, new in reversed(list(zip(revisions, revisions[1:], strict=False)))
    ]


async def _trail(conn: Any, essay_id: int) -> list[dict[str, Any]]:
    events = [
        {"at": e.created_at, "kind": "event", "event": e} for e in await essay_store.list_events(conn, essay_id)
    ]
    claims = [
        {"at": c.created_at, "kind": "claim", "event": c} for c in await store.list_claim_events(conn, essay_id)
    ]
    return sorted(events + claims, key=lambda entry: entry["at"])


async def photo(request: Request) -> Response:
    async with request.app.state.db.read() as conn:
        essay = await essay_store.get_essay(conn, _essay_id(request))
    file = privacy.media_file(request.app.state.settings.media_path, essay.photo_path if essay else None)
    if file is None or not file.is_file():
        raise HTTPException(404, "这篇文章没有照片。")
    return FileResponse(file, headers=PRIVATE)


# ---------------------------------------------------------------------------------------------------
# Decisions


def _raw(form: FormData) -> dict[str, str]:
    names = ("action", "version", "reason", "note", "direction", "featured", "headline", "body", "to_stage")
    return {name: text_field(form, name) for name in names}


async def decision(request: Request) -> Response:
    essay_id, user = _essay_id(request), await _user(request)
    raw = _raw(await read_form(request))
    site = await sitesettings.refreshed(request)
    who = await _who(request, user)
    try:
        async with request.app.state.db.write() as conn:
            chosen = await moderation.parse_decision(conn, raw)
            before = await essay_store.get_essay(conn, essay_id)
            stage = review.effective_stage(before.review_stage if before else 1, who.levels)
            essay = await moderation.decide(
                conn, essay_id, chosen, user.id, city=site.city, screener=await _screener(request, conn), who=who
            )
    except moderation.InvalidDecision as exc:
        return await _item_page(request, essay_id, status_code=422, failed=raw["action"], errors=exc.errors,
                                values=raw, alert="没有保存：请按下面的提示补充后再提交。")  # fmt: skip
    except (*REFUSED, lifecycle.EssayNotFound) as exc:
        return await _refused(request, essay_id, exc, raw)
    label = moderation.decision_label(chosen.action, stage, who.levels)
    _flash(request, f"已{label}：《{essay.headline}》")
    if chosen.action == "edit":
        return RedirectResponse(f"/moderate/{essay_id}", status_code=303)
    suffix = f"&stage={stage}" if who.levels > 1 else ""
    return RedirectResponse(f"/moderate/next?after={essay_id}{suffix}", status_code=303)


async def _refused(request: Request, essay_id: int, exc: Exception, raw: dict[str, str]) -> Response:
    if isinstance(exc, lifecycle.EssayNotFound):
        raise HTTPException(404, "没有找到这篇文章。")
    status = 423 if isinstance(exc, moderation.ClaimedByOther) else 409
    if isinstance(exc, moderation.WrongLevel | moderation.SameEyes):
        status = 403
    return await _item_page(request, essay_id, status_code=status, alert=f"没有执行：{moderation.refusal(exc)}",
                            failed=raw.get("action", ""), values=raw)  # fmt: skip


async def take_over(request: Request) -> Response:
    essay_id, user = _essay_id(request), await _user(request)
    await read_form(request)
    who = await _who(request, user)
    async with request.app.state.db.write() as conn:
        essay = await essay_store.get_essay(conn, essay_id)
        if essay is None:
            raise HTTPException(404, "没有找到这篇文章。")
        if not await moderation.decides_here(conn, essay, who):
            # Holding another level's essay would only keep its colleagues from deciding.
            stage = review.effective_stage(essay.review_stage, who.levels)
            raise HTTPException(403, moderation.WrongLevel(stage, who.levels).message)
        held = await moderation.current_claim(conn, essay_id)
        await moderation.claim(conn, essay_id, user.id, takeover=True)
    if held is not None and held.user_id != user.id:
        _flash(request, f"您已接手审核（原由「{held.holder}」审核），此次接手已记录。")
    else:
        _flash(request, "这篇文章已由您审核，10 分钟内其他人不能作出决定。")
    return RedirectResponse(f"/moderate/{essay_id}", status_code=303)


async def release(request: Request) -> Response:
    essay_id, user = _essay_id(request), await _user(request)
    await read_form(request)
    async with request.app.state.db.write() as conn:
        released = await moderation.release(conn, essay_id, user.id)
    _flash(request, "已放回队列，其他审核员现在可以处理这篇文章。" if released else "这篇文章当前不在您名下。")
    return RedirectResponse("/moderate", status_code=303)


async def redact(request: Request) -> Response:
    essay_id, user = _essay_id(request), await _user(request)
    form = await read_form(request)
    version = moderation.parse_version(text_field(form, "version"))
    site = await sitesettings.refreshed(request)
    try:
        async with request.app.state.db.write() as conn:
            _, count = await moderation.redact(conn, essay_id, user.id, version=version, city=site.city,
                                               screener=await _screener(request, conn),
                                               who=await _who(request, user))  # fmt: skip
    except moderation.NothingToRedact as exc:
        return await _item_page(request, essay_id, status_code=409, alert=exc.message)
    except (*REFUSED, lifecycle.EssayNotFound) as exc:
        return await _refused(request, essay_id, exc, {"action": "redact"})
    _flash(request, f"已隐去 {count} 处个人信息，并保存为新的一稿。")
    return RedirectResponse(f"/moderate/{essay_id}", status_code=303)


async def bulk(request: Request) -> Response:
    user = await _user(request)
    form = await read_form(request)
    values = [v for name in ("ids", "ids[]") for v in form.getlist(name) if isinstance(v, str)]
    versions = {k: v for k, v in form.items() if k.startswith("version_") and isinstance(v, str)}
    items = moderation.parse_bulk_items(values, versions)
    action = text_field(form, "action")
    if not items or action not in moderation.BULK_ACTIONS:
        _flash(request, "请先勾选文章，再选择批量通过或批量不予采用。")
        return RedirectResponse("/moderate", status_code=303)
    raw = {"action": action, "reason": text_field(form, "reason"), "note": text_field(form, "note")}
    site = await sitesettings.refreshed(request)
    db = request.app.state.db
    async with db.read() as conn:
        screener = await _screener(request, conn)
    who = await _who(request, user)
    outcomes = await moderation.decide_bulk(db, items, raw, user.id, city=site.city, screener=screener, who=who)
    done = sum(o.ok for o in outcomes)
    context = {"outcomes": outcomes, "action_label": moderation.DECISION_LABELS[action], "done": done}
    return _page(request, "moderate/bulk.html", context)


routes = [
    route("/moderate", queue, access=MODERATOR, name="moderate_queue"),
    route("/moderate/next", next_item, access=MODERATOR, name="moderate_next"),
    route("/moderate/bulk", bulk, access=MODERATOR, methods=["POST"], name="moderate_bulk"),
    route("/moderate/{essay_id:id}", item, access=MODERATOR, name="moderate_item"),
    route("/moderate/{essay_id:id}/photo", photo, access=MODERATOR, name="moderate_photo"),
    route("/moderate/{essay_id:id}/decision", decision, access=MODERATOR, methods=["POST"], name="moderate_decision"),
    route("/moderate/{essay_id:id}/claim", take_over, access=MODERATOR, methods=["POST"], name="moderate_claim"),
    route("/moderate/{essay_id:id}/release", release, access=MODERATOR, methods=["POST"], name="moderate_release"),
    route("/moderate/{essay_id:id}/redact", redact, access=MODERATOR, methods=["POST"], name="moderate_redact"),
]
