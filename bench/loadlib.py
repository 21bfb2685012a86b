"""Shared pieces of the benchmarks: free ports, starting and stopping real servers, driving load.

Load comes from ``wrk`` when it is installed (Debian package ``wrk``) and otherwise from
:func:`http_load`, an asyncio + httpx2 generator that reports the same numbers (it saturates long
before wrk does, so its requests/s are a floor, not the server's ceiling).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def port_range(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    return int(low), int(high or low)


def free_port(ports: tuple[int, int] | None = None) -> int:
    """A port nothing listens on: any (the kernel's pick), or the first free one in ``ports`` (low, high)."""
    candidates = [0] if ports is None else range(ports[0], ports[1] + 1)
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise RuntimeError(f"no free port in {ports[0]}-{ports[1]}")


def wait_until_up(url: str, proc: subprocess.Popen | None = None, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server for {url} exited with status {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2.0).status_code < 500:
                return
        time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not come up within {timeout:.0f} s")


@contextlib.contextmanager
def server(
    cmd: list[str], url: str, env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[subprocess.Popen]:
    """Run a server in its own process group for the length of the block; always stopped afterwards.

    Its output goes to ``log`` (or nowhere), never to a pipe nobody reads: a server that logs a lot
    under load would otherwise block on a full pipe and the benchmark would measure that.
    """
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        cmd, env={**os.environ, **(env or {})}, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        try:
            wait_until_up(url, proc)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n{log_tail(log)}") from None
        yield proc
    finally:
        stop(proc)
        if log:
            out.close()


def stop(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def log_tail(log: Path | None, lines: int = 30) -> str:
    if not log or not log.exists():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


# ---------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    bytes_per_s: float = 0.0
    requests: int = 0  # answered in the run
    cpu_us: float | None = None  # the server's CPU time per request (all its processes and threads)

    @property
    def bytes_per_response(self) -> float:
        return self.bytes_per_s / self.requests_per_s if self.requests_per_s else 0.0


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_SIZES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _required(pattern: str, output: str) -> str:
    match = re.search(pattern, output, re.M)
    if not match:
        raise ValueError(f"wrk output without {pattern!r}:\n{output}")
    return match.group(1)


def parse_wrk(output: str) -> WrkResult:
    """The numbers of one ``wrk --latency`` run; non-2xx/3xx answers and socket errors are errors."""
    rps = float(_required(r"Requests/sec:\s+([\d.]+)", output))
    p50 = _ms(_required(r"^\s+50%\s+(\S+)", output))
    p99 = _ms(_required(r"^\s+99%\s+(\S+)", output))
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non2xx:
        errors += int(non2xx.group(1))
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if sock:
        errors += sum(int(x) for x in sock.groups())
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)", output)
    bytes_per_s = float(transfer.group(1)) * _SIZES[transfer.group(2)] if transfer else 0.0
    total = re.search(r"^\s*(\d+) requests in", output, re.M)
    return WrkResult(rps, p50, p99, errors, bytes_per_s, int(total.group(1)) if total else 0)


def median_result(results: Sequence[WrkResult]) -> WrkResult:
    return WrkResult(
        statistics.median(r.requests_per_s for r in results),
        statistics.median(r.p50_ms for r in results),
        statistics.median(r.p99_ms for r in results),
        sum(r.errors for r in results),
        statistics.median(r.bytes_per_s for r in results),
        sum(r.requests for r in results),
        statistics.median(cpu) if (cpu := [r.cpu_us for r in results if r.cpu_us is not None]) else None,
    )


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (the value below which pct % of the samples lie)."""
    if not values:
        raise ValueError("no samples")
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


# ---------------------------------------------------------------------------------------------------
# Load generators


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def wrk(
    url: str, *, connections: int, duration: int, threads: int = 2, headers: dict[str, str] | None = None
) -> WrkResult:
    threads = max(1, min(threads, connections))
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    for key, value in (headers or {}).items():
        cmd += ["-H", f"{key}: {value}"]
    done = subprocess.run(cmd + [url], capture_output=True, text=True, check=True, timeout=duration + 60)
    return parse_wrk(done.stdout)


def load(
    url: str, *, connections: int, duration: int, threads: int = 2, headers: dict[str, str] | None = None
) -> WrkResult:
    """wrk if installed, else the Python generator."""
    if have_wrk():
        return wrk(url, connections=connections, duration=duration, threads=threads, headers=headers)
    return asyncio.run(http_load(url, connections=connections, duration=duration, headers=headers))


async def http_load(
    url: str, *, connections: int, duration: float, headers: dict[str, str] | None = None, max_requests: int = 10**7
) -> WrkResult:
    """``connections`` keep-alive clients requesting ``url`` back to back for ``duration`` seconds."""
    latencies: list[float] = []
    errors = 0
    received = 0
    deadline = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal errors, received
        while time.perf_counter() < deadline and len(latencies) + errors < max_requests:
            started = time.perf_counter()
            try:
                response = await client.get(url)
            except httpx.HTTPError:
                errors += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            received += len(response.content)
            if response.status_code >= 400:
                errors += 1

    started = time.perf_counter()
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=10.0) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(connections)))
    elapsed = time.perf_counter() - started
    if not latencies:
        return WrkResult(0.0, 0.0, 0.0, errors)
    return WrkResult(len(latencies) / elapsed, percentile(latencies, 50), percentile(latencies, 99), errors,
                     received / elapsed, len(latencies))  # fmt: skip


def sequential_latencies(
    url: str, *, count: int = 200, headers: dict[str, str] | None = None, time_limit: float = 60.0
) -> list[float]:
    """Milliseconds of ``count`` requests one after another on one keep-alive connection."""
    times: list[float] = []
    deadline = time.perf_counter() + time_limit
    with httpx.Client(headers=headers, timeout=10.0) as client:
        for _ in range(count):
            if time.perf_counter() > deadline:
                break
            started = time.perf_counter()
            response = client.get(url)
            response.read()
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{url} answered {response.status_code}")
    return times


# ---------------------------------------------------------------------------------------------------
# Memory


def rss_mb_single(pid: int) -> float:
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def rss_mb(pid: int) -> float:
    """Resident set size of a process and all its descendants, in MB."""
    return sum(rss_mb_single(p) for p in [pid, *_children(pid)])


def worker_pids(pid: int) -> list[int]:
    """The processes that serve requests: uvicorn's spawned workers, or the server itself when it has none.

    multiprocessing's helpers (the resource tracker) are not workers and are left out.
    """
    workers = [p for p in _children(pid) if b"spawn_main" in _cmdline(p)]
    return workers or [pid]


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) used so far by every process in process group ``pgid`` (Linux /proc).

    A server's CPU per request is a steadier measure than its requests/s on a machine other work
    shares: the other work slows the run, but hardly changes what each request costs.
    """
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def worker_rss_mb(pid: int) -> list[float]:
    return [rss_mb_single(p) for p in worker_pids(pid)]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return b""


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                for child in (task / "children").read_text().split():
                    found.append(int(child))
                    found.extend(_children(int(child)))
    return found
