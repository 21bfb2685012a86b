"""Review levels (三审制): which role decides at which stage of the pending queue. Pure data.

An essay waiting for review is always ``pending``; ``essays.review_stage`` (1..3) says whose queue it
is in. With ``review_levels`` = 1 stage 1 is the only one and its approve publishes, as before. With 2
levels: 初审 (moderator) then 终审 (chief). With 3: 初审 (moderator), 复审 (reviewer), 终审 (chief).
Only the last level's approve publishes; a lower level's approve hands the essay up one stage.

A stored stage above the current number of levels (the setting was lowered while essays were in
flight) counts as the final level: :func:`effective_stage`. So no essay is ever stranded, and nothing
is rewritten when the setting changes.
"""

from __future__ import annotations

LEVEL_CHOICES = (1, 2, 3)
REVIEW_ROLES = ("moderator", "reviewer", "chief")

# review_levels -> the role deciding at each stage (index 0 = stage 1)
_STAGE_ROLES: dict[int, tuple[str, ...]] = {
    1: ("moderator",),
    2: ("moderator", "chief"),
    3: ("moderator", "reviewer", "chief"),
}
_STAGE_NAMES: dict[str, str] = {"moderator": "初审", "reviewer": "复审", "chief": "终审"}

# Events that move an essay between stages without changing its status: the newsroom's own record,
# never shown to the author (who sees 「审核中」 until the last level decides).
INTERNAL_REVIEW_ACTIONS = frozenset({"pass", "send_back"})


def valid_levels(levels: int) -> int:
    return levels if levels in LEVEL_CHOICES else 1


def effective_stage(stage: int, levels: int) -> int:
    """The stage an essay is decided at under the current setting: a stage above the last level (left
    by a lowered setting) is the last level."""
    return max(1, min(stage, valid_levels(levels)))


def stage_role(stage: int, levels: int) -> str:
    levels = valid_levels(levels)
    return _STAGE_ROLES[levels][effective_stage(stage, levels) - 1]


def stage_name(stage: int, levels: int) -> str:
    """初审 / 复审 / 终审 (one level only: 审核)."""
    if valid_levels(levels) == 1:
        return "审核"
    return _STAGE_NAMES[stage_role(stage, levels)]


def stage_label(stage: int, levels: int) -> str:
    """The queue's name for the stage: 待初审, 待复审, 待终审 (one level: 待审核)."""
    return f"待{stage_name(stage, levels)}"


def is_final(stage: int, levels: int) -> bool:
    return effective_stage(stage, levels) == valid_levels(levels)


def stages(levels: int) -> list[int]:
    return list(range(1, valid_levels(levels) + 1))


def may_decide(roles: frozenset[str] | set[str], stage: int, levels: int) -> bool:
    """Whether someone with these roles decides at this stage. Admins can do everything staff can."""
    return "admin" in roles or stage_role(stage, levels) in roles


def stages_for(roles: frozenset[str] | set[str], levels: int) -> list[int]:
    """The stages these roles decide at, lowest first (every stage for an admin)."""
    return [s for s in stages(levels) if may_decide(roles, s, levels)]
