"""The reference ceiling: a bare Starlette endpoint returning a fixed HTML string.

Served exactly as ``citizenvoice serve`` serves the app (citizenvoice.serving.run), so the ratio
real/bare measures what our own code costs per request:
``python -m bench.bare_app --port P --workers W``.
"""

from __future__ import annotations

import argparse
import sys

from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

PAGE = "<!doctype html><html lang='zh-CN'><head><title>基准</title></head><body>" + "写给下一个五年。" * 600 + "</body></html>"


async def page(request):  # noqa: ANN001, ANN201
    return HTMLResponse(PAGE)


def create_app() -> Starlette:
    return Starlette(routes=[Route("/", page)])


def main() -> None:
    from citizenvoice import serving

    parser = argparse.ArgumentParser(description="serve the bare reference page")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    sys.exit(serving.run("bench.bare_app:create_app", host="127.0.0.1", port=args.port, workers=args.workers,
                         log_level="warning", log_config=None))  # fmt: skip


if __name__ == "__main__":
    main()
