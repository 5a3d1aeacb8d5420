"""One ACD queue, sans-IO: waiting callers, ring attempts, overflow, announcements.

Driven like pbxd/sip/transaction.py: every method takes `now` (loop clock, seconds) and returns
the actions the runtime must carry out, in order; `next_deadline()` says when the runtime must
call `poll(now)` at the latest. No asyncio, sockets, files or clocks here.

Events in (methods)            Actions out (frozen dataclasses)
  join(call, now)                LogEvent      append a row to the queue event log
  caller_hangup(call, now)       PlayMusic     start music on hold for the caller
  agent_answer(call, agent, now) Announce      play a prompt / say a number to the caller
  agent_failed(call, agent, now) RingAgents    ring these agents' phones for the call
  agent_hangup(call, now)        StopRinging   cancel those legs (or hang up a late answer)
  poll(now)                      Connect       bridge the caller with the agent
                                 Overflow      send the caller to a destination, leaves queue

The life of a caller
- join: beyond `max_length` waiting callers the caller does not join: EXIT_FULL,
  TRANSFER_OVERFLOW, Overflow(reason "full"). With `join_empty` false and no member logged in
  (paused members count as logged in): EXIT_EMPTY, TRANSFER_OVERFLOW, Overflow("empty").
  Otherwise ENTER (data: position), Announce("welcome") if a welcome prompt is set,
  Announce("position") / Announce("expected_wait") if enabled, PlayMusic.
- ring attempts: callers are served in position order (the head first); every caller who is
  not ringing and not in a retry pause gets an attempt from the agents available at that
  moment (so with several free agents several callers ring at once, "autofill"; an agent
  ringing for the head caller is not available to the next one). strategies.pick chooses:
  ringall rings the whole lowest-penalty tier at once, the other strategies one agent.
  RingAgents(call, agents, timeout) + a RING row per agent. If nobody answers within `timeout`
  seconds: RING_NO_ANSWER per agent, StopRinging, then a pause of `retry` seconds before the
  next attempt. An agent whose phone fails or refuses (`agent_failed`) gets RING_NO_ANSWER at
  once; when the last ringing agent of the attempt failed, the retry pause starts.
- answer: the first agent to answer gets the caller: the others stop ringing (StopRinging),
  CONNECT row (data "wait|ring" in whole seconds), Announce("agent_id") if enabled,
  Connect(call, agent). An answer that comes too late (the call left, or that agent is no
  longer ringing for it) gets StopRinging(call, (agent,)): the runtime hangs that leg up; the
  connected agent's answer reported again gets no action.
- end: caller_hangup while waiting: ABANDON (data "position|original position|wait").
  After Connect: caller_hangup -> COMPLETE_CALLER, agent_hangup -> COMPLETE_AGENT (data
  "wait|talk|original position"); the agent then wraps up for `wrapup` seconds (agents.py),
  WRAPUP_END when it ends, and is offered calls again.
- max wait: `max_wait` seconds after joining, a caller not yet connected leaves (any ringing is
  cancelled without RING_NO_ANSWER): EXIT_TIMEOUT ("position|original position|wait"),
  TRANSFER_OVERFLOW (data: the destination), Overflow(reason "timeout").
- leave_when_empty: when no member is logged in any more, every waiting caller leaves with
  EXIT_EMPTY, TRANSFER_OVERFLOW, Overflow("empty").
- periodic: every `periodic_interval` seconds after joining, a waiting caller hears
  Announce("periodic") (if a prompt is set) then position and expected wait (if enabled).

Expected wait (`expected_wait`, announced in whole minutes rounded up, at least 1)
- handle time H: exponential moving average of talk time + the queue's wrap-up seconds over
  completed calls, each new call weighing 1/4: H = (3 H + new) / 4; the first call sets H.
- wait time W: the same average over the waits (join -> connect) of connected callers.
- with n members logged in and not paused (n >= 1), the caller at position p expects
  H * p / n seconds (n agents free one place every H / n seconds); without any completed call
  yet, W (position-independent); without either, or with n == 0, None (nothing announced).

Transfers (agent call controls, issue 7): a connected agent hands his caller on with
`transfer_out(call, kind, target, now, stays)`: TRANSFER row (his; data "kind|target|wait|
talk|original position", kind blind or attended, target a destination "extension:3102",
"queue:601"; talk: his part of the call) and his wrap-up starts. With `stays` the call stays
connected in this queue, its agent seat empty until `transfer_in(call, agent, now)` (the
target answered: he is the call's agent now, engaged if he is an agent of the pool, and
its COMPLETE row will be his) or `requeue(call, target, now)` (nobody took it: the caller is
back at the head of the queue, TRANSFER_RETURN row "target|1", music, rung at once). Without
`stays` the caller leaves the queue (to another one). An agent who answers a consultation
is engaged (`CallCenter.engage`), and released when it ends without the caller.

Several queues share one AgentPool; an agent is offered one call at a time whatever the queue
(the shared state decides: `AgentPool.can_offer`). When agents change outside this queue
(login, unpause, wrap-up end, a call ending in another queue) the runtime must `poll(now)`
every queue, or use `CallCenter`, which routes the events, polls everything and serves
callers of all queues in order of their join time.
"""

from __future__ import annotations

import enum
import itertools
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .agents import AgentPool, AgentState, AgentStateError, LogEvent
from .destinations import HANGUP, Destination
from .strategies import (
    DEFAULT_STRATEGY,
    Member,
    member_order,
    pick,
    validate_strategy,
)

__all__ = [
    "Action",
    "Announce",
    "CallCenter",
    "CallStateError",
    "CallerPhase",
    "Connect",
    "LogEvent",
    "Overflow",
    "PlayMusic",
    "Queue",
    "QueueConfig",
    "QueueConfigError",
    "QueueError",
    "RingAgents",
    "StopRinging",
    "UnknownCallError",
]

# Weight of the newest call in the moving averages of handle and wait times.
AVERAGE_WEIGHT = 0.25


class QueueError(Exception):
    status = 400
    code = "queue_error"


class QueueConfigError(QueueError):
    code = "bad_queue_config"


class UnknownCallError(QueueError):
    status = 404
    code = "unknown_call"


class CallStateError(QueueError):
    status = 409
    code = "call_state"


@dataclass(frozen=True)
class QueueConfig:
    """A queue as configured through /api/v1/queues (CALLCENTER.md); times in seconds."""

    name: str
    strategy: str = DEFAULT_STRATEGY
    members: tuple[Member, ...] = ()  # static members, in this order
    timeout: float = 15.0  # one ring attempt
    retry: float = 5.0  # pause between attempts
    wrapup: float = 0.0
    max_wait: float = 0.0  # 0: no limit
    max_length: int = 0  # waiting callers; 0: no limit
    overflow: Destination = HANGUP
    join_empty: bool = True
    leave_when_empty: bool = False
    welcome_prompt: str = ""
    music: str = ""  # "" = the system music on hold
    announce_position: bool = False
    announce_wait: bool = False
    periodic_prompt: str = ""
    periodic_interval: float = 0.0  # 0: no periodic announcements
    announce_agent_id: bool = False

    def __post_init__(self) -> None:
        if not self.name:
            raise QueueConfigError("a queue needs a name (its number)")
        try:
            validate_strategy(self.strategy)
        except ValueError as exc:
            raise QueueConfigError(str(exc)) from None
        object.__setattr__(self, "members", tuple(self.members))
        seen = set()
        for m in self.members:
            if not isinstance(m, Member):
                raise QueueConfigError(f"queue {self.name}: members are Member(extension, penalty)")
            if m.extension in seen:
                raise QueueConfigError(f"queue {self.name}: member {m.extension} listed twice")
            seen.add(m.extension)
        if not self.timeout > 0:
            raise QueueConfigError(f"queue {self.name}: timeout must be > 0 s")
        for what in ("retry", "wrapup", "max_wait", "periodic_interval"):
            value = getattr(self, what)
            if not (math.isfinite(value) and value >= 0):
                raise QueueConfigError(f"queue {self.name}: {what} must be >= 0 s")
        if self.max_length < 0:
            raise QueueConfigError(f"queue {self.name}: max_length must be >= 0")
        if not isinstance(self.overflow, Destination):
            raise QueueConfigError(f"queue {self.name}: overflow must be a Destination")


# --- actions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RingAgents:
    call: str
    agents: tuple[str, ...]
    timeout: float


@dataclass(frozen=True)
class StopRinging:
    call: str
    agents: tuple[str, ...]


@dataclass(frozen=True)
class Connect:
    call: str
    agent: str


ANNOUNCEMENTS = frozenset({"welcome", "position", "expected_wait", "periodic", "agent_id"})


@dataclass(frozen=True)
class Announce:
    """what: welcome | periodic (prompt set) | position (value: int) | expected_wait (value:
    whole minutes) | agent_id (value: the agent's extension)."""

    call: str
    what: str
    prompt: str = ""
    value: int | str | None = None

    def __post_init__(self) -> None:
        if self.what not in ANNOUNCEMENTS:
            raise ValueError(f"unknown announcement {self.what!r}")


@dataclass(frozen=True)
class PlayMusic:
    call: str
    music: str  # "" = system music on hold


@dataclass(frozen=True)
class Overflow:
    call: str
    destination: Destination
    reason: str  # "timeout" | "full" | "empty"


Action = LogEvent | RingAgents | StopRinging | Connect | Announce | PlayMusic | Overflow


# --- the queue -------------------------------------------------------------------------------


class CallerPhase(enum.Enum):
    WAITING = "waiting"  # no agent ringing (no one available, or retry pause)
    RINGING = "ringing"
    CONNECTED = "connected"


@dataclass
class _Caller:
    call_id: str
    joined_at: float
    original_position: int
    phase: CallerPhase = CallerPhase.WAITING
    ringing: tuple[str, ...] = ()
    ring_started: float = 0.0
    ring_deadline: float = 0.0
    next_try_at: float | None = None  # None: ready as soon as an agent is available
    tried: set[str] = field(default_factory=set)
    pivot: str | None = None
    next_periodic: float | None = None
    agent: str = ""  # "" while a blind transfer rings its target: nobody in the seat
    connected_at: float = 0.0  # the first agent's answer (the wait ends there)
    agent_since: float = 0.0  # when the current agent got the caller (his talk time)


def _minutes(seconds: float) -> int:
    return max(1, math.ceil(seconds / 60))


class Queue:
    def __init__(
        self, config: QueueConfig, agents: AgentPool, rng: random.Random | None = None
    ) -> None:
        self.config = config
        self.agents = agents
        self.rng = rng if rng is not None else random.Random()
        self._waiting: list[_Caller] = []  # position order
        self._connected: dict[str, _Caller] = {}
        self._last_answerer: str | None = None
        self.average_handle: float | None = None
        self.average_wait: float | None = None
        for m in config.members:
            agents.add_static(m.extension, config.name, m.penalty)

    @property
    def name(self) -> str:
        return self.config.name

    # --- reading ---------------------------------------------------------------------------

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._connected or any(c.call_id == call_id for c in self._waiting)

    def waiting(self) -> list[str]:
        """Waiting callers (ringing ones included) in position order."""
        return [c.call_id for c in self._waiting]

    def waiting_since(self) -> list[tuple[str, float]]:
        """(call, join time) of the waiting callers, ringing ones included, in position order
        (the wallboard's waiting count and longest wait)."""
        return [(c.call_id, c.joined_at) for c in self._waiting]

    def connected(self) -> dict[str, str]:
        """call -> agent for the calls connected and not yet completed."""
        return {call: c.agent for call, c in self._connected.items()}

    def phase(self, call_id: str) -> CallerPhase:
        return self._get(call_id).phase

    def ringing(self, call_id: str) -> tuple[str, ...]:
        return self._get(call_id).ringing

    def position(self, call_id: str) -> int | None:
        """1 for the head of the queue; None once connected."""
        for i, c in enumerate(self._waiting):
            if c.call_id == call_id:
                return i + 1
        if call_id in self._connected:
            return None
        raise UnknownCallError(f"call {call_id} is not in queue {self.name}")

    def estimate_wait(self, position: int) -> float | None:
        """Expected wait in seconds at `position` (module docstring)."""
        agents = self.agents.working(self.name)
        if agents == 0:
            return None
        if self.average_handle is not None:
            return self.average_handle * position / agents
        return self.average_wait

    def expected_wait(self, call_id: str) -> float | None:
        position = self.position(call_id)
        return None if position is None else self.estimate_wait(position)

    def next_deadline(self) -> float | None:
        deadlines = [self.agents.next_deadline()]
        for c in self._waiting:
            if c.phase is CallerPhase.RINGING:
                deadlines.append(c.ring_deadline)
            else:
                deadlines.append(c.next_try_at)
            if self.config.max_wait:
                deadlines.append(c.joined_at + self.config.max_wait)
            deadlines.append(c.next_periodic)
        return min((d for d in deadlines if d is not None), default=None)

    # --- events ----------------------------------------------------------------------------

    def join(self, call_id: str, now: float) -> list[Action]:
        return self._join(call_id, now) + self.poll(now)

    def caller_hangup(self, call_id: str, now: float) -> list[Action]:
        return self._caller_hangup(call_id, now) + self.poll(now)

    def agent_answer(self, call_id: str, agent: str, now: float) -> list[Action]:
        return self._agent_answer(call_id, agent, now) + self.poll(now)

    def agent_failed(self, call_id: str, agent: str, now: float) -> list[Action]:
        return self._agent_failed(call_id, agent, now) + self.poll(now)

    def agent_hangup(self, call_id: str, now: float) -> list[Action]:
        return self._agent_hangup(call_id, now) + self.poll(now)

    def poll(self, now: float) -> list[Action]:
        """Run what is due at `now` (timeouts, wrap-up ends, announcements) and ring agents."""
        actions: list[Action] = list(self.agents.poll(now))
        actions += self._expire(now)
        for c in list(self._waiting):
            if self._ready(c, now):
                actions += self._attempt(c, now)
        return actions

    # --- event handlers without the final poll (CallCenter runs one poll for all) ----------

    def _join(self, call_id: str, now: float) -> list[Action]:
        cfg = self.config
        if call_id in self:
            raise CallStateError(f"call {call_id} is already in queue {self.name}")
        position = len(self._waiting) + 1
        if cfg.max_length and len(self._waiting) >= cfg.max_length:
            return self._refuse(call_id, now, "EXIT_FULL", "full", position)
        if not cfg.join_empty and not self.agents.logged_in(self.name):
            return self._refuse(call_id, now, "EXIT_EMPTY", "empty", position)
        c = _Caller(call_id, now, position)
        if cfg.periodic_interval and (
            cfg.periodic_prompt or cfg.announce_position or cfg.announce_wait
        ):
            c.next_periodic = now + cfg.periodic_interval
        self._waiting.append(c)
        actions: list[Action] = [LogEvent(now, call_id, self.name, "", "ENTER", str(position))]
        if cfg.welcome_prompt:
            actions.append(Announce(call_id, "welcome", cfg.welcome_prompt))
        actions += self._position_announcements(c)
        actions.append(PlayMusic(call_id, cfg.music))
        return actions

    def _caller_hangup(self, call_id: str, now: float) -> list[Action]:
        c = self._get(call_id)
        if c.phase is CallerPhase.CONNECTED:
            return self._complete(c, now, "COMPLETE_CALLER")
        actions = self._cancel_ringing(c, now)
        data = f"{self._position_of(c)}|{c.original_position}|{round(now - c.joined_at)}"
        self._waiting.remove(c)
        return actions + [LogEvent(now, call_id, self.name, "", "ABANDON", data)]

    def _agent_answer(self, call_id: str, agent: str, now: float) -> list[Action]:
        c = self._find(call_id)
        if c is not None and c.phase is CallerPhase.CONNECTED and c.agent == agent:
            return []  # the same answer reported twice: the call goes on
        if c is None or c.phase is not CallerPhase.RINGING or agent not in c.ringing:
            return [StopRinging(call_id, (agent,))]  # too late: hang up the agent's leg
        others = tuple(a for a in c.ringing if a != agent)
        for other in others:
            self.agents.stop_ringing(other, now)
        actions: list[Action] = [StopRinging(call_id, others)] if others else []
        wait = now - c.joined_at
        data = f"{round(wait)}|{round(now - c.ring_started)}"
        actions += self.agents.answer(agent, now, data)
        self.average_wait = self._average(self.average_wait, wait)
        self._last_answerer = agent
        self._waiting.remove(c)
        c.phase, c.ringing, c.agent, c.connected_at = CallerPhase.CONNECTED, (), agent, now
        c.agent_since = now
        self._connected[call_id] = c
        if self.config.announce_agent_id:
            actions.append(Announce(call_id, "agent_id", value=agent))
        actions.append(Connect(call_id, agent))
        return actions

    def _agent_failed(self, call_id: str, agent: str, now: float) -> list[Action]:
        c = self._find(call_id)
        if c is None or c.phase is not CallerPhase.RINGING or agent not in c.ringing:
            return []  # stale: that attempt is already over
        actions: list[Action] = list(self.agents.ring_no_answer(agent, now))
        c.ringing = tuple(a for a in c.ringing if a != agent)
        if not c.ringing:
            c.phase, c.next_try_at = CallerPhase.WAITING, now + self.config.retry
        return actions

    def _agent_hangup(self, call_id: str, now: float) -> list[Action]:
        c = self._get(call_id)
        if c.phase is not CallerPhase.CONNECTED:
            raise CallStateError(f"call {call_id}: the agent hung up but it is not connected")
        return self._complete(c, now, "COMPLETE_AGENT")

    def _transfer_out(
        self, call_id: str, kind: str, target: str, now: float, *, stays: bool
    ) -> list[Action]:
        c = self._connected_call(call_id, "transfer")
        if not c.agent:
            raise CallStateError(f"call {call_id}: no agent to hand it on (a transfer rings)")
        wait, talk = round(c.connected_at - c.joined_at), round(now - c.agent_since)
        data = f"{kind}|{target}|{wait}|{talk}|{c.original_position}"
        rows = self._agent_row(c, now, "TRANSFER", data)
        if stays:
            c.agent, c.agent_since = "", now
        else:
            self.average_handle = self._average(
                self.average_handle, now - c.connected_at + self.config.wrapup
            )
            del self._connected[c.call_id]
        return rows

    def _transfer_in(self, call_id: str, agent: str, now: float) -> list[Action]:
        c = self._connected_call(call_id, "transfer_in")
        if c.agent and c.agent != agent:
            raise CallStateError(f"call {call_id}: agent {c.agent} still has it")
        c.agent, c.agent_since = agent, now
        if agent not in self.agents or self._on_this_call(agent, call_id):
            return []  # no agent of ours (a team leader), or engaged for its consultation
        try:
            return list(self.agents.engage(agent, call_id, self.name, now))
        except AgentStateError:  # his phone took it while he rings for another caller
            return []

    def _requeue(self, call_id: str, target: str, now: float) -> list[Action]:
        c = self._connected_call(call_id, "requeue")
        if c.agent:
            raise CallStateError(f"call {call_id}: agent {c.agent} still has it")
        del self._connected[call_id]
        c.phase, c.ringing, c.next_try_at, c.agent = CallerPhase.WAITING, (), None, ""
        if c.next_periodic is not None:
            c.next_periodic = now + self.config.periodic_interval
        self._waiting.insert(0, c)  # at the head: he was answered once already
        return [
            LogEvent(now, call_id, self.name, "", "TRANSFER_RETURN", f"{target}|1"),
            PlayMusic(call_id, self.config.music),
        ]

    # --- internals -------------------------------------------------------------------------

    def _get(self, call_id: str) -> _Caller:
        c = self._find(call_id)
        if c is None:
            raise UnknownCallError(f"call {call_id} is not in queue {self.name}")
        return c

    def _find(self, call_id: str) -> _Caller | None:
        if call_id in self._connected:
            return self._connected[call_id]
        return next((c for c in self._waiting if c.call_id == call_id), None)

    def _position_of(self, c: _Caller) -> int:
        return self._waiting.index(c) + 1

    def _ready(self, c: _Caller, now: float) -> bool:
        return c.phase is CallerPhase.WAITING and (c.next_try_at is None or c.next_try_at <= now)

    def _refuse(
        self, call_id: str, now: float, event: str, reason: str, position: int
    ) -> list[Action]:
        return [
            LogEvent(now, call_id, self.name, "", event, f"{position}|{position}|0"),
            LogEvent(now, call_id, self.name, "", "TRANSFER_OVERFLOW", str(self.config.overflow)),
            Overflow(call_id, self.config.overflow, reason),
        ]

    def _leave(self, c: _Caller, now: float, event: str, reason: str) -> list[Action]:
        actions = self._cancel_ringing(c, now)
        data = f"{self._position_of(c)}|{c.original_position}|{round(now - c.joined_at)}"
        self._waiting.remove(c)
        return actions + [
            LogEvent(now, c.call_id, self.name, "", event, data),
            LogEvent(now, c.call_id, self.name, "", "TRANSFER_OVERFLOW", str(self.config.overflow)),
            Overflow(c.call_id, self.config.overflow, reason),
        ]

    def _cancel_ringing(self, c: _Caller, now: float) -> list[Action]:
        if c.phase is not CallerPhase.RINGING:
            return []
        for agent in c.ringing:
            self.agents.stop_ringing(agent, now)
        stopped, c.ringing, c.phase = c.ringing, (), CallerPhase.WAITING
        return [StopRinging(c.call_id, stopped)]

    def _complete(self, c: _Caller, now: float, event: str) -> list[Action]:
        talk = now - c.agent_since  # the current agent's part (all of it without transfers)
        data = f"{round(c.connected_at - c.joined_at)}|{round(talk)}|{c.original_position}"
        rows = self._agent_row(c, now, event, data)
        handle = now - c.connected_at + self.config.wrapup
        self.average_handle = self._average(self.average_handle, handle)
        del self._connected[c.call_id]
        return rows

    def _agent_row(self, c: _Caller, now: float, event: str, data: str) -> list[Action]:
        """The agent's row that ends his part of the call, and his wrap-up; a party the pool
        does not have on this call (a team leader, an empty seat) gets the row only."""
        if self._on_this_call(c.agent, c.call_id):
            return list(self.agents.end_call(c.agent, now, self.config.wrapup, event, data))
        return [LogEvent(now, c.call_id, self.name, c.agent, event, data)]

    def _on_this_call(self, agent: str, call_id: str) -> bool:
        if agent not in self.agents:
            return False
        view = self.agents.view(agent)
        return view.call_id == call_id and view.state is AgentState.ON_CALL

    def _connected_call(self, call_id: str, event: str) -> _Caller:
        c = self._get(call_id)
        if c.phase is not CallerPhase.CONNECTED:
            raise CallStateError(f"call {call_id}: {event} but it is not connected")
        return c

    @staticmethod
    def _average(old: float | None, new: float) -> float:
        return new if old is None else (1 - AVERAGE_WEIGHT) * old + AVERAGE_WEIGHT * new

    def _position_announcements(self, c: _Caller) -> list[Action]:
        actions: list[Action] = []
        position = self._position_of(c)
        if self.config.announce_position:
            actions.append(Announce(c.call_id, "position", value=position))
        if self.config.announce_wait:
            estimate = self.estimate_wait(position)
            if estimate is not None:
                actions.append(Announce(c.call_id, "expected_wait", value=_minutes(estimate)))
        return actions

    def _expire(self, now: float) -> list[Action]:
        cfg = self.config
        actions: list[Action] = []
        for c in list(self._waiting):
            exit_at = c.joined_at + cfg.max_wait if cfg.max_wait else math.inf
            if (
                c.phase is CallerPhase.RINGING
                and c.ring_deadline <= now
                and c.ring_deadline < exit_at
            ):
                actions += self._ring_timeout(c, now)
            if exit_at <= now:
                actions += self._leave(c, now, "EXIT_TIMEOUT", "timeout")
        if cfg.leave_when_empty and self._waiting and not self.agents.logged_in(self.name):
            for c in list(self._waiting):
                actions += self._leave(c, now, "EXIT_EMPTY", "empty")
        for c in self._waiting:
            if c.next_periodic is not None and c.next_periodic <= now:
                if cfg.periodic_prompt:
                    actions.append(Announce(c.call_id, "periodic", cfg.periodic_prompt))
                actions += self._position_announcements(c)
                while c.next_periodic <= now:  # a late poll plays it once, not in a burst
                    c.next_periodic += cfg.periodic_interval
        return actions

    def _ring_timeout(self, c: _Caller, now: float) -> list[Action]:
        actions: list[Action] = []
        for agent in c.ringing:
            actions += self.agents.ring_no_answer(agent, now)
        actions.append(StopRinging(c.call_id, c.ringing))
        c.ringing, c.phase = (), CallerPhase.WAITING
        c.next_try_at = now + self.config.retry
        return actions

    def _attempt(self, c: _Caller, now: float) -> list[Action]:
        cfg = self.config
        members = member_order(
            cfg.strategy, self.agents.members(self.name), [m.extension for m in cfg.members]
        )
        available = {m.extension for m in members if self.agents.can_offer(m.extension, self.name)}
        attempt = pick(
            cfg.strategy,
            members,
            available,
            tried=c.tried,
            pivot=c.pivot if c.pivot is not None else self._last_answerer,
            stats={m.extension: self.agents.stats(m.extension, self.name) for m in members},
            rng=self.rng,
        )
        c.next_try_at = None  # from now on: ring as soon as someone is available
        if not attempt.agents:
            return []
        if attempt.new_round:
            c.tried.clear()
        c.tried.update(attempt.agents)
        c.pivot = attempt.agents[-1]
        actions: list[Action] = []
        for agent in attempt.agents:
            actions += self.agents.offer(agent, c.call_id, self.name, now)
        c.phase, c.ringing = CallerPhase.RINGING, attempt.agents
        c.ring_started, c.ring_deadline = now, now + cfg.timeout
        actions.append(RingAgents(c.call_id, attempt.agents, cfg.timeout))
        return actions


# --- several queues over one agent pool ------------------------------------------------------


class CallCenter:
    """All queues over one AgentPool: routes events by call, polls every queue after each
    event, and serves the ready callers of all queues in order of their join time."""

    def __init__(self, agents: AgentPool | None = None, rng: random.Random | None = None):
        self.agents = agents if agents is not None else AgentPool()
        self.rng = rng if rng is not None else random.Random()
        self.queues: dict[str, Queue] = {}
        self._call_queue: dict[str, Queue] = {}

    def add_queue(self, config: QueueConfig) -> Queue:
        if config.name in self.queues:
            raise QueueConfigError(f"queue {config.name} exists")
        queue = Queue(config, self.agents, self.rng)
        self.queues[config.name] = queue
        return queue

    def queue_of(self, call_id: str) -> Queue:
        try:
            return self._call_queue[call_id]
        except KeyError:
            raise UnknownCallError(f"call {call_id} is in no queue") from None

    def join(self, queue: str, call_id: str, now: float) -> list[Action]:
        if call_id in self._call_queue:
            raise CallStateError(
                f"call {call_id} is already in queue {self._call_queue[call_id].name}"
            )
        q = self.queues[queue]
        actions = q._join(call_id, now)
        if call_id in q:
            self._call_queue[call_id] = q
        return actions + self.poll(now)

    def caller_hangup(self, call_id: str, now: float) -> list[Action]:
        return self._route(call_id, now, lambda q: q._caller_hangup(call_id, now))

    def agent_answer(self, call_id: str, agent: str, now: float) -> list[Action]:
        q = self._call_queue.get(call_id)
        if q is None:
            return [StopRinging(call_id, (agent,))] + self.poll(now)
        return self._route(call_id, now, lambda q: q._agent_answer(call_id, agent, now))

    def agent_failed(self, call_id: str, agent: str, now: float) -> list[Action]:
        if call_id not in self._call_queue:
            return self.poll(now)
        return self._route(call_id, now, lambda q: q._agent_failed(call_id, agent, now))

    def agent_hangup(self, call_id: str, now: float) -> list[Action]:
        return self._route(call_id, now, lambda q: q._agent_hangup(call_id, now))

    # -- transfers (module docstring) --

    def transfer_out(
        self, call_id: str, kind: str, target: str, now: float, *, stays: bool
    ) -> list[Action]:
        return self._route(
            call_id, now, lambda q: q._transfer_out(call_id, kind, target, now, stays=stays)
        )

    def transfer_in(self, call_id: str, agent: str, now: float) -> list[Action]:
        return self._route(call_id, now, lambda q: q._transfer_in(call_id, agent, now))

    def requeue(self, call_id: str, target: str, now: float) -> list[Action]:
        return self._route(call_id, now, lambda q: q._requeue(call_id, target, now))

    def engage(self, extension: str, call_id: str, now: float) -> list[Action]:
        """`extension` answered a consultation about `call_id`: on that call (AgentPool);
        nothing for an extension that is no agent. AgentStateError while he rings for a
        caller or talks to another one."""
        queue = self.queue_of(call_id).name
        if extension not in self.agents:
            return []
        return list(self.agents.engage(extension, call_id, queue, now)) + self.poll(now)

    def release(self, extension: str, now: float) -> list[Action]:
        """The consultation ended without handing him the caller: free for the queues."""
        if extension not in self.agents or self.agents.state(extension) is not AgentState.ON_CALL:
            return []
        return list(self.agents.release(extension, now)) + self.poll(now)

    def login(
        self, extension: str, queues: Iterable[str], now: float, penalty: int = 0
    ) -> list[Action]:
        return list(self.agents.login(extension, queues, now, penalty)) + self.poll(now)

    def logout(
        self, extension: str, now: float, queues: Iterable[str] | None = None
    ) -> list[Action]:
        return list(self.agents.logout(extension, now, queues)) + self.poll(now)

    def pause(self, extension: str, now: float, reason: str = "") -> list[Action]:
        return list(self.agents.pause(extension, now, reason)) + self.poll(now)

    def unpause(self, extension: str, now: float) -> list[Action]:
        return list(self.agents.unpause(extension, now)) + self.poll(now)

    def poll(self, now: float) -> list[Action]:
        actions: list[Action] = list(self.agents.poll(now))
        for q in self.queues.values():
            actions += q._expire(now)
        order = itertools.count()
        ready = sorted(
            (c.joined_at, next(order), q, c)
            for q in self.queues.values()
            for c in q._waiting
            if q._ready(c, now)
        )
        for _, _, q, c in ready:
            actions += q._attempt(c, now)
        self._forget_gone()
        return actions

    def next_deadline(self) -> float | None:
        deadlines = [q.next_deadline() for q in self.queues.values()]
        deadlines.append(self.agents.next_deadline())
        return min((d for d in deadlines if d is not None), default=None)

    def _route(
        self, call_id: str, now: float, handler: Callable[[Queue], list[Action]]
    ) -> list[Action]:
        actions = handler(self.queue_of(call_id))
        return actions + self.poll(now)

    def _forget_gone(self) -> None:
        for call_id, q in list(self._call_queue.items()):
            if call_id not in q:
                del self._call_queue[call_id]
