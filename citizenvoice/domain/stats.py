"""Statistics for the editorial meeting: what was submitted, published and printed, by board, author
role and week; how often and how fast moderators decide; how old the queue is; and whether the printed
column's balance of voices meets the editors' target mix.

The filters (a Beijing date range, a board, a role) are parsed here once and drive the page and every
export alike, so a number in the workbook is the number on the screen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import aiosqlite

from citizenvoice.model.directions import Direction
from citizenvoice.model.essays import AUTHOR_ROLES, STATUS_LABELS, Status
from citizenvoice.store import admin as admin_store
from citizenvoice.store import directions as direction_store
from citizenvoice.store import stats as store
from citizenvoice.store.stats import VOICES, CountRow

BEIJING = dt.timezone(dt.timedelta(hours=8))
DEFAULT_WEEKS = 12
MAX_DAYS = 3 * 366  # a longer range is cut to three years: the page stays fast and the chart readable

# The column's four named voices; every other author role counts as 其他.
VOICE_LABELS: dict[str, str] = {
    "resident": "居民",
    "community": "社区工作者",
    "enterprise": "企业",
    "research": "科研",
    "other": "其他",
}
DECISION_LABELS: dict[str, str] = {
    "approve": "通过发布",
    "reject": "未采用",
    "revise": "退回修改",
    "print": "见报",
}
# Queue age buckets: (label, upper bound in hours).
QUEUE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("1 天内", 24), ("1–3 天", 72), ("3–7 天", 168), ("7 天以上", float("inf")),
)  # fmt: skip


def voice_of(author_role: str) -> str:
    return author_role if author_role in VOICES else "other"


@dataclass(frozen=True)
class Filters:
    start: dt.date  # first day, Beijing
    end: dt.date  # last day, inclusive, Beijing
    direction: str = ""  # board slug, "" = all
    role: str = ""  # author role, "" = all
    status: str = ""  # only the essay list uses it
    errors: tuple[str, ...] = ()

    def query(self, **extra: str) -> dict[str, str]:
        """The filters as query parameters, so links and exports keep them."""
        params = {"from": self.start.isoformat(), "to": self.end.isoformat(), "direction": self.direction,
                  "role": self.role, **extra}  # fmt: skip
        return {k: v for k, v in params.items() if v}


def _date(raw: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        return None


def parse_filters(params: Mapping[str, str], directions: Iterable[Direction], today: dt.date) -> Filters:
    """The filters from a query string; an unreadable value is dropped with a Chinese note."""
    errors: list[str] = []
    default_start = today - dt.timedelta(days=today.weekday() + 7 * (DEFAULT_WEEKS - 1))
    start, end = _date(params.get("from", "")), _date(params.get("to", ""))
    if params.get("from") and start is None:
        errors.append("起始日期无法识别，已改用默认范围（最近 12 周）。")
    if params.get("to") and end is None:
        errors.append("截止日期无法识别，已改用今天。")
    start, end = start or default_start, end or today
    if start > end:
        errors.append("起始日期晚于截止日期，已对调。")
        start, end = end, start
    if (end - start).days > MAX_DAYS:
        errors.append("日期范围最长三年，已从截止日期往前截取。")
        start = end - dt.timedelta(days=MAX_DAYS)
    direction = params.get("direction", "")
    if direction and direction not in {d.slug for d in directions}:
        errors.append("没有这个方向，已显示全部方向。")
        direction = ""
    role = params.get("role", "")
    if role and role not in AUTHOR_ROLES:
        errors.append("没有这个作者身份，已显示全部身份。")
        role = ""
    status = params.get("status", "")
    if status and status not in {str(s) for s in Status}:
        errors.append("没有这个状态，已导出全部状态。")
        status = ""
    return Filters(start, end, direction, role, status, tuple(errors))


def utc_bounds(filters: Filters) -> tuple[str, str]:
    """[start, end) of the Beijing days as stored UTC text (which sorts like the moments it names)."""

    def at_midnight(day: dt.date) -> str:
        moment = dt.datetime.combine(day, dt.time(), BEIJING).astimezone(dt.UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    return at_midnight(filters.start), at_midnight(filters.end + dt.timedelta(days=1))


def scope(filters: Filters, directions: Iterable[Direction]) -> store.Scope:
    start, end = utc_bounds(filters)
    direction_id = next((d.id for d in directions if d.slug == filters.direction), None)
    return store.Scope(start, end, direction_id, filters.role or None, filters.status or None)


@dataclass
class Totals:
    submitted: int = 0
    published: int = 0
    printed: int = 0
    rejected: int = 0

    def add(self, row: CountRow) -> None:
        self.submitted += row.submitted
        self.published += row.published
        self.printed += row.printed
        self.rejected += row.rejected

    @property
    def decided(self) -> int:
        return self.published + self.rejected

    @property
    def approval_rate(self) -> float | None:
        """Of the essays a moderator approved or turned down, the share approved (None: none decided)."""
        return self.published / self.decided if self.decided else None


@dataclass(frozen=True)
class DecisionTime:
    action: str
    label: str
    count: int
    median_hours: float | None


@dataclass(frozen=True)
class Queue:
    count: int
    median_hours: float | None
    oldest_hours: float | None
    buckets: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class VoiceShare:
    voice: str
    label: str
    printed: int
    share: float | None  # of the printed column; None when nothing was printed
    target: int  # per cent

    @property
    def gap(self) -> float | None:
        """Percentage points above (+) or below (−) the target."""
        return None if self.share is None else self.share * 100 - self.target


@dataclass
class Dashboard:
    filters: Filters
    directions: list[Direction]
    totals: Totals
    weeks: list[tuple[dt.date, Totals]]
    by_direction: list[tuple[Direction, Totals]]
    by_role: list[tuple[str, Totals]]
    cube: list[CountRow]
    decisions: list[DecisionTime]
    queue: Queue
    balance: list[VoiceShare]
    targets: dict[str, int] = field(default_factory=dict)

    def direction_name(self, direction_id: int) -> str:
        return next((d.name for d in self.directions if d.id == direction_id), str(direction_id))


def median(values: list[float]) -> float | None:
    """The median of an already sorted list."""
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def week_starts(filters: Filters) -> list[dt.date]:
    monday = filters.start - dt.timedelta(days=filters.start.weekday())
    return [monday + dt.timedelta(weeks=i) for i in range((filters.end - monday).days // 7 + 1)]


async def load_dashboard(conn: aiosqlite.Connection, params: Mapping[str, str], today: dt.date,
                         now: str | None = None) -> Dashboard:  # fmt: skip
    directions = await direction_store.list_directions(conn)
    filters = parse_filters(params, directions, today)
    where = scope(filters, directions)
    cube = await store.counts(conn, where)
    hours = await store.decision_hours(conn, where)
    waiting = await store.queue_hours(conn, where, now)
    printed = await store.printed_by_role(conn, where)
    targets = await store.voice_targets(conn)
    return build(filters, directions, cube, hours, waiting, printed, targets)


def build(filters: Filters, directions: list[Direction], cube: list[CountRow], hours: dict[str, list[float]],
          waiting: list[float], printed: dict[str, int], targets: dict[str, int]) -> Dashboard:  # fmt: skip
    totals = Totals()
    weeks = {week: Totals() for week in week_starts(filters)}
    by_direction = {d.id: Totals() for d in directions}
    by_role = {role: Totals() for role in AUTHOR_ROLES}
    for row in cube:
        totals.add(row)
        weeks.setdefault(dt.date.fromisoformat(row.week), Totals()).add(row)
        by_direction.setdefault(row.direction_id, Totals()).add(row)
        by_role.setdefault(row.author_role, Totals()).add(row)
    shown = [d for d in directions if not filters.direction or d.slug == filters.direction]
    return Dashboard(
        filters=filters, directions=directions, totals=totals, cube=cube,
        weeks=sorted(weeks.items()),
        by_direction=[(d, by_direction[d.id]) for d in shown if by_direction[d.id].submitted or not d.archived],
        by_role=[(role, t) for role, t in by_role.items() if not filters.role or role == filters.role],
        decisions=[DecisionTime(a, DECISION_LABELS[a], len(hours.get(a, [])), median(hours.get(a, [])))
                   for a in store.DECISION_ACTIONS],
        queue=_queue(waiting), balance=_balance(printed, targets), targets=targets,
    )  # fmt: skip


def _queue(waiting: list[float]) -> Queue:
    counts, lower = [], 0.0
    for label, upper in QUEUE_BUCKETS:
        counts.append((label, sum(1 for h in waiting if lower <= h < upper)))
        lower = upper
    return Queue(len(waiting), median(waiting), waiting[-1] if waiting else None, tuple(counts))


def _balance(printed: dict[str, int], targets: dict[str, int]) -> list[VoiceShare]:
    by_voice = dict.fromkeys(VOICE_LABELS, 0)
    for role, n in printed.items():
        by_voice[voice_of(role)] += n
    total = sum(by_voice.values())
    goal = {**targets, "other": max(0, 100 - sum(targets.values()))}
    return [VoiceShare(voice, label, by_voice[voice], by_voice[voice] / total if total else None, goal[voice])
            for voice, label in VOICE_LABELS.items()]  # fmt: skip


class TargetError(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_targets(raw: Mapping[str, str]) -> dict[str, int]:
    """The editor's target mix: whole per cents for the four voices, at most 100 together (the rest
    is the target of 其他)."""
    targets: dict[str, int] = {}
    for voice in VOICES:
        text = raw.get(voice, "").strip().rstrip("%％")
        if not text.isdigit() or not 0 <= int(text) <= 100:
            raise TargetError(f"「{VOICE_LABELS[voice]}」的目标比例需要是 0–100 的整数。")
        targets[voice] = int(text)
    if sum(targets.values()) > 100:
        raise TargetError(f"四类声音的目标比例合计 {sum(targets.values())}%，不能超过 100%。")
    return targets


async def save_targets(conn: aiosqlite.Connection, targets: dict[str, int], user_id: int, user_name: str) -> None:
    """Store the target mix and record the change in the admin audit trail, before and after."""
    before = await store.voice_targets(conn)
    await store.set_voice_targets(conn, targets, user_id)
    await admin_store.record_audit(conn, actor_id=user_id, actor_name=user_name, action="stats.targets",
                                   target="voice_targets", before=before, after=targets)  # fmt: skip


def status_label(status: str) -> str:
    return STATUS_LABELS.get(Status(status), status) if status in {str(s) for s in Status} else status
