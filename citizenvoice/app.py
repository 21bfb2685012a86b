"""create_app(settings) -> Starlette: routes, middleware, lifespan. Nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import BaseRoute, Mount

from citizenvoice import db as database
from citizenvoice.domain.messaging.backends import backends
from citizenvoice.domain.messaging.sender import Sender
from citizenvoice.domain.screening import ScreenerCache
from citizenvoice.domain.wechat import JsapiTickets
from citizenvoice.settings import Settings, ensure_secret_key
from citizenvoice.views import (
    account,
    admin,
    api,
    editor,
    moderate,
    privacy,
    public,
    reporting,
    setup,
    signoff,
    stats,
    submit,
)
from citizenvoice.views import two_factor as two_factor_views
from citizenvoice.web.bodylimit import BodyLimitMiddleware
from citizenvoice.web.encoding import AcceptEncodingMiddleware
from citizenvoice.web.errors import exception_handlers
from citizenvoice.web.jsonapi import ApiCorsMiddleware
from citizenvoice.web.logs import RequestLogMiddleware
from citizenvoice.web.pagecache import PageCacheMiddleware
from citizenvoice.web.security import SecurityHeadersMiddleware
from citizenvoice.web.sessions import ABSOLUTE_TIMEOUT
from citizenvoice.web.sitesettings import SiteSettingsMiddleware
from citizenvoice.web.staticfiles import CachedStaticFiles
from citizenvoice.web.templating import STATIC_DIR, StaticFiles, build_environment

SESSION_COOKIE = "cv_session"


def app_routes() -> list[BaseRoute]:
    return [
        *public.routes,
        *api.routes,
        *submit.routes,
        *privacy.routes,
        *signoff.routes,
        *account.routes,
        *two_factor_views.routes,
        *moderate.routes,
        *editor.routes,
        *reporting.routes,
        *stats.routes,
        *admin.routes,
        *setup.routes,
        Mount("/static", app=CachedStaticFiles(directory=STATIC_DIR), name="static"),
    ]


def create_app(settings: Settings | None = None, *, migrate: bool = True) -> Starlette:
    settings = (settings or Settings.from_env()).resolved()
    secret_key = ensure_secret_key(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if migrate:
            database.migrate_or_report(settings.database, logging.getLogger("citizenvoice.db"))
        db = database.open_database(settings, readers=settings.reader_connections)
        await db.open()
        app.state.db = db
        # Every worker runs a sender loop; the lease lets exactly one of them (on any host) send.
        stop = asyncio.Event()
        app.state.sender = Sender(db, settings, secret_key, backends(settings))
        sender = asyncio.create_task(app.state.sender.run(stop))
        app.state.sender_loop = (stop, sender)
        try:
            yield
        finally:
            stop.set()
            await sender
            await db.close()

    middleware = [
        Middleware(RequestLogMiddleware),
        # Outside the page cache, so a cached API answer gets the CORS headers of its request's origin.
        Middleware(ApiCorsMiddleware, origins=settings.api_cors_origins),
        # Decides Accept-Encoding once (q-values included) for the page cache and GZipMiddleware below.
        Middleware(AcceptEncodingMiddleware),
        # Before everything that adds per-page work: a cached public page is replayed from here.
        Middleware(PageCacheMiddleware, pages={**public.CACHED_PAGES, **api.CACHED},
                   version=public.content_version, variant=public.page_variant(settings),
                   session_cookie=SESSION_COOKIE, max_bytes=settings.page_cache_mb * 1024 * 1024),
        Middleware(SecurityHeadersMiddleware, https=settings.https),
        # Inside the security headers, so a refused body gets them and the Chinese 413 page; not
        # Starlette(max_body_size=…), whose check sits outside all of this and answers in English.
        Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes),
        Middleware(GZipMiddleware, minimum_size=800),
        Middleware(
            SessionMiddleware,
            secret_key=secret_key,
            session_cookie=SESSION_COOKIE,
            max_age=ABSOLUTE_TIMEOUT,
            same_site="lax",
            https_only=settings.https,
        ),
        Middleware(SiteSettingsMiddleware),
    ]
    app = Starlette(
        routes=app_routes(),
        middleware=middleware,
        exception_handlers=exception_handlers(),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.secret_key = secret_key
    app.state.static = StaticFiles()
    app.state.templates = build_environment(settings, app.state.static)
    app.state.wechat = JsapiTickets(settings)  # the JS-SDK ticket, shared through the database
    app.state.screener = ScreenerCache()  # the worker's compiled word lists, rebuilt when the lists change
    return app
