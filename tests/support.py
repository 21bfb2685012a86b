"""Helpers shared by the tests (imported as `support`; conftest.py holds only fixtures)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.testclient import TestClient

from citizenvoice.domain import accounts
from citizenvoice.store import users as user_store

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery"

T = TypeVar("T")


def db_read(client: TestClient, work: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """Run ``work(conn, *args, **kwargs)`` on a read connection of the client's app, from the test's thread."""

    async def run() -> T:
        async with client.app.state.db.read() as conn:
            return await work(conn, *args, **kwargs)

    return client.portal.call(run)


def db_write(client: TestClient, work: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """Run ``work(conn, *args, **kwargs)`` inside one write transaction of the client's app."""

    async def run() -> T:
        async with client.app.state.db.write() as conn:
            return await work(conn, *args, **kwargs)

    return client.portal.call(run)


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no csrf_token field"
    return match.group(1)


def add_user(client: TestClient, username: str, *roles: str, password: str = PASSWORD) -> int:
    async def create() -> int:
        async with client.app.state.db.write() as conn:
            return await user_store.create_user(conn, username, accounts.hash_password(password), set(roles))

    return client.portal.call(create)


def login(client: TestClient, username: str, password: str = PASSWORD) -> None:
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 303, response.text


SAMPLE_BODY = (
    "清晨六点，港区的吊机已经亮起了灯。我在这座城市生活了三十年，看着码头从几条泊位长成今天的模样。"
    "下一个五年，我希望家门口的公园多一些树荫，老人散步的路平一些，孩子上学的路安全一些。\n\n"
    "作为社区的一名志愿者，我准备做三件事：帮楼里的老人学会用手机挂号，和邻居们一起把小区的角落种上花，"
    "每个月组织一次河边的清洁活动。我相信，城市的变化就藏在这些小事里，每个人伸一把手，日子就会更好。\n\n"
    "写给下一个五年：愿我们的城市更开放、更温暖，也愿每一个普通人的期待都被听见。"
)
