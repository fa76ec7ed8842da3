"""Headless Chromium (Debian's, through playwright) on loopback pages, for the browser tests.

Every request the page makes outside loopback is blocked and recorded; the caller checks the
record (Voila's template asks a CDN for an icon font, nothing else may leave the machine).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
#: Where screenshots go: the repository's out/screenshots (kept by CI as artefacts).
SCREENSHOTS = Path(__file__).resolve().parents[1] / "out" / "screenshots"


@contextmanager
def loopback_page(home: Path, outside: list[tuple[str, str]]) -> Iterator[Any]:
    """A fresh page in headless Chromium that may only reach loopback.

    Blocked requests are appended to ``outside`` as ``(resource type, url)``.
    """
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test` (apt-get install chromium)")

    def only_loopback(route: Any) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            outside.append((route.request.resource_type, route.request.url))
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                             headless=True, env={**os.environ, "HOME": str(home)})
        try:
            page = browser.new_context(accept_downloads=True).new_page()
            page.route("**/*", only_loopback)
            yield page
        finally:
            browser.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as out/screenshots/NAME.png, for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    return target
