"""The agent's browser softphone in real Chromium: JsSIP over /ws, WebRTC audio to pbxd.

Chromium's microphone is a fake device fed from a WAV (1000 Hz); the customer is a pjsua2
phone (440 Hz) that records what it hears. What the page hears is measured in the page with a
WebAudio analyser on the remote stream. An agent takes a call on the page, hears the caller
and is heard, holds and resumes, mutes, hangs up; the CDR says so. A second browser of the
same agent is refused until it takes over, and the first then says it was taken over.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.integration.audio import peak_frequency, window, write_tone
from tests.integration.pbxd_process import PbxdProcess
from tests.integration.peers.pjsua_phone import PjsuaPhone, stop_phones

from .conftest import Console, add_user, ensure_extension, extension_secret, poll
from .headset import headsets, listen

pytestmark = [pytest.mark.browser, pytest.mark.peer]

CUSTOMER, AGENT, COLLEAGUE = "3650", "3651", "3652"
AGENT_USER, AGENT_PASSWORD = "agent-3651", "agent-3651-Pw1"
AGENT_TONE, CUSTOMER_TONE = 1000.0, 440.0
TOLERANCE_HZ = 15.0


@pytest.fixture(scope="module")  # its event loop must be gone before asyncio tests run
def headset(tmp_path_factory: pytest.TempPathFactory):
    """Chromium whose microphone hears AGENT_TONE: an agent's headset, as far as pbxd knows."""
    with headsets(tmp_path_factory.mktemp("headset"), {"agent": AGENT_TONE}) as browsers:
        yield browsers["agent"]


@pytest.fixture(scope="module")
def agent_setup(pbxd: PbxdProcess) -> None:
    ensure_extension(pbxd, CUSTOMER, "Customer")
    ensure_extension(pbxd, AGENT, "Agent Wang")
    add_user(pbxd, AGENT_USER, AGENT_PASSWORD, "agent", extension=AGENT)
    ensure_extension(pbxd, COLLEAGUE, "Agent Li")
    add_user(pbxd, "agent-3652", "agent-3652-Pw1", "agent", extension=COLLEAGUE)


@pytest.fixture
def agent_page(headset, pbxd: PbxdProcess, agent_setup) -> Iterator[Console]:
    page = Console(headset, pbxd, locale="en")
    try:
        page.login(AGENT_USER, AGENT_PASSWORD)
        registered(page)
        yield page
        assert not page.problems, "\n".join(page.problems)
    finally:
        page.close()


def registered(console: Console) -> None:
    console.page.wait_for_selector("[data-testid=softphone-registration][data-state=registered]")


def call_panel(console: Console, status: str, timeout: float = 10_000):
    return console.page.wait_for_selector(
        f"[data-testid=softphone-call-panel][data-status={status}]", timeout=timeout
    )


def heard_in_page(console: Console, seconds: float = 1.0) -> dict:
    return listen(console, seconds=seconds)


def customer_phone(pbxd: PbxdProcess, tmp_path: Path) -> PjsuaPhone:
    return PjsuaPhone(
        CUSTOMER, extension_secret(CUSTOMER), registrar=pbxd.sip_address, log_dir=tmp_path,
        play=write_tone(tmp_path / "customer.wav", CUSTOMER_TONE, 2.0),
        record=tmp_path / "customer-heard.wav", timeout=60.0,
    )  # fmt: skip


def ws_clients(pbxd: PbxdProcess) -> list[dict]:
    return pbxd.api("GET", "/api/v1/system/status")["websocket"]["clients"]


def level_at(samples: np.ndarray, rate: int, frequency: float) -> float:
    """Share of the window's energy within 30 Hz of `frequency` (1.0: a pure tone there)."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size))) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1 / rate)
    total = spectrum[freqs > 50].sum()
    return float(spectrum[np.abs(freqs - frequency) < 30].sum() / total) if total else 0.0


def test_an_agent_takes_a_call_in_the_browser_holds_mutes_and_hangs_up(
    agent_page: Console, pbxd: PbxdProcess, tmp_path: Path
) -> None:
    customer = customer_phone(pbxd, tmp_path)
    page = agent_page.page
    try:
        customer.start()
        customer.wait_registered()
        customer.call(AGENT)
        call_panel(agent_page, "ringing")
        pop = page.wait_for_selector("[data-testid=screen-pop-customer] [data-field=number]")
        assert pop.inner_text() == CUSTOMER  # an extension: never masked
        agent_page.screenshot("softphone-ringing")
        page.click("[data-testid=softphone-answer]")
        call_panel(agent_page, "talking")
        customer.wait_for("call_state", timeout=10, where=lambda e: e["state"] == "CONFIRMED")
        customer.wait_for("media_active", timeout=5)

        heard = heard_in_page(agent_page, 1.5)  # the agent hears the customer
        assert abs(heard["frequency"] - CUSTOMER_TONE) < TOLERANCE_HZ, heard
        agent_page.screenshot("softphone-talking")

        page.click("[data-testid=softphone-hold]")
        customer.wait_for("media_state", timeout=5, where=lambda e: e["status"] == "remote_hold")
        page.wait_for_selector("[data-testid=softphone-hold][aria-pressed=true]")
        page.click("[data-testid=softphone-hold]")
        customer.wait_for("media_state", timeout=5, where=lambda e: e["status"] == "active")
        time.sleep(2.0)  # the customer hears the agent again after the resume

        page.click("[data-testid=softphone-mute]")
        page.wait_for_selector("[data-testid=softphone-mute][aria-pressed=true]")
        time.sleep(2.0)  # muted: the customer hears nothing of the agent
        page.click("[data-testid=softphone-hangup]")
        customer.wait_for("call_ended", timeout=10)
        page.wait_for_selector("[data-testid=softphone-call]")  # the dialer is back
        page.select_option("[data-testid=disposition] select", "resolved")
        page.fill("[data-testid=disposition] textarea", "asked about the invoice")
        page.click("[data-testid=disposition] button[type=submit]")
        page.wait_for_selector("[data-testid=disposition]", state="detached")
    finally:
        stop_phones(customer)

    talking, rate = window(tmp_path / "customer-heard.wav", -3.8, -2.4)
    muted, _ = window(tmp_path / "customer-heard.wav", -1.5, -0.3)
    assert abs(peak_frequency(talking, rate) - AGENT_TONE) < TOLERANCE_HZ
    assert level_at(talking, rate, AGENT_TONE) > 0.5
    assert level_at(muted, rate, AGENT_TONE) < 0.05 or np.sqrt(np.mean(muted**2)) < 0.003

    row = pbxd.wait_call_cdr(CUSTOMER, AGENT)
    assert (row["disposition"], row["hangup_side"]) == ("ANSWERED", "callee"), row
    assert row["disposition_code"] == "resolved", row  # the agent's wrap-up, on the CDR


def test_a_second_browser_of_the_agent_takes_over_explicitly(
    agent_page: Console, headset, pbxd: PbxdProcess
) -> None:
    second = Console(headset, pbxd, locale="zh-CN")
    try:
        second.login(AGENT_USER, AGENT_PASSWORD)
        second.page.wait_for_selector("[data-testid=softphone-registration][data-state=in_use]")
        second.screenshot("softphone-in-use")
        second.page.click("[data-testid=softphone-take-over]")
        registered(second)
        # The first page's connection is closed; its key no longer registers.
        agent_page.page.wait_for_selector(
            "[data-testid=softphone-registration][data-state=taken_over]", timeout=15_000
        )
        # ... and it stops trying: one browser is left, registered.
        poll(
            "only the second browser connected",
            lambda: [c["registered"] for c in ws_clients(pbxd)] == [[AGENT]],
        )
        assert not second.problems, "\n".join(second.problems)
    finally:
        second.close()


def test_an_internal_call_between_agents_cannot_be_held_or_muted(
    agent_page: Console, pbxd: PbxdProcess, tmp_path: Path
) -> None:
    colleague = PjsuaPhone(
        COLLEAGUE, extension_secret(COLLEAGUE), registrar=pbxd.sip_address, log_dir=tmp_path,
        play=write_tone(tmp_path / "colleague.wav", 700, 2.0), timeout=40.0,
    )  # fmt: skip
    page = agent_page.page
    try:
        colleague.start()
        colleague.wait_registered()
        colleague.call(AGENT)
        call_panel(agent_page, "ringing")
        assert page.is_visible("[data-testid=call-internal]")
        page.click("[data-testid=softphone-answer]")
        call_panel(agent_page, "talking")
        colleague.wait_for("media_active", timeout=5)
        assert page.is_visible("[data-testid=softphone-keypad-toggle]")
        for control in ("hold", "mute"):
            assert not page.is_visible(f"[data-testid=softphone-{control}]"), control
        # The desk phone tries anyway: pbxd refuses the hold, the agent still hears it.
        colleague.send("hold")
        time.sleep(1.0)
        heard = heard_in_page(agent_page, 1.0)
        assert abs(heard["frequency"] - 700) < TOLERANCE_HZ, heard
        assert not colleague.seen("media_state", lambda e: e["status"] == "local_hold")
        page.click("[data-testid=softphone-hangup]")
        colleague.wait_for("call_ended", timeout=10)
    finally:
        stop_phones(colleague)


def test_a_call_the_agent_takes_on_his_desk_phone_pops_and_wraps_up_in_the_page(
    agent_page: Console, pbxd: PbxdProcess, tmp_path: Path
) -> None:
    queue = "651"
    pbxd.api(
        "POST", "/api/v1/queues",
        {"number": queue, "name": "Desk", "members": [{"extension": AGENT, "penalty": 0}]},
        expect=(201, 409),
    )  # fmt: skip
    desk_phone = PjsuaPhone(
        AGENT, extension_secret(AGENT), registrar=pbxd.sip_address, log_dir=tmp_path,
        ring_seconds=1.0, timeout=40.0,
    )  # fmt: skip
    customer = customer_phone(pbxd, tmp_path)
    page = agent_page.page
    try:
        desk_phone.start()
        desk_phone.wait_registered()
        customer.start()
        customer.wait_registered()
        customer.call(queue)
        desk_phone.wait_for("call_state", timeout=10, where=lambda e: e["state"] == "CONFIRMED")
        # The desk phone answered (the browser stopped ringing): the page pops its call.
        panel = page.wait_for_selector("[data-testid=deskphone-call][data-status=talking]")
        number = panel.wait_for_selector("[data-testid=screen-pop-customer] [data-field=number]")
        assert number.inner_text() == CUSTOMER
        assert queue in panel.inner_text()
        agent_page.screenshot("softphone-deskphone-pop")
        customer.hangup()
        customer.wait_for("call_ended", timeout=10)
        page.wait_for_selector("[data-testid=deskphone-call]", state="detached")
        page.select_option("[data-testid=disposition] select", "callback")
        page.click("[data-testid=disposition] button[type=submit]")
        page.wait_for_selector("[data-testid=disposition]", state="detached")
    finally:
        stop_phones(customer, desk_phone)

    row = poll("the CDR row", lambda: [
        r for r in pbxd.api("GET", "/api/v1/cdr")["items"]
        if r["caller"] == CUSTOMER and r["callee"] == queue
    ])[0]  # fmt: skip
    assert row["disposition_code"] == "callback", row


def test_the_agent_calls_a_customer_back_from_his_recent_calls(
    agent_page: Console, pbxd: PbxdProcess, tmp_path: Path
) -> None:
    customer = customer_phone(pbxd, tmp_path)
    page = agent_page.page
    try:
        customer.start()
        customer.wait_registered()
        # The first test's call from the customer is in the agent's recent calls.
        entry = page.wait_for_selector("[data-testid=recent-calls] li:has-text('3650')")
        entry.query_selector("[data-action=call-back]").click()
        # pbxd rings the agent first (the page answers by itself), then the customer.
        call_panel(agent_page, "talking")
        customer.wait_for("incoming_call", timeout=10)
        customer.wait_for("call_state", timeout=10, where=lambda e: e["state"] == "CONFIRMED")
        heard = heard_in_page(agent_page, 1.5)
        assert abs(heard["frequency"] - CUSTOMER_TONE) < TOLERANCE_HZ, heard
        pop = page.wait_for_selector("[data-testid=screen-pop]")
        assert pop.get_attribute("data-direction") == "outbound"
        time.sleep(1.0)
        customer.hangup()
        customer.wait_for("call_ended", timeout=10)
        page.wait_for_selector("[data-testid=softphone-call-panel]", state="detached")
    finally:
        stop_phones(customer)
    talked, rate = window(tmp_path / "customer-heard.wav", -1.2, -0.2)
    assert abs(peak_frequency(talked, rate) - AGENT_TONE) < TOLERANCE_HZ
    row = pbxd.wait_call_cdr(AGENT, CUSTOMER)
    assert (row["disposition"], row["hangup_side"]) == ("ANSWERED", "callee"), row
