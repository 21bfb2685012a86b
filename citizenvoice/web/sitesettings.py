"""The worker's copy of the admin-editable site texts (:mod:`citizenvoice.domain.sitesettings`):
created with the app, brought up to date before each request, read by views and templates."""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from citizenvoice import db as database
from citizenvoice.domain.sitesettings import CHOICES, FIELDS, NUMBERS, SiteSettingsCache
from citizenvoice.settings import Settings

__all__ = ["CHOICES", "FIELDS", "NUMBERS", "SiteSettingsMiddleware", "cache_for", "refreshed", "site_settings", "site_settings_for_app"]
log = logging.getLogger("citizenvoice.sitesettings")


def cache_for(app: Any) -> SiteSettingsCache:
    """The worker's cache, created on first use so create_app needs no extra wiring for it."""
    cache = getattr(app.state, "site_settings_cache", None)
    if cache is None:
        cache = SiteSettingsCache(app.state.settings)
        app.state.site_settings_cache = cache
    return cache


def site_settings_for_app(app: Any) -> Settings:
    return cache_for(app).current()


def site_settings(request: HTTPConnection) -> Settings:
    """The settings templates and views should use: deployment defaults with the admin's overrides."""
    return cache_for(request.app).current()


async def refreshed(request: HTTPConnection, *, force: bool = False) -> Settings:
    return await cache_for(request.app).refresh(request.app.state.db, force=force)


class SiteSettingsMiddleware:
    """Brings the worker's cached site texts up to date before each HTTP request (pure ASGI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            starlette_app = scope.get("app")
            if starlette_app is not None and getattr(starlette_app.state, "db", None) is not None:
                try:
                    await cache_for(starlette_app).refresh(starlette_app.state.db)
                except database.errors():
                    # Stale site texts beat a failed page; /healthz reports the database itself.
                    log.warning("site settings could not be refreshed", exc_info=True)
        await self.app(scope, receive, send)
