"""Helpers for the moderation tests: several signed-in moderators on one TestClient, decisions posted
from the item page's forms, an essay's row and events. Essays come from factories.make_essay."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.testclient import TestClient
from submit_helpers import parse
from support import add_user, csrf_from, db_read, db_write, login

from citizenvoice.store import essays as essay_store
from citizenvoice.store.essays import Essay

# Distinct texts (a duplicate link between two test essays would be a surprise, not a feature).
TOPICS = ("港口", "公园", "学校", "医院", "河堤", "菜场", "图书馆", "公交", "老街", "工厂", "夜市", "体育馆")


def body_about(n: int) -> str:
    """A valid body (≥ 200 characters) that shares little with body_about(m) for m != n."""
    words = "春夏秋冬东南西北山水林田湖草风雨雷电金木火土日月星辰江河湖海松竹梅兰"
    rotated = words[n % len(words):] + words[: n % len(words)]
    return f"第{n}篇：我想写写{TOPICS[n % len(TOPICS)]}。" + "".join(
        f"{rotated[i % len(rotated)]}{rotated[(i * 7 + n) % len(rotated)]}{i + n}、" for i in range(80)
    )


def run_db(client: TestClient, fn: Callable[[Any], Awaitable[Any]], *, write: bool = False) -> Any:
    return (db_write if write else db_read)(client, fn)


def essay(client: TestClient, essay_id: int) -> Essay:
    found = run_db(client, lambda conn: essay_store.get_essay(conn, essay_id))
    assert found is not None
    return found


def events(client: TestClient, essay_id: int) -> list[essay_store.Event]:
    return run_db(client, lambda conn: essay_store.list_events(conn, essay_id))


# ---------------------------------------------------------------------------------------------------
# Staff on one TestClient: each moderator's cookies are kept and swapped in when they act.


class Staff:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.jars: dict[str, dict[str, str]] = {}
        self.ids: dict[str, int] = {}

    def add(self, name: str, *roles: str) -> int:
        self.ids[name] = add_user(self.client, name, *(roles or ("moderator",)))
        self.client.cookies.clear()
        login(self.client, name)
        self.jars[name] = dict(self.client.cookies)
        return self.ids[name]

    def act_as(self, name: str) -> TestClient:
        self.client.cookies.clear()
        for key, value in self.jars[name].items():
            self.client.cookies.set(key, value)
        return self.client

    def anonymous(self) -> TestClient:
        self.client.cookies.clear()
        return self.client


def decide(client: TestClient, essay_id: int, action: str, *, version: int | None = None, **fields: str) -> Any:
    """POST a decision the way the item page's form does (CSRF token from the page)."""
    page = client.get(f"/moderate/{essay_id}")
    data = {"action": action, "csrf_token": csrf_from(page.text), **fields}
    data["version"] = str(version if version is not None else essay(client, essay_id).version)
    return client.post(f"/moderate/{essay_id}/decision", data=data)


def csrf(client: TestClient) -> str:
    return csrf_from(client.get("/moderate").text)


def text_of(html: str, id_: str) -> str:
    return " ".join(parse(html).by_id(id_).text().split())
