"""Agent state shared by all queues: login, pause, ringing, call, wrap-up, and the log rows."""

from __future__ import annotations

import pytest

from pbxd.callcenter.agents import (
    AgentError,
    AgentPool,
    AgentState,
    AgentStateError,
    LogEvent,
    UnknownAgentError,
)
from pbxd.callcenter.strategies import Member, MemberStats


def test_login_pause_and_logout_rows_per_queue() -> None:
    pool = AgentPool()
    assert pool.state("201") is AgentState.LOGGED_OUT
    assert pool.login("201", ["600", "610"], 10.0) == [
        LogEvent(10.0, "", "600", "201", "LOGIN"),
        LogEvent(10.0, "", "610", "201", "LOGIN"),
    ]
    assert pool.login("201", ["600"], 11.0) == []  # already in
    assert pool.state("201") is AgentState.IDLE
    assert pool.pause("201", 12.0, "lunch") == [
        LogEvent(12.0, "", "600", "201", "PAUSE", "lunch"),
        LogEvent(12.0, "", "610", "201", "PAUSE", "lunch"),
    ]
    assert pool.state("201") is AgentState.PAUSED
    assert not pool.can_offer("201", "600")
    assert pool.pause("201", 13.0, "lunch") == []
    assert pool.pause("201", 13.0, "meeting")[0].data == "meeting"
    assert pool.view("201").pause_reason == "meeting"
    assert [r.event for r in pool.unpause("201", 14.0)] == ["UNPAUSE", "UNPAUSE"]
    assert pool.unpause("201", 14.0) == []
    assert pool.can_offer("201", "600") and not pool.can_offer("201", "620")
    assert pool.logout("201", 15.0, ["610"]) == [LogEvent(15.0, "", "610", "201", "LOGOUT")]
    assert pool.view("201").queues == ("600",)
    assert pool.logout("201", 16.0) == [LogEvent(16.0, "", "600", "201", "LOGOUT")]
    assert pool.state("201") is AgentState.LOGGED_OUT
    with pytest.raises(AgentStateError, match="pause: illegal for agent 201 in state logged_out"):
        pool.pause("201", 17.0)


def test_static_members_are_always_logged_in() -> None:
    pool = AgentPool()
    pool.add_static("201", "600", penalty=2)
    assert pool.state("201") is AgentState.IDLE
    assert pool.members("600") == [Member("201", 2)]
    with pytest.raises(AgentStateError, match="static member of queue 600"):
        pool.logout("201", 1.0, ["600"])
    pool.login("201", ["610"], 1.0)
    assert pool.logout("201", 2.0) == [LogEvent(2.0, "", "610", "201", "LOGOUT")]  # 600 stays
    assert pool.view("201").queues == ("600",)


def test_members_in_join_order() -> None:
    pool = AgentPool()
    pool.add_static("203", "600")
    pool.login("201", ["600"], 1.0, penalty=1)
    pool.login("202", ["600"], 2.0)
    assert [m.extension for m in pool.members("600")] == ["203", "201", "202"]
    pool.logout("201", 3.0)
    pool.login("201", ["600"], 4.0)
    assert [m.extension for m in pool.members("600")] == ["203", "202", "201"]


def test_ring_answer_call_wrapup_cycle_with_rows_and_stats() -> None:
    pool = AgentPool()
    pool.login("201", ["600", "610"], 0.0)
    assert pool.offer("201", "c1", "600", 5.0) == [LogEvent(5.0, "c1", "600", "201", "RING")]
    assert pool.state("201") is AgentState.RINGING
    # the same agent for a call of the other queue: refused, it is busy
    with pytest.raises(AgentStateError, match="busy with call c1"):
        pool.offer("201", "c2", "610", 6.0)
    assert not pool.can_offer("201", "610")
    assert pool.ring_no_answer("201", 20.0) == [
        LogEvent(20.0, "c1", "600", "201", "RING_NO_ANSWER", "15000")
    ]
    pool.offer("201", "c1", "600", 25.0)
    assert pool.answer("201", 27.0, "27|2") == [
        LogEvent(27.0, "c1", "600", "201", "CONNECT", "27|2")
    ]
    assert pool.state("201") is AgentState.ON_CALL
    pool.pause("201", 30.0, "after-call")  # allowed on a call; applies afterwards
    assert pool.state("201") is AgentState.ON_CALL
    rows = pool.end_call("201", 90.0, 20.0, "COMPLETE_AGENT", "27|63|1")
    assert rows == [LogEvent(90.0, "c1", "600", "201", "COMPLETE_AGENT", "27|63|1")]
    assert pool.state("201") is AgentState.WRAPUP
    assert pool.view("201").wrapup_until == 110.0
    assert pool.next_deadline() == 110.0
    assert pool.poll(109.9) == []
    assert pool.poll(110.0) == [LogEvent(110.0, "c1", "600", "201", "WRAPUP_END")]
    assert pool.next_deadline() is None
    assert pool.state("201") is AgentState.PAUSED  # the pause taken during the call
    assert pool.stats("201", "600") == MemberStats(rung=2, answered=1, last_call_end=90.0)
    assert pool.stats("201", "610") == MemberStats(rung=0, answered=0, last_call_end=90.0)
    pool.unpause("201", 111.0)
    assert pool.can_offer("201", "610")


def test_no_wrapup_means_idle_at_once() -> None:
    pool = AgentPool()
    pool.login("201", ["600"], 0.0)
    pool.offer("201", "c1", "600", 0.0)
    pool.answer("201", 1.0)
    pool.end_call("201", 2.0, 0.0, "COMPLETE_CALLER")
    assert pool.state("201") is AgentState.IDLE
    assert pool.view("201").call_id is None
    assert pool.poll(100.0) == []


def test_stop_ringing_is_silent() -> None:
    pool = AgentPool()
    pool.login("201", ["600"], 0.0)
    pool.offer("201", "c1", "600", 0.0)
    assert pool.stop_ringing("201", 1.0) == []
    assert pool.state("201") is AgentState.IDLE


@pytest.mark.parametrize(
    ("method", "args", "message"),
    [
        ("answer", (1.0,), "answer: illegal for agent 201 in state idle"),
        ("ring_no_answer", (1.0,), "no_answer: illegal for agent 201 in state idle"),
        ("end_call", (1.0, 0.0, "COMPLETE_CALLER"), "end_call: illegal for agent 201"),
    ],
)
def test_illegal_events_name_event_agent_and_state(method: str, args: tuple, message: str) -> None:
    pool = AgentPool()
    pool.login("201", ["600"], 0.0)
    with pytest.raises(AgentStateError, match=message) as info:
        getattr(pool, method)("201", *args)
    assert info.value.status == 409


def test_unknown_agent_and_bad_login() -> None:
    pool = AgentPool()
    with pytest.raises(UnknownAgentError) as info:
        pool.pause("999", 0.0)
    assert info.value.status == 404
    with pytest.raises(AgentError, match="which queue"):
        pool.login("201", [], 0.0)
    with pytest.raises(AgentStateError, match="paused"):
        pool.login("201", ["600"], 0.0)
        pool.pause("201", 0.0)
        pool.offer("201", "c1", "600", 0.0)
    with pytest.raises(ValueError, match="unknown queue log event"):
        LogEvent(0.0, "", "600", "201", "DANCE")


def test_since_is_when_the_state_last_changed():
    pool = AgentPool()
    pool.add_static("1001", "600")
    assert pool.view("1001").since is None  # configured before anything happened
    pool.pause("1001", 10.0, "lunch")
    pool.pause("1001", 11.0, "meeting")  # another reason, the same state
    assert (pool.view("1001").state, pool.view("1001").since) == (AgentState.PAUSED, 10.0)
    pool.unpause("1001", 20.0)
    pool.offer("1001", "c1", "600", 21.0)
    pool.answer("1001", 23.0)
    assert (pool.view("1001").state, pool.view("1001").since) == (AgentState.ON_CALL, 23.0)
    pool.end_call("1001", 30.0, wrapup=5.0, event="COMPLETE_AGENT")
    assert pool.view("1001").since == 30.0
    pool.poll(35.0)
    assert (pool.view("1001").state, pool.view("1001").since) == (AgentState.IDLE, 35.0)
