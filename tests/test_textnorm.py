from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from citizenvoice.text.normalize import (
    normalize_line,
    normalize_text,
    paragraphs,
    strip_invisible,
    visible_length,
)

# Every character the normaliser must remove, named so a failure says which one slipped through.
INVISIBLES = {
    "NUL": "\x00",
    "BEL": "\x07",
    "ESC": "\x1b",
    "DEL": "\x7f",
    "C1 CSI": "\x9b",
    "NEL": "\x85",
    "ZWSP": "\u200b",
    "ZWNJ": "\u200c",
    "ZWJ": "\u200d",
    "word joiner": "\u2060",
    "BOM": "\ufeff",
    "LRM": "\u200e",
    "RLM": "\u200f",
    "ALM": "\u061c",
    "LRE": "\u202a",
    "RLE": "\u202b",
    "PDF": "\u202c",
    "LRO": "\u202d",
    "RLO": "\u202e",
    "LRI": "\u2066",
    "RLI": "\u2067",
    "FSI": "\u2068",
    "PDI": "\u2069",
    "soft hyphen": "\u00ad",
    "lone surrogate": "\ud800",
}


@pytest.mark.parametrize("char", INVISIBLES.values(), ids=INVISIBLES.keys())
def test_invisible_characters_are_removed_from_both_kinds_of_field(char: str) -> None:
    assert normalize_line(f"城市{char}发展") == "城市发展"
    assert normalize_text(f"城市{char}发展") == "城市发展"
    assert strip_invisible(f"a{char}b") == "ab"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("标题\x00含\x07控制符", "标题含控制符"),
        ("admin\u202egnp.exe", "admingnp.exe"),  # a right-to-left override cannot reorder what is shown
        ("敏\u200d感\u200b词", "敏感词"),  # zero-width characters cannot split a screened word
        ("  前后有空格\t ", "前后有空格"),
        ("第一行\r\n第二行\n第三行\r第四行", "第一行 第二行 第三行 第四行"),
        ("a \t\n  b", "a b"),
        ("a\u2028b\u2029c", "a b c"),
        ("a\u00a0\u00a0b", "a b"),
        ("春天里\u3000我们出发", "春天里\u3000我们出发"),
        ("春天里\u3000\u3000\u3000我们出发", "春天里\u3000我们出发"),
        ("春天里 \u3000我们出发", "春天里 我们出发"),  # a mixed run is ordinary spacing
        ("\u3000\u3000标题\u3000", "标题"),
        ("Cafe\u0301", "Café"),
        ("ＡＢＣ１２３，。！（全角）", "ＡＢＣ１２３，。！（全角）"),
        ("", ""),
        (" \t\u3000\n", ""),
    ],
)
def test_normalize_line(raw: str, expected: str) -> None:
    assert normalize_line(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("第一段\r\n第二行\r\n\r\n第二段", "第一段\n第二行\n\n第二段"),
        ("单独的\r回车", "单独的\n回车"),
        ("第一段\n\n\n\n\n\n第二段", "第一段\n\n第二段"),  # five blank lines become one
        ("第一段\n\n\n第二段", "第一段\n\n第二段"),
        ("第一段\n \t \n\u3000\n第二段", "第一段\n\n第二段"),  # lines of spaces are blank lines
        ("行尾有空格   \n下一行\u3000", "行尾有空格\n下一行"),
        ("\n\n  \n  正文\n\n\n", "正文"),
        ("缩进\t之后", "缩进 之后"),
        ("词  与  词", "词  与  词"),  # spacing inside a line is left as typed
        ("e\u0301\u200b", "é"),
        ("ＡＢＣ１２３，。！", "ＡＢＣ１２３，。！"),
        ("\x00\u202e\ufeff", ""),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    assert normalize_text(raw) == expected


def test_stripping_comes_before_composition() -> None:
    # A zero-width space between a letter and its accent must not leave an uncomposed pair behind.
    assert normalize_line("e\u200b\u0301") == "é"
    assert normalize_text("e\u200b\u0301") == "é"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("第一段\n\n第二段", ["第一段", "第二段"]),
        ("第一段第一行\n第一段第二行\n\n第二段", ["第一段第一行\n第一段第二行", "第二段"]),
        ("第一段\r\n\r\n\r\n\r\n第二段\r\n", ["第一段", "第二段"]),
        ("只有一段", ["只有一段"]),
        ("", []),
        (" \n\n \n", []),
    ],
)
def test_paragraphs(raw: str, expected: list[str]) -> None:
    assert paragraphs(raw) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("城市发展", 4),
        ("城市 发展", 4),
        ("Hello 世界!", 8),
        ("AI 让城市更聪明，2025 年。", 15),
        ("第一段\n\n第二段\t\u3000\u00a0", 6),
        ("ＡＢＣ，。", 5),
        ("敏\u200b感", 2),
    ],
)
def test_visible_length(text: str, expected: int) -> None:
    assert visible_length(text) == expected


def _unwanted(text: str, allowed: str) -> list[str]:
    return [ch for ch in text if unicodedata.category(ch) in {"Cc", "Cf", "Cs"} and ch not in allowed]


# Weighted towards the characters the normaliser works on, so the properties meet them often.
_TRICKY = st.sampled_from(
    [*INVISIBLES.values(), "\t", "\n", "\r", "\r\n", " ", "\u3000", "\u00a0", "\u2028", "\u0301", "e", "城"]
)
_TEXTS = st.lists(st.one_of(_TRICKY, st.text(max_size=5)), max_size=30).map("".join)


@given(_TEXTS)
def test_normalize_line_is_idempotent_and_clean(raw: str) -> None:
    once = normalize_line(raw)
    assert normalize_line(once) == once
    assert _unwanted(once, allowed="") == []
    assert once == once.strip()
    assert unicodedata.is_normalized("NFC", once)


@given(_TEXTS)
def test_normalize_text_is_idempotent_and_clean(raw: str) -> None:
    once = normalize_text(raw)
    assert normalize_text(once) == once
    assert _unwanted(once, allowed="\n") == []
    assert "\n\n\n" not in once
    assert all(line == line.rstrip() for line in once.split("\n"))
    assert unicodedata.is_normalized("NFC", once)


@given(_TEXTS)
def test_normalising_never_changes_the_visible_length_of_clean_text(raw: str) -> None:
    # Normalisation only removes invisible characters and rearranges whitespace, so the count the
    # length rules use is the same before and after, and equal for both kinds of field.
    assert visible_length(normalize_text(raw)) == visible_length(normalize_line(raw))
    assert visible_length(normalize_line(raw)) == visible_length(
        unicodedata.normalize("NFC", strip_invisible(raw))
    )
