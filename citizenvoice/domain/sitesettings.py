"""Site texts an admin may change (site name, city, paper, column title, lead) and the number of review
levels, cached per worker.

The deployment's defaults come from settings.py; overrides live in the ``site_settings`` table. Each
worker keeps the merged :class:`Settings` in memory and re-reads the table only when the
``site_settings`` list version has moved, and checks that version at most once per ``CHECK_INTERVAL``
seconds, so a page view costs no query at all most of the time and an admin's change reaches every
worker within a second (the admin's own worker at once).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from citizenvoice.settings import Settings
from citizenvoice.store import admin as admin_store

CHECK_INTERVAL = 1.0

# key -> (label, hint, longest accepted value)
FIELDS: dict[str, tuple[str, str, int]] = {
    "site_name": ("网站名称", "显示在浏览器标题和页脚。", 40),
    "city": ("城市", "用于匿名署名，如「锦州市民」。只填城市名，不带「市」。", 20),
    "paper_name": ("报纸名称", "不带书名号，如「锦州日报」。", 40),
    "column_title": ("栏目名称", "如「写给下一个五年」。", 40),
    "lead": ("首页核心提示", "首页标题下的一段导语，约 200 字；留空则使用默认导语。", 600),
}


# Workflow settings chosen from a short list: key -> (label, hint, {stored value: what it means}).
CHOICES: dict[str, tuple[str, str, dict[str, str]]] = {
    "review_levels": (
        "审核级数",
        "几级审核通过后才发表。改为更少的级数时，已在较高一级等待的文章交由新的最后一级决定；"
        "改为更多级数时，还没发表的文章都要再经过新增的一级。",
        {"1": "一级：审核员通过即发表", "2": "两级：初审（审核员）→ 终审", "3": "三级：初审 → 复审 → 终审"},
    ),
    "phone_verification": (
        "手机号验证",
        "要求投稿人先用短信验证码验证手机号，文章才会保存。验证过的手机号在同一台设备上一段时间内不用再验证。",
        {"required": "需要验证：凭短信验证码投稿", "off": "不验证：手机号照填照收"},
    ),
}

# Limits an admin may change: key -> (label, hint, smallest, largest accepted value).
NUMBERS: dict[str, tuple[str, str, int, int]] = {
    "submit_limit_per_phone": ("每个手机号每天投稿篇数", "同一手机号 24 小时内最多投稿几篇。", 1, 100),
    "submit_limit_per_address": ("每个网络每小时投稿篇数", "同一网络地址（IPv4 地址或 IPv6 /64 网段）一小时内最多几篇；"
                                 "社区活动室、单位或运营商共用一个出口地址，不宜太低。", 1, 10000),
    "track_lookup_limit": ("每个网络每 15 分钟查询次数", "用投稿编号加手机号后四位查询的次数上限（按网络地址计）。", 1, 1000),
    "track_code_limit": ("每个投稿编号每天查询次数", "同一投稿编号一天内最多被查询几次，防止猜出手机号后四位。", 1, 100),
    "code_limit_per_phone": ("每个手机号每天验证码条数", "同一手机号 24 小时内最多获取几次验证码。", 1, 50),
    "code_limit_per_address": ("每个网络每小时验证码条数", "同一网络地址一小时内最多获取几次验证码（够一次社区写作活动用）。",
                               1, 10000),
    "lost_link_limit_per_phone": ("每个手机号每天找回链接次数", "在「找回查询链接」页同一手机号一天内最多申请几次。", 1, 20),
    "lost_link_limit_per_address": ("每个网络每小时找回链接次数", "同一网络地址一小时内最多申请几次找回链接。", 1, 1000),
}


def merged(base: Settings, overrides: dict[str, str]) -> Settings:
    known: dict[str, object] = {k: v for k, v in overrides.items() if k in FIELDS}
    if overrides.get("review_levels") in CHOICES["review_levels"][2]:
        known["review_levels"] = int(overrides["review_levels"])
    if overrides.get("phone_verification") in CHOICES["phone_verification"][2]:
        known["phone_verification"] = overrides["phone_verification"]
    for key, (_, _, low, high) in NUMBERS.items():
        raw = overrides.get(key, "")
        if raw.isdigit() and low <= int(raw) <= high:
            known[key] = int(raw)
    return dataclasses.replace(base, **known)


class SiteSettingsCache:
    def __init__(self, base: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.base = base
        self._clock = clock
        self._current = base
        self._version: int | None = None
        self._checked_at = float("-inf")

    def current(self) -> Settings:
        return self._current

    async def refresh(self, db: Any, *, force: bool = False) -> Settings:
        now = self._clock()
        if not force and now - self._checked_at < CHECK_INTERVAL:
            return self._current
        self._checked_at = now
        async with db.read() as conn:
            version = await admin_store.site_settings_version(conn)
            if version != self._version or force:
                self._current = merged(self.base, await admin_store.load_site_settings(conn))
                self._version = version
        return self._current


async def load(conn: Any, base: Settings) -> Settings:
    """The deployment's settings with the admin's current overrides, read once (for commands and jobs
    that have no worker cache)."""
    return merged(base, await admin_store.load_site_settings(conn))
