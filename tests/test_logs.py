"""Structured logs: one JSON line per request with its id, and never a phone, e-mail, password or token."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import re

import pytest
from factories import make_essay
from starlette.requests import Request
from starlette.routing import Route
from starlette.testclient import TestClient
from support import PASSWORD, add_user, csrf_from

from citizenvoice.web import logs
from tests import submit_helpers
from tests.submit_helpers import submit_essay
from tests.test_privacy import AUTHOR, BODY, PHOTO

PHONE, EMAIL = AUTHOR["phone"], AUTHOR["email"]


@pytest.fixture
def log_output():
    """What the JSON handler writes, exactly as it would reach the log file."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    quiet = {name: logging.getLogger(name).level for name in logs.QUIET_LOGGERS}
    handler = logs.configure_logging("DEBUG", stream=stream)
    client_log = logging.getLogger("httpx2")
    client_level = client_log.level
    client_log.setLevel(logging.WARNING)  # the test client's own lines are not the server's logs
    yield stream
    client_log.setLevel(client_level)
    root.removeHandler(handler)
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
    [entry] = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert entry["logger"] == "uvicorn.error" and entry["message"] == "client [phone] sent [email]"
