"""What an admin may change, how each change is validated, and the audit row each one writes.

Every ``async`` function here runs inside the caller's ``db.write()`` transaction and records its
``admin_audit`` row in it, so a change and its record commit or roll back together. Checks that
depend on the database (a taken username, the last admin) are made inside that same transaction,
where no other writer can slip in between the check and the change.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import aiosqlite

from citizenvoice import db
from citizenvoice.domain import accounts, sitesettings, twofactor
from citizenvoice.model.directions import Direction
from citizenvoice.model.essays import PILLARS
from citizenvoice.model.staff import ROLES, User
from citizenvoice.settings import Settings
from citizenvoice.store import admin as admin_store
from citizenvoice.store import directions as direction_store
from citizenvoice.store import sessions as session_store
from citizenvoice.store import users as user_store
from citizenvoice.store import wordlists
from citizenvoice.text.normalize import normalize_line, normalize_text

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{2,31}$")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_WORDS = 5000
MAX_WORD_CHARS = 30

ACTION_LABELS = {
    "message.retry": "重试发送消息",
    "user.add": "新增用户",
    "user.update": "修改用户资料和角色",
    "user.password": "重置密码",
    "user.disable": "停用用户",
    "user.enable": "启用用户",
    "direction.add": "新增方向",
    "direction.update": "修改方向",
    "direction.move": "调整方向顺序",
    "direction.archive": "归档方向",
    "direction.unarchive": "恢复方向",
    "words.replace": "更新词表",
    "reason.add": "新增退稿理由",
    "reason.update": "修改退稿理由",
    "settings.update": "修改站点设置",
    "privacy.erase": "应作者要求删除个人信息",
    **twofactor.ACTION_LABELS,
    "stats.targets": "修改见报声音目标比例",
}
FIELD_LABELS = {
    "username": "用户名",
    "display_name": "显示名称",
    "roles": "角色",
    "disabled": "已停用",
    "sessions_ended": "已登出所有会话",
    "slug": "网址名",
    "name": "名称",
    "description": "说明",
    "pillar": "板块",
    "position": "排序",
    "archived": "已归档",
    "order": "顺序",
    "count": "词数",
    "added": "新增",
    "removed": "删除",
    "label": "理由",
    "active": "在用",
    "id": "编号",
    "site_name": "网站名称",
    "city": "城市",
    "paper_name": "报纸名称",
    "column_title": "栏目名称",
    "lead": "首页核心提示",
    "two_factor": "两步验证",
    "recovery_codes": "恢复码",
    "recovery_codes_left": "剩余恢复码",
}
WORD_LIST_LABELS = {"banned": "禁用词", "suspect": "可疑词"}
MULTILINE_SETTINGS = frozenset({"lead"})


class Invalid(ValueError):
    """Field name -> Chinese message, shown next to the field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


class NotFound(LookupError):
    pass


async def _audit(
    conn: aiosqlite.Connection, actor: User, action: str, target: str, before: Any, after: Any
) -> None:
    await admin_store.record_audit(
        conn,
        actor_id=actor.id,
        actor_name=actor.username,
        action=action,
        target=target,
        before=before,
        after=after,
    )


# ---------------------------------------------------------------------------------------------------
# Users


@dataclass(frozen=True)
class UserForm:
    username: str
    display_name: str
    password: str
    roles: frozenset[str]


def _check_roles(roles: frozenset[str], errors: dict[str, str]) -> None:
    if not roles:
        errors["roles"] = "请至少选择一个角色。"
    elif not roles <= set(ROLES):
        errors["roles"] = "角色无效。"


def _check_password(password: str, username: str, avoid: tuple[str, ...], errors: dict[str, str]) -> None:
    problem = accounts.password_problem(password, username=username, avoid=avoid)
    if problem:
        errors["password"] = problem


def check_new_user(form: UserForm, avoid: tuple[str, ...] = ()) -> None:
    """Invalid with Chinese errors by field; ``avoid``: names a password must not be built on (the
    paper's and the site's)."""
    errors: dict[str, str] = {}
    if not USERNAME.match(form.username):
        errors["username"] = "用户名为 3–32 个字符，只能使用英文字母、数字、点、下划线和连字符。"
    if len(form.display_name) > 40:
        errors["display_name"] = "显示名称不能超过 40 个字符。"
    _check_password(form.password, form.username, avoid, errors)
    _check_roles(form.roles, errors)
    if errors:
        raise Invalid(errors)


async def add_user(conn: aiosqlite.Connection, actor: User, form: UserForm, avoid: tuple[str, ...] = ()) -> int:
    check_new_user(form, avoid)
    if await user_store.get_by_username(conn, form.username):
        raise Invalid({"username": "这个用户名已被使用。"})
    user_id = await user_store.create_user(
        conn, form.username, accounts.hash_password(form.password), set(form.roles), form.display_name
    )
    after = {"username": form.username, "display_name": form.display_name, "roles": sorted(form.roles)}
    await _audit(conn, actor, "user.add", f"user:{form.username}", None, after)
    return user_id


async def _load_user(conn: aiosqlite.Connection, user_id: int) -> User:
    # Changes to staff accounts take turns, so "at least one active admin stays" (_keeps_an_admin) holds
    # when two admins demote each other at once; they are rare enough for one key.
    await db.serialize(conn, "staff-accounts")
    user = await user_store.get_by_id(conn, user_id)
    if user is None:
        raise NotFound(user_id)
    return user


async def _keeps_an_admin(conn: aiosqlite.Connection, user: User) -> bool:
    return await admin_store.count_active_admins(conn, excluding=user.id) > 0


async def update_user(
    conn: aiosqlite.Connection, actor: User, user_id: int, *, display_name: str, roles: frozenset[str]
) -> None:
    user = await _load_user(conn, user_id)
    errors: dict[str, str] = {}
    if len(display_name) > 40:
        errors["display_name"] = "显示名称不能超过 40 个字符。"
    _check_roles(roles, errors)
    if "admin" in user.roles and "admin" not in roles and not errors:
        if user.id == actor.id:
            errors["roles"] = "不能取消自己的管理员角色，请让另一位管理员操作。"
        elif not await _keeps_an_admin(conn, user):
            errors["roles"] = "至少要保留一位可用的管理员。"
    if errors:
        raise Invalid(errors)
    before = {"display_name": user.display_name, "roles": sorted(user.roles)}
    after = {"display_name": display_name, "roles": sorted(roles)}
    if before == after:
        return
    await admin_store.set_display_name(conn, user_id, display_name)
    if roles != user.roles:
        await user_store.set_roles(conn, user_id, set(roles))
        await admin_store.end_sessions(conn, user_id)
    await _audit(conn, actor, "user.update", f"user:{user.username}", before, after)


async def reset_password(
    conn: aiosqlite.Connection, actor: User, user_id: int, password: str, avoid: tuple[str, ...] = ()
) -> None:
    user = await _load_user(conn, user_id)
    errors: dict[str, str] = {}
    _check_password(password, user.username, avoid, errors)
    if errors:
        raise Invalid(errors)
    # set_password also ends the user's sessions. The audit row says that it happened, never the value.
    await user_store.set_password(conn, user_id, accounts.hash_password(password))
    await _audit(conn, actor, "user.password", f"user:{user.username}", None, {"sessions_ended": True})


async def end_user_sessions(conn: aiosqlite.Connection, actor: User, user_id: int) -> int:
    """Sign a user out everywhere (a lost phone, a shared computer); how many sessions ended."""
    user = await _load_user(conn, user_id)
    ended = await session_store.end_all(conn, user_id)
    await _audit(conn, actor, "user.sessions_end", f"user:{user.username}", None, {"sessions_ended": ended})
    return ended


async def reset_two_factor(conn: aiosqlite.Connection, actor: User, user_id: int) -> None:
    """Remove another staff member's second factor (a lost phone, no recovery codes) and end their
    sessions; they enrol again after their next login. Nobody resets their own this way: a lost phone
    of one's own is for another admin to confirm, or for recovery codes."""
    user = await _load_user(conn, user_id)
    if user.id == actor.id:
        raise Invalid({"two_factor": "不能在这里重置自己的两步验证。换了手机请在「两步验证」页面用恢复码重新设置；都丢了请另一位管理员重置。"})
    if not await twofactor.reset(conn, user, actor_id=actor.id, actor_name=actor.username):
        raise Invalid({"two_factor": "这个用户没有开启两步验证，不需要重置。"})


async def set_user_disabled(conn: aiosqlite.Connection, actor: User, user_id: int, disabled: bool) -> None:
    user = await _load_user(conn, user_id)
    if user.disabled == disabled:
        return
    if disabled and user.id == actor.id:
        raise Invalid({"disabled": "不能停用自己的账号。"})
    if disabled and "admin" in user.roles and not await _keeps_an_admin(conn, user):
        raise Invalid({"disabled": "至少要保留一位可用的管理员。"})
    await user_store.set_disabled(conn, user_id, disabled)
    action = "user.disable" if disabled else "user.enable"
    await _audit(
        conn, actor, action, f"user:{user.username}", {"disabled": user.disabled}, {"disabled": disabled}
    )


# ---------------------------------------------------------------------------------------------------
# Directions


@dataclass(frozen=True)
class DirectionForm:
    name: str
    description: str
    pillar: str
    slug: str = ""


def _direction_errors(form: DirectionForm, *, new: bool) -> dict[str, str]:
    errors: dict[str, str] = {}
    if new and not (2 <= len(form.slug) <= 40 and SLUG.match(form.slug)):
        errors["slug"] = "网址名为 2–40 个小写英文字母或数字，可用连字符分隔，如 green-port。"
    if not form.name:
        errors["name"] = "请填写名称。"
    elif not 2 <= len(form.name) <= 30:
        errors["name"] = "名称为 2–30 个字。"
    if len(form.description) > 200:
        errors["description"] = "说明不能超过 200 个字。"
    if form.pillar not in PILLARS:
        errors["pillar"] = "请选择所属板块。"
    return errors


def _direction_record(d: Direction) -> dict[str, Any]:
    return {
        "slug": d.slug,
        "name": d.name,
        "description": d.description,
        "pillar": d.pillar,
        "position": d.position,
        "archived": d.archived,
    }


async def _load_direction(conn: aiosqlite.Connection, direction_id: int) -> Direction:
    direction = await direction_store.get_by_id(conn, direction_id)
    if direction is None:
        raise NotFound(direction_id)
    return direction


async def add_direction(conn: aiosqlite.Connection, actor: User, form: DirectionForm) -> int:
    errors = _direction_errors(form, new=True)
    if not errors and await admin_store.direction_slug_taken(conn, form.slug):
        errors["slug"] = "这个网址名已被使用。"
    if errors:
        raise Invalid(errors)
    direction_id = await admin_store.insert_direction(
        conn, slug=form.slug, name=form.name, description=form.description, pillar=form.pillar
    )
    after = _direction_record(await _load_direction(conn, direction_id))
    await _audit(conn, actor, "direction.add", f"direction:{form.slug}", None, after)
    return direction_id


async def update_direction(
    conn: aiosqlite.Connection, actor: User, direction_id: int, form: DirectionForm
) -> None:
    """Rename, describe, or move to another pillar. The slug stays: links to the board keep working."""
    before = await _load_direction(conn, direction_id)
    errors = _direction_errors(form, new=False)
    if errors:
        raise Invalid(errors)
    await admin_store.update_direction(
        conn,
        direction_id,
        name=form.name,
        description=form.description,
        pillar=form.pillar,
        moved=form.pillar != before.pillar,
    )
    after = await _load_direction(conn, direction_id)
    if after != before:
        await _audit(
            conn,
            actor,
            "direction.update",
            f"direction:{before.slug}",
            _direction_record(before),
            _direction_record(after),
        )


async def move_direction(conn: aiosqlite.Connection, actor: User, direction_id: int, step: int) -> None:
    """Move a board one place up (-1) or down (+1) within its pillar."""
    direction = await _load_direction(conn, direction_id)
    siblings = sorted(
        (d for d in await direction_store.list_directions(conn) if d.pillar == direction.pillar),
        key=lambda d: (d.position, d.id),
    )
    index = next(i for i, d in enumerate(siblings) if d.id == direction_id)
    target = index + step
    if not 0 <= target < len(siblings):
        return
    order = [d.id for d in siblings]
    order[index], order[target] = order[target], order[index]
    # Renumber the pillar with distinct positions, so equal positions cannot make a swap a no-op.
    start = min(d.position for d in siblings)
    await admin_store.set_direction_positions(conn, {did: start + 10 * i for i, did in enumerate(order)})
    before = [d.slug for d in siblings]
    after = [next(d.slug for d in siblings if d.id == did) for did in order]
    await _audit(
        conn, actor, "direction.move", f"direction:{direction.slug}", {"order": before}, {"order": after}
    )


async def set_direction_archived(
    conn: aiosqlite.Connection, actor: User, direction_id: int, archived: bool
) -> None:
    direction = await _load_direction(conn, direction_id)
    if direction.archived == archived:
        return
    await admin_store.set_direction_archived(conn, direction_id, archived)
    action = "direction.archive" if archived else "direction.unarchive"
    await _audit(
        conn,
        actor,
        action,
        f"direction:{direction.slug}",
        {"archived": direction.archived},
        {"archived": archived},
    )


# ---------------------------------------------------------------------------------------------------
# Screening word lists


def parse_words(text: str) -> list[str]:
    """One word per line, as pasted (normalised like residents' text, since screening compares the two);
    blank lines and repeats dropped, order kept."""
    words = [normalize_line(line) for line in normalize_text(text).split("\n")]
    words = list(dict.fromkeys(w for w in words if w))
    long = [w for w in words if len(w) > MAX_WORD_CHARS]
    if long:
        shown = "、".join(f"「{w[:12]}…」" for w in long[:3])
        raise Invalid({"words": f"每行一个词，每个词不超过 {MAX_WORD_CHARS} 个字。过长的行：{shown}"})
    if len(words) > MAX_WORDS:
        raise Invalid({"words": f"一个词表最多 {MAX_WORDS} 个词，现在有 {len(words)} 个。"})
    return words


async def replace_words(
    conn: aiosqlite.Connection, actor: User, list_name: str, text: str
) -> tuple[int, int]:
    """Replace a whole list; returns (added, removed). Bumps the list version so every worker rebuilds."""
    if list_name not in wordlists.LISTS:
        raise NotFound(list_name)
    words = parse_words(text)
    old = set((await wordlists.load_words(conn))[list_name])
    new = set(words)
    if old == new:
        return 0, 0
    await wordlists.replace_words(conn, list_name, words)
    added, removed = sorted(new - old), sorted(old - new)
    await _audit(
        conn,
        actor,
        "words.replace",
        f"words:{list_name}",
        {"count": len(old), "removed": removed},
        {"count": len(new), "added": added},
    )
    return len(added), len(removed)


# ---------------------------------------------------------------------------------------------------
# Rejection reasons


def _reason_errors(label: str) -> dict[str, str]:
    if not label:
        return {"label": "请填写理由。"}
    return {} if 2 <= len(label) <= 40 else {"label": "理由为 2–40 个字。"}


REASON_KINDS = {"reject": "退稿理由", "revise": "退回修改的理由"}


async def add_reason(conn: aiosqlite.Connection, actor: User, label: str, kind: str = "reject") -> int:
    errors = _reason_errors(label)
    if kind not in REASON_KINDS:
        errors["kind"] = "请选择这是退稿理由还是退回修改的理由。"
    if not errors and await admin_store.reason_label_taken(conn, label):
        errors["label"] = "已有相同的理由。"
    if errors:
        raise Invalid(errors)
    reason_id = await admin_store.insert_reason(conn, label, kind)
    await _audit(
        conn, actor, "reason.add", f"reason:{reason_id}", None, await admin_store.get_reason(conn, reason_id)
    )
    return reason_id


async def update_reason(
    conn: aiosqlite.Connection, actor: User, reason_id: int, *, label: str, position: int, active: bool
) -> None:
    before = await admin_store.get_reason(conn, reason_id)
    if before is None:
        raise NotFound(reason_id)
    errors = _reason_errors(label)
    if not errors and await admin_store.reason_label_taken(conn, label, excluding=reason_id):
        errors["label"] = "已有相同的理由。"
    if not -100000 <= position <= 100000:
        errors["position"] = "排序请填写整数。"
    if errors:
        raise Invalid(errors)
    await admin_store.update_reason(conn, reason_id, label=label, position=position, active=active)
    after = await admin_store.get_reason(conn, reason_id)
    if after != before:
        await _audit(conn, actor, "reason.update", f"reason:{reason_id}", before, after)


# ---------------------------------------------------------------------------------------------------
# Site settings


def clean_site_settings(values: dict[str, str], base: Settings) -> dict[str, str | None]:
    """The override to store per key; None where the value is empty or equals the deployment default."""
    errors: dict[str, str] = {}
    cleaned: dict[str, str | None] = {}
    for key, (label, _, longest) in sitesettings.FIELDS.items():
        raw = values.get(key, "")
        value = normalize_text(raw) if key in MULTILINE_SETTINGS else normalize_line(raw)
        if len(value) > longest:
            errors[key] = f"{label}不能超过 {longest} 个字。"
        elif not value and key != "lead":
            errors[key] = f"请填写{label}。"
        cleaned[key] = None if value == getattr(base, key) or not value else value
    for key, (label, _, options) in sitesettings.CHOICES.items():
        raw = values.get(key, "").strip()
        if not raw:
            continue  # not on the form that was sent: left as it is
        if raw not in options:
            errors[key] = f"请从列表中选择{label}。"
        cleaned[key] = None if raw == str(getattr(base, key)) else raw
    for key, (label, _, low, high) in sitesettings.NUMBERS.items():
        raw = unicodedata.normalize("NFKC", values.get(key, "")).strip()
        if not raw:
            continue  # not on the form that was sent: left as it is
        if not raw.isdigit() or not low <= int(raw) <= high:
            errors[key] = f"{label}请填写 {low} 到 {high} 之间的整数。"
            continue
        cleaned[key] = None if int(raw) == getattr(base, key) else str(int(raw))
    if errors:
        raise Invalid(errors)
    return cleaned


async def save_site_settings(
    conn: aiosqlite.Connection, actor: User, values: dict[str, str], base: Settings
) -> bool:
    """Store the admin's texts; False when nothing changed."""
    cleaned = clean_site_settings(values, base)
    current = await admin_store.load_site_settings(conn)
    changed = {k: v for k, v in cleaned.items() if current.get(k) != v}
    if not changed:
        return False
    await admin_store.save_site_settings(conn, changed)
    before = {k: current.get(k, str(getattr(base, k))) for k in changed}
    after = {k: v if v is not None else str(getattr(base, k)) for k, v in changed.items()}
    await _audit(conn, actor, "settings.update", "site", before, after)
    return True
