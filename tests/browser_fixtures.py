"""One Chromium for the whole test run, driven by Playwright's sync API.

Playwright's own browser download cannot work offline, so the tests use Debian's Chromium
(`make browser` installs it) and skip, saying why, when it is missing. Session-scoped and
shared: a second sync_playwright() started while this one runs would fail ("Sync API
inside the asyncio loop").
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps dialling Google's hosts, which
# this machine's closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Sync Playwright runs an event loop in the test's thread; the ORM calls a test makes
# beside it are still synchronous, so Django's async-safety check must stand aside.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `make browser` installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
