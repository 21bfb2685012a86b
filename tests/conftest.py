"""Each test gets its own app on a fresh temporary database (never a shared global)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from support import add_user, login

from citizenvoice.app import create_app
from citizenvoice.settings import Settings


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


@pytest.fixture
def staff_client(client: TestClient):
    """A factory: staff_client('moderator') returns the client signed in as a new user with that role."""

    def make(*roles: str, username: str | None = None) -> TestClient:
        name = username or "-".join(roles) + "-user"
        add_user(client, name, *roles)
        login(client, name)
        return client

    return make
