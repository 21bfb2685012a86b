"""/track/lost: the phone's essays' tracking links by SMS; the same answer whether or not the phone has
essays (no enumeration); limited per phone and per address."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from citizenvoice.domain import lostlink, ratelimit
from tests.messaging_helpers import deliver, messages, outbox
from tests.submit_helpers import PHONE, field_value, parse, post_from, submit_essay


def ask(client: TestClient, phone: str, ip: str | None = None):
    payload = {"csrf_token": field_value(parse(client.get("/track/lost").text), "csrf_token"), "phone": phone}
    return post_from(client, ip, "/track/lost", payload) if ip else client.post("/track/lost", data=payload)


def visible(response) -> str:
    return parse(response.text).by_id("lost-done").text()


def test_the_lost_link_arrives_by_sms_and_opens_the_tracking_page(client: TestClient) -> None:
    first = submit_essay(client, headline="第一篇河堤上的文章")
    second = submit_essay(client, headline="第二篇河堤上的文章")
    deliver(client)
    response = ask(client, "138 1234 5678")
    assert response.status_code == 200
    assert visible(response) == lostlink.ANSWER
    deliver(client)
    (line,) = [line for line in outbox(client) if line["template"] == "lost_link"]
    assert line["to"] == PHONE
    links = [part.split(" ")[1] for part in line["params"]["links"].split("；")]
    assert len(links) == 2
    for link, token in zip(links, (second, first), strict=True):
        page = client.get(link.removeprefix(client.app.state.settings.base_url))
        assert page.status_code == 200
        mine = client.get(f"/track/{token}")
        assert parse(page.text).find("h1").text() == parse(mine.text).find("h1").text()


def test_the_same_answer_for_a_phone_without_essays(client: TestClient) -> None:
    submit_essay(client)
    known = ask(client, PHONE, ip="198.51.100.1")
    unknown = ask(client, "13900000000", ip="198.51.100.2")
    assert known.status_code == unknown.status_code == 200
    assert visible(known) == visible(unknown)
    assert [m.template for m in messages(client)].count("lost_link") == 1


def test_a_bad_phone_is_an_error_at_the_field(client: TestClient) -> None:
    response = ask(client, "123")
    assert response.status_code == 422
    assert "11 位中国大陆手机号" in parse(response.text).by_id("phone-error").text()


def test_lost_links_are_limited_per_phone_and_per_address(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    submit_essay(client)
    settings = client.app.state.settings
    for n in range(settings.lost_link_limit_per_phone):
        assert ask(client, PHONE, ip=f"198.51.100.{n + 1}").status_code == 200
    refused = ask(client, PHONE, ip="198.51.100.99")
    assert refused.status_code == 429 and "找回链接的次数太多了" in refused.text
    assert [m.template for m in messages(client)].count("lost_link") == settings.lost_link_limit_per_phone
    for n in range(settings.lost_link_limit_per_address):
        assert ask(client, f"1390000{n:04d}", ip="2001:db8:9:9::1").status_code == 200
    assert ask(client, "13911112222", ip="2001:db8:9:9::2").status_code == 429  # same /64
    later = ratelimit.now() + 24 * 3600 + 1
    monkeypatch.setattr(ratelimit, "now", lambda: later)
    assert ask(client, PHONE, ip="198.51.100.99").status_code == 200


def test_asking_needs_the_csrf_token(client: TestClient) -> None:
    submit_essay(client)
    response = client.post("/track/lost", data={"csrf_token": "forged", "phone": PHONE})
    assert response.status_code == 403
    assert "lost_link" not in [m.template for m in messages(client)]


def test_the_lookup_page_links_to_it(client: TestClient) -> None:
    page = parse(client.get("/track").text)
    assert any(a.attrs.get("href") == "/track/lost" for a in page.find_all("a"))
    assert client.get("/track/lost").headers["cache-control"] == "no-store"
