"""Each strategy rings agents in exactly the order its docstring promises, over many calls."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from pbxd.callcenter.queue import QueueConfig
from pbxd.callcenter.strategies import (
    Member,
    MemberStats,
    StrategyError,
    member_order,
    pick,
)
from tests.callcenter.test_queue import Driver, serve

A, B, C = "201", "202", "203"
ANSWERERS = [B, C, A, A, C, B, B, A, C, A]


def queue(strategy: str, *exts: str, **kw) -> Driver:
    return Driver(QueueConfig("600", strategy, tuple(Member(e) for e in exts), **kw))


def run_calls(d: Driver, answerers: list[str], talk: float = 0.0) -> list[list[tuple[str, ...]]]:
    out = []
    for i, who in enumerate(answerers):
        out.append(serve(d, "600", f"call{i}", who, talk=talk))
        d.at(d.now + 1)
    return out


def singles(*agents: str) -> list[tuple[str, ...]]:
    return [(a,) for a in agents]


def test_rrmemory_starts_after_the_last_answerer_over_ten_calls() -> None:
    assert run_calls(queue("rrmemory", A, B, C), ANSWERERS) == [
        singles(A, B),  # no memory yet: from the head
        singles(C),  # after B
        singles(A),  # after C
        singles(B, C, A),  # after A, until A answers
        singles(B, C),
        singles(A, B),
        singles(C, A, B),
        singles(C, A),
        singles(B, C),
        singles(A),
    ]


def test_rrordered_behaves_the_same_over_the_configured_order() -> None:
    assert run_calls(queue("rrordered", A, B, C), ANSWERERS) == run_calls(
        queue("rrmemory", A, B, C), ANSWERERS
    )


def test_rrmemory_follows_login_order_rrordered_the_configured_order() -> None:
    def logged_in_as(strategy: str) -> Driver:
        d = Driver(QueueConfig("600", strategy))
        for ext in (C, A, B):  # dynamic members logging in in this order
            d.do("login", ext, ["600"])
        return d

    assert run_calls(logged_in_as("rrmemory"), [B, A]) == [singles(C, A, B), singles(C, A)]
    assert run_calls(logged_in_as("rrordered"), [B, A]) == [singles(A, B), singles(C, A)]
    # a re-login moves an agent to the end of the join order only
    joined = [Member(C), Member(A), Member(B)]
    assert [m.extension for m in member_order("rrmemory", joined, [])] == [C, A, B]
    assert [m.extension for m in member_order("rrordered", joined, [B])] == [B, A, C]


def test_linear_always_starts_from_the_first_member() -> None:
    expected = {A: singles(A), B: singles(A, B), C: singles(A, B, C)}
    assert run_calls(queue("linear", A, B, C), ANSWERERS) == [expected[w] for w in ANSWERERS]


def test_linear_skips_busy_members_and_wraps_around_for_one_caller() -> None:
    d = queue("linear", A, B, C, timeout=5, retry=1)
    d.do("pause", B)
    d.join("600", "x")
    for _ in range(7):
        d.advance()
    assert d.rings_of("x") == singles(A, C, A, C)


def test_leastcalled_rings_the_agent_rung_fewest_times() -> None:
    d = queue("leastcalled", A, B, C)
    assert run_calls(d, [C, A, C, B]) == [
        singles(A, B, C),  # rung 1,1,1
        singles(A),  # 2,1,1
        singles(B, C),  # 2,2,2 (B before C: member order breaks the tie)
        singles(A, B),  # 3,3,2 ... A first again: tie at 2 broken by order
    ]
    assert [d.cc.agents.stats(x, "600").rung for x in (A, B, C)] == [3, 3, 2]


def test_fewestcalls_rings_the_agent_with_fewest_answered_calls() -> None:
    d = queue("fewestcalls", A, B, C)
    assert run_calls(d, [B, C, A, B, B]) == [
        singles(A, B),  # answered 0,0,0 -> A (no answer), B answers: 0,1,0
        singles(A, C),  # A then C (both 0): 0,1,1
        singles(A),  # 1,1,1
        singles(A, B),  # all 1: A first, then B: 1,2,1
        singles(A, C, B),  # A (1), C (1), then B (2)
    ]
    assert [d.cc.agents.stats(x, "600").answered for x in (A, B, C)] == [1, 3, 1]


def test_leastrecent_rings_the_agent_idle_longest() -> None:
    d = queue("leastrecent", A, B, C)
    assert run_calls(d, [B, A, C, B], talk=10) == [
        singles(A, B),  # nobody ever had a call: member order; B's call ends first
        singles(A),  # A, C never had a call: A
        singles(C),  # C never had one
        singles(B),  # B's call ended longest ago
    ]
    ends = [d.cc.agents.stats(x, "600").last_call_end for x in (A, B, C)]
    assert ends[1] > ends[2] > ends[0]


def test_random_draws_from_the_seeded_generator() -> None:
    d = queue("random", A, B, C)
    d.cc.queues["600"].rng.seed(42)
    twin = random.Random(42)
    calls = 30
    rung = []
    for i in range(calls):
        rung.append(d.rings_of(f"r{i}", d.join("600", f"r{i}"))[0][0])
        d.answer(f"r{i}", rung[-1])
        d.hangup(f"r{i}")
    assert rung == [twin.choice([A, B, C]) for _ in range(calls)]
    assert set(rung) == {A, B, C}


def test_random_rings_everyone_once_before_anyone_twice_for_one_caller() -> None:
    d = queue("random", A, B, C, D := "204", timeout=5, retry=0)
    d.join("600", "x")
    for _ in range(11):
        d.advance()
    rung = [r[0] for r in d.rings_of("x")]
    assert len(rung) == 12
    for i in range(0, 12, 4):
        assert sorted(rung[i : i + 4]) == [A, B, C, D]


def test_wrandom_weighs_by_penalty() -> None:
    members = [Member(A, 0), Member(B, 1), Member(C, 3)]
    rng = random.Random(7)
    twin = random.Random(7)
    picks = [pick("wrandom", members, {A, B, C}, rng=rng).agents[0] for _ in range(4000)]
    assert picks[:50] == [twin.choices([A, B, C], weights=[1, 1 / 2, 1 / 4])[0] for _ in range(50)]
    share = {k: v / len(picks) for k, v in Counter(picks).items()}
    # weights 1, 1/2, 1/4 -> 4/7, 2/7, 1/7
    assert share[A] == pytest.approx(4 / 7, abs=0.03)
    assert share[B] == pytest.approx(2 / 7, abs=0.03)
    assert share[C] == pytest.approx(1 / 7, abs=0.03)


@pytest.mark.parametrize(
    "strategy", ["linear", "rrmemory", "rrordered", "leastcalled", "fewestcalls", "random"]
)
def test_penalty_tiers_higher_only_when_no_lower_is_available(strategy: str) -> None:
    d = Driver(
        QueueConfig("600", strategy, (Member(A, 2), Member(B, 0), Member(C, 0)), timeout=5),
        seed=3,
    )
    d.join("600", "x")
    for _ in range(12):
        d.advance()
    assert {r[0] for r in d.rings_of("x")} == {B, C}  # A never, though idle
    d.do("pause", B)
    d.do("pause", C)
    d.advance()
    d.advance()
    assert d.rings_of("x")[-1] == (A,)


def test_ringall_rings_the_best_tier_then_the_next_when_it_is_busy() -> None:
    d = Driver(QueueConfig("600", "ringall", (Member(A, 1), Member(B, 0), Member(C, 0))))
    assert d.rings_of("1", d.join("600", "1")) == [(B, C)]
    d.answer("1", B)
    assert d.rings_of("2", d.join("600", "2")) == [(C,)]
    d.answer("2", C)
    assert d.rings_of("3", d.join("600", "3")) == [(A,)]


def test_pick_directly() -> None:
    members = [Member(A), Member(B), Member(C)]
    assert pick("ringall", members, set()).agents == ()
    assert pick("linear", members, {B, C}).agents == (B,)
    assert pick("linear", members, {A, B}, tried={A, B}).agents == (A,)
    assert pick("linear", members, {A, B}, tried={A, B}).new_round
    assert pick("rrmemory", members, {A, B, C}, pivot=C).agents == (A,)
    assert pick("rrmemory", members, {A, B, C}, pivot="999").agents == (A,)
    stats = {A: MemberStats(answered=2), B: MemberStats(answered=1), C: MemberStats(answered=1)}
    assert pick("fewestcalls", members, {A, B, C}, stats=stats).agents == (B,)
    assert pick("fewestcalls", members, {A, B, C}, tried={B}, stats=stats).agents == (C,)
    with pytest.raises(StrategyError, match="unknown queue strategy"):
        pick("roundrobin", members, {A})
    with pytest.raises(StrategyError, match="penalty"):
        Member(A, -1)
    with pytest.raises(StrategyError, match="random.Random"):
        pick("random", members, {A})
