"""Reading untrusted numbers and form bodies (citizenvoice.text.numbers, citizenvoice.web.forms) without HTTP."""

from __future__ import annotations

import pytest
from starlette.exceptions import HTTPException

from citizenvoice.text.numbers import MAX_ID, MAX_PAGE, page_number, parse_int
from citizenvoice.web.forms import MAX_FIELD_BYTES, MAX_FIELDS, NotUtf8, parse_urlencoded


@pytest.mark.parametrize(
    ("raw", "kwargs", "expected"),
    [
        ("12", {}, 12),
        (" 7 ", {}, 7),
        ("0", {}, 0),
        ("0", {"low": 1}, None),
        (str(MAX_ID), {}, MAX_ID),
        (str(MAX_ID + 1), {}, None),
        ("9" * 30, {}, None),  # beyond SQLite's 64-bit integers
        ("9" * 5000, {}, None),  # beyond what int() parses at all
        ("-1", {}, None),
        ("+1", {}, None),
        ("1.0", {}, None),
        ("²", {}, None),  # str.isdigit() says yes, int() says no
        ("١٢", {}, None),  # Arabic-Indic digits: int() reads them, nobody types them as an id
        ("", {}, None),
        ("11", {"high": 10}, None),
    ],
)
def test_parse_int(raw: str, kwargs: dict[str, int], expected: int | None) -> None:
    assert parse_int(raw, **kwargs) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [({}, 1), ({"page": "3"}, 3), ({"page": "0"}, 1), ({"page": "9" * 30}, 1), ({"page": "x"}, 1),
     ({"page": str(MAX_PAGE)}, MAX_PAGE), ({"page": str(MAX_PAGE + 1)}, 1)],
)  # fmt: skip
def test_page_number(query: dict[str, str], expected: int) -> None:
    assert page_number(query) == expected


def test_urlencoded_text_is_utf8_whether_escaped_or_raw() -> None:
    form = parse_urlencoded("headline=港口%E7%9A%84灯光&note=a+b%2Bc&empty=&bare".encode())
    assert form["headline"] == "港口的灯光"
    assert form["note"] == "a b+c"
    assert form["empty"] == "" and form["bare"] == ""


def test_repeated_fields_are_kept() -> None:
    assert parse_urlencoded(b"roles=editor&roles=moderator").getlist("roles") == ["editor", "moderator"]


@pytest.mark.parametrize(
    "body", [b"headline=%FF%FE", b"headline=\xff\xfe", b"headline=%C3%28", b"%FF=x", b"b=\xe6\xb2"]
)
def test_bytes_that_are_not_utf8_are_refused(body: bytes) -> None:
    with pytest.raises(NotUtf8):
        parse_urlencoded(body)


def test_too_many_fields_is_a_400() -> None:
    with pytest.raises(HTTPException) as refused:
        parse_urlencoded(b"&".join(b"f%d=x" % i for i in range(MAX_FIELDS + 1)))
    assert refused.value.status_code == 400


def test_an_over_long_field_is_a_413_that_says_so() -> None:
    parse_urlencoded(b"body=" + b"x" * (MAX_FIELD_BYTES - 5))
    with pytest.raises(HTTPException) as refused:
        parse_urlencoded(b"body=" + b"x" * (MAX_FIELD_BYTES - 4))
    assert refused.value.status_code == 413
    assert "超出大小限制" in refused.value.detail
