"""The reference ceiling: a bare Starlette endpoint returning a fixed HTML string.

Served by the same uvicorn settings as the real app, so the ratio real/bare measures what our own
code costs per request.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

PAGE = "<!doctype html><html lang='zh-CN'><head><title>基准</title></head><body>" + "写给下一个五年。" * 600 + "</body></html>"


async def page(request):  # noqa: ANN001, ANN201
    return HTMLResponse(PAGE)


def create_app() -> Starlette:
    return Starlette(routes=[Route("/", page)])
