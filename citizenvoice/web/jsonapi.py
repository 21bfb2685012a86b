"""The JSON API's HTTP plumbing: request bodies decoded and validated by type, JSON answers, errors in
one shape, and CORS for the origins an operator allows.

Every error of the API, whatever raised it (a handler, the router's 404/405, the body limit's 413,
an unhandled exception's 500), is ``{"error": {"code": "…", "message": "中文说明", "fields": {…}}}``
with the HTTP status; :func:`api_error_body` is the one place that shape is built (web/errors.py
calls it for /api/ paths). The API never reads or sets a cookie, so it has no CSRF surface; a browser
script from another origin may call it only when that origin is in ``CITIZENVOICE_API_CORS_ORIGINS``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from citizenvoice.web import httpcache

T = TypeVar("T")
API_PREFIX = "/api/"
JSON = "application/json"

CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 410: "gone", 413: "too_large", 415: "unsupported_media_type", 422: "invalid",
    429: "rate_limited", 500: "server_error", 503: "unavailable",
}
MESSAGES = {
    400: "请求无法处理。", 404: "没有这个接口或资源。", 405: "这个接口不支持这种请求方式。",
    413: "请求体超过了大小限制。", 415: "请求体必须是 JSON，Content-Type 为 application/json。",
    429: "请求太频繁了，请稍后再试。", 500: "服务器出了点问题，请稍后再试。", 503: "服务暂时不可用，请稍后再试。",
}
MALFORMED = "请求体不是有效的 JSON 对象。"
_FIELD_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<name>[^`]+)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<name>[^`]+)`$")


class ApiError(Exception):
    """An answer other than success, raised anywhere below a handler and rendered by the handler's wrapper."""

    def __init__(self, status: int, message: str, *, code: str | None = None,
                 fields: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or CODES.get(status, "error")
        self.message = message
        self.fields = dict(fields or {})
        self.headers = dict(headers or {})


def is_api(path: str) -> bool:
    return path.startswith(API_PREFIX)


def api_error_body(status: int, message: str | None = None, *, code: str | None = None,
                   fields: Mapping[str, str] | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code or CODES.get(status, "error"),
                             "message": message or MESSAGES.get(status, "请求无法处理。")}
    if fields:
        error["fields"] = dict(fields)
    return {"error": error}


def json_response(data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(msgspec.json.encode(data), status_code=status, media_type=JSON, headers=dict(headers or {}))


def error_response(exc: ApiError) -> Response:
    body = api_error_body(exc.status, exc.message, code=exc.code, fields=exc.fields)
    return json_response(body, status=exc.status, headers={"cache-control": "no-store", **exc.headers})


def cached(request: Request, data: Any, *, cache_control: str = httpcache.PAGE) -> Response:
    """A published read: an ETag, a public Cache-Control and 304s, like the pages (the page cache keeps it)."""
    return httpcache.conditional(request, json_response(data), cache_control=cache_control)


def private(data: Any, *, status: int = 200) -> Response:
    """An answer about one author's essay: never stored by any cache, never sent on as a referrer."""
    return json_response(data, status=status, headers={"cache-control": "no-store", "referrer-policy": "no-referrer"})


async def read_json(request: Request, shape: type[T], labels: Mapping[str, str] | None = None) -> T:
    """The request body decoded as ``shape`` (a msgspec Struct): 415 for anything but JSON, 400 for broken
    JSON, 422 naming the field for a wrong type or a missing field. ``labels`` names fields in Chinese."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != JSON:
        raise ApiError(415, MESSAGES[415])
    body = await request.body()
    try:
        data = msgspec.json.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        # Not JSON, not UTF-8 (RFC 8259 allows nothing else), or nested past any real request.
        raise ApiError(400, MALFORMED, code="malformed_json") from None
    if not isinstance(data, dict):
        raise ApiError(400, MALFORMED, code="malformed_json")
    names = labels or {}
    # Every missing field at once, as the form lists every empty one, rather than msgspec's first.
    missing = [f.encode_name for f in msgspec.structs.fields(shape) if f.required and f.encode_name not in data]
    if missing:
        listed = "、".join(f"{name}（{names.get(name, name)}）" for name in missing)
        raise ApiError(422, f"缺少字段 {listed}。", fields={name: f"请填写{names.get(name, name)}。" for name in missing})
    try:
        return msgspec.convert(data, type=shape)
    except msgspec.ValidationError as exc:
        raise _invalid(str(exc), names) from None


def _invalid(detail: str, labels: Mapping[str, str]) -> ApiError:
    """msgspec's "Expected `str`, got `int` - at `$.headline`" as a Chinese message at its field."""
    match = _FIELD_AT.match(detail)
    what, path = (match["what"], match["path"] or "") if match else (detail, "")
    missing = _MISSING.match(what)
    if missing:
        name = missing["name"]
        label = labels.get(name, name)
        return ApiError(422, f"缺少字段 {name}（{label}）。", fields={name: f"请填写{label}。"})
    unknown = _UNKNOWN.match(what)
    if unknown and not path:
        name = unknown["name"]
        return ApiError(422, f"不认识的字段 {name}。", fields={name: "这个字段不在接口说明里。"})
    name = path.lstrip(".").split(".", 1)[0].split("[", 1)[0]
    if not name:
        return ApiError(422, MALFORMED, code="malformed_json")
    label = labels.get(name, name)
    if "length" in what or "<=" in what or ">=" in what:
        message = f"{label}的长度不符合要求。"
    else:
        message = f"{label}的类型不对（{_type_hint(what)}）。"
    return ApiError(422, message, fields={name: message})


def _type_hint(what: str) -> str:
    expected = re.search(r"Expected `([^`]+)`", what)
    names = {"str": "应为字符串", "bool": "应为 true 或 false", "int": "应为整数", "array": "应为数组",
             "object": "应为对象", "str | null": "应为字符串或 null", "bool | null": "应为 true、false 或 null"}
    return names.get(expected[1], f"应为 {expected[1]}") if expected else "格式不对"


class ApiCorsMiddleware:
    """CORS for /api/ only, and only for the configured origins (none by default). Preflights are
    answered here; an origin not on the list gets no CORS headers, so its scripts cannot read answers."""

    def __init__(self, app: ASGIApp, *, origins: tuple[str, ...]) -> None:
        self.app = app
        self.origins = frozenset(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_api(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        allowed = origin is not None and origin in self.origins
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            status = 204 if allowed else 403
            answer = Response(status_code=status) if allowed else json_response(
                api_error_body(403, "这个来源不能调用接口。", code="origin_not_allowed"), status=403)
            if allowed:
                answer.headers.update({
                    "access-control-allow-origin": origin or "",
                    "access-control-allow-methods": "GET, POST",
                    "access-control-allow-headers": "content-type",
                    "access-control-max-age": "600",
                })
            answer.headers["vary"] = "origin"
            await answer(scope, receive, send)
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and self.origins:
                out = MutableHeaders(scope=message)
                out.add_vary_header("origin")
                if allowed:
                    out["access-control-allow-origin"] = origin or ""
            await send(message)

        await self.app(scope, receive, with_cors)
