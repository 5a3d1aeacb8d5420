"""The agent workspace end to end: a customer in a queue, an agent and a supervisor in Chromium.

The customer is a pjsua2 phone (440 Hz) calling queue 660; agent 3661 works in the browser
(Chromium's fake microphone plays 1000 Hz), supervisor 3669 too (another Chromium, 700 Hz),
leading queue 660. The agent's page rings and pops the caller (the queue, the number, the
previous calls), the agent answers and both hear each other. The supervisor listens from the
live calls page (his softphone answers by itself): he hears both, nobody hears him; he
whispers: the agent hears him, the customer does not; he barges: the customer hears him too.
The supervisor leaves; the agent consults a colleague (咨询转移, a pjsua2 desk phone, 1300 Hz):
the customer hears neither meanwhile; the agent completes the transfer, the customer talks with
the colleague and hangs up. The agent's wrap-up, the CDR (both agents' legs) and the queue log
(TRANSFER) tell the story. The wallboard counts the answered call within a second.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.integration.audio import window, write_tone
from tests.integration.pbxd_process import PbxdProcess
from tests.integration.peers.pjsua_phone import PjsuaPhone, stop_phones

from .conftest import (
    Console,
    add_user,
    ensure_extension,
    ensure_queue,
    extension_secret,
    poll,
)
from .headset import headsets, listen, share_near

pytestmark = [pytest.mark.browser, pytest.mark.peer]

CUSTOMER, AGENT, COLLEAGUE, SUPERVISOR, QUEUE = "3660", "3661", "3662", "3669", "660"
CUSTOMER_TONE, AGENT_TONE, SUPERVISOR_TONE, COLLEAGUE_TONE = 440.0, 1000.0, 700.0, 1300.0
PRESENT, ABSENT = 0.05, 0.01  # share of the heard energy near a tone
POP_NUMBER = "[data-testid=screen-pop-customer] [data-field=number]"
LIVE_CALLS = "[data-testid=live-calls]"


@pytest.fixture(scope="module")  # its event loop must be gone before asyncio tests run
def browsers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Two Chromiums: the agent's headset hears AGENT_TONE, the supervisor's SUPERVISOR_TONE."""
    tones = {"agent": AGENT_TONE, "supervisor": SUPERVISOR_TONE}
    with headsets(tmp_path_factory.mktemp("headsets"), tones) as started:
        yield started


@pytest.fixture(scope="module")
def workspace(pbxd: PbxdProcess) -> None:
    """Queue 660 with agent 3661; console users for him and for his team leader."""
    parties = ((CUSTOMER, "Customer"), (AGENT, "Agent Zhao"), (COLLEAGUE, "Agent Qian"),
               (SUPERVISOR, "Lead"))  # fmt: skip
    for number, name in parties:
        ensure_extension(pbxd, number, name)
    ensure_queue(pbxd, QUEUE, "Service", members=[{"extension": AGENT, "penalty": 0}])
    add_user(pbxd, "agent-3661", "agent-3661-Pw1", "agent", extension=AGENT)
    body = {"username": "lead-3669", "password": "lead-3669-Pw1", "role": "supervisor",
            "extension": SUPERVISOR, "queues": [QUEUE]}  # fmt: skip
    pbxd.api("POST", "/api/v1/users", body, expect=201)
    pbxd.api("POST", f"/api/v1/agents/{AGENT}/login", {"queues": [QUEUE]})


def answered_tile(console: Console):
    return console.page.locator(f"[data-queue='{QUEUE}'] [data-figure='answered'] .value")


def levels(console: Console, tones: list[float], seconds: float = 1.5) -> list[float]:
    return listen(console, tones, seconds)["shares"]


def test_a_queue_call_in_the_agent_page_with_a_supervisor_listening_whispering_barging(
    browsers: dict, pbxd: PbxdProcess, workspace: None, tmp_path: Path
) -> None:

    agent = Console(browsers["agent"], pbxd, locale="zh-CN")
    supervisor = Console(browsers["supervisor"], pbxd, locale="zh-CN")
    customer = PjsuaPhone(
        CUSTOMER, extension_secret(CUSTOMER), registrar=pbxd.sip_address, log_dir=tmp_path,
        play=write_tone(tmp_path / "customer.wav", CUSTOMER_TONE, 2.0),
        record=tmp_path / "customer-heard.wav", timeout=90.0,
    )  # fmt: skip
    colleague = PjsuaPhone(
        COLLEAGUE, extension_secret(COLLEAGUE), registrar=pbxd.sip_address, log_dir=tmp_path,
        play=write_tone(tmp_path / "colleague.wav", COLLEAGUE_TONE, 2.0), timeout=90.0,
    )  # fmt: skip
    marks: dict[str, float] = {}
    try:
        agent.login("agent-3661", "agent-3661-Pw1")
        supervisor.login("lead-3669", "lead-3669-Pw1")
        for page in (agent, supervisor):
            page.page.wait_for_selector(
                "[data-testid=softphone-registration][data-state=registered]"
            )
        supervisor.go("wallboard")
        customer.start()
        customer.wait_registered()

        customer.call(QUEUE)
        agent.page.wait_for_selector("[data-testid=softphone-call-panel][data-status=ringing]")
        pop = agent.page.wait_for_selector("[data-testid=screen-pop]")
        assert QUEUE in pop.inner_text()
        number = agent.page.wait_for_selector(
            "[data-testid=screen-pop-customer] [data-field=number]"
        )
        assert number.inner_text() == CUSTOMER
        agent.screenshot("workspace-ringing-pop")
        agent.page.click("[data-testid=softphone-answer]")
        answered = time.monotonic()
        agent.page.wait_for_selector("[data-testid=softphone-call-panel][data-status=talking]")
        customer.wait_for("media_active", timeout=10)
        # The supervisor's wallboard counts the answered call within a second.
        expect(answered_tile(supervisor)).to_have_text("1", timeout=1000)
        marks["wallboard"] = time.monotonic() - answered
        heard = levels(agent, [CUSTOMER_TONE, SUPERVISOR_TONE])
        assert heard[0] > PRESENT and heard[1] < ABSENT, heard  # the agent hears the customer

        supervisor.go("live-calls")
        row = supervisor.page.wait_for_selector(
            f"[data-testid=live-calls] tr[data-agent='{AGENT}']"
        )
        row.query_selector("[data-action=listen]").click()
        supervisor.page.wait_for_selector(
            "[data-testid=softphone-call-panel][data-status=talking]", timeout=15_000
        )
        time.sleep(1.0)
        heard = levels(supervisor, [CUSTOMER_TONE, AGENT_TONE])
        assert min(heard) > PRESENT, heard  # listening: he hears both sides
        heard = levels(agent, [CUSTOMER_TONE, SUPERVISOR_TONE])
        assert heard[1] < ABSENT, heard  # ... and nobody hears him
        marks["listen_end"] = time.monotonic()

        row.query_selector("[data-action=whisper]").click()
        supervisor.page.wait_for_selector("[data-action=whisper][aria-pressed=true]")
        time.sleep(1.0)
        heard = levels(agent, [CUSTOMER_TONE, SUPERVISOR_TONE])
        assert min(heard) > PRESENT, heard  # whisper: the agent hears the customer and him
        marks["whisper_end"] = time.monotonic()

        supervisor.page.locator("[data-action=barge]").click()
        supervisor.page.wait_for_selector("[data-action=barge][aria-pressed=true]")
        time.sleep(2.5)  # barge: the customer hears the supervisor too
        marks["barge_end"] = time.monotonic()
        supervisor.screenshot("workspace-live-calls")
        supervisor.page.click("[data-testid=softphone-hangup]")  # he leaves the call
        supervisor.page.wait_for_selector("[data-testid=softphone-call-panel]", state="detached")

        # The agent asks a colleague first (咨询转移), then hands the customer over.
        colleague.start()
        colleague.wait_registered()
        agent.page.fill("[data-testid=transfer-target]", COLLEAGUE)
        agent.page.click("[data-testid=transfer-consult]")
        agent.page.wait_for_selector(
            "[data-testid=consultation][data-state=connected]", timeout=15_000
        )
        heard = levels(agent, [COLLEAGUE_TONE, CUSTOMER_TONE])
        assert heard[0] > PRESENT and heard[1] < ABSENT, heard  # the colleague, not the customer
        marks["consult_end"] = time.monotonic()
        agent.screenshot("workspace-consultation")
        agent.page.click("[data-testid=consult-complete]")
        agent.page.wait_for_selector("[data-testid=softphone-call-panel]", state="detached")
        time.sleep(2.5)  # the customer talks with the colleague
        marks["hangup"] = time.monotonic()
        customer.hangup()
        customer.wait_for("call_ended", timeout=10)
        colleague.wait_for("call_ended", timeout=10)
        agent.page.select_option("[data-testid=disposition] select", "resolved")
        agent.page.click("[data-testid=disposition] button[type=submit]")
        agent.page.wait_for_selector("[data-testid=disposition]", state="detached")
        for page in (agent, supervisor):
            assert not page.problems, "\n".join(page.problems)
    finally:
        stop_phones(customer, colleague)
        agent.close()
        supervisor.close()

    # What the customer heard, counted back from the end of his recording (the hang-up):
    # during the barge the supervisor's tone, during the whisper not.
    recording = tmp_path / "customer-heard.wav"

    def before_hangup(mark: str, seconds: float) -> tuple[np.ndarray, int]:
        end = marks["hangup"] - marks[mark] + 0.2
        return window(recording, -end - seconds, -end)

    barge, whisper = before_hangup("barge_end", 1.8), before_hangup("whisper_end", 1.5)
    assert share_near(*barge, SUPERVISOR_TONE) > PRESENT
    assert share_near(*whisper, SUPERVISOR_TONE) < ABSENT
    assert share_near(*whisper, AGENT_TONE) > PRESENT
    held, transferred = before_hangup("consult_end", 1.2), before_hangup("hangup", 1.5)
    assert share_near(*held, AGENT_TONE) < ABSENT  # on hold while the agent consulted
    assert share_near(*held, COLLEAGUE_TONE) < ABSENT
    assert share_near(*transferred, COLLEAGUE_TONE) > PRESENT  # then with the colleague

    assert marks["wallboard"] < 1.0, marks
    row = poll("the CDR row", lambda: [
        r for r in pbxd.api("GET", "/api/v1/cdr")["items"]
        if r["caller"] == CUSTOMER and r["callee"] == QUEUE
    ])[0]  # fmt: skip
    assert row["disposition"] == "ANSWERED" and row["disposition_code"] == "resolved", row
    events = pbxd.api("GET", f"/api/v1/queue-events?queue={QUEUE}")["items"]
    story = [e["event"] for e in events if e["call_id"] == row["call_id"]]
    assert story[0] == "ENTER" and "CONNECT" in story and "TRANSFER" in story, story
    assert story[-1] == "COMPLETE_CALLER", story
    legs = pbxd.api("GET", f"/api/v1/cdr/{row['call_id']}/legs")["items"]
    assert {AGENT, COLLEAGUE} <= {leg["party"] for leg in legs}, legs


def test_a_reload_of_the_agent_page_mid_call_does_not_drop_the_customer(
    browsers: dict, pbxd: PbxdProcess, workspace: None, tmp_path: Path
) -> None:
    """The agent reloads his page in a call: the customer hears music meanwhile, the page
    registers again and pbxd rings it back (it answers by itself), and the two talk on."""
    agent = Console(browsers["agent"], pbxd, locale="zh-CN")
    customer = PjsuaPhone(
        CUSTOMER, extension_secret(CUSTOMER), registrar=pbxd.sip_address, log_dir=tmp_path,
        play=write_tone(tmp_path / "customer.wav", CUSTOMER_TONE, 2.0),
        record=tmp_path / "customer-heard.wav", timeout=60.0,
    )  # fmt: skip
    try:
        agent.login("agent-3661", "agent-3661-Pw1")
        agent.page.wait_for_selector("[data-testid=softphone-registration][data-state=registered]")
        customer.start()
        customer.wait_registered()
        customer.call(QUEUE)
        agent.page.wait_for_selector("[data-testid=softphone-answer]").click()
        agent.page.wait_for_selector("[data-testid=softphone-call-panel][data-status=talking]")
        customer.wait_for("media_active", timeout=10)

        agent.page.reload()
        agent.page.wait_for_selector(
            "[data-testid=softphone-call-panel][data-status=talking]", timeout=20_000
        )
        heard = levels(agent, [CUSTOMER_TONE])
        assert heard[0] > PRESENT, heard  # the agent hears the customer again
        assert not customer.seen("call_ended"), "the customer was dropped"
        time.sleep(1.5)
        customer.hangup()
        customer.wait_for("call_ended", timeout=10)
        agent.page.wait_for_selector("[data-testid=softphone-call-panel]", state="detached")
    finally:
        stop_phones(customer)
        agent.close()
    back, rate = window(tmp_path / "customer-heard.wav", -1.6, -0.2)
    assert share_near(back, rate, AGENT_TONE) > PRESENT  # and the customer hears him
    rows = [
        r for r in pbxd.api("GET", "/api/v1/cdr")["items"]
        if r["caller"] == CUSTOMER and r["callee"] == QUEUE
    ]  # fmt: skip
    assert rows[0]["disposition"] == "ANSWERED" and rows[0]["hangup_side"] == "caller", rows
