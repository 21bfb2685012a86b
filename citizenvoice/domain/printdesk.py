"""The print desk: from the approved pool to a page the layout desk can set, and back to the site.

A page moves draft → locked → printed; a locked page may be unlocked (with a recorded reason) until
it is printed. Every function here takes the caller's write connection, so each step is one
transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import aiosqlite

from citizenvoice import db
from citizenvoice.domain import compiled, lifecycle, printexport
from citizenvoice.domain.messaging import notify
from citizenvoice.model.essays import Action, Actor, Status
from citizenvoice.store import compiled as compiled_store
from citizenvoice.store import essays as essay_store
from citizenvoice.store import printdesk as store
from citizenvoice.store.essays import Essay
from citizenvoice.store.printdesk import PrintPage, PrintVersion, Slot
from citizenvoice.text import printcheck
from citizenvoice.text.charcount import count_print_chars
from citizenvoice.text.diff import is_substantive_change

BYLINE_STYLES = {"under_headline": "署名在标题下（单位 职务 姓名）", "after_body": "文末注明（作者系……）"}
PAGE_STATES = {"draft": "编辑中", "locked": "已锁定", "printed": "已见报"}
PAGE_EVENT_LABELS = {
    "create": "新建版面", "place": "放入文章", "remove": "移出文章", "move": "调整顺序", "verify": "核实作者",
    "print_version": "修改见报稿", "signoff_request": "请作者确认", "lock": "锁定版面", "unlock": "解锁",
    "printed": "标记见报", "settings": "修改版面设置", "correct_online": "同时更正网络版", "delete": "删除草稿版面",
    "feature": "保存特稿", "feature_remove": "撤下特稿", "band": "修改方向带",
}
# The page settings an editor may change until the page is printed (the settings form's fields).
SETTING_FIELDS = ("paper", "date", "page_label", "column_title", "slots", "slot_budget", "lead", "credits",
                  "slogan", "byline_style")
_SETTING_LABELS = {"paper": "报纸", "pub_date": "出版日期", "page_label": "版次", "column_title": "栏目",
                   "slots": "篇数", "slot_budget": "每篇预算", "lead": "核心提示", "credits": "署名信息",
                   "slogan": "通栏口号", "byline_style": "署名方式"}
# Marking printed warns when the edition date is this far from today.
PRINT_DATE_DRIFT_DAYS = 7
_PAGE_LABEL = re.compile(r"^[A-Za-z]{0,2}\d{1,3}$")


class PrintDeskError(Exception):
    """A refused step, with the Chinese message the editor sees."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class PageForm:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    fields: dict[str, object] = field(default_factory=dict)


def _int_in(raw: str, low: int, high: int) -> int | None:
    try:
        value = int(raw.strip())
    except ValueError:
        return None
    return value if low <= value <= high else None


def validate_page(values: dict[str, str]) -> PageForm:
    """Check the page form; ``fields`` holds clean values when ``errors`` is empty."""
    form = PageForm(values)
    paper, title = values.get("paper", "").strip(), values.get("column_title", "").strip()
    label = values.get("page_label", "").strip().upper()
    if not 2 <= len(paper) <= 30:
        form.errors["paper"] = "请填写报纸名称（2–30 个字）。"
    if not 2 <= len(title) <= 30:
        form.errors["column_title"] = "请填写栏目名称（2–30 个字）。"
    if not _PAGE_LABEL.match(label):
        form.errors["page_label"] = "版次格式如 T08 或 5。"
    try:
        pub_date = dt.date.fromisoformat(values.get("date", "").strip())
    except ValueError:
        pub_date = None
        form.errors["date"] = "请按 YYYY-MM-DD 填写出版日期。"
    slots = _int_in(values.get("slots", ""), 1, 8)
    if slots is None:
        form.errors["slots"] = "篇数应为 1–8。"
    budget = _int_in(values.get("slot_budget", "") or "500", 100, 5000)
    if budget is None:
        form.errors["slot_budget"] = "每篇字数预算应为 100–5000。"
    style = values.get("byline_style", "") or "under_headline"
    if style not in BYLINE_STYLES:
        form.errors["byline_style"] = "请选择署名方式。"
    lead, credits = values.get("lead", "").strip(), values.get("credits", "").strip()
    if len(lead) > 600:
        form.errors["lead"] = "核心提示不超过 600 字。"
    if len(credits) > 300:
        form.errors["credits"] = "署名信息不超过 300 字。"
    slogan = values.get("slogan", "").strip()
    if len(slogan) > 30:
        form.errors["slogan"] = "通栏口号不超过 30 字。"
    if not form.errors:
        form.fields = {
            "paper": paper, "pub_date": pub_date.isoformat() if pub_date else "", "page_label": label,
            "column_title": title, "slots": slots, "slot_budget": budget, "lead": lead,
            "credits": credits, "byline_style": style, "slogan": slogan,
        }
    return form


def printed_edition(page: PrintPage) -> str:
    day = dt.date.fromisoformat(page.pub_date)
    return f"《{page.paper}》{day.year}年{day.month}月{day.day}日 {page.page_label}版"


async def _page(conn: aiosqlite.Connection, page_id: int, *, states: tuple[str, ...] | None = None) -> PrintPage:
    if states is not None:  # a write that depends on the page's state: one at a time per page
        await db.serialize(conn, f"print-page:{page_id}")
    page = await store.get_page(conn, page_id)
    if page is None:
        raise PrintDeskError("版面不存在。", 404)
    if states is not None and page.state not in states:
        raise PrintDeskError(f"版面当前为「{PAGE_STATES[page.state]}」，不能执行此操作。")
    return page


async def place(conn: aiosqlite.Connection, page_id: int, essay_id: int, user_id: int, city: str) -> None:
    # One essay on one page, a page's free slots counted before it is filled: both keys, in one call.
    await db.serialize(conn, f"print-page:{page_id}", f"print-essay:{essay_id}")
    page = await _page(conn, page_id, states=("draft",))
    essay = await essay_store.get_essay(conn, essay_id)
    if essay is None or essay.status != Status.PUBLISHED or not essay.consent_print:
        raise PrintDeskError("只能选用已发布、且作者同意见报的文章。", 422)
    if await store.page_of_essay(conn, essay_id) is not None:
        raise PrintDeskError("这篇文章已在另一个版面上。")
    if page.essay_count >= page.slots:
        raise PrintDeskError(f"本版只有 {page.slots} 个位置，已经排满。")
    before = await _compiled_credit(conn, page_id)
    await store.place_essay(conn, page_id, essay_id)
    await _refresh_credits(conn, page, before)
    byline = lifecycle.essay_byline(essay, city)
    await store.add_print_version(
        conn, page_id, essay_id, essay.headline, byline, essay.body, count_print_chars(essay.body), user_id
    )
    await store.add_page_event(conn, page_id, "place", user_id, essay_id=essay_id)


async def _compiled_credit(conn: aiosqlite.Connection, page_id: int) -> str:
    return compiled.credit_line(await compiled_store.page_reporters(conn, page_id))


async def _refresh_credits(conn: aiosqlite.Connection, page: PrintPage, before: str) -> None:
    """Keep "本栏目内容由本报记者{names}整理" in step with the reporters of the page's essays, until
    the desk edits that line (compiled.refreshed_credits says when)."""
    credits = compiled.refreshed_credits(page.credits, before, await _compiled_credit(conn, page.id))
    if credits is not None:
        await store.update_page(conn, page.id, credits=credits)


async def place_many(conn: aiosqlite.Connection, page_id: int, essay_ids: list[int], user_id: int, city: str) -> None:
    """Several candidates at once, in the order given: all placed, or (one refused) none."""
    page = await _page(conn, page_id, states=("draft",))
    unique = list(dict.fromkeys(essay_ids))
    if not unique:
        raise PrintDeskError("请至少选择一篇文章。", 422)
    free = page.slots - page.essay_count
    if len(unique) > free:
        raise PrintDeskError(f"选了 {len(unique)} 篇，本版只剩 {free} 个位置（共 {page.slots} 个）。请少选几篇。", 422)
    for essay_id in unique:
        await place(conn, page_id, essay_id, user_id, city)


def page_settings_values(page: PrintPage) -> dict[str, str]:
    """A page's current settings as the settings form shows them."""
    return {
        "paper": page.paper, "date": page.pub_date, "page_label": page.page_label,
        "column_title": page.column_title, "slots": str(page.slots), "slot_budget": str(page.slot_budget),
        "lead": page.lead, "credits": page.credits, "slogan": page.slogan, "byline_style": page.byline_style,
    }


async def update_settings(
    conn: aiosqlite.Connection, page_id: int, changes: dict[str, str], user_id: int
) -> PageForm:
    """Change any of the page's settings until it is printed; the form comes back with its errors
    (nothing written) or with the clean fields (written, one recorded event)."""
    page = await _page(conn, page_id, states=("draft", "locked"))
    values = {**page_settings_values(page), **changes}
    form = validate_page(values)
    if not form.errors and int(form.fields["slots"]) < page.essay_count:  # type: ignore[call-overload]
        form.errors["slots"] = f"本版已有 {page.essay_count} 篇文章，篇数不能少于 {page.essay_count}。"
    if form.errors:
        return form
    before = {"paper": page.paper, "pub_date": page.pub_date, "page_label": page.page_label,
              "column_title": page.column_title, "slots": page.slots, "slot_budget": page.slot_budget,
              "lead": page.lead, "credits": page.credits, "slogan": page.slogan, "byline_style": page.byline_style}
    changed = {k: v for k, v in form.fields.items() if before.get(k) != v}
    if changed:
        await store.update_page(conn, page_id, **changed)
        await store.add_page_event(conn, page_id, "settings", user_id, reason="、".join(_SETTING_LABELS[k] for k in changed))
    return form


async def delete_draft(conn: aiosqlite.Connection, page_id: int, user_id: int) -> None:
    await _page(conn, page_id, states=("draft",))
    await store.add_page_event(conn, page_id, "delete", user_id)
    await store.delete_page(conn, page_id, user_id)


async def reveal_phones(conn: aiosqlite.Connection, page_id: int, user_id: int) -> dict[int, str]:
    """The phones of the page's unverified authors, for the verification forms; each view recorded."""
    await _page(conn, page_id)
    phones: dict[int, str] = {}
    for slot in await store.list_slots(conn, page_id):
        if not slot.verified_at:
            await store.record_phone_view(conn, slot.essay.id, user_id)
            phones[slot.essay.id] = slot.essay.phone or ""
    return phones


_BEIJING = dt.timezone(dt.timedelta(hours=8))


def beijing_today() -> dt.date:
    return dt.datetime.now(_BEIJING).date()


def next_edition_date() -> str:
    """The new-page form's default date: a page is usually made for tomorrow's paper."""
    return (beijing_today() + dt.timedelta(days=1)).isoformat()


def print_date_warnings(page: PrintPage, slots: list[Slot], today: dt.date) -> list[str]:
    """What the confirmation of 标记见报 warns about: an edition date before an essay was submitted,
    or far from today."""
    day = dt.date.fromisoformat(page.pub_date)
    warnings = []
    late = [s for s in slots if s.essay.submitted_at[:10] > page.pub_date]
    if late:
        names = "、".join(f"《{s.essay.headline}》" for s in late)
        warnings.append(f"出版日期 {page.pub_date} 早于 {names} 的投稿日期：日期可能填错了。")
    drift = (day - today).days
    if abs(drift) > PRINT_DATE_DRIFT_DAYS:
        when = f"{drift} 天之后" if drift > 0 else f"{-drift} 天之前"
        warnings.append(f"出版日期是 {when}（今天 {today.isoformat()}）：请确认这是本期见报的日期。")
    return warnings


async def remove(conn: aiosqlite.Connection, page_id: int, essay_id: int, user_id: int) -> None:
    page = await _page(conn, page_id, states=("draft",))
    before = await _compiled_credit(conn, page_id)
    await store.remove_essay(conn, page_id, essay_id)
    await _refresh_credits(conn, page, before)
    remaining = [s.essay.id for s in await store.list_slots(conn, page_id)]
    await store.set_positions(conn, page_id, remaining)
    await store.add_page_event(conn, page_id, "remove", user_id, essay_id=essay_id)


async def move(conn: aiosqlite.Connection, page_id: int, essay_id: int, offset: int, user_id: int) -> None:
    await _page(conn, page_id, states=("draft",))
    order = [s.essay.id for s in await store.list_slots(conn, page_id)]
    if essay_id not in order:
        raise PrintDeskError("这篇文章不在本版。", 404)
    index = order.index(essay_id)
    target = max(0, min(len(order) - 1, index + offset))
    order.insert(target, order.pop(index))
    await store.set_positions(conn, page_id, order)
    await store.add_page_event(conn, page_id, "move", user_id, essay_id=essay_id)


async def _slot(conn: aiosqlite.Connection, page_id: int, essay_id: int) -> Slot:
    for slot in await store.list_slots(conn, page_id):
        if slot.essay.id == essay_id:
            return slot
    raise PrintDeskError("这篇文章不在本版。", 404)


# "同时更正网络版" is for corrections (typos, facts), never for cuts: a print version this much shorter
# than the online text is a cut, and the web keeps the author's full text.
CORRECTION_MAX_SHRINK = 0.05


@dataclass(frozen=True)
class OnlineCorrection:
    corrected: bool
    signoff_requested: bool


async def save_version(
    conn: aiosqlite.Connection, page_id: int, essay_id: int, user_id: int, *, headline: str, byline: str, body: str,
    correct_online: bool = False, city: str = "",
) -> PrintVersion:
    """A new print version; with ``correct_online`` its body also becomes the online text, as a
    recorded edit (revision, audit event, search index, page caches through the essays triggers), and
    a substantive correction asks the author to sign off on it."""
    await _page(conn, page_id, states=("draft",))
    slot = await _slot(conn, page_id, essay_id)
    if correct_online:
        _refuse_cut_as_correction(slot.essay.body, body)
    version_id = await store.add_print_version(
        conn, page_id, essay_id, headline, byline, body, count_print_chars(body), user_id
    )
    await store.add_page_event(conn, page_id, "print_version", user_id, essay_id=essay_id)
    if correct_online and body != slot.essay.body:
        await correct_online_text(conn, page_id, slot.essay, version_id, body, user_id, city)
    saved = await store.get_print_version(conn, version_id)
    assert saved is not None
    return saved


def _refuse_cut_as_correction(online: str, corrected: str) -> None:
    before, after = count_print_chars(online), count_print_chars(corrected)
    if before and after < before * (1 - CORRECTION_MAX_SHRINK):
        raise PrintDeskError(
            f"「同时更正网络版」只用于更正错字和事实。这一稿比网络版少了 {before - after} 字，属于见报删节，"
            "网络版保留作者全文：请取消勾选后保存，或只改错字。", 422,
        )


async def correct_online_text(
    conn: aiosqlite.Connection, page_id: int, essay: Essay, version_id: int, body: str, user_id: int, city: str
) -> None:
    if essay.status not in (Status.PUBLISHED, Status.PRINTED):
        raise PrintDeskError("这篇文章当前不在网上发表，无法同步更正网络版。", 409)
    substantive = is_substantive_change(essay.body, body)
    await lifecycle.edit_text(
        conn, essay.id, lifecycle.ActorRef(Actor.EDITOR, user_id), city=city, version=None,
        headline=essay.headline, body=body, note="见报稿更正同步到网络版" + ("（请作者确认）" if substantive else ""),
    )
    await store.add_page_event(conn, page_id, "correct_online", user_id, essay_id=essay.id)
    if substantive:
        await store.request_signoff(conn, page_id, essay.id, version_id, user_id)
        await store.add_page_event(conn, page_id, "signoff_request", user_id, essay_id=essay.id)


async def reveal_phone(conn: aiosqlite.Connection, page_id: int, essay_id: int, user_id: int) -> str:
    slot = await _slot(conn, page_id, essay_id)
    await store.record_phone_view(conn, essay_id, user_id)
    return slot.essay.phone or ""


async def verify(conn: aiosqlite.Connection, page_id: int, essay_id: int, user_id: int, note: str) -> None:
    await _page(conn, page_id, states=("draft",))
    await _slot(conn, page_id, essay_id)
    if not note.strip():
        raise PrintDeskError("请写明核实情况（例如：已电话联系作者，确认本人投稿）。", 422)
    await store.record_verification(conn, essay_id, user_id, note.strip()[:500])
    await store.add_page_event(conn, page_id, "verify", user_id, essay_id=essay_id, reason=note.strip()[:500])


async def request_signoff(conn: aiosqlite.Connection, page_id: int, essay_id: int, user_id: int) -> None:
    await _page(conn, page_id, states=("draft",))
    slot = await _slot(conn, page_id, essay_id)
    latest = (await store.latest_versions(conn, page_id)).get(essay_id)
    if latest is None or not is_substantive_change(slot.essay.body, latest.body):
        raise PrintDeskError("见报稿只改动了标点或个别错字，无需请作者确认。", 422)
    await store.request_signoff(conn, page_id, essay_id, latest.id, user_id)
    await store.add_page_event(conn, page_id, "signoff_request", user_id, essay_id=essay_id)
    await notify.signoff_requested(conn, slot.essay, f"{page_id}:{latest.id}")  # same transaction


async def answer_signoff(conn: aiosqlite.Connection, essay_id: int, answer: str, note: str) -> None:
    """The author's answer, from their tracking page."""
    if answer not in ("accepted", "objected"):
        raise PrintDeskError("请选择同意或提出意见。", 422)
    if answer == "objected" and not note.strip():
        raise PrintDeskError("请写下您的意见，编辑会据此修改。", 422)
    request = await store.latest_signoff(conn, essay_id)
    if request is None or request.answer is not None:
        raise PrintDeskError("没有待确认的见报稿。")
    await store.answer_signoff(conn, request.id, answer, note.strip()[:1000])


@dataclass(frozen=True)
class LockCheck:
    unverified: list[Slot]
    unanswered: list[Slot]
    over_budget: list[Slot]
    empty: bool


async def lock_check(conn: aiosqlite.Connection, page: PrintPage) -> LockCheck:
    slots = await store.list_slots(conn, page.id)
    versions = await store.latest_versions(conn, page.id)
    unanswered = []
    for slot in slots:
        request = await store.latest_signoff(conn, slot.essay.id, page.id)
        if request is not None and request.answer is None:
            unanswered.append(slot)
    over = [s for s in slots if s.essay.id in versions and versions[s.essay.id].char_count > page.slot_budget]
    return LockCheck([s for s in slots if not s.verified_at], unanswered, over, not slots)


async def lock(conn: aiosqlite.Connection, page_id: int, user_id: int, override_reason: str) -> LockCheck:
    page = await _page(conn, page_id, states=("draft",))
    check = await lock_check(conn, page)
    if check.empty:
        raise PrintDeskError("版面上还没有文章，不能锁定。", 422)
    reason = override_reason.strip()
    if check.unverified and not reason:
        raise PrintDeskError("还有作者未核实。请先核实，或填写理由后强制锁定。", 422)
    await store.update_page(conn, page_id, state="locked")
    await store.add_page_event(conn, page_id, "lock", user_id, reason=reason if check.unverified else "")
    return check


async def unlock(conn: aiosqlite.Connection, page_id: int, user_id: int, reason: str) -> None:
    await _page(conn, page_id, states=("locked",))
    if not reason.strip():
        raise PrintDeskError("解锁需要写明理由。", 422)
    await store.update_page(conn, page_id, state="draft")
    await store.add_page_event(conn, page_id, "unlock", user_id, reason=reason.strip()[:500])


async def mark_printed(conn: aiosqlite.Connection, page_id: int, user_id: int, city: str) -> None:
    """Every essay on the page becomes 已见报 with the edition recorded, each in the audit trail."""
    page = await _page(conn, page_id, states=("locked",))
    edition = printed_edition(page)
    actor = lifecycle.ActorRef(Actor.EDITOR, user_id)
    for slot in await store.list_slots(conn, page_id):
        await lifecycle.transition(
            conn, slot.essay.id, Action.PRINT, actor, city=city, note=edition, changes={"printed_edition": edition}
        )
    await store.update_page(conn, page_id, state="printed", printed_at=dt.datetime.now(dt.UTC).isoformat())
    await store.add_page_event(conn, page_id, "printed", user_id, reason=edition)


# One detector for the moderator and the print desk (text/printcheck.py).
SuspectBreak = printcheck.SuspectBreak
suspect_breaks = printcheck.suspect_breaks


def balance(slots: list[Slot]) -> tuple[dict[str, int], dict[str, int]]:
    """How many essays per author role and per direction: the column mixes its voices on purpose."""
    roles: dict[str, int] = {}
    directions: dict[str, int] = {}
    for slot in slots:
        roles[slot.essay.author_role] = roles.get(slot.essay.author_role, 0) + 1
        directions[slot.essay.direction_name] = directions.get(slot.essay.direction_name, 0) + 1
    return roles, directions


def split_byline(line: str, name: str) -> tuple[str, str]:
    """A print byline as (affiliation, name), so the "after_body" style can print the editor's own
    line: the name under the headline and "（作者系{affiliation}）" after the body.

    ``name`` is the author's name, or "" when the byline carries none (a role-only byline, or one
    erased at the author's request): then the whole line is the affiliation. An edited line is split
    before the name where it ends with it, else at its last space ("单位职务 姓名").
    """
    line = " ".join(line.split())
    name = " ".join(name.split())
    if not name:
        return line, ""
    if line.endswith(name):
        return line[: len(line) - len(name)].strip(), name
    head, space, tail = line.rpartition(" ")
    return (head, tail) if space else (line, "")


def _named(essay: Essay) -> str:
    return "" if essay.byline_mode == "role_only" else essay.author_name


def _print_essay(slot: Slot, version: PrintVersion, media_dir: Path) -> printexport.PrintEssay:
    essay = slot.essay
    affiliation, name = split_byline(version.byline, _named(essay))
    return printexport.PrintEssay(
        slot=slot.position, headline=version.headline, byline=version.byline, affiliation=affiliation,
        name=name, body=version.body, photo_path=(media_dir / essay.photo_path) if essay.photo_path else None,
        char_count=version.char_count,
    )


def byline_as_printed(style: str, essay: Essay, version: PrintVersion) -> printexport.Byline:
    """The essay's byline as it prints under a page's byline style, for the editor's and the author's
    screens: the same composition as the proof, the package and the DOCX."""
    affiliation, name = split_byline(version.byline, _named(essay))
    line = printexport.PrintEssay(
        slot=0, headline=version.headline, byline=version.byline, affiliation=affiliation, name=name,
        body="", photo_path=None, char_count=0,
    )
    return printexport.compose_byline(line, style)  # type: ignore[arg-type]


def printed_bylines(
    page: PrintPage, slots: list[Slot], versions: dict[int, PrintVersion]
) -> dict[int, printexport.Byline]:
    return {
        s.essay.id: byline_as_printed(page.byline_style, s.essay, versions[s.essay.id])
        for s in slots
        if s.essay.id in versions
    }


def export_page(
    page: PrintPage, slots: list[Slot], versions: dict[int, PrintVersion], media_dir: Path, *,
    editor: str = "", sheet: str = "A3", body_pt: tuple[float, float] = (9.0, 10.5),
    feature: printexport.PrintFeature | None = None, band: list[printexport.BandBox] | None = None,
) -> printexport.PrintPage:
    """The page as the exports see it: print versions in slot order, nothing private.

    Bylines come from the print version, the line the editor may have edited (it starts as the
    paper's "{affiliation} {name}", "{city}市民 {name}" for a resident without a unit, with the city
    of the site settings when the essay was placed), so both byline styles print what the editor
    approved and the exports need no city of their own.
    """
    return printexport.PrintPage(
        paper=page.paper,
        date=dt.date.fromisoformat(page.pub_date),
        page_label=page.page_label,
        column_title=page.column_title,
        lead=page.lead,
        credits=[line.strip() for line in page.credits.splitlines() if line.strip()],
        byline_style=page.byline_style,  # type: ignore[arg-type]
        essays=[_print_essay(slot, versions[slot.essay.id], media_dir) for slot in slots],
        slogan=page.slogan, sheet=sheet, body_pt=body_pt, editor=editor, version=page.version,
        generated_at=dt.datetime.now(dt.UTC), feature=feature, band=list(band or []),
    )
