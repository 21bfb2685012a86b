"""/admin/messages: admins see queued, sent and failed messages (with the provider's reason) and can
retry a failed one (CSRF); nobody else sees the page."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from citizenvoice.store import messages as message_store
from tests.messaging_helpers import deliver, messages, quiet
from tests.submit_helpers import field_value, parse, submit_essay, write


@pytest.fixture(autouse=True)
def counted(client: TestClient) -> None:
    quiet(client)  # these tests count what each round delivers


def fail(client: TestClient, message_id: int, reason: str) -> None:
    write(client, lambda conn: message_store.mark_error(conn, message_id, error=reason, failed=True))


def test_admins_see_queued_sent_and_failed_with_the_reason_and_can_retry(client: TestClient, staff_client) -> None:
    submit_essay(client)
    deliver(client)
    submit_essay(client, phone="13900000001")
    sms, mail = messages(client)[2:]
    fail(client, sms.id, "isv.MOBILE_NUMBER_ILLEGAL: 非法手机号")
    admin = staff_client("admin")
    page = parse(admin.get("/admin/messages").text)
    assert page.by_id("count-sent").text() == "已发送 2"
    assert page.by_id("count-queued").text() == "待发送 1"
    assert page.by_id("count-failed").text() == "发送失败 1"
    failed = page.by_id(f"message-{sms.id}")
    assert "服务商回复：isv.MOBILE_NUMBER_ILLEGAL: 非法手机号" in failed.text()
    assert "139****0001" in failed.text() and "13900000001" not in admin.get("/admin/messages").text
    only_failed = parse(admin.get("/admin/messages?status=failed").text)
    assert [li.attrs["id"] for li in only_failed.find_all("li", **{"class": "message message-failed"})] == [f"message-{sms.id}"]

    csrf = field_value(page, "csrf_token")
    assert admin.post(f"/admin/messages/{sms.id}/retry", data={"csrf_token": "forged"}).status_code == 403
    assert messages(client)[2].status == "failed"
    response = admin.post(f"/admin/messages/{sms.id}/retry", data={"csrf_token": csrf})
    assert response.status_code == 303
    assert messages(client)[2].status == "queued"
    deliver(client)
    assert messages(client)[2].status == "sent"
    assert "重试发送消息" in admin.get("/admin/audit").text


def test_only_admins_see_messages(client: TestClient, staff_client) -> None:
    assert client.get("/admin/messages").status_code in (303, 401, 403)
    moderator = staff_client("moderator")
    assert moderator.get("/admin/messages").status_code == 403
