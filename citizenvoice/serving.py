"""How the app is served: uvicorn with the options ``citizenvoice serve`` uses (shared with the
benchmark's bare reference, so that only the application differs), and, for several workers, a small
supervisor that gives each worker a listening socket of its own.

Why not ``uvicorn --workers``: its supervisor binds one socket and hands it to every worker, and
asyncio accepts every connection waiting on a socket at once, so one worker routinely took all 64 of
the benchmark's keep-alive connections while the other idled (5,950 instead of ~10,000 requests/s);
that listener also left Nagle's algorithm on (uvicorn issue #3149: ~44 ms per keep-alive response).
Here each worker listens on its own SO_REUSEPORT socket and the kernel spreads new connections over
them; the sockets are made with IPPROTO_TCP, so asyncio switches Nagle off as it does for one worker.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import multiprocessing
import signal
import socket
import sys
import time
from collections.abc import Iterator
from multiprocessing.process import BaseProcess
from typing import Any

import uvicorn

log = logging.getLogger("uvicorn.error")

GRACEFUL_SECONDS = 20  # requests in flight get this long to finish on SIGTERM (a resident mid-submit)
STARTUP_FAILURE = 3  # uvicorn's exit code when the app could not start
_RESTART_PAUSE = 1.0  # a worker that died is started again after this, not in a tight loop


def uvicorn_options(*, host: str, port: int, log_level: str) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.Config`` / ``uvicorn.run`` besides the app and logging."""
    return {
        "host": host,
        "port": port,
        "log_level": log_level,
        "proxy_headers": True,  # behind nginx; uvicorn trusts X-Forwarded-For from 127.0.0.1 only
        "timeout_graceful_shutdown": GRACEFUL_SECONDS,
        "access_log": False,  # logs.RequestLogMiddleware writes one line per request instead
    }


def listener(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port that other workers may bind too (SO_REUSEPORT)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def run(app: str, *, host: str, port: int, workers: int, log_level: str, log_config: dict[str, Any] | None) -> int:
    """Serve ``app`` (an import string of a factory) until SIGTERM or SIGINT; returns the exit code."""
    options = {**uvicorn_options(host=host, port=port, log_level=log_level), "log_config": log_config}
    if workers <= 1:
        # What uvicorn.run does for one process, with our Server (it writes the logs out before exit).
        server = _Server(uvicorn.Config(app, factory=True, **options))
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
        if not server.started:
            sys.exit(STARTUP_FAILURE)
        return 0
    try:
        reserved = _reserve(host, port)
    except OSError as exc:
        log.error("Could not listen on %s:%d: %s", host, port, exc.strerror or exc)  # as uvicorn says it
        return 1
    options["port"] = reserved.getsockname()[1]
    log.info("Serving on http://%s:%d with %d worker processes (Press CTRL+C to quit)", host, options["port"], workers)
    try:
        return Supervisor(app, options, workers).run()
    finally:
        reserved.close()


def _reserve(host: str, port: int) -> socket.socket:
    """A socket bound to host:port but never listening: it holds the port against programs without
    SO_REUSEPORT, and fixes the port number when 0 was asked for, without taking connections itself."""
    if port and _answers(host, port):
        # Another server with SO_REUSEPORT (a second `serve`, say) would let us bind and then share
        # its connections with us: refuse, as uvicorn's own bind would.
        raise OSError(errno.EADDRINUSE, "address already in use")
    return listener(host, port)


def _answers(host: str, port: int) -> bool:
    """Whether something already accepts connections on host:port (a wildcard host: on loopback)."""
    target = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    try:
        socket.create_connection((target, port), timeout=1.0).close()
    except OSError:
        return False
    return True


def flush_logs() -> None:
    """Write out what the log handlers still hold (logs.JsonHandler writes from a queue)."""
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()


class _Server(uvicorn.Server):
    """uvicorn's server, writing the logs out once it has stopped.

    On SIGTERM (systemd's stop, the supervisor's) uvicorn finishes the requests in flight and then
    raises the signal again with its default action: the process ends there, without ``atexit``, so
    ``logging.shutdown`` never runs and the last requests' lines would be lost.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            try:
                yield
            finally:
                flush_logs()


class _WorkerServer(_Server):
    """uvicorn's server, telling the supervisor once its startup (the app's lifespan included) is done."""

    def __init__(self, config: uvicorn.Config, ready: Any) -> None:
        super().__init__(config)
        self.ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self.ready.set()


def _serve_worker(app: str, options: dict[str, Any], ready: Any) -> None:
    config = uvicorn.Config(app, factory=True, **options)
    sock = listener(config.host, config.port)
    server = _WorkerServer(config, ready)
    server.run(sockets=[sock])
    if not server.started:  # the app's startup failed: uvicorn.run would exit so too
        sys.exit(STARTUP_FAILURE)


class Supervisor:
    """Starts the workers, starts a worker again if one dies, and stops them all on SIGTERM / SIGINT.

    A worker that dies before it ever served failed to start (an import error, a database it cannot
    open): starting it again would fail again, so the server stops with uvicorn's startup-failure code
    and leaves the restarting to systemd (docs/operations.md), which also says why in its journal.
    """

    def __init__(self, app: str, options: dict[str, Any], workers: int) -> None:
        self.app, self.options, self.count = app, options, workers
        self.context = multiprocessing.get_context("spawn")  # a fresh interpreter: no event loop or threads copied
        self.processes: list[BaseProcess] = []
        self.ready: dict[BaseProcess, Any] = {}  # each worker's Event, set once it serves
        self.stopping = False

    def _start(self) -> BaseProcess:
        ready = self.context.Event()
        process = self.context.Process(target=_serve_worker, args=(self.app, self.options, ready),
                                       name="citizenvoice-worker")  # fmt: skip
        process.start()
        self.ready[process] = ready
        log.info("Started worker process [%s]", process.pid)
        return process

    def _stop(self, signum: int, frame: object) -> None:
        self.stopping = True

    def run(self) -> int:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._stop)
        self.processes = [self._start() for _ in range(self.count)]
        code = 0
        while not self.stopping:
            time.sleep(0.2)
            for i, process in enumerate(self.processes):
                if process.is_alive() or self.stopping:
                    continue
                if not self.ready.pop(process).is_set():
                    log.error("Worker process [%s] could not start (exit code %s); stopping.", process.pid,
                              process.exitcode)  # fmt: skip
                    self.stopping, code = True, STARTUP_FAILURE
                    break
                log.warning("Worker process [%s] exited with %s; starting another.", process.pid, process.exitcode)
                time.sleep(_RESTART_PAUSE)
                self.processes[i] = self._start()
        self._terminate_all()
        return code

    def _terminate_all(self) -> None:
        for process in self.processes:
            if process.is_alive() and process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    process.terminate()  # SIGTERM: uvicorn finishes the requests in flight, then exits
        deadline = time.monotonic() + GRACEFUL_SECONDS + 5
        for process in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
