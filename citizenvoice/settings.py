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


SMS_BACKENDS = ("outbox", "aliyun", "tencent")
PHONE_VERIFICATION = ("off", "required")
SMTP_TLS = ("starttls", "ssl", "none")


def _one_of(choices: tuple[str, ...], *, empty: bool = False) -> Callable[[str], str]:
    def cast(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices and not (empty and value == ""):
            raise ValueError(f"expected one of {', '.join(choices)}, got {raw!r}")
        return value

    return cast


def _review_levels(raw: str) -> int:
    if raw.strip() not in {"1", "2", "3"}:
        raise ValueError(f"expected 1, 2 or 3, got {raw!r}")
    return int(raw)


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
    for origin in origins:
        scheme, _, host = origin.partition("://")
        if scheme not in {"http", "https"} or not host or "/" in host:
            raise ValueError(f"expected origins such as https://example.cn, got {origin!r}")
    return origins


# The paper's sheet for the proof and the DOCX: width × height in millimetres.
PRINT_SHEETS = {"A3": (297, 420), "A4": (210, 297)}


def _print_sheet(raw: str) -> str:
    value = raw.strip().upper()
    if value not in PRINT_SHEETS:
        raise ValueError(f"expected one of {', '.join(PRINT_SHEETS)}, got {raw!r}")
    return value


def _body_sizes(raw: str) -> tuple[float, float]:
    low, sep, high = raw.partition("-")
    try:
        sizes = (float(low), float(high if sep else low))
    except ValueError as exc:
        raise ValueError(f"expected sizes in points like 9-10.5, got {raw!r}") from exc
    if not 6 <= sizes[0] <= sizes[1] <= 16:
        raise ValueError(f"expected 6 <= smallest <= largest <= 16 points, got {raw!r}")
    return sizes


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
    Setting("submit_limit_per_phone", int, 5, "Essays per (verified) phone number per day"),
    Setting("submit_limit_per_address", int, 60, "Essays per address (an IPv4 address or an IPv6 /64) per hour"),
    Setting("track_lookup_limit", int, 10, "Tracking-code + phone-tail look-ups per address (IPv6 /64) per 15 minutes"),
    Setting("track_code_limit", int, 5, "Look-ups of one tracking code per day (so the phone tail cannot be guessed)"),
    Setting("code_limit_per_phone", int, 5, "Verification codes per phone number per day"),
    Setting("code_limit_per_address", int, 60, "Verification codes per address per hour"),
    Setting("lost_link_limit_per_phone", int, 3, "Lost-link requests (/track/lost) per phone number per day"),
    Setting("lost_link_limit_per_address", int, 20, "Lost-link requests per address per hour"),
    Setting("phone_verification", _one_of(PHONE_VERIFICATION, empty=True), "", "Verify the phone by SMS code before"
            " an essay is stored: off or required (default: required with a real SMS backend, off with outbox)"),
    Setting("phone_remember_hours", int, 24, "Hours a browser that verified a phone needs no new code for it"),
    Setting("sms_backend", _one_of(SMS_BACKENDS), "outbox", "Where SMS go: outbox (DATA_DIR/outbox.jsonl), aliyun or tencent"),
    Setting("sms_templates", str, "", "Provider template code per message kind: kind=code,kind=code,… (aliyun, tencent)"),
    Setting("sms_sign_name", str, "", "The approved SMS signature (签名) (aliyun, tencent)"),
    Setting("aliyun_access_key_id", str, "", "Alibaba Cloud AccessKey ID (sms_backend=aliyun)"),
    Setting("aliyun_access_key_secret", str, "", "Alibaba Cloud AccessKey secret (sms_backend=aliyun)"),
    Setting("aliyun_endpoint", str, "https://dysmsapi.aliyuncs.com/", "Alibaba Cloud SMS endpoint"),
    Setting("tencent_secret_id", str, "", "Tencent Cloud SecretId (sms_backend=tencent)"),
    Setting("tencent_secret_key", str, "", "Tencent Cloud SecretKey (sms_backend=tencent)"),
    Setting("tencent_sdk_app_id", str, "", "Tencent Cloud SMS SdkAppId (sms_backend=tencent)"),
    Setting("tencent_region", str, "ap-guangzhou", "Tencent Cloud region"),
    Setting("tencent_endpoint", str, "https://sms.tencentcloudapi.com/", "Tencent Cloud SMS endpoint"),
    Setting("smtp_host", str, "", "SMTP server for mail to authors (empty: mail goes to the outbox file)"),
    Setting("smtp_port", int, 587, "SMTP port"),
    Setting("smtp_tls", _one_of(SMTP_TLS), "starttls", "SMTP transport security: starttls, ssl or none"),
    Setting("smtp_ca_file", str, "", "CA bundle that signs the SMTP server's certificate (empty: the system's)"),
    Setting("smtp_username", str, "", "SMTP user (empty: no login)"),
    Setting("smtp_password", str, "", "SMTP password"),
    Setting("smtp_from", str, "", "From address of mail to authors"),
    Setting("messages_per_minute", int, 120, "Most messages the sender delivers per minute (sending costs money)"),
    Setting("message_retry_seconds", int, 30, "First retry delay of a failed send; doubled each time"),
    Setting("message_max_attempts", int, 8, "Attempts before a message is marked failed"),
    Setting("message_lease_seconds", int, 15, "How long a sender's lease lasts without renewal"),
    Setting("review_levels", _review_levels, 1, "Review levels before publication: 1, 2 (初审+终审) or 3 (三审)"),
    Setting("queue_target_hours", int, 24, "Pending essays older than this count as overdue"),
    Setting("retention_days", int, 30, "Days before personal data of rejected/withdrawn essays is purged"),
    Setting("reader_connections", int, 4, "Read-only SQLite connections per worker"),
    Setting("page_cache_mb", int, 32, "Memory per worker for finished public pages (0 turns the cache off)"),
    Setting("log_level", str, "INFO", "Logging level"),
    Setting("api_cors_origins", _origins, (), "Origins (comma-separated, e.g. https://servicewechat.com) whose"
            " scripts may call the JSON API from a browser; empty: none"),
    Setting("wechat_appid", str, "", "WeChat official account AppID for share cards (JS-SDK); empty: off"),
    Setting("wechat_secret", str, "", "WeChat AppSecret that goes with WECHAT_APPID"),
    Setting("wechat_api_base", str, "https://api.weixin.qq.com", "WeChat API origin (tests point it at a fake)"),
    Setting("print_sheet", _print_sheet, "A3", "The paper's sheet for the proof and the DOCX: A3 or A4"),
    Setting("print_body_pt", _body_sizes, (9.0, 10.5), "The proof's body text size range in points, e.g. 9-10.5:"
            " the proof picks the size in this range that fills the page best"),
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
    submit_limit_per_phone: int = 5
    submit_limit_per_address: int = 60
    track_lookup_limit: int = 10
    track_code_limit: int = 5
    code_limit_per_phone: int = 5
    code_limit_per_address: int = 60
    lost_link_limit_per_phone: int = 3
    lost_link_limit_per_address: int = 20
    phone_verification: str = ""
    phone_remember_hours: int = 24
    sms_backend: str = "outbox"
    sms_templates: str = ""
    sms_sign_name: str = ""
    aliyun_access_key_id: str = ""
    aliyun_access_key_secret: str = ""
    aliyun_endpoint: str = "https://dysmsapi.aliyuncs.com/"
    tencent_secret_id: str = ""
    tencent_secret_key: str = ""
    tencent_sdk_app_id: str = ""
    tencent_region: str = "ap-guangzhou"
    tencent_endpoint: str = "https://sms.tencentcloudapi.com/"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_tls: str = "starttls"
    smtp_ca_file: str = ""
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    messages_per_minute: int = 120
    message_retry_seconds: int = 30
    message_max_attempts: int = 8
    message_lease_seconds: int = 15
    review_levels: int = 1
    queue_target_hours: int = 24
    retention_days: int = 30
    reader_connections: int = 4
    page_cache_mb: int = 32
    log_level: str = "INFO"
    api_cors_origins: tuple[str, ...] = ()
    wechat_appid: str = ""
    wechat_secret: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com"
    print_sheet: str = "A3"
    print_body_pt: tuple[float, float] = (9.0, 10.5)

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
        if bool(self.wechat_appid) != bool(self.wechat_secret):
            raise SettingsError(f"{PREFIX}WECHAT_APPID and {PREFIX}WECHAT_SECRET: set both (share cards) or neither")
        problems = messaging_problems(self)
        if problems:
            raise SettingsError(problems[0] if len(problems) == 1 else "\n".join(problems))
        data_dir = Path(self.data_dir)
        verification = self.phone_verification or ("off" if self.sms_backend == "outbox" else "required")
        return dataclasses.replace(
            self,
            phone_verification=verification,
            data_dir=data_dir,
            database_path=Path(self.database_path or data_dir / "citizenvoice.db"),
            media_dir=Path(self.media_dir or data_dir / "media"),
        )

    @property
    def wechat_configured(self) -> bool:
        return bool(self.wechat_appid and self.wechat_secret)

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


# The message kinds a provider needs an approved template for (domain/messaging/templates.py renders them).
MESSAGE_KINDS = ("verification_code", "received", "needs_revision", "rejected", "published", "printed",
                 "signoff_requested", "lost_link")


def sms_template_codes(raw: str) -> dict[str, str]:
    """``kind=code,kind=code`` -> {kind: code}; entries without ``=`` are ignored by the check below."""
    pairs = (item.split("=", 1) for item in raw.split(",") if "=" in item)
    return {kind.strip(): code.strip() for kind, code in pairs if code.strip()}


def messaging_problems(s: Settings) -> list[str]:
    """One clear sentence per missing or wrong messaging setting, so ``serve`` refuses to start with all
    of them named instead of failing on the first message it tries to send."""
    problems: list[str] = []
    if s.sms_backend not in SMS_BACKENDS:
        return [f"{PREFIX}SMS_BACKEND: expected one of {', '.join(SMS_BACKENDS)}, got {s.sms_backend!r}"]
    if s.phone_verification not in ("", *PHONE_VERIFICATION):
        problems.append(f"{PREFIX}PHONE_VERIFICATION: expected off or required, got {s.phone_verification!r}")
    needed = {
        "aliyun": ("aliyun_access_key_id", "aliyun_access_key_secret", "sms_sign_name", "sms_templates"),
        "tencent": ("tencent_secret_id", "tencent_secret_key", "tencent_sdk_app_id", "sms_sign_name", "sms_templates"),
    }.get(s.sms_backend, ())
    for name in needed:
        if not str(getattr(s, name)).strip():
            problems.append(f"{PREFIX}{name.upper()} is required with {PREFIX}SMS_BACKEND={s.sms_backend}")
    if s.sms_backend != "outbox" and s.sms_templates.strip():
        codes = sms_template_codes(s.sms_templates)
        missing = [kind for kind in MESSAGE_KINDS if kind not in codes]
        if missing:
            problems.append(f"{PREFIX}SMS_TEMPLATES has no template code for: {', '.join(missing)}"
                            " (write kind=code, comma separated)")
        unknown = [kind for kind in codes if kind not in MESSAGE_KINDS]
        if unknown:
            problems.append(f"{PREFIX}SMS_TEMPLATES names unknown message kinds: {', '.join(unknown)}")
    if s.smtp_host and not s.smtp_from:
        problems.append(f"{PREFIX}SMTP_FROM is required with {PREFIX}SMTP_HOST")
    if s.smtp_tls not in SMTP_TLS:
        problems.append(f"{PREFIX}SMTP_TLS: expected one of {', '.join(SMTP_TLS)}, got {s.smtp_tls!r}")
    for name in ("messages_per_minute", "message_max_attempts", "message_lease_seconds", "message_retry_seconds"):
        if int(getattr(s, name)) < 1:
            problems.append(f"{PREFIX}{name.upper()} must be at least 1")
    return problems


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
