"""Helpers for the browser tests: Debian's chromium under Playwright, and a real uvicorn server on a
free port in a background thread.

Playwright's own browser download is not used (build machines reach package registries only), so
the browser is the distribution's ``/usr/bin/chromium``, installed by ``scripts/setup.sh``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.serving import free_port, running, wait_for  # noqa: F401  (re-exported for the browser tests)

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


