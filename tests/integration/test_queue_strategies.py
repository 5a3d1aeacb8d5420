"""Every queue strategy over several calls with real agents: whom the queue rings, in order.

Agents are pjsua2 phones that answer after 0.3 s and hang up 0.8 s later, unless a test makes
one ring without answering (`answer_code=0`: the queue's 3 s ring timeout ends it) or leaves
an agent without a phone (its leg fails at once: RING_NO_ANSWER, then the next attempt, the
queues have no retry pause). One pjsua2 caller places the calls one after the other. What
is checked is what a supervisor reads back: the RING rows of each call in the queue event log
(the agents rung, in order), the agent who took it (CDR call-center detail), and what the
phones themselves saw. Every expected order is derived from the rules in
pbxd/callcenter/strategies.py, and each scenario is built so that the strategy under test
gives an order that the others would not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .pbxd_process import PbxdProcess
from .peers.pjsua_phone import PjsuaPhone, stop_phones
from .queue_story import (
    QueueCall,
    call_queue,
    create_queue,
    is_state,
    phone,
    queue_calls,
    rung_phones,
    start,
)

pytestmark = pytest.mark.peer

ANSWERS = {"ring_seconds": 0.3, "hangup_after": 0.8}


def agents(pbxd: PbxdProcess, tmp_path: Path, *numbers: str):
    """Phones for these agents, each answering every call (ANSWERS)."""
    return [phone(pbxd, tmp_path, n, **ANSWERS) for n in numbers]


def calls_in_a_row(
    pbxd: PbxdProcess, caller: PjsuaPhone, queue: str, count: int, phones: list[PjsuaPhone]
) -> list[QueueCall]:
    """`count` calls from `caller` into `queue`, one after the other, while `phones` are
    registered; then the calls as the history tells them, oldest first."""
    try:
        start(*phones, caller)
        for _ in range(count):
            call_queue(caller, queue)
    finally:
        stop_phones(caller, *phones)
    return queue_calls(pbxd, caller.user, queue, count)


def test_ringall_connects_the_first_to_answer_and_cancels_the_other(
    pbxd: PbxdProcess, tmp_path: Path
) -> None:
    fast = phone(pbxd, tmp_path, "3611", ring_seconds=0.3, hangup_after=1.0)
    slow = phone(pbxd, tmp_path, "3612", ring_seconds=2.5, hangup_after=1.0)
    caller = phone(pbxd, tmp_path, "3619")
    create_queue(pbxd, "610", "ringall", ["3611", "3612"], timeout=10)
    try:
        start(fast, slow, caller)
        call_queue(caller, "610")
    finally:
        stop_phones(caller, fast, slow)
    [call] = queue_calls(pbxd, "3619", "610", 1)
    assert sorted(call.rung) == ["3611", "3612"], call.story  # both rung at once
    assert call.agent == "3611" and call.parties == ["3619", "3611"], (call.story, call.parties)
    assert ("CONNECT", "3611") in call.story and ("CONNECT", "3612") not in call.story
    # Being cancelled is not a ring timeout: no RING_NO_ANSWER for the slower agent.
    assert ("RING_NO_ANSWER", "3612") not in call.story, call.story

    # The slower phone saw the INVITE, then a CANCEL once the other had answered, and never
    # got to answer (487 Request Terminated, no CONFIRMED).
    [invite] = slow.seen("incoming_call")
    [cancel] = slow.seen("request", lambda e: e["method"] == "CANCEL")
    [ended] = slow.seen("call_ended")
    assert ended["code"] == 487, slow.diagnostics()
    assert not slow.seen("call_state", is_state("CONFIRMED")), slow.diagnostics()
    [answered] = fast.seen("call_state", is_state("CONFIRMED"))
    assert invite["wall"] < cancel["wall"] <= ended["wall"]
    assert abs(cancel["wall"] - answered["wall"]) < 1.0, (cancel, answered)
    assert cancel["wall"] - invite["wall"] < 2.5  # before its own answer was due


def test_rrmemory_starts_after_the_last_answerer_and_skips_who_fails(
    pbxd: PbxdProcess, tmp_path: Path
) -> None:
    # 3622 has no phone: every ring of it fails at once and the walk goes on to 3623.
    phones = agents(pbxd, tmp_path, "3621", "3623")
    pbxd.create_extension("3622", "Secret-3622")
    caller = phone(pbxd, tmp_path, "3629")
    create_queue(pbxd, "611", "rrmemory", ["3621", "3622", "3623"])
    calls = calls_in_a_row(pbxd, caller, "611", 4, phones)
    # 1: nobody answered before: the head. 2: after 3621 comes 3622 (fails), then 3623.
    # 3: after 3623 the walk wraps to 3621. 4: as 2.
    assert [c.rung for c in calls] == [
        ["3621"],
        ["3622", "3623"],
        ["3621"],
        ["3622", "3623"],
    ], [c.story for c in calls]
    assert [c.agent for c in calls] == ["3621", "3623", "3621", "3623"]


def test_linear_starts_every_call_at_the_head_and_goes_down_the_list(
    pbxd: PbxdProcess, tmp_path: Path
) -> None:
    pbxd.create_extension("3631", "Secret-3631")  # no phone: fails at once
    phones = agents(pbxd, tmp_path, "3632", "3633")
    caller = phone(pbxd, tmp_path, "3639")
    create_queue(pbxd, "612", "linear", ["3631", "3632", "3633"])
    calls = calls_in_a_row(pbxd, caller, "612", 3, phones)
    assert [c.rung for c in calls] == [["3631", "3632"]] * 3, [c.story for c in calls]
    assert [c.agent for c in calls] == ["3632"] * 3
    assert rung_phones(*phones)["3633"] == 0  # never reached


def test_rrordered_walks_the_configured_order_not_the_login_order(
    pbxd: PbxdProcess, tmp_path: Path
) -> None:
    # 3643 is a static member; 3642 logs in before 3641. Join order: 3643, 3642, 3641;
    # configured order (static, then dynamic by number): 3643, 3641, 3642.
    phones = agents(pbxd, tmp_path, "3641", "3642", "3643")
    caller = phone(pbxd, tmp_path, "3649")
    create_queue(pbxd, "613", "rrordered", ["3643"])
    for agent in ("3642", "3641"):
        pbxd.api("POST", f"/api/v1/agents/{agent}/login", {"queues": ["613"]})
    calls = calls_in_a_row(pbxd, caller, "613", 4, phones)
    # rrmemory would ring 3643, 3642, 3641, 3643 (join order)
    assert [c.rung for c in calls] == [["3643"], ["3641"], ["3642"], ["3643"]], [
        c.story for c in calls
    ]
    assert [c.agent for c in calls] == ["3643", "3641", "3642", "3643"]


def test_leastcalled_rings_whom_the_queue_rang_least(pbxd: PbxdProcess, tmp_path: Path) -> None:
    # 3651 rings 1.5 s before answering: long enough for the first caller to give up.
    first = phone(pbxd, tmp_path, "3651", ring_seconds=1.5, hangup_after=0.8)
    second = phone(pbxd, tmp_path, "3652", **ANSWERS)
    caller = phone(pbxd, tmp_path, "3659")
    create_queue(pbxd, "614", "leastcalled", ["3651", "3652"])
    try:
        start(first, second, caller)
        # Call 1: 3651 rings (rung 1) and the caller hangs up before it answers.
        caller.call("614")
        first.wait_for("incoming_call", timeout=10)
        caller.hangup()
        caller.wait_for("call_ended", timeout=10)
        first.wait_for("call_ended", timeout=10)
        for _ in range(3):
            call_queue(caller, "614")
    finally:
        stop_phones(caller, first, second)
    calls = queue_calls(pbxd, "3659", "614", 4)
    assert calls[0].disposition == "ABANDONED" and calls[0].rung == ["3651"], calls[0].story
    # Rung so far 1/0 -> 3652; 1/1 -> 3651 (member order); 2/1 -> 3652. rrmemory and linear
    # would start call 2 at the head (3651).
    assert [c.rung for c in calls[1:]] == [["3652"], ["3651"], ["3652"]], [c.story for c in calls]
    assert [c.agent for c in calls] == [None, "3652", "3651", "3652"]


def test_fewestcalls_rings_whom_answered_fewest_calls(pbxd: PbxdProcess, tmp_path: Path) -> None:
    phones = agents(pbxd, tmp_path, "3661", "3662")
    pbxd.create_extension("3663", "Secret-3663")  # no phone: rung, never answers
    caller = phone(pbxd, tmp_path, "3669")
    create_queue(pbxd, "615", "fewestcalls", ["3661", "3662", "3663"])
    calls = calls_in_a_row(pbxd, caller, "615", 4, phones)
    # Answered 0/0/0 -> 3661; 1/0/0 -> 3662; 1/1/0 -> 3663 (fails), then 3661 (tie, first);
    # 2/1/0 -> 3663 again (it never answers), then 3662. Ring counts (leastcalled) or the
    # round robin would ring 3662 alone in call 4.
    assert [c.rung for c in calls] == [
        ["3661"],
        ["3662"],
        ["3663", "3661"],
        ["3663", "3662"],
    ], [c.story for c in calls]
    assert [c.agent for c in calls] == ["3661", "3662", "3661", "3662"]


def test_leastrecent_rings_whose_last_call_ended_longest_ago(
    pbxd: PbxdProcess, tmp_path: Path
) -> None:
    phones = agents(pbxd, tmp_path, "3671", "3672", "3673")
    caller = phone(pbxd, tmp_path, "3679")
    create_queue(pbxd, "616", "leastrecent", ["3671", "3672", "3673"])
    create_queue(pbxd, "617", "ringall", ["3672"])
    try:
        start(*phones, caller)
        call_queue(caller, "617")  # 3672 has had a call (in another queue): any queue counts
        for _ in range(4):
            call_queue(caller, "616")
    finally:
        stop_phones(caller, *phones)
    [before] = queue_calls(pbxd, "3679", "617", 1)
    assert before.agent == "3672", before.story
    calls = queue_calls(pbxd, "3679", "616", 4)
    # Never had a call: 3671, 3673 (member order) first; then 3672, whose call in 617 ended
    # before theirs; then 3671 again, the oldest end of the three.
    assert [c.rung for c in calls] == [["3671"], ["3673"], ["3672"], ["3671"]], [
        c.story for c in calls
    ]
    assert [c.agent for c in calls] == ["3671", "3673", "3672", "3671"]


def test_random_rings_only_logged_in_unpaused_members(pbxd: PbxdProcess, tmp_path: Path) -> None:
    members = agents(pbxd, tmp_path, "3681", "3682")
    gone, paused = agents(pbxd, tmp_path, "3683", "3684")
    caller = phone(pbxd, tmp_path, "3689")
    create_queue(pbxd, "618", "random", ["3681", "3682"])
    pbxd.api("POST", "/api/v1/agents/3683/login", {"queues": ["618"]})
    pbxd.api("POST", "/api/v1/agents/3683/logout", {"queues": ["618"]})
    pbxd.api("POST", "/api/v1/agents/3684/login", {"queues": ["618"]})
    pbxd.api("POST", "/api/v1/agents/3684/pause", {"reason": "training"})
    assert pbxd.api("GET", "/api/v1/agents/3683")["queues"] == []
    state = pbxd.api("GET", "/api/v1/agents/3684")
    assert state["paused"] is True and state["pause_reason"] == "training", state
    calls = calls_in_a_row(pbxd, caller, "618", 3, [*members, gone, paused])
    for call in calls:
        # one agent per attempt, a logged-in unpaused member, who answers
        assert len(call.rung) == 1 and call.rung[0] in ("3681", "3682"), call.story
        assert call.agent == call.rung[0], call.story
        assert call.parties == ["3689", call.agent], call.parties  # CDR legs: caller, agent
    assert rung_phones(gone, paused) == {"3683": 0, "3684": 0}
    rung = rung_phones(*members)
    assert sum(rung.values()) == 3, rung


def test_wrandom_weighs_penalties_instead_of_tiering_them(
    pbxd: PbxdProcess, tmp_path: Path
) -> None:
    """3691 (penalty 0) rings without answering; 3692 (penalty 100) answers.

    wrandom has no tiers: every available member is a candidate, so 3692 is rung although
    3691 is available (a tiered strategy never would), and within a call a member is not
    rung twice before the others: each call rings [3691, 3692] or [3692] and 3692 takes it.
    Which one is rung first is drawn with weights 1/(1+penalty): 3691 first with probability
    101/102 per call. The test asks for 3691 first in at least 3 of the 4 calls; that fails by
    chance with probability 6 * (1/102)**2 < 0.06 %, while it proves that the penalty weighs.
    """
    never = phone(pbxd, tmp_path, "3691", answer_code=0)
    answers = phone(pbxd, tmp_path, "3692", **ANSWERS)
    caller = phone(pbxd, tmp_path, "3699")
    create_queue(pbxd, "619", "wrandom", [("3691", 0), ("3692", 100)], timeout=2)
    calls = calls_in_a_row(pbxd, caller, "619", 4, [never, answers])
    for call in calls:
        assert call.rung in (["3691", "3692"], ["3692"]), call.story
        assert call.agent == "3692", call.story
    assert sum(1 for c in calls if c.rung[0] == "3691") >= 3, [c.story for c in calls]
