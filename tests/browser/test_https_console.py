"""The console over HTTPS in real Chromium: why it exists and that it works (issue 7).

An agent at another desk reaches the device by a name that is not localhost: Chromium maps
`pbx.test` to 127.0.0.1 here. Over plain HTTP at that name the page is no secure context and
has no microphone API; over HTTPS (the self-signed device certificate, accepted as a user
accepts it once: ignore_https_errors) it is, the agent logs in with a Secure session cookie,
gets the microphone, and the softphone registers over wss:// at /ws.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.pbxd_process import HttpsPbxd

from .conftest import CHROMIUM, add_user, ensure_extension, log_in, poll

pytestmark = pytest.mark.browser

NAME = "pbx.test"  # what the agent types; no loopback name, so no secure context for free
AGENT, AGENT_USER, AGENT_PASSWORD = "3671", "agent-3671", "agent-3671-Pw1"
SECURE_SCRIPT = "() => [window.isSecureContext, typeof navigator.mediaDevices?.getUserMedia]"
MICROPHONE_SCRIPT = """async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const tracks = stream.getAudioTracks().map((track) => track.readyState);
  stream.getTracks().forEach((track) => track.stop());
  return tracks;
}"""


@pytest.fixture(scope="module")
def pbxd(ui_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpsPbxd]:
    daemon = HttpsPbxd(tmp_path_factory.mktemp("pbxd-https"), extra_args=["--ui-dir", str(ui_dir)])
    daemon.start()
    try:
        ensure_extension(daemon, AGENT, "Agent Zhao")
        add_user(daemon, AGENT_USER, AGENT_PASSWORD, "agent", extension=AGENT)
        yield daemon
    finally:
        code = daemon.stop()
    if code != 0:
        pytest.fail(f"pbxd ended with exit status {code} on SIGTERM\n{daemon.log_tail()}")


@pytest.fixture(scope="module")  # its event loop must be gone before asyncio tests run
def chromium():
    """Chromium that resolves NAME to 127.0.0.1 and has a fake microphone, granted."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} missing: apt-get install chromium (or set PBXD_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                f"--host-resolver-rules=MAP {NAME} 127.0.0.1",
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                "--allow-loopback-in-peer-connection",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(chromium) -> Iterator:
    """Factory: a page in a fresh context (cookies, storage) at `base_url`."""
    contexts = []

    def make(base_url: str):
        context = chromium.new_context(base_url=base_url, ignore_https_errors=True, locale="en")
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def test_over_plain_http_at_a_name_the_page_gets_no_microphone(pbxd: HttpsPbxd, new_page):
    page = new_page(f"http://{NAME}:{pbxd.http_port}")
    page.goto("/")
    assert page.evaluate(SECURE_SCRIPT) == [False, "undefined"]


def test_an_agent_logs_in_over_https_and_the_softphone_registers_over_wss(
    pbxd: HttpsPbxd, new_page
) -> None:
    page = new_page(pbxd.https_url(host=NAME))
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.goto("/")
    assert page.evaluate(SECURE_SCRIPT) == [True, "function"]
    log_in(page, AGENT_USER, AGENT_PASSWORD)
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["pbxd_session"]["secure"] and cookies["pbxd_session"]["httpOnly"], cookies
    page.wait_for_selector("[data-testid=softphone-registration][data-state=registered]")
    clients = poll(
        "the softphone registered through the HTTPS port",
        lambda: [
            c
            for c in pbxd.api("GET", "/api/v1/system/status")["websocket"]["clients"]
            if c["registered"] == [AGENT]
        ],
    )
    assert [c["peer"].split(":")[0] for c in clients] == ["WSS"], clients
    assert page.evaluate(MICROPHONE_SCRIPT) == ["live"]
    assert not problems, problems
