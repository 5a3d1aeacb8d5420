"""Browser tests of the web console: a real pbxd serving the built UI, driven by Chromium.

Needs Debian's chromium (launched from CHROMIUM, no browser download), the pip package
playwright, and node + npm for the UI build (tools/ui/build.py, once per session). Every test
here is marked `browser`; `-m "not browser"` leaves them out. Screenshots of the main pages
(zh-CN) go to build/test-artifacts/screenshots/.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from tests.integration.pbxd_process import REPO, PbxdProcess

CHROMIUM = Path(os.environ.get("PBXD_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = REPO / "build" / "test-artifacts" / "screenshots"
ADMIN = "admin"
BROWSER_ZONE = "Asia/Shanghai"  # every Console's time zone: the dates the pages show
RECORD_DIALOG = "[data-testid=record-dialog]"  # CrudPage's create / edit form

T = TypeVar("T")


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


def log_in(page, username: str, password: str) -> None:
    """Logs in on the login page `page` shows (or is about to show)."""
    page.wait_for_selector("[data-testid=login-form]")
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("[data-testid=login-form] button[type=submit]")
    page.wait_for_selector("[data-testid=current-user]")


class Console:
    """One browser context (fresh cookies and storage) on the console of `pbxd`."""

    def __init__(self, browser, pbxd: PbxdProcess, locale: str = "zh-CN") -> None:
        self.pbxd = pbxd
        self.context = browser.new_context(
            base_url=pbxd.base_url,
            locale=locale,
            timezone_id=BROWSER_ZONE,
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
        if not self.page.url.startswith(self.pbxd.base_url):
            self.open()
        log_in(self.page, username, password or self.pbxd.admin_password)

    def go(self, route: str) -> None:
        self.page.click(f"[data-nav={route}]")
        self.page.wait_for_selector(f"[data-page={route}]")

    def login_to(self, route: str, username: str = ADMIN, password: str | None = None) -> None:
        """Logs in and opens `route` through the navigation."""
        self.login(username, password)
        self.go(route)

    def new_record(self):
        """Opens the "new" form of a list page and returns its dialog."""
        self.page.click("[data-testid=create]")
        dialog = self.page.locator(RECORD_DIALOG)
        dialog.wait_for()
        return dialog

    def fill(self, values: dict[str, str]) -> None:
        """Types into the record form (#f-<name>): name -> text, or the option of a select."""
        for name, value in values.items():
            field = self.page.locator(f"#f-{name}")
            if field.evaluate("element => element.tagName") == "SELECT":
                field.select_option(value)
            else:
                field.fill(value)

    def submit(self, dialog) -> None:
        """Saves the form of `dialog` (it stays open when the server refuses it)."""
        dialog.locator("button[type=submit]").click()

    def save(self, dialog) -> None:
        """Saves the form of `dialog` and waits until the dialog has closed."""
        self.submit(dialog)
        dialog.wait_for(state="detached")

    def search(self, route: str, fields: dict[str, str]) -> None:
        """Fills the search form of `route` (input selector -> text) and searches."""
        for selector, text in fields.items():
            self.page.fill(selector, text)
        self.page.click(f"[data-page={route}] [data-testid=search]")

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


def poll(what: str, check: Callable[[], T], timeout: float = 10.0) -> T:
    """Calls `check` until it returns something true (returned), for `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.1)
    return value


def extension_secret(number: str) -> str:
    return f"Secret-{number}-x"


def ensure_extension(pbxd: PbxdProcess, number: str, name: str) -> None:
    """Extension `number` (secret extension_secret()), unless a test before made it."""
    body = {"number": number, "name": name, "secret": extension_secret(number)}
    pbxd.api("POST", "/api/v1/extensions", body, expect=(201, 409))


def ensure_queue(pbxd: PbxdProcess, number: str, name: str, **settings) -> None:
    """Queue `number` with `settings` (members, ...), unless a test before made it."""
    body = {"number": number, "name": name, **settings}
    pbxd.api("POST", "/api/v1/queues", body, expect=(201, 409))


def add_user(
    pbxd: PbxdProcess, username: str, password: str, role: str, extension: str | None = None
) -> None:
    """A console user made through the API (the page under test is another one)."""
    body = {"username": username, "password": password, "role": role}
    if extension:
        body["extension"] = extension
    pbxd.api("POST", "/api/v1/users", body, expect=201)
