"""The request log of a real ``citizenvoice serve`` (slow): lines are written from a queue by a
thread, and every one of them is in the log once the server has stopped on SIGTERM (systemd's stop),
with one worker and with two."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import pytest
from test_crash_safety import load_crash_test

pytestmark = pytest.mark.slow

REQUESTS = 300


@pytest.mark.parametrize("workers", [1, 2])
def test_no_request_line_is_lost_when_the_server_stops(tmp_path: Path, workers: int) -> None:
    crash_test = load_crash_test()
    server = crash_test.Server(tmp_path, workers=workers)
    server.start()
    try:
        ids = []
        with httpx2.Client(base_url=server.url, timeout=30.0) as client:
            for i in range(REQUESTS):
                # A cached page, a page with a query, and one that is not there.
                path = ("/", "/search?q=港口", "/essays/999999")[i % 3]
                response = client.get(path, headers={"Accept-Encoding": "gzip"})
                assert response.status_code in (200, 404)
                ids.append(response.headers["x-request-id"])
    finally:
        server.stop()  # SIGTERM to the process group, as systemd sends it; at once after the last answer
    assert server.process.returncode is not None
    entries = [json.loads(line) for line in server.log_text().splitlines() if line.startswith("{")]
    logged = {e["request_id"]: e for e in entries if e["logger"] == "citizenvoice.access"}
    assert [i for i in ids if i not in logged] == []
    assert {logged[i]["path"] for i in ids} == {"/", "/search", "/essays/999999"}
    assert sum("Finished server process" in e["message"] for e in entries) == workers
