"""Structured logs: one JSON line per request with its id, and never a phone, e-mail, password or token."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import logging.config
import re
import time

import pytest
from factories import make_essay
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient
from support import PASSWORD, add_user, csrf_from

from citizenvoice.web import logs
from tests import submit_helpers
from tests.submit_helpers import submit_essay
from tests.test_privacy import AUTHOR, BODY, PHOTO

PHONE, EMAIL = AUTHOR["phone"], AUTHOR["email"]


class LogFile(io.StringIO):
    """The log file as it reads a moment later: the handler's writer thread has written its queue."""

    def getvalue(self) -> str:
        logs.flush()
        return super().getvalue()


@pytest.fixture
def log_output():
    """What the JSON handler writes, exactly as it would reach the log file."""
    stream = LogFile()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    quiet = {name: logging.getLogger(name).level for name in logs.QUIET_LOGGERS}
    handler = logs.configure_logging("DEBUG", stream=stream)
    client_log = logging.getLogger("httpx2")
    client_level = client_log.level
    client_log.setLevel(logging.WARNING)  # the test client's own lines are not the server's logs
    yield stream
    client_log.setLevel(client_level)
    for added in {handler, *root.handlers} - set(saved[0]):
        root.removeHandler(added)
        added.close()
    root.handlers[:], _ = saved
    root.setLevel(saved[1])
    for name, level in quiet.items():
        logging.getLogger(name).setLevel(level)


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


async def boom(request: Request):
    raise RuntimeError(f"could not notify {PHONE} at {EMAIL}, password=hunter22hunter")


@pytest.fixture
def app(app):
    app.router.routes.append(Route("/boom", boom))  # a test-only route that fails with private data
    return app


# ---------------------------------------------------------------------------------------------------
# the scrubber


@pytest.mark.parametrize(
    ("raw", "hidden"),
    [
        ("call 13912345678 now", "13912345678"),
        ("call +86 139-1234-5678 now", "139-1234-5678"),
        ("手机：13812345678。", "13812345678"),
        ("mail liuxy@example.cn please", "liuxy@example.cn"),
        ("password=hunter2", "hunter2"),
        ('{"token": "abc123"}', "abc123"),
        ("GET /track/Qx3v9KpL0aZ_7yTnE-4mWc2s/delete", "Qx3v9KpL0aZ_7yTnE-4mWc2s"),
        ("GET /track/code/eyJlc3NheSI6MX0.aBc1De.Xy_9kLmN0pQrStUvWx", "aBc1De.Xy_9kLmN0pQrStUvWx"),
        ("session 4f9a8c7e6d5b4a3f2e1d0c9b8a7f6e5d4c3b2a19", "4f9a8c7e6d5b4a3f2e1d0c9b8a7f6e5d4c3b2a19"),
    ],
)
def test_scrub_masks_personal_data_and_secrets(raw, hidden):
    assert hidden not in logs.scrub(raw)


def test_scrub_leaves_ordinary_text_alone():
    text = "审核通过 2026年11月24日 T08版 essay 1234 in 12.5 ms CV-AB3D-EF7H"
    assert logs.scrub(text) == text


def test_formatter_writes_json_with_the_request_id(log_output):
    token = logs.request_id_var.set("req-12345678")
    try:
        logging.getLogger("citizenvoice.test").warning("sent to %s", EMAIL, extra={"fields": {"essay": 7}})
    finally:
        logs.request_id_var.reset(token)
    [entry] = lines(log_output)
    assert entry["level"] == "WARNING" and entry["logger"] == "citizenvoice.test"
    assert entry["request_id"] == "req-12345678" and entry["essay"] == 7
    assert entry["message"] == "sent to [email]"


# ---------------------------------------------------------------------------------------------------
# the request middleware


def test_each_request_gets_an_id_and_one_access_line(client, log_output):
    response = client.get("/privacy?ref=newsletter")
    request_id = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    [access] = [e for e in lines(log_output) if e["logger"] == "citizenvoice.access"]
    assert (access["method"], access["path"], access["status"]) == ("GET", "/privacy", 200)
    assert access["request_id"] == request_id and access["duration_ms"] >= 0
    assert access["query_keys"] == ["ref"] and "newsletter" not in log_output.getvalue()


def test_a_proxy_request_id_is_kept_and_a_bad_one_replaced(client):
    assert (
        client.get("/privacy", headers={"x-request-id": "nginx-0123456789abcdef"}).headers["x-request-id"]
        == "nginx-0123456789abcdef"
    )
    assert client.get("/privacy", headers={"x-request-id": "<script>"}).headers["x-request-id"] != "<script>"


def test_a_body_over_the_limit_is_logged_as_the_413_it_got(client, log_output):
    limit = client.app.state.settings.max_body_bytes
    form = {"content-type": "application/x-www-form-urlencoded"}
    declared = client.post("/track", content=b"x" * (limit + 1), headers=form)
    streamed = client.post("/track", content=iter([b"x" * (limit // 4)] * 5), headers=form)  # chunked
    assert declared.status_code == streamed.status_code == 413
    access = [e for e in lines(log_output) if e["logger"] == "citizenvoice.access" and e["path"] == "/track"]
    assert [(e["status"], e["level"]) for e in access] == [(413, "INFO"), (413, "INFO")]


def test_server_error_is_logged_with_its_request_id_and_scrubbed(client, log_output):
    with TestClient(client.app, raise_server_exceptions=False) as failing:
        response = failing.get("/boom")
    assert response.status_code == 500
    entries = lines(log_output)
    access = next(e for e in entries if e["logger"] == "citizenvoice.access" and e["path"] == "/boom")
    assert access["status"] == 500 and access["level"] == "ERROR"
    error = next(e for e in entries if "exception" in e)
    assert error["request_id"] == access["request_id"] and "RuntimeError" in error["exception"]
    output = log_output.getvalue()
    assert PHONE not in output and EMAIL not in output and "hunter22hunter" not in output


def test_no_personal_data_in_logs_across_an_authors_and_a_staff_visit(client, log_output):
    essay_id, token = make_essay(client, **AUTHOR, body=BODY, photo=PHOTO)
    add_user(client, "editor-liu", "editor", password=PASSWORD)
    # An author with the tracking link: exports, then erases.
    assert client.get(f"/track/{token}/export.json").status_code == 200
    page = client.get(f"/track/{token}/delete")
    client.post(
        f"/track/{token}/delete",
        data={"keep_text": "anonymous", "confirm": "yes", "csrf_token": csrf_from(page.text)},
    )
    # Someone searching for a phone number, and a login attempt with an e-mail and a wrong password.
    client.get(f"/search?q={PHONE}&email={EMAIL}")
    login = client.get("/login")
    client.post(
        "/login", data={"username": EMAIL, "password": f"{PHONE}-secret", "csrf_token": csrf_from(login.text)}
    )
    client.post(
        "/login", data={"username": "editor-liu", "password": PASSWORD, "csrf_token": csrf_from(login.text)}
    )
    # A resident submitting through the real form, then opening the tracking page.
    submitted_token = submit_essay(client, phone=submit_helpers.PHONE, email=submit_helpers.EMAIL)
    assert client.get(f"/track/{submitted_token}").status_code == 200
    output = log_output.getvalue()
    assert len([e for e in lines(log_output) if e["logger"] == "citizenvoice.access"]) >= 6
    secrets_ = (
        PHONE,
        EMAIL,
        token,
        PASSWORD,
        f"{PHONE}-secret",
        client.cookies.get("cv_session"),
        submit_helpers.PHONE,
        submit_helpers.EMAIL,
        submitted_token,
        "王淑芬",
    )
    for secret in secrets_:
        assert secret and secret not in output
    assert "/track/[token]/export.json" in output


def test_uvicorn_log_config_writes_scrubbed_json_in_every_worker(log_output, capsys):
    logging.config.dictConfig(logs.uvicorn_log_config("INFO"))
    logging.getLogger("uvicorn.error").warning("client %s sent %s", "13700001111", "a@b.cn")
    logging.getLogger("aiosqlite").debug("executing INSERT ... ('刘晓燕',)")
    logs.flush()
    [entry] = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert entry["logger"] == "uvicorn.error" and entry["message"] == "client [phone] sent [email]"



# ---------------------------------------------------------------------------------------------------
# how lines are written: from a queue, by a thread of the handler's own, and never lost


class _Capture(logging.Handler):
    """Any handler that is not a JsonHandler: it is given an ordinary LogRecord."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logs.JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "citizenvoice.access":
            self.lines.append(self.format(record))


def _serve_once(method: str, path: str, query: bytes, status: int) -> None:
    async def app(scope, receive, send):  # noqa: ANN001, ANN202
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def receive():  # noqa: ANN202
        return {"type": "http.request", "body": b""}

    async def send(message):  # noqa: ANN001, ANN202
        pass

    scope = {"type": "http", "method": method, "path": path, "query_string": query, "headers": []}
    asyncio.run(logs.RequestLogMiddleware(app)(scope, receive, send))


_PATHS = st.one_of(
    st.text(max_size=80).map(lambda t: "/" + t),
    st.sampled_from(["/essays/19639", "/track/Qx3v9KpL0aZ_7yTnE-4mWc2s/delete", "/search", "/boards/港口",
                     "/u/liuxy@example.cn", "/p/+86 139-1234-5678", '/q"\\\n\u2028', "/password=hunter2"]),
)  # fmt: skip
_QUERIES = st.one_of(st.just(b""), st.text(max_size=60).map(lambda t: t.encode("utf-8")),
                     st.sampled_from([b"q=13912345678&email=a@b.cn", b"token=abc&&=x&page=2", b"a"]))  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["GET", "HEAD", "POST", "DELETE"]), path=_PATHS, query=_QUERIES,
       status=st.sampled_from([200, 304, 404, 413, 500, 503]))  # fmt: skip
def test_a_request_line_reads_the_same_from_the_fast_path_as_from_a_log_record(log_output, method, path, query,
                                                                                 status):  # fmt: skip
    # The JSON handler formats the request line in its writer thread from cached parts; any other
    # handler gets an ordinary record, formatted by JsonFormatter. Both must write the same line.
    capture = _Capture()
    root = logging.getLogger()
    root.addHandler(capture)
    before = log_output.getvalue().count("\n")  # not splitlines(): a path may hold U+2028, JSON leaves it
    try:
        _serve_once(method, path, query, status)
    finally:
        root.removeHandler(capture)
    written = [line for line in log_output.getvalue().split("\n")[before:] if '"logger": "citizenvoice.access"' in line]
    assert len(written) == len(capture.lines) == 1
    without_ts = [re.sub(r'^\{"ts": "[^"]+", ', "", line) for line in (written[0], capture.lines[0])]
    assert without_ts[0] == without_ts[1]
    assert re.match(r'^\{"ts": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", ', written[0])


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))
def test_a_request_line_has_the_time_a_log_record_would_show(created):
    stream = io.StringIO()
    handler = logs.JsonHandler(stream)
    try:
        handler.access(created, "req-12345678", "GET", "/", b"", 200, 0.001)
        handler.flush()
    finally:
        handler.close()
    record = logging.LogRecord("citizenvoice.access", logging.INFO, __file__, 1, "x", None, None)
    record.created = created
    expected = json.loads(logs.JsonFormatter().format(record))["ts"]
    assert json.loads(stream.getvalue())["ts"] == expected


def test_every_queued_line_is_written_when_the_handler_closes(tmp_path):
    path = tmp_path / "app.log"
    with path.open("w", encoding="utf-8") as stream:
        handler = logs.JsonHandler(stream, interval=3600)  # the writer thread would not wake before exit
        logger = logging.getLogger("citizenvoice.test.close")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        try:
            for i in range(5000):
                handler.access(time.time(), f"req-{i:08d}", "GET", f"/essays/{i % 7}", b"", 200, 0.0001)
                if i % 1000 == 0:
                    logger.info("checkpoint %d", i)
            assert path.read_text(encoding="utf-8") == ""  # still queued: nothing written on the hot path
            logging.shutdown([lambda: handler])  # what logging's atexit hook does
        finally:
            logger.removeHandler(handler)
            logger.setLevel(logging.NOTSET)
            logger.propagate = True
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    ids = [e["request_id"] for e in entries if e["logger"] == "citizenvoice.access"]
    assert ids == [f"req-{i:08d}" for i in range(5000)]  # all of them, in order
    assert [e["message"] for e in entries if e["logger"] == "citizenvoice.test.close"] == [
        f"checkpoint {i}" for i in range(0, 5000, 1000)
    ]
    handler.access(time.time(), "req-after", "GET", "/", b"", 200, 0.0)  # once closed, written at once
    assert "req-after" not in path.read_text(encoding="utf-8")  # (its stream is closed: nothing raises)


def test_an_error_is_in_the_log_at_once_and_a_request_line_within_a_moment(client, log_output):
    logging.getLogger("citizenvoice.test").error("the printer is on fire")
    raw = io.StringIO.getvalue(log_output)  # what the file holds now, without asking for a flush
    assert "the printer is on fire" in raw
    request_id = client.get("/privacy").headers["x-request-id"]
    deadline = time.monotonic() + 10
    while request_id not in io.StringIO.getvalue(log_output) and time.monotonic() < deadline:
        time.sleep(0.01)  # the writer thread writes its queue every FLUSH_SECONDS
    assert request_id in io.StringIO.getvalue(log_output)
