"""Shared by the author-channel tests: drive the app's own sender, read the outbox file it writes,
ask for a verification code through the real form and read it from the SMS that was sent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
from starlette.testclient import TestClient

from citizenvoice.store import messages as message_store
from tests.submit_helpers import field_value, parse, post_from, read, valid_form


def quiet(client: TestClient) -> None:
    """Stop the app's background sender loop, so a test that counts deliveries drives them alone (the
    app's sender object, and its lease, stay usable through :func:`deliver`)."""
    stop, task = client.app.state.sender_loop

    async def stop_loop() -> None:
        stop.set()
        await task

    client.portal.call(stop_loop)


def deliver(client: TestClient, limit: int = 10_000) -> int:
    """One round of the app's sender (the same lease holder as its background loop)."""
    return client.portal.call(lambda: client.app.state.sender.round(limit))


def outbox_path(client: TestClient) -> Path:
    return Path(client.app.state.settings.data_dir) / "outbox.jsonl"


def outbox(client: TestClient) -> list[dict[str, Any]]:
    path = outbox_path(client)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def messages(client: TestClient, status: str | None = None) -> list[message_store.Message]:
    return list(reversed(read(client, lambda conn: message_store.recent(conn, status, 100_000))))


def form_page(client: TestClient) -> dict[str, str]:
    page = parse(client.get("/submit").text)
    return {name: field_value(page, name) for name in ("csrf_token", "form_token")}


def ask_code(client: TestClient, phone: str, *, ip: str | None = None, tokens: dict[str, str] | None = None,
             **fields: str) -> httpx2.Response:
    payload = {**(tokens or form_page(client)), **valid_form(phone=phone, **fields)}
    if ip is not None:
        return post_from(client, ip, "/submit/code", payload)
    return client.post("/submit/code", data=payload)


def sent_code(client: TestClient, phone: str) -> str:
    """The newest verification code the outbox delivered to ``phone``."""
    deliver(client)
    codes = [line["params"]["code"] for line in outbox(client)
             if line["template"] == "verification_code" and line["to"] == phone]
    assert codes, f"no code was sent to {phone}"
    return codes[-1]
