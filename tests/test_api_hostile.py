"""The hostile-input battery replayed as JSON against every POST route of the API.

The same two promises as tests/test_hostile_inputs.py: invalid input gets a specific 4xx (never a
500) with a Chinese message in the API's error shape, and no row anywhere changes (every table
checksummed around the request); hostile but valid text (XSS, SQL, template syntax) is stored as typed
and comes back as JSON strings, never interpreted. Routes are enumerated from the app, so a new API
route is covered the day it lands.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from api_support import ApiClient, submission
from factories import make_essay
from starlette.testclient import TestClient
from test_hostile_inputs import XSS_AFFILIATION, XSS_BODY, XSS_HEADLINE, XSS_NAME, changed_tables, snapshot

from citizenvoice.app import app_routes
from citizenvoice.web.routing import AccessRoute
from tests.messaging_helpers import quiet

API_POSTS = sorted({r.path: r for r in app_routes() if isinstance(r, AccessRoute) and r.path.startswith("/api/")
                    and "POST" in (r.methods or ())}.values(), key=lambda r: r.path)

HOSTILE_BODIES: dict[str, tuple[bytes, str]] = {  # label -> (body, content type)
    "form-encoded": (b"headline=x&body=y", "application/x-www-form-urlencoded"),
    "multipart": (b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\ny\r\n--b--\r\n", "multipart/form-data; boundary=b"),
    "text-plain-json": (b'{"headline": "x"}', "text/plain"),
    "no-content-type": (b'{"headline": "x"}', ""),
    "broken": (b'{"headline": "', "application/json"),
    "not-utf8": ('{"headline": "港口"}'.encode("gb18030"), "application/json"),
    "array": (b"[]", "application/json"),
    "string": (b'"hello"', "application/json"),
    "null": (b"null", "application/json"),
    "number": (b"1e999", "application/json"),
    "nested": (b"[" * 10_000 + b"]" * 10_000, "application/json"),
    "nul-bytes": (b'{"\x00": "\x00"}', "application/json"),
    "wrong-types": (json.dumps({"headline": 1, "body": [], "answer": {}, "version": "1", "phone": True,
                                "consent_publish": "yes", "idempotency_key": 12}).encode(), "application/json"),
    "huge-int": (b'{"version": 1' + b"0" * 400 + b"}", "application/json"),
    "empty": (b"", "application/json"),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, make_app) -> Iterator[tuple[TestClient, dict[str, Any]]]:  # noqa: ANN001
    app = make_app(tmp_path_factory.mktemp("api-hostile"))
    with TestClient(app) as client:
        quiet(client)  # only the request may change a table (not the background message sender)
        essays = {status: make_essay(client, status) for status in ("pending", "needs_revision", "published")}
        yield client, essays


def _url(path: str, essays: dict[str, Any]) -> str:
    return path.replace("{token}", essays["needs_revision"].token)


@pytest.mark.parametrize("label", list(HOSTILE_BODIES))
@pytest.mark.parametrize("route", API_POSTS, ids=lambda r: r.path)
def test_every_api_post_refuses_bad_bodies_and_changes_nothing(world, route: AccessRoute, label: str) -> None:  # noqa: ANN001
    client, essays = world
    api = ApiClient(client)
    body, content_type = HOSTILE_BODIES[label]
    headers = {"content-type": content_type} if content_type else {}
    settings = client.app.state.settings
    before = snapshot(settings)
    answer = api.post(_url(route.path, essays), content=body, headers=headers)
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    error = answer.json()["error"]
    assert error["code"] and not error["message"].isascii()
    assert changed_tables(before, snapshot(settings)) == []


def test_an_oversized_body_is_a_json_413_and_nothing_is_read_past_the_limit(world) -> None:  # noqa: ANN001
    client, _ = world
    api = ApiClient(client)
    big = json.dumps(submission(body="港" * (client.app.state.settings.max_body_bytes // 3 + 10))).encode()
    answer = api.post("/api/v1/submissions", content=big, headers={"content-type": "application/json"})
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "too_large"


def test_hostile_text_is_stored_as_typed_and_returned_as_plain_json(world) -> None:  # noqa: ANN001
    client, _ = world
    api = ApiClient(client)
    created = api.post("/api/v1/submissions", submission(
        headline=XSS_HEADLINE, author_name=XSS_NAME, affiliation=XSS_AFFILIATION, body=XSS_BODY,
        idempotency_key="hostile-text-0123456789abcdef", phone="13700001111", direction="ecology"))
    assert created.status_code == 201, created.text
    tracked = api.get(f"/api/v1/track/{created.json()['tracking_token']}")
    assert tracked.json()["headline"] == XSS_HEADLINE
    assert "<script>" in tracked.json()["headline"] and tracked.headers["content-type"] == "application/json"
    assert tracked.headers["x-content-type-options"] == "nosniff"
