"""Helpers for the moderation tests: essays stored through the store (screened as a submission would
be), several signed-in moderators on one TestClient, decisions posted from the item page's forms."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.testclient import TestClient
from submit_helpers import parse
from support import SAMPLE_BODY, add_user, csrf_from, db_read, db_write, login

from citizenvoice.domain import lifecycle, moderation
from citizenvoice.model.essays import Action, Actor, new_tracking_code
from citizenvoice.store import directions as direction_store
from citizenvoice.store import essays as essay_store
from citizenvoice.store.essays import Essay, NewEssay

CITY = "锦州"

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


def new_essay(
    client: TestClient,
    *,
    headline: str = "港口的灯光照亮回家的路",
    body: str = SAMPLE_BODY,
    direction: str = "wellbeing",
    author_role: str = "resident",
    phone: str = "13812345678",
    photo_path: str | None = None,
    status: str = "pending",
    submitted_hours_ago: float | None = None,
    screen: bool = True,
) -> int:
    """Store an essay as the submission form would (inserted, then screened in the same transaction)."""

    async def make(conn: Any) -> int:
        target = await direction_store.get_by_slug(conn, direction)
        assert target is not None, direction
        new = NewEssay(
            direction_id=target.id, headline=headline, body=body, author_role=author_role, author_name="李春梅",
            affiliation="", byline_mode="full", phone=phone, email="", photo_path=photo_path, consent_print=True,
        )
        essay_id = await essay_store.insert_essay(
            conn, new, tracking_code=new_tracking_code(), token=secrets.token_urlsafe(24), submit_ip="127.0.0.1"
        )
        if submitted_hours_ago is not None:
            moment = datetime.now(UTC) - timedelta(hours=submitted_hours_ago)
            await conn.execute("UPDATE essays SET submitted_at = ? WHERE id = ?", (moderation.iso(moment), essay_id))
        if screen:
            screener = await moderation.load_screener(conn, client.app.state.screener)
            await moderation.screen_submission(conn, essay_id, screener)
        await bring_to(conn, essay_id, status)
        return essay_id

    return run_db(client, make, write=True)


STEPS: dict[str, list[tuple[Action, Actor]]] = {
    "pending": [],
    "needs_revision": [(Action.REVISE, Actor.MODERATOR)],
    "published": [(Action.APPROVE, Actor.MODERATOR)],
    "rejected": [(Action.REJECT, Actor.MODERATOR)],
    "unpublished": [(Action.APPROVE, Actor.MODERATOR), (Action.UNPUBLISH, Actor.MODERATOR)],
    "withdrawn": [(Action.WITHDRAW, Actor.AUTHOR)],
    "printed": [(Action.APPROVE, Actor.MODERATOR), (Action.PRINT, Actor.EDITOR)],
}


async def bring_to(conn: Any, essay_id: int, status: str) -> None:
    for action, actor in STEPS[status]:
        await lifecycle.transition(
            conn, essay_id, action, lifecycle.ActorRef(actor), city=CITY, reason="测试理由", note="测试备注"
        )


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
