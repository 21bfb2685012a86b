"""Issue 16, the proof: fill and balance, headline fitting, CJK line rules and the 清样 stamp,
measured on the rendered PDF (pdftotext's word boxes: where Typst actually put each line) and
checked against what the template reports (<cv-layout>)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil
import statistics
import subprocess
from collections import Counter
from html import unescape

import pytest
from test_printexport import demo_page, needs_fonts, pdf_text
from test_printexport import photo as photo  # a fixture

from citizenvoice.domain import printexport

pytestmark = [needs_fonts, pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils missing")]
CLOSING = "，。、；：？！”’）》」』"
MM = 72 / 25.4


@dataclasses.dataclass
class Word:
    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    column: float = -1  # the left edge of the column a merged line sits in

    @property
    def height(self) -> float:
        return self.y1 - self.y0


def words(pdf: bytes, tmp_path) -> list[Word]:
    path = tmp_path / "proof.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", "-bbox", str(path), "-"], capture_output=True, text=True, check=True).stdout
    pattern = r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<'
    return [Word(float(a), float(b), float(c), float(d), unescape(t)) for a, b, c, d, t in re.findall(pattern, out)]


def lines_of(found: list[Word], size: float) -> list[Word]:
    """Body-size words merged into lines. pdftotext splits a line where a compressed punctuation mark
    leaves a gap, and a hanging mark reaches into the gutter, so fragments are put in the column whose
    left edge (an x at which at least three lines start, not two ems in from another) they follow."""
    body = [w for w in found if abs(w.height - size) < 0.8]
    counts = Counter(round(w.x0) for w in body)
    starts = sorted(x for x, c in counts.items() if c >= 3)
    lefts: list[int] = []
    for x in starts:  # a column is at least five characters wide: a closer "start" is inside one
        if not any(abs(x - 2 * size - o) <= 1.5 for o in starts) and (not lefts or x - lefts[-1] >= 5 * size):
            lefts.append(x)
    grouped: dict[tuple[int, int], list[Word]] = {}
    for word in body:
        column = max((x for x in lefts if x <= word.x0 + size), default=round(word.x0))  # a compressed “ sits left
        grouped.setdefault((column, round(word.y0)), []).append(word)
    merged = []
    for key, parts in grouped.items():
        parts.sort(key=lambda w: w.x0)
        merged.append(Word(parts[0].x0, parts[0].y0, parts[-1].x1, max(w.y1 for w in parts),
                           "".join(w.text for w in parts), key[0]))  # fmt: skip
    return merged


def page_of(count: int, *, stretch: float = 1.0, **overrides) -> printexport.PrintPage:
    page = demo_page(editor="editor-wang", version=7, **overrides)
    page.essays = page.essays[:count]
    if stretch != 1.0:
        for essay in page.essays:
            extra = essay.body[: int(len(essay.body) * (stretch - 1))]
            essay.body = essay.body + "\n\n" + extra.rstrip("，、") + "。"
    return page


def columns_of(lines: list[Word]) -> list[list[Word]]:
    """Merged lines grouped by their column, left to right."""
    groups: dict[float, list[Word]] = {}
    for line in lines:
        groups.setdefault(line.column, []).append(line)
    return [groups[x] for x in sorted(groups)]


def essay_columns(page: printexport.PrintPage, proof: printexport.ProofResult, found: list[Word]):
    """Per essay (slot order), the bottom of each of its columns as rendered, and the line advance."""
    size = proof.layout["body_size"]
    body = lines_of(found, size)
    essays = {e["i"]: e for e in proof.layout["essays"]}
    rows = printexport._rows(len(page.essays))
    row_tops = [min(w.y0 for w in found if w.height > 14 and w.text in {page.essays[i].headline for i in r})
                for r in rows]  # fmt: skip
    result = {}
    for r, indices in enumerate(rows):
        top, bottom = row_tops[r], row_tops[r + 1] if r + 1 < len(row_tops) else 10_000
        cols = columns_of([w for w in body if top < w.y0 < bottom])
        n = essays[indices[0]]["columns"]
        assert len(cols) == n * len(indices), f"row {r}: {len(cols)} columns found"
        for j, i in enumerate(indices):
            result[i] = [max(w.y1 for w in col) for col in cols[j * n:(j + 1) * n]]
    steps = []
    for col in columns_of(body):  # the pitch of consecutive lines within each column
        ys = sorted(w.y0 for w in col)
        steps += [b - a for a, b in zip(ys, ys[1:], strict=False) if 5 < b - a < 30]
    advance = statistics.median(steps)
    assert abs(advance - proof.layout["advance"]) < 0.5  # the rendered line pitch is the planned one
    return result, proof.layout["advance"]


@pytest.mark.parametrize("count", [4, 5, 6])
def test_each_essays_columns_end_within_one_line_of_each_other(count, tmp_path) -> None:
    page = page_of(count)
    proof = printexport.render_proof_pdf(page)
    assert not proof.overflow
    bottoms, advance = essay_columns(page, proof, words(proof.pdf, tmp_path))
    assert sorted(bottoms) == list(range(count))
    for i, cols in bottoms.items():
        assert max(cols) - min(cols) <= advance * 1.05, (i, cols, advance)


@pytest.mark.parametrize("count", [4, 5, 6])
def test_a_short_page_marks_its_free_room_and_the_mark_matches_the_page(count, tmp_path) -> None:
    page = page_of(count)
    proof = printexport.render_proof_pdf(page)
    layout = proof.layout
    assert layout["body_size"] == 10.5  # the largest size of the range: the text is short even so
    assert layout["blank_marked"] is True
    percent = round(layout["free_ratio"] * 100)
    text = pdf_text(proof.pdf)
    assert f"留白约{percent}%" in text
    found = words(proof.pdf, tmp_path)
    body_bottom = max(w.y1 for w in lines_of(found, 10.5))
    credits_top = min(w.y0 for w in found if "本栏目内容由" in w.text)
    measured = (credits_top - body_bottom) * (297 - 30) * MM / (297 * MM * 420 * MM) * 100
    assert abs(measured - percent) <= 3, (measured, percent)


def test_a_fuller_page_picks_a_size_in_range_and_leaves_no_unmarked_blank(tmp_path) -> None:
    page = page_of(6, stretch=1.35)
    proof = printexport.render_proof_pdf(page)
    layout = proof.layout
    assert not proof.overflow
    assert 9.0 <= layout["body_size"] <= 10.5
    assert layout["blank_marked"] or layout["free_ratio"] <= printexport.BLANK_THRESHOLD
    assert ("留白" in pdf_text(proof.pdf)) == layout["blank_marked"]


def test_a_long_page_shrinks_the_body_before_it_overflows() -> None:
    roomy = printexport.render_proof_pdf(page_of(6, stretch=1.35)).layout["body_size"]
    tight = printexport.render_proof_pdf(page_of(6, stretch=1.6))
    assert not tight.overflow
    assert tight.layout["body_size"] < roomy


def test_the_body_size_range_is_a_setting() -> None:
    proof = printexport.render_proof_pdf(page_of(4, body_pt=(8.0, 9.0)))
    assert proof.layout["body_size"] == 9.0


LONG_HEADLINE = "以深耕细作的功夫让老企业走上高质量发展"  # 19 characters


@pytest.mark.parametrize("count", [4, 6])
def test_a_long_headline_is_one_line_or_balanced_lines_never_a_stub(count, tmp_path) -> None:
    page = page_of(count)
    page.essays[1].headline = LONG_HEADLINE
    proof = printexport.render_proof_pdf(page)
    fit = next(e for e in proof.layout["essays"] if e["i"] == 1)
    lines = fit["headline_lines"]
    assert "".join(lines) == LONG_HEADLINE
    assert all(len(line) >= 3 for line in lines)
    if len(lines) == 2:
        assert abs(len(lines[0]) - len(lines[1])) <= 2
    rendered = [w.text for w in words(proof.pdf, tmp_path) if w.height > 14 and w.text in LONG_HEADLINE]
    assert rendered and all(len(t) >= 3 for t in rendered), rendered


def test_headline_fit_as_the_slot_screen_estimates_it() -> None:
    assert printexport.headline_fit("楼道里亮起的那盏灯", 2).lines == ["楼道里亮起的那盏灯"]
    split = printexport.headline_fit(LONG_HEADLINE, 3)
    assert len(split.lines) == 2 and min(len(x) for x in split.lines) >= 3
    assert printexport.headline_fit("很" * 60, 3).fits is False


@pytest.mark.parametrize("count", [4, 6])
def test_cjk_lines_follow_clreq(count, tmp_path) -> None:
    page = page_of(count)
    proof = printexport.render_proof_pdf(page)
    size = proof.layout["body_size"]
    body = lines_of(words(proof.pdf, tmp_path), size)
    assert not [w.text for w in body if w.text[:1] in CLOSING]  # no line starts with closing punctuation
    spread = [w.text for w in body if len(w.text) >= 8
              and re.fullmatch(r"[\u3000-\u9fff\uff00-\uffef“”‘’—…·]+", w.text)
              and (w.x1 - w.x0) / len(w.text) > size * 1.12]  # fmt: skip
    assert spread == []  # no line spread out character by character


def test_the_proof_stamp_is_in_the_margin_of_every_proof(tmp_path) -> None:
    page = page_of(4, generated_at=dt.datetime(2026, 12, 6, 14, 5, tzinfo=dt.UTC))
    proof = printexport.render_proof_pdf(page)
    assert "清样T08版·二〇二五年十一月二十四日·版面第7版·编辑editor-wang·打印于2026-12-0622:05北京时间" in pdf_text(
        proof.pdf)
    stamp = [w for w in words(proof.pdf, tmp_path) if w.text == "清样"]
    assert stamp and all(w.y0 > (420 - 12) * MM for w in stamp)  # below the text area, in the margin


@pytest.mark.parametrize("count", [4, 5, 6])
def test_columns_stay_balanced_with_a_photo(count, photo, tmp_path) -> None:
    page = page_of(count)
    page.essays[1].photo_path = photo
    proof = printexport.render_proof_pdf(page)
    assert not proof.overflow
    bottoms, advance = essay_columns(page, proof, words(proof.pdf, tmp_path))
    for i, cols in bottoms.items():
        assert max(cols) - min(cols) <= advance * 1.05, (i, cols, advance)
