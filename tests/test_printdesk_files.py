"""Issue 16, files for the layout desk, as the editor downloads them: the package's encodings, names,
line ends and contents, and the DOCX's properties from the page and the editor."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from starlette.testclient import TestClient
from support import add_user, login
from test_printdesk import VOICES, _locked_page, _post, fonts_ready


def test_the_package_by_default_is_utf8_with_bom_and_names_each_essay(staff_client):
    client = staff_client("editor")
    page_id, _ = _locked_page(client)
    _post(client, f"/editor/pages/{page_id}/settings", slogan="向海图强 再创辉煌")
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/editor/pages/{page_id}/package.zip").content))
    names = archive.namelist()
    for number, (_, _, _, headline) in enumerate(VOICES, start=1):
        assert f"{number:02d}-{headline}.txt" in names
    assert {"00-核心提示.txt", "00-版面署名.txt", "00-通栏口号.txt"} <= set(names)
    text = archive.read("01-社区的灯火.txt")
    assert text.startswith(b"\xef\xbb\xbf") and b"\r\n" in text
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["text_encoding"] == "UTF-8-BOM" and manifest["slogan"] == "向海图强 再创辉煌"
    assert manifest["files"]["docx"] in names
    if fonts_ready():
        assert archive.read(manifest["files"]["proof_pdf"]).startswith(b"%PDF")
    assert "13812345678" not in json.dumps(manifest, ensure_ascii=False)


def test_the_package_in_gb18030_and_a_wrong_encoding_is_refused(staff_client):
    client = staff_client("editor")
    page_id, _ = _locked_page(client)
    response = client.get(f"/editor/pages/{page_id}/package.zip?encoding=gb18030")
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    raw = archive.read("02-一条通向世界的路.txt")
    assert raw.decode("gb18030").startswith("一条通向世界的路\r\n锦港物流有限公司总经理 赵明\r\n")
    assert json.loads(archive.read("manifest.json"))["text_encoding"] == "GB18030"
    refused = client.get(f"/editor/pages/{page_id}/package.zip?encoding=latin-1")
    assert refused.status_code == 422 and "gb18030" in refused.text


@pytest.mark.parametrize("sheet", ["A3", "A4"])
def test_the_docx_carries_the_editor_and_the_sheet_setting(make_app, tmp_path, sheet):
    import docx

    with TestClient(make_app(tmp_path, print_sheet=sheet), base_url="http://testserver",
                    follow_redirects=False) as client:  # fmt: skip
        add_user(client, "editor-li", "editor")
        login(client, "editor-li")
        page_id, _ = _locked_page(client)
        document = docx.Document(io.BytesIO(client.get(f"/editor/pages/{page_id}/page.docx").content))
    assert document.core_properties.author == "editor-li"
    width = round(document.sections[0].page_width.mm)
    assert width == {"A3": 297, "A4": 210}[sheet]
