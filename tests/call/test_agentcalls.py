"""Live agent calls and supervisor monitoring (pbxd/call/apps/agentcalls.py) without SIP.

The media engine is real (bridges, mixer, recorder; no sockets, no tick): each test mixes one
frame by hand and reads who hears whom. Legs are small fakes with what the registry uses of a
leg (endpoint, number, codec, hang-up), and the leg manager a fake that records whom it rang;
a test answers, presses keys and hangs up through the leg's listener, as a phone would.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from pbxd.call.apps.agentcalls import (
    FEATURE_CODES,
    MODE_KEYS,
    AgentCalls,
    monitor_matrix,
    parse_monitor_code,
)
from pbxd.call.dialplan import (
    FEATURE_ANY_MAILBOX,
    FEATURE_LOGIN,
    FEATURE_MAILBOX,
    FEATURE_PAUSE,
    FEATURE_UNPAUSE,
)
from pbxd.call.history import forced_complete
from pbxd.media.engine import Endpoint, MediaEngine
from pbxd.media.frames import FRAME_SAMPLES
from pbxd.media.ports import MediaOverloaded, PortAllocator
from pbxd.services.calls import (
    BusyError,
    MonitorMode,
    MonitorState,
    NoCallError,
    OwnCallError,
    UnreachableError,
)
from pbxd.services.history import QueueEventEntry
from pbxd.services.scope import Scope
from pbxd.sip.errors import TemporarilyUnavailable

LISTEN, WHISPER, BARGE = MonitorMode.LISTEN, MonitorMode.WHISPER, MonitorMode.BARGE

# -- the pure parts ------------------------------------------------------------------------------


def heard(matrix: dict, listener: str) -> set[str]:
    return {source for (source, to), gain in matrix.items() if to == listener and gain > 0}


def test_each_mode_decides_who_hears_the_supervisor() -> None:
    listen = monitor_matrix("c", "a", {"s": LISTEN})
    assert (heard(listen, "c"), heard(listen, "a"), heard(listen, "s")) == (
        {"a"}, {"c"}, {"a", "c"},
    )  # fmt: skip
    whisper = monitor_matrix("c", "a", {"s": WHISPER})
    assert (heard(whisper, "c"), heard(whisper, "a")) == ({"a"}, {"c", "s"})
    barge = monitor_matrix("c", "a", {"s": BARGE})
    assert (heard(barge, "c"), heard(barge, "a"), heard(barge, "s")) == (
        {"a", "s"}, {"c", "s"}, {"a", "c"},
    )  # fmt: skip


def test_two_supervisors_hear_the_one_who_speaks_into_the_call() -> None:
    matrix = monitor_matrix("c", "a", {"s1": LISTEN, "s2": WHISPER})
    assert heard(matrix, "s1") == {"a", "c", "s2"}  # s2 is heard by the agent: s1 hears it too
    assert heard(matrix, "s2") == {"a", "c"}  # s1 only listens: nobody hears him
    assert heard(matrix, "c") == {"a"}
    assert all(source != to for source, to in matrix)  # mix-minus


def test_monitoring_feature_codes() -> None:
    assert parse_monitor_code("*903101") == (LISTEN, "3101")
    assert parse_monitor_code("*9112") == (WHISPER, "12")
    assert parse_monitor_code("*92600123") == (BARGE, "600123")
    for number in ("*90", "*901", "*9012345678", "*90*31", "*93101", "*45", "*983101", "903101"):
        assert parse_monitor_code(number) is None, number


def test_monitoring_codes_clash_with_no_other_feature_code() -> None:
    others = (FEATURE_LOGIN, FEATURE_PAUSE, FEATURE_UNPAUSE, FEATURE_MAILBOX, FEATURE_ANY_MAILBOX)
    for code in FEATURE_CODES:
        for other in others:
            assert not code.startswith(other) and not other.startswith(code), (code, other)


def test_the_keys_of_a_monitoring_supervisor() -> None:
    assert dict(MODE_KEYS) == {"4": LISTEN, "5": WHISPER, "6": BARGE}


def test_a_forced_hangup_is_written_on_the_complete_row_only() -> None:
    now = datetime.now(UTC)
    complete = QueueEventEntry(now, "COMPLETE_AGENT", "c1", "600", "3101", {"data": "3|20|1"})
    connect = QueueEventEntry(now, "CONNECT", "c1", "600", "3101", {"data": "3|1"})
    assert forced_complete(complete, "leader").data == {
        "data": "3|20|1", "hangup_side": "system", "by": "leader",
    }  # fmt: skip
    assert forced_complete(connect, "leader") is connect


def test_which_live_calls_a_scope_sees() -> None:
    team = Scope.team(["600"], ["3101"], "3201")
    assert team.sees_live_call("600", "3999")  # a call of his queue, whoever took it
    assert not team.sees_live_call("601", "3101")  # another queue's call, even his agent's
    assert team.sees_live_call(None, "3101") and not team.sees_live_call(None, "3102")
    assert Scope.everything().sees_live_call("601", "3999")
    assert Scope.own("3101").sees_live_call("600", "3101")
    assert not Scope.own("3101").sees_live_call("600", "3102")


# -- the registry on a real engine ---------------------------------------------------------------


class FakeLeg:
    """What the registry uses of a call leg."""

    def __init__(self, engine: MediaEngine, number: str, codec: str = "PCMU"):
        self.number = number
        port = engine.allocator.allocate()  # no socket: the tests mix by hand
        self.endpoint: Endpoint | None = Endpoint(
            engine, engine.next_endpoint_id(), "127.0.0.1", port
        )
        self.codec = codec
        self.listener = None
        self.ended = False
        self.answered = False
        self.hangups = 0

    def hang_up(self) -> None:
        self.hangups += 1
        if self.ended:
            return
        self.ended = True
        assert self.endpoint is not None
        self.endpoint.engine.destroy(self.endpoint)
        if self.listener is not None:
            if self.answered:
                self.listener.on_leg_ended(self, False)
            else:
                self.listener.on_leg_failed(self, 487, "")

    # an InboundLeg's (a supervisor dialing a feature code)
    async def prepare(self, listener) -> None:
        self.listener = listener

    def answer(self) -> None:
        self.answered = True

    # what the supervisor's phone does
    def phone_answers(self) -> None:
        self.answered = True
        self.listener.on_leg_answered(self)

    def phone_hangs_up(self) -> None:
        self.ended = True
        self.endpoint.engine.destroy(self.endpoint)
        self.listener.on_leg_ended(self, True)

    def phone_presses(self, key: str) -> None:
        self.listener.on_leg_digit(self, key)


class FakeLegManager:
    def __init__(self, engine: MediaEngine):
        self.engine = engine
        self.rung: list[tuple[str, str, str | None, list[str]]] = []
        self.call_info: list[dict[str, str]] = []
        self.legs: list[FakeLeg] = []
        self.refuse: Exception | None = None
        self.before_return = lambda: None

    async def outbound(
        self, extension, listener, *, caller, display=None, preferred_codecs=(), call_info=None
    ):
        if self.refuse is not None:
            raise self.refuse
        self.rung.append((extension, caller, display, list(preferred_codecs)))
        self.call_info.append(dict(call_info or {}))
        leg = FakeLeg(self.engine, extension)
        leg.listener = listener
        self.legs.append(leg)
        self.before_return()
        return leg


class Scene:
    """A connected queue call 3001 -> agent 3101, recorded, in the registry."""

    def __init__(self, tmp_path: Path, ring_seconds: float = 30.0):
        self.engine = MediaEngine("127.0.0.1", PortAllocator(40000, 40100))
        self.legs = FakeLegManager(self.engine)
        self.calls = AgentCalls(self.engine, self.legs, ring_seconds=ring_seconds)  # type: ignore[arg-type]
        self.customer = FakeLeg(self.engine, "3001")
        self.agent = FakeLeg(self.engine, "3101")
        c, a = self.customer.endpoint, self.agent.endpoint
        assert c is not None and a is not None
        self.bridge = self.engine.bridge([c, a])
        self.recorder = self.engine.record(self.bridge, tmp_path / "call.wav")
        self.terminated: list[str] = []
        self.call = self.calls.register(
            "q1", "600", self.customer, self.agent, "3101", self.bridge,  # type: ignore[arg-type]
            terminate=self.terminated.append, recording=True,
        )  # fmt: skip

    def who_hears_whom(self) -> dict[str, set[str]]:
        """One mixed frame: each party says a different constant; what each one hears."""
        names = {self.customer.endpoint: "customer", self.agent.endpoint: "agent"}
        for leg in self.legs.legs:
            names[leg.endpoint] = f"supervisor {leg.number}"
        values = {endpoint: 1 << i for i, endpoint in enumerate(names)}
        frames = {
            member: np.full(FRAME_SAMPLES, values[member], dtype=np.int16)
            for member in self.bridge.members
        }
        mixed = self.bridge.mixer.mix(frames)
        return {
            names[member]: {names[e] for e, v in values.items() if int(out[0]) & v}
            for member, out in mixed.items()
        }

    def close(self) -> None:
        self.engine.stop_recording(self.bridge, self.recorder)
        self.engine.recording_writer.close()


@pytest.fixture
async def scene(tmp_path: Path):
    scene = Scene(tmp_path)
    yield scene
    scene.close()


async def test_a_supervisor_rung_to_listen_joins_when_he_answers(scene: Scene) -> None:
    view = await scene.calls.monitor("3101", "3201", LISTEN)
    assert (view.state, view.mode, view.agent, view.supervisor) == (
        MonitorState.RINGING, LISTEN, "3101", "3201",
    )  # fmt: skip
    # His own extension rings, showing the agent's number; offered the agent's codec first.
    assert scene.legs.rung == [("3201", "3101", "Monitor 3101", ["PCMU"])]
    assert len(scene.bridge.members) == 2  # nobody joins before he answers
    [supervisor] = scene.legs.legs
    supervisor.phone_answers()
    assert scene.who_hears_whom() == {
        "customer": {"agent"},
        "agent": {"customer"},
        "supervisor 3201": {"customer", "agent"},
    }
    [call] = scene.calls.live_calls()
    assert [(m.supervisor, m.state) for m in call.monitors] == [("3201", MonitorState.CONNECTED)]
    # The recording hangs on the same bridge and goes on recording customer and agent.
    assert [r for r, _ in scene.bridge.recorders] == [scene.recorder]
    assert scene.bridge in scene.engine.bridges


async def test_asking_again_or_pressing_keys_switches_the_mode_without_a_new_call(
    scene: Scene,
) -> None:
    await scene.calls.monitor("3101", "3201", LISTEN)
    [supervisor] = scene.legs.legs
    supervisor.phone_answers()
    view = await scene.calls.monitor("3101", "3201", WHISPER)
    assert (view.mode, view.state, len(scene.legs.rung)) == (WHISPER, MonitorState.CONNECTED, 1)
    assert scene.who_hears_whom()["agent"] == {"customer", "supervisor 3201"}
    assert scene.who_hears_whom()["customer"] == {"agent"}
    supervisor.phone_presses("6")
    assert scene.who_hears_whom()["customer"] == {"agent", "supervisor 3201"}
    supervisor.phone_presses("4")
    assert scene.who_hears_whom()["agent"] == {"customer"}
    supervisor.phone_presses("1")  # any other key changes nothing
    assert scene.call.monitors["3201"].mode is LISTEN
    assert [r for r, _ in scene.bridge.recorders] == [scene.recorder]


async def test_the_supervisor_hanging_up_leaves_the_call_as_it_was(scene: Scene) -> None:
    await scene.calls.monitor("3101", "3201", BARGE)
    [supervisor] = scene.legs.legs
    supervisor.phone_answers()
    supervisor.phone_hangs_up()
    assert scene.who_hears_whom() == {"customer": {"agent"}, "agent": {"customer"}}
    assert scene.call.monitors == {} and not scene.call.ended
    assert [r for r, _ in scene.bridge.recorders] == [scene.recorder]


async def test_the_call_ending_hangs_the_supervisors_up(scene: Scene) -> None:
    await scene.calls.monitor("3101", "3201", LISTEN)
    await scene.calls.monitor("3101", "3202", LISTEN)
    first, second = scene.legs.legs
    first.phone_answers()  # the second one still rings
    scene.calls.end("q1")
    assert first.ended and second.ended
    assert scene.calls.live_calls() == [] and scene.calls.call_of("3101") is None


async def test_hang_up_goes_through_the_calls_owner(scene: Scene) -> None:
    scene.calls.hang_up("3101", "leader")
    assert scene.terminated == ["leader"]
    with pytest.raises(NoCallError):
        scene.calls.hang_up("3102", "leader")


async def test_refusals(scene: Scene) -> None:
    with pytest.raises(NoCallError):
        await scene.calls.monitor("3102", "3201", LISTEN)
    with pytest.raises(OwnCallError):
        await scene.calls.monitor("3101", "3101", LISTEN)
    with pytest.raises(OwnCallError):  # the customer is an extension of ours
        await scene.calls.monitor("3101", "3001", LISTEN)
    other = FakeLeg(scene.engine, "3002")
    supervisor_as_agent = FakeLeg(scene.engine, "3201")
    other_bridge = scene.engine.bridge([other.endpoint, supervisor_as_agent.endpoint])
    scene.calls.register("q2", "600", other, supervisor_as_agent, "3201", other_bridge,  # type: ignore[arg-type]
                         terminate=lambda by: None)  # fmt: skip
    with pytest.raises(BusyError):  # he is on a customer call himself
        await scene.calls.monitor("3101", "3201", LISTEN)
    scene.legs.refuse = TemporarilyUnavailable("3202 is not registered")
    with pytest.raises(UnreachableError) as refused:
        await scene.calls.monitor("3101", "3202", LISTEN)
    assert not refused.value.registered
    scene.legs.refuse = MediaOverloaded("media overloaded")
    with pytest.raises(UnreachableError) as refused:
        await scene.calls.monitor("3101", "3202", LISTEN)
    assert refused.value.registered
    assert scene.call.monitors == {}  # nothing left behind by the failed attempts


async def test_a_supervisor_who_does_not_answer_stops_ringing(tmp_path: Path) -> None:
    scene = Scene(tmp_path, ring_seconds=0.05)
    try:
        await scene.calls.monitor("3101", "3201", LISTEN)
        [supervisor] = scene.legs.legs
        await asyncio.sleep(0.1)
        assert supervisor.ended and scene.call.monitors == {}
    finally:
        scene.close()


async def test_the_call_ending_while_the_supervisor_is_dialed(scene: Scene) -> None:
    scene.legs.before_return = lambda: scene.calls.end("q1")
    await scene.calls.monitor("3101", "3201", LISTEN)
    [supervisor] = scene.legs.legs
    assert supervisor.ended


async def test_moving_to_another_agents_call_hangs_up_the_first(scene: Scene) -> None:
    await scene.calls.monitor("3101", "3201", LISTEN)
    [first] = scene.legs.legs
    first.phone_answers()
    customer, agent = FakeLeg(scene.engine, "3002"), FakeLeg(scene.engine, "3102")
    bridge = scene.engine.bridge([customer.endpoint, agent.endpoint])
    scene.calls.register("q2", "600", customer, agent, "3102", bridge,  # type: ignore[arg-type]
                         terminate=lambda by: None)  # fmt: skip
    await scene.calls.monitor("3102", "3201", WHISPER)
    assert first.ended and scene.call.monitors == {}
    assert len(scene.legs.legs) == 2
    assert scene.calls.of_agent("3102").monitors["3201"].mode is WHISPER  # type: ignore[union-attr]


async def test_a_desk_phone_dialing_a_feature_code_joins_with_its_own_leg(scene: Scene) -> None:
    phone = FakeLeg(scene.engine, "3201")
    scene.legs.legs.append(phone)  # named in who_hears_whom
    task = asyncio.get_running_loop().create_task(
        scene.calls.monitor_with(phone, "3101", WHISPER)  # type: ignore[arg-type]
    )
    await asyncio.sleep(0)
    assert phone.answered and scene.legs.rung == []  # answered, nobody rung
    assert scene.who_hears_whom()["agent"] == {"customer", "supervisor 3201"}
    phone.phone_presses("4")
    assert scene.who_hears_whom()["agent"] == {"customer"}
    scene.calls.end("q1")  # the call ends: he is hung up, the feature call is over
    await asyncio.wait_for(task, 1)
    assert phone.ended
