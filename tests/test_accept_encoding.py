"""Accept-Encoding q-values are honoured: ``gzip;q=0`` gets no gzip, from the page cache or the app."""

from __future__ import annotations

import pytest
from factories import make_essay
from starlette.testclient import TestClient

from citizenvoice.web.encoding import accepts_gzip

CASES = [
    ("gzip", True),
    ("gzip, deflate, br", True),
    ("gzip;q=0", False),
    ("gzip; q=0.0, identity", False),
    ("br;q=1.0, gzip;q=0", False),
    ("gzip;q=0.5", True),
    ("GZIP;Q=0.001", True),
    ("*;q=0.1", True),
    ("*;q=0", False),
    ("*, gzip;q=0", False),  # named beats the wildcard
    ("identity", False),
    ("x-gzip", True),
    ("gzip;q=nonsense", False),
    ("", False),
]


@pytest.mark.parametrize(("header", "gzip_ok"), CASES, ids=[c[0] or "empty" for c in CASES])
def test_accepts_gzip_reads_q_values(header: str, gzip_ok: bool) -> None:
    assert accepts_gzip(header) is gzip_ok


def _get(client: TestClient, path: str, accept: str):
    return client.get(path, headers={"accept-encoding": accept})


@pytest.mark.parametrize(("header", "gzip_ok"), [c for c in CASES if c[0]], ids=[c[0] for c in CASES if c[0]])
def test_a_cached_public_page_follows_the_header(client: TestClient, header: str, gzip_ok: bool) -> None:
    essay_id, _ = make_essay(client, status="published")
    path = f"/essays/{essay_id}"
    _get(client, path, "gzip")
    _get(client, path, "gzip")  # stored by now: the next answer is a cache hit
    response = _get(client, path, header)
    assert response.headers.get("cache-status") == "CitizenVoice; hit"
    assert (response.headers.get("content-encoding") == "gzip") is gzip_ok
    assert "写给下一个五年" in response.text  # readable either way


def test_an_uncached_page_follows_it_too(client: TestClient) -> None:
    refused = _get(client, "/submit", "gzip;q=0")
    assert refused.status_code == 200 and "content-encoding" not in refused.headers
    assert _get(client, "/submit", "gzip;q=1").headers.get("content-encoding") == "gzip"
