"""Fixtures for browser tests: a real ``citizenvoice serve`` process and Debian's Chromium via Playwright.

* ``live_server``: base URL of a server started once per test session on a free port, with its own
  temporary data directory; ``live_data_dir`` is that directory and ``citizenvoice_cli(*args)`` runs a
  command (``demo``, ``user add`` …) against the same database.
* ``browser``: Chromium at /usr/bin/chromium. Skipped with the reason when it is missing, unless
  ``CITIZENVOICE_REQUIRE_BROWSER=1`` (set by .ci/run), which turns the skip into a failure.
* ``page_factory(viewport=PHONE, javascript_enabled=True)``: a page in a fresh browser context (own
  cookies and localStorage) whose relative URLs resolve against the live server. Script errors, console
  errors (a CSP violation, say) and failed sub-resources (not the browser's own /favicon.ico probe) are
  collected in ``page_factory.errors``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = (375, 812)
DESKTOP = (1280, 900)
STARTUP_SECONDS = 30


def _browser_required() -> bool:
    return os.environ.get("CITIZENVOICE_REQUIRE_BROWSER") == "1"


def _unavailable(reason: str) -> None:
    if _browser_required():
        pytest.fail(f"{reason} (CITIZENVOICE_REQUIRE_BROWSER=1: browser tests must run)")
    pytest.skip(f"{reason}; install it with `apt-get install chromium` (CI sets CITIZENVOICE_REQUIRE_BROWSER=1)")


# axe-core, from npm (``scripts/system-packages test`` puts it in .cache/npm). Pages forbid inline
# scripts, so tests evaluate it through the DevTools protocol (page.evaluate), which the CSP does not govern.
AXE = Path(__file__).resolve().parents[2] / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                      nodes: v.nodes.map(n => n.target.join(' '))}));
}"""


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.is_file():
        _unavailable(f"axe-core not found at {AXE}; run scripts/system-packages test")
    return AXE.read_text(encoding="utf-8")



def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cli() -> list[str]:
    script = Path(sys.executable).with_name("citizenvoice")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from citizenvoice.cli import main; main()"]


@pytest.fixture(scope="session")
def live_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("live-data")


@pytest.fixture(scope="session")
def live_env(live_data_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CITIZENVOICE_")}
    env["CITIZENVOICE_DATA_DIR"] = str(live_data_dir)
    # Every browser test submits from 127.0.0.1; the limits themselves are tested in tests/test_ratelimit.py.
    env["CITIZENVOICE_SUBMIT_LIMIT_PER_PHONE"] = "1000"
    env["CITIZENVOICE_SUBMIT_LIMIT_PER_ADDRESS"] = "1000"
    env["CITIZENVOICE_TRACK_CODE_LIMIT"] = "1000"
    env["CITIZENVOICE_TRACK_LOOKUP_LIMIT"] = "1000"
    return env


@contextlib.contextmanager
def served(env: dict[str, str], log_path: Path, port: int | None = None) -> Iterator[str]:
    """``citizenvoice serve`` exactly as an operator starts it, on a free port (or ``port``: one the test
    already put in the base URL), until the block ends."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen([*_cli(), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                                   stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        try:
            _wait_until_healthy(url, process, log_path)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def live_server(live_env: dict[str, str], live_data_dir: Path) -> Iterator[str]:
    with served(live_env, live_data_dir / "server.log") as url:
        yield url


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"citizenvoice serve exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        try:
            if httpx2.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)  # polling a starting process; not a timing assertion
    pytest.fail(f"server did not answer /healthz within {STARTUP_SECONDS}s:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="session")
def citizenvoice_cli(live_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``citizenvoice <args>`` against the live server's database."""

    def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*_cli(), *args], env=live_env, input=input, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stderr
        return result

    return run


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        _unavailable(f"Debian Chromium not found at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


class PageFactory:
    def __init__(self, browser: Any, base_url: str) -> None:
        self.browser = browser
        self.base_url = base_url
        self.contexts: list[Any] = []
        self.errors: list[str] = []

    def __call__(self, viewport: tuple[int, int] = PHONE, javascript_enabled: bool = True, **options: Any) -> Any:
        width, height = viewport
        context = self.browser.new_context(
            viewport={"width": width, "height": height},
            device_scale_factor=2 if width < 600 else 1,
            is_mobile=width < 600,
            has_touch=width < 600,
            java_script_enabled=javascript_enabled,
            base_url=self.base_url,
            locale="zh-CN",
            **options,
        )
        self.contexts.append(context)
        page = context.new_page()
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on("response", self._response)
        return page

    def _console(self, message: Any) -> None:
        # A failed load is reported by _response with its URL; a 422 form page is not an error.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(f"console: {message.text}")

    def _response(self, response: Any) -> None:
        request = response.request
        if response.status >= 400 and request.resource_type != "document" and not request.url.endswith("/favicon.ico"):
            self.errors.append(f"{response.status} {request.resource_type} {request.url}")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def page_factory(browser: Any, live_server: str) -> Iterator[PageFactory]:
    factory = PageFactory(browser, live_server)
    try:
        yield factory
    finally:
        factory.close()
