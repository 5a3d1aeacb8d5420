"""Transfers in the pure call center (agent call controls, issue 7): an agent hands his caller
on (blind or attended), the target takes it or the caller comes back to the head of the
queue; a consulted agent is engaged while he talks and released after. Scripted clock."""

from __future__ import annotations

import pytest

from pbxd.callcenter.agents import AgentPool, AgentState, AgentStateError, LogEvent
from pbxd.callcenter.queue import (
    CallCenter,
    CallerPhase,
    CallStateError,
    Connect,
    PlayMusic,
    QueueConfig,
    RingAgents,
)
from pbxd.callcenter.strategies import Member


def center(*agents: str, wrapup: float = 100.0) -> CallCenter:
    cc = CallCenter()
    cc.add_queue(
        QueueConfig("600", members=tuple(Member(a) for a in agents), timeout=15, wrapup=wrapup)
    )
    return cc


def connect(cc: CallCenter, call: str, agent: str, at: float) -> None:
    cc.join("600", call, at - 5.0)
    actions = cc.agent_answer(call, agent, at)
    assert Connect(call, agent) in actions


def rows(actions: list) -> list[tuple[float, str, str, str]]:
    return [(a.time, a.agent, a.event, a.data) for a in actions if isinstance(a, LogEvent)]


# -- the agent pool -------------------------------------------------------------------------------


def test_an_agent_engaged_by_a_consultation_is_on_a_call_then_released_without_a_row() -> None:
    pool = AgentPool()
    pool.add_static("202", "600")
    pool.pause("202", 1.0, "meeting")  # a paused team leader answers his phone all the same
    assert pool.engage("202", "c1", "600", 2.0) == []
    view = pool.view("202")
    assert (view.state, view.call_id, view.call_queue, view.since) == (
        AgentState.ON_CALL, "c1", "600", 2.0,
    )  # fmt: skip
    assert not pool.can_offer("202", "600")
    assert pool.release("202", 3.0) == []
    assert pool.state("202") is AgentState.PAUSED and pool.view("202").call_id is None


def test_engaging_an_agent_in_wrap_up_ends_it_and_a_ringing_one_refuses() -> None:
    pool = AgentPool()
    pool.add_static("202", "600")
    pool.offer("202", "c0", "600", 0.0)
    pool.answer("202", 1.0)
    pool.end_call("202", 2.0, 30.0, "COMPLETE_CALLER")
    assert pool.engage("202", "c1", "600", 5.0) == [LogEvent(5.0, "c0", "600", "202", "WRAPUP_END")]
    assert pool.next_deadline() is None  # no second WRAPUP_END later
    pool.release("202", 6.0)
    pool.offer("202", "c2", "600", 7.0)
    with pytest.raises(AgentStateError, match="engage: illegal for agent 202 in state ringing"):
        pool.engage("202", "c1", "600", 8.0)
    with pytest.raises(AgentStateError, match="release: illegal for agent 202 in state ringing"):
        pool.release("202", 8.0)


def test_a_transfer_ends_the_agents_part_with_a_transfer_row_and_wrap_up() -> None:
    pool = AgentPool()
    pool.add_static("201", "600")
    pool.offer("201", "c1", "600", 0.0)
    pool.answer("201", 1.0)
    assert pool.end_call("201", 9.0, 10.0, "TRANSFER", "x") == [
        LogEvent(9.0, "c1", "600", "201", "TRANSFER", "x")
    ]
    assert pool.state("201") is AgentState.WRAPUP
    with pytest.raises(ValueError):
        pool.end_call("201", 9.0, 10.0, "HANGUP")


# -- attended: the consulted agent takes the caller ------------------------------------------------


def test_attended_transfer_to_another_agent() -> None:
    cc = center("201", "202")
    connect(cc, "c1", "201", at=10.0)
    assert cc.agents.state("202") is AgentState.IDLE
    cc.engage("202", "c1", 20.0)  # he answered the consultation
    assert cc.agents.state("202") is AgentState.ON_CALL
    actions = cc.transfer_out("c1", "attended", "extension:202", 30.0, stays=True)
    assert rows(actions) == [(30.0, "201", "TRANSFER", "attended|extension:202|5|20|1")]
    assert cc.agents.state("201") is AgentState.WRAPUP
    assert cc.transfer_in("c1", "202", 30.0) == []  # engaged already: no row
    assert cc.queue_of("c1").connected() == {"c1": "202"}
    actions = cc.caller_hangup("c1", 90.0)
    # His part: 60 s; the caller's wait stays the first answer's.
    assert rows(actions) == [(90.0, "202", "COMPLETE_CALLER", "5|60|1")]
    assert cc.agents.state("202") is AgentState.WRAPUP
    # The queue's handle time counts the whole call.
    assert cc.queues["600"].average_handle == 80.0 + 100.0


def test_a_cancelled_consultation_releases_the_consulted_agent_for_the_queue() -> None:
    cc = center("201", "202")
    connect(cc, "c1", "201", at=10.0)
    cc.engage("202", "c1", 20.0)
    cc.join("600", "c2", 21.0)  # nobody free: 202 is consulted
    assert cc.queue_of("c2").phase("c2") is CallerPhase.WAITING
    actions = cc.release("202", 25.0)
    assert RingAgents("c2", ("202",), 15) in actions  # free again: rung at once
    assert rows(actions) == [(25.0, "202", "RING", "")]


def test_a_transfer_target_who_is_no_agent_gets_the_complete_row_only() -> None:
    cc = center("201")
    connect(cc, "c1", "201", at=10.0)
    assert cc.engage("3201", "c1", 12.0) == []  # a team leader: not in the pool
    cc.transfer_out("c1", "attended", "extension:3201", 20.0, stays=True)
    cc.transfer_in("c1", "3201", 20.0)
    actions = cc.agent_hangup("c1", 50.0)
    assert rows(actions) == [(50.0, "3201", "COMPLETE_AGENT", "5|30|1")]
    assert "3201" not in cc.agents


# -- blind: the target answers, or the caller comes back -----------------------------------------


def test_blind_transfer_answered_by_an_idle_agent_engages_him() -> None:
    cc = center("201", "202")
    connect(cc, "c1", "201", at=10.0)
    actions = cc.transfer_out("c1", "blind", "extension:202", 15.0, stays=True)
    assert rows(actions) == [(15.0, "201", "TRANSFER", "blind|extension:202|5|5|1")]
    assert cc.queue_of("c1").connected() == {"c1": ""}  # the seat is empty while 202 rings
    assert cc.transfer_in("c1", "202", 18.0) == []
    assert cc.agents.view("202").call_id == "c1"
    actions = cc.agent_hangup("c1", 28.0)
    assert rows(actions) == [(28.0, "202", "COMPLETE_AGENT", "5|10|1")]


def test_blind_transfer_nobody_takes_puts_the_caller_back_at_the_head_of_the_queue() -> None:
    cc = center("201", "202", wrapup=100.0)
    connect(cc, "c1", "201", at=10.0)
    cc.join("600", "c2", 11.0)
    assert cc.queue_of("c2").phase("c2") is CallerPhase.RINGING  # 202 rings for c2
    cc.transfer_out("c1", "blind", "extension:3301", 15.0, stays=True)
    actions = cc.requeue("c1", "extension:3301", 20.0)
    assert actions[:2] == [
        LogEvent(20.0, "c1", "600", "", "TRANSFER_RETURN", "extension:3301|1"),
        PlayMusic("c1", ""),
    ]
    queue = cc.queues["600"]
    assert queue.waiting() == ["c1", "c2"] and queue.position("c1") == 1
    # 201 wraps up: the next agent free takes c1 before c2 (it was answered once already).
    actions = cc.agent_failed("c2", "202", 21.0)
    assert RingAgents("c1", ("202",), 15) in actions
    actions = cc.agent_answer("c1", "202", 25.0)
    assert rows(actions)[0] == (25.0, "202", "CONNECT", "20|4")


def test_blind_transfer_to_another_queue_leaves_this_one() -> None:
    cc = center("201")
    connect(cc, "c1", "201", at=10.0)
    actions = cc.transfer_out("c1", "blind", "queue:601", 30.0, stays=False)
    assert rows(actions) == [(30.0, "201", "TRANSFER", "blind|queue:601|5|20|1")]
    assert "c1" not in cc.queues["600"]
    with pytest.raises(Exception, match="c1 is in no queue"):
        cc.queue_of("c1")


def test_the_caller_hanging_up_while_a_blind_transfer_rings() -> None:
    cc = center("201")
    connect(cc, "c1", "201", at=10.0)
    cc.transfer_out("c1", "blind", "extension:202", 15.0, stays=True)
    actions = cc.caller_hangup("c1", 20.0)
    assert rows(actions) == [(20.0, "", "COMPLETE_CALLER", "5|5|1")]
    assert cc.agents.state("201") is AgentState.WRAPUP  # his part ended with the transfer


def test_transfers_refuse_what_does_not_fit() -> None:
    cc = center("201", "202")
    cc.join("600", "c1", 0.0)
    with pytest.raises(CallStateError, match="transfer but it is not connected"):
        cc.transfer_out("c1", "blind", "extension:202", 1.0, stays=True)
    cc.agent_answer("c1", "201", 2.0)
    with pytest.raises(CallStateError, match="agent 201 still has it"):
        cc.requeue("c1", "extension:202", 3.0)
    with pytest.raises(CallStateError, match="agent 201 still has it"):
        cc.transfer_in("c1", "202", 3.0)
    cc.transfer_out("c1", "blind", "extension:202", 4.0, stays=True)
    with pytest.raises(CallStateError, match="no agent to hand it on"):
        cc.transfer_out("c1", "blind", "extension:203", 5.0, stays=True)
