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
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from pbxd.callcenter.agents import LogEvent
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
from pbxd.media.engine import MediaEngine
from pbxd.services.cdr import Disposition, HangupSide
from pbxd.sip.errors import SipError

from ..cdr import call_record
from ..legs import InboundLeg, LegManager, OutboundLeg
from ..recording import CallRecording, start_recording
from ..scripting import LegWatcher, Prompts, play

log = logging.getLogger(__name__)

# What the queue says to a waiting caller; dropped when an agent answers.
WAITING_ANNOUNCEMENTS = frozenset({"position", "expected_wait", "periodic"})


@dataclass
class QueuedCall:
    id: str
    queue: str
    leg: InboundLeg
    watcher: LegWatcher
    joined_at: datetime
    ringing: dict[str, OutboundLeg] = field(default_factory=dict)
    stopped: set[str] = field(default_factory=set)  # agents told to stop while still dialing
    agent: str | None = None
    agent_leg: OutboundLeg | None = None
    connected_at: datetime | None = None
    recording: CallRecording | None = None
    overflow: Destination | None = None
    events: list[LogEvent] = field(default_factory=list)
    done: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    hangup_side: HangupSide = HangupSide.CALLER
    agent_hung_up: bool = False
    # (what, task) of the announcements not known to be over, in the order they play.
    announcements: list[tuple[str, asyncio.Task]] = field(default_factory=list)
    finished: QueueFinished | None = None

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
                log.info("queue %s: call %s overflows to %s", queue, call.id, call.overflow)
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
                agent, watcher, caller=call.leg.number, preferred_codecs=[codec] if codec else []
            )
        except SipError as exc:
            log.info("queue %s: agent %s not rung: %s", call.queue, agent, exc)
            self.run(self._safely(lambda: self.center.agent_failed(call.id, agent, self.now())))
            return
        if agent in call.stopped or call.done.done():
            out.cancel()
            return
        call.ringing[agent] = out

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
        call.connected_at = datetime.now(UTC)
        call.drop_waiting_announcements()
        pending = call.pending_announcements()
        if pending:  # the welcome and the agent's ID, played one after the other
            await asyncio.wait(
                {pending[-1], call.watcher.ended, out_ended(out)},
                return_when=asyncio.FIRST_COMPLETED,
            )
        if call.done.done() or call.leg.ended or out.ended:
            return
        caller_endpoint, agent_endpoint = call.leg.endpoint, out.endpoint
        assert caller_endpoint is not None and agent_endpoint is not None
        self.engine.stop_playing(caller_endpoint)
        bridge = self.engine.bridge([caller_endpoint, agent_endpoint])
        if self.recording_policy(call.queue) in ("all", "inbound"):
            call.recording = start_recording(
                self.engine, bridge, self.recordings_dir,
                f"q{call.queue}", call.leg.number, agent, call.id,
            )  # fmt: skip
        log.info("queue %s: call %s connected to agent %s", call.queue, call.id, agent)

    def _agent_gone(self, call: QueuedCall) -> None:
        if call.done.done():
            return
        call.hangup_side = HangupSide.CALLEE
        call.agent_hung_up = True
        self.run(self._safely(lambda: self.center.agent_hangup(call.id, self.now())))
        if call.leg.endpoint is not None:
            self.engine.unbridge(call.leg.endpoint)
        self._finish(call)

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

    # -- the end of a caller's stay ----------------------------------------------------------

    def _finish(self, call: QueuedCall) -> None:
        if call.done.done():
            return
        self.calls.pop(call.id, None)
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


def out_ended(leg: OutboundLeg) -> asyncio.Future:
    """A future done when `leg` ends (its watcher's `ended`)."""
    listener = leg.listener
    assert isinstance(listener, LegWatcher)
    return listener.ended


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
