"""The reference ceiling: a bare Starlette endpoint returning a fixed HTML page.

Served exactly as ``citizenvoice serve`` serves the app (citizenvoice.serving.run), so the ratio
real/bare measures what our own code costs per request:
``python -m bench.bare_app --port P --workers W [--page FILE]``.

With ``--page`` it serves that file (run.py saves the benchmarked essay page there, so both servers
send a page of the same size), gzipped once at start as the app's page cache stores it and sent
gzipped to clients that accept it; without, a fixed 14 KB page, uncompressed.
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

PAGE = "<!doctype html><html lang='zh-CN'><head><title>基准</title></head><body>" + "写给下一个五年。" * 600 + "</body></html>"
PAGE_ENV = "CITIZENVOICE_BENCH_BARE_PAGE"  # how the page reaches every worker process


def create_app() -> Starlette:
    path = os.environ.get(PAGE_ENV)
    if not path:

        async def fixed(request: Request) -> Response:
            return HTMLResponse(PAGE)

        return Starlette(routes=[Route("/", fixed)])

    plain = Path(path).read_bytes()
    gzipped = gzip.compress(plain, compresslevel=9, mtime=0)  # as citizenvoice.web.pagecache stores pages

    async def page(request: Request) -> Response:
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(gzipped, media_type="text/html", headers={"content-encoding": "gzip", "vary": "accept-encoding"})
        return Response(plain, media_type="text/html", headers={"vary": "accept-encoding"})

    return Starlette(routes=[Route("/", page)])


def main() -> None:
    from citizenvoice import serving

    parser = argparse.ArgumentParser(description="serve the bare reference page")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--page", type=Path, help="serve this file (plain, and gzipped to who accepts it)")
    args = parser.parse_args()
    if args.page:
        os.environ[PAGE_ENV] = str(args.page.resolve())
    sys.exit(serving.run("bench.bare_app:create_app", host="127.0.0.1", port=args.port, workers=args.workers,
                         log_level="warning", log_config=None))  # fmt: skip


if __name__ == "__main__":
    main()
