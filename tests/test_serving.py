"""The uvicorn options `citizenvoice serve` runs with."""

from __future__ import annotations

import asyncio
import socket

import uvicorn
from uvicorn.server import ServerState

from citizenvoice.serving import NoDelayH11Protocol, uvicorn_options


async def _nodelay_of_accepted_connection(listener: socket.socket, config: uvicorn.Config) -> int:
    seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(NoDelayH11Protocol):
        def connection_made(self, transport):  # noqa: ANN001, ANN202
            super().connection_made(transport)
            seen.set_result(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    server = await asyncio.get_running_loop().create_server(lambda: Probe(config, ServerState(), {}), sock=listener)
    try:
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        value = await asyncio.wait_for(seen, 5)
        writer.close()
        return value
    finally:
        server.close()


def test_connections_of_a_multi_worker_listener_get_tcp_nodelay():
    async def app(scope, receive, send):  # noqa: ANN001, ANN202
        return None

    config = uvicorn.Config(app, **uvicorn_options(host="127.0.0.1", port=0, workers=2, log_level="warning"))
    config.load()
    # The listener exactly as uvicorn's multi-worker supervisor binds it (proto 0: asyncio alone would
    # leave Nagle's algorithm on for its connections).
    listener = config.bind_socket()
    assert listener.proto == 0
    assert asyncio.run(_nodelay_of_accepted_connection(listener, config)) != 0


def test_serve_options_keep_proxy_headers_and_our_own_access_log():
    options = uvicorn_options(host="127.0.0.1", port=8000, workers=2, log_level="info")
    assert options["http"] is NoDelayH11Protocol
    assert options["proxy_headers"] is True and options["access_log"] is False
