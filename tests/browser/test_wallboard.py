"""The wallboard (issue 7) in Chromium against a real pbxd, with a real pjsua2 caller.

A caller enters queue 650 (its one agent is paused, so he waits): the open wallboard shows him
waiting within a second, with a ticking longest wait; he hangs up and the tile counts one
abandoned call within a second. No page reload, no polling: pbxd pushes over /api/v1/live.
When pbxd restarts, the page shows the connection lost and comes back by itself, with today's
figures read back from the queue log. A supervisor sees his own queue only; an agent is
refused the board.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.integration.peers.pjsua_phone import PjsuaPhone, stop_phones

from .conftest import (
    Console,
    add_user,
    ensure_extension,
    ensure_queue,
    extension_secret,
    log_in,
    poll,
    visible_text,
)

pytestmark = [pytest.mark.browser, pytest.mark.peer]

QUEUE, OTHER_QUEUE = "650", "651"
AGENT, OTHER_AGENT, CALLER = "3911", "3912", "3901"
PUSH_SECONDS = 1.0  # the board shows a change within this


def tile(page, queue: str, figure: str):
    return page.locator(f"[data-queue='{queue}'] [data-figure='{figure}'] .value")


def set_up(pbxd) -> None:
    ensure_extension(pbxd, AGENT, "王小明")
    ensure_extension(pbxd, OTHER_AGENT, "李雷")
    ensure_extension(pbxd, CALLER, "客户电话")
    ensure_queue(pbxd, QUEUE, "热线", members=[{"extension": AGENT}], max_wait=0)
    ensure_queue(pbxd, OTHER_QUEUE, "售后", members=[{"extension": OTHER_AGENT}])
    # The agent takes a break: a caller waits in the queue, nobody's phone rings.
    pbxd.api("POST", f"/api/v1/agents/{AGENT}/pause", {"reason": "lunch"})


def open_wallboard(console: Console, username: str = "admin", password: str | None = None):
    console.login_to("wallboard", username, password)
    page = console.page
    expect(page.locator("[data-testid=live-status]")).to_have_attribute("data-status", "open")
    return page


def test_a_caller_waits_then_hangs_up_and_the_board_follows(
    console: Console, pbxd, tmp_path: Path
) -> None:
    set_up(pbxd)
    page = open_wallboard(console)
    expect(tile(page, QUEUE, "waiting")).to_have_text("0")
    expect(tile(page, QUEUE, "abandoned")).to_have_text("0")
    agent_row = page.locator(f"[data-page=wallboard] tbody tr[data-id='{AGENT}']")
    expect(agent_row.locator(".badge")).to_have_text("示忙")

    caller = PjsuaPhone(
        CALLER,
        extension_secret(CALLER),
        registrar=pbxd.sip_address,
        log_dir=tmp_path,
        timeout=60,
    )
    try:
        caller.start()
        caller.wait_registered()
        caller.call(QUEUE)
        caller.wait_for("call_state", timeout=10, where=lambda e: e["state"] == "CONFIRMED")
        answered_at = time.monotonic()
        expect(tile(page, QUEUE, "waiting")).to_have_text("1", timeout=PUSH_SECONDS * 1000)
        assert time.monotonic() - answered_at <= PUSH_SECONDS + 0.1
        # The longest wait ticks in the page (one push per change, the clock is the page's).
        first = visible_text(tile(page, QUEUE, "longest_wait"))
        longest = tile(page, QUEUE, "longest_wait")
        poll("the longest wait ticks", lambda: visible_text(longest) != first, 3)
        expect(tile(page, OTHER_QUEUE, "waiting")).to_have_text("0")
        console.screenshot("wallboard")

        caller.hangup()
        caller.wait_for("call_ended", timeout=10)
        hung_up_at = time.monotonic()
        expect(tile(page, QUEUE, "abandoned")).to_have_text("1", timeout=PUSH_SECONDS * 1000)
        assert time.monotonic() - hung_up_at <= PUSH_SECONDS + 0.1
        expect(tile(page, QUEUE, "waiting")).to_have_text("0")
    finally:
        stop_phones(caller)
    assert not [e for e in caller.events if e["event"] == "error"], caller.diagnostics()

    # pbxd restarts: the page shows the connection lost, keeps the last figures (greyed),
    # reconnects by itself, and today's figures come back from the queue log.
    status = page.locator("[data-testid=live-status]")
    pbxd.stop()
    expect(status).to_have_attribute("data-status", "disconnected")
    expect(page.locator("[data-testid=load-error]")).to_contain_text("正在重新连接")
    expect(tile(page, QUEUE, "abandoned")).to_have_text("1")
    pbxd.start()
    expect(status).to_have_attribute("data-status", "open", timeout=30_000)
    expect(tile(page, QUEUE, "abandoned")).to_have_text("1")
    expect(tile(page, QUEUE, "waiting")).to_have_text("0")
    # While pbxd was down the browser logged its failed attempts to reconnect: expected here.
    console.problems[:] = [p for p in console.problems if "WebSocket connection" not in p]


def test_the_agent_table_ticks_and_follows_a_resume(console: Console, pbxd) -> None:
    set_up(pbxd)
    page = open_wallboard(console)
    row = page.locator(f"[data-page=wallboard] tbody tr[data-id='{AGENT}']")
    clock = row.locator("[data-testid=time-in-state]")
    first = visible_text(clock)
    poll("the time in state ticks", lambda: visible_text(clock) != first, 3)
    started = time.monotonic()
    pbxd.api("POST", f"/api/v1/agents/{AGENT}/unpause", {})
    expect(row.locator(".badge")).to_have_text("空闲", timeout=PUSH_SECONDS * 1000)
    assert time.monotonic() - started <= PUSH_SECONDS + 0.5  # the API call's time included
    expect(clock).to_have_text("0:00")  # a new state, counted from its start
    pbxd.api("POST", f"/api/v1/agents/{AGENT}/pause", {"reason": "lunch"})
    expect(row.locator(".badge")).to_have_text("示忙", timeout=PUSH_SECONDS * 1000)


def test_a_supervisor_sees_his_queue_and_an_agent_is_refused(new_console, pbxd) -> None:
    set_up(pbxd)
    add_user(pbxd, "lead650", "Lead-pass-650", "supervisor")
    pbxd.api("PUT", "/api/v1/users/lead650", {"queues": [QUEUE]})
    lead = new_console()
    page = open_wallboard(lead, "lead650", "Lead-pass-650")
    expect(tile(page, QUEUE, "waiting")).to_be_visible()
    expect(page.locator(f"[data-queue='{OTHER_QUEUE}']")).to_have_count(0)
    agents = page.locator("[data-page=wallboard] tbody tr[data-id]")
    expect(agents).to_have_count(1)
    expect(agents.first).to_have_attribute("data-id", AGENT)
    assert not lead.problems, lead.problems

    add_user(pbxd, "agent3912", "Agent-pass-3912", "agent", OTHER_AGENT)
    agent = new_console()
    agent.open("wallboard")
    log_in(agent.page, "agent3912", "Agent-pass-3912")
    assert agent.page.locator("[data-nav=wallboard]").count() == 0  # not in his navigation
    status = agent.page.locator("[data-testid=live-status]")
    expect(status).to_have_attribute("data-status", "refused")
    expect(agent.page.locator("[data-testid=load-error]")).to_have_text("此账号无权查看")
    assert "may not see the wallboard" in (status.get_attribute("title") or "")
    assert not agent.problems, agent.problems
