"""Who staff are: the roles and the signed-in user as the rest of the app sees them."""

from __future__ import annotations

from dataclasses import dataclass

# reviewer and chief matter only with more than one review level (model/review.py): reviewer decides
# 复审 (the middle of three levels), chief decides 终审 (the last of two or three).
ROLES = ("admin", "moderator", "editor", "reviewer", "chief")
ROLE_LABELS = {"admin": "管理员", "moderator": "审核员（初审）", "editor": "编辑", "reviewer": "复审", "chief": "终审"}


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    roles: frozenset[str]
    disabled: bool
    session_epoch: int

    @property
    def label(self) -> str:
        return self.display_name or self.username

    def has(self, *roles: str) -> bool:
        return "admin" in self.roles or bool(self.roles & set(roles))
