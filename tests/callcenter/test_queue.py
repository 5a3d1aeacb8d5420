"""One queue and several queues over one agent pool, driven with a scripted clock."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pbxd.callcenter.agents import AgentState, LogEvent
from pbxd.callcenter.destinations import HANGUP, Destination
from pbxd.callcenter.queue import (
    Announce,
    CallCenter,
    CallerPhase,
    CallStateError,
    Connect,
    Overflow,
    PlayMusic,
    Queue,
    QueueConfig,
    QueueConfigError,
    RingAgents,
    StopRinging,
    UnknownCallError,
)
from pbxd.callcenter.strategies import STRATEGIES, Member

VOICEMAIL = Destination("voicemail", "600")


def members(*extensions: str) -> tuple[Member, ...]:
    return tuple(Member(e) for e in extensions)


class Driver:
    """Feeds a CallCenter with a scripted clock and checks, on every action it returns, that
    no agent is offered a call while ringing, talking or wrapping up for another one."""

    def __init__(self, *configs: QueueConfig, seed: int = 0) -> None:
        self.cc = CallCenter(rng=random.Random(seed))
        self.wrapup = {}
        for config in configs:
            self.cc.add_queue(config)
            self.wrapup[config.name] = config.wrapup
        self.now = 0.0
        self.actions: list = []
        self.engaged: dict[str, str] = {}  # agent -> call: ringing or connected
        self.wrapping: set[str] = set()
        self.outcome: dict[str, str] = {}  # call -> CONNECT/ABANDON/EXIT_*/COMPLETE_*

    @property
    def log(self) -> list[LogEvent]:
        return [a for a in self.actions if isinstance(a, LogEvent)]

    def rows(self, *events: str) -> list[tuple[float, str, str, str, str]]:
        return [
            (r.time, r.call_id, r.agent, r.event, r.data)
            for r in self.log
            if not events or r.event in events
        ]

    def feed(self, actions: list) -> list:
        for a in actions:
            if isinstance(a, RingAgents):
                for agent in a.agents:
                    assert agent not in self.engaged, f"{agent} offered {a.call} while busy"
                    assert agent not in self.wrapping, f"{agent} offered {a.call} in wrap-up"
                    assert not self.cc.agents.view(agent).paused, f"paused {agent} rung"
                    self.engaged[agent] = a.call
            elif isinstance(a, StopRinging):
                for agent in a.agents:
                    if self.engaged.get(agent) == a.call:
                        del self.engaged[agent]
            elif isinstance(a, Connect):
                assert self.engaged.get(a.agent) == a.call
            elif isinstance(a, LogEvent):
                if a.event == "RING_NO_ANSWER":
                    assert self.engaged.pop(a.agent) == a.call_id
                elif a.event in ("COMPLETE_CALLER", "COMPLETE_AGENT"):
                    assert self.engaged.pop(a.agent) == a.call_id
                    if self.wrapup[a.queue] > 0:
                        self.wrapping.add(a.agent)
                elif a.event == "WRAPUP_END":
                    self.wrapping.remove(a.agent)
                if a.event in ("CONNECT", "ABANDON", "COMPLETE_CALLER", "COMPLETE_AGENT"):
                    self.outcome[a.call_id] = a.event
                elif a.event.startswith("EXIT_"):
                    self.outcome[a.call_id] = a.event
        self.actions += actions
        return actions

    def at(self, t: float) -> list:
        assert t >= self.now
        self.now = t
        return self.feed(self.cc.poll(t))

    def advance(self) -> list:
        deadline = self.cc.next_deadline()
        assert deadline is not None, "nothing left to wait for"
        return self.at(max(deadline, self.now))

    def join(self, queue: str, call: str) -> list:
        return self.feed(self.cc.join(queue, call, self.now))

    def hangup(self, call: str) -> list:
        return self.feed(self.cc.caller_hangup(call, self.now))

    def agent_hangup(self, call: str) -> list:
        return self.feed(self.cc.agent_hangup(call, self.now))

    def answer(self, call: str, agent: str) -> list:
        return self.feed(self.cc.agent_answer(call, agent, self.now))

    def do(self, method: str, *args) -> list:
        return self.feed(getattr(self.cc, method)(*args, now=self.now))

    def rings_of(self, call: str, actions: list | None = None) -> list[tuple[str, ...]]:
        actions = self.actions if actions is None else actions
        return [a.agents for a in actions if isinstance(a, RingAgents) and a.call == call]


def serve(d: Driver, queue: str, call: str, answerer: str, talk: float = 0.0) -> list:
    """Join `call`, let the queue ring until `answerer` is rung, answer, talk, hang up.
    Returns the ring attempts of the call."""
    acts = d.join(queue, call)
    for _ in range(200):
        rung = d.rings_of(call, acts)
        if rung and answerer in rung[-1]:
            d.answer(call, answerer)
            if talk:
                d.at(d.now + talk)
            d.hangup(call)
            return d.rings_of(call)
        acts = d.advance()
    raise AssertionError(f"{answerer} never rung for {call}: {d.rings_of(call)}")


# --- one call, step by step --------------------------------------------------------------


def test_event_sequence_with_times_for_one_sequential_call() -> None:
    cfg = QueueConfig(
        "600", strategy="linear", members=members("201", "202"), timeout=15, retry=5, wrapup=10
    )
    d = Driver(cfg)
    d.at(100.0)
    acts = d.join("600", "c1")
    assert acts == [
        LogEvent(100.0, "c1", "600", "", "ENTER", "1"),
        PlayMusic("c1", ""),
        LogEvent(100.0, "c1", "600", "201", "RING"),
        RingAgents("c1", ("201",), 15),
    ]
    assert d.cc.next_deadline() == 115.0
    assert d.advance() == [
        LogEvent(115.0, "c1", "600", "201", "RING_NO_ANSWER", "15000"),
        StopRinging("c1", ("201",)),
    ]
    assert d.cc.next_deadline() == 120.0  # the retry pause
    assert d.advance() == [
        LogEvent(120.0, "c1", "600", "202", "RING"),
        RingAgents("c1", ("202",), 15),
    ]
    d.at(123.0)
    assert d.answer("c1", "202") == [
        LogEvent(123.0, "c1", "600", "202", "CONNECT", "23|3"),
        Connect("c1", "202"),
    ]
    assert d.cc.agents.state("202") is AgentState.ON_CALL
    d.at(183.0)
    assert d.agent_hangup("c1") == [
        LogEvent(183.0, "c1", "600", "202", "COMPLETE_AGENT", "23|60|1")
    ]
    assert d.cc.agents.state("202") is AgentState.WRAPUP
    assert d.cc.next_deadline() == 193.0
    assert d.advance() == [LogEvent(193.0, "c1", "600", "202", "WRAPUP_END")]
    assert d.cc.agents.state("202") is AgentState.IDLE
    assert d.cc.next_deadline() is None


def test_ringall_connects_the_first_to_answer_and_stops_the_others() -> None:
    d = Driver(QueueConfig("600", members=members("201", "202", "203")))
    acts = d.join("600", "c1")
    assert d.rings_of("c1", acts) == [("201", "202", "203")]
    d.at(4.0)
    acts = d.answer("c1", "202")
    assert acts[0] == StopRinging("c1", ("201", "203"))
    assert Connect("c1", "202") in acts
    assert [r.event for r in d.log].count("RING_NO_ANSWER") == 0
    for agent in ("201", "203"):
        assert d.cc.agents.state(agent) is AgentState.IDLE
    # a late answer from another phone is hung up, the caller stays with 202
    assert d.answer("c1", "201") == [StopRinging("c1", ("201",))]
    assert d.cc.queue_of("c1").connected() == {"c1": "202"}
    assert d.answer("c1", "202") == []  # the same answer reported twice changes nothing


def test_ringall_retries_all_after_timeout_and_retry() -> None:
    d = Driver(QueueConfig("600", members=members("201", "202"), timeout=10, retry=3))
    d.join("600", "c1")
    d.advance()
    assert d.rows("RING_NO_ANSWER") == [
        (10.0, "c1", "201", "RING_NO_ANSWER", "10000"),
        (10.0, "c1", "202", "RING_NO_ANSWER", "10000"),
    ]
    acts = d.advance()
    assert d.now == 13.0 and d.rings_of("c1", acts) == [("201", "202")]


def test_agent_failure_is_a_no_answer_and_the_next_attempt_follows_after_retry() -> None:
    d = Driver(QueueConfig("600", strategy="linear", members=members("201", "202"), retry=2))
    d.join("600", "c1")
    d.at(1.0)
    assert d.feed(d.cc.agent_failed("c1", "201", 1.0)) == [
        LogEvent(1.0, "c1", "600", "201", "RING_NO_ANSWER", "1000")
    ]
    acts = d.advance()
    assert d.now == 3.0 and d.rings_of("c1", acts) == [("202",)]


def test_announcements_welcome_position_wait_periodic_and_agent_id() -> None:
    cfg = QueueConfig(
        "600",
        members=members("201"),
        welcome_prompt="welcome-600",
        music="jazz",
        announce_position=True,
        announce_wait=True,
        periodic_prompt="please-hold",
        periodic_interval=30,
        announce_agent_id=True,
        wrapup=0,
    )
    d = Driver(cfg)
    d.cc.pause("201", 0.0, "lunch")
    acts = d.join("600", "c1")
    # nobody has completed a call yet: no expected wait to announce
    assert acts == [
        LogEvent(0.0, "c1", "600", "", "ENTER", "1"),
        Announce("c1", "welcome", "welcome-600"),
        Announce("c1", "position", value=1),
        PlayMusic("c1", "jazz"),
    ]
    d.at(10.0)
    acts = d.join("600", "c2")
    assert Announce("c2", "position", value=2) in acts
    assert d.cc.next_deadline() == 30.0
    assert d.advance() == [
        Announce("c1", "periodic", "please-hold"),
        Announce("c1", "position", value=1),
    ]
    assert d.advance() == [
        Announce("c2", "periodic", "please-hold"),
        Announce("c2", "position", value=2),
    ]
    d.at(41.0)
    acts = d.do("unpause", "201")
    assert d.rings_of("c1", acts) == [("201",)]
    acts = d.answer("c1", "201")
    assert acts[-2:] == [Announce("c1", "agent_id", value="201"), Connect("c1", "201")]
    d.at(161.0)
    d.feed(d.cc.pause("201", 161.0, "break"))  # during the call: takes effect after it
    d.hangup("c1")  # handle time 120 s
    assert d.cc.queues["600"].average_handle == 120.0
    assert d.cc.agents.state("201") is AgentState.PAUSED
    # paused: nobody works the queue, so no expected wait is announced; a late poll plays the
    # periodic announcement once, not once per missed interval
    assert d.at(300.0) == [
        Announce("c2", "periodic", "please-hold"),
        Announce("c2", "position", value=1),
    ]
    assert d.cc.next_deadline() == 310.0


def test_positions_and_expected_wait_values() -> None:
    cfg = QueueConfig("600", strategy="linear", members=members("201", "202"), wrapup=20)
    d = Driver(cfg)
    q = d.cc.queues["600"]
    # first completed call: talk 100 s + wrap-up 20 s -> H = 120
    serve(d, "600", "a", "201", talk=100)
    assert q.average_handle == 120.0
    assert q.average_wait == 0.0
    # second: talk 40 s -> H = 0.75 * 120 + 0.25 * 60 = 105
    d.at(d.now + 1)
    serve(d, "600", "b", "202", talk=40)
    assert q.average_handle == 105.0
    # both agents in wrap-up now: three callers wait
    for call in ("c1", "c2", "c3"):
        d.join("600", call)
    assert [q.position(c) for c in ("c1", "c2", "c3")] == [1, 2, 3]
    assert q.waiting() == ["c1", "c2", "c3"]
    # n = 2 agents logged in and not paused: H * p / n
    assert [q.expected_wait(c) for c in ("c1", "c2", "c3")] == [52.5, 105.0, 157.5]
    d.feed(d.cc.pause("202", d.now, "meeting"))
    assert q.expected_wait("c3") == 315.0
    d.hangup("c1")
    assert [q.position(c) for c in ("c2", "c3")] == [1, 2]
    assert q.expected_wait("c2") == 105.0
    with pytest.raises(UnknownCallError):
        q.position("c1")


def test_expected_wait_falls_back_to_average_wait_then_none() -> None:
    d = Driver(QueueConfig("600", members=members("201")))
    q = d.cc.queues["600"]
    d.join("600", "a")
    d.at(12.0)
    d.answer("a", "201")
    d.join("600", "b")
    assert q.average_handle is None and q.average_wait == 12.0
    assert q.expected_wait("b") == 12.0  # no completed call yet: the average wait
    empty = Driver(QueueConfig("700"))
    empty.join("700", "x")
    assert empty.cc.queues["700"].expected_wait("x") is None


def test_overflow_at_max_wait() -> None:
    cfg = QueueConfig(
        "600", members=members("201"), timeout=15, retry=5, max_wait=40, overflow=VOICEMAIL
    )
    d = Driver(cfg)
    d.at(10.0)
    d.join("600", "c1")
    d.advance()  # 25: no answer
    d.advance()  # 30: ring again
    assert d.cc.next_deadline() == 45.0  # ring would end at 45, max wait at 50
    d.advance()  # 45: no answer again; the retry pause would end at 50
    d.advance()  # 50: max wait (40 s after joining at 10) wins over the next attempt
    assert d.now == 50.0
    assert d.rows("EXIT_TIMEOUT", "TRANSFER_OVERFLOW") == [
        (50.0, "c1", "", "EXIT_TIMEOUT", "1|1|40"),
        (50.0, "c1", "", "TRANSFER_OVERFLOW", "voicemail:600"),
    ]
    assert d.actions[-1] == Overflow("c1", VOICEMAIL, "timeout")
    assert d.cc.queues["600"].waiting() == []
    assert d.cc.agents.state("201") is AgentState.IDLE
    assert d.cc.next_deadline() is None


def test_max_wait_while_ringing_stops_the_ringing_without_no_answer() -> None:
    cfg = QueueConfig("600", members=members("201"), timeout=30, max_wait=20)
    d = Driver(cfg)
    d.join("600", "c1")
    acts = d.advance()
    assert d.now == 20.0
    assert acts[0] == StopRinging("c1", ("201",))
    assert acts[-1] == Overflow("c1", HANGUP, "timeout")
    assert d.rows("RING_NO_ANSWER") == []
    # the agent's phone answers just too late: hang its leg up
    assert d.answer("c1", "201") == [StopRinging("c1", ("201",))]


def test_overflow_at_max_length() -> None:
    cfg = QueueConfig("600", members=members("201"), max_length=2, overflow=VOICEMAIL)
    d = Driver(cfg)
    d.feed(d.cc.pause("201", 0.0))
    d.join("600", "c1")
    d.join("600", "c2")
    acts = d.join("600", "c3")
    assert acts == [
        LogEvent(0.0, "c3", "600", "", "EXIT_FULL", "3|3|0"),
        LogEvent(0.0, "c3", "600", "", "TRANSFER_OVERFLOW", "voicemail:600"),
        Overflow("c3", VOICEMAIL, "full"),
    ]
    assert d.cc.queues["600"].waiting() == ["c1", "c2"]
    d.hangup("c1")  # a place frees up
    assert Overflow not in {type(a) for a in d.join("600", "c4")}
    assert d.cc.queues["600"].waiting() == ["c2", "c4"]


def test_join_empty_false_refuses_when_nobody_is_logged_in() -> None:
    cfg = QueueConfig("600", join_empty=False, overflow=VOICEMAIL)
    d = Driver(cfg)
    assert d.join("600", "c1")[-1] == Overflow("c1", VOICEMAIL, "empty")
    assert d.rows()[0][3] == "EXIT_EMPTY"
    d.do("login", "201", ["600"])
    d.feed(d.cc.pause("201", 0.0, "lunch"))  # paused still counts as logged in
    acts = d.join("600", "c2")
    assert acts[0] == LogEvent(0.0, "c2", "600", "", "ENTER", "1")


def test_leave_when_empty_when_the_last_agent_logs_out() -> None:
    cfg = QueueConfig("600", strategy="linear", leave_when_empty=True, overflow=VOICEMAIL)
    d = Driver(cfg)
    d.do("login", "201", ["600"])
    d.join("600", "c1")  # rings 201
    d.join("600", "c2")
    d.at(5.0)
    acts = d.do("logout", "201")
    assert acts[0] == LogEvent(5.0, "", "600", "201", "LOGOUT")
    assert StopRinging("c1", ("201",)) in acts
    assert [a for a in acts if isinstance(a, Overflow)] == [
        Overflow("c1", VOICEMAIL, "empty"),
        Overflow("c2", VOICEMAIL, "empty"),
    ]
    assert d.rows("EXIT_EMPTY") == [
        (5.0, "c1", "", "EXIT_EMPTY", "1|1|5"),
        (5.0, "c2", "", "EXIT_EMPTY", "1|2|5"),  # c1 left first: c2 was at the head
    ]
    assert d.cc.agents.state("201") is AgentState.LOGGED_OUT


def test_abandon_while_waiting_and_while_ringing() -> None:
    d = Driver(QueueConfig("600", strategy="linear", members=members("201")))
    d.join("600", "c1")
    d.join("600", "c2")
    d.at(7.0)
    assert d.hangup("c2") == [LogEvent(7.0, "c2", "600", "", "ABANDON", "2|2|7")]
    d.at(9.0)
    acts = d.hangup("c1")
    assert acts == [
        StopRinging("c1", ("201",)),
        LogEvent(9.0, "c1", "600", "", "ABANDON", "1|1|9"),
    ]
    assert d.cc.agents.state("201") is AgentState.IDLE
    with pytest.raises(UnknownCallError):
        d.hangup("c1")


def test_paused_and_wrapup_agents_are_not_rung_until_they_are_back() -> None:
    cfg = QueueConfig("600", strategy="ringall", members=members("201", "202"), wrapup=30)
    d = Driver(cfg)
    d.feed(d.cc.pause("202", 0.0, "toilet"))
    assert d.rows("PAUSE") == [(0.0, "", "202", "PAUSE", "toilet")]
    serve(d, "600", "c1", "201", talk=10)  # 201 wraps up until 40
    assert d.cc.agents.state("201") is AgentState.WRAPUP
    acts = d.join("600", "c2")
    assert d.rings_of("c2", acts) == []
    d.at(20.0)
    acts = d.do("unpause", "202")
    assert d.rings_of("c2", acts) == [("202",)]
    acts = d.advance()  # 202 does not answer within 15 s
    assert d.now == 35.0
    acts = d.advance()  # 40: wrap-up ends (retry pause also ends at 40)
    assert d.now == 40.0
    assert acts[0] == LogEvent(40.0, "c1", "600", "201", "WRAPUP_END")
    assert d.rings_of("c2", acts) == [("201", "202")]


def test_an_agent_in_two_queues_is_offered_one_call_only() -> None:
    sales = QueueConfig("600", strategy="ringall", members=members("201", "202"))
    support = QueueConfig("610", strategy="ringall", members=members("202", "203"))
    d = Driver(sales, support)
    d.join("600", "s1")
    acts = d.join("610", "t1")
    assert d.rings_of("s1") == [("201", "202")]
    assert d.rings_of("t1", acts) == [("203",)]  # 202 already rings for s1
    d.at(2.0)
    d.answer("s1", "201")  # 202 stops ringing for s1: free for t1's next attempt
    assert d.cc.agents.state("202") is AgentState.IDLE
    d.advance()  # 15: 203 did not answer
    acts = d.advance()  # 20: after the retry pause, t1 rings the whole tier
    assert d.rings_of("t1", acts) == [("202", "203")]
    assert d.cc.agents.view("202").call_id == "t1"


def test_call_center_serves_the_longest_waiting_caller_first() -> None:
    sales = QueueConfig("600", members=members("202"))
    support = QueueConfig("610", members=members("202"))
    d = Driver(sales, support)
    d.feed(d.cc.pause("202", 0.0))
    d.join("610", "t1")
    d.at(1.0)
    d.join("600", "s1")
    d.at(2.0)
    acts = d.do("unpause", "202")
    assert [a for a in acts if isinstance(a, RingAgents)] == [RingAgents("t1", ("202",), 15.0)]


def test_errors_name_the_problem() -> None:
    with pytest.raises(QueueConfigError, match="unknown queue strategy 'roundrobin'"):
        QueueConfig("600", strategy="roundrobin")
    with pytest.raises(QueueConfigError, match="listed twice"):
        QueueConfig("600", members=members("201", "201"))
    with pytest.raises(QueueConfigError, match="timeout"):
        QueueConfig("600", timeout=0)
    d = Driver(QueueConfig("600", members=members("201")))
    d.join("600", "c1")
    with pytest.raises(CallStateError):
        d.join("600", "c1")
    with pytest.raises(CallStateError, match="not connected"):
        d.agent_hangup("c1")


def test_a_single_queue_works_without_the_call_center() -> None:
    from pbxd.callcenter.agents import AgentPool

    pool = AgentPool()
    q = Queue(QueueConfig("600", strategy="linear", members=members("201")), pool)
    acts = q.join("c1", 0.0)
    assert RingAgents("c1", ("201",), 15.0) in acts
    assert q.phase("c1") is CallerPhase.RINGING and q.ringing("c1") == ("201",)
    assert Connect("c1", "201") in q.agent_answer("c1", "201", 3.0)
    assert q.phase("c1") is CallerPhase.CONNECTED and q.position("c1") is None
    assert q.caller_hangup("c1", 9.0)[0].event == "COMPLETE_CALLER"
    assert "c1" not in q


# --- invariants over random scripts --------------------------------------------------------

AGENTS = ("201", "202", "203")
OPS = st.one_of(
    st.tuples(st.just("join"), st.sampled_from(("600", "610"))),
    st.tuples(st.just("hangup"), st.integers(0, 20)),
    st.tuples(st.just("answer"), st.integers(0, 20), st.sampled_from(AGENTS)),
    st.tuples(st.just("fail"), st.integers(0, 20), st.sampled_from(AGENTS)),
    st.tuples(st.just("agent_hangup"), st.integers(0, 20)),
    st.tuples(st.just("pause"), st.sampled_from(AGENTS)),
    st.tuples(st.just("unpause"), st.sampled_from(AGENTS)),
    st.tuples(st.just("login"), st.sampled_from(AGENTS), st.sampled_from(("600", "610"))),
    st.tuples(st.just("logout"), st.sampled_from(AGENTS)),
    st.tuples(st.just("wait"), st.floats(0, 30)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    strategy_a=st.sampled_from(STRATEGIES),
    strategy_b=st.sampled_from(STRATEGIES),
    wrapup=st.sampled_from((0.0, 7.0)),
    max_wait=st.sampled_from((0.0, 100.0)),
    ops=st.lists(OPS, max_size=40),
    seed=st.integers(0, 1000),
)
def test_no_agent_offered_two_calls_and_no_caller_stuck(
    strategy_a: str, strategy_b: str, wrapup: float, max_wait: float, ops: list, seed: int
) -> None:
    common = dict(timeout=10.0, retry=2.0, wrapup=wrapup, max_wait=max_wait)
    a = QueueConfig("600", strategy_a, (Member("201"), Member("202", 1)), **common)
    b = QueueConfig("610", strategy_b, (Member("202"),), leave_when_empty=True, **common)
    d = Driver(a, b, seed=seed)
    joined: list[str] = []

    def pick_call(i: int) -> str | None:
        return joined[i % len(joined)] if joined else None

    for op in ops:  # the Driver checks the invariants on every action
        kind = op[0]
        if kind == "join":
            call = f"c{len(joined)}"
            joined.append(call)
            d.join(op[1], call)
        elif kind == "wait":
            d.at(d.now + op[1])
        elif kind in ("pause", "unpause", "logout"):
            if d.cc.agents.state(op[1]) is not AgentState.LOGGED_OUT:
                d.do(kind, op[1])
        elif kind == "login":
            d.do("login", op[1], [op[2]])
        else:
            call = pick_call(op[1])
            if call is None or call not in d.cc._call_queue:
                continue
            q = d.cc.queue_of(call)
            if kind == "hangup":
                d.hangup(call)
            elif kind == "agent_hangup" and q.phase(call) is CallerPhase.CONNECTED:
                d.agent_hangup(call)
            elif kind == "answer":
                d.answer(call, op[2])
            elif kind == "fail":
                d.feed(d.cc.agent_failed(call, op[2], d.now))
    # then everybody comes back to work and answers what rings: nobody stays in a queue
    for agent in AGENTS:
        if agent in d.cc.agents and d.cc.agents.view(agent).paused:
            d.do("unpause", agent)
    for _ in range(500):
        live = [c for c in joined if c in d.cc._call_queue]
        if not live:
            break
        for call in live:
            q = d.cc.queue_of(call)
            if q.phase(call) is CallerPhase.CONNECTED:
                d.hangup(call)
            elif q.phase(call) is CallerPhase.RINGING:
                d.answer(call, q.ringing(call)[0])
        if any(c in d.cc._call_queue for c in joined) and not any(
            d.cc.queue_of(c).phase(c) is not CallerPhase.WAITING
            for c in joined
            if c in d.cc._call_queue
        ):
            if d.cc.next_deadline() is None:
                # nobody can take calls (everyone logged out of a join_empty queue): log in
                for agent in AGENTS:
                    d.do("login", agent, ["600", "610"])
            else:
                d.advance()
    assert all(c not in d.cc._call_queue for c in joined), "a caller is stuck"
    assert set(d.outcome) == set(joined)
    assert all(
        d.outcome[c] in ("ABANDON", "COMPLETE_CALLER", "COMPLETE_AGENT")
        or d.outcome[c].startswith("EXIT_")
        for c in joined
    )
