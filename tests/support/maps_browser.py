"""Helpers for the map browser tests: the API served by uvicorn on a loopback port, and Debian chromium
driven by playwright with every non-loopback request blocked and recorded."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

CHROMIUM = os.environ.get("GEO_GRID_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "maps"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# The text of the map's open popup ('' when none is open), as a JS expression.
POPUP_TEXT = "(document.querySelector('.leaflet-popup-content') || {innerText: ''}).innerText"


@contextmanager
def serve(url: str, **settings: Any) -> Iterator[str]:
    """Run the API (lifespan included) with uvicorn in a thread; yield its base URL."""
    import uvicorn

    from geo_grid.api.app import create_app
    from geo_grid.embedded import free_port
    from geo_grid.settings import Settings

    port = free_port()
    app = create_app(Settings(database_url=url, **settings))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the API did not start under uvicorn", pytrace=False)
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's chromium, headless. Missing chromium or playwright is a failure, never a skip."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `make setup` (installs Debian chromium)", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: run `make setup`", pytrace=False)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Visit:
    """A loaded page and what happened while it loaded."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def js(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def wait(self, expression: str, timeout: float | None = None) -> None:
        """Wait until the JavaScript `expression` is true. Passed as a function: Playwright would `eval` a
        bare expression inside the page, which the pages' Content-Security-Policy rightly refuses."""
        self.page.wait_for_function(f"() => ({expression})", timeout=timeout)

    def run(self, statements: str) -> None:
        """Run statements for their effect (a Leaflet call returns the map, too big to send back)."""
        self.page.evaluate(f"() => {{ {statements}; }}")

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def assert_clean(self) -> None:
        assert self.blocked == [], f"the page tried to reach the network: {self.blocked}"
        assert self.console_errors == [], f"JavaScript errors: {self.console_errors}"


MAP_READY = "window.geoGrid && window.geoGrid.map"
# A Content-Security-Policy violation becomes a console error, so assert_clean fails on it.
REPORT_CSP_VIOLATIONS = """document.addEventListener('securitypolicyviolation', e => console.error(
    'CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile));"""


def guarded(context: Any) -> Visit:
    """A new page of `context` whose requests to anything but loopback are aborted and recorded, and whose
    CSP violations, console errors and page errors are collected (Visit.assert_clean checks them)."""
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    v = Visit(page)

    def guard(route: Any) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("http://", "https://", "ws://", "wss://")) and host not in LOOPBACK:
            v.blocked.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    context.route("**/*", guard)
    page.on("console", lambda m: v.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: v.console_errors.append(f"pageerror: {e}"))
    return v


@contextmanager
def visit(
    browser: Any, url: str, headers: dict[str, str] | None = None, ready: str = MAP_READY
) -> Iterator[Visit]:
    """Open `url` in a fresh context; requests to anything but loopback are aborted and recorded.
    Waits until the JavaScript expression `ready` is true (default: the map page has drawn its map)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, extra_http_headers=headers or {})
    v = guarded(context)
    page = v.page
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == 200, (
        f"{url}: HTTP {response.status if response else '-'}"
    )
    v.wait(ready)
    try:
        yield v
    finally:
        context.close()


def click_for_popup(v: Visit, x: float, y: float, expected: str) -> str:
    """Click the map at its container point (x, y) until its popup holds `expected`, loaded; the popup's
    text. Under load the zoomed-in tiles may land after the click, so it clicks again (three tries)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = v.page.locator("#" + v.js("geoGrid.map.getContainer().id")).bounding_box()
    opened = f"{POPUP_TEXT}.includes('{expected}') && !{POPUP_TEXT}.includes('加载中')"
    for attempt in range(3):
        v.page.mouse.click(box["x"] + x, box["y"] + y)
        try:
            v.wait(opened, timeout=10_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            v.page.wait_for_timeout(1000)
    return str(v.page.inner_text(".leaflet-popup-content"))
