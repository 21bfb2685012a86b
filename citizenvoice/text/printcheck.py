"""Print problems in a text, found the same way for the moderator (as suggestions that never block)
and for the print desk: paragraphs as print sets them, a paragraph break in mid-sentence, doubled
words, half-width punctuation inside Chinese text, a paragraph longer than the paper sets."""

from __future__ import annotations

import re
from dataclasses import dataclass

from citizenvoice.text.charcount import count_print_chars

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\u3000]*\n\s*")
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")
_HAN = "\u3400-\u4dbf\u4e00-\u9fff"
# A paragraph may end on these; one that ends otherwise was probably broken mid-sentence.
PARAGRAPH_ENDINGS = tuple("。！？!?…；;：:”’」』）)》—.")
# The column's paragraphs run 60–150 characters (430–500 in 4–7 paragraphs); past this a paragraph
# is a grey block in a narrow newspaper column and the desk will split it.
PARAGRAPH_MAX_CHARS = 200
# A word of two to four characters written twice in a row ("核电核电"); "一步一步" and the like are
# Chinese style, not typos.
_DOUBLED = re.compile(rf"([{_HAN}]{{2,4}})\1")
_HALF_WIDTH = re.compile(rf"(?<=[{_HAN}])[,;:?!()]|[,;:?!()](?=[{_HAN}])|(?<=[{_HAN}])\.(?![0-9])")
_FULL_WIDTH = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）", ".": "。"}


def paragraphs(body: str) -> list[str]:
    """Split a body at blank lines; a single line break inside a paragraph is joined away.

    Leading spaces (authors often type "　　" as an indent) are dropped: print indents by style.
    """
    result = []
    for block in _PARAGRAPH_BREAK.split(body.replace("\r\n", "\n").strip()):
        lines = [line.strip(" \t\u3000") for line in block.split("\n")]
        text = ""
        for line in filter(None, lines):
            joiner = "" if not text or _CJK.match(text[-1]) or _CJK.match(line[0]) else " "
            text += joiner + line
        if text:
            result.append(text)
    return result


@dataclass(frozen=True)
class SuspectBreak:
    paragraph: int  # 1-based, as the editor counts
    ending: str  # the last words before the break
    following: str  # the first words after it


def suspect_breaks(body: str) -> list[SuspectBreak]:
    """Paragraph breaks that fall inside a sentence: text copied from a narrow column often carries
    the column's line ends as paragraph breaks."""
    parts = paragraphs(body)
    return [
        SuspectBreak(number, text[-12:], parts[number][:12])
        for number, text in enumerate(parts[:-1], start=1)
        if not text.rstrip().endswith(PARAGRAPH_ENDINGS)
    ]


@dataclass(frozen=True)
class PrintFlag:
    kind: str  # doubled | mid_sentence_break | half_width | long_paragraph
    matched: str  # what matched, with a little context
    explanation: str


PRINT_FLAG_LABELS = {
    "doubled": "叠词", "mid_sentence_break": "句中分段", "half_width": "半角标点", "long_paragraph": "段落过长",
}


def _context(text: str, start: int, end: int, span: int = 6) -> str:
    return text[max(0, start - span):end + span]


def print_flags(body: str, *, paragraph_max: int = PARAGRAPH_MAX_CHARS) -> list[PrintFlag]:
    """Every print problem in ``body``, in the order found; suggestions only."""
    flags: list[PrintFlag] = []
    for match in _DOUBLED.finditer(body):
        word = match.group(1)
        if word.startswith("一") or len(set(word)) == 1:  # 一步一步; a run of one character is not a word
            continue
        flags.append(PrintFlag("doubled", _context(body, match.start(), match.end()),
                               f"「{word}」连写了两遍，可能是输入错误。"))  # fmt: skip
    for found in suspect_breaks(body):
        flags.append(PrintFlag("mid_sentence_break", f"……{found.ending}¶{found.following}……",
                               f"第 {found.paragraph} 段结尾没有句末标点：分段可能断在句子中间。"))  # fmt: skip
    for match in _HALF_WIDTH.finditer(body):
        mark = match.group()
        flags.append(PrintFlag("half_width", _context(body, match.start(), match.end(), 4),
                               f"中文里用了半角「{mark}」，见报应为全角「{_FULL_WIDTH[mark]}」。"))  # fmt: skip
    for number, text in enumerate(paragraphs(body), start=1):
        chars = count_print_chars(text)
        if chars > paragraph_max:
            flags.append(PrintFlag("long_paragraph", text[:16] + "……",
                                   f"第 {number} 段 {chars} 字，超过报纸单段约 {paragraph_max} 字的篇幅，见报时需要分段。"))  # fmt: skip
    return flags
