"""Screening of submitted essays: banned / suspect words, personal data in the body, near-duplicates.

Everything here is pure (no I/O): callers load the word lists and their version from the database,
keep a `ScreenerCache`, and store flags, redactions and LSH band keys themselves.

Decisions a moderator will notice:

* **Words match on a skeleton.** The text is folded character by character (NFKC + casefold) and
  whitespace, punctuation, symbols and invisible characters are dropped, so 赌博 also matches 赌 博,
  赌*博, 赌，博 and ＤＵＢＯ matches dubo. Keywords are folded the same way. Each skeleton character
  remembers which original character produced it, so every flag carries a span of the ORIGINAL text
  (``text[flag.start:flag.end] == flag.matched``) for highlighting.
* **Line breaks are hard boundaries**: a match never bridges two lines or paragraphs (the end of one
  paragraph and the start of the next are not an obfuscated word), and so no flag contains a newline.
* **Chinese has no word boundaries**, so keywords match anywhere; but a keyword that starts or ends with a
  Latin letter or digit must not be glued to further Latin letters/digits in the text (``vx`` flags
  加vx but not vxworks, ``du`` does not flag "during").
* **A word in both lists counts as banned only**; a list entry that folds to nothing (punctuation only)
  is ignored rather than matching everywhere.
* **Personal data** is found with regular expressions on the original text; the ID number's checksum
  and birth date are checked so that random 18-digit runs are not flagged.
"""

from __future__ import annotations

import html
import re
import struct
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property, lru_cache
from hashlib import blake2b
from itertools import pairwise

import numpy as np
from ahocorasick_rs import AhoCorasick, MatchKind

WORD_KINDS = ("banned", "suspect")
PII_KINDS = ("phone", "id_number", "email", "url")
KINDS = frozenset(WORD_KINDS + PII_KINDS)

# The same lists as migrations/0004_screening.sql seeds; admins replace them in /admin.
SAMPLE_BANNED: tuple[str, ...] = (
    "赌博", "博彩", "六合彩", "代开发票", "办证", "枪支", "毒品", "裸聊", "网络刷单", "传销",
)  # fmt: skip
SAMPLE_SUSPECT: tuple[str, ...] = (
    "加微信", "加我微信", "代办", "包过", "最好的", "第一品牌", "稳赚", "免费领取",
    "投诉", "举报", "曝光", "维权",
)  # fmt: skip

REDACTIONS: dict[str, str] = {
    "phone": "〔已隐去手机号〕",
    "id_number": "〔已隐去身份证号〕",
    "email": "〔已隐去邮箱〕",
    "url": "〔已隐去网址〕",
}

# When flags overlap, the one shown first (and whose kind colours the <mark>) is the most serious.
_PRIORITY = {"banned": 0, "id_number": 1, "phone": 2, "email": 3, "url": 4, "suspect": 5}


@dataclass(frozen=True)
class Flag:
    """One finding, explainable on its own: what matched, where, and why it matters."""

    kind: str
    start: int
    end: int
    matched: str  # text[start:end] of the original text
    term: str  # the list word that matched, or the name of the personal-data pattern
    explanation: str  # Chinese, shown to moderators as is

    def __post_init__(self) -> None:
        # kind ends up in an HTML class attribute, so only known kinds may exist at all.
        if self.kind not in KINDS:
            raise ValueError(f"unknown flag kind {self.kind!r}")
        if not 0 <= self.start <= self.end:
            raise ValueError(f"bad span {self.start}..{self.end}")

    @property
    def is_pii(self) -> bool:
        return self.kind in REDACTIONS


@dataclass(frozen=True)
class ScreeningResult:
    flags: tuple[Flag, ...]

    @property
    def high_risk(self) -> bool:
        """True iff a banned word matched: such essays must not go out without a moderator's look."""
        return any(flag.kind == "banned" for flag in self.flags)

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(flag.kind for flag in self.flags)

    @property
    def pii(self) -> tuple[Flag, ...]:
        return tuple(flag for flag in self.flags if flag.is_pii)


def _sorted(flags: Iterable[Flag]) -> tuple[Flag, ...]:
    return tuple(sorted(flags, key=lambda f: (f.start, f.end, _PRIORITY[f.kind], f.term)))


# ---------------------------------------------------------------------------------------------------
# The skeleton: folded text without separators, mapped back to the original


_BREAK = "\n"  # stands for a line break in the skeleton; no folded keyword contains it
_LINE_BREAKS = frozenset("\n\r\v\f\x85\u2028\u2029")


def _kept(ch: str) -> bool:
    # Drop punctuation (P), symbols (S, emoji included), separators (Z), controls and format characters
    # (C, zero-width ones included) and combining marks (M), which can be stacked on a Chinese character
    # to hide it from a plain match.
    return unicodedata.category(ch)[0] not in "PSZCM"


@lru_cache(maxsize=65536)
def _fold_char(ch: str) -> str:
    if ch in _LINE_BREAKS:
        return _BREAK
    return "".join(c for c in unicodedata.normalize("NFKC", ch).casefold() if _kept(c))


@dataclass(frozen=True)
class Skeleton:
    source: str
    text: str

    @cached_property
    def owners(self) -> tuple[int, ...]:
        """owners[i]: index in the original text of the char that produced text[i]. Built only when a
        match needs its span: most texts match nothing, and this is the slow, per-character part."""
        owners: list[int] = []
        for index, ch in enumerate(self.source):
            owners.extend([index] * len(_fold_char(ch)))
        return tuple(owners)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original-text span covering skeleton characters start..end (end exclusive, end > start)."""
        return self.owners[start], self.owners[end - 1] + 1


# ord(ch) -> _fold_char(ch), or None where it folds to nothing: a table for str.translate, which folds a
# whole text at C speed. It grows with the characters seen (a few thousand in Chinese prose).
_FOLD_TABLE: dict[int, str | None] = {}
_FOLDED_CHARS: set[str] = set()  # the characters in _FOLD_TABLE, for a set difference at C speed
_FOLD_TABLE_MAX = 200_000


def _fold_text(text: str) -> str:
    """"".join(_fold_char(ch) for ch in text), without a Python loop over the characters."""
    missing = set(text).difference(_FOLDED_CHARS)
    if missing:
        if len(_FOLD_TABLE) + len(missing) > _FOLD_TABLE_MAX:
            _FOLD_TABLE.clear()  # only a text made to cover all of Unicode gets here
            _FOLDED_CHARS.clear()
        for ch in missing:
            _FOLD_TABLE[ord(ch)] = _fold_char(ch) or None
        _FOLDED_CHARS.update(missing)
    return text.translate(_FOLD_TABLE)


# Screening a submission folds its body twice (word matching, then duplicate shingles): remember the
# last few. Skeletons are immutable, so sharing one is safe.
@lru_cache(maxsize=8)
def skeleton(text: str) -> Skeleton:
    """Fold character by character, so every skeleton character has exactly one original owner."""
    return Skeleton(text, _fold_text(text))


def fold_word(word: str) -> str:
    """A list word as the automaton sees it; "" means the word can never match."""
    return skeleton(word).text.replace(_BREAK, "")


def _is_latin_alnum(ch: str) -> bool:
    folded = _fold_char(ch)
    return folded.isascii() and folded.isalnum()


def _glued_to_latin(text: str, start: int, end: int) -> bool:
    """True if a match begins or ends in the middle of a run of Latin letters/digits."""
    before = start > 0 and _is_latin_alnum(text[start - 1]) and _is_latin_alnum(text[start])
    after = end < len(text) and _is_latin_alnum(text[end]) and _is_latin_alnum(text[end - 1])
    return before or after


# ---------------------------------------------------------------------------------------------------
# Word lists


def _word_explanation(kind: str, term: str, matched: str) -> str:
    if kind == "banned":
        base = f"命中禁用词「{term}」（禁用词表"
    else:
        base = f"命中可疑词「{term}」（可疑词表，请人工复核"
    if matched != term:
        base += f"；原文写作「{matched}」，已忽略间隔的空格、标点与全半角、大小写差异"
    return base + "）"


def _word_entries(banned: Iterable[str], suspect: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Folded pattern -> (kind, term as the admin wrote it); banned first, so banned wins ties."""
    entries: dict[str, tuple[str, str]] = {}
    for kind, words in (("banned", banned), ("suspect", suspect)):
        for word in words:
            pattern = fold_word(word)
            if pattern and pattern not in entries:
                entries[pattern] = (kind, word.strip())
    return entries


class Screener:
    """The word lists compiled into one Aho–Corasick automaton. Build once per list version.

    Deliberately without ``__len__``: a screener with empty lists must still be truthy, so that
    ``cache.get(v) or cache.install(...)`` does not rebuild on every request.
    """

    __slots__ = ("banned", "suspect", "_entries", "_automaton")

    def __init__(self, banned: Iterable[str], suspect: Iterable[str]) -> None:
        self.banned = tuple(banned)
        self.suspect = tuple(suspect)
        entries = _word_entries(self.banned, self.suspect)
        self._entries = tuple(entries.values())
        # Standard match kind is the only one that reports overlapping matches, so 网络赌博 yields both
        # 网络赌博 and 赌博 when both are listed: each flag explains itself.
        self._automaton = AhoCorasick(list(entries), matchkind=MatchKind.Standard, store_patterns=False)

    def match_words(self, text: str) -> tuple[Flag, ...]:
        skel = skeleton(text)
        flags: list[Flag] = []
        for index, s, e in self._automaton.find_matches_as_indexes(skel.text, overlapping=True):
            start, end = skel.span(s, e)
            if _glued_to_latin(text, start, end):
                continue
            kind, term = self._entries[index]
            matched = text[start:end]
            flags.append(Flag(kind, start, end, matched, term, _word_explanation(kind, term, matched)))
        return _sorted(flags)

    def screen(self, text: str) -> ScreeningResult:
        return ScreeningResult(_sorted(self.match_words(text) + detect_pii(text)))


class ScreenerCache:
    """The current Screener and the list version it was built from; rebuilds only on a new version.

    Async callers: ``cache.get(v) or cache.install(v, **await wordlists.load_words(conn))``.
    """

    def __init__(self) -> None:
        # One tuple, replaced in a single assignment, so readers never see a version/screener mismatch.
        self._current: tuple[int, Screener] | None = None

    @property
    def version(self) -> int | None:
        return self._current[0] if self._current else None

    def get(self, version: int) -> Screener | None:
        current = self._current
        return current[1] if current and current[0] == version else None

    def install(self, version: int, banned: Iterable[str], suspect: Iterable[str]) -> Screener:
        screener = Screener(banned, suspect)
        # Versions only grow; a slow request that loaded an older list must not replace a newer one.
        if self._current is None or version >= self._current[0]:
            self._current = (version, screener)
        return screener

    def get_or_build(self, version: int, load: Callable[[], tuple[Iterable[str], Iterable[str]]]) -> Screener:
        """For synchronous callers: ``load`` returns (banned, suspect) and runs only on a new version."""
        return self.get(version) or self.install(version, *load())


# ---------------------------------------------------------------------------------------------------
# Personal data


_D = "[0-9０-９]"  # full-width digits are as readable to a reader as ASCII ones
_SEP = "[-－ \u3000]?"
_PHONE_RE = re.compile(
    # Not preceded or followed by a digit (or digit-hyphen): then it is part of a longer number.
    rf"(?<!{_D})(?<!{_D}[-－])(?:(?:[+＋]|００|00)(?:86|８６)[-－ ]?)?"
    rf"[1１][3-9３-９]{_D}{_SEP}{_D}{{4}}{_SEP}{_D}{{4}}(?![-－]?{_D})"
)
_ID_RE = re.compile(rf"(?<!{_D}){_D}{{17}}[0-9０-９XxＸｘ](?!{_D})")
_EMAIL_RE = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Bare domains only with common TLDs, never after a letter, dot, @ or slash: "Node.js", "3.14" and
# "e.g." stay unflagged, while 163.com and weixin.qq.com/abc are caught.
_URL_CHARS = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]"
_URL_RE = re.compile(
    rf"(?:https?://|(?<![A-Za-z0-9.@/_-])www\.){_URL_CHARS}+"
    r"|(?<![A-Za-z0-9.@/_-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?:com|cn|net|org|gov|edu|info|top|xyz|cc|io|vip|shop|site|online|club)(?![A-Za-z0-9-])"
    rf"(?:/{_URL_CHARS}*)?",
    re.IGNORECASE,
)
_URL_TRAILING = ".,;:!?'\")]"  # sentence punctuation after a link is not part of it

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

_PII_TERMS = {
    "phone": ("手机号码", "疑似手机号码（模式：1[3-9] 开头的 11 位号码）"),
    "id_number": ("身份证号码", "疑似身份证号码（模式：18 位号码，出生日期与校验位均有效）"),
    "email": ("电子邮箱", "疑似电子邮箱地址（模式：名称@域名）"),
    "url": ("网址", "疑似网址（模式：http(s)://、www. 或常见域名）"),
}


def valid_id_number(number: str) -> bool:
    """ISO 7064 MOD 11-2 checksum plus a real birth date (so 1 in ~4,000 random runs passes, not 1 in 11)."""
    digits = unicodedata.normalize("NFKC", number).upper()
    if len(digits) != 18 or not digits[:17].isdigit():
        return False
    try:
        born = date(int(digits[6:10]), int(digits[10:12]), int(digits[12:14]))
    except ValueError:
        return False
    if not 1900 <= born.year <= 2099:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == digits[17]


def _pii_flag(kind: str, text: str, start: int, end: int) -> Flag:
    term, explanation = _PII_TERMS[kind]
    return Flag(kind, start, end, text[start:end], term, explanation)


def _urls(text: str) -> Iterator[Flag]:
    for match in _URL_RE.finditer(text):
        start, end = match.span()
        while end > start and text[end - 1] in _URL_TRAILING:
            end -= 1
        if end - start > len("www."):
            yield _pii_flag("url", text, start, end)


# What every match of each pattern must contain, found much faster than the pattern itself (whose
# look-behinds are tried at every position): most essays hold no personal data, and skip the patterns.
_PHONE_HINT = re.compile(f"[1１][3-9３-９]{_D}")
_ID_HINT = re.compile(f"{_D}{{17}}")


def detect_pii(text: str) -> tuple[Flag, ...]:
    """Phones, ID numbers, e-mail addresses and URLs. Overlaps (an e-mail inside a URL) are all kept."""
    flags: list[Flag] = []
    if _PHONE_HINT.search(text):
        flags += [_pii_flag("phone", text, *m.span()) for m in _PHONE_RE.finditer(text)]
    if _ID_HINT.search(text):
        flags += [_pii_flag("id_number", text, *m.span()) for m in _ID_RE.finditer(text) if valid_id_number(m[0])]
    if "@" in text:
        flags += [_pii_flag("email", text, *m.span()) for m in _EMAIL_RE.finditer(text)]
    if "." in text or "://" in text:  # the URL pattern's every branch has one or the other
        flags += _urls(text)
    return _sorted(flags)


def _checked(text: str, flags: Iterable[Flag]) -> list[Flag]:
    # Flags computed on another version of the text (say, before normalisation) would garble it.
    flags = list(flags)
    for flag in flags:
        if not _fits(text, flag):
            raise ValueError(f"flag {flag.matched!r} does not match the text at {flag.start}..{flag.end}")
    return flags


def _fits(text: str, flag: Flag) -> bool:
    return text[flag.start : flag.end] == flag.matched


def redact(text: str, flags: Iterable[Flag]) -> str:
    """Replace personal-data spans with placeholders; word flags are ignored, everything else kept as is.

    Raises ValueError for a flag that does not fit the text: a misplaced redaction could leak or corrupt.

    Overlapping spans become one placeholder, named after the span that starts first (longest on a tie).
    """
    pii = [f for f in _checked(text, flags) if f.is_pii and f.end > f.start]
    spans = sorted(((f.start, f.end, f.kind) for f in pii), key=lambda s: (s[0], -s[1]))
    out: list[str] = []
    pos = 0
    for start, end, kind in spans:
        if start < pos:  # inside (or overlapping) the span just replaced
            pos = max(pos, end)
            continue
        out += [text[pos:start], REDACTIONS[kind]]
        pos = end
    out.append(text[pos:])
    return "".join(out)


# ---------------------------------------------------------------------------------------------------
# Highlighting


def _rank(flag: Flag) -> tuple[int, int, int, str]:
    return _PRIORITY[flag.kind], flag.start, flag.end, flag.term


def _segments(text: str, flags: Sequence[Flag]) -> list[tuple[int, int, tuple[Flag, ...]]]:
    """The text cut at every flag boundary, each piece with the flags covering it (most serious first).

    A sweep over the cuts keeps only the flags still open, so a text full of hits stays linear-ish.
    """
    by_start = sorted((f for f in flags if f.end > f.start), key=lambda f: f.start)
    cuts = sorted({0, len(text)} | {f.start for f in by_start} | {f.end for f in by_start})
    segments: list[tuple[int, int, tuple[Flag, ...]]] = []
    active: list[Flag] = []
    pending = iter(by_start)
    upcoming = next(pending, None)
    for a, b in pairwise(cuts):
        while upcoming is not None and upcoming.start <= a:
            active.append(upcoming)
            upcoming = next(pending, None)
        active = [f for f in active if f.end > a]  # every open flag ends at a cut, so it covers a..b
        cover = tuple(sorted(active, key=_rank))
        if segments and segments[-1][2] == cover:
            segments[-1] = (segments[-1][0], b, cover)
        else:
            segments.append((a, b, cover))
    return segments


def _mark(piece: str, cover: tuple[Flag, ...]) -> str:
    title = html.escape("；".join(dict.fromkeys(f.explanation for f in cover)), quote=True)
    # One <mark> per line, so callers may split the HTML into paragraphs without breaking tags.
    lines = (html.escape(line, quote=True) for line in piece.split("\n"))
    return "\n".join(
        f'<mark class="flag flag-{cover[0].kind}" title="{title}">{line}</mark>' if line else line
        for line in lines
    )


def highlight_html(text: str, flags: Iterable[Flag]) -> str:
    """The whole text HTML-escaped, flagged spans in <mark>; safe for ``|safe`` whatever the text holds.

    Where flags overlap the text is cut into pieces; each piece is marked once, coloured by its most
    serious flag, with every covering flag's explanation in the title. Newlines are kept as they are.
    Flags that do not fit the text (stale, from an earlier revision) are skipped rather than raised on:
    a moderator still needs to see the essay. Screening is cheap, so callers can simply screen again.
    """
    flags = [flag for flag in flags if _fits(text, flag)]
    parts = []
    for a, b, cover in _segments(text, flags):
        piece = text[a:b]
        parts.append(_mark(piece, cover) if cover else html.escape(piece, quote=True))
    return "".join(parts)


# ---------------------------------------------------------------------------------------------------
# Near-duplicates: character shingles, MinHash and LSH bands

DUPLICATE_THRESHOLD = 0.8
NUM_PERM = 64
BANDS = 16
# With 16 bands of 4 rows a pair of Jaccard similarity s becomes a candidate with probability
# 1 - (1 - s**4) ** 16: 0.9998 at s = 0.8, 0.96 at s = 0.6, 0.64 at 0.5, 0.12 at 0.3, 0.0016 at 0.1.
# Candidates are confirmed with the exact `jaccard`, so the false candidates only cost a comparison.

_MERSENNE = (1 << 61) - 1
_EMPTY = _MERSENNE  # the minimum over no shingles at all


def _dup_skeleton(text: str) -> str:
    return skeleton(text).text.replace(_BREAK, "")


def shingles(text: str, k: int = 3) -> frozenset[str]:
    """Every k-character run of the skeleton (a shorter non-empty skeleton is its own single shingle)."""
    skel = _dup_skeleton(text)
    if len(skel) <= k:
        return frozenset({skel}) if skel else frozenset()
    return frozenset({skel[i : i + k] for i in range(len(skel) - k + 1)})


def _stable_hash(data: bytes, person: bytes) -> int:
    # blake2b, not hash(): Python salts str hashes per process, and signatures are stored in the database.
    return int.from_bytes(blake2b(data, digest_size=8, person=person).digest(), "big")


_SHINGLE_HASHER = blake2b(digest_size=8, person=b"cv-shingle")


def _shingle_hashes(shingle_set: Iterable[str]) -> np.ndarray:
    """``_stable_hash(s.encode(), b"cv-shingle") % 2^61−1`` for every shingle, as uint64.

    Copying a keyed-up hasher and converting all digests at once in numpy is ~3× cheaper than a fresh
    blake2b and an int.from_bytes per shingle; the values are the same (tests check it)."""
    fresh = _SHINGLE_HASHER.copy
    digests = []
    for shingle in shingle_set:
        hasher = fresh()
        hasher.update(shingle.encode())
        digests.append(hasher.digest())
    return np.frombuffer(b"".join(digests), dtype=">u8").astype(np.uint64) % _P


@lru_cache(maxsize=8)
def _permutations(num_perm: int) -> tuple[tuple[int, int], ...]:
    """(a, b) for h(x) = (a·x + b) mod 2^61−1, derived from fixed seeds so every process agrees."""
    params = []
    for i in range(num_perm):
        a = _stable_hash(b"a%d" % i, b"cv-minhash") % (_MERSENNE - 1) + 1
        b = _stable_hash(b"b%d" % i, b"cv-minhash") % _MERSENNE
        params.append((a, b))
    return tuple(params)


@lru_cache(maxsize=8)
def _permutation_arrays(num_perm: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (a, b) of every permutation as columns: a split into 32-bit halves, and b."""
    params = np.array(_permutations(num_perm), dtype=np.uint64)
    a, b = params[:, :1], params[:, 1:]
    return a >> _U32, a & _LOW32, b


_U3, _U29, _U32, _U61 = (np.uint64(n) for n in (3, 29, 32, 61))
_LOW29, _LOW32, _P = np.uint64((1 << 29) - 1), np.uint64((1 << 32) - 1), np.uint64(_MERSENNE)


_BLOCK = 8


def _fold(v: np.ndarray) -> np.ndarray:
    # 2^61 ≡ 1 (mod 2^61−1): the bits above 61 are added back to the low 61.
    return (v & _P) + (v >> _U61)


def _min_hashes(hashes: Sequence[int] | np.ndarray, num_perm: int) -> tuple[int, ...]:
    """min over x of (a·x + b) mod 2^61−1 for every permutation: exactly the values of the plain formula,
    computed for all shingles at once in 64-bit arrays.

    With a = a1·2^32 + a0 and x = x1·2^32 + x0 (a1, x1 < 2^29; a0, x0 < 2^32) every partial product
    fits in 64 bits, and 2^64 ≡ 8, 2^61 ≡ 1 reduce the product: a·x ≡ 8·a1·x1 + (m >> 29) + (m mod 2^29)·2^32
    + (p >> 61) + (p mod 2^61), where m = a1·x0 + a0·x1 < 2^62 and p = a0·x0 < 2^64. Each term is below
    2^61, so their sum with b stays below 2^64; one fold and one conditional subtraction give the exact
    remainder.
    """
    a_hi, a_lo, b = _permutation_arrays(num_perm)
    x = hashes if isinstance(hashes, np.ndarray) else np.fromiter(hashes, dtype=np.uint64, count=len(hashes))
    x_hi, x_lo = x >> _U32, x & _LOW32
    mins: list[int] = []
    # A few permutations at a time, so the intermediate arrays stay in the CPU cache.
    for i in range(0, num_perm, _BLOCK):
        rows = slice(i, i + _BLOCK)
        low = a_lo[rows] * x_lo
        mid = a_hi[rows] * x_lo
        mid += a_lo[rows] * x_hi
        v = a_hi[rows] * x_hi
        v <<= _U3
        v += mid >> _U29
        mid &= _LOW29
        mid <<= _U32
        v += mid
        v += low >> _U61
        low &= _P
        v += low
        v += b[rows]
        v = _fold(v)  # now below 2^61 + 8: at most one p too many
        np.minimum(v, v - _P, out=v)  # v - p wraps around (huge) exactly when v < p
        mins += v.min(axis=1).tolist()
    return tuple(mins)


def minhash_signature(text: str, num_perm: int = NUM_PERM) -> tuple[int, ...]:
    """The MinHash signature: for each permutation h(x) = (a·x + b) mod 2^61−1, the least h over the
    text's shingle hashes. Stored band keys depend on these exact values, so _min_hashes must agree
    with the plain formula (tests/test_screening.py checks it against it)."""
    return signature_of_shingles(shingles(text), num_perm)


def signature_of_shingles(shingle_set: frozenset[str], num_perm: int = NUM_PERM) -> tuple[int, ...]:
    """:func:`minhash_signature` from the text's :func:`shingles`, for callers that need both."""
    if not shingle_set:
        return (_EMPTY,) * num_perm
    return _min_hashes(_shingle_hashes(shingle_set), num_perm)


def signature_to_bytes(signature: Sequence[int]) -> bytes:
    return struct.pack(f">{len(signature)}Q", *signature)


def signature_from_bytes(data: bytes) -> tuple[int, ...]:
    if len(data) % 8:
        raise ValueError("a MinHash signature is a whole number of 8-byte values")
    return struct.unpack(f">{len(data) // 8}Q", data)


def lsh_band_keys(signature: Sequence[int], bands: int = BANDS) -> list[str]:
    """One key per band ("07:3f…"); essays sharing any key are duplicate candidates.

    A text without shingles gets no keys: otherwise every empty essay would share one huge bucket.
    """
    if not signature or len(signature) % bands:
        raise ValueError(f"{len(signature)} values cannot be split into {bands} equal bands")
    if all(v == _EMPTY for v in signature):
        return []
    rows = len(signature) // bands
    keys = []
    for band in range(bands):
        chunk = signature_to_bytes(signature[band * rows : (band + 1) * rows])
        keys.append(f"{band:02d}:{blake2b(chunk, digest_size=8, person=b'cv-lsh').hexdigest()}")
    return keys


def estimated_similarity(sig_a: Sequence[int], sig_b: Sequence[int]) -> float:
    if len(sig_a) != len(sig_b):
        raise ValueError("signatures of different lengths cannot be compared")
    if not sig_a or all(v == _EMPTY for v in sig_a) or all(v == _EMPTY for v in sig_b):
        return 0.0
    return sum(a == b for a, b in zip(sig_a, sig_b, strict=True)) / len(sig_a)


# A pair of Jaccard similarity s agrees on each signature value with probability s, so the number of
# agreeing values is binomial: a pair at the 80 % threshold agrees on fewer than 28 of 64 with
# probability 1.8e-10 (and higher similarities still less often), against 2e-4 that it shares no LSH
# band and is never a candidate at all. Below that the exact comparison is skipped.
_MIN_AGREEMENT = 28 / 64


def could_be_near_duplicate(sig_a: bytes, sig_b: bytes) -> bool:
    """False when two stored signatures (:func:`signature_to_bytes`) rule out ≥ 80 % similarity beyond
    reasonable doubt; True means "confirm with the exact :func:`set_similarity`", not "duplicate"."""
    if len(sig_a) != len(sig_b) or not sig_a or len(sig_a) % 8:
        raise ValueError("signatures of different lengths cannot be compared")
    a, b = np.frombuffer(sig_a, dtype=">u8"), np.frombuffer(sig_b, dtype=">u8")
    if (a == _MERSENNE).all() or (b == _MERSENNE).all():
        return False  # a text without shingles is nobody's duplicate (set_similarity is 0.0)
    return int(np.count_nonzero(a == b)) >= _MIN_AGREEMENT * len(a)


def jaccard(text_a: str, text_b: str, k: int = 3) -> float:
    """Exact shingle Jaccard similarity; two texts with nothing to compare are 0.0, not duplicates."""
    return set_similarity(shingles(text_a, k), shingles(text_b, k))


def set_similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two shingle sets (compute a text's set once when comparing it to many)."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def is_near_duplicate(text_a: str, text_b: str) -> bool:
    return jaccard(text_a, text_b) >= DUPLICATE_THRESHOLD
