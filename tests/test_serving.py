"""How `citizenvoice serve` listens (the multi-worker end to end is in test_multiworker.py)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from citizenvoice import serving


async def _nodelay_of_a_connection_accepted_on(sock: socket.socket) -> int:
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport):  # noqa: ANN001, ANN202
            accepted.set_result(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))

    server = await asyncio.get_running_loop().create_server(Probe, sock=sock)
    try:
        _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        value = await asyncio.wait_for(accepted, 5)
        writer.close()
        return value
    finally:
        server.close()


def test_each_worker_can_listen_on_the_same_port_with_nagle_off():
    first = serving.listener("127.0.0.1", 0)
    port = first.getsockname()[1]
    second = serving.listener("127.0.0.1", port)  # a second worker binds the very same port
    try:
        assert second.getsockname()[1] == port
        # asyncio switches Nagle's algorithm off only on sockets that say IPPROTO_TCP (uvicorn's own
        # multi-worker listener does not: ~44 ms per keep-alive response).
        assert asyncio.run(_nodelay_of_a_connection_accepted_on(second)) != 0
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("reuse_port", [False, True], ids=["another program", "another serve"])
def test_a_port_already_served_is_refused_at_once(reuse_port):
    other = socket.socket()
    if reuse_port:  # what a second `citizenvoice serve --workers 2` would hold: it must not share our port
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    other.bind(("127.0.0.1", 0))
    other.listen()
    try:
        code = serving.run("citizenvoice.app:create_app", host="127.0.0.1", port=other.getsockname()[1], workers=2,
                           log_level="warning", log_config=None)  # fmt: skip
        assert code == 1
    finally:
        other.close()


def test_serve_options_keep_proxy_headers_and_our_own_access_log():
    options = serving.uvicorn_options(host="127.0.0.1", port=8000, log_level="info")
    assert options["proxy_headers"] is True and options["access_log"] is False
    assert options["timeout_graceful_shutdown"] == serving.GRACEFUL_SECONDS


def test_workers_that_cannot_start_stop_the_server_with_uvicorns_startup_failure_code():
    # An app that cannot even be imported: starting its workers again would fail again.
    code = serving.run("citizenvoice.no_such_module:create_app", host="127.0.0.1", port=0, workers=2,
                       log_level="critical", log_config=None)  # fmt: skip
    assert code == serving.STARTUP_FAILURE
