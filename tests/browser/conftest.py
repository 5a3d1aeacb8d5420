"""Browser tests of the web console: a real pbxd serving the built UI, driven by Chromium.

Needs Debian's chromium (launched from CHROMIUM, no browser download), the pip package
playwright, and node + npm for the UI build (tools/ui/build.py, once per session). Every test
here is marked `browser`; `-m "not browser"` leaves them out. Screenshots of the main pages
(zh-CN) go to build/test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.pbxd_process import REPO, PbxdProcess

CHROMIUM = Path(os.environ.get("PBXD_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = REPO / "build" / "test-artifacts" / "screenshots"
ADMIN = "admin"


@pytest.fixture(scope="session")
def ui_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The console built once for the session (npm ci only when ui/node_modules is stale)."""
    from tools.ui.build import build

    return build(tmp_path_factory.mktemp("ui-build") / "ui", report=lambda line: None)


@pytest.fixture(scope="module")
def pbxd(ui_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PbxdProcess]:
    daemon = PbxdProcess(
        tmp_path_factory.mktemp("pbxd-ui"), extra_args=["--ui-dir", str(ui_dir)]
    ).start()
    try:
        yield daemon
    finally:
        code = daemon.stop()
    if code != 0:
        pytest.fail(f"pbxd ended with exit status {code} on SIGTERM\n{daemon.log_tail()}")


@pytest.fixture(scope="module")  # its event loop must be gone before asyncio tests run
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: apt-get install chromium (or set PBXD_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            browser.close()


class Console:
    """One browser context (fresh cookies and storage) on the console of `pbxd`."""

    def __init__(self, browser, pbxd: PbxdProcess, locale: str = "zh-CN") -> None:
        self.pbxd = pbxd
        self.context = browser.new_context(
            base_url=pbxd.base_url,
            locale=locale,
            timezone_id="Asia/Shanghai",
            viewport={"width": 1366, "height": 820},
        )
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("console", self._console)

    def _console(self, message) -> None:
        # A CSP violation or a script error is a bug; failed API calls (401 before login,
        # 403 for an agent) are expected and show in the page itself.
        text = message.text
        if "Content Security Policy" in text or "Refused to" in text:
            self.problems.append(f"CSP: {text}")
        elif message.type == "error" and "Failed to load resource" not in text:
            self.problems.append(f"console error: {text}")

    def open(self, route: str = "") -> None:
        self.page.goto(f"/#/{route}" if route else "/")

    def login(self, username: str = ADMIN, password: str | None = None) -> None:
        page = self.page
        if not page.url.startswith(self.pbxd.base_url):
            self.open()
        page.wait_for_selector("[data-testid=login-form]")
        page.fill("#login-username", username)
        page.fill("#login-password", password or self.pbxd.admin_password)
        page.click("[data-testid=login-form] button[type=submit]")
        page.wait_for_selector("[data-testid=current-user]")

    def go(self, route: str) -> None:
        self.page.click(f"[data-nav={route}]")
        self.page.wait_for_selector(f"[data-page={route}]")

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def console(browser, pbxd: PbxdProcess) -> Iterator[Console]:
    session = Console(browser, pbxd)
    try:
        yield session
        assert not session.problems, "\n".join(session.problems)
    finally:
        session.close()


@pytest.fixture
def new_console(browser, pbxd: PbxdProcess) -> Iterator:
    """Factory for more browser contexts in one test (another user, a fresh browser)."""
    opened: list[Console] = []

    def make(locale: str = "zh-CN") -> Console:
        session = Console(browser, pbxd, locale)
        opened.append(session)
        return session

    yield make
    for session in opened:
        session.close()


def row(page, route: str, record_id: str):
    return page.locator(f"[data-page={route}] tbody tr[data-id={record_id!r}]".replace("'", '"'))


def visible_text(locator) -> str:
    return re.sub(r"\s+", " ", locator.inner_text()).strip()
