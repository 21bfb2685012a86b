"""Issue 19 at the print desk: the feature article (POST /editor/pages/{id}/feature) and the directions
band (POST /editor/pages/{id}/band) entered on the page screen, versioned, refused in Chinese with the
text kept, and carried by the proof, the DOCX and the package."""

from __future__ import annotations

import io
import zipfile

import pytest
from page_content_support import FEATURE_BODY, FEATURE_BYLINE, FEATURE_HEADLINE, OPENERS
from submit_helpers import count, parse
from support import csrf_from, db_read
from test_printdesk import _full_page, _locked_page, _page, _post, fonts_ready
from test_printexport import pdf_text, squash

from citizenvoice.store import directions as direction_store
from citizenvoice.store import pagecontent as content_store
from citizenvoice.store import printdesk as print_store
from citizenvoice.text.charcount import count_print_chars

BAND = ["logistics-hub", "new-energy-hub", "education-talent", "wellbeing"]


def _feature(client, page_id: int, **fields):
    data = {"headline": FEATURE_HEADLINE, "byline": FEATURE_BYLINE, "body": FEATURE_BODY, **fields}
    return _post(client, f"/editor/pages/{page_id}/feature", **data)


def _band(client, page_id: int, slugs: list[str], names: list[str] | None = None, texts: list[str] | None = None):
    token = csrf_from(client.get("/editor").text)
    data = [("csrf_token", token)] + [("direction", s) for s in slugs]
    data += [("band_name", n) for n in names or []] + [("band_description", t) for t in texts or []]
    return client.post(f"/editor/pages/{page_id}/band", content=_encode(data),
                       headers={"content-type": "application/x-www-form-urlencoded"})


def _encode(pairs) -> bytes:
    from urllib.parse import urlencode

    return urlencode(pairs).encode()


def test_the_feature_is_entered_on_the_page_screen_and_versioned(staff_client) -> None:
    client = staff_client("editor")
    page_id = _page(client)
    before = db_read(client, print_store.get_page, page_id).version
    response = _feature(client, page_id)
    assert response.status_code == 303
    assert response.headers["location"] == f"/editor/pages/{page_id}?notice=feature#feature"
    screen = parse(client.get(response.headers["location"]).text)
    assert screen.by_id("feature-headline").text() == FEATURE_HEADLINE
    assert screen.by_id("feature-chars").text() == str(count_print_chars(FEATURE_BODY))
    assert "——产业为基，把家底做厚" in screen.by_id("feature").text()
    assert db_read(client, print_store.get_page, page_id).version == before + 1
    assert _feature(client, page_id, headline="向海图强，港城的下一个五年").status_code == 303
    assert _feature(client, page_id, headline="向海图强，港城的下一个五年").status_code == 303  # unchanged: no version
    versions = db_read(client, content_store.feature_versions, page_id)
    assert [v.version for v in versions] == [2, 1]
    assert versions[0].headline == "向海图强，港城的下一个五年" and versions[1].headline == FEATURE_HEADLINE
    assert versions[0].char_count == count_print_chars(FEATURE_BODY)
    log = client.get(f"/editor/pages/{page_id}").text
    assert "保存特稿" in log and "第 2 稿" in log
    assert _post(client, f"/editor/pages/{page_id}/feature/remove").status_code == 303
    assert db_read(client, content_store.latest_feature, page_id).removed
    assert "本版还没有特稿" in client.get(f"/editor/pages/{page_id}").text


def test_a_bad_feature_is_refused_in_chinese_with_the_text_kept(staff_client) -> None:
    client = staff_client("editor")
    page_id = _page(client)
    response = _feature(client, page_id, headline="短", byline="", body="——产业为基。太短了。")
    assert response.status_code == 422
    page = parse(response.text)
    assert "特稿标题至少需要 4 个字" in page.by_id("f-headline-error").text()
    assert "请填写作者署名。" in page.by_id("f-byline-error").text()
    assert "特稿正文至少需要 200 个字" in page.by_id("f-body-error").text()
    assert page.by_id("f-body").text() == "——产业为基。太短了。"
    assert page.by_id("f-headline").get("value") == "短"
    assert count(client, "page_features") == 0


def test_a_feature_photo_needs_its_credit_and_a_bad_photo_is_refused(staff_client) -> None:
    from PIL import Image

    client = staff_client("editor")
    page_id = _page(client)
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (20, 60, 90)).save(buffer, "JPEG")
    token = csrf_from(client.get("/editor").text)
    fields = {"headline": FEATURE_HEADLINE, "byline": FEATURE_BYLINE, "body": FEATURE_BODY, "csrf_token": token}
    response = client.post(f"/editor/pages/{page_id}/feature", data=fields,
                           files={"photo": ("a.jpg", buffer.getvalue(), "image/jpeg")})
    assert response.status_code == 422
    assert "有照片时请填写摄影署名" in parse(response.text).by_id("f-photo_credit-error").text()
    response = client.post(f"/editor/pages/{page_id}/feature", data={**fields, "photo_credit": "本报记者 赵阳 摄"},
                           files={"photo": ("a.jpg", buffer.getvalue(), "image/jpeg")})
    assert response.status_code == 303
    feature = db_read(client, content_store.latest_feature, page_id)
    assert feature.photo_path and feature.photo_credit == "本报记者 赵阳 摄"
    # a new version without an upload keeps the photo
    assert _feature(client, page_id, photo_credit="本报记者 赵阳 摄", headline="港城的下一个五年").status_code == 303
    assert db_read(client, content_store.latest_feature, page_id).photo_path == feature.photo_path
    response = client.post(f"/editor/pages/{page_id}/feature", data={**fields, "photo_credit": "x"},
                           files={"photo": ("a.jpg", b"not an image", "image/jpeg")})
    assert response.status_code == 422
    assert parse(response.text).by_id("f-photo-error").text()


def test_the_band_keeps_the_editors_order_and_the_catalogues_words(staff_client) -> None:
    client = staff_client("editor")
    page_id = _page(client)
    response = _band(client, page_id, BAND, names=["", "新能源枢纽"], texts=["", "风光氢储，连成一体。"])
    assert response.status_code == 303
    band = db_read(client, content_store.band, page_id)
    assert [b.slug for b in band] == BAND
    catalogue = {d.slug: d for d in db_read(client, direction_store.list_directions)}
    assert (band[0].name, band[0].description) == (catalogue[BAND[0]].name, catalogue[BAND[0]].description)
    assert (band[1].name, band[1].description) == ("新能源枢纽", "风光氢储，连成一体。")
    assert "方向带（4 格）" in client.get(f"/editor/pages/{page_id}").text
    # reordered: the new order replaces the old
    assert _band(client, page_id, list(reversed(BAND))).status_code == 303
    assert [b.slug for b in db_read(client, content_store.band, page_id)] == list(reversed(BAND))
    # blank rows (the form's empty boxes) are skipped; an empty band clears it
    assert _band(client, page_id, ["", "ecology", ""]).status_code == 303
    assert [b.slug for b in db_read(client, content_store.band, page_id)] == ["ecology"]
    assert _band(client, page_id, []).status_code == 303
    assert db_read(client, content_store.band, page_id) == []


@pytest.mark.parametrize(("slugs", "message"), [
    (["ecology", "no-such-board"], "第 2 格的方向不在方向目录中"),
    (["ecology", "ecology"], "第 2 格「生态宜居」重复了"),
])
def test_a_bad_band_is_refused_in_chinese_and_nothing_changes(staff_client, slugs, message) -> None:
    client = staff_client("editor")
    page_id = _page(client)
    assert _band(client, page_id, BAND).status_code == 303
    response = _band(client, page_id, slugs)
    assert response.status_code == 422
    assert message in parse(response.text).by_id("band-errors").text()
    assert [b.slug for b in db_read(client, content_store.band, page_id)] == BAND


def test_more_than_ten_boxes_are_refused(staff_client) -> None:
    client = staff_client("editor")
    page_id = _page(client)
    slugs = [d.slug for d in db_read(client, direction_store.list_directions)][:11]
    assert len(slugs) == 11
    response = _band(client, page_id, slugs, names=["很长的名字" * 4])
    assert response.status_code == 422
    errors = parse(response.text).by_id("band-errors").text()
    assert "方向带最多 10 格，现在选了 11 格" in errors and "第 1 格的名称最多 16 个字" in errors
    assert db_read(client, content_store.band, page_id) == []


def test_a_printed_page_takes_no_new_feature_or_band(staff_client) -> None:
    client = staff_client("editor")
    page_id, _ = _locked_page(client)
    assert _feature(client, page_id).status_code == 303  # locked: still the desk's until printed
    assert _post(client, f"/editor/pages/{page_id}/printed").status_code == 303
    refused = _feature(client, page_id, headline="见报以后再改")
    assert refused.status_code == 409 and "特稿和方向带不能再改" in refused.text
    assert _band(client, page_id, BAND).status_code == 409
    assert db_read(client, content_store.latest_feature, page_id).headline == FEATURE_HEADLINE


def _page_with_content(client) -> int:
    page_id, ids = _full_page(client)
    assert _feature(client, page_id).status_code == 303
    assert _band(client, page_id, BAND).status_code == 303
    for essay_id in ids:
        _post(client, f"/editor/pages/{page_id}/slots/{essay_id}/verify", note="已电话核实")
    assert _post(client, f"/editor/pages/{page_id}/lock").status_code == 303
    return page_id


def test_the_package_has_the_feature_and_the_band_as_their_own_text_files(staff_client) -> None:
    client = staff_client("editor")
    page_id = _page_with_content(client)
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/editor/pages/{page_id}/package.zip").content))
    manifest = __import__("json").loads(archive.read("manifest.json"))
    feature_file = manifest["feature"]["text_file"]
    assert feature_file.startswith("00-特稿-") and feature_file in archive.namelist()
    text = archive.read(feature_file).decode("utf-8-sig")
    assert text.startswith(f"{FEATURE_HEADLINE}\r\n{FEATURE_BYLINE}\r\n\r\n")
    assert all(opener in text for opener in OPENERS)
    band_text = archive.read(manifest["files"]["band"]).decode("utf-8-sig")
    catalogue = {d.slug: d for d in db_read(client, direction_store.list_directions)}
    first = catalogue[BAND[0]]
    assert band_text.startswith(f"{first.name}\r\n{first.description}\r\n\r\n")
    assert [b["name"] for b in manifest["band"]] == [catalogue[s].name for s in BAND]
    assert manifest["feature"]["char_count"] == count_print_chars(FEATURE_BODY)


def test_the_docx_sets_the_feature_and_band_in_their_own_styles(staff_client) -> None:
    import docx

    client = staff_client("editor")
    page_id = _page_with_content(client)
    document = docx.Document(io.BytesIO(client.get(f"/editor/pages/{page_id}/page.docx").content))
    by_style: dict[str, list[str]] = {}
    for p in document.paragraphs:
        by_style.setdefault(p.style.name, []).append(p.text)
    assert by_style["特稿标题"] == [FEATURE_HEADLINE]
    assert by_style["特稿署名"] == [FEATURE_BYLINE]
    assert by_style["特稿小标题"] == OPENERS
    assert any("产业的底气来自实打实的投入" in t for t in by_style["特稿正文"])
    catalogue = {d.slug: d for d in db_read(client, direction_store.list_directions)}
    assert by_style["方向带标题"] == [catalogue[s].name for s in BAND]
    assert by_style["方向带说明"] == [catalogue[s].description for s in BAND]
    order = [p.style.name for p in document.paragraphs]
    assert order.index("方向带标题") < order.index("特稿标题") < order.index("栏目") < order.index("标题")


@pytest.mark.skipif(not fonts_ready(), reason="CJK fonts missing")
def test_the_proof_has_the_band_the_feature_and_the_essays(staff_client) -> None:
    client = staff_client("editor")
    page_id = _page_with_content(client)
    text = pdf_text(client.get(f"/editor/pages/{page_id}/proof.pdf").content)
    catalogue = {d.slug: d for d in db_read(client, direction_store.list_directions)}
    for slug in BAND:
        assert squash(catalogue[slug].name) in text
    assert squash(FEATURE_HEADLINE) in text and squash(FEATURE_BYLINE) in text
    for opener in OPENERS:
        assert opener in text
    positions = [text.index(squash(catalogue[BAND[0]].name)), text.index(squash(FEATURE_HEADLINE)),
                 text.index("写给下一个五年", text.index(squash(FEATURE_HEADLINE)))]
    assert positions == sorted(positions)
