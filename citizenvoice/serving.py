"""How uvicorn serves the app: the options ``citizenvoice serve`` uses, shared with the benchmark's bare
reference so that only the application differs between them."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with Nagle's algorithm switched off on every connection.

    With ``--workers`` above 1 uvicorn binds the listening socket itself, with ``proto`` 0, and asyncio
    sets TCP_NODELAY only on accepted sockets that say IPPROTO_TCP (uvicorn issue #3149). Each response
    body then waited for the client's delayed ACK: ~44 ms on every keep-alive request on Linux, which
    capped two workers at 64 connections / 44 ms ≈ 1,450 requests/s whatever the page.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


def uvicorn_options(*, host: str, port: int, workers: int, log_level: str) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` (besides the app and logging)."""
    return {
        "host": host,
        "port": port,
        "workers": workers,
        "log_level": log_level,
        "http": NoDelayH11Protocol,
        "proxy_headers": True,  # behind nginx; uvicorn trusts X-Forwarded-For from 127.0.0.1 only
        "timeout_graceful_shutdown": 20,
        "access_log": False,  # logs.RequestLogMiddleware writes one line per request instead
    }
