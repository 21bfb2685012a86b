"""Exports of one print page: a typeset proof (PDF, PNG preview), a text package (ZIP) and a DOCX.

Plain dataclasses in, bytes out; nothing here touches the database or HTTP.

Decisions:

* **User text reaches Typst as data only.** The page is serialised to JSON and handed to the template
  ``templates/print/page.typ`` through ``sys.inputs``; the template reads it with
  ``json(bytes(sys.inputs.data))`` and only ever places the strings as text. No user text is spliced
  into markup, so ``#read("/etc/passwd")`` in an essay prints as those characters.
* **The compile root is a fresh temporary directory** holding a copy of the template and the photos
  under names generated here (``photos/01.jpg``), so the document can read nothing else on disk.
* **Fonts are explicit.** The proof needs a CJK serif (body) and sans (headlines); they are looked up
  once per set of font directories and Typst is told to ignore every other system font, so a proof
  looks the same on every machine that passes the check, and a machine without them gets
  :class:`MissingCJKFont` naming the package to install instead of boxes of tofu.
* **Overflow is the template's call.** It compares where each essay ends with the block it was given
  and counts pages; if anything does not fit it prints a red 超版 banner on page 1, and
  :func:`render_proof_pdf` reports ``overflow=True``.
* **One byline composition** (:func:`compose_byline`) is used by the proof, the package and the DOCX.
* **File names inside the package are generated** (``01-3.txt``, ``photos/01.jpg``), never taken from
  user input.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from citizenvoice.settings import PRINT_SHEETS
from citizenvoice.text.printcheck import paragraphs

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "templates" / "print" / "page.typ"
FONT_DIRS: tuple[Path, ...] = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
# Family names Typst reports: Debian's fonts-noto-cjk first, then Google's per-region builds.
SERIF_FAMILIES = ("Noto Serif CJK SC", "Noto Serif SC")
SANS_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC")
GRID_COLUMNS = 6  # the template's page grid; an essay spans GRID_COLUMNS / essays-in-its-row

BylineStyle = Literal["under_headline", "after_body"]

_CN_DIGITS = "〇一二三四五六七八九"
_WEEKDAYS = "一二三四五六日"
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")
_PHOTO_TYPES = ((b"\xff\xd8\xff", "jpg"), (b"\x89PNG\r\n\x1a\n", "png"))


class MissingCJKFont(RuntimeError):
    """No Chinese serif/sans font for the proof; the message says which Debian package to install."""


@dataclass
class PrintEssay:
    slot: int
    headline: str
    byline: str  # the full printed line, e.g. "某某社区党委书记 张三"
    affiliation: str
    name: str
    body: str  # paragraphs separated by blank lines
    photo_path: Path | None
    char_count: int


@dataclass
class PrintFeature:
    """The staff's feature article: headline, "本报记者 某某", body whose sections open with "——"."""

    headline: str
    byline: str
    body: str
    photo_path: Path | None = None
    photo_credit: str = ""  # "本报记者 某某 摄"
    char_count: int = 0


@dataclass
class BandBox:
    """One box of the directions band: a direction's name and its one sentence, as this page words them."""

    name: str
    description: str


@dataclass
class PrintPage:
    paper: str
    date: dt.date
    page_label: str
    column_title: str
    lead: str
    credits: list[str]
    byline_style: BylineStyle
    essays: list[PrintEssay]
    slogan: str = ""
    sheet: str = "A3"  # settings.PRINT_SHEETS
    body_pt: tuple[float, float] = (9.0, 10.5)  # the body size range the proof may choose from
    editor: str = ""  # who exports: the proof stamp, the DOCX's author
    version: int = 0  # the page's version number, for the proof stamp
    generated_at: dt.datetime | None = None  # when the export was made (UTC)
    feature: PrintFeature | None = None
    band: list[BandBox] = field(default_factory=list)


@dataclass(frozen=True)
class ProofResult:
    pdf: bytes
    overflow: bool
    pages: int
    layout: dict | None = None  # the template's <cv-layout>: body size, free share, per-essay columns


@dataclass(frozen=True)
class ProofFit:
    """What the page screen says about the proof: how full the page is and what does not fit."""

    body_size: float
    free_percent: int
    blank_marked: bool
    overflow: bool
    headlines_split: list[int]  # slots whose headline is set in two lines


@dataclass(frozen=True)
class Byline:
    """What is printed under the headline and, for the "after_body" style, after the body."""

    under_headline: str
    after_body: str


@dataclass(frozen=True)
class CJKFonts:
    serif: str  # family names as Typst knows them
    sans: str
    font_dirs: tuple[Path, ...]


# ---- text helpers -------------------------------------------------------------------------------


def chinese_date(d: dt.date) -> str:
    """``date(2025, 11, 24)`` → ``"二〇二五年十一月二十四日"`` (the year digit by digit)."""
    year = "".join(_CN_DIGITS[int(c)] for c in str(d.year))
    return f"{year}年{_chinese_number(d.month)}月{_chinese_number(d.day)}日"


def _chinese_number(n: int) -> str:
    """1–99 as a Chinese number: 十, 十一, 二十, 二十四."""
    tens, ones = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _CN_DIGITS[tens] + "十")
    return head + (_CN_DIGITS[ones] if ones or not head else "")


def chinese_weekday(d: dt.date) -> str:
    return "星期" + _WEEKDAYS[d.weekday()]


def compose_byline(essay: PrintEssay, style: BylineStyle) -> Byline:
    """The byline as printed: one function for the proof, the package and the DOCX.

    "under_headline": the full line ("单位职务 姓名") under the headline.
    "after_body": only the name under the headline, and "（作者系{affiliation}）" after the body
    (left out when there is no affiliation).
    """
    if style == "after_body":
        affiliation = essay.affiliation.strip().rstrip("。.")
        return Byline(essay.name.strip(), f"（作者系{affiliation}）" if affiliation else "")
    line = essay.byline.strip() or f"{essay.affiliation.strip()} {essay.name.strip()}".strip()
    return Byline(line, "")


def _photo_kind(path: Path | None) -> str | None:
    """The photo's type, "jpg" or "png", from its first bytes; None if there is no usable photo."""
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError:
        return None
    return next((ext for magic, ext in _PHOTO_TYPES if head.startswith(magic)), None)


def _ordered(page: PrintPage) -> list[PrintEssay]:
    return sorted(page.essays, key=lambda e: e.slot)


def per_row(count: int, position: int) -> int:
    """How many essays share the row of the essay at ``position`` (1-based) on a page of ``count``."""
    rows = _rows(max(count, position))
    return next((len(r) for r in rows if position - 1 in r), 1)


def _rows(count: int) -> list[list[int]]:
    """Essay indices per row: at most three in a row, earlier rows fuller (6 → 3+3, 5 → 3+2, 4 → 2+2)."""
    if count == 0:
        return []
    rows = -(-count // 3)
    base, extra = divmod(count, rows)
    sizes = [base + (1 if r < extra else 0) for r in range(rows)]
    starts = [sum(sizes[:r]) for r in range(rows)]
    return [list(range(s, s + n)) for s, n in zip(starts, sizes, strict=True)]


# ---- fonts --------------------------------------------------------------------------------------


def find_cjk_fonts(font_dirs: Sequence[Path | str] | None = None) -> CJKFonts:
    """Find the serif and sans CJK families Typst will use, or raise :class:`MissingCJKFont`.

    ``font_dirs`` (searched recursively) defaults to :data:`FONT_DIRS`; the answer is cached per set.
    """
    return _find_cjk_fonts(tuple(Path(d) for d in (FONT_DIRS if font_dirs is None else font_dirs)))


@functools.cache
def _find_cjk_fonts(font_dirs: tuple[Path, ...]) -> CJKFonts:
    families = set(_typst_fonts(font_dirs).families())
    serif = next((f for f in SERIF_FAMILIES if f in families), None)
    sans = next((f for f in SANS_FAMILIES if f in families), None)
    if serif is None or sans is None:
        missing = " / ".join(
            name for name, found in (("宋体 serif", serif), ("黑体 sans", sans)) if not found
        )
        where = ", ".join(str(d) for d in font_dirs) or "(none)"
        raise MissingCJKFont(
            f"缺少中文字体（{missing}），无法生成排版小样。请安装 Debian 软件包 fonts-noto-cjk："
            f"apt-get install fonts-noto-cjk。 "
            f"No CJK font found in {where} ({missing}): install the Debian package fonts-noto-cjk."
        )
    return CJKFonts(serif, sans, font_dirs)


@functools.cache
def _typst_fonts(font_dirs: tuple[Path, ...]):
    import typst  # imported late: the web app starts even where the wheel is missing

    existing = [str(d) for d in font_dirs if d.is_dir()]
    return typst.Fonts(include_system_fonts=False, include_embedded_fonts=True, font_paths=existing)


# The proof's leading, as a share of the body size (the paper sets about 0.6–0.75 em), and the share of
# the sheet left free past which the free room is marked "留白 约 N%" rather than spread between rows.
BODY_LEADING = 0.68
BLANK_THRESHOLD = 0.04
_BEIJING = dt.timezone(dt.timedelta(hours=8))


def proof_stamp(page: PrintPage) -> str:
    """The text beside "清样" in the proof's margin: page label, edition date, version, editor, time."""
    when = (page.generated_at or dt.datetime.now(dt.UTC)).astimezone(_BEIJING)
    parts = [f"{page.page_label}版", chinese_date(page.date), f"版面第 {page.version} 版" if page.version else "",
             f"编辑 {page.editor}" if page.editor else "", f"打印于 {when:%Y-%m-%d %H:%M} 北京时间"]
    return " · ".join(p for p in parts if p)


# Headline sizes (pt) by essays in the row, and the proof's text width: the template's numbers, so the
# slot screen can say before a proof is made whether a headline fits one line.
HEADLINE_RANGES = {1: (22, 32), 2: (18, 26), 3: (15, 22)}
PROOF_MARGIN_MM = 15
ESSAY_GAP_MM = 6


@dataclass(frozen=True)
class HeadlineFit:
    size: int
    lines: list[str]
    fits: bool  # False: even two lines at the smallest size are too wide


def _headline_width(text: str, size: float) -> float:
    """Width in pt: a CJK character or full-width mark is one em, anything else about half."""
    return sum(size if _CJK.match(ch) else size * 0.55 for ch in text)


def headline_lines(title: str) -> list[str]:
    """Two balanced lines (at punctuation or a space near the middle), never a line under 3 characters;
    the template's rule."""
    n = len(title)
    if n < 6:
        return [title]
    mid = (n + 1) // 2
    best = mid
    for d in (0, 1, -1, 2, -2):
        at = mid + d
        if at >= 3 and n - at >= 3 and title[at - 1] in "，、： 　":
            best = at
            break
    return [title[:best].strip(), title[best:].strip()]


def headline_fit(title: str, per_row: int, sheet: str = "A3") -> HeadlineFit:
    """How the proof sets a headline in a row of ``per_row`` essays: one line at the largest size of its
    range that fits, else two balanced lines (estimated from character widths)."""
    width_mm = PRINT_SHEETS.get(sheet, PRINT_SHEETS["A3"])[0] - 2 * PROOF_MARGIN_MM
    cell = (width_mm - (per_row - 1) * ESSAY_GAP_MM) / per_row * 72 / 25.4
    low, high = HEADLINE_RANGES.get(per_row, HEADLINE_RANGES[3])
    for size in range(high, low - 1, -1):
        if _headline_width(title, size) <= cell:
            return HeadlineFit(size, [title], True)
    lines = headline_lines(title)
    for size in range(high, 8, -1):
        if max(_headline_width(line, size) for line in lines) <= cell:
            return HeadlineFit(size, lines, size >= low)
    return HeadlineFit(8, lines, False)


# ---- the proof ----------------------------------------------------------------------------------


def _typst_data(page: PrintPage, photos: dict[int, str | None], fonts: CJKFonts) -> dict:
    essays = []
    for index, essay in enumerate(_ordered(page)):
        byline = compose_byline(essay, page.byline_style)
        essays.append(
            {
                "headline": essay.headline.strip(),
                "byline": byline.under_headline,
                "closing": byline.after_body,
                "paragraphs": paragraphs(essay.body),
                "photo": photos.get(index),
                "photo_missing": essay.photo_path is not None and photos.get(index) is None,
            }
        )
    return {
        "feature": _feature_data(page.feature, photos.get(FEATURE_PHOTO)),
        "band": [{"name": b.name.strip(), "description": b.description.strip()} for b in page.band],
        "paper": page.paper.strip(),
        "date": chinese_date(page.date),
        "weekday": chinese_weekday(page.date),
        "page_label": page.page_label.strip(),
        "column_title": page.column_title.strip(),
        "slogan": page.slogan.strip(),
        "lead": page.lead.strip(),
        "credits": [c.strip() for c in page.credits if c.strip()],
        "rows": _rows(len(essays)),
        "essays": essays,
        "fonts": {"serif": fonts.serif, "sans": fonts.sans},
        "sheet": dict(zip(("w", "h"), PRINT_SHEETS.get(page.sheet, PRINT_SHEETS["A3"]), strict=True)),
        "body": {"min": float(page.body_pt[0]), "max": float(page.body_pt[1]), "leading": BODY_LEADING},
        "blank_threshold": BLANK_THRESHOLD,
        "stamp": proof_stamp(page),
    }


FEATURE_PHOTO = -1  # the feature's photo among the staged photos (essays count from 0)


def feature_paragraphs(body: str) -> list[dict]:
    """The feature's paragraphs; one that opens with "——" is a section opener, its first sentence set
    as the section's lead-in (the seed page's "——产业为基，…")."""
    out = []
    for text in paragraphs(body):
        if text.startswith("——"):
            head, mark, rest = text.partition("。")
            out.append({"opener": head + mark, "text": rest})
        else:
            out.append({"opener": "", "text": text})
    return out


def _feature_data(feature: PrintFeature | None, photo: str | None) -> dict | None:
    if feature is None:
        return None
    return {
        "headline": feature.headline.strip(), "byline": feature.byline.strip(), "closing": "",
        "paragraphs": feature_paragraphs(feature.body), "photo": photo, "credit": feature.photo_credit.strip(),
        "photo_missing": feature.photo_path is not None and photo is None,
    }


def _stage(page: PrintPage, root: Path, fonts: CJKFonts) -> dict:
    """Copy the template and the photos into ``root``; return the JSON data for the template."""
    shutil.copyfile(TEMPLATE, root / "page.typ")
    (root / "photos").mkdir()
    photos: dict[int, str | None] = {}
    for index, essay in enumerate(_ordered(page)):
        kind = _photo_kind(essay.photo_path)
        if kind is not None and essay.photo_path is not None:
            name = f"photos/{index + 1:02d}.{kind}"
            shutil.copyfile(essay.photo_path, root / name)
            photos[index] = name
    feature = page.feature
    kind = _photo_kind(feature.photo_path) if feature else None
    if feature is not None and kind is not None and feature.photo_path is not None:
        shutil.copyfile(feature.photo_path, root / f"photos/feature.{kind}")
        photos[FEATURE_PHOTO] = f"photos/feature.{kind}"
    return _typst_data(page, photos, fonts)


def _compile(page: PrintPage, font_dirs: Sequence[Path | str] | None, fmt: str, ppi: float | None = None):
    import typst

    fonts = find_cjk_fonts(font_dirs)
    with tempfile.TemporaryDirectory(prefix="cv-print-") as tmp:
        root = Path(tmp)
        data = json.dumps(_stage(page, root, fonts), ensure_ascii=False)
        compiler = typst.Compiler(
            input=str(root / "page.typ"),
            root=str(root),
            font_paths=_typst_fonts(fonts.font_dirs),
            ignore_system_fonts=True,
            sys_inputs={"data": data},
        )
        output = compiler.compile(format=fmt, ppi=ppi)
        fit = json.loads(compiler.query("<cv-fit>", field="value", one=True))
    return output, fit


def render_proof_pdf(page: PrintPage, *, font_dirs: Sequence[Path | str] | None = None) -> ProofResult:
    """Typeset ``page`` as an A3 proof; ``overflow`` is True (and the proof says so) if it does not fit."""
    pdf, fit = _compile(page, font_dirs, "pdf")
    return ProofResult(pdf=pdf, overflow=bool(fit["overflow"]), pages=int(fit["pages"]), layout=fit.get("layout"))


def proof_fit(page: PrintPage, *, font_dirs: Sequence[Path | str] | None = None) -> ProofFit:
    """Typeset the page and report its fill (cached per page content: the page screen asks often)."""
    key = json.dumps(dataclasses_asdict(page), ensure_ascii=False, default=str, sort_keys=True)
    return _proof_fit_cached(key, page, tuple(str(d) for d in font_dirs) if font_dirs else None)


def dataclasses_asdict(page: PrintPage) -> dict:
    import dataclasses

    data = dataclasses.asdict(page)
    data.pop("generated_at", None)  # the stamp's time does not change the layout
    return data


_FIT_CACHE: dict[str, ProofFit] = {}


def _proof_fit_cached(key: str, page: PrintPage, font_dirs: tuple[str, ...] | None) -> ProofFit:
    if key not in _FIT_CACHE:
        result = render_proof_pdf(page, font_dirs=font_dirs)
        layout = result.layout or {}
        ordered = _ordered(page)
        if len(_FIT_CACHE) > 64:
            _FIT_CACHE.clear()
        _FIT_CACHE[key] = ProofFit(
            body_size=float(layout.get("body_size", 0)), free_percent=round(float(layout.get("free_ratio", 0)) * 100),
            blank_marked=bool(layout.get("blank_marked")), overflow=result.overflow,
            headlines_split=[ordered[e["i"]].slot for e in layout.get("essays", []) if len(e["headline_lines"]) > 1],
        )
    return _FIT_CACHE[key]


def render_preview_png(
    page: PrintPage, ppi: float = 72, *, font_dirs: Sequence[Path | str] | None = None
) -> bytes:
    """The first page of the proof as a PNG (72 ppi: an A3 page about 840 pixels wide)."""
    output, _ = _compile(page, font_dirs, "png", ppi=ppi)
    return output[0] if isinstance(output, list) else output


# ---- the package --------------------------------------------------------------------------------


def essay_text(essay: PrintEssay, style: BylineStyle) -> str:
    """Headline, byline, blank line, paragraphs separated by blank lines (and the closing byline)."""
    byline = compose_byline(essay, style)
    parts = [essay.headline.strip()]
    if byline.under_headline:
        parts.append(byline.under_headline)
    text = "\n".join(parts) + "\n\n" + "\n\n".join(paragraphs(essay.body))
    if byline.after_body:
        text += "\n\n" + byline.after_body
    return text + "\n"


def feature_text(feature: PrintFeature) -> str:
    """The feature for the layout desk: headline, byline, paragraphs (openers as they print), credit."""
    text = f"{feature.headline.strip()}\n{feature.byline.strip()}\n\n" + "\n\n".join(paragraphs(feature.body))
    if feature.photo_credit.strip():
        text += f"\n\n（图片：{feature.photo_credit.strip()}）"
    return text + "\n"


def band_text(band: Sequence[BandBox]) -> str:
    """The directions band as text, one box a paragraph: the name on its line, the sentence under it."""
    return "\n\n".join(f"{b.name.strip()}\n{b.description.strip()}" for b in band) + "\n"


PACKAGE_ENCODINGS = {"utf-8": ("utf-8-sig", "UTF-8（带 BOM）"), "gb18030": ("gb18030", "GB18030")}
_UNSAFE_NAME = re.compile(r"[^0-9A-Za-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
FILE_MODE = 0o644


def safe_name(text: str, limit: int = 24) -> str:
    """A file-name part from a headline: Chinese characters, ASCII letters and digits only (no
    punctuation, spaces, slashes or dots: 方正飞腾 and Windows take these everywhere), at most ``limit``."""
    return _UNSAFE_NAME.sub("", text)[:limit] or "文章"


def _layout_text(text: str, codec: str) -> bytes:
    """Text for the layout desk: CRLF line ends (Windows tools), in the chosen encoding."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode(codec)


def build_package_zip(
    page: PrintPage, *, encoding: str = "utf-8", proof_pdf: bytes | None = None, docx_file: bytes | None = None
) -> bytes:
    """For 方正飞腾 / InDesign: one text file per essay named by its order and headline, the lead, the
    credits and the slogan as their own files, the photos named by slot, the proof PDF and the DOCX,
    and ``manifest.json`` (always UTF-8) saying the encoding. Text files are UTF-8 with a BOM by
    default or GB18030, with CRLF line ends; every entry is a plain file of mode 0644."""
    codec, encoding_label = PACKAGE_ENCODINGS[encoding]
    # A fixed timestamp (the publication date) makes the same page give the same bytes.
    stamp = (max(page.date.year, 1980), page.date.month, page.date.day, 0, 0, 0)
    entries = []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:

        def add(name: str, data: bytes, compress: int = zipfile.ZIP_DEFLATED) -> str:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = compress
            info.create_system = 3  # Unix, so the mode below is read
            info.external_attr = (0o100000 | FILE_MODE) << 16
            archive.writestr(info, data)
            return name

        extras = {}
        for key, label, text in (("lead", "核心提示", page.lead.strip()), ("credits", "版面署名", "\n".join(page.credits)),
                                 ("slogan", "通栏口号", page.slogan.strip())):
            extras[key] = add(f"00-{label}.txt", _layout_text(text + "\n", codec)) if text else None
        feature_entry = None
        if page.feature is not None:
            feature = page.feature
            stem = f"00-特稿-{safe_name(feature.headline)}"
            photo_file = None
            kind = _photo_kind(feature.photo_path)
            if kind is not None and feature.photo_path is not None:
                photo_file = add(f"photos/{stem}.{kind}", feature.photo_path.read_bytes(), zipfile.ZIP_STORED)
            feature_entry = {"headline": feature.headline.strip(), "byline": feature.byline.strip(),
                             "char_count": feature.char_count, "photo_credit": feature.photo_credit.strip(),
                             "text_file": add(f"{stem}.txt", _layout_text(feature_text(feature), codec)),
                             "photo_file": photo_file}
        band_file = add("00-方向带.txt", _layout_text(band_text(page.band), codec)) if page.band else None
        for order, essay in enumerate(_ordered(page), start=1):
            stem = f"{essay.slot:02d}-{safe_name(essay.headline)}"
            text_file = add(f"{stem}.txt", _layout_text(essay_text(essay, page.byline_style), codec))
            photo_file = None
            kind = _photo_kind(essay.photo_path)
            if kind is not None and essay.photo_path is not None:
                photo_file = add(f"photos/{stem}.{kind}", essay.photo_path.read_bytes(), zipfile.ZIP_STORED)
            byline = compose_byline(essay, page.byline_style)
            entries.append(
                {
                    "order": order,
                    "slot": essay.slot,
                    "headline": essay.headline.strip(),
                    "byline": byline.under_headline,
                    "byline_after_body": byline.after_body,
                    "char_count": essay.char_count,
                    "text_file": text_file,
                    "photo_file": photo_file,
                }
            )
        label = f"{page.page_label}-{page.date.isoformat()}"
        proof_file = add(f"清样-{label}.pdf", proof_pdf, zipfile.ZIP_STORED) if proof_pdf else None
        docx_name = add(f"版面-{label}.docx", docx_file, zipfile.ZIP_STORED) if docx_file else None
        manifest = {
            "paper": page.paper,
            "date": page.date.isoformat(),
            "date_chinese": chinese_date(page.date),
            "page_label": page.page_label,
            "column_title": page.column_title,
            "slogan": page.slogan,
            "byline_style": page.byline_style,
            "lead": page.lead,
            "credits": list(page.credits),
            "text_encoding": codec.replace("utf-8-sig", "UTF-8-BOM").upper(),
            "text_encoding_label": encoding_label,
            "line_endings": "CRLF",
            "manifest_encoding": "UTF-8",
            "files": {**extras, "band": band_file, "proof_pdf": proof_file, "docx": docx_name},
            "band": [{"name": b.name, "description": b.description} for b in page.band],
            "feature": feature_entry,
            "essays": entries,
        }
        add("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"))
    return buffer.getvalue()


def build_full_package(page: PrintPage, encoding: str = "utf-8") -> bytes:
    """The package with the proof PDF and the DOCX inside; without the CJK fonts, without the PDF
    (the manifest then names no proof)."""
    try:
        proof = render_proof_pdf(page).pdf
    except MissingCJKFont:
        proof = None
    return build_package_zip(page, encoding=encoding, proof_pdf=proof, docx_file=build_docx(page))


# ---- the DOCX -----------------------------------------------------------------------------------


DOCX_MARGIN_MM = 20
# The desk's styles: (name, East Asian font, Latin font, size pt, bold, alignment, first-line indent in chars)
DOCX_STYLES = (
    ("栏目", "黑体", "Arial", 26, True, "center", 0),
    ("标题", "黑体", "Arial", 18, True, "center", 0),
    ("署名", "楷体", "Times New Roman", 10.5, False, "center", 0),
    ("正文", "宋体", "Times New Roman", 10.5, False, "justify", 2),
    ("核心提示", "黑体", "Arial", 10.5, False, "justify", 2),
    ("报头", "宋体", "Times New Roman", 9, False, "left", 0),
    ("图片", "宋体", "Times New Roman", 9, False, "center", 0),
    ("方向带标题", "黑体", "Arial", 10.5, True, "left", 0),
    ("方向带说明", "宋体", "Times New Roman", 9, False, "left", 0),
    ("特稿标题", "黑体", "Arial", 22, True, "center", 0),
    ("特稿署名", "楷体", "Times New Roman", 10.5, False, "center", 0),
    ("特稿小标题", "黑体", "Arial", 10.5, True, "justify", 0),
    ("特稿正文", "宋体", "Times New Roman", 10.5, False, "justify", 2),
)
DOCX_LANGUAGE = "zh-CN"


def _fonts_and_language(r_pr, east_asian: str, latin: str) -> None:
    """Name the East Asian font explicitly (python-docx sets only the Latin one, and Word then takes
    the theme's) and mark the text as zh-CN."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    fonts = r_pr.get_or_add_rFonts()
    for attr, value in (("w:ascii", latin), ("w:hAnsi", latin), ("w:eastAsia", east_asian), ("w:cs", latin)):
        fonts.set(qn(attr), value)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    lang = r_pr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        r_pr.append(lang)
    for attr in ("w:val", "w:eastAsia"):
        lang.set(qn(attr), DOCX_LANGUAGE)


def _docx_styles(document) -> None:  # noqa: ANN001
    from docx.enum.style import WD_STYLE_TYPE
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    defaults = document.styles.element.find(qn("w:docDefaults"))
    r_pr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _fonts_and_language(r_pr, "宋体", "Times New Roman")
    _fonts_and_language(document.styles["Normal"].element.get_or_add_rPr(), "宋体", "Times New Roman")
    align = {"center": WD_ALIGN_PARAGRAPH.CENTER, "justify": WD_ALIGN_PARAGRAPH.JUSTIFY, "left": WD_ALIGN_PARAGRAPH.LEFT}
    for name, east_asian, latin, size, bold, alignment, indent in DOCX_STYLES:
        style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
        style.base_style = document.styles["Normal"]
        style.font.size = Pt(size)
        style.font.bold = bold
        style.font.color.rgb = RGBColor(0, 0, 0)
        _fonts_and_language(style.element.get_or_add_rPr(), east_asian, latin)
        style.paragraph_format.alignment = align[alignment]
        style.paragraph_format.first_line_indent = Pt(size * indent) if indent else None
        style.paragraph_format.space_after = Pt(size * 0.5)
        if name in ("栏目", "标题"):  # Word's navigation pane and outline see them as headings
            outline = OxmlElement("w:outlineLvl")
            outline.set(qn("w:val"), "0" if name == "栏目" else "1")
            style.element.get_or_add_pPr().append(outline)


def build_docx(page: PrintPage) -> bytes:
    """The page for the layout desk in Word: the paper's sheet and margins, the desk's styles (栏目,
    标题, 署名, 正文, 核心提示) with their Chinese fonts named, zh-CN, properties from the page."""
    import docx
    from docx.shared import Cm, Mm

    document = docx.Document()
    width, height = PRINT_SHEETS.get(page.sheet, PRINT_SHEETS["A3"])
    for section in document.sections:
        section.page_width, section.page_height = Mm(width), Mm(height)
        for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
            setattr(section, side, Mm(DOCX_MARGIN_MM))
    _docx_styles(document)
    _docx_properties(document, page)

    masthead = f"{page.paper}　{chinese_date(page.date)}　{chinese_weekday(page.date)}　{page.page_label}版"
    document.add_paragraph(masthead, style="报头")
    if page.slogan:
        document.add_paragraph(page.slogan, style="报头")
    for box in page.band:
        document.add_paragraph(box.name.strip(), style="方向带标题")
        document.add_paragraph(box.description.strip(), style="方向带说明")
    if page.feature is not None:
        _docx_feature(document, page.feature, page.lead)
    document.add_paragraph(page.column_title, style="栏目")
    if page.lead and page.feature is None:
        _docx_lead(document, page.lead)

    for essay in _ordered(page):
        byline = compose_byline(essay, page.byline_style)
        document.add_paragraph(essay.headline.strip(), style="标题")
        if byline.under_headline:
            document.add_paragraph(byline.under_headline, style="署名")
        if _photo_kind(essay.photo_path) is not None and essay.photo_path is not None:
            document.add_paragraph(style="图片").add_run().add_picture(str(essay.photo_path), width=Cm(12))
        for text in paragraphs(essay.body):
            document.add_paragraph(text, style="正文")
        if byline.after_body:
            document.add_paragraph(byline.after_body, style="正文")

    if page.credits:
        document.add_paragraph("　".join(page.credits), style="署名")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _docx_lead(document, lead_text: str) -> None:  # noqa: ANN001
    lead = document.add_paragraph(style="核心提示")
    lead.add_run("核心提示：").bold = True
    lead.add_run(lead_text)


def _docx_feature(document, feature: PrintFeature, lead: str) -> None:  # noqa: ANN001
    """The feature in its own styles: 特稿标题, 特稿署名, the lead (核心提示) under it as on the page,
    then 特稿小标题 for a "——" opener's first sentence and 特稿正文 for the rest."""
    from docx.shared import Cm

    document.add_paragraph(feature.headline.strip(), style="特稿标题")
    document.add_paragraph(feature.byline.strip(), style="特稿署名")
    if lead:
        _docx_lead(document, lead)
    if _photo_kind(feature.photo_path) is not None and feature.photo_path is not None:
        document.add_paragraph(style="图片").add_run().add_picture(str(feature.photo_path), width=Cm(12))
        if feature.photo_credit.strip():
            document.add_paragraph(feature.photo_credit.strip(), style="图片")
    for part in feature_paragraphs(feature.body):
        if part["opener"]:
            document.add_paragraph(part["opener"], style="特稿小标题")
        if part["text"]:
            document.add_paragraph(part["text"], style="特稿正文")


def _docx_properties(document, page: PrintPage) -> None:  # noqa: ANN001
    props = document.core_properties
    when = page.generated_at or dt.datetime.now(dt.UTC)
    props.title = f"《{page.paper}》{chinese_date(page.date)} {page.page_label}版 {page.column_title}"
    props.subject = page.column_title
    props.author = page.editor or page.paper
    props.last_modified_by = page.editor or page.paper
    props.language = DOCX_LANGUAGE
    props.keywords = f"{page.page_label}; {page.date.isoformat()}; {page.column_title}"
    props.comments = f"{page.paper} {page.page_label}版 第 {page.version} 版次修改稿" if page.version else page.paper
    props.category = page.paper
    props.revision = max(1, page.version)
    props.created = props.modified = when.replace(tzinfo=None)
