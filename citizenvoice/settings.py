"""Every setting, declared once and read from ``CITIZENVOICE_*`` environment variables here only."""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PREFIX = "CITIZENVOICE_"


class SettingsError(ValueError):
    pass


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected a boolean, got {raw!r}")


TWO_FACTOR_POLICIES = ("off", "admins", "all")


def _two_factor(raw: str) -> str:
    value = raw.strip().lower()
    if value not in TWO_FACTOR_POLICIES:
        raise ValueError(f"expected one of {', '.join(TWO_FACTOR_POLICIES)}, got {raw!r}")
    return value


def _review_levels(raw: str) -> int:
    if raw.strip() not in {"1", "2", "3"}:
        raise ValueError(f"expected 1, 2 or 3, got {raw!r}")
    return int(raw)


def _database_url(raw: str) -> str:
    """A PostgreSQL URL, postgresql://user:password@host:port/dbname; empty means SQLite."""
    from urllib.parse import urlsplit

    value = raw.strip()
    if not value:
        return ""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:
        raise ValueError(f"not a URL ({exc}): expected postgresql://user:password@host:port/dbname") from exc
    if parts.scheme not in {"postgresql", "postgres"}:
        raise ValueError(f"expected postgresql://user:password@host:port/dbname, got scheme {parts.scheme!r}")
    if not parts.path.strip("/"):
        raise ValueError("the URL names no database: expected postgresql://user:password@host:port/dbname")
    if not parts.hostname and "host=" not in parts.query:
        raise ValueError("the URL names no host: expected postgresql://user:password@host:port/dbname")
    return value


@dataclass(frozen=True)
class Setting:
    name: str
    cast: Callable[[str], Any]
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", Path, Path("data"), "Directory for the database, media and the generated secret key"),
    Setting("database_path", Path, None, "SQLite file (default: DATA_DIR/citizenvoice.db)"),
    Setting("database_url", _database_url, "", "PostgreSQL instead of SQLite: postgresql://user:password@host:port/"
            "dbname (unset: the SQLite file)"),
    Setting("media_dir", Path, None, "Uploaded photos (default: DATA_DIR/media)"),
    Setting("secret_key", str, None, "Signs sessions and tokens (default: generated into DATA_DIR/secret_key)"),
    Setting("site_name", str, "市民之声", "Name of the site in the header and titles"),
    Setting("city", str, "锦州", "City name, used in anonymous bylines such as 锦州市民"),
    Setting("paper_name", str, "锦州日报", "The newspaper that prints the column"),
    Setting("column_title", str, "写给下一个五年", "Title of the column"),
    Setting("lead", str, "", "Home-page lead (核心提示); a sensible default is used when empty"),
    Setting("base_url", str, "http://127.0.0.1:8000", "Public origin used in feeds, sitemaps and share links"),
    Setting("https", _bool, False, "Served over HTTPS: Secure cookies and HSTS"),
    Setting("two_factor", _two_factor, "off", "Staff who must sign in with an authenticator code: off (each may"
            " choose), admins, or all staff; those not yet enrolled are sent to /account/2fa after login"),
    Setting("max_body_bytes", int, 10 * 1024 * 1024, "Largest request body accepted"),
    Setting("photo_max_bytes", int, 8 * 1024 * 1024, "Largest photo accepted"),
    Setting("submit_limit_per_hour", int, 5, "Submissions per IP and per phone number per hour"),
    Setting("track_lookup_limit", int, 10, "Tracking look-ups per IP per 15 minutes"),
    Setting("review_levels", _review_levels, 1, "Review levels before publication: 1, 2 (初审+终审) or 3 (三审)"),
    Setting("queue_target_hours", int, 24, "Pending essays older than this count as overdue"),
    Setting("retention_days", int, 30, "Days before personal data of rejected/withdrawn essays is purged"),
    Setting("reader_connections", int, 4, "Read-only SQLite connections per worker"),
    Setting("page_cache_mb", int, 32, "Memory per worker for finished public pages (0 turns the cache off)"),
    Setting("log_level", str, "INFO", "Logging level"),
)


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    database_path: Path | None = None
    database_url: str = ""
    media_dir: Path | None = None
    secret_key: str | None = None
    site_name: str = "市民之声"
    city: str = "锦州"
    paper_name: str = "锦州日报"
    column_title: str = "写给下一个五年"
    lead: str = ""
    base_url: str = "http://127.0.0.1:8000"
    https: bool = False
    two_factor: str = "off"
    max_body_bytes: int = 10 * 1024 * 1024
    photo_max_bytes: int = 8 * 1024 * 1024
    submit_limit_per_hour: int = 5
    track_lookup_limit: int = 10
    review_levels: int = 1
    queue_target_hours: int = 24
    retention_days: int = 30
    reader_connections: int = 4
    page_cache_mb: int = 32
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            raw = environ.get(PREFIX + setting.name.upper())
            if raw is None:
                continue
            try:
                values[setting.name] = setting.cast(raw)
            except ValueError as exc:
                raise SettingsError(f"{PREFIX}{setting.name.upper()}: {exc}") from exc
        values.update(overrides)
        return cls(**values).resolved()

    def resolved(self) -> Settings:
        """Fill the paths that default relative to the data directory."""
        if self.two_factor not in TWO_FACTOR_POLICIES:
            raise SettingsError(f"two_factor: expected one of {', '.join(TWO_FACTOR_POLICIES)}, got {self.two_factor!r}")
        data_dir = Path(self.data_dir)
        return dataclasses.replace(
            self,
            data_dir=data_dir,
            database_path=Path(self.database_path or data_dir / "citizenvoice.db"),
            media_dir=Path(self.media_dir or data_dir / "media"),
        )

    @property
    def db_path(self) -> Path:
        assert self.database_path is not None, "call resolved() first"
        return self.database_path

    @property
    def database(self) -> Path | str:
        """Where the data lives: the PostgreSQL URL when one is set, else the SQLite file."""
        return self.database_url or self.db_path

    @property
    def media_path(self) -> Path:
        assert self.media_dir is not None, "call resolved() first"
        return self.media_dir


def ensure_secret_key(settings: Settings) -> str:
    """Return the configured key, or one generated once and kept (mode 0600) in the data directory.

    A hard-coded fallback would let anyone forge sessions, and a per-start random key would log every
    moderator out on restart, so the generated key is persisted.
    """
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race
        return path.read_text().strip()
    try:
        os.write(fd, key.encode())
    finally:
        os.close(fd)
    return key
