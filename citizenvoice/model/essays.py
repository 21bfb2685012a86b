"""The essay lifecycle: statuses, the one table of legal transitions, bylines. Pure domain code."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum


class Status(StrEnum):
    PENDING = "pending"
    NEEDS_REVISION = "needs_revision"
    PUBLISHED = "published"
    REJECTED = "rejected"
    UNPUBLISHED = "unpublished"
    WITHDRAWN = "withdrawn"
    PRINTED = "printed"


STATUS_LABELS: dict[Status, str] = {
    Status.PENDING: "待审核",
    Status.NEEDS_REVISION: "需修改",
    Status.PUBLISHED: "已发布",
    Status.REJECTED: "未采用",
    Status.UNPUBLISHED: "已下线",
    Status.WITHDRAWN: "已撤回",
    Status.PRINTED: "已见报",
}

# What each event in an essay's history means to its author (the tracking page, the API's history).
AUTHOR_ACTION_LABELS: dict[str, str] = {
    "submit": "提交投稿", "approve": "审核通过，在网站发表", "reject": "未采用", "revise": "编辑请您修改",
    "resubmit": "修改后重新提交", "withdraw": "撤回投稿", "print": "见报", "unpublish": "从网站撤下",
    "edit": "编辑部修订了文字", "erase": "删除个人信息", "compiled": "本报记者代您整理录入",
}

# Statuses whose text the public may read.
PUBLIC_STATUSES: frozenset[Status] = frozenset({Status.PUBLISHED, Status.PRINTED})


class Action(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"
    REVISE = "revise"
    RESUBMIT = "resubmit"
    UNPUBLISH = "unpublish"
    WITHDRAW = "withdraw"
    PRINT = "print"


class Actor(StrEnum):
    AUTHOR = "author"
    MODERATOR = "moderator"
    EDITOR = "editor"
    ADMIN = "admin"
    SYSTEM = "system"


_NOT_PRINTED = tuple(s for s in Status if s not in {Status.PRINTED, Status.WITHDRAWN})

# (from, action) -> (to, who may do it). Anything not listed is illegal, wherever it comes from.
TRANSITIONS: dict[tuple[Status, Action], tuple[Status, frozenset[Actor]]] = {
    (Status.PENDING, Action.APPROVE): (Status.PUBLISHED, frozenset({Actor.MODERATOR, Actor.ADMIN})),
    (Status.PENDING, Action.REJECT): (Status.REJECTED, frozenset({Actor.MODERATOR, Actor.ADMIN})),
    (Status.PENDING, Action.REVISE): (Status.NEEDS_REVISION, frozenset({Actor.MODERATOR, Actor.ADMIN})),
    (Status.NEEDS_REVISION, Action.RESUBMIT): (Status.PENDING, frozenset({Actor.AUTHOR})),
    (Status.PUBLISHED, Action.UNPUBLISH): (Status.UNPUBLISHED, frozenset({Actor.MODERATOR, Actor.ADMIN})),
    (Status.PUBLISHED, Action.PRINT): (Status.PRINTED, frozenset({Actor.EDITOR, Actor.ADMIN})),
    **{(s, Action.WITHDRAW): (Status.WITHDRAWN, frozenset({Actor.AUTHOR})) for s in _NOT_PRINTED},
}


class IllegalTransition(Exception):
    def __init__(self, status: Status, action: Action, actor: Actor) -> None:
        super().__init__(f"{actor} may not {action} an essay that is {status}")
        self.status, self.action, self.actor = status, action, actor

    @property
    def message(self) -> str:
        return f"当前状态为「{STATUS_LABELS[self.status]}」，不能执行此操作。"


def next_status(status: Status | str, action: Action | str, actor: Actor | str) -> Status:
    """The status an action leads to, or IllegalTransition."""
    status, action, actor = Status(status), Action(action), Actor(actor)
    rule = TRANSITIONS.get((status, action))
    if rule is None or actor not in rule[1]:
        raise IllegalTransition(status, action, actor)
    return rule[0]


def allowed_actions(status: Status | str, actor: Actor | str) -> list[Action]:
    status, actor = Status(status), Actor(actor)
    return [a for (s, a), (_, who) in TRANSITIONS.items() if s == status and actor in who]


AUTHOR_ROLES: dict[str, str] = {
    "resident": "居民",
    "community": "社区工作者",
    "enterprise": "企业",
    "research": "科研教育",
    "public_sector": "机关事业单位",
    "student": "学生",
    "other": "其他",
}

# How a board groups its voices (the paper's own section names).
ROLE_GROUP_LABELS: dict[str, str] = {
    "resident": "市民来信",
    "community": "来自社区的声音",
    "enterprise": "企业家说",
    "research": "科研工作者",
    "public_sector": "机关干部谈",
    "student": "青年学子",
    "other": "更多声音",
}

PILLARS: dict[str, str] = {
    "industry": "产业为基",
    "innovation": "创新为魂",
    "opening": "开放为翼",
    "livelihood": "民生为本",
}


@dataclass(frozen=True)
class BylineParts:
    affiliation: str
    name: str
    byline_mode: str
    author_role: str


def byline(parts: BylineParts, city: str) -> str:
    """The byline exactly as the paper prints it.

    ``full``: "{affiliation} {name}", a private resident without a unit being "{city}市民 {name}".
    ``role_only``: never the name; the affiliation's own words are left out too, since a unit and title
    often identify a person as surely as a name.
    """
    if parts.byline_mode == "role_only":
        return role_label(parts.author_role, city)
    affiliation = parts.affiliation.strip() or f"{city}市民"
    return f"{affiliation} {parts.name}".strip()


def role_label(author_role: str, city: str) -> str:
    labels = {
        "resident": f"{city}市民",
        "community": f"{city}社区工作者",
        "enterprise": f"{city}企业工作者",
        "research": f"{city}科研教育工作者",
        "public_sector": f"{city}机关事业单位工作者",
        "student": f"{city}学生",
    }
    return labels.get(author_role, f"{city}市民")


_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud over the phone


def new_tracking_code() -> str:
    chars = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"CV-{chars[:4]}-{chars[4:]}"


def normalize_tracking_code(raw: str) -> str:
    cleaned = "".join(ch for ch in raw.upper() if ch.isalnum())
    if cleaned.startswith("CV"):
        cleaned = cleaned[2:]
    return f"CV-{cleaned[:4]}-{cleaned[4:8]}" if len(cleaned) == 8 else ""
