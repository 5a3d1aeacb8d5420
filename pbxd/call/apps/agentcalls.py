"""Live customer <-> agent calls, and supervisors monitoring them (监听, 密语, 强插, 强拆).

The application that connects a customer to an agent (a queue, QueueRuntime._connect)
registers the call here with its bridge, and ends it here when the call ends. While it lasts a
supervisor may join it:

- `monitor(agent, supervisor, mode)` rings the supervisor's own extension (desk phone and
  browser softphone; the caller ID is the agent's number); once he answers, his endpoint joins
  the call's bridge in `mode` (listen, whisper, barge). Asking again while he is on the call
  (or still being rung) switches the mode: no new call.
- `monitor_with(leg, agent, mode)`: a supervisor's phone dialed a feature code (*90<agent>
  ...); his own leg joins the bridge.
- On a monitoring leg the supervisor's keys 4, 5, 6 switch to listen, whisper, barge.
- The supervisor hanging up leaves the call as it was; the call ending hangs him up.
- `hang_up(agent, by)` (强拆) ends the call through the application that owns it (both legs;
  its history says the system hung up).

The agent's call controls (issue 7; `control(agent, action, target)`, the API's
/agents/{extension}/call/...), their states in agentcontrol.py:

- hold / resume: the customer hears the queue's music on hold, the agent silence; mute /
  unmute: the customer does not hear the agent (the agent still hears him).
- transfer (blind) to an extension: the agent's leg is hung up as soon as the extension
  rings; the customer hears music; when it answers it is the call's agent (monitored,
  transferred again like any); when it refuses or does not answer within the ring time (the
  owner's: a queue's `timeout`) the owner takes the caller back (a queue: at the head of the
  queue, rung to the next free agent). To a queue: the owner hands the caller on to it
  (`CallOwner.hand_on`).
- consult (咨询转移) an extension: the customer on hold, the agent hears ringback, then talks
  with it; complete: it takes the customer, the agent is hung up (so is it when he hangs up);
  cancel: it is hung up, customer and agent talk again; conference (三方通话): all three hear
  each other. The consulted party hanging up or not answering leaves the agent with the
  customer on hold (he resumes); the agent hanging up while it still rings leaves it ringing
  as a blind transfer.

Each change of parties is told to the call's `CallOwner` (history, agent states, the
caller's way on). `AgentCall.remix` is the one place that (re)builds the bridge's members and
its talk/listen matrix from the call's current parties and state; whatever changes who hears
whom (a monitor joining or leaving, a mode, hold, mute, a consultation, a transfer) changes
the call's state and calls it. The bridge is changed in place (`MediaEngine.rebridge`), so
that the call's recording runs on, its right channel following whoever has the agent's seat.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from enum import StrEnum

import numpy as np

from pbxd.callcenter.destinations import Destination
from pbxd.media.engine import Bridge, Endpoint, MediaEngine
from pbxd.media.mixer import Matrix, Pid
from pbxd.media.tones import CHINA
from pbxd.services.calls import (
    BadTargetError,
    BusyError,
    ConsultView,
    ControlAction,
    LiveCall,
    MonitorMode,
    MonitorState,
    MonitorView,
    NoCallError,
    OwnCallError,
    UnreachableError,
)
from pbxd.sip.errors import SipError, TemporarilyUnavailable

from ..legs import InboundLeg, Leg, LegManager
from .agentcontrol import AGENT_GONE, ANSWERED, TARGET_GONE, Control, Phase, call_matrix

log = logging.getLogger(__name__)

# Keys a monitoring supervisor presses to change mode (the usual ones of PBXs).
MODE_KEYS: Mapping[str, MonitorMode] = {
    "4": MonitorMode.LISTEN,
    "5": MonitorMode.WHISPER,
    "6": MonitorMode.BARGE,
}
# Feature codes of a desk phone: the code, then the agent's extension (*903101).
FEATURE_CODES: Mapping[str, MonitorMode] = {
    "*90": MonitorMode.LISTEN,
    "*91": MonitorMode.WHISPER,
    "*92": MonitorMode.BARGE,
}
MONITOR_RING_SECONDS = 30.0  # a supervisor who does not answer by then is not rung any more
MONITOR_DISPLAY = "Monitor {agent}"  # the display name with which his phone rings
# How long a consulted or transferred-to extension rings before it counts as not answering.
TRANSFER_RING_SECONDS = 30.0


def parse_monitor_code(number: str) -> tuple[MonitorMode, str] | None:
    """(mode, agent extension) of a monitoring feature code ("*903101"); None otherwise."""
    mode = FEATURE_CODES.get(number[:3])
    agent = number[3:]
    if mode is None or not agent.isdigit() or not 2 <= len(agent) <= 6:
        return None
    return mode, agent


def monitor_matrix(customer: Pid, agent: Pid, monitors: Mapping[Pid, MonitorMode]) -> Matrix:
    """Who hears whom in a call with monitoring supervisors (pure).

    Customer and agent hear each other; each supervisor as the mixer's preset of his mode
    says (listen: he hears both; whisper: the agent hears him too; barge: all hear him). A
    supervisor also hears the other supervisors who speak into the call (whisper, barge): what
    the call hears, he hears. `call_matrix` (agentcontrol.py) with hold, mute, consultation."""
    return call_matrix(customer, agent, monitors)


def _live(endpoint: Endpoint | None) -> bool:
    return endpoint is not None and not endpoint.closed


class Monitor:
    """One supervisor on one agent call: his leg's listener (LegListener)."""

    def __init__(self, call: AgentCall, supervisor: str, mode: MonitorMode):
        self.call = call
        self.supervisor = supervisor
        self.mode = mode
        self.leg: Leg | None = None  # None while his extension is being dialed
        self.connected = False
        self.over = False  # hung up, refused, or ended with the call
        self.since = datetime.now(UTC)
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._ring_timer: asyncio.TimerHandle | None = None

    @property
    def endpoint(self) -> Endpoint | None:
        return self.leg.endpoint if self.leg is not None and self.connected else None

    def view(self) -> MonitorView:
        state = MonitorState.CONNECTED if self.connected else MonitorState.RINGING
        return MonitorView(self.call.agent_extension, self.supervisor, self.mode, state, self.since)

    def ring_for(self, seconds: float) -> None:
        self._ring_timer = asyncio.get_running_loop().call_later(seconds, self._not_answered)

    def _not_answered(self) -> None:
        if not self.connected and not self.over:
            log.info("monitor: %s did not answer", self.supervisor)
            self.hang_up()

    def hang_up(self) -> None:
        """Hang up (or stop ringing) the supervisor; the call goes on."""
        leg = self.leg
        self._over()
        if leg is not None and not leg.ended:
            leg.hang_up()

    def _over(self) -> None:
        if self._ring_timer is not None:
            self._ring_timer.cancel()
            self._ring_timer = None
        if self.over:
            return
        self.over = True
        self.connected = False
        if not self.done.done():
            self.done.set_result(None)
        self.call._monitor_gone(self)

    # -- LegListener -----------------------------------------------------------------------------

    def on_leg_ringing(self, leg: Leg) -> None:
        pass

    def on_leg_answered(self, leg: Leg) -> None:
        self.leg = leg
        if self._ring_timer is not None:
            self._ring_timer.cancel()
            self._ring_timer = None
        if self.over or self.call.ended or not _live(leg.endpoint):
            self.hang_up()
            return
        self.connected = True
        log.info("monitor: %s joins the call of %s (%s)", self.supervisor,
                 self.call.agent_extension, self.mode)  # fmt: skip
        self.call.remix()

    def on_leg_failed(self, leg: Leg, status: int, reason: str) -> None:
        log.info("monitor: %s not reached (%s)", self.supervisor, status)
        self._over()

    def on_leg_ended(self, leg: Leg, by_remote: bool) -> None:
        self._over()

    def on_leg_digit(self, leg: Leg, digit: str) -> None:
        mode = MODE_KEYS.get(digit)
        if mode is not None and self.connected:
            self.call.set_mode(self, mode)


class CallOwner:
    """What the application that owns an agent call does when call controls change its
    parties (QueueRuntime for a queue call: history, agent states, the caller's way on).
    These defaults keep no books and hand nobody on: a call that is only monitored."""

    def music(self) -> list[np.ndarray]:
        """What the customer hears on hold."""
        return []

    def call_info(self) -> Mapping[str, str]:
        """What a consulted or transferred-to agent's page learns of the call."""
        return {}

    def ring_seconds(self) -> float | None:
        """How long a consulted or transferred-to extension rings (None: the registry's)."""
        return None

    def target_rung(self, extension: str, leg: Leg) -> None:
        """A leg rung for a consultation or a transfer (the call's history lists it)."""

    def target_engaged(self, extension: str) -> None:
        """The consulted extension answered: it is on this call now."""

    def target_released(self, extension: str) -> None:
        """The consultation ended without handing it the caller."""

    def agent_left(self, leg: Leg, kind: TransferKind, target: str, *, stays: bool) -> None:
        """The agent handed the caller on to `target` (a destination, "extension:3102");
        his leg is hung up next. `stays`: the caller stays in this call (else he leaves it
        for `hand_on`)."""

    def agent_joined(self, leg: Leg, extension: str) -> None:
        """The consulted party, or the transfer's target, has the caller now."""

    def agent_gone(self) -> None:
        """The agent who took the caller by a transfer hung up: the call ends as when any
        agent hangs up."""

    def transfer_failed(self, target: str) -> None:
        """A blind transfer nobody took: the owner takes the caller back."""

    # Whether the owner can hand the caller on out of the call (a blind transfer to a queue).
    hands_on = False

    def hand_on(self, leg: Leg, destination: Destination) -> None:
        """Blind transfer of the agent on `leg` out of the call, to `destination` (a queue):
        the agent's part ends (as `agent_left`), the caller leaves the call for it (`end()`
        follows); the agent's leg is hung up next."""


class TransferKind(StrEnum):
    BLIND = "blind"
    ATTENDED = "attended"


class Target:
    """The extension a consultation or a blind transfer rings: its leg's listener. Once it
    took the caller it stays the listener of the call's agent leg."""

    def __init__(self, call: AgentCall, extension: str):
        self.call = call
        self.extension = extension
        self.leg: Leg | None = None  # None while it is being dialed
        self.answered = False
        self.engaged = False  # the owner marked it on this call
        self.over = False
        self.since = datetime.now(UTC)
        self._ring_timer: asyncio.TimerHandle | None = None

    @property
    def endpoint(self) -> Endpoint | None:
        return self.leg.endpoint if self.leg is not None and self.answered else None

    def ring_for(self, seconds: float) -> None:
        self._ring_timer = asyncio.get_running_loop().call_later(seconds, self._not_answered)

    def _not_answered(self) -> None:
        self._ring_timer = None
        if not self.answered and not self.over:
            log.info("call %s: %s did not answer", self.call.id, self.extension)
            self.hang_up()
            self._gone()  # a leg still being dialed ends without telling

    def hang_up(self) -> None:
        self._cancel_timer()
        if self.leg is not None and not self.leg.ended:
            self.leg.hang_up()

    def drop(self) -> None:
        """Hang up without telling the call (it let go of this target itself)."""
        self.over = True
        self.hang_up()

    def _cancel_timer(self) -> None:
        if self._ring_timer is not None:
            self._ring_timer.cancel()
            self._ring_timer = None

    def _gone(self) -> None:
        self._cancel_timer()
        if not self.over:
            self.over = True
            self.call._target_gone(self)

    # -- LegListener -----------------------------------------------------------------------------

    def on_leg_ringing(self, leg: Leg) -> None:
        pass

    def on_leg_answered(self, leg: Leg) -> None:
        self.leg = leg
        self._cancel_timer()
        if self.over or self.call.ended or not _live(leg.endpoint):
            self.drop()
            return
        self.answered = True
        self.call._target_answered(self)

    def on_leg_failed(self, leg: Leg, status: int, reason: str) -> None:
        log.info("call %s: %s not reached (%s)", self.call.id, self.extension, status)
        self._gone()

    def on_leg_ended(self, leg: Leg, by_remote: bool) -> None:
        self._gone()

    def on_leg_digit(self, leg: Leg, digit: str) -> None:
        pass


class EmptySeat(Endpoint):
    """A silent member that holds the call's bridge (and its recording) while the agent may
    leave with nobody in his seat yet: his consultation rings, a blind transfer rings. No
    sockets, no stream; never in the engine's endpoints."""

    plain_rtp = False

    def __init__(self, engine: MediaEngine):
        super().__init__(engine, engine.next_endpoint_id(), "127.0.0.1", 0)


class AgentCall:
    """A customer <-> agent call in progress, the supervisors on it, and the agent's call
    controls (hold, mute, transfers, consultation, three-way call).

    Its owner (the application that connected it) gives `terminate(by)`, which ends the call
    its own way (both legs, history), and a `CallOwner` told of every change of parties; it
    calls `end()` when the call is over whatever ended it, and `agent_leg_ended()` when the
    agent's phone hangs up. Every change of state goes through `Control` (agentcontrol.py)
    and ends in `remix()`.
    """

    def __init__(
        self,
        engine: MediaEngine,
        call_id: str,
        queue: str | None,
        customer: Leg,
        agent: Leg,
        agent_extension: str,
        bridge: Bridge,
        *,
        terminate: Callable[[str], None],
        recording: bool = False,
        owner: CallOwner | None = None,
    ):
        self.engine = engine
        self.id = call_id
        self.queue = queue
        self.customer = customer
        self.agent: Leg | None = agent  # None while a blind transfer rings its target
        self.agent_extension = agent_extension
        self.bridge = bridge
        self.recording = recording
        self.connected_at = datetime.now(UTC)
        self.monitors: dict[str, Monitor] = {}  # by the supervisor's extension
        self.ended = False
        self.control = Control()
        self.target: Target | None = None  # consulted, or rung by a blind transfer
        self.owner = owner or CallOwner()
        self._terminate = terminate
        self._taken_by: Target | None = None  # the target that took the caller, if one did
        self._seat = EmptySeat(engine)
        self._music = False  # hold music started on the customer
        self._ringback: Endpoint | None = None  # the agent endpoint hearing our ringback

    @property
    def customer_number(self) -> str:
        return self.customer.number

    @property
    def transferring(self) -> bool:
        return self.control.phase is Phase.TRANSFERRING

    # -- who hears whom --------------------------------------------------------------------------

    def remix(self) -> None:
        """(Re)build the bridge from the call's current parties and state: customer, agent
        (or the empty seat), the consulted party once it answered, each supervisor whose
        endpoint is up with his mode; hold music and the consultation's ringback. Nothing
        when the call is over."""
        customer = self.customer.endpoint
        agent = self.agent.endpoint if self.agent is not None else self._seat
        if self.ended or not _live(customer) or not _live(agent):
            return
        assert customer is not None and agent is not None
        members = [customer, agent]
        if self.control.phase in (Phase.CONSULT_RINGING, Phase.TRANSFERRING) and agent is not (
            self._seat
        ):
            members.append(self._seat)
        target = None
        if self.control.target_in_call and self.target is not None:
            target = self.target.endpoint
            if _live(target):
                members.append(target)  # type: ignore[arg-type]
            else:
                target = None
        modes: dict[Pid, MonitorMode] = {}
        for monitor in self.monitors.values():
            endpoint = monitor.endpoint
            if endpoint is not None and _live(endpoint):
                members.append(endpoint)
                modes[endpoint] = monitor.mode
        matrix = call_matrix(customer, agent, modes, target=target, held=self.control.held,
                             muted=self.control.muted,
                             conference=self.control.phase is Phase.CONFERENCE)  # fmt: skip
        if self.engine.rebridge(self.bridge, members, matrix):
            # Customer left, the call center's side right (the agent, with the consulted
            # party while it is in the call).
            side = agent if target is None else (agent, target)
            self.engine.set_recorded(self.bridge, (customer, side))
        self._players(customer, agent)

    def _players(self, customer: Endpoint, agent: Endpoint) -> None:
        if self.control.music and not self._music:
            music = self.owner.music()
            if music:
                self.engine.play(customer, music, loop=True, stop_on_dtmf=False)
                self._music = True
        elif not self.control.music and self._music:
            self._music = False
            self.engine.stop_playing(customer)
        ringing = agent if self.control.ringback and agent is not self._seat else None
        if self._ringback is not None and self._ringback is not ringing:
            if not self._ringback.closed:
                self.engine.stop_playing(self._ringback)
            self._ringback = None
        if ringing is not None and self._ringback is None:
            self.engine.play_tone(ringing, CHINA, "ringback")
            self._ringback = ringing

    def set_mode(self, monitor: Monitor, mode: MonitorMode) -> None:
        if monitor.mode is mode:
            return
        log.info("monitor: %s on the call of %s: %s -> %s", monitor.supervisor,
                 self.agent_extension, monitor.mode, mode)  # fmt: skip
        monitor.mode = mode
        self.remix()

    # -- call controls (the agent's page through the API) --------------------------------------

    def apply(self, event: str) -> Control:
        """Move the state by `event` (ControlStateError when it does not fit); the state
        before."""
        before, self.control = self.control, self.control.after(event)
        return before

    def flag(self, action: ControlAction) -> None:
        """Hold, resume, mute, unmute."""
        self.apply(action)
        log.info("call %s of agent %s: %s", self.id, self.agent_extension, action)
        self.remix()

    async def consult(self, legs: LegManager, extension: str, ring_seconds: float) -> None:
        """Hold the customer and ring `extension` for the agent (咨询)."""
        before = self.apply(ControlAction.CONSULT)
        target = self.target = Target(self, extension)
        self.remix()
        agent = self.agent
        assert agent is not None
        info = {**self.owner.call_info(), "kind": "consult"}
        try:
            leg = await legs.outbound(extension, target, caller=self.agent_extension,
                                      preferred_codecs=[agent.codec] if agent.codec else [],
                                      call_info=info)  # fmt: skip
        except SipError as exc:
            target.over = True
            if self.target is target:  # nothing else happened meanwhile: as before
                self.target = None
                self.control = before
                self.remix()
            raise _unreachable(exc) from None
        self._dialed(target, leg, ring_seconds)
        log.info("call %s: agent %s consults %s", self.id, self.agent_extension, extension)

    async def transfer(self, legs: LegManager, extension: str, ring_seconds: float) -> None:
        """Blind transfer to an extension: the agent leaves as soon as it rings; the
        customer hears music until it answers, or goes back to his queue."""
        before = self.apply(ControlAction.TRANSFER)
        target = self.target = Target(self, extension)
        self.remix()
        try:
            leg = await legs.outbound(extension, target, caller=self.customer_number,
                                      preferred_codecs=[c for c in [self.customer.codec] if c],
                                      call_info=self.owner.call_info())  # fmt: skip
        except SipError as exc:
            target.over = True
            if self.target is target and self.agent is not None:  # the agent is still here
                self.target = None
                self.control = before
                self.remix()
                raise _unreachable(exc) from None
            if self.target is target:  # the agent hung up meanwhile: nobody takes it
                self.target = None
                self.owner.transfer_failed(f"extension:{extension}")
            raise _unreachable(exc) from None
        self._dialed(target, leg, ring_seconds)
        if not self.ended and self.agent is not None and self.target is target:
            log.info("call %s: agent %s transfers to %s", self.id, self.agent_extension,
                     extension)  # fmt: skip
            self._agent_out(TransferKind.BLIND)

    def transfer_out(self, destination: Destination) -> None:
        """Blind transfer out of this call (to a queue): the owner hands the caller on."""
        self.control.after(ControlAction.TRANSFER)  # ControlStateError when it does not fit
        if not self.owner.hands_on:
            raise BadTargetError(f"{destination}: the caller cannot leave this call",
                                 kind=destination.kind)  # fmt: skip
        agent = self.agent
        assert agent is not None
        log.info("call %s: agent %s transfers to %s", self.id, self.agent_extension, destination)
        self.owner.hand_on(agent, destination)
        if not agent.ended:
            agent.hang_up()

    def complete(self) -> None:
        """The consulted party takes the customer; the agent is hung up."""
        self._take_over(ControlAction.COMPLETE)

    def cancel(self) -> None:
        """The consulted party is hung up; customer and agent talk again."""
        self.apply(ControlAction.CANCEL)
        target, self.target = self.target, None
        if target is not None:
            target.drop()
            self._release(target)
        log.info("call %s: agent %s cancels the consultation", self.id, self.agent_extension)
        self.remix()

    def conference(self) -> None:
        """Customer, agent and the consulted party hear each other (三方通话)."""
        self.apply(ControlAction.CONFERENCE)
        log.info("call %s: agent %s in a three-way call", self.id, self.agent_extension)
        self.remix()

    # -- what the phones do ----------------------------------------------------------------------

    def agent_leg_ended(self) -> bool:
        """The agent's phone hung up: True when the call goes on without him (during a
        consultation or a three-way call the consulted party takes the customer; while it
        still rings, it goes on ringing as a blind transfer), False when the call is over."""
        if self.ended or self.agent is None:
            return False
        phase = self.control.phase
        if phase in (Phase.CONSULTING, Phase.CONFERENCE):
            self._take_over(AGENT_GONE)
            return True
        if phase is Phase.CONSULT_RINGING:
            self.apply(AGENT_GONE)
            self._agent_out(TransferKind.BLIND)
            return True
        if phase is Phase.TRANSFERRING:  # he hung up while his transfer was being dialed
            self._agent_out(TransferKind.BLIND)
            return True
        return False

    def _dialed(self, target: Target, leg: Leg, ring_seconds: float) -> None:
        self.owner.target_rung(target.extension, leg)
        if target.over or self.ended or self.target is not target:
            target.drop()  # cancelled, or the call ended, while it was dialed
        elif target.leg is None:
            target.leg = leg
            target.ring_for(self.owner.ring_seconds() or ring_seconds)

    def _target_answered(self, target: Target) -> None:
        if self.ended or target is not self.target:
            target.drop()
            return
        if self.control.phase is Phase.CONSULT_RINGING:
            self.apply(ANSWERED)
            target.engaged = True
            self.owner.target_engaged(target.extension)
            log.info("call %s: %s answers the consultation", self.id, target.extension)
            self.remix()
        elif self.control.phase is Phase.TRANSFERRING:
            self.apply(ANSWERED)
            self._seated(target)
            log.info("call %s: %s takes the transferred call", self.id, target.extension)
            self.remix()

    def _target_gone(self, target: Target) -> None:
        if self.ended:
            return
        if target is self._taken_by and self.agent is target.leg:
            # The agent who took it over is gone. Told on the next turn of the loop, as the
            # queue hears of its own agent legs: when pbxd hung him up itself (the caller
            # left, 强拆), the owner has ended the call by then.
            asyncio.get_running_loop().call_soon(self._agent_gone)
            return
        if target is not self.target:
            return
        self.target = None
        if self.control.phase is Phase.TRANSFERRING:
            log.info("call %s: nobody took it at %s", self.id, target.extension)
            self.owner.transfer_failed(f"extension:{target.extension}")
            return
        self.apply(TARGET_GONE)
        self._release(target)
        log.info("call %s: %s left the consultation", self.id, target.extension)
        self.remix()

    def _agent_gone(self) -> None:
        if not self.ended:
            self.owner.agent_gone()

    def _take_over(self, event: str) -> None:
        """The consulted party takes the customer; the agent leaves (attended transfer)."""
        self.apply(event)
        target, agent = self.target, self.agent
        assert target is not None and agent is not None
        self.owner.agent_left(agent, TransferKind.ATTENDED, f"extension:{target.extension}",
                              stays=True)  # fmt: skip
        self._seated(target)
        log.info("call %s: %s takes it over from %s", self.id, target.extension, agent.number)
        self.remix()
        if not agent.ended:
            agent.hang_up()

    def _agent_out(self, kind: TransferKind) -> None:
        """The agent leaves before anybody took his seat (a blind transfer rings)."""
        agent, target = self.agent, self.target
        assert agent is not None and target is not None
        self.owner.agent_left(agent, kind, f"extension:{target.extension}", stays=True)
        self.agent = None
        for monitor in list(self.monitors.values()):  # the agent they monitored is gone
            monitor.hang_up()
        self.remix()
        if not agent.ended:
            agent.hang_up()

    def _seated(self, target: Target) -> None:
        assert target.leg is not None
        self.agent, self.agent_extension = target.leg, target.extension
        self.target, self._taken_by = None, target
        self.owner.agent_joined(target.leg, target.extension)

    def _release(self, target: Target) -> None:
        if target.engaged:
            target.engaged = False
            self.owner.target_released(target.extension)

    # -- life cycle ------------------------------------------------------------------------------

    def hang_up(self, by: str) -> None:
        """End the call (强拆) the way its owner ends calls; `by`: who asked, for the log."""
        if not self.ended:
            log.info("call %s of agent %s hung up by %s", self.id, self.agent_extension, by)
            self._terminate(by)

    def end(self) -> None:
        """The call is over: its supervisors and a consulted party are hung up."""
        if self.ended:
            return
        self.ended = True
        for monitor in list(self.monitors.values()):
            monitor.hang_up()
        self.monitors.clear()
        target, self.target = self.target, None
        if target is not None:
            target.drop()
            self._release(target)

    def _monitor_gone(self, monitor: Monitor) -> None:
        if self.monitors.get(monitor.supervisor) is monitor:
            del self.monitors[monitor.supervisor]
            self.remix()

    def view(self) -> LiveCall:
        consultation = None
        state = self.control.consult_state
        if self.target is not None and state is not None:
            consultation = ConsultView(self.target.extension, state, self.target.since)
        return LiveCall(
            id=self.id,
            queue=self.queue,
            agent=self.agent_extension,
            customer=self.customer_number,
            connected_at=self.connected_at,
            recording=self.recording,
            monitors=tuple(m.view() for m in self.monitors.values()),
            held=self.control.held,
            muted=self.control.muted,
            phase=self.control.api_phase,
            consultation=consultation,
        )


def _unreachable(exc: SipError) -> UnreachableError:
    registered = not isinstance(exc, TemporarilyUnavailable)
    return UnreachableError(str(exc), registered=registered)


class AgentCalls:
    """The registry of live agent calls (a CallController of pbxd/services/calls.py)."""

    def __init__(
        self,
        engine: MediaEngine,
        legs: LegManager,
        *,
        ring_seconds: float = MONITOR_RING_SECONDS,
        transfer_ring_seconds: float = TRANSFER_RING_SECONDS,
        number_kind: Callable[[str], str | None] = lambda number: "extension",
    ):
        self.engine = engine
        self.legs = legs
        self.ring_seconds = ring_seconds
        self.transfer_ring_seconds = transfer_ring_seconds
        # What a number to transfer to is: "extension", "queue", another destination kind
        # ("ring_group", "ivr" ...), or None when it is nothing of ours.
        self.number_kind = number_kind
        # Whether an extension is on an internal call (agent to agent: the B2BUA's), when
        # whoever knows is wired in: call controls then say why they refuse.
        self.internal_call_of: Callable[[str], bool] | None = None
        self.calls: dict[str, AgentCall] = {}

    # -- the owners' side ------------------------------------------------------------------------

    def register(
        self,
        call_id: str,
        queue: str | None,
        customer: Leg,
        agent: Leg,
        agent_extension: str,
        bridge: Bridge,
        *,
        terminate: Callable[[str], None],
        recording: bool = False,
        owner: CallOwner | None = None,
    ) -> AgentCall:
        call = AgentCall(self.engine, call_id, queue, customer, agent, agent_extension, bridge,
                         terminate=terminate, recording=recording, owner=owner)  # fmt: skip
        self.calls[call_id] = call
        return call

    def end(self, call_id: str) -> None:
        call = self.calls.pop(call_id, None)
        if call is not None:
            call.end()

    def of_agent(self, extension: str) -> AgentCall | None:
        """The customer call `extension` has the agent's seat of (none while a blind
        transfer rings him: he has not taken it yet)."""
        for call in self.calls.values():
            if call.agent_extension == extension and not call.ended and not call.transferring:
                return call
        return None

    def monitor_of(self, supervisor: str) -> Monitor | None:
        for call in self.calls.values():
            monitor = call.monitors.get(supervisor)
            if monitor is not None:
                return monitor
        return None

    # -- CallController --------------------------------------------------------------------------

    def live_calls(self) -> list[LiveCall]:
        return [
            call.view() for call in self.calls.values() if not call.ended and not call.transferring
        ]

    def call_of(self, agent: str) -> LiveCall | None:
        call = self.of_agent(agent)
        return call.view() if call is not None else None

    async def monitor(self, agent: str, supervisor: str, mode: MonitorMode) -> MonitorView:
        """Ring `supervisor` to monitor `agent`'s call, or switch the mode of a supervisor
        who is on it (or being rung for it) already."""
        call = self._monitorable(agent, supervisor)
        mode = MonitorMode(mode)
        current = self.monitor_of(supervisor)
        if current is not None and current.call is call:
            call.set_mode(current, mode)
            return current.view()
        if current is not None:  # on another agent's call: he moves to this one
            current.hang_up()
        monitor = Monitor(call, supervisor, mode)
        call.monitors[supervisor] = monitor  # taken before the await: a second request switches
        codec = (call.agent.codec if call.agent is not None else "") or call.customer.codec
        try:
            leg = await self.legs.outbound(
                supervisor,
                monitor,
                caller=agent,
                display=MONITOR_DISPLAY.format(agent=agent),
                preferred_codecs=[codec] if codec else [],
                call_info={"kind": "monitor"},  # his browser answers at once: he asked for it
            )
        except SipError as exc:
            monitor._over()
            registered = not isinstance(exc, TemporarilyUnavailable)
            raise UnreachableError(str(exc), registered=registered) from None
        if monitor.over:  # the call ended (or another request replaced him) while dialing
            leg.hang_up()
        elif monitor.leg is None:
            monitor.leg = leg
            monitor.ring_for(self.ring_seconds)
        log.info("monitor: ringing %s for the call of %s (%s)", supervisor, agent, mode)
        return monitor.view()

    async def monitor_with(self, leg: InboundLeg, agent: str, mode: MonitorMode) -> None:
        """A supervisor dialed a monitoring feature code: answer his leg and join it to
        `agent`'s call in `mode`, until he hangs up or the call ends."""
        supervisor = leg.number
        call = self._monitorable(agent, supervisor)
        current = self.monitor_of(supervisor)
        if current is not None:  # rung by the API meanwhile, or on another call: this one wins
            current.hang_up()
        monitor = Monitor(call, supervisor, MonitorMode(mode))
        call.monitors[supervisor] = monitor
        try:
            await leg.prepare(monitor)
        except SipError:
            monitor._over()
            raise
        if leg.ended:
            monitor._over()
            return
        leg.answer()
        monitor.on_leg_answered(leg)
        await monitor.done

    def hang_up(self, agent: str, by: str) -> None:
        call = self.of_agent(agent)
        if call is None:
            raise NoCallError(f"agent {agent} has no call in progress")
        call.hang_up(by)

    async def control(
        self, agent: str, action: ControlAction, target: str | None = None
    ) -> LiveCall | None:
        """The agent's call controls (module docstring); the call as he has it after (None
        when he handed it on)."""
        action = ControlAction(action)
        call = self.of_agent(agent)
        if call is None:
            raise NoCallError(f"agent {agent} has no call in progress")
        call.control.after(action)  # the state first: ControlStateError when it does not fit
        if action in (ControlAction.TRANSFER, ControlAction.CONSULT):
            assert target is not None
            kind = self._target_kind(call, target, action)
            if kind == "queue":
                call.transfer_out(Destination("queue", target))
            elif action is ControlAction.TRANSFER:
                await call.transfer(self.legs, target, self.transfer_ring_seconds)
            else:
                await call.consult(self.legs, target, self.transfer_ring_seconds)
        elif action is ControlAction.COMPLETE:
            call.complete()
        elif action is ControlAction.CANCEL:
            call.cancel()
        elif action is ControlAction.CONFERENCE:
            call.conference()
        else:
            call.flag(action)
        return self.call_of(agent)

    def on_internal_call(self, agent: str) -> bool:
        return self.internal_call_of is not None and self.internal_call_of(agent)

    def _target_kind(self, call: AgentCall, target: str, action: ControlAction) -> str:
        if target in (call.agent_extension, call.customer_number):
            raise BadTargetError(f"{target} is a party of the call", own=True)
        kind = self.number_kind(target)
        if kind == "extension":
            if self.of_agent(target) is not None:
                raise BusyError(f"{target} is on a customer call")
            return kind
        if kind == "queue" and action is ControlAction.TRANSFER:
            return kind
        raise BadTargetError(f"{target}: a {kind or 'number of nothing'}", kind=kind or "")

    def _monitorable(self, agent: str, supervisor: str) -> AgentCall:
        call = self.of_agent(agent)
        if call is None:
            raise NoCallError(f"agent {agent} has no call in progress")
        if supervisor in (agent, call.customer_number):
            raise OwnCallError(f"{supervisor} is a party of the call")
        if self.of_agent(supervisor) is not None:
            raise BusyError(f"{supervisor} is on a customer call")
        return call
