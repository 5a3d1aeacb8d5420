"""ACD queues on real calls: the pure `CallCenter` (pbxd/callcenter/queue.py) driven by legs.

A caller who reaches a queue is answered, joins, and from then on every event (the caller
hangs up, an agent's phone answers, fails or hangs up, a deadline passes) goes into the
`CallCenter`, whose actions are carried out here: ring agents (an outbound leg per agent),
stop ringing, announce (prompts, numbers, the agent's ID), music on hold, connect (bridge and,
by the queue's recording policy, record), overflow to another destination. When the call
leaves the queue its history (CDR, legs, queue events, recording) goes to `on_history`.

A caller's announcements play one after the other, in the order the queue gave them (the
engine has one player per leg: starting one prompt replaces the one playing); the music on
hold comes back after the last. When an agent answers, the waiting-time announcements
(position, expected wait, periodic) not yet over are dropped; the welcome prompt is played to
its end and the agent's ID is said after it, then the bridge takes over.

A connected call is registered with the agent calls (agentcalls.py: monitoring and the
agent's call controls); `QueueCallOwner` is its side of them. A transfer ends the agent's part
(TRANSFER row, wrap-up) and his leg; the extension that takes the caller is the call's agent
from then on (its COMPLETE row, the survey if it hangs up first). A blind transfer nobody
takes brings the caller back to the head of this queue (TRANSFER_RETURN), rung to the next
free agent, his call's bridge and recording kept; one to another queue hands the caller on to
it like an overflow (this queue's CDR row covers the call to its end). Every leg that ran to
an agent or a target (`QueuedCall.agent_legs`) is in the call's history with its own times.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from pbxd.callcenter.agents import AgentError, LogEvent
from pbxd.callcenter.destinations import Destination
from pbxd.callcenter.queue import (
    Announce,
    CallCenter,
    Connect,
    Overflow,
    PlayMusic,
    QueueError,
    RingAgents,
    StopRinging,
)
from pbxd.media.engine import Bridge, MediaEngine
from pbxd.media.webrtc import WebRtcEndpoint
from pbxd.services.cdr import Disposition, HangupSide
from pbxd.sip.errors import SipError

from ..cdr import call_record
from ..legs import InboundLeg, Leg, LegManager, OutboundLeg
from ..recording import CallRecording, start_recording
from ..scripting import LegWatcher, Prompts, play
from .agentcalls import AgentCalls, CallOwner, TransferKind

log = logging.getLogger(__name__)

# What the queue says to a waiting caller; dropped when an agent answers.
WAITING_ANNOUNCEMENTS = frozenset({"position", "expected_wait", "periodic"})
# An agent whose browser went away mid-call (a reload, a network loss) has this long to come
# back; meanwhile the caller hears music. Checked every RECOVER_POLL_SECONDS.
RECOVER_SECONDS = 45.0
RECOVER_POLL_SECONDS = 0.5


def connection_lost(leg: Leg) -> bool:
    """Whether pbxd ended an agent's leg because his browser went away (its WebSocket or its
    WebRTC connection closed or failed), rather than the agent hanging up (a BYE)."""
    if leg.lost:  # its WebSocket closed: the page is reloading, or the network is gone
        return True
    endpoint = leg.endpoint
    return (
        not leg.ended_by_remote
        and isinstance(endpoint, WebRtcEndpoint)
        and endpoint.failure is not None
    )


@dataclass
class AgentLeg:
    """A leg of the call that ran to an agent's extension: the one the queue connected, or
    one rung for a consultation or a transfer."""

    extension: str
    leg: Leg
    transferred: bool = False  # he handed the caller on: his own doing ended it


@dataclass
class QueuedCall:
    id: str
    queue: str
    leg: InboundLeg
    watcher: LegWatcher
    joined_at: datetime
    ringing: dict[str, OutboundLeg] = field(default_factory=dict)
    # The `ended` future of each agent leg rung (by the leg's id): its watcher's, which the
    # leg manager may wrap in a listener of its own.
    agent_ended: dict[int, asyncio.Future] = field(default_factory=dict)
    stopped: set[str] = field(default_factory=set)  # agents told to stop while still dialing
    agent: str | None = None  # the agent the queue connected (None again when requeued)
    agent_leg: Leg | None = None  # the leg of whoever has the agent's seat now
    connected_at: datetime | None = None  # the first answer
    bridge: Bridge | None = None  # the call's bridge, kept while a blind transfer rings
    agent_legs: list[AgentLeg] = field(default_factory=list)
    recording: CallRecording | None = None
    overflow: Destination | None = None
    events: list[LogEvent] = field(default_factory=list)
    done: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    hangup_side: HangupSide = HangupSide.CALLER
    agent_hung_up: bool = False
    # (what, task) of the announcements not known to be over, in the order they play.
    announcements: list[tuple[str, asyncio.Task]] = field(default_factory=list)
    finished: QueueFinished | None = None
    forced_by: str | None = None  # who hung the connected call up (强拆), if someone did

    def pending_announcements(self) -> list[asyncio.Task]:
        self.announcements = [(what, t) for what, t in self.announcements if not t.done()]
        return [t for _, t in self.announcements]

    def drop_waiting_announcements(self) -> None:
        """An agent answered: position, wait and periodic prompts still to come go."""
        kept = []
        for what, task in self.announcements:
            if what in WAITING_ANNOUNCEMENTS and not task.done():
                task.cancel()
            else:
                kept.append((what, task))
        self.announcements = kept


@dataclass(frozen=True)
class QueueFinished:
    """What one caller's passage through a queue left behind (the runtime's history)."""

    call: QueuedCall
    ended_at: datetime
    disposition: Disposition


class QueueRuntime:
    def __init__(
        self,
        engine: MediaEngine,
        legs: LegManager,
        prompts: Prompts,
        center: CallCenter,
        *,
        recordings_dir: Path,
        recording_policy: Callable[[str], str],
        transfer: Callable[[Destination, InboundLeg], Awaitable[None]],
        on_finished: Callable[[QueueFinished], None],
        on_agent_events: Callable[[list[LogEvent]], None],
        after_agent_hangup: Callable[[str, InboundLeg], Awaitable[None]] | None = None,
        agent_calls: AgentCalls | None = None,
        on_change: Callable[[list[LogEvent]], None] | None = None,
        recover_seconds: float = RECOVER_SECONDS,
    ):
        self.engine = engine
        self.legs = legs
        self.prompts = prompts
        self.center = center
        self.recordings_dir = recordings_dir
        self.recording_policy = recording_policy  # queue -> none | all | inbound | outbound
        self.transfer = transfer
        self.on_finished = on_finished
        self.on_agent_events = on_agent_events
        self.after_agent_hangup = after_agent_hangup  # e.g. the survey, if the queue has one
        self.agent_calls = agent_calls  # connected calls, for supervisors to monitor (issue 7)
        self.recover_seconds = recover_seconds  # for an agent whose browser went away
        # After every batch of actions, with its queue-log rows: the live wallboard (issue 7).
        self.on_change = on_change
        self.calls: dict[str, QueuedCall] = {}
        # Calls out of the queue whose history is not handed on yet (the survey, an overflow
        # destination still running): agent rows naming them (WRAPUP_END) wait here, so that
        # whoever stores them knows the call when they come.
        self._unreported: dict[str, list[LogEvent]] = {}
        self._recorded: set[int] = set()  # legs whose history a queue wrote
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task] = set()

    @staticmethod
    def now() -> float:
        return asyncio.get_running_loop().time()

    # -- a caller in a queue ---------------------------------------------------------------------

    async def answer(self, queue: str, leg: InboundLeg) -> None:
        watcher = LegWatcher()
        await leg.prepare(watcher)
        leg.answer()
        call = QueuedCall(str(leg.id), queue, leg, watcher, datetime.now(UTC))
        self.calls[call.id] = call
        watcher.ended.add_done_callback(lambda _: self._caller_gone(call))
        self.run(self._safely(lambda: self.center.join(queue, call.id, self.now())))
        await call.done
        try:
            if call.overflow is not None and not leg.ended:
                log.info("queue %s: call %s goes on to %s", queue, call.id, call.overflow)
                await self.transfer(call.overflow, leg)
            elif call.agent_hung_up and not leg.ended and self.after_agent_hangup is not None:
                await self.after_agent_hangup(queue, leg)  # the survey, when the queue has one
            elif not leg.ended:
                leg.hang_up()
        finally:
            # After what followed the queue, so that the survey's answer is part of the call.
            assert call.finished is not None
            if call.overflow is not None:  # the row covers the call to its end, not only the
                # queue's part (TRANSFER_OVERFLOW in the log says where it went)
                call.finished = replace(call.finished, ended_at=datetime.now(UTC))
            self._recorded.add(leg.id)
            self.on_finished(call.finished)
            late = self._unreported.pop(call.id, [])
            if late:
                self.on_agent_events(late)

    def recorded(self, leg: InboundLeg) -> bool:
        """True (once) when a queue wrote this leg's call history itself."""
        if leg.id in self._recorded:
            self._recorded.discard(leg.id)
            return True
        return False

    def _caller_gone(self, call: QueuedCall) -> None:
        if call.done.done():
            return
        call.hangup_side = HangupSide.CALLER
        self.run(self._safely(lambda: self.center.caller_hangup(call.id, self.now())))
        if call.agent_leg is not None and not call.agent_leg.ended:
            call.agent_leg.hang_up()
        self._finish(call)

    # -- the actions of the call center ----------------------------------------------------------

    def run(self, actions: Iterable[object]) -> None:
        actions = list(actions)
        for action in actions:
            if isinstance(action, LogEvent):
                self._log(action)
            elif isinstance(action, RingAgents):
                call = self.calls.get(action.call)
                for agent in action.agents:
                    if call is not None:
                        call.stopped.discard(agent)
                        self._spawn(self._ring(call, agent))
            elif isinstance(action, StopRinging):
                self._stop(action.call, action.agents)
            elif isinstance(action, Connect):
                call = self.calls.get(action.call)
                if call is not None:
                    self._spawn(self._connect(call, action.agent))
            elif isinstance(action, Announce):
                call = self.calls.get(action.call)
                if call is not None:
                    if action.what == "agent_id":
                        call.drop_waiting_announcements()
                    earlier = call.pending_announcements()
                    task = self._spawn(self._announce(call, action, earlier))
                    call.announcements.append((action.what, task))
            elif isinstance(action, PlayMusic):
                call = self.calls.get(action.call)
                if (
                    call is not None
                    and call.leg.endpoint is not None
                    and call.agent is None
                    and not call.pending_announcements()  # the last one starts the music
                ):
                    self.engine.play(call.leg.endpoint, self._music(call), loop=True)
            elif isinstance(action, Overflow):
                call = self.calls.get(action.call)
                if call is not None:
                    call.overflow = action.destination
                    self._finish(call)
        self._rearm()
        if self.on_change is not None:
            self.on_change([action for action in actions if isinstance(action, LogEvent)])

    def _log(self, event: LogEvent) -> None:
        call = self.calls.get(event.call_id) if event.call_id else None
        if call is not None:
            call.events.append(event)
        elif event.call_id in self._unreported:
            self._unreported[event.call_id].append(event)
        else:
            self.on_agent_events([event])

    async def _ring(self, call: QueuedCall, agent: str) -> None:
        watcher = LegWatcher()
        codec = call.leg.codec  # "" for a WebRTC caller: the agent's leg is offered any
        try:
            out = await self.legs.outbound(
                agent, watcher, caller=call.leg.number, preferred_codecs=[codec] if codec else [],
                call_info={"call_id": call.leg.request.call_id, "queue": call.queue},
            )  # fmt: skip
        except SipError as exc:
            log.info("queue %s: agent %s not rung: %s", call.queue, agent, exc)
            self.run(self._safely(lambda: self.center.agent_failed(call.id, agent, self.now())))
            return
        if agent in call.stopped or call.done.done():
            out.cancel()
            return
        call.ringing[agent] = out
        call.agent_ended[out.id] = watcher.ended

        def answered(future: asyncio.Future) -> None:
            if not future.cancelled():
                self.run(self._safely(lambda: self.center.agent_answer(call.id, agent, self.now())))

        def ended(future: asyncio.Future) -> None:
            if call.agent_leg is out:
                self._agent_gone(call)
            elif call.ringing.pop(agent, None) is out and not out.answered:
                self.run(self._safely(lambda: self.center.agent_failed(call.id, agent, self.now())))

        watcher.answered.add_done_callback(answered)
        watcher.ended.add_done_callback(ended)

    def _stop(self, call_id: str, agents: Iterable[str]) -> None:
        call = self.calls.get(call_id)
        if call is None:
            return
        for agent in agents:
            out = call.ringing.pop(agent, None)
            if out is None:
                call.stopped.add(agent)  # still dialing: cancelled as soon as it exists
            elif out is not call.agent_leg:
                out.hang_up()

    async def _connect(self, call: QueuedCall, agent: str) -> None:
        out = call.ringing.pop(agent, None)
        if out is None or call.done.done() or call.leg.ended:
            if out is not None:
                out.hang_up()
            return
        call.agent = agent
        call.agent_leg = out
        call.agent_legs.append(AgentLeg(agent, out))
        call.connected_at = call.connected_at or datetime.now(UTC)
        call.drop_waiting_announcements()
        pending = call.pending_announcements()
        if pending:  # the welcome and the agent's ID, played one after the other
            await asyncio.wait(
                {pending[-1], call.watcher.ended, call.agent_ended[out.id]},
                return_when=asyncio.FIRST_COMPLETED,
            )
        if call.done.done() or call.leg.ended or out.ended:
            return
        caller_endpoint, agent_endpoint = call.leg.endpoint, out.endpoint
        assert caller_endpoint is not None and agent_endpoint is not None
        self.engine.stop_playing(caller_endpoint)
        bridge = call.bridge
        if bridge is not None and caller_endpoint.bridge is bridge:
            # Back from a blind transfer nobody took: the same bridge, its recording runs on.
            self.engine.rebridge(bridge, [caller_endpoint, agent_endpoint])
        else:
            bridge = call.bridge = self.engine.bridge([caller_endpoint, agent_endpoint])
            if call.recording is None and self.recording_policy(call.queue) in ("all", "inbound"):
                call.recording = start_recording(
                    self.engine, bridge, self.recordings_dir,
                    f"q{call.queue}", call.leg.number, agent, call.id,
                )  # fmt: skip
        self._register_agent_call(call, out, agent, bridge)
        log.info("queue %s: call %s connected to agent %s", call.queue, call.id, agent)

    def _register_agent_call(self, call: QueuedCall, out: Leg, agent: str, bridge: Bridge) -> None:
        if self.agent_calls is not None:
            self.agent_calls.register(
                call.id, call.queue, call.leg, out, agent, bridge,
                terminate=lambda by: self.force_hangup(call, by),
                recording=call.recording is not None,
                owner=QueueCallOwner(self, call),
            )  # fmt: skip

    def force_hangup(self, call: QueuedCall, by: str) -> None:
        """A supervisor ends the connected call (强拆): both legs; the CDR says the system hung
        up, the queue log's COMPLETE row who did."""
        if call.done.done():
            return
        call.hangup_side = HangupSide.SYSTEM
        call.forced_by = by
        self.run(self._safely(lambda: self.center.agent_hangup(call.id, self.now())))
        self._finish(call)
        for leg in (call.agent_leg, call.leg):
            if leg is not None and not leg.ended:
                leg.hang_up()

    def _agent_gone(self, call: QueuedCall) -> None:
        if call.done.done():
            return
        agent_call = self.agent_calls.calls.get(call.id) if self.agent_calls else None
        if agent_call is not None and agent_call.agent_leg_ended():
            return  # during a consultation: the consulted party takes the caller
        lost = call.agent_leg
        if lost is not None and call.agent is not None and connection_lost(lost):
            self._spawn(self._recover(call, call.agent, lost))
            return
        self._agent_hung_up(call)

    def _agent_hung_up(self, call: QueuedCall) -> None:
        if call.done.done():
            return
        call.hangup_side = HangupSide.CALLEE
        call.agent_hung_up = True
        self.run(self._safely(lambda: self.center.agent_hangup(call.id, self.now())))
        if call.leg.endpoint is not None:
            self.engine.unbridge(call.leg.endpoint)
        self._finish(call)

    async def _recover(self, call: QueuedCall, agent: str, lost: Leg) -> None:
        """The agent's browser went away mid-call (a reload, a network loss): the caller hears
        the queue's music while pbxd waits for the agent's page to register again, then rings
        it (the page answers by itself) and puts the two back together. After
        RECOVER_SECONDS without him, the call ends as if he had hung up."""
        log.info("queue %s: call %s: agent %s's connection lost, waiting %.0f s for it",
                 call.queue, call.id, agent, self.recover_seconds)  # fmt: skip
        if self.agent_calls is not None:
            self.agent_calls.end(call.id)  # its supervisors are hung up
        customer = call.leg.endpoint
        if customer is not None:
            self.engine.play(customer, self._music(call), loop=True)
        deadline = self.now() + self.recover_seconds
        while not call.done.done() and self.now() < deadline:
            if self._registered_anew(agent, lost):
                out = await self._ring_back(call, agent, deadline)
                if out is not None:
                    self._rejoin(call, agent, out)
                    return
            await asyncio.sleep(RECOVER_POLL_SECONDS)
        if not call.done.done():
            log.info("queue %s: call %s: agent %s did not come back", call.queue, call.id, agent)
            self._agent_hung_up(call)

    def _registered_anew(self, agent: str, lost: Leg) -> bool:
        bindings = self.legs.registrar.lookup(agent, self.legs.core.now())
        return any(binding.source != lost.peer for binding in bindings)

    async def _ring_back(self, call: QueuedCall, agent: str, deadline: float) -> Leg | None:
        watcher = LegWatcher()
        try:
            out = await self.legs.outbound(
                agent, watcher, caller=call.leg.number,
                call_info={"call_id": call.leg.request.call_id, "queue": call.queue,
                           "kind": "recover"},
            )  # fmt: skip
        except SipError as exc:
            log.info("queue %s: agent %s not rung back: %s", call.queue, agent, exc)
            return None
        call.agent_ended[out.id] = watcher.ended
        await asyncio.wait(
            {watcher.answered, watcher.ended, call.done},
            timeout=max(0.0, deadline - self.now()),
            return_when=asyncio.FIRST_COMPLETED,
        )
        if call.done.done() or not out.answered or out.ended:
            out.hang_up()
            return None
        return out

    def _rejoin(self, call: QueuedCall, agent: str, out: Leg) -> None:
        customer, endpoint = call.leg.endpoint, out.endpoint
        assert customer is not None and endpoint is not None
        call.agent_leg = out
        call.agent_legs.append(AgentLeg(agent, out))
        call.agent_ended[out.id].add_done_callback(
            lambda _: self._agent_gone(call) if call.agent_leg is out else None
        )
        self.engine.stop_playing(customer)
        bridge = call.bridge
        if bridge is not None and customer.bridge is bridge:
            self.engine.rebridge(bridge, [customer, endpoint])
        else:
            bridge = call.bridge = self.engine.bridge([customer, endpoint])
        self._register_agent_call(call, out, agent, bridge)
        log.info("queue %s: call %s: agent %s is back", call.queue, call.id, agent)

    async def _announce(
        self, call: QueuedCall, action: Announce, earlier: list[asyncio.Task]
    ) -> None:
        if earlier:  # one player per leg: wait for the announcements before this one
            await asyncio.wait(earlier)
        if call.done.done() or call.leg.ended or call.leg.endpoint is None:
            return
        frames = self._announcement(action)
        if frames:
            await play(self.engine, call.leg, call.watcher, frames)
        # The agent's ID is said before the bridge takes over (接通前自动报工号); after the
        # last of the other announcements the waiting caller gets the music back.
        if action.what == "agent_id" or call.agent is not None or call.done.done():
            return
        last = call.announcements[-1][1] if call.announcements else None
        if last is asyncio.current_task() and call.leg.endpoint is not None:
            self.engine.play(call.leg.endpoint, self._music(call), loop=True)

    def _music(self, call: QueuedCall) -> list:
        """The queue's own music on hold (`music`: a prompt id), else the system's."""
        queue = self.center.queues.get(call.queue)
        music = queue.config.music if queue is not None else ""
        return self.prompts.get(music) if music else self.prompts.music()

    def _announcement(self, action: Announce) -> list:
        p = self.prompts
        if action.what in ("welcome", "periodic"):
            return p.get(
                action.prompt or ("queue-welcome" if action.what == "welcome" else "queue-periodic")
            )
        if action.what == "position" and isinstance(action.value, int):
            return p.get("queue-position") + p.number(action.value) + p.get("queue-position-end")
        if action.what == "expected_wait" and isinstance(action.value, int):
            return p.get("queue-wait") + p.number(action.value) + p.get("minutes")
        if action.what == "agent_id" and action.value is not None:
            return p.get("agent-id") + p.digits(str(action.value)) + p.get("agent-id-end")
        return []

    def requeue(self, call: QueuedCall, target: str) -> None:
        """A blind transfer nobody took: the caller is back at the head of the queue (his
        bridge and recording kept), rung to the next free agent."""
        if call.done.done():
            return
        if self.agent_calls is not None:
            self.agent_calls.end(call.id)
        call.agent = None
        call.agent_leg = None
        log.info("queue %s: call %s back from %s", call.queue, call.id, target)
        self.run(self._safely(lambda: self.center.requeue(call.id, target, self.now())))

    # -- the end of a caller's stay ----------------------------------------------------------

    def _finish(self, call: QueuedCall) -> None:
        if call.done.done():
            return
        self.calls.pop(call.id, None)
        if self.agent_calls is not None:
            self.agent_calls.end(call.id)  # its supervisors are hung up
        self._unreported[call.id] = []
        for out in list(call.ringing.values()):
            if out is not call.agent_leg:
                out.hang_up()
        call.ringing.clear()
        if call.recording is not None:
            recorder = call.recording.recorder
            bridge = call.leg.endpoint.bridge if call.leg.endpoint else None
            if bridge is not None:
                self.engine.stop_recording(bridge, recorder)
            else:
                recorder.close()
        if call.connected_at is not None:
            disposition = Disposition.ANSWERED
        elif call.overflow is not None:
            disposition = Disposition.NO_ANSWER
        else:
            disposition = Disposition.ABANDONED
        call.finished = QueueFinished(call, datetime.now(UTC), disposition)
        call.done.set_result(None)

    # -- plumbing -------------------------------------------------------------------------------

    def _safely(self, step: Callable[[], list]) -> list:
        try:
            return step()
        except QueueError as exc:  # a late event for a call the queue let go already
            log.debug("queue event ignored: %s", exc)
            return []

    def _rearm(self) -> None:
        deadline = self.center.next_deadline()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if deadline is not None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_at(max(deadline, loop.time()), self._poll)

    def _poll(self) -> None:
        self._timer = None
        self.run(self._safely(lambda: self.center.poll(self.now())))

    def _spawn(self, work) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


class QueueCallOwner(CallOwner):
    """A queue call's side of the agent call controls (agentcalls.py): its history, the
    agents' states in the call center, and the caller's way on."""

    hands_on = True

    def __init__(self, runtime: QueueRuntime, call: QueuedCall):
        self.runtime = runtime
        self.call = call

    def music(self) -> list:
        return self.runtime._music(self.call)

    def call_info(self) -> dict[str, str]:
        return {"call_id": self.call.leg.request.call_id, "queue": self.call.queue}

    def ring_seconds(self) -> float | None:
        """A consulted or transferred-to extension rings as long as the queue rings an
        agent (its `timeout`)."""
        queue = self.runtime.center.queues.get(self.call.queue)
        return queue.config.timeout if queue is not None else None

    def target_rung(self, extension: str, leg: Leg) -> None:
        self.call.agent_legs.append(AgentLeg(extension, leg))

    def target_engaged(self, extension: str) -> None:
        self._agents(lambda now: self.runtime.center.engage(extension, self.call.id, now))

    def target_released(self, extension: str) -> None:
        self._agents(lambda now: self.runtime.center.release(extension, now))

    def agent_left(self, leg: Leg, kind: TransferKind, target: str, *, stays: bool) -> None:
        call = self.call
        for record in call.agent_legs:
            if record.leg is leg:
                record.transferred = True
        if call.agent_leg is leg:
            call.agent_leg = None
        self._agents(
            lambda now: self.runtime.center.transfer_out(call.id, kind, target, now, stays=stays)
        )

    def agent_joined(self, leg: Leg, extension: str) -> None:
        self.call.agent_leg = leg
        self._agents(lambda now: self.runtime.center.transfer_in(self.call.id, extension, now))

    def agent_gone(self) -> None:
        self.runtime._agent_gone(self.call)

    def transfer_failed(self, target: str) -> None:
        self.runtime.requeue(self.call, target)

    def hand_on(self, leg: Leg, destination: Destination) -> None:
        self.agent_left(leg, TransferKind.BLIND, str(destination), stays=False)
        self.call.overflow = destination  # answer() carries the caller there
        self.runtime._finish(self.call)

    def _agents(self, step: Callable[[float], list]) -> None:
        try:
            actions = self.runtime._safely(lambda: step(self.runtime.now()))
        except AgentError as exc:  # he rings for a caller or talks to another one
            log.info("queue %s: call %s: %s", self.call.queue, self.call.id, exc)
            return
        self.runtime.run(actions)


def queue_call_record(finished: QueueFinished):
    """The CDR row of a caller's passage through a queue (callee: the queue, or the agent)."""
    call = finished.call
    side = call.hangup_side if finished.disposition == Disposition.ANSWERED else HangupSide.CALLER
    if finished.disposition == Disposition.NO_ANSWER:
        side = HangupSide.SYSTEM
    return call_record(
        call.leg.request.call_id,
        call.leg.number,
        call.queue,
        call.leg.started_at,
        call.connected_at,
        finished.ended_at,
        finished.disposition,
        side,
    )
