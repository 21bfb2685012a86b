from __future__ import annotations

import pytest

from citizenvoice.text.charcount import count_print_chars

PARAGRAPHS = "　　2025年，我们社区新装了5G基站。\n\n老人们说：“网速快了，视频通话不卡了。”"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("锦州港", 3),
        ("2025年", 3),  # "2025" is four half-width digits: two cells
        ("5G基站", 3),
        ("AI", 1),
        ("ABC", 2),
        ("A", 1),
        ("，。", 2),
        ("“十五五”", 5),
        ("——", 2),
        ("……", 2),
        ("ＡＢＣ", 3),  # full-width letters take a cell each
        ("GDP增长5.5%", 6),
        ("iPhone 16 Pro", 6),  # spaces do not count and do not split a run
        ("ABC\nDEF", 4),  # a line break ends a run
        ("ABC DEF", 3),
        ("lǜsè发展", 4),  # pinyin letters are narrow
        ("  \n\t\u3000 ", 0),
        ("锦州\u200b港", 3),  # invisible characters count nothing
        ("第1", 2),
        (PARAGRAPHS, 35),
    ],
)
def test_count_print_chars(text: str, expected: int) -> None:
    assert count_print_chars(text) == expected


def test_whitespace_never_changes_the_count() -> None:
    spaced = "我们 在 2025 年 建成 了 5G 基站 ， 覆盖 100% 的 小区 。"
    assert count_print_chars(spaced) == count_print_chars(spaced.replace(" ", ""))


def test_a_full_essay_counts_close_to_its_cjk_length() -> None:
    body = "我在港口工作了十五年。" * 40 + "2030年，吞吐量要翻一番。"
    assert count_print_chars(body) == 11 * 40 + 12
