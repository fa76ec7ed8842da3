"""Headless Chromium (Debian's, through playwright) on loopback pages, for the browser tests.

Every request the page makes outside loopback is blocked and recorded; the caller checks the
record (Voila's template asks a CDN for an icon font, nothing else may leave the machine).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from helpers import free_port, wait_for

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
        # The browser keeps the machine's real clock: under `make test-at` (libfaketime in
        # LD_PRELOAD) Chromium would not start, and the pages' dates come from the book anyway.
        env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "FAKETIME")}
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                             headless=True, env={**env, "HOME": str(home)})
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


#: Marks the scrolling box of the notebook on show in JupyterLab (which scrolls inside its own
#: panel, so a full-page screenshot catches one screen); returns its sizes, or null.
_FIND_SCROLLER = """() => {
  const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
  if (!panel) return null;
  const box = [...panel.querySelectorAll('*')].find(e => e.scrollHeight > e.clientHeight + 4
      && ['auto', 'scroll'].includes(getComputedStyle(e).overflowY));
  if (!box) return null;
  box.setAttribute('data-ppnb-scroller', '');
  return [box.scrollHeight, box.clientHeight];
}"""
#: Scrolls that box by most of a screen; says whether its end is now on show.
_SCROLL_ON = """() => {
  const box = document.querySelector('[data-ppnb-scroller]');
  box.scrollTop += Math.floor(box.clientHeight * 0.9);
  return box.scrollTop + box.clientHeight >= box.scrollHeight - 2;
}"""
#: Resolves once the browser has drawn two more frames (what was scrolled in is painted).
_NEXT_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def notebook_screenshots(page: Any, name: str, *, most: int = 60) -> tuple[list[Path], bool]:
    """Screenshots of a whole notebook in JupyterLab, screen by screen from the top, as
    out/screenshots/NAME-01.png, NAME-02.png, ...; returns them and whether the last one
    reached the notebook's end (at most ``most`` screens)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    sizes = page.evaluate(_FIND_SCROLLER)
    shots: list[Path] = []
    at_end = sizes is None  # nothing scrolls: one screen shows it all
    if sizes is not None:
        page.evaluate("() => { document.querySelector('[data-ppnb-scroller]').scrollTop = 0; }")
    while len(shots) < most:
        page.evaluate(_NEXT_FRAMES)
        shots.append(SCREENSHOTS / f"{name}-{len(shots) + 1:02d}.png")
        page.screenshot(path=str(shots[-1]))
        if at_end:
            break
        at_end = page.evaluate(_SCROLL_ON)
    return shots, at_end


def isolated_env(home: Path, **extra: str) -> dict[str, str]:
    """This process's environment without ppnb's, PayPal's, Jupyter's and IPython's settings,
    with HOME and Jupyter's and IPython's folders under ``home``, plus ``extra``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PPNB_", "PAYPAL_", "JUPYTER", "IPYTHON"))}
    env.update(HOME=str(home), IPYTHONDIR=str(home / "ipython"),
               JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
               JUPYTER_RUNTIME_DIR=str(home / "runtime"), **extra)
    return env


@contextmanager
def voila_server(arguments: Sequence[str], env: dict[str, str], cwd: Path, *,
                 startup: float = 180) -> Iterator[str]:
    """``python -m ARGUMENTS --port=P`` serving Voila on loopback; yields its URL.

    The command is a Voila server (``voila NOTEBOOK ...`` or ``ppnb.dashboard ...``); it is
    waited for until it answers, and stopped afterwards.
    """
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", *arguments, f"--port={port}"], env=env,
                              cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}/"

    def answers() -> bool:
        try:
            return httpx.get(url + "voila/static/", timeout=2).status_code < 500
        except httpx.HTTPError:
            return server.poll() is not None  # stop waiting if it died
    try:
        wait_for(answers, f"{arguments[0]} to start", startup, 0.1)
        assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
