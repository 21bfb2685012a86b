"""Friendly Chinese error pages that never reveal a stack trace or SQL."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from citizenvoice import db as database
from citizenvoice.web import jsonapi
from citizenvoice.web.security import add_security_headers
from citizenvoice.web.templating import render

log = logging.getLogger("citizenvoice.web.errors")

TITLES = {
    400: "请求无法处理",
    401: "需要登录",
    403: "没有权限",
    404: "页面不存在",
    405: "不支持的请求方式",
    409: "内容已被更新",
    410: "内容已下线",
    413: "提交的内容过大",
    415: "不支持的提交格式",
    422: "提交的内容有误",
    429: "操作太频繁",
    500: "服务器出了点问题",
    503: "服务暂时不可用",
}
DEFAULT_MESSAGES = {
    404: "您要找的页面不存在，可能已被移除，或链接有误。",
    405: "请通过页面上的按钮和表单操作。",
    413: "提交的内容超过了大小限制。照片请不要超过 8 MB。",
    429: "您的操作太频繁了，请稍后再试。",
    500: "我们已经记录了这个问题，请稍后再试。您已经提交的文章不会丢失。",
    503: "数据库暂时无法连接，刚才的操作没有保存。请稍后再试。",
}


def _wants_json(request: Request) -> bool:
    return request.url.path == "/healthz" or "application/json" in request.headers.get("accept", "")[:40]


def error_response(request: Request, status: int, message: str | None = None) -> Response:
    if jsonapi.is_api(request.url.path):
        body = jsonapi.api_error_body(status, message)
        return JSONResponse(body, status_code=status, headers={"cache-control": "no-store"})
    text = message or DEFAULT_MESSAGES.get(status) or TITLES.get(status, "请求无法处理")
    if _wants_json(request):
        return JSONResponse({"error": text}, status_code=status)
    title = TITLES.get(status, "出错了")
    try:
        return render(request, "errors/error.html", {"status": status, "title": title, "message": text},
                      status_code=status)
    except Exception:  # the error page itself must never fail
        log.exception("error page failed to render")
        return HTMLResponse(f"<h1>{status}</h1>", status_code=status)


async def http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) and not exc.detail.isascii() else None
    response = error_response(request, exc.status_code, detail)
    for key, value in (exc.headers or {}).items():
        response.headers[key] = value
    return response


async def database_unavailable(request: Request, exc: Exception) -> Response:
    """PostgreSQL could not be reached, or went away mid-request (restarted, the network dropped):
    the transaction died with its connection, so nothing is half-written, and the pool reconnects on a
    later request. The visitor gets the Chinese 503 page, not a 500."""
    log.error("database unavailable: %s: %s", type(exc).__name__, exc)
    response = error_response(request, 503)
    response.headers["Retry-After"] = "5"
    return response


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    response = error_response(request, 500)
    # Starlette renders this page in ServerErrorMiddleware, outside SecurityHeadersMiddleware.
    settings = getattr(request.app.state, "settings", None)
    add_security_headers(response.headers, https=bool(settings and settings.https))
    return response


def exception_handlers() -> dict:
    unavailable = {kind: database_unavailable for kind in database.unavailable_errors()}
    return {HTTPException: http_exception, **unavailable, Exception: server_error}
