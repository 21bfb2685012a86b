"""Fixtures. Every app a test uses comes from ``make_app``, on a fresh temporary database unless the
test hands it the settings of another app on purpose (a second worker on one database)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pgtest
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from support import add_user, login

from citizenvoice.app import create_app
from citizenvoice.settings import Settings

SECRET_KEY = "test-secret-key-not-for-production"


def _settings(root: Path, **overrides: Any) -> Settings:
    if pgtest.enabled() and "database_url" not in overrides:
        overrides["database_url"] = pgtest.fresh_database()
    settings = Settings(**{"data_dir": root / "data", "secret_key": SECRET_KEY, **overrides}).resolved()
    if settings.database_url:
        pgtest.DATABASE_BY_DATA_DIR[str(settings.data_dir)] = settings.database_url
    return settings


@pytest.fixture(autouse=True)
def _commands_reach_the_test_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """On PostgreSQL, a command a test runs in process (``cli.main``) with CITIZENVOICE_DATA_DIR set to a
    test app's data directory reaches that app's database, as it reaches its SQLite file otherwise."""
    if not pgtest.enabled():
        return
    original = Settings.from_env.__func__  # type: ignore[attr-defined]

    def from_env(cls: type[Settings], environ: Any = None, **overrides: Any) -> Settings:
        settings = original(cls, environ, **overrides)
        url = pgtest.DATABASE_BY_DATA_DIR.get(str(settings.data_dir))
        if url and not settings.database_url:
            settings = dataclasses.replace(settings, database_url=url)
        return settings

    monkeypatch.setattr(Settings, "from_env", classmethod(from_env))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On PostgreSQL, tests of SQLite's own machinery are skipped, each with its reason (``sqlite_only``)."""
    if not pgtest.enabled():
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            reason = marker.args[0] if marker.args else "tests SQLite's own machinery"
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashes() -> Iterator[None]:
    """argon2id at the production cost takes 0.1-0.4 s per hash or check on the CI machine, and the suite
    signs staff in thousands of times: minutes per pass spent on nothing any test asserts. In process,
    hashes stay argon2id, salted and checked for real, at the minimal cost; servers started as
    subprocesses (the crash and two-host tests) keep the production parameters."""
    from argon2 import PasswordHasher

    from citizenvoice.domain import accounts

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "_hasher", cheap)
        patch.setattr(accounts, "_DUMMY_HASH", cheap.hash("not anybody's password"))
        yield


@pytest.fixture(scope="session", autouse=True)
def _postgres_databases() -> Iterator[None]:
    """With CITIZENVOICE_TEST_DATABASE_URL set, every app gets its own PostgreSQL database, copied
    from a migrated template (tests/pgtest.py); they are dropped when the session ends."""
    yield
    if pgtest.enabled():
        pgtest.drop_all()


@pytest.fixture(scope="session")
def make_settings() -> Callable[..., Settings]:
    """``make_settings(root, **overrides)``: deployment settings whose data (database, media, a generated
    key) live in ``root / "data"``; ``overrides`` are Settings fields (``https=True``, ``city="海城"``,
    ``secret_key=None`` to have one generated …)."""
    return _settings


@pytest.fixture(scope="session")
def make_app() -> Callable[..., Starlette]:
    """``make_app(root, **overrides)``: a new app on a fresh database under ``root`` (a test's tmp_path,
    or a module fixture's ``tmp_path_factory.mktemp(…)``).

    ``make_app(settings, **overrides)``: a new app on exactly those settings (with the overrides
    replaced): the second worker of a multi-worker test, or the settings the CLI read from the
    environment.
    """

    def make(where: Path | Settings, **overrides: Any) -> Starlette:
        if isinstance(where, Settings):
            return create_app(dataclasses.replace(where, **overrides))
        return create_app(_settings(where, **overrides))

    return make


@pytest.fixture
def settings(tmp_path: Path, make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def app(settings: Settings, make_app: Callable[..., Starlette]) -> Starlette:
    return make_app(settings)


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
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
