"""Jinja environment, content-hashed static URLs, and the one render() every view uses."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from citizenvoice.model.essays import AUTHOR_ROLES, PILLARS, ROLE_GROUP_LABELS, STATUS_LABELS
from citizenvoice.model.staff import ROLE_LABELS
from citizenvoice.settings import Settings
from citizenvoice.text.normalize import web_paragraphs
from citizenvoice.web.security import CSRF_FIELD, csrf_token
from citizenvoice.web.sessions import USER_SCOPE_KEY
from citizenvoice.web.sitesettings import site_settings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES_DIR = ROOT / "templates"
STATIC_DIR = ROOT / "static"


class StaticFiles:
    """Content hashes of static files, so their URLs change with their content and can be cached forever."""

    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self.directory = directory
        self._hashes: dict[str, str] = {}

    def url(self, path: str) -> str:
        digest = self._hashes.get(path)
        if digest is None:
            file = (self.directory / path).resolve()
            if not file.is_relative_to(self.directory.resolve()) or not file.is_file():
                raise FileNotFoundError(path)
            digest = hashlib.sha256(file.read_bytes()).hexdigest()[:12]
            self._hashes[path] = digest
        return f"/static/{path}?v={digest}"


# Stored times are UTC; readers, authors and staff are all in China (UTC+8, no daylight saving).
DISPLAY_TZ = timezone(timedelta(hours=8), "北京时间")


def format_datetime(value: str | None, fmt: str = "%Y年%m月%d日 %H:%M") -> str:
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(DISPLAY_TZ)
    return moment.strftime(fmt)


def format_timestamp(value: float | None, fmt: str = "%Y年%m月%d日 %H:%M") -> str:
    """A stored Unix time (sessions, login throttling) in Beijing time."""
    if value is None:
        return ""
    return datetime.fromtimestamp(value, DISPLAY_TZ).strftime(fmt)


def format_date(value: str | None) -> str:
    return format_datetime(value, "%Y年%-m月%-d日")


def paragraphs_html(text: str) -> Markup:
    """Blank-line separated paragraphs as escaped <p> elements; single newlines become <br>."""
    parts = web_paragraphs(text)
    return Markup("\n").join(Markup("<p>{}</p>").format(Markup("<br>").join(escape(p).split("\n"))) for p in parts)


def build_environment(settings: Settings, static: StaticFiles) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "xml", "atom"], default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        settings=settings,
        static_url=static.url,
        csrf_token=csrf_token,
        csrf_field=CSRF_FIELD,
        STATUS_LABELS={str(k): v for k, v in STATUS_LABELS.items()},
        AUTHOR_ROLES=AUTHOR_ROLES,
        ROLE_GROUP_LABELS=ROLE_GROUP_LABELS,
        PILLARS=PILLARS,
        ROLE_LABELS=ROLE_LABELS,
    )
    env.filters.update(datetime=format_datetime, timestamp=format_timestamp, date=format_date, paragraphs=paragraphs_html)
    return env


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    env: Environment = request.app.state.templates
    page = env.get_template(template).render(
        request=request,
        user=request.scope.get(USER_SCOPE_KEY),
        **{"settings": site_settings(request), **(context or {})},
    )
    return HTMLResponse(page, status_code=status_code, headers=headers)
