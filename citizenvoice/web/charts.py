"""Server-rendered SVG charts (leather), inlined in the page: no JavaScript, no extra request.

Why leather: it is pure Python with no dependencies, imports in ~25 ms and draws a chart in ~1 ms, and
writes presentation attributes only (no <script>, no <style>), which the site's CSP allows. pygal,
measured on the same machine, took ~250 ms to import (lxml included), ~34 ms a chart and wrote 30 KB
with an inline <script> and <style>: four charts would have spent the page's whole 100 ms budget.

Each chart is an <svg role="img"> named by its <title>; the figure's data table, next to it, is what
a screen reader reads. The viewBox is narrow (360 units) so the text stays legible at 375 px.
"""

from __future__ import annotations

import datetime as dt
import itertools
import xml.etree.ElementTree as ET
from collections.abc import Sequence

import leather
from markupsafe import Markup

WIDTH = 360
RIGHT_PAD = 20
FONT = "'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', sans-serif"
COLORS = ("#1f5fa8", "#c0392b", "#2e7d32", "#6a1b9a", "#ef6c00")

# leather's theme is module-level; the app sets it once, the same for every chart.
_theme = leather.theme
_theme.background_color = "#ffffff"
_theme.title_font_family = _theme.legend_font_family = _theme.axis_title_font_family = FONT
_theme.tick_font_family = FONT
_theme.title_color, _theme.legend_color, _theme.label_color = "#1a1a1a", "#333333", "#444444"
_theme.tick_color, _theme.zero_color = "#e0e0e0", "#767676"
_theme.tick_font_size = _theme.legend_font_size = 12
# Chinese glyphs are square: leather sizes its margins from these estimates.
_theme.tick_font_char_width = _theme.legend_font_char_width = 12
_theme.tick_font_char_height = _theme.legend_font_char_height = 12
_theme.default_series_colors = list(COLORS)
_theme.margin = 0.03

_ids = itertools.count(1)


def _svg(chart: leather.Chart, title: str, height: int) -> Markup:
    title_id = f"chart-title-{next(_ids)}"
    root = ET.Element("svg", {"xmlns": "http://www.w3.org/2000/svg", "viewBox": f"0 0 {WIDTH} {height}",
                              "role": "img", "aria-labelledby": title_id, "class": "chart-svg"})  # fmt: skip
    label = ET.SubElement(root, "title", {"id": title_id})
    label.text = title
    # drawn narrower than the frame: leather lets the last tick label ("100%") overhang its right edge
    root.append(chart.to_svg_group(WIDTH - RIGHT_PAD, height))
    return Markup(ET.tostring(root, encoding="unicode"))  # noqa: S704 -- ElementTree escapes every text and attribute


def _empty(title: str) -> Markup:
    """Nothing to draw (no essay decided yet, say): the frame says so, in the same place."""
    root = ET.Element("svg", {"xmlns": "http://www.w3.org/2000/svg", "viewBox": f"0 0 {WIDTH} 48",
                              "role": "img", "aria-label": f"{title}：暂无数据", "class": "chart-svg"})  # fmt: skip
    text = ET.SubElement(root, "text", {"x": "12", "y": "30", "fill": "#444444", "font-size": "14",
                                        "font-family": FONT})  # fmt: skip
    text.text = "暂无数据"
    return Markup(ET.tostring(root, encoding="unicode"))  # noqa: S704 -- ElementTree escapes every text and attribute


def weekly_lines(title: str, weeks: Sequence[dt.date], series: Sequence[tuple[str, Sequence[int]]]) -> Markup:
    """One line per series over the weeks (submitted, published, printed …)."""
    chart = leather.Chart()
    if len(weeks) < 2:  # a line needs two points: show the single week as columns
        return bars(title, [(name, values[0] if values else 0) for name, values in series])
    chart.add_x_scale(weeks[0], weeks[-1])
    chart.add_x_axis(ticks=_date_ticks(weeks), tick_formatter=lambda d, i, n: f"{d.month}/{d.day}")
    top = max([1, *(v for _, values in series for v in values)])
    chart.add_y_scale(0, top)
    chart.add_y_axis(ticks=_int_ticks(top))
    for (name, values), color in zip(series, COLORS, strict=False):
        chart.add_line(list(zip(weeks, values, strict=True)), name=name, stroke_color=color, width=2)
    return _svg(chart, title, 240)


def bars(title: str, items: Sequence[tuple[str, float]], *, unit: str = "") -> Markup:
    """Horizontal bars, one per item (label, value)."""
    return _bars(title, items, unit=unit, color=COLORS[0])


def paired_bars(title: str, items: Sequence[tuple[str, float, float]], names: tuple[str, str], *,
                unit: str = "") -> Markup:  # fmt: skip
    """Two bars per label, e.g. the actual share (first colour) and its target (second colour)."""
    rows = [(f"{label} {name}", value) for label, *values in items for name, value in zip(names, values, strict=True)]
    second = {f"{label} {names[1]}" for label, *_ in items}
    return _bars(title, rows, unit=unit, color=lambda d: COLORS[1] if d.y in second else COLORS[0])


def _bars(title: str, items: Sequence[tuple[str, float]], *, unit: str, color: object) -> Markup:
    if not items:
        return _empty(title)
    chart = leather.Chart()
    top = max([1.0, *(v for _, v in items)])
    chart.add_x_scale(0, top)
    chart.add_x_axis(ticks=_int_ticks(top), tick_formatter=lambda v, i, n: f"{v:g}{unit}")
    chart.add_bars([(value, label) for label, value in items], fill_color=color)
    return _svg(chart, title, 36 + 24 * len(items))


def _int_ticks(top: float) -> list[float]:
    step = _nice_step(top / 4)
    return [step * i for i in range(int(top // step) + 1)]


def _nice_step(raw: float) -> float:
    if raw <= 1:
        return 1
    magnitude = 10 ** (len(str(int(raw))) - 1)
    for factor in (1, 2, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _date_ticks(weeks: Sequence[dt.date]) -> list[dt.date]:
    every = max(1, len(weeks) // 4)
    return list(weeks[::every])
