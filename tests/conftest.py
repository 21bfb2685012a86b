"""Each test gets its own app on a fresh temporary database (never a shared global)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from citizenvoice import auth
from citizenvoice.app import create_app
from citizenvoice.settings import Settings
from citizenvoice.store import users as user_store

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", secret_key="test-secret-key-not-for-production").resolved()


@pytest.fixture
def app(settings: Settings):
    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as test_client:
        yield test_client


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no csrf_token field"
    return match.group(1)


def run(coro):
    return asyncio.get_event_loop_policy().new_event_loop().run_until_complete(coro)


def add_user(client: TestClient, username: str, *roles: str, password: str = PASSWORD) -> int:
    async def create() -> int:
        async with client.app.state.db.write() as conn:
            return await user_store.create_user(conn, username, auth.hash_password(password), set(roles))

    return client.portal.call(create)


def login(client: TestClient, username: str, password: str = PASSWORD) -> None:
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": password, "csrf_token": token})
    assert response.status_code == 303, response.text


@pytest.fixture
def staff_client(client: TestClient):
    """A factory: staff_client('moderator') returns the client signed in as a new user with that role."""

    def make(*roles: str, username: str | None = None) -> TestClient:
        name = username or "-".join(roles) + "-user"
        add_user(client, name, *roles)
        login(client, name)
        return client

    return make
