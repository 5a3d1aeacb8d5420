"""An agent's call controls (agent call controls, issue 7) without SIP: hold, mute, blind
transfer, consultation (咨询转移) with complete and cancel, three-way call.

The pure parts first (the state table of agentcontrol.py, who hears whom), then calls in the
registry on a real media engine (bridges and mixer, no sockets, no tick) with the fake legs of
test_agentcalls.py: each test mixes one frame by hand and reads who hears whom, and checks
what the call's owner was told (its history and the agents' states hang on it).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from pbxd.call.apps.agentcalls import AgentCalls, CallOwner, EmptySeat, TransferKind
from pbxd.call.apps.agentcontrol import (
    AGENT_GONE,
    ANSWERED,
    TARGET_GONE,
    Control,
    Phase,
    call_matrix,
)
from pbxd.callcenter.destinations import Destination
from pbxd.media.engine import MediaEngine
from pbxd.media.frames import FRAME_SAMPLES
from pbxd.media.ports import PortAllocator
from pbxd.media.tones import ToneGenerator
from pbxd.services.calls import (
    BadTargetError,
    BusyError,
    CallPhase,
    ConsultState,
    ControlAction,
    ControlStateError,
    Misfit,
    MonitorMode,
    NoCallError,
    UnreachableError,
)
from pbxd.sip.errors import TemporarilyUnavailable

from .test_agentcalls import FakeLeg, FakeLegManager

A = ControlAction
MUSIC = [np.full(800, 1234, dtype=np.int16)]

# -- the state table -----------------------------------------------------------------------------


def walk(*events: str) -> Control:
    state = Control()
    for event in events:
        state = state.after(event)
    return state


def test_hold_and_mute_are_flags_of_a_call_that_talks() -> None:
    assert walk(A.HOLD) == Control(Phase.TALKING, held=True)
    assert walk(A.HOLD, A.HOLD, A.RESUME) == Control()
    assert walk(A.MUTE, A.HOLD) == Control(Phase.TALKING, held=True, muted=True)
    assert walk(A.MUTE, A.UNMUTE) == Control()


def test_a_consultation_holds_the_customer_until_it_ends_one_way_or_another() -> None:
    ringing = walk(A.CONSULT)
    assert (ringing.phase, ringing.held, ringing.ringback) == (Phase.CONSULT_RINGING, True, True)
    assert ringing.api_phase is CallPhase.CONSULTING
    assert ringing.consult_state is ConsultState.RINGING
    talking = ringing.after(ANSWERED)
    assert (talking.phase, talking.held, talking.target_in_call) == (Phase.CONSULTING, True, True)
    assert talking.consult_state is ConsultState.CONNECTED and not talking.ringback
    # cancel: back to the customer; the consulted party gone by itself: still on hold
    assert talking.after(A.CANCEL) == Control()
    assert talking.after(TARGET_GONE) == Control(Phase.TALKING, held=True)
    assert ringing.after(TARGET_GONE) == Control(Phase.TALKING, held=True)
    # complete, or the agent hanging up: the consulted party takes the call, all fresh
    muted = walk(A.MUTE, A.CONSULT, ANSWERED)
    assert muted.takes_over(A.COMPLETE) and muted.after(A.COMPLETE) == Control()
    assert muted.takes_over(AGENT_GONE) and muted.after(AGENT_GONE) == Control()
    # the agent hanging up while it rings: it rings on as a blind transfer
    assert ringing.after(AGENT_GONE) == Control(Phase.TRANSFERRING, held=True)


def test_a_three_way_call_and_a_blind_transfer() -> None:
    three = walk(A.CONSULT, ANSWERED, A.CONFERENCE)
    assert (three.phase, three.held, three.api_phase) == (
        Phase.CONFERENCE, False, CallPhase.CONFERENCE,
    )  # fmt: skip
    assert three.after(TARGET_GONE) == Control()  # back to the customer and the agent
    assert three.after(A.CANCEL) == Control()
    assert three.after(A.COMPLETE) == Control() and three.takes_over(A.COMPLETE)
    assert three.after(A.MUTE).muted
    blind = walk(A.TRANSFER)
    assert (blind.phase, blind.held) == (Phase.TRANSFERRING, True)
    assert blind.takes_over(ANSWERED) and blind.after(ANSWERED) == Control()


@pytest.mark.parametrize(
    ("events", "action", "why"),
    [
        ((), A.COMPLETE, Misfit.NO_CONSULTATION),
        ((), A.CANCEL, Misfit.NO_CONSULTATION),
        ((), A.CONFERENCE, Misfit.NO_CONSULTATION),
        ((A.CONSULT,), A.COMPLETE, Misfit.NOT_ANSWERED),
        ((A.CONSULT,), A.CONFERENCE, Misfit.NOT_ANSWERED),
        ((A.CONSULT,), A.RESUME, Misfit.CONSULTING),
        ((A.CONSULT, ANSWERED), A.TRANSFER, Misfit.CONSULTING),
        ((A.CONSULT, ANSWERED), A.CONSULT, Misfit.CONSULTING),
        ((A.CONSULT, ANSWERED, A.CONFERENCE), A.HOLD, Misfit.CONFERENCE),
        ((A.CONSULT, ANSWERED, A.CONFERENCE), A.CONFERENCE, Misfit.CONFERENCE),
        ((A.TRANSFER,), A.HOLD, Misfit.TRANSFERRING),
        ((A.TRANSFER,), A.MUTE, Misfit.TRANSFERRING),
    ],
)
def test_what_does_not_fit_is_refused_with_the_reason(events, action, why) -> None:
    state = walk(*events)
    with pytest.raises(ControlStateError, match=f"{action}: illegal in phase") as refused:
        state.after(action)
    assert (refused.value.why, refused.value.action) == (why, str(action))


# -- who hears whom ------------------------------------------------------------------------------


def heard(matrix: dict, listener: str) -> set[str]:
    return {source for (source, to), gain in matrix.items() if to == listener and gain > 0}


def hearing(matrix: dict, *parties: str) -> dict[str, set[str]]:
    return {p: heard(matrix, p) for p in parties}


def test_hold_cuts_the_customer_out_and_mute_cuts_one_way() -> None:
    held = call_matrix("c", "a", {}, held=True)
    assert hearing(held, "c", "a") == {"c": set(), "a": set()}
    muted = call_matrix("c", "a", {}, muted=True)
    assert hearing(muted, "c", "a") == {"c": set(), "a": {"c"}}
    # supervisors keep their modes: a whisper reaches the muted agent, a barge the customer
    muted = call_matrix("c", "a", {"s": MonitorMode.BARGE}, muted=True)
    assert hearing(muted, "c", "a", "s") == {"c": {"s"}, "a": {"c", "s"}, "s": {"a", "c"}}
    held = call_matrix("c", "a", {"s": MonitorMode.WHISPER}, held=True)
    assert hearing(held, "c", "a", "s") == {"c": set(), "a": {"s"}, "s": {"a"}}


def test_consultation_and_three_way_call() -> None:
    consult = call_matrix("c", "a", {"s": MonitorMode.LISTEN}, target="t", held=True)
    assert hearing(consult, "c", "a", "t", "s") == {
        "c": set(), "a": {"t"}, "t": {"a"}, "s": {"a", "t"},
    }  # fmt: skip
    three = call_matrix("c", "a", {}, target="t", conference=True)
    assert hearing(three, "c", "a", "t") == {"c": {"a", "t"}, "a": {"c", "t"}, "t": {"a", "c"}}
    three = call_matrix("c", "a", {}, target="t", conference=True, muted=True)
    assert hearing(three, "c", "a", "t") == {"c": {"t"}, "a": {"c", "t"}, "t": {"a", "c"}}
    assert all(source != to for source, to in three)  # mix-minus


# -- calls on a real engine ----------------------------------------------------------------------


class FakeOwner(CallOwner):
    """Records what the call told its owner."""

    hands_on = True

    def __init__(self, calls: AgentCalls):
        self.calls = calls
        self.told: list[tuple] = []

    def music(self) -> list[np.ndarray]:
        return MUSIC

    def call_info(self) -> dict[str, str]:
        return {"call_id": "sip-call-1", "queue": "600"}

    def target_rung(self, extension, leg) -> None:
        self.told.append(("rung", extension))

    def target_engaged(self, extension) -> None:
        self.told.append(("engaged", extension))

    def target_released(self, extension) -> None:
        self.told.append(("released", extension))

    def agent_left(self, leg, kind, target, *, stays) -> None:
        self.told.append(("left", leg.number, kind, target, stays))

    def agent_joined(self, leg, extension) -> None:
        self.told.append(("joined", extension))

    def agent_gone(self) -> None:
        self.told.append(("agent gone",))
        self.calls.end("q1")

    def transfer_failed(self, target) -> None:
        self.told.append(("failed", target))
        self.calls.end("q1")

    def hand_on(self, leg, destination) -> None:
        self.told.append(("hand on", leg.number, str(destination)))
        self.calls.end("q1")


class QueueWatcher:
    """The agent leg's listener as the queue has it: his hanging up asks the call whether it
    goes on without him (only while his leg has the agent's seat)."""

    def __init__(self, scene: Call):
        self.scene = scene
        self.answers: list[bool] = []

    def on_leg_ended(self, leg, by_remote: bool) -> None:
        if self.scene.call.agent is leg:
            self.answers.append(self.scene.call.agent_leg_ended())

    def on_leg_failed(self, leg, status: int, reason: str) -> None:
        self.on_leg_ended(leg, True)


class Call:
    """A connected queue call 3001 -> agent 3101, recorded, with a fake owner."""

    KINDS = {"600": "queue", "601": "queue", "700": "ring_group"}

    def __init__(self, tmp_path: Path, transfer_ring_seconds: float = 30.0):
        self.engine = engine = MediaEngine("127.0.0.1", PortAllocator(40200, 40300))
        self.legs = FakeLegManager(engine)
        self.calls = AgentCalls(
            engine, self.legs, transfer_ring_seconds=transfer_ring_seconds,  # type: ignore[arg-type]
            number_kind=lambda number: self.KINDS.get(number, "extension" if number[:1] == "3"
                                                      else None),
        )  # fmt: skip
        self.customer = FakeLeg(engine, "3001")
        self.agent = FakeLeg(engine, "3101")
        self.agent.answered = True
        self.watcher = self.agent.listener = QueueWatcher(self)
        self.bridge = engine.bridge([self.customer.endpoint, self.agent.endpoint])
        self.recorder = engine.record(self.bridge, tmp_path / "call.wav")
        self.owner = FakeOwner(self.calls)
        self.call = self.calls.register(
            "q1", "600", self.customer, self.agent, "3101", self.bridge,  # type: ignore[arg-type]
            terminate=lambda by: None, recording=True, owner=self.owner,
        )  # fmt: skip

    def rung(self, number: str) -> FakeLeg:
        [leg] = [leg for leg in self.legs.legs if leg.number == number]
        return leg

    def control(self, action: ControlAction, target: str | None = None):
        return self.calls.control("3101", action, target)

    def names(self) -> dict:
        names = {self.customer.endpoint: "customer", self.agent.endpoint: "agent"}
        for leg in self.legs.legs:
            names[leg.endpoint] = leg.number
        return names

    def who_hears_whom(self) -> dict[str, set[str]]:
        """One mixed frame: each member says a different constant; what each one hears."""
        names = self.names()
        members = [m for m in self.bridge.members if not isinstance(m, EmptySeat)]
        values = {m: 1 << i for i, m in enumerate(members)}
        frames = {m: np.full(FRAME_SAMPLES, values[m], dtype=np.int16) for m in members}
        mixed = self.bridge.mixer.mix(frames)
        return {
            names[m]: {names[e] for e, v in values.items() if int(mixed[m][0]) & v} for m in members
        }

    def music_to_customer(self) -> bool:
        player = self.customer.endpoint.player  # type: ignore[union-attr]
        return player is not None and getattr(player, "tone", None) is None

    def ringback_to(self, leg: FakeLeg) -> bool:
        tone = getattr(leg.endpoint.player, "tone", None)  # type: ignore[union-attr]
        return isinstance(tone, ToneGenerator)

    def recorded(self) -> tuple:
        [(recorder, parties)] = self.bridge.recorders
        assert recorder is self.recorder  # the same recording all along
        names = self.names()
        return tuple(
            tuple(names[e] for e in p) if isinstance(p, tuple) else names.get(p, "seat")
            for p in parties
        )

    def close(self) -> None:
        if self.bridge.recorders:
            self.engine.stop_recording(self.bridge, self.recorder)
        self.engine.recording_writer.close()


@pytest.fixture
async def call(tmp_path: Path):
    scene = Call(tmp_path)
    yield scene
    scene.close()


async def test_hold_plays_music_to_the_customer_and_silence_to_the_agent(call: Call) -> None:
    view = await call.control(A.HOLD)
    assert (view.held, view.muted, view.phase) == (True, False, CallPhase.TALKING)
    assert call.who_hears_whom() == {"customer": set(), "agent": set()}
    assert call.music_to_customer()
    assert call.recorded() == ("customer", "agent")  # the recording runs on
    view = await call.control(A.RESUME)
    assert not view.held and not call.music_to_customer()
    assert call.who_hears_whom() == {"customer": {"agent"}, "agent": {"customer"}}


async def test_mute_the_customer_no_longer_hears_the_agent(call: Call) -> None:
    await call.calls.monitor("3101", "3201", MonitorMode.WHISPER)
    call.rung("3201").phone_answers()
    view = await call.control(A.MUTE)
    assert view.muted and not call.music_to_customer()
    assert call.who_hears_whom() == {
        "customer": set(),
        "agent": {"customer", "3201"},  # the whisper still reaches him
        "3201": {"customer", "agent"},
    }
    view = await call.control(A.UNMUTE)
    assert call.who_hears_whom()["customer"] == {"agent"}


async def test_consult_then_complete_hands_the_customer_to_the_consulted_agent(
    call: Call,
) -> None:
    view = await call.control(A.CONSULT, "3102")
    assert view.phase is CallPhase.CONSULTING and view.held
    assert (view.consultation.target, view.consultation.state) == ("3102", ConsultState.RINGING)
    # 3102 is rung from the agent's number, told what call it is about
    assert call.legs.rung[-1][:2] == ("3102", "3101")
    assert call.legs.call_info[-1] == {"call_id": "sip-call-1", "queue": "600", "kind": "consult"}
    assert call.music_to_customer() and call.ringback_to(call.agent)
    consulted = call.rung("3102")
    consulted.phone_answers()
    assert call.who_hears_whom() == {"customer": set(), "agent": {"3102"}, "3102": {"agent"}}
    assert not call.ringback_to(call.agent) and call.music_to_customer()
    assert call.recorded() == ("customer", ("agent", "3102"))
    assert call.calls.call_of("3101").consultation.state is ConsultState.CONNECTED
    assert await call.control(A.COMPLETE) is None  # he is off the call
    assert call.agent.ended and call.agent.hangups == 1  # pbxd hung him up
    assert call.who_hears_whom() == {"customer": {"3102"}, "3102": {"customer"}}
    assert not call.music_to_customer()
    assert call.recorded() == ("customer", "3102")
    [live] = call.calls.live_calls()
    assert (live.agent, live.held, live.phase, live.consultation) == (
        "3102", False, CallPhase.TALKING, None,
    )  # fmt: skip
    assert call.owner.told == [
        ("rung", "3102"),
        ("engaged", "3102"),
        ("left", "3101", TransferKind.ATTENDED, "extension:3102", True),
        ("joined", "3102"),
    ]
    # 3102 is the call's agent: he may put it on hold; his hanging up ends the call
    await call.calls.control("3102", A.HOLD)
    consulted.phone_hangs_up()
    await asyncio.sleep(0)  # told on the next turn of the loop, as the queue's own legs
    assert call.owner.told[-1] == ("agent gone",) and call.call.ended


async def test_cancel_while_it_rings_or_after_it_answered(call: Call) -> None:
    await call.control(A.CONSULT, "3102")
    view = await call.control(A.CANCEL)
    assert (view.phase, view.held, view.consultation) == (CallPhase.TALKING, False, None)
    assert call.rung("3102").ended and not call.ringback_to(call.agent)
    assert call.who_hears_whom() == {"customer": {"agent"}, "agent": {"customer"}}
    await call.control(A.CONSULT, "3103")
    call.rung("3103").phone_answers()
    await call.control(A.CANCEL)
    assert call.rung("3103").ended and not call.agent.ended
    assert call.who_hears_whom() == {"customer": {"agent"}, "agent": {"customer"}}
    assert ("released", "3103") in call.owner.told
    assert not any(told[0] == "left" for told in call.owner.told)


async def test_the_consulted_party_refusing_leaves_the_customer_on_hold(call: Call) -> None:
    await call.control(A.CONSULT, "3102")
    consulted = call.rung("3102")
    consulted.ended = True
    consulted.listener.on_leg_failed(consulted, 486, "Busy Here")
    view = call.calls.call_of("3101")
    assert (view.phase, view.held, view.consultation) == (CallPhase.TALKING, True, None)
    assert call.music_to_customer() and not call.ringback_to(call.agent)
    await call.control(A.RESUME)
    assert call.who_hears_whom() == {"customer": {"agent"}, "agent": {"customer"}}


async def test_a_consultation_nobody_answers_stops_ringing(tmp_path: Path) -> None:
    scene = Call(tmp_path, transfer_ring_seconds=0.05)
    try:
        await scene.control(A.CONSULT, "3102")
        await asyncio.sleep(0.1)
        assert scene.rung("3102").ended
        view = scene.calls.call_of("3101")
        assert (view.phase, view.held) == (CallPhase.TALKING, True)
    finally:
        scene.close()


async def test_three_way_call_then_the_agent_leaves(call: Call) -> None:
    await call.control(A.CONSULT, "3102")
    call.rung("3102").phone_answers()
    view = await call.control(A.CONFERENCE)
    assert (view.phase, view.held) == (CallPhase.CONFERENCE, False)
    assert call.who_hears_whom() == {
        "customer": {"agent", "3102"}, "agent": {"customer", "3102"}, "3102": {"customer", "agent"},
    }  # fmt: skip
    assert not call.music_to_customer()
    # The agent hangs up: the queue asks the call, which goes on with 3102.
    call.agent.phone_hangs_up()
    assert call.watcher.answers == [True]  # the call goes on without him
    assert call.who_hears_whom() == {"customer": {"3102"}, "3102": {"customer"}}
    assert call.calls.call_of("3101") is None and call.calls.call_of("3102") is not None
    assert ("left", "3101", TransferKind.ATTENDED, "extension:3102", True) in call.owner.told


async def test_three_way_call_the_third_party_leaves(call: Call) -> None:
    await call.control(A.CONSULT, "3102")
    call.rung("3102").phone_answers()
    await call.control(A.CONFERENCE)
    call.rung("3102").phone_hangs_up()
    view = call.calls.call_of("3101")
    assert (view.phase, view.held) == (CallPhase.TALKING, False)
    assert call.who_hears_whom() == {"customer": {"agent"}, "agent": {"customer"}}
    assert call.owner.told[-1] == ("released", "3102")


async def test_blind_transfer_answered(call: Call) -> None:
    await call.calls.monitor("3101", "3201", MonitorMode.LISTEN)
    supervisor = call.rung("3201")
    supervisor.phone_answers()
    assert await call.control(A.TRANSFER, "3102") is None
    assert call.agent.ended  # at once
    assert supervisor.ended  # the agent he monitored left
    # the target rings with the customer's number; the customer hears music
    assert call.legs.rung[-1][:2] == ("3102", "3001")
    assert call.legs.call_info[-1] == {"call_id": "sip-call-1", "queue": "600"}
    assert call.music_to_customer()
    assert call.calls.live_calls() == [] and call.calls.call_of("3101") is None
    assert call.recorded() == ("customer", "seat") and call.bridge in call.engine.bridges
    call.rung("3102").phone_answers()
    assert call.who_hears_whom() == {"customer": {"3102"}, "3102": {"customer"}}
    assert not call.music_to_customer()
    assert call.recorded() == ("customer", "3102")
    assert call.calls.call_of("3102").agent == "3102"
    assert call.owner.told == [
        ("rung", "3102"),
        ("left", "3101", TransferKind.BLIND, "extension:3102", True),
        ("joined", "3102"),
    ]


async def test_blind_transfer_nobody_takes_goes_back_to_the_owner(tmp_path: Path) -> None:
    scene = Call(tmp_path, transfer_ring_seconds=0.05)
    try:
        await scene.control(A.TRANSFER, "3102")
        await asyncio.sleep(0.1)
        assert scene.rung("3102").ended
        assert scene.owner.told[-1] == ("failed", "extension:3102")
        assert scene.call.ended
    finally:
        scene.close()


async def test_blind_transfer_to_a_queue_hands_the_caller_on(call: Call) -> None:
    assert await call.control(A.TRANSFER, "601") is None
    assert call.owner.told == [("hand on", "3101", "queue:601")]
    assert call.agent.ended and call.call.ended and call.legs.rung == []


async def test_the_agent_hanging_up_while_the_consultation_rings_makes_it_blind(
    call: Call,
) -> None:
    await call.control(A.CONSULT, "3102")
    call.agent.phone_hangs_up()
    assert call.watcher.answers == [True]
    assert call.bridge in call.engine.bridges  # the empty seat holds it: recording goes on
    assert call.music_to_customer()
    call.rung("3102").phone_answers()
    assert call.who_hears_whom() == {"customer": {"3102"}, "3102": {"customer"}}
    assert call.owner.told == [
        ("rung", "3102"),
        ("left", "3101", TransferKind.BLIND, "extension:3102", True),
        ("joined", "3102"),
    ]


async def test_the_call_ending_during_a_consultation_hangs_up_the_consulted_party(
    call: Call,
) -> None:
    await call.control(A.CONSULT, "3102")
    call.rung("3102").phone_answers()
    call.calls.end("q1")
    assert call.rung("3102").ended
    assert call.owner.told[-1] == ("released", "3102")
    assert call.call.agent_leg_ended() is False  # the owner ends the call its own way


async def test_refusals(call: Call) -> None:
    with pytest.raises(NoCallError):
        await call.calls.control("3109", A.HOLD)
    with pytest.raises(ControlStateError) as refused:
        await call.control(A.COMPLETE)
    assert refused.value.why is Misfit.NO_CONSULTATION
    for target, kind, own in (("3101", "", True), ("3001", "", True), ("700", "ring_group", False),
                              ("999", "", False)):  # fmt: skip
        with pytest.raises(BadTargetError) as refused:
            await call.control(A.TRANSFER, target)
        assert (refused.value.kind, refused.value.own) == (kind, own), target
    with pytest.raises(BadTargetError) as refused:
        await call.control(A.CONSULT, "600")  # one consults an extension, not a queue
    assert refused.value.kind == "queue"
    other = FakeLeg(call.engine, "3002")
    busy = FakeLeg(call.engine, "3105")
    call.calls.register("q2", "600", other, busy, "3105",  # type: ignore[arg-type]
                        call.engine.bridge([other.endpoint, busy.endpoint]),
                        terminate=lambda by: None)  # fmt: skip
    with pytest.raises(BusyError):
        await call.control(A.CONSULT, "3105")
    call.legs.refuse = TemporarilyUnavailable("3102 is not registered")
    for action in (A.CONSULT, A.TRANSFER):
        with pytest.raises(UnreachableError) as refused:
            await call.control(action, "3102")
        assert not refused.value.registered
        # nothing changed: the call talks as before
        view = call.calls.call_of("3101")
        assert (view.phase, view.held, view.consultation) == (CallPhase.TALKING, False, None)
        assert not call.agent.ended and not call.music_to_customer()
    assert call.who_hears_whom() == {"customer": {"agent"}, "agent": {"customer"}}
    assert call.owner.told == []


async def test_an_owner_that_cannot_hand_on_refuses_a_transfer_to_a_queue(call: Call) -> None:
    call.owner.hands_on = False
    with pytest.raises(BadTargetError):
        await call.control(A.TRANSFER, "601")
    assert not call.agent.ended


def test_transfer_destinations_name_their_kind() -> None:
    assert str(Destination("queue", "601")) == "queue:601"
