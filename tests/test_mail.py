"""Mail to authors who left an address: through a real SMTP server (aiosmtpd) that captures what it
receives, plain text and HTML, each saying how to stop; STARTTLS with a certificate the app verifies."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import subprocess
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler
from starlette.testclient import TestClient

from citizenvoice.domain import lifecycle
from citizenvoice.domain.lifecycle import ActorRef
from citizenvoice.model.essays import Action, Actor
from citizenvoice.store import essays as essay_store
from tests.messaging_helpers import deliver, messages, outbox, quiet
from tests.submit_helpers import EMAIL, PHONE, read, submit_essay, write


class Captured(MessageHandler):
    def __init__(self) -> None:
        super().__init__()
        self.mails: list[email.message.EmailMessage] = []

    def handle_message(self, message) -> None:
        self.mails.append(email.message_from_bytes(message.as_bytes(), policy=email.policy.default))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp():
    handler = Captured()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


def test_mail_goes_through_smtp_with_plain_text_and_html(settings, make_app, smtp) -> None:
    controller, handler = smtp
    app = make_app(settings, smtp_host="127.0.0.1", smtp_port=controller.port, smtp_tls="none",
                   smtp_from="desk@jinzhou-daily.example.cn", base_url="https://cv.example.cn")
    with TestClient(app, follow_redirects=False) as client:
        quiet(client)  # this test counts what one round delivers
        token = submit_essay(client)
        essay = read(client, lambda conn: essay_store.get_by_token(conn, token))
        write(client, lambda conn: lifecycle.transition(conn, essay.id, Action.REVISE, ActorRef(Actor.MODERATOR),
                                                        city="锦州", note="请补充河堤的具体位置"))
        assert deliver(client) == 4
        assert [m["To"] for m in handler.mails] == [EMAIL, EMAIL]
        received, revise = handler.mails
        assert received["Subject"].startswith("我们收到了您的投稿")
        assert received["From"] == "desk@jinzhou-daily.example.cn"
        plain = revise.get_body(("plain",)).get_content()
        html = revise.get_body(("html",)).get_content()
        assert "请补充河堤的具体位置" in plain and "请补充河堤的具体位置" in html
        for body in (plain, html, received.get_body(("plain",)).get_content()):
            assert "不再通知我" in body  # every mail says how to stop
        assert '<a href="https://cv.example.cn/track/code/' in html
        # SMS still go to the outbox; mail does not
        assert [line["to"] for line in outbox(client)] == [PHONE, PHONE]
        mail_rows = [m for m in messages(client) if m.channel == "email"]
        assert [m.status for m in mail_rows] == ["sent", "sent"]
        # the Message-ID follows from the idempotency key: a retried mail carries the same one
        assert [m.provider_id for m in mail_rows] == [received["Message-ID"].strip(), revise["Message-ID"].strip()]


def test_an_unreachable_server_is_retried(settings, make_app, smtp) -> None:
    controller, _ = smtp
    app = make_app(settings, smtp_host="127.0.0.1", smtp_port=1, smtp_tls="none", smtp_from="desk@example.cn")
    with TestClient(app, follow_redirects=False) as client:
        submit_essay(client)
        deliver(client)
        (mail,) = [m for m in messages(client) if m.channel == "email"]
        assert mail.status == "queued" and mail.attempts == 1 and mail.last_error.startswith("SMTP")


def _certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def test_starttls_verifies_the_servers_certificate(settings, make_app, tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    handler = Captured()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True)
    controller.start()
    try:
        trusted = make_app(settings, smtp_host="127.0.0.1", smtp_port=controller.port, smtp_tls="starttls",
                           smtp_ca_file=str(cert), smtp_from="desk@example.cn")
        with TestClient(trusted, follow_redirects=False) as client:
            submit_essay(client)
            deliver(client)
            assert [m["To"] for m in handler.mails] == [EMAIL]
        untrusted = make_app(settings, smtp_host="127.0.0.1", smtp_port=controller.port, smtp_tls="starttls",
                             smtp_from="desk@example.cn")
        with TestClient(untrusted, follow_redirects=False) as client:
            submit_essay(client, phone="13900000001")
            deliver(client)
            failed = [m for m in messages(client) if m.channel == "email" and m.status != "sent"]
            assert failed and "CERTIFICATE_VERIFY_FAILED" in failed[0].last_error
            assert len(handler.mails) == 1  # nothing went over an unverified connection
    finally:
        controller.stop()
