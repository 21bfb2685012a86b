"""Issue 19 on the proof: the directions band, the feature article and the essays in the seed page's
order, and the fill and balance rules of issue 16 applied to the whole page: measured on the rendered
PDF (pdftotext's word boxes) and checked against what the template reports (<cv-layout>)."""

from __future__ import annotations

import shutil

import pytest
from page_content_support import BAND, FEATURE_BODY, FEATURE_BYLINE, FEATURE_HEADLINE, OPENERS, band, feature
from test_printexport import needs_fonts, pdf_text
from test_printexport import photo as photo  # a fixture
from test_proof_layout import MM, columns_of, essay_columns, lines_of, page_of, words

from citizenvoice.domain import printexport

pytestmark = [needs_fonts, pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils missing")]


def full_page(count: int = 4, *, stretch: float = 1.0, **overrides) -> printexport.PrintPage:
    return page_of(count, stretch=stretch, band=band(), feature=feature(), **overrides)


def _top(found, text: str, *, min_height: float = 0) -> float:
    hits = [w.y0 for w in found if text in w.text and w.height >= min_height]
    assert hits, text
    return min(hits)


def feature_columns(page, proof, found):
    """The bottoms of the feature's six columns as rendered: body-size lines between the lead box
    and the column title over the essays."""
    size = proof.layout["body_size"]
    lead_bottom = max(w.y1 for w in found if "核心提示" in w.text)
    title_top = _top(found, page.column_title, min_height=20)
    lines = [w for w in lines_of(found, size) if lead_bottom < w.y0 < title_top]
    return [max(w.y1 for w in col) for col in columns_of(lines)]


def test_band_feature_and_essays_are_set_in_the_seed_pages_order(tmp_path) -> None:
    page = full_page(4)
    proof = printexport.render_proof_pdf(page)
    assert not proof.overflow and proof.pages == 1
    found = words(proof.pdf, tmp_path)
    band_top = _top(found, BAND[0][0])
    headline = _top(found, FEATURE_HEADLINE[:4], min_height=20)
    byline = _top(found, "李文静")
    lead = _top(found, "核心提示")
    column = _top(found, page.column_title, min_height=20)
    first_essay = min(_top(found, e.headline, min_height=14) for e in page.essays)
    credits = _top(found, "本版制图")
    assert band_top < headline < byline < lead < column < first_essay < credits
    # the eight boxes side by side in one row, in the editor's order
    tops = [_top(found, name) for name, _ in BAND]
    assert max(tops) - min(tops) < 2
    xs = [min(w.x0 for w in found if name in w.text and abs(w.y0 - band_top) < 2) for name, _ in BAND]
    assert xs == sorted(xs)
    text = pdf_text(proof.pdf)
    for name, sentence in BAND:
        assert name in text and sentence.replace("，", "，") in text
    for opener in OPENERS:
        assert opener in text
    assert FEATURE_BYLINE.replace(" ", "") in text


@pytest.mark.parametrize("count", [4, 6])
def test_the_features_columns_and_each_essays_end_within_one_line(count, tmp_path) -> None:
    page = full_page(count)
    proof = printexport.render_proof_pdf(page)
    assert not proof.overflow
    found = words(proof.pdf, tmp_path)
    credits_top = min(w.y0 for w in found if "本栏目内容由" in w.text)
    found = [w for w in found if w.y1 < credits_top]  # not the 9 pt proof stamp in the margin
    bottoms, advance = essay_columns(page, proof, found)
    for i, cols in bottoms.items():
        assert max(cols) - min(cols) <= advance * 1.05, (i, cols, advance)
    cols = feature_columns(page, proof, found)
    planned = proof.layout["feature"]
    assert len(cols) == planned["columns"] == 6
    assert max(cols) - min(cols) <= advance * 1.05, cols
    assert max(planned["column_lines"]) - min(planned["column_lines"]) <= 1


def test_the_band_and_the_feature_shrink_the_essay_area() -> None:
    alone = printexport.render_proof_pdf(page_of(4)).layout
    with_band = printexport.render_proof_pdf(page_of(4, band=band())).layout
    with_both = printexport.render_proof_pdf(full_page(4)).layout
    assert with_band["area_height"] < alone["area_height"] - 15  # the band takes ~20 mm off the top
    # the feature sits inside the area: it is part of what the area must hold
    assert with_both["used_height"] > alone["used_height"] + with_both["feature"]["height"] * 0.9
    assert with_both["free_ratio"] < alone["free_ratio"]


def test_a_fuller_page_with_a_feature_shrinks_the_body_for_the_whole_page() -> None:
    roomy = printexport.render_proof_pdf(page_of(6)).layout
    shared = printexport.render_proof_pdf(full_page(6))
    assert not shared.overflow
    assert roomy["body_size"] == 10.5
    assert shared.layout["body_size"] < roomy["body_size"]  # the feature and the essays share one size
    assert shared.layout["blank_marked"] or shared.layout["free_ratio"] <= printexport.BLANK_THRESHOLD


def test_a_short_page_with_band_and_feature_marks_its_free_room_as_measured(tmp_path) -> None:
    proof = printexport.render_proof_pdf(full_page(4))
    layout = proof.layout
    assert layout["blank_marked"] is True
    percent = round(layout["free_ratio"] * 100)
    assert f"留白约{percent}%" in pdf_text(proof.pdf)
    found = words(proof.pdf, tmp_path)
    size = layout["body_size"]
    body_bottom = max(w.y1 for w in lines_of(found, size))
    credits_top = min(w.y0 for w in found if "本栏目内容由" in w.text)
    measured = (credits_top - body_bottom) * (297 - 30) * MM / (297 * MM * 420 * MM) * 100
    assert abs(measured - percent) <= 3, (measured, percent)


def test_a_feature_too_long_for_the_page_is_told_how_many_lines_to_cut() -> None:
    long = "\n\n".join([FEATURE_BODY] * 4)
    proof = printexport.render_proof_pdf(page_of(6, stretch=1.3, band=band(), feature=feature(long)))
    assert proof.overflow
    cut = next(c for c in proof.layout["cuts"] if c["i"] == -1)
    assert cut["lines"] > 0
    text = pdf_text(proof.pdf)
    assert "超版" in text and f"特稿需删约{cut['lines']}行" in text


def test_ten_directions_are_set_in_two_rows(tmp_path) -> None:
    boxes = band() + [printexport.BandBox("生态宜居", "蓝天碧水，公园绿道。"), printexport.BandBox("民生福祉", "就业就医，上学出行。")]
    proof = printexport.render_proof_pdf(page_of(4, band=boxes))
    found = words(proof.pdf, tmp_path)
    tops = sorted({round(_top(found, b.name)) for b in boxes})
    assert len(tops) == 2, tops


def test_a_feature_photo_opens_its_first_column_with_its_credit(photo, tmp_path) -> None:
    page = full_page(4)
    page.feature.photo_path = photo
    page.feature.photo_credit = "本报记者 赵阳 摄"
    proof = printexport.render_proof_pdf(page)
    assert not proof.overflow
    assert "本报记者赵阳摄" in pdf_text(proof.pdf)
    cols = feature_columns(page, proof, words(proof.pdf, tmp_path))
    assert max(cols) - min(cols) <= proof.layout["advance"] * 1.05, cols
    assert max(proof.layout["feature"]["column_lines"]) - min(proof.layout["feature"]["column_lines"]) <= 1
