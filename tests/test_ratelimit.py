"""Abuse limits: per address (an IPv4 address or an IPv6 /64, an hour) and per phone number (a day),
stored in the database so every worker process shares them, refused with HTTP 429 and a clear message,
and the author's text kept."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from citizenvoice.domain import ratelimit
from citizenvoice.settings import Settings
from citizenvoice.store import ratelimit as rate_store
from tests.submit_helpers import (
    BODY,
    count,
    field_value,
    form_tokens,
    parse,
    post_essay,
    post_from,
    read,
    submit_essay,
    valid_form,
    write,
)


def phone(n: int) -> str:
    return f"1390000{n:04d}"


@pytest.fixture
def small(settings: Settings, make_app: Callable[..., Starlette]):
    """An app whose address limit is 5 an hour, so the address rules are quick to reach."""
    with TestClient(make_app(settings, submit_limit_per_address=5), follow_redirects=False) as client:
        yield client


def test_sixth_submission_from_one_address_in_an_hour_is_refused(small: TestClient,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    client = small
    for n in range(5):
        submit_essay(client, phone=phone(n))
    response = post_essay(client, phone=phone(99), headline="第六篇文章")
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 3000
    page = parse(response.text)
    alert = page.by_id("form-alert").text()
    assert "这个网络在一小时内已提交了 5 篇文章" in alert and "分钟后再提交" in alert
    assert field_value(page, "body") == BODY and field_value(page, "headline") == "第六篇文章"
    assert count(client, "essays") == 5

    # an hour later the same form goes through
    later = ratelimit.now() + 3601
    monkeypatch.setattr(ratelimit, "now", lambda: later)
    tokens = {n: field_value(page, n) for n in ("csrf_token", "form_token")}
    assert post_essay(client, tokens=tokens, phone=phone(99), headline="第六篇文章").status_code == 303
    assert count(client, "essays") == 6


def test_the_default_address_limit_lets_a_community_centre_submit(client: TestClient) -> None:
    # Sixty residents behind one shared address: the old limit (5) stopped the sixth.
    for n in range(60):
        submit_essay(client, phone=phone(n))
    assert post_essay(client, phone=phone(999)).status_code == 429
    assert count(client, "essays") == 60


def test_sixth_essay_of_one_phone_in_a_day_is_refused(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    statuses = []
    for n in range(6):
        payload = {**form_tokens(client), **valid_form(phone="139 0000 1234", headline=f"第{n + 1}篇河堤上的文章")}
        statuses.append(post_from(client, f"198.51.100.{n + 1}", "/submit", payload).status_code)
    assert statuses == [303] * 5 + [429]
    assert count(client, "essays") == 5
    refused = post_essay(client, phone="13900001234", headline="第七篇河堤上的文章")
    assert "同一手机号每天最多投稿 5 篇" in parse(refused.text).by_id("form-alert").text()
    # still refused 23 hours on; accepted a day after the first
    start = ratelimit.now()
    monkeypatch.setattr(ratelimit, "now", lambda: start + 23 * 3600)
    assert post_essay(client, phone="13900001234").status_code == 429
    monkeypatch.setattr(ratelimit, "now", lambda: start + 24 * 3600 + 60)
    assert post_essay(client, phone="13900001234").status_code == 303


def test_many_addresses_of_one_ipv6_64_count_as_one(small: TestClient) -> None:
    client = small
    statuses = []
    for n in range(6):
        payload = {**form_tokens(client), **valid_form(phone=phone(n))}
        statuses.append(post_from(client, f"2001:db8:abcd:12:{n + 1:x}::{n + 7:x}", "/submit", payload).status_code)
    assert statuses == [303] * 5 + [429]
    other = {**form_tokens(client), **valid_form(phone=phone(77))}
    assert post_from(client, "2001:db8:abcd:13::1", "/submit", other).status_code == 303  # another /64


def test_address_keys() -> None:
    assert ratelimit.address_key("203.0.113.7") == "203.0.113.7"
    assert ratelimit.address_key("2001:db8:abcd:12:1:2:3:4") == ratelimit.address_key("2001:db8:abcd:12::ffff")
    assert ratelimit.address_key("2001:db8:abcd:12::1") == "2001:db8:abcd:12::/64"
    assert ratelimit.address_key("2001:db8:abcd:13::1") != ratelimit.address_key("2001:db8:abcd:12::1")
    assert ratelimit.address_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert ratelimit.address_key("testclient") == "testclient"


def test_limits_hold_across_worker_processes(settings: Settings, make_app: Callable[..., Starlette]) -> None:
    # Two apps on one database stand for two worker processes: they share nothing but SQLite.
    with TestClient(make_app(settings, submit_limit_per_address=5), follow_redirects=False) as first, \
            TestClient(make_app(settings, submit_limit_per_address=5), follow_redirects=False) as second:
        for n in range(3):
            submit_essay(first, phone=phone(n))
        for n in range(3, 5):
            submit_essay(second, phone=phone(n))
        assert post_essay(first, phone=phone(7)).status_code == 429
        assert post_essay(second, phone=phone(8)).status_code == 429
        assert count(first, "essays") == 5


def test_retrying_a_stored_submission_is_not_counted_or_refused(small: TestClient) -> None:
    client = small
    for n in range(4):
        submit_essay(client, phone=phone(n))
    tokens = form_tokens(client)
    fifth = post_essay(client, tokens=tokens, phone=phone(4))
    retry = post_essay(client, tokens=tokens, phone=phone(4))
    assert fifth.status_code == retry.status_code == 303
    assert retry.headers["location"] == fifth.headers["location"]
    assert count(client, "essays") == 5


def test_refused_attempts_do_not_extend_the_block(small: TestClient) -> None:
    client = small
    for n in range(5):
        submit_essay(client, phone=phone(n))
    for n in range(3):
        assert post_essay(client, phone=phone(50 + n)).status_code == 429
    assert read(client, lambda conn: rate_store.count_events(conn, "submit-ip")) == 5


def test_ip_and_phone_are_stored_only_as_keyed_hashes(client: TestClient) -> None:
    submit_essay(client, phone="13912345678")

    async def keys(conn) -> list[str]:
        async with conn.execute("SELECT bucket || ' ' || key_hash FROM rate_events") as cur:
            return [row[0] for row in await cur.fetchall()]

    rows = read(client, keys)
    assert sorted(r.split()[0] for r in rows) == ["submit-ip", "submit-phone"]
    assert not any("13912345678" in r or "testclient" in r or "5678" in r for r in rows)


def test_window_slides(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    limit = ratelimit.Limit("test", 2, 100, "请 {minutes} 分钟后再试")
    clock = {"now": 1_000_000.0}
    monkeypatch.setattr(ratelimit, "now", lambda: clock["now"])

    def attempt(at: float) -> ratelimit.RateLimited | None:
        clock["now"] = at
        try:
            write(client, lambda conn: ratelimit.hit(conn, "secret", [(limit, "key")]))
        except ratelimit.RateLimited as exc:
            return exc
        return None

    assert attempt(1_000_000) is None
    assert attempt(1_000_050) is None
    refused = attempt(1_000_060)
    assert refused is not None and refused.retry_after == 40 and refused.message == "请 1 分钟后再试"
    assert attempt(1_000_101) is None  # the first event has left the window
    assert attempt(1_000_120) is not None
