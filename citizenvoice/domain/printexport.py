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
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

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
_PHOTO_TYPES = ((b"\xff\xd8\xff", "jpg"), (b"\x89PNG\r\n\x1a\n", "png"))
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\u3000]*\n\s*")
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")


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


@dataclass(frozen=True)
class ProofResult:
    pdf: bytes
    overflow: bool
    pages: int


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
    return ProofResult(pdf=pdf, overflow=bool(fit["overflow"]), pages=int(fit["pages"]))


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


def build_package_zip(page: PrintPage) -> bytes:
    """One text file per essay, the photos and ``manifest.json``, for the layout desk."""
    # A fixed timestamp (the publication date) makes the same page give the same bytes.
    stamp = (max(page.date.year, 1980), page.date.month, page.date.day, 0, 0, 0)
    entries = []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:

        def add(name: str, data: bytes, compress: int) -> None:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = compress
            archive.writestr(info, data)

        for order, essay in enumerate(_ordered(page), start=1):
            text_file = f"{order:02d}-{essay.slot}.txt"
            add(text_file, essay_text(essay, page.byline_style).encode("utf-8"), zipfile.ZIP_DEFLATED)
            photo_file = None
            kind = _photo_kind(essay.photo_path)
            if kind is not None and essay.photo_path is not None:
                photo_file = f"photos/{order:02d}.{kind}"
                add(photo_file, essay.photo_path.read_bytes(), zipfile.ZIP_STORED)
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
            "essays": entries,
        }
        add(
            "manifest.json",
            json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8"),
            zipfile.ZIP_DEFLATED,
        )
    return buffer.getvalue()


# ---- the DOCX -----------------------------------------------------------------------------------


def _east_asian_font(run_or_style, name: str) -> None:
    """python-docx sets only the Latin font name; Chinese text needs w:eastAsia as well."""
    from docx.oxml.ns import qn

    r_pr = run_or_style.element.get_or_add_rPr()
    r_pr.get_or_add_rFonts().set(qn("w:eastAsia"), name)


def build_docx(page: PrintPage) -> bytes:
    """Masthead, lead, then each essay: headline (Heading 1), byline, paragraphs, photo."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    document = docx.Document()
    normal = document.styles["Normal"]
    normal.font.size = Pt(10.5)
    _east_asian_font(normal, "宋体")
    for style_name in ("Title", "Heading 1"):
        _east_asian_font(document.styles[style_name], "黑体")

    masthead = f"{page.paper}　{chinese_date(page.date)}　{chinese_weekday(page.date)}　{page.page_label}版"
    document.add_paragraph(masthead)
    if page.slogan:
        document.add_paragraph(page.slogan)
    document.add_heading(page.column_title, level=0)
    if page.lead:
        lead = document.add_paragraph()
        lead.add_run("核心提示：").bold = True
        lead.add_run(page.lead)

    for essay in _ordered(page):
        byline = compose_byline(essay, page.byline_style)
        document.add_heading(essay.headline.strip(), level=1)
        if byline.under_headline:
            document.add_paragraph(byline.under_headline).alignment = WD_ALIGN_PARAGRAPH.CENTER
        if _photo_kind(essay.photo_path) is not None and essay.photo_path is not None:
            document.add_picture(str(essay.photo_path), width=Cm(12))
        for text in paragraphs(essay.body) + ([byline.after_body] if byline.after_body else []):
            paragraph = document.add_paragraph(text)
            paragraph.paragraph_format.first_line_indent = Pt(21)  # two characters of 10.5 pt
            paragraph.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY

    if page.credits:
        document.add_paragraph("　".join(page.credits))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
