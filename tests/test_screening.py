"""Screening as a moderator meets it: which words and personal data get flagged, where, and why."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citizenvoice.domain.screening import (
    DUPLICATE_THRESHOLD,
    REDACTIONS,
    SAMPLE_BANNED,
    SAMPLE_SUSPECT,
    Flag,
    Screener,
    ScreenerCache,
    could_be_near_duplicate,
    detect_pii,
    estimated_similarity,
    highlight_html,
    is_near_duplicate,
    jaccard,
    lsh_band_keys,
    minhash_signature,
    redact,
    shingles,
    signature_from_bytes,
    signature_of_shingles,
    signature_to_bytes,
    valid_id_number,
)

BANNED = (*SAMPLE_BANNED, "网络赌博", "dubo")
SUSPECT = (*SAMPLE_SUSPECT, "vx")
SCREENER = Screener(BANNED, SUSPECT)

VALID_ID = "11010519491231002X"
VALID_ID_2 = "440308199901010012"


def found(text: str) -> list[tuple[str, str, str]]:
    """(kind, matched, term) of every flag, after checking each span slices the original text."""
    flags = SCREENER.screen(text).flags
    for flag in flags:
        assert text[flag.start : flag.end] == flag.matched
    return [(f.kind, f.matched, f.term) for f in flags]


# ---------------------------------------------------------------------------------------------------
# Words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("有人在小区里组织赌博，影响很坏。", [("banned", "赌博", "赌博")]),
        ("街头的小广告写着办证两个字", [("banned", "办证", "办证")]),
        ("他说买六合彩能发财", [("banned", "六合彩", "六合彩")]),
        ("有兴趣的加微信详聊", [("suspect", "加微信", "加微信")]),
        ("这是全市最好的早餐店", [("suspect", "最好的", "最好的")]),
        ("网络赌博害人", [("banned", "网络赌博", "网络赌博"), ("banned", "赌博", "赌博")]),
    ],
)
def test_plain_words_match_mid_sentence(text: str, expected: list[tuple[str, str, str]]) -> None:
    assert sorted(found(text)) == sorted(expected)


@pytest.mark.parametrize(
    ("text", "matched", "term"),
    [
        ("他们在楼下赌 博到深夜", "赌 博", "赌博"),
        ("他们在楼下赌*博到深夜", "赌*博", "赌博"),
        ("他们在楼下赌，博到深夜", "赌，博", "赌博"),
        ("他们在楼下赌\u3000博到深夜", "赌\u3000博", "赌博"),
        ("他们在楼下赌\u200b博到深夜", "赌\u200b博", "赌博"),  # zero-width space
        ("他们在楼下赌\u0301博到深夜", "赌\u0301博", "赌博"),  # stacked combining mark
        ("他们在楼下赌🎲博到深夜", "赌🎲博", "赌博"),
        ("有人在群里搞ＤＵＢＯ", "ＤＵＢＯ", "dubo"),
        ("有人在群里搞DuBo", "DuBo", "dubo"),
        ("有人在群里搞 d-u-b-o 活动", "d-u-b-o", "dubo"),
        ("想了解的加ＶＸ", "ＶＸ", "vx"),
        ("想了解的加 微 信", "加 微 信", "加微信"),
    ],
)
def test_obfuscated_words_match_and_span_the_original(text: str, matched: str, term: str) -> None:
    [(kind, got, got_term)] = found(text)
    assert (got, got_term) == (matched, term)
    assert kind == ("banned" if term in BANNED else "suspect")


@pytest.mark.parametrize(
    "text",
    [
        "我们社区新建了图书馆和博物馆，周末带孩子去参观，收获很大。",
        "他赌气地走进了博物馆。",  # 赌 and 博 present, but not together
        "希望公交线路能延伸到新城区，方便老人就医。",
        "The VxWorks kernel and the dubois family",  # Latin keywords must not match inside words
        "他从不赌\n博物馆那天也没开门",  # a line break is not an inserted separator
        "",
    ],
)
def test_clean_text_is_not_flagged(text: str) -> None:
    assert found(text) == []
    assert not SCREENER.screen(text).high_risk


def test_banned_is_high_risk_and_suspect_is_not() -> None:
    suspect_only = SCREENER.screen("本店包过，欢迎加微信。")
    assert suspect_only.kinds == {"suspect"}
    assert not suspect_only.high_risk
    both = SCREENER.screen("本店包过，还有博彩。")
    assert both.kinds == {"suspect", "banned"}
    assert both.high_risk


def test_explanations_name_the_list_and_the_original_spelling() -> None:
    [plain] = SCREENER.screen("禁止赌博").flags
    assert plain.explanation == "命中禁用词「赌博」（禁用词表）"
    [hidden] = SCREENER.screen("禁止赌，博").flags
    assert hidden.explanation.startswith("命中禁用词「赌博」（禁用词表；原文写作「赌，博」")
    [suspect] = SCREENER.screen("稳赚不赔").flags
    assert suspect.explanation.startswith("命中可疑词「稳赚」（可疑词表")


def test_word_in_both_lists_counts_as_banned_and_punctuation_only_words_are_ignored() -> None:
    screener = Screener(banned=["赌博", "！！"], suspect=["赌博", "代办", "  "])
    assert [(f.kind, f.term) for f in screener.screen("代办赌博").flags] == [
        ("suspect", "代办"),
        ("banned", "赌博"),
    ]
    assert Screener([], []).screen("任何文字 13800138000").kinds == {"phone"}


def test_every_occurrence_is_flagged() -> None:
    assert [f.start for f in SCREENER.screen("赌博，还是赌博").flags] == [0, 5]


# ---------------------------------------------------------------------------------------------------
# The cache


def test_cache_rebuilds_only_when_the_version_changes() -> None:
    loads: list[int] = []

    def load() -> tuple[list[str], list[str]]:
        loads.append(1)
        return ["赌博"], ["代办"]

    cache = ScreenerCache()
    first = cache.get_or_build(1, load)
    assert cache.get_or_build(1, load) is first
    assert len(loads) == 1
    second = cache.get_or_build(2, load)
    assert second is not first and len(loads) == 2
    assert cache.get(1) is None and cache.get(2) is second


def test_cache_keeps_the_newer_screener_when_an_older_load_finishes_late() -> None:
    cache = ScreenerCache()
    newer = cache.install(5, ["赌博"], [])
    late = cache.install(4, [], [])
    assert late is not newer
    assert cache.get(5) is newer and cache.version == 5


def test_cache_holds_a_screener_with_empty_lists() -> None:
    cache = ScreenerCache()
    empty = cache.install(1, [], [])
    assert cache.get(1) is empty
    assert (cache.get(1) or cache.install(1, ["x"], [])) is empty


# ---------------------------------------------------------------------------------------------------
# Personal data


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我的电话13800138000，欢迎来电", [("phone", "13800138000")]),
        ("电话：138-0013-8000", [("phone", "138-0013-8000")]),
        ("电话 138 0013 8000 白天打", [("phone", "138 0013 8000")]),
        ("电话+86 139 1234 5678", [("phone", "+86 139 1234 5678")]),
        ("电话１３９１２３４５６７８", [("phone", "１３９１２３４５６７８")]),
        ("订单号813800138000，不是电话", []),  # inside a longer digit run
        ("编号13800138000123", []),
        ("卡号 6222-13800138000", []),
        ("号码12800138000不是手机", []),  # 12x is not a mobile prefix
        (f"身份证{VALID_ID}", [("id_number", VALID_ID)]),
        (f"身份证号 {VALID_ID.lower()} 已登记", [("id_number", VALID_ID.lower())]),
        (f"号码{VALID_ID_2}", [("id_number", VALID_ID_2)]),
        ("身份证110101199003071234", []),  # checksum should be 3
        ("流水号123456789012345678", []),  # random digits: bad date and checksum
        ("邮箱 zhang.san@example.com.cn 欢迎来信", [("email", "zhang.san@example.com.cn")]),
        ("联系ab_c+1@qq.com。", [("email", "ab_c+1@qq.com")]),
        ("详见https://example.com/a?b=1&c=2。", [("url", "https://example.com/a?b=1&c=2")]),
        (
            "网址 http://news.example.org/2024/05/a.html, 谢谢",
            [("url", "http://news.example.org/2024/05/a.html")],
        ),
        ("访问www.example.cn了解", [("url", "www.example.cn")]),
        ("访问example.com/path了解", [("url", "example.com/path")]),
        ("用163.com的邮箱", [("url", "163.com")]),
        ("Node.js 版本 1.2.3，圆周率 3.14，e.g. 和 a.m. 都不是网址", []),
        ("文件名 report.docx 和 README.md", []),
    ],
)
def test_personal_data_kinds(text: str, expected: list[tuple[str, str]]) -> None:
    flags = detect_pii(text)
    assert [(f.kind, f.matched) for f in flags] == expected
    assert all(text[f.start : f.end] == f.matched for f in flags)
    assert SCREENER.screen(text).pii == flags


@pytest.mark.parametrize(
    ("number", "valid"),
    [(VALID_ID, True), (VALID_ID_2, True), ("11010519491231002Y", False), ("110105194913310028", False)],
)
def test_id_number_checksum_and_birth_date(number: str, valid: bool) -> None:
    assert valid_id_number(number) is valid


def test_phone_explanation_names_the_pattern() -> None:
    [flag] = detect_pii("13912345678")
    assert flag.term == "手机号码"
    assert flag.explanation == "疑似手机号码（模式：1[3-9] 开头的 11 位号码）"


# ---------------------------------------------------------------------------------------------------
# Redaction


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("请打138-0013-8000找我", "请打〔已隐去手机号〕找我"),
        (f"身份证{VALID_ID}。", "身份证〔已隐去身份证号〕。"),
        ("写信到a@qq.com或看www.x.com", "写信到〔已隐去邮箱〕或看〔已隐去网址〕"),
        ("链接http://a.com/?tel=13800138000结束", "链接〔已隐去网址〕结束"),  # overlapping: one placeholder
        ("没有个人信息的一段话。\n\n第二段。", "没有个人信息的一段话。\n\n第二段。"),
    ],
)
def test_redact_replaces_personal_data_only(text: str, expected: str) -> None:
    assert redact(text, SCREENER.screen(text).flags) == expected


def test_redact_ignores_word_flags_and_keeps_the_rest_identical() -> None:
    text = "赌博\r\n  电话13800138000　全角空格"
    assert redact(text, SCREENER.screen(text).flags) == "赌博\r\n  电话〔已隐去手机号〕　全角空格"


def test_redact_merges_hand_made_overlapping_flags() -> None:
    text = "abcdefgh"
    flags = [
        Flag("email", 1, 4, "bcd", "电子邮箱", ""),
        Flag("phone", 3, 6, "def", "手机号码", ""),
        Flag("url", 6, 7, "g", "网址", ""),
    ]
    assert redact(text, flags) == f"a{REDACTIONS['email']}{REDACTIONS['url']}h"


def test_redact_refuses_flags_from_another_text() -> None:
    with pytest.raises(ValueError):
        redact("电话13800138000", detect_pii("手机号13800138000"))


# ---------------------------------------------------------------------------------------------------
# Highlighting


class _Marks(HTMLParser):
    """Collects (class, title, text) of every <mark>, and any other tag that should not be there."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.marks: list[tuple[str, str, str]] = []
        self.other_tags: list[str] = []
        self._open: dict[str, str] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "mark":
            self.other_tags.append(tag)
            return
        self._open, self._text = {k: v or "" for k, v in attrs}, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "mark" and self._open is not None:
            self.marks.append((self._open["class"], self._open["title"], "".join(self._text)))
            self._open = None
        elif tag != "mark":
            self.other_tags.append("/" + tag)

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)


def parse_marks(markup: str) -> _Marks:
    parser = _Marks()
    parser.feed(markup)
    parser.close()
    return parser


def test_highlight_escapes_script_and_marks_flags() -> None:
    text = '<script>alert("赌博")</script> & 电话13800138000'
    markup = highlight_html(text, SCREENER.screen(text).flags)
    assert "<script>" not in markup
    parsed = parse_marks(markup)
    assert parsed.other_tags == []
    assert [(c, t) for c, _, t in parsed.marks] == [
        ("flag flag-banned", "赌博"),
        ("flag flag-phone", "13800138000"),
    ]
    assert html.unescape(re.sub(r"</?mark[^>]*>", "", markup)) == text


def test_highlight_escapes_quotes_in_the_title() -> None:
    screener = Screener(["赌\"'><&博"], [])  # the punctuation folds away; the term keeps it
    text = "我们反对赌博"
    [flag] = screener.screen(text).flags
    markup = highlight_html(text, [flag])
    parsed = parse_marks(markup)
    assert parsed.other_tags == []
    assert parsed.marks == [("flag flag-banned", flag.explanation, "赌博")]
    assert "&quot;&#x27;&gt;&lt;&amp;" in markup


def test_highlight_overlaps_are_cut_and_coloured_by_the_most_serious_flag() -> None:
    screener = Screener(banned=["赌博"], suspect=["博彩票", "彩票"])
    text = "不要赌博彩票"
    markup = highlight_html(text, screener.screen(text).flags)
    marks = parse_marks(markup).marks
    assert [(cls, body) for cls, _, body in marks] == [
        ("flag flag-banned", "赌"),
        ("flag flag-banned", "博"),
        ("flag flag-suspect", "彩票"),
    ]
    assert "「赌博」" in marks[1][1] and "「博彩票」" in marks[1][1]
    assert markup == highlight_html(text, reversed(screener.screen(text).flags))  # order does not matter


def test_highlight_keeps_newlines_and_never_opens_a_mark_across_lines() -> None:
    text = "第一段 http://a.com/x\n\n第二段"
    flags = [*detect_pii(text), Flag("suspect", 2, 10, text[2:10], "测", "跨段")]
    markup = highlight_html(text, flags)
    for line in markup.split("\n"):
        assert line.count("<mark") == line.count("</mark>")
    assert markup.count("\n") == 2


def test_highlight_skips_stale_flags() -> None:
    assert highlight_html("新的文字", detect_pii("电话13800138000")) == "新的文字"


# ---------------------------------------------------------------------------------------------------
# Near-duplicates

ESSAY = """城市的发展离不开每一位市民的参与。过去五年，我们的街道变宽了，公园变多了，地铁也通到了家门口。
但是，老旧小区的改造仍然是很多居民最关心的问题。我住的小区建于上世纪八十年代，没有电梯，管道老化，停车位严重不足。
每到雨季，楼道里就会渗水，老人上下楼十分不便。希望在下一个五年里，政府能够加快老旧小区加装电梯的进度。
同时，社区养老服务也需要加强。很多老人白天独自在家，吃饭和看病都成问题。如果每个社区都能有一个日间照料中心，
子女上班也能更安心。另外，孩子们放学后缺少安全的活动场所，希望学校和社区能够开放更多的运动场地。
交通方面，早晚高峰的拥堵依然严重，公交车准点率不高。建议优化公交线路，增加社区微循环巴士，方便居民出行。
教育方面，家门口的好学校还是太少，很多家长为了孩子上学要跑很远的路。希望新建的学校能尽快投入使用，师资也能均衡配置。
环境方面，这几年河道治理很有成效，河水清了，岸边也修了步道，晚上散步的人越来越多，这是大家看得见的变化。
最后，我希望城市在发展的同时，能够保留更多的老街巷和历史建筑，让我们的城市既有现代的活力，也有历史的记忆。"""

EDITED = ESSAY.replace(
    "每到雨季，楼道里就会渗水，老人上下楼十分不便。", "一到下雨天，楼道就漏水，老人出门很困难。"
).replace(
    "交通方面，早晚高峰的拥堵依然严重，公交车准点率不高。", "出行方面，上下班时段还是很堵，公交常常晚点。"
)

UNRELATED = """我是一名外卖骑手，每天在城里跑二十多个小时的单子。我最大的愿望是城市能给我们这样的劳动者多一些关照。
比如在商圈设置骑手休息站，夏天有地方喝口水、充个电，冬天有地方避避风。很多写字楼不让电动车进入，
我们只能在门口等很久。希望物业和平台能一起想办法，设计更合理的取送餐点。也希望交警在执法时多一些耐心，
我们也想安全驾驶，可平台的配送时间实在太紧。新的五年，愿每一个奔波的人都能被这座城市温柔以待。"""


def test_edited_essay_is_a_near_duplicate_found_through_band_keys() -> None:
    assert jaccard(ESSAY, EDITED) >= DUPLICATE_THRESHOLD
    assert is_near_duplicate(ESSAY, EDITED)
    sig_a, sig_b = minhash_signature(ESSAY), minhash_signature(EDITED)
    assert set(lsh_band_keys(sig_a)) & set(lsh_band_keys(sig_b))
    assert estimated_similarity(sig_a, sig_b) >= 0.6


def test_unrelated_essay_is_not_a_duplicate_nor_a_candidate() -> None:
    assert jaccard(ESSAY, UNRELATED) < 0.1
    sig_a, sig_b = minhash_signature(ESSAY), minhash_signature(UNRELATED)
    assert not set(lsh_band_keys(sig_a)) & set(lsh_band_keys(sig_b))
    assert estimated_similarity(sig_a, sig_b) < 0.2


def test_reformatting_does_not_hide_a_copy() -> None:
    reformatted = ESSAY.replace("，", ", ").replace("。", ".\n\n")
    assert jaccard(ESSAY, reformatted) == 1.0
    assert minhash_signature(ESSAY) == minhash_signature(reformatted)


def test_shingles_use_the_skeleton() -> None:
    assert shingles("城市，发展 好") == {"城市发", "市发展", "发展好"}
    assert shingles("好城") == {"好城"}
    assert shingles("！！ ") == frozenset()


def test_empty_texts_are_never_duplicates() -> None:
    assert jaccard("", "") == 0.0
    empty = minhash_signature("。。。")
    assert lsh_band_keys(empty) == []
    assert estimated_similarity(empty, empty) == 0.0


def test_signature_round_trips_through_bytes() -> None:
    sig = minhash_signature(ESSAY)
    data = signature_to_bytes(sig)
    assert len(data) == 8 * 64
    assert signature_from_bytes(data) == sig
    with pytest.raises(ValueError):
        signature_from_bytes(data[:-1])


def _sig(text: str) -> bytes:
    return signature_to_bytes(minhash_signature(text))


def test_the_signature_check_leaves_near_duplicates_open_and_rules_out_unrelated_texts() -> None:
    assert could_be_near_duplicate(_sig(ESSAY), _sig(EDITED))
    assert could_be_near_duplicate(_sig(ESSAY), _sig(ESSAY))
    assert not could_be_near_duplicate(_sig(ESSAY), _sig(UNRELATED))
    assert not could_be_near_duplicate(_sig("。。。"), _sig("！！"))  # no shingles: nobody's duplicate
    with pytest.raises(ValueError):
        could_be_near_duplicate(_sig(ESSAY), _sig(ESSAY)[:-8])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(ESSAY) - 1), st.sampled_from("椿楸桦榆柳桐")), max_size=40))
def test_no_pair_at_or_above_the_threshold_is_ruled_out_by_its_signatures(edits: list[tuple[int, str]]) -> None:
    """The signature check may only drop candidates that cannot reach 80 %: link semantics stay exact."""
    chars = list(ESSAY)
    for index, char in edits:
        chars[index] = char
    edited = "".join(chars)
    if jaccard(ESSAY, edited) >= DUPLICATE_THRESHOLD:
        assert could_be_near_duplicate(_sig(ESSAY), _sig(edited))


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="城市发展好港口灯光，。 \n\u200bＡaB1", max_size=80))
def test_signature_of_shingles_equals_the_plain_hash_formula(text: str) -> None:
    """The batched shingle hashing must give the values stored band keys were made with."""
    from citizenvoice.domain.screening import _EMPTY, _MERSENNE, _min_hashes, _stable_hash

    plain = [_stable_hash(s.encode(), b"cv-shingle") % _MERSENNE for s in shingles(text)]
    expected = _min_hashes(plain, 64) if plain else (_EMPTY,) * 64
    assert signature_of_shingles(shingles(text)) == expected == minhash_signature(text)


def test_band_keys_shape() -> None:
    keys = lsh_band_keys(minhash_signature(ESSAY), bands=16)
    assert len(keys) == 16 and len(set(keys)) == 16
    assert keys[3].startswith("03:")
    with pytest.raises(ValueError):
        lsh_band_keys(minhash_signature(ESSAY), bands=5)


def test_signature_is_identical_across_processes() -> None:
    code = "from citizenvoice.domain.screening import minhash_signature as m; import sys; print(m(sys.argv[1]))"
    root = str(Path(__file__).resolve().parents[1])
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": root}
        run = subprocess.run(
            [sys.executable, "-c", code, ESSAY], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(run.stdout)
    assert outputs == {f"{minhash_signature(ESSAY)}\n"}


# ---------------------------------------------------------------------------------------------------
# Properties

_ALPHABET = st.sampled_from(
    list("赌博彩加微信代办包过网络刷单最好的城市发展 \u3000，。*-—\n\r\t<>&\"'@.:/_+0123456789１３８xXaAｖＶ")
    + ["\u200b", "\u0301", "🎲", "com", "www.", "http://", "13800138000", VALID_ID, "a@qq.com"]
)
texts = st.lists(_ALPHABET, max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_every_flag_slices_the_original_text(text: str) -> None:
    for flag in SCREENER.screen(text).flags:
        assert 0 <= flag.start < flag.end <= len(text)
        assert text[flag.start : flag.end] == flag.matched
        assert "\n" not in flag.matched


@settings(max_examples=300, deadline=None)
@given(texts)
def test_the_quick_hints_never_hide_personal_data(text: str) -> None:
    """detect_pii runs a pattern only when its hint is present; the answer must be the patterns' own."""
    from citizenvoice.domain.screening import _EMAIL_RE, _ID_RE, _PHONE_RE, _pii_flag, _sorted, _urls

    plain = [_pii_flag("phone", text, *m.span()) for m in _PHONE_RE.finditer(text)]
    plain += [_pii_flag("id_number", text, *m.span()) for m in _ID_RE.finditer(text) if valid_id_number(m[0])]
    plain += [_pii_flag("email", text, *m.span()) for m in _EMAIL_RE.finditer(text)]
    plain += _urls(text)
    assert detect_pii(text) == _sorted(plain)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_redaction_leaves_no_detected_phone_and_nothing_else_changes(text: str) -> None:
    redacted = redact(text, detect_pii(text))
    assert not any(f.kind == "phone" for f in detect_pii(redacted))
    if not detect_pii(text):
        assert redacted == text


@settings(max_examples=300, deadline=None)
@given(texts)
def test_highlight_cannot_inject_markup(text: str) -> None:
    markup = highlight_html(text, SCREENER.screen(text).flags)
    assert parse_marks(markup).other_tags == []
    assert html.unescape(re.sub(r"</?mark[^>]*>", "", markup)) == text


_M61 = (1 << 61) - 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.sampled_from([0, 1, 2, _M61 - 1, _M61 - 2, (1 << 32) - 1, 1 << 32]),
                          st.integers(0, _M61 - 1)), min_size=1, max_size=40))
def test_vectorised_minhash_equals_the_plain_formula(hashes: list[int]) -> None:
    """Stored band keys were made with min((a·x + b) mod 2^61−1): the numpy version must agree exactly."""
    from citizenvoice.domain.screening import _min_hashes, _permutations

    plain = tuple(min((a * x + b) % _M61 for x in hashes) for a, b in _permutations(64))
    assert _min_hashes(hashes, 64) == plain
