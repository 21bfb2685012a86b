"""Counting characters the way a Chinese newsroom does: by the cells the text fills on the page.

A print budget ("约 500 字") is a number of character cells in a column of Chinese type, so:

* **Every CJK character and every full-width mark counts 1**: 锦, 港, ，, 。, “, ”, —, …, ＡＢＣ (full-width
  letters), emoji. Characters whose East Asian Width is "ambiguous" (quotation marks, em dash,
  ellipsis, middle dot, ×, °) are set full width in a CJK font, so they count 1 too, unless they are
  letters (é, ā in pinyin), which are set narrow.
* **Half-width text counts by its width**: two half-width characters (Latin letters, digits, ASCII
  punctuation, half-width katakana) share one cell, so a run of ``n`` of them counts ``ceil(n / 2)``.
  A run is ended by a full-width character or a line break (the next paragraph starts a new line, so
  half a cell cannot be shared across it).
* **Whitespace counts 0** and spaces and tabs do not end a run either, so adding or removing spaces
  never changes a count: "iPhone 16 Pro" counts like "iPhone16Pro". Invisible characters (format
  characters such as U+200B, controls, combining marks) count 0 as well.

Examples::

    锦州港          3      2025年       2 + 1 = 3      5G基站       1 + 2 = 3
    AI              1      ABC          2              ，。         2
    GDP增长5.5%     2 + 2 + 2 = 6      “十五五”     5              ——           2
    iPhone 16 Pro   6      ABC⏎DEF      2 + 2 = 4      (empty)      0
"""

from __future__ import annotations

import unicodedata

_ZERO_WIDTH_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Mn", "Me", "Zl", "Zp"})
_NARROW_WIDTHS = frozenset({"Na", "H", "N"})
_LINE_BREAKS = frozenset("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")


def _is_half_width(char: str) -> bool:
    width = unicodedata.east_asian_width(char)
    if width in _NARROW_WIDTHS:
        return True
    # Ambiguous-width letters (é, ā, α) are set narrow; ambiguous punctuation takes a full cell.
    return width == "A" and unicodedata.category(char).startswith("L")


def count_print_chars(text: str) -> int:
    """Return the number of print cells ``text`` fills (see the module docstring for the rule)."""
    total = 0
    run = 0  # half-width characters in the current run
    for char in text:
        if char in _LINE_BREAKS:
            total, run = total + (run + 1) // 2, 0
        elif char.isspace() or unicodedata.category(char) in _ZERO_WIDTH_CATEGORIES:
            continue
        elif _is_half_width(char):
            run += 1
        else:
            total, run = total + 1 + (run + 1) // 2, 0
    return total + (run + 1) // 2
