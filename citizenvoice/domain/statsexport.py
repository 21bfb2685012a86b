"""The dashboard's exports: the statistics as CSV and as a workbook, and the filtered essay list as a
workbook. Nothing private leaves: no phone, e-mail, address, IP or tracking code.

CSV is UTF-8 with a byte-order mark, which is what makes Excel on Windows read Chinese as Chinese.
Every text cell of the workbooks is written as text, never as a formula: a headline that starts with
"=" stays a headline.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from citizenvoice.domain.stats import BEIJING, Dashboard, Totals, status_label
from citizenvoice.model.essays import AUTHOR_ROLES, BylineParts, byline
from citizenvoice.store.stats import EssayRow
from citizenvoice.text.charcount import count_print_chars

CUBE_HEADER = ("周（周一）", "方向", "作者身份", "投稿", "发布", "见报", "未采用", "采用率（%）")
ESSAY_HEADER = ("标题", "方向", "作者身份", "署名（见报）", "状态", "投稿时间（北京时间）", "发布时间（北京时间）",
                "见报时间（北京时间）", "字数", "见报版次")  # fmt: skip
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def rate_percent(totals: Totals) -> float | None:
    rate = totals.approval_rate
    return None if rate is None else round(rate * 100, 1)


def cube_rows(board: Dashboard) -> list[tuple[Any, ...]]:
    rows = []
    for row in board.cube:
        totals = Totals()
        totals.add(row)
        rows.append((row.week, board.direction_name(row.direction_id), AUTHOR_ROLES.get(row.author_role, row.author_role),
                     row.submitted, row.published, row.printed, row.rejected, rate_percent(totals)))  # fmt: skip
    return rows


def build_csv(board: Dashboard) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CUBE_HEADER)
    for row in cube_rows(board):
        writer.writerow(["" if value is None else value for value in row])
    return out.getvalue().encode("utf-8-sig")


def _text(sheet: WriteOnlyWorksheet, value: Any, *, bold: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would take "=…" for a formula
    if bold:
        cell.font = Font(bold=True)
    return cell


def _sheet(book: Workbook, title: str, header: Sequence[str], rows: Sequence[Sequence[Any]],
           widths: Sequence[int] = ()) -> None:  # fmt: skip
    sheet = book.create_sheet(title)
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append([_text(sheet, h, bold=True) for h in header])
    for row in rows:
        sheet.append([_text(sheet, value) for value in row])


def _save(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def build_stats_xlsx(board: Dashboard) -> bytes:
    book = Workbook(write_only=True)
    f = board.filters
    direction = next((d.name for d in board.directions if d.slug == f.direction), "全部方向")
    _sheet(book, "筛选条件", ("项目", "值"), [
        ("投稿日期（北京时间）", f"{f.start.isoformat()} 至 {f.end.isoformat()}"), ("方向", direction),
        ("作者身份", AUTHOR_ROLES.get(f.role, "全部身份")),
    ], widths=(22, 40))  # fmt: skip
    weeks = [(w.isoformat(), t.submitted, t.published, t.printed, t.rejected, rate_percent(t)) for w, t in board.weeks]
    _sheet(book, "按周", ("周（周一）", "投稿", "发布", "见报", "未采用", "采用率（%）"), weeks, widths=(14,))
    _sheet(book, "按周×方向×身份", CUBE_HEADER, cube_rows(board), widths=(14, 28, 14))
    decisions = [(d.label, d.count, None if d.median_hours is None else round(d.median_hours, 1))
                 for d in board.decisions]  # fmt: skip
    _sheet(book, "决定用时", ("决定", "篇数", "投稿到决定的中位时长（小时）"), decisions, widths=(12, 8, 30))
    q = board.queue
    queue = [("待审核总数", q.count), ("等待时长中位数（小时）", _round(q.median_hours)),
             ("最久等待（小时）", _round(q.oldest_hours)), *q.buckets]  # fmt: skip
    _sheet(book, "待审队列", ("项目", "篇数或小时"), queue, widths=(24, 14))
    balance = [(v.label, v.printed, None if v.share is None else round(v.share * 100, 1), v.target)
               for v in board.balance]  # fmt: skip
    _sheet(book, "声音平衡", ("声音", "见报篇数", "实际占比（%）", "目标占比（%）"), balance, widths=(14, 10, 14, 14))
    return _save(book)


def _round(hours: float | None) -> float | None:
    return None if hours is None else round(hours, 1)


def _beijing(value: str | None) -> dt.datetime | None:
    """A stored UTC time as a Beijing wall-clock time (Excel has no time zones)."""
    if not value:
        return None
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.astimezone(BEIJING).replace(tzinfo=None, microsecond=0)


def essay_line(row: EssayRow, city: str) -> tuple[Any, ...]:
    printed_byline = row.print_byline or byline(
        BylineParts(row.affiliation, row.author_name, row.byline_mode, row.author_role), city
    )
    chars = row.print_chars if row.print_chars is not None else count_print_chars(row.body)
    return (row.headline, row.direction_name, AUTHOR_ROLES.get(row.author_role, row.author_role), printed_byline,
            status_label(row.status), _beijing(row.submitted_at), _beijing(row.published_at), _beijing(row.printed_at),
            chars, row.printed_edition or "")  # fmt: skip


def build_essays_xlsx(rows: Sequence[EssayRow], city: str) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("文章列表")
    for index, width in enumerate((36, 26, 12, 30, 10, 20, 20, 20, 8, 30)):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append([_text(sheet, h, bold=True) for h in ESSAY_HEADER])
    for row in rows:
        cells = []
        for value in essay_line(row, city):
            cell = _text(sheet, value)
            if isinstance(value, dt.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            cells.append(cell)
        sheet.append(cells)
    return _save(book)
