"""The benchmark's own pure parts: reading wrk's output, and the data generator's database.

No timings are asserted here; the benchmark itself is `make bench`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import sys
from pathlib import Path

import aiosqlite
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # bench/ is not a package on the path when pytest runs from elsewhere
    sys.path.insert(0, str(ROOT))

from bench import generate, loadlib, run  # noqa: E402
from citizenvoice import db as database  # noqa: E402
from citizenvoice.domain import accounts, submission  # noqa: E402
from citizenvoice.domain.screening import SAMPLE_BANNED, SAMPLE_SUSPECT, Screener  # noqa: E402
from citizenvoice.model.essays import AUTHOR_ROLES, BylineParts, byline  # noqa: E402
from citizenvoice.store import search  # noqa: E402

WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:8123/boards/logistics-hub
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    25.31ms    8.02ms  1.20s    91.52%
    Req/Sec     1.27k   102.33     1.50k    70.00%
  Latency Distribution
     50%  812.00us
     75%   27.44ms
     90%   31.02ms
     99%    1.20s
  25312 requests in 10.01s, 142.75MB read
  Socket errors: connect 0, read 3, write 0, timeout 2
  Non-2xx or 3xx responses: 7
Requests/sec:   2528.71
Transfer/sec:     14.26MB
"""


def test_parse_wrk_reads_rate_percentiles_in_any_unit_and_counts_every_error() -> None:
    result = loadlib.parse_wrk(WRK_OUTPUT)
    assert result.requests_per_s == pytest.approx(2528.71)
    assert result.p50_ms == pytest.approx(0.812)
    assert result.p99_ms == pytest.approx(1200.0)
    assert result.errors == 7 + 3 + 2 and result.requests == 25312
    assert result.bytes_per_response == pytest.approx(14.26 * 1024**2 / 2528.71)


def test_parse_wrk_without_errors_and_refuses_output_without_numbers() -> None:
    clean = "\n".join(line for line in WRK_OUTPUT.splitlines() if "errors" not in line and "Non-2xx" not in line)
    assert loadlib.parse_wrk(clean).errors == 0
    with pytest.raises(ValueError):
        loadlib.parse_wrk("unable to connect to 127.0.0.1:8123 Connection refused")


def test_median_of_runs_and_nearest_rank_percentile() -> None:
    runs = [loadlib.WrkResult(r, r / 100, r / 10, e) for r, e in ((100, 0), (300, 1), (200, 2))]
    median = loadlib.median_result(runs)
    assert (median.requests_per_s, median.p50_ms, median.p99_ms, median.errors) == (200, 2.0, 20.0, 3)
    samples = [float(i) for i in range(1, 201)]
    assert loadlib.percentile(samples, 95) == 190.0
    assert loadlib.percentile(samples, 50) == 100.0


def test_hidden_tokens_finds_the_form_tokens_whatever_the_attribute_order() -> None:
    html = (
        '<form><input type="hidden" name="csrf_token" value="abc">'
        '<input value="tok-1" type="hidden" name="form_token"><input name="headline" value="x"></form>'
    )
    assert run.hidden_tokens(html) == {"csrf_token": "abc", "form_token": "tok-1"}


# ---------------------------------------------------------------------------------------------------
# The generator


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    path = tmp_path_factory.mktemp("bench") / "cv.db"
    summary = generate.generate(50, path, seed=11, processes=0, city="锦州", quiet=True)
    return path, summary


def _rows(path: Path, sql: str) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


def _cjk(text: str) -> int:
    return sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")


def test_generator_status_mix_boards_and_roles(generated: tuple[Path, dict[str, object]]) -> None:
    path, _ = generated
    statuses = dict(_rows(path, "SELECT status, count(*) FROM essays GROUP BY status"))
    assert sum(statuses.values()) == 50
    assert statuses["pending"] == 5
    assert statuses["rejected"] >= 1 and statuses["withdrawn"] >= 1
    assert statuses["published"] > 25
    boards = {r[0] for r in _rows(path, "SELECT DISTINCT direction_id FROM essays")}
    assert boards == {r[0] for r in _rows(path, "SELECT id FROM directions WHERE archived = 0")}
    assert {r[0] for r in _rows(path, "SELECT DISTINCT author_role FROM essays")} == set(AUTHOR_ROLES)


def test_generated_essays_would_pass_the_submission_form(generated: tuple[Path, dict[str, object]]) -> None:
    path, _ = generated
    directions = dict(_rows(path, "SELECT slug, id FROM directions"))
    screener = Screener(SAMPLE_BANNED, SAMPLE_SUSPECT)
    rows = _rows(
        path,
        "SELECT e.headline, e.body, d.slug, e.author_role, e.author_name, e.affiliation, e.byline_mode, e.phone,"
        " e.status FROM essays e JOIN directions d ON d.id = e.direction_id",
    )
    for headline, body, slug, role, name, affiliation, mode, phone, status in rows:
        assert 400 <= _cjk(body) <= 1520  # a planted screening sentence may add a few characters
        raw = {
            "headline": headline, "body": body, "direction": slug, "author_role": role, "author_name": name,
            "affiliation": affiliation, "byline_mode": mode, "phone": phone, "email": "",
            "consent_publish": "yes", "consent_print": "", "consent_privacy": "yes",
        }  # fmt: skip
        checked = submission.validate(raw, directions)
        assert checked.ok, checked.errors
        if status != "pending":
            assert screener.screen(headline + "\n" + body).flags == ()


def test_generated_events_and_versions_follow_the_lifecycle(generated: tuple[Path, dict[str, object]]) -> None:
    path, _ = generated
    trail: dict[int, list[str]] = {}
    for essay_id, action in _rows(path, "SELECT essay_id, action FROM essay_events ORDER BY id"):
        trail.setdefault(essay_id, []).append(action)
    for essay_id, status, version, published_at in _rows(path, "SELECT id, status, version, published_at FROM essays"):
        actions = trail[essay_id]
        assert actions[0] == "submit"
        assert version == len(actions)
        assert ("approve" in actions) == (published_at is not None)
        expected_last = {"pending": "submit", "published": "approve", "printed": "print", "rejected": "reject",
                         "withdrawn": "withdraw", "needs_revision": "revise", "unpublished": "unpublish"}  # fmt: skip
        assert actions[-1] == expected_last[status]
    revisions = _rows(path, "SELECT count(*), min(number), max(number) FROM essay_revisions")[0]
    assert revisions == (50, 1, 1)


def test_generated_staff_can_sign_in(generated: tuple[Path, dict[str, object]]) -> None:
    path, _ = generated
    found = {
        name: (role, password_hash)
        for name, role, password_hash in _rows(
            path, "SELECT u.username, r.role, u.password_hash FROM users u JOIN user_roles r ON r.user_id = u.id"
        )
    }
    assert found["bench-mod"][0] == "moderator"
    assert found["bench-editor"][0] == "editor"
    assert accounts.verify_password(found["bench-mod"][1], generate.PASSWORD)


def test_planted_screening_words_are_flagged_and_banned_ones_are_high_risk(
    generated: tuple[Path, dict[str, object]],
) -> None:
    path, _ = generated
    for essay_id, body, high_risk in _rows(path, "SELECT id, body, high_risk FROM essays"):
        kinds = {r[0] for r in _rows(path, f"SELECT kind FROM essay_flags WHERE essay_id = {essay_id}")}  # noqa: S608
        assert ("banned" in kinds) == (generate.BANNED_SENTENCE in body) == bool(high_risk)
        assert ("suspect" in kinds) == (generate.SUSPECT_SENTENCE in body)
    bands = _rows(path, "SELECT count(*), count(DISTINCT band_key) FROM essay_shingle_bands")[0]
    assert bands == (50 * 16, 50 * 16)


def _vocab(path: Path) -> dict[str, set[tuple]]:
    """Every (term, doc, column, offset) in both FTS tables: the index's whole content."""
    out: dict[str, set[tuple]] = {}
    with contextlib.closing(sqlite3.connect(path)) as conn:
        for table in ("search_fts", "search_headline_fts"):
            conn.execute(f"CREATE VIRTUAL TABLE temp.v_{table} USING fts5vocab(main, {table}, instance)")
            out[table] = set(conn.execute(f"SELECT term, doc, col, offset FROM temp.v_{table}"))  # noqa: S608
    return out


def test_search_index_is_exactly_what_lifecycle_would_write(
    generated: tuple[Path, dict[str, object]], tmp_path: Path
) -> None:
    path, _ = generated
    public = {r[0] for r in _rows(path, "SELECT id FROM essays WHERE status IN ('published', 'printed')")}
    docs = _rows(path, "SELECT essay_id, direction, published_at, headline, byline, body FROM search_docs")
    assert {d[0] for d in docs} == public
    # Bylines as the paper prints them, from the essay's own fields.
    for essay_id, affiliation, name, mode, role, doc_byline in _rows(
        path,
        "SELECT e.id, e.affiliation, e.author_name, e.byline_mode, e.author_role, s.byline"
        " FROM essays e JOIN search_docs s ON s.essay_id = e.id",
    ):
        assert doc_byline == byline(BylineParts(affiliation, name, mode, role), "锦州"), essay_id

    reference = tmp_path / "reference.db"
    database.migrate(reference)

    async def index_all() -> None:
        async with aiosqlite.connect(reference, isolation_level=None) as conn:
            await conn.execute("BEGIN")
            for essay_id, direction, published_at, headline, doc_byline, body in docs:
                doc = search.SearchDoc(essay_id, direction, headline, doc_byline, body, published_at)
                await search.index_essay(conn, doc)
            await conn.execute("COMMIT")

    asyncio.run(index_all())
    assert _vocab(path) == _vocab(reference)


def test_generate_refuses_to_overwrite(generated: tuple[Path, dict[str, object]]) -> None:
    path, _ = generated
    with pytest.raises(FileExistsError):
        generate.generate(5, path, processes=0, quiet=True)


WRK_SUBMIT_OUTPUT = """\
Running 5s test @ http://127.0.0.1:8123/submit
  2 threads and 64 connections
  Latency Distribution
     50%  180.20ms
     75%  230.00ms
     90%  301.50ms
     99%    1.02s
  1094 requests in 5.10s, 1.02MB read
  Socket errors: connect 0, read 0, write 0, timeout 2
Requests/sec:    214.51
Transfer/sec:    204.80KB
SUBMIT accepted=1030 refused=3 exhausted=0
"""


def test_wrk_submit_counts_receipts_over_the_run_and_socket_errors_as_errors() -> None:
    result = run.parse_wrk_submit(WRK_SUBMIT_OUTPUT, forms=2500)
    assert (result.accepted, result.errors, result.seconds) == (1030, 5, 5.1)
    assert round(result.per_s) == 202
    assert (result.p50_ms, result.p99_ms) == (180.2, 1020.0)
    without_latencies = WRK_SUBMIT_OUTPUT.split("  Latency Distribution")[0] + "  1094 requests in 5.10s\n" \
        + WRK_SUBMIT_OUTPUT.split("read\n", 1)[1]
    assert run.parse_wrk_submit(without_latencies, forms=2500).p99_ms is None


def test_a_wrk_submit_run_that_ran_out_of_forms_is_void() -> None:
    with pytest.raises(RuntimeError, match="used up all 2500 forms"):
        run.parse_wrk_submit(WRK_SUBMIT_OUTPUT.replace("exhausted=0", "exhausted=1"), forms=2500)


def test_the_prebuilt_submit_body_is_the_multipart_form_a_browser_sends() -> None:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    async def echo(request: Request) -> JSONResponse:
        async with request.form() as form:
            photo = form["photo"]
            return JSONResponse({"fields": {k: v for k, v in form.items() if k != "photo"},
                                 "photo": [photo.filename, photo.size]})  # fmt: skip

    fields = {"headline": "港口的灯", "body": "第一段。\n\n第二段：<b>&amp;</b>", "csrf_token": "abc.def"}
    body = run.multipart_body(fields)
    client = TestClient(Starlette(routes=[Route("/", echo, methods=["POST"])]))
    answer = client.post("/", content=body,
                         headers={"content-type": f"multipart/form-data; boundary={run.BOUNDARY}"}).json()  # fmt: skip
    assert answer == {"fields": fields, "photo": ["", 0]}


def test_every_benchmark_resident_submits_from_an_address_of_their_own() -> None:
    # Each address is well inside the real limit (5 an hour), across the warm-up and the timed runs.
    addresses = [run.resident_address(seed, i) for seed in range(2126, 2130) for i in range(20_000)]
    assert len(set(addresses)) == len(addresses)
    assert all(address.startswith("10.") and len(address.split(".")) == 4 for address in addresses[::997])


def test_the_warm_up_submit_run_is_reported_but_not_in_the_median() -> None:
    runs = [run.SubmitRun(4000, 500, 0, 5.0, {303: 500}, warmup=True)]
    runs += [run.SubmitRun(4000, n, 0, 5.0, {303: n}) for n in (1500, 1600, 1700)]
    args = run.parse_args(["--essays", "100", "--runs", "3", "--no-append"])
    report = run.Report(args, Path("db"), None, {}, [], runs, [], [], stored=5300, load_before=0.0)  # type: ignore[arg-type]
    table = "\n".join(report.submit_table())
    assert "| warm-up (not counted) | 4000 | 500 |" in table
    assert "Median of the timed runs 320 accepted/s" in table  # 1600 / 5 s, not the 310 the warm-up would drag in
    assert "5,300 essays stored for 5,300 accepted" in table
