"""Shared by the submission, tracking, rate-limit and demo tests: a valid essay, posting it through
the real form (CSRF cookie + form token from GET /submit), a small HTML tree, and database access."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import httpx2
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from starlette.testclient import TestClient
from support import db_read, db_write

BODY = (
    "我家住在河边的老小区，每天早上都沿着河堤走到菜市场。这几年河水清了，岸边种上了柳树，"
    "还修了一条能推婴儿车的步道。\n\n"
    "我希望下一个五年，步道能一直修到海边，沿途多几处公共厕所和长椅，让老人走得动、孩子跑得开。"
    "也希望菜市场旁边的停车难能解决，早上不再堵成一团。\n\n"
    "我愿意报名做河道志愿者，每周巡一次河，看见垃圾就捡起来，看见问题就拍照上报。"
    "一条好河要大家一起护着，这座城市也是。\n\n"
    "等到步道修通的那一天，我想和老伴儿从家门口一直走到海边，看看日出。"
)
PHONE = "13812345678"
EMAIL = "writer@example.cn"


def valid_form(**overrides: str) -> dict[str, str]:
    form = {
        "headline": "河堤上的新步道",
        "body": BODY,
        "direction": "ecology",
        "author_role": "resident",
        "author_name": "王淑芬",
        "affiliation": "",
        "byline_mode": "full",
        "phone": PHONE,
        "email": EMAIL,
        "consent_publish": "yes",
        "consent_privacy": "yes",
        "consent_print": "yes",
    }
    form.update(overrides)
    return form


# ---------------------------------------------------------------------------------------------------
# A tiny HTML tree, enough to find fields, their errors and their attributes.

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrs.get(name, default)

    def has_class(self, name: str) -> bool:
        return name in (self.attrs.get("class") or "").split()

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        found = []
        for node in self.iter():
            if tag and node.tag != tag:
                continue
            if "class_" in attrs and not node.has_class(attrs["class_"]):
                continue
            if any(node.attrs.get(k) != v for k, v in attrs.items() if k != "class_"):
                continue
            found.append(node)
        return found

    def find(self, tag: str | None = None, **attrs: str) -> Node | None:
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def by_id(self, id_: str) -> Node:
        node = self.find(id=id_)
        assert node is not None, f"no element with id={id_!r}"
        return node


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: (v if v is not None else "") for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root


def field_value(page: Node, name: str) -> str:
    node = page.find(name=name)
    assert node is not None, f"no field named {name!r}"
    if node.tag == "textarea":
        return node.text().removeprefix("\n")
    if node.tag == "select":
        chosen = [o for o in node.find_all("option") if "selected" in o.attrs]
        return chosen[0].get("value", "") if chosen else ""
    if node.get("type") in ("checkbox", "radio"):
        checked = [n for n in page.find_all("input", name=name) if "checked" in n.attrs]
        return checked[0].get("value", "") if checked else ""
    return node.get("value", "") or ""


# ---------------------------------------------------------------------------------------------------
# Posting through the real form


def form_tokens(client: TestClient, path: str = "/submit") -> dict[str, str]:
    page = parse(client.get(path).text)
    return {name: field_value(page, name) for name in ("csrf_token", "form_token")}


def post_essay(client: TestClient, data: dict[str, str] | None = None, *, files: Any = None,
               tokens: dict[str, str] | None = None, **overrides: str) -> httpx2.Response:
    payload = {**(tokens or form_tokens(client)), **(data if data is not None else valid_form(**overrides))}
    return client.post("/submit", data=payload, files=files)


def submit_essay(client: TestClient, **overrides: str) -> str:
    """Submit a valid essay; return its secret tracking token."""
    response = post_essay(client, **overrides)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/track/")
    return location.removeprefix("/track/")


def post_from(client: TestClient, ip: str, path: str, data: dict[str, str]) -> httpx2.Response:
    """POST from another client address (the TestClient always uses one), with the client's cookies."""

    async def send() -> httpx2.Response:
        transport = httpx2.ASGITransport(app=client.app, client=(ip, 40000))
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver",
                                      cookies=dict(client.cookies)) as other:
            return await other.post(path, data=data)

    return client.portal.call(send)


def concurrently(client: TestClient, requests: list[tuple[str, dict[str, str]]]) -> list[httpx2.Response]:
    """Send several POSTs to the app at the same moment, on its own event loop."""

    async def send_all() -> list[httpx2.Response]:
        transport = httpx2.ASGITransport(app=client.app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://testserver",
                                      cookies=dict(client.cookies)) as other:
            return list(await asyncio.gather(*(other.post(p, data=d) for p, d in requests)))

    return client.portal.call(send_all)


# ---------------------------------------------------------------------------------------------------
# The database


read = db_read
write = db_write


def count(client: TestClient, table: str) -> int:
    async def fetch(conn: Any) -> int:
        async with conn.execute(f"SELECT count(*) FROM {table}") as cur:  # noqa: S608 - fixed test names
            row = await cur.fetchone()
        return int(row[0])

    return read(client, fetch)


def signed_long_ago(secret: str, salt: str, value: object, age: int) -> str:
    """A token signed ``age`` seconds ago, to test expiry without waiting."""

    class OldSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age

    return URLSafeTimedSerializer(secret, salt=salt, signer=OldSigner).dumps(value)
