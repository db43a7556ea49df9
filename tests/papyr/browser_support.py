"""Helpers for the browser tests: Debian's chromium under Playwright, and a real uvicorn server on a
free port in a background thread.

Playwright's own browser download is not used (build machines reach package registries only), so
the browser is the distribution's ``/usr/bin/chromium``, installed by ``scripts/setup.sh``.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = Path(os.environ.get("PAPYR_CHROMIUM", "/usr/bin/chromium"))
# Headless, offline and quiet: no sandbox (containers run as root), no GPU, no calls home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def running_under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require_chromium() -> Path:
    """The browser binary. Missing: a skip on a developer machine, a failure under CI, where
    ``make setup`` must have installed it."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    message = f"chromium not found at {CHROMIUM}; `make setup` installs the Debian package `chromium`"
    if running_under_ci():
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def launched_chromium() -> Iterator[Browser]:
    executable = require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(server: uvicorn.Server, stop_timeout_s: float = 30.0) -> Iterator[threading.Thread]:
    """Run ``server`` on a daemon thread until the block ends; fail if it never opens its socket."""
    thread = threading.Thread(target=server.run, name="uvicorn-under-test", daemon=True)
    thread.start()
    try:
        assert wait_for(lambda: server.started or not thread.is_alive(), timeout_s=20), "server did not start"
        assert server.started, "server thread died before it started listening"
        yield thread
    finally:
        server.should_exit = True
        thread.join(stop_timeout_s)


def wait_for(condition: Callable[[], bool], timeout_s: float = 30.0, interval_s: float = 0.1) -> bool:
    """Poll (bounded) until ``condition()`` is true: the engine works on its own thread."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval_s)
    return bool(condition())
