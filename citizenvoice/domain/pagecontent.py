"""The paper's own content on a print page, besides the residents' essays: the staff's feature article
("本报记者 某某", its sections opened by an em dash "——产业为基，…") and the band of direction boxes
across the top of the page. Both are the desk's until the page is printed; the feature is versioned
and counted by the same character rules as an essay.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aiosqlite

from citizenvoice import db
from citizenvoice.domain import photos, printexport
from citizenvoice.domain.printdesk import PAGE_STATES, PrintDeskError
from citizenvoice.model.directions import Direction
from citizenvoice.store import pagecontent as store
from citizenvoice.store import printdesk as page_store
from citizenvoice.text.charcount import count_print_chars
from citizenvoice.text.normalize import normalize_line, normalize_text, visible_length

EDITABLE = ("draft", "locked")  # until printed
FEATURE_FIELDS = ("headline", "byline", "body", "photo_credit")
HEADLINE_LEN = (4, 40)
BYLINE_LEN = (2, 40)
BODY_LEN = (200, 8000)
CREDIT_MAX = 40
BAND_MAX = 10
BAND_NAME_MAX = 16
BAND_TEXT_MAX = 60
OPENER = "——"


@dataclass
class FeatureForm:
    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)


def _length(label: str, value: str, low: int, high: int) -> str | None:
    count = visible_length(value)
    if not value:
        return f"请填写{label}。"
    if count < low:
        return f"{label}至少需要 {low} 个字，现在是 {count} 个字。"
    if count > high:
        return f"{label}最多 {high} 个字，现在是 {count} 个字，请删减。"
    return None


def validate_feature(raw: dict[str, str], *, has_photo: bool) -> FeatureForm:
    values = {
        "headline": normalize_line(raw.get("headline", "")), "byline": normalize_line(raw.get("byline", "")),
        "body": normalize_text(raw.get("body", "")), "photo_credit": normalize_line(raw.get("photo_credit", "")),
    }
    form = FeatureForm(values)
    for name, label, (low, high) in (("headline", "特稿标题", HEADLINE_LEN), ("byline", "作者署名", BYLINE_LEN),
                                     ("body", "特稿正文", BODY_LEN)):
        message = _length(label, values[name], low, high)
        if message:
            form.errors[name] = message
    if visible_length(values["photo_credit"]) > CREDIT_MAX:
        form.errors["photo_credit"] = f"图片署名最多 {CREDIT_MAX} 个字。"
    elif has_photo and not values["photo_credit"]:
        form.errors["photo_credit"] = "有照片时请填写摄影署名，例如「本报记者 王某 摄」。"
    return form


async def _editable_page(conn: aiosqlite.Connection, page_id: int) -> page_store.PrintPage:
    # The page's state, then its next feature version: one writer per page at a time (a no-op on SQLite).
    await db.serialize(conn, f"print-page:{page_id}")
    page = await page_store.get_page(conn, page_id)
    if page is None:
        raise PrintDeskError("版面不存在。", 404)
    if page.state not in EDITABLE:
        raise PrintDeskError(f"版面当前为「{PAGE_STATES[page.state]}」，特稿和方向带不能再改。")
    return page


async def prepare_photo(data: bytes | None, max_bytes: int) -> photos.ProcessedPhoto | None:
    """Decode and re-encode an uploaded feature photo off the event loop (raises photos.PhotoError)."""
    if data is None:
        return None
    return await asyncio.to_thread(photos.process_photo, data, max_bytes=max_bytes)


async def save_feature(
    conn: aiosqlite.Connection, page_id: int, raw: dict[str, str], user_id: int, *,
    photo: photos.ProcessedPhoto | None, remove_photo: bool, media_dir: Path,
) -> FeatureForm:
    """A new version of the page's feature, or the form back with its errors (nothing written). Without
    a new upload the previous version's photo is kept, unless ``remove_photo``."""
    await _editable_page(conn, page_id)
    previous = await store.latest_feature(conn, page_id)
    kept = previous.photo_path if previous and not previous.removed and not remove_photo else None
    form = validate_feature(raw, has_photo=photo is not None or kept is not None)
    if form.errors:
        return form
    photo_path = photos.store_photo(photo, media_dir) if photo is not None else kept
    v = form.values
    unchanged = previous is not None and not previous.removed and (
        previous.headline, previous.byline, previous.body, previous.photo_credit, previous.photo_path
    ) == (v["headline"], v["byline"], v["body"], v["photo_credit"], photo_path)
    if unchanged:
        return form
    version = await store.add_feature_version(
        conn, page_id, headline=v["headline"], byline=v["byline"], body=v["body"], photo_path=photo_path,
        photo_credit=v["photo_credit"], char_count=count_print_chars(v["body"]), removed=False, user_id=user_id,
    )
    await store.touch_page(conn, page_id)
    await page_store.add_page_event(conn, page_id, "feature", user_id, reason=f"第 {version} 稿")
    return form


async def remove_feature(conn: aiosqlite.Connection, page_id: int, user_id: int) -> None:
    await _editable_page(conn, page_id)
    previous = await store.latest_feature(conn, page_id)
    if previous is None or previous.removed:
        raise PrintDeskError("本版没有特稿。", 422)
    await store.add_feature_version(
        conn, page_id, headline=previous.headline, byline=previous.byline, body=previous.body,
        photo_path=previous.photo_path, photo_credit=previous.photo_credit, char_count=previous.char_count,
        removed=True, user_id=user_id,
    )
    await store.touch_page(conn, page_id)
    await page_store.add_page_event(conn, page_id, "feature_remove", user_id)


def current_feature(feature: store.Feature | None) -> store.Feature | None:
    return feature if feature is not None and not feature.removed else None


def sections(body: str) -> list[str]:
    """The feature's section openers ("——产业为基，…"), for the page screen's outline."""
    return [p.split("。")[0] for p in body.split("\n\n") if p.strip().startswith(OPENER)]


# ---- the directions band --------------------------------------------------------------------------


@dataclass
class BandForm:
    rows: list[dict[str, str]]  # as the form shows them again: direction slug, name, description
    errors: list[str] = field(default_factory=list)
    boxes: list[tuple[int, str, str]] = field(default_factory=list)


def validate_band(
    slugs: Sequence[str], names: Sequence[str], texts: Sequence[str], catalogue: list[Direction]
) -> BandForm:
    """``slugs`` in band order (blank rows skipped), with optional per-page names and sentences aligned
    with them; a blank name or sentence takes the catalogue's."""
    by_slug = {d.slug: d for d in catalogue}
    rows, errors, boxes = [], [], []
    seen: set[str] = set()
    for index, raw_slug in enumerate(slugs):
        slug = raw_slug.strip()
        name = normalize_line(names[index]) if index < len(names) else ""
        text = normalize_line(texts[index]) if index < len(texts) else ""
        if not slug:
            continue
        rows.append({"direction": slug, "name": name, "description": text})
        position = len(rows)
        direction = by_slug.get(slug)
        if direction is None:
            errors.append(f"第 {position} 格的方向不在方向目录中，请从列表中选择。")
            continue
        if slug in seen:
            errors.append(f"第 {position} 格「{direction.name}」重复了，每个方向只放一格。")
            continue
        seen.add(slug)
        name, text = name or direction.name, text or direction.description
        if visible_length(name) > BAND_NAME_MAX:
            errors.append(f"第 {position} 格的名称最多 {BAND_NAME_MAX} 个字，现在是 {visible_length(name)} 个字。")
        if visible_length(text) > BAND_TEXT_MAX:
            errors.append(f"第 {position} 格的说明最多 {BAND_TEXT_MAX} 个字（一句话），现在是 {visible_length(text)} 个字。")
        boxes.append((direction.id, name, text))
    if len(rows) > BAND_MAX:
        errors.insert(0, f"方向带最多 {BAND_MAX} 格，现在选了 {len(rows)} 格。")
    return BandForm(rows, errors, boxes if not errors else [])


async def save_band(
    conn: aiosqlite.Connection, page_id: int, slugs: Sequence[str], names: Sequence[str], texts: Sequence[str],
    catalogue: list[Direction], user_id: int,
) -> BandForm:
    await _editable_page(conn, page_id)
    form = validate_band(slugs, names, texts, catalogue)
    if form.errors:
        return form
    before = [(b.direction_id, b.name, b.description) for b in await store.band(conn, page_id)]
    if before != form.boxes:
        await store.replace_band(conn, page_id, form.boxes)
        await store.touch_page(conn, page_id)
        await page_store.add_page_event(conn, page_id, "band", user_id, reason=f"{len(form.boxes)} 格")
    return form


def print_feature(feature: store.Feature | None, media_dir: Path) -> printexport.PrintFeature | None:
    feature = current_feature(feature)
    if feature is None:
        return None
    return printexport.PrintFeature(
        headline=feature.headline, byline=feature.byline, body=feature.body,
        photo_path=(media_dir / feature.photo_path) if feature.photo_path else None,
        photo_credit=feature.photo_credit, char_count=feature.char_count,
    )


def print_band(band: list[store.BandBox]) -> list[printexport.BandBox]:
    return [printexport.BandBox(name=b.name, description=b.description) for b in band]
