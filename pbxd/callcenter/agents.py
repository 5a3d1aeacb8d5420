"""Agent state, one per extension, shared by every queue the agent works in (sans-IO).

An agent is logged in to a set of queues (static members are always logged in to the queues
that list them; dynamic members log in and out, `*45`), may be paused with a reason (`*46`,
"示忙") and does one thing at a time (its *activity*):

    IDLE --offer--> RINGING --answer--> ON_CALL --end_call--> WRAPUP --wrapup_end--> IDLE
                    RINGING --no_answer / stop_ringing--> IDLE
                    ON_CALL --end_call (wrap-up 0 s)--> IDLE
    IDLE, WRAPUP --engage--> ON_CALL --release--> IDLE

`engage` and `release` are for calls no queue offered (agent call controls, issue 7): an
agent who answers a consultation or a transferred caller is on that call from then on (his
wrap-up, if any, is cut short: WRAPUP_END), whatever his logins and pause; a consultation
that ends without handing him the caller releases him (no row, no wrap-up). A transferred
caller's call ends for him like any other (`end_call`), with its own wrap-up.

The transitions are the table `_TRANSITIONS`; anything else raises `AgentStateError` naming the
event, the agent and its state. Because the state is one per agent, an agent in several
queues is never offered two calls at once: `offer` refuses an agent that is not available.
Available (`can_offer`) = logged in to that queue, IDLE, not paused. Pausing and logging out
are allowed in any activity: they only stop *new* offers (a call already ringing or connected
goes on).

Every change returns the queue-log rows it produces (`LogEvent`, time-stamped with `now`);
the runtime appends them to the queue event log. Agent rows: LOGIN, LOGOUT, PAUSE (data: the
reason), UNPAUSE, one per queue concerned; RING, RING_NO_ANSWER, CONNECT, COMPLETE_CALLER /
COMPLETE_AGENT, TRANSFER (he handed the caller on) and WRAPUP_END for the queue of the call
(data given by the queue). Static
members produce no LOGIN row: they are members by configuration. `stop_ringing` (another agent
answered, or the caller left) produces no row.

Wrap-up ends by time: `poll(now)` returns WRAPUP_END rows; `next_deadline()` says when.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .strategies import Member, MemberStats

__all__ = [
    "LOG_EVENTS",
    "Activity",
    "AgentError",
    "AgentPool",
    "AgentStateError",
    "AgentState",
    "AgentView",
    "LogEvent",
    "UnknownAgentError",
]

LOG_EVENTS = frozenset(
    {
        # caller events (queue.py)
        "ENTER",
        "CONNECT",
        "COMPLETE_CALLER",
        "COMPLETE_AGENT",
        "ABANDON",
        "EXIT_TIMEOUT",
        "EXIT_FULL",
        "EXIT_EMPTY",
        "TRANSFER_OVERFLOW",
        "TRANSFER_RETURN",  # a blind transfer nobody took: the caller is back in the queue
        "SURVEY",
        # agent events (this module)
        "RING",
        "RING_NO_ANSWER",
        "TRANSFER",  # the agent handed his caller on (blind or attended)
        "LOGIN",
        "LOGOUT",
        "PAUSE",
        "UNPAUSE",
        "WRAPUP_END",
    }
)


class AgentError(Exception):
    """Base of agent errors; `status` is the HTTP status the API answers with."""

    status = 400
    code = "agent_error"


class UnknownAgentError(AgentError):
    status = 404
    code = "unknown_agent"


class AgentStateError(AgentError):
    """An event the agent's state does not allow (e.g. offering a call to a ringing agent)."""

    status = 409
    code = "agent_state"

    def __init__(self, event: str, extension: str, state: AgentState, detail: str = ""):
        super().__init__(
            f"{event}: illegal for agent {extension} in state {state.value}"
            + (f" ({detail})" if detail else "")
        )
        self.event = event
        self.extension = extension
        self.state = state


@dataclass(frozen=True)
class LogEvent:
    """One row of the queue event log (CALLCENTER.md "History"); also a queue action."""

    time: float
    call_id: str  # "" for agent rows without a call (LOGIN, PAUSE ...)
    queue: str
    agent: str  # "" for caller rows without an agent (ENTER, ABANDON ...)
    event: str
    data: str = ""

    def __post_init__(self) -> None:
        if self.event not in LOG_EVENTS:
            raise ValueError(f"unknown queue log event {self.event!r}")
        if not math.isfinite(self.time):
            raise ValueError("a queue log row needs a finite time")


class Activity(Enum):
    IDLE = "idle"
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAPUP = "wrapup"


class AgentState(Enum):
    """What the API and the wallboard show: one value per agent."""

    LOGGED_OUT = "logged_out"
    IDLE = "idle"
    PAUSED = "paused"  # logged in, paused and idle (a paused agent on a call shows ON_CALL)
    RINGING = "ringing"
    ON_CALL = "on_call"
    WRAPUP = "wrapup"


# (activity, event) -> next activity. end_call goes to WRAPUP, or straight to IDLE without one.
_TRANSITIONS: dict[tuple[Activity, str], Activity] = {
    (Activity.IDLE, "offer"): Activity.RINGING,
    (Activity.RINGING, "no_answer"): Activity.IDLE,
    (Activity.RINGING, "stop_ringing"): Activity.IDLE,
    (Activity.RINGING, "answer"): Activity.ON_CALL,
    (Activity.ON_CALL, "end_call"): Activity.WRAPUP,
    (Activity.WRAPUP, "wrapup_end"): Activity.IDLE,
    (Activity.IDLE, "engage"): Activity.ON_CALL,
    (Activity.WRAPUP, "engage"): Activity.ON_CALL,
    (Activity.ON_CALL, "release"): Activity.IDLE,
}


@dataclass(frozen=True)
class AgentView:
    """A read-only snapshot of one agent (for the API and for tests)."""

    extension: str
    state: AgentState
    queues: tuple[str, ...]  # logged in to (static and dynamic), sorted
    static_queues: tuple[str, ...]
    paused: bool
    pause_reason: str
    call_id: str | None  # ringing for / connected to
    call_queue: str | None
    wrapup_until: float | None
    last_call_end: float | None
    since: float | None = None  # when `state` last changed; None: not since the pool began


@dataclass
class _Agent:
    extension: str
    # queue -> (join sequence, penalty); the sequence orders members by join time
    queues: dict[str, tuple[int, int]] = field(default_factory=dict)
    static: set[str] = field(default_factory=set)
    paused: bool = False
    pause_reason: str = ""
    activity: Activity = Activity.IDLE
    call_id: str | None = None
    call_queue: str | None = None
    ring_started: float | None = None
    wrapup_until: float | None = None
    rung: Counter[str] = field(default_factory=Counter)
    answered: Counter[str] = field(default_factory=Counter)
    last_call_end: float | None = None
    since: float | None = None

    @property
    def state(self) -> AgentState:
        if not self.queues and self.activity is Activity.IDLE:
            return AgentState.LOGGED_OUT
        if self.activity is Activity.IDLE:
            return AgentState.PAUSED if self.paused else AgentState.IDLE
        return AgentState(self.activity.value)


def _stamps_state_change(method: Callable[..., list[LogEvent]]) -> Callable[..., list[LogEvent]]:
    """Wraps an AgentPool method taking `extension` and `now`: when the agent's state changes,
    `since` becomes `now` (the wallboard's "time in state")."""
    signature = inspect.signature(method)

    @functools.wraps(method)
    def stamped(pool: AgentPool, *args: Any, **kwargs: Any) -> list[LogEvent]:
        arguments = signature.bind(pool, *args, **kwargs).arguments
        extension, now = arguments["extension"], arguments["now"]
        before = pool.state(extension)
        rows = method(pool, *args, **kwargs)
        agent = pool._agents.get(extension)
        if agent is not None and agent.state is not before:
            agent.since = now
        return rows

    return stamped


class AgentPool:
    """All agents of the system. Queues share one pool; the runtime owns it."""

    def __init__(self) -> None:
        self._agents: dict[str, _Agent] = {}
        self._sequence = itertools.count()

    # --- reading ---------------------------------------------------------------------------

    def __contains__(self, extension: object) -> bool:
        return extension in self._agents

    def view(self, extension: str) -> AgentView:
        a = self._get(extension)
        return AgentView(
            extension=a.extension,
            state=a.state,
            queues=tuple(sorted(a.queues)),
            static_queues=tuple(sorted(a.static)),
            paused=a.paused,
            pause_reason=a.pause_reason,
            call_id=a.call_id,
            call_queue=a.call_queue,
            wrapup_until=a.wrapup_until,
            last_call_end=a.last_call_end,
            since=a.since,
        )

    def state(self, extension: str) -> AgentState:
        return self._get(extension).state if extension in self._agents else AgentState.LOGGED_OUT

    def extensions(self) -> list[str]:
        return sorted(self._agents)

    def members(self, queue: str) -> list[Member]:
        """The members logged in to `queue`, in join order (static ones first as configured)."""
        joined = [
            (a.queues[queue], a.extension) for a in self._agents.values() if queue in a.queues
        ]
        joined.sort()
        return [Member(ext, penalty) for (_, penalty), ext in joined]

    def logged_in(self, queue: str) -> bool:
        return any(queue in a.queues for a in self._agents.values())

    def working(self, queue: str) -> int:
        """Members of `queue` logged in and not paused (they will take calls sooner or later)."""
        return sum(1 for a in self._agents.values() if queue in a.queues and not a.paused)

    def can_offer(self, extension: str, queue: str) -> bool:
        a = self._agents.get(extension)
        return a is not None and queue in a.queues and a.activity is Activity.IDLE and not a.paused

    def stats(self, extension: str, queue: str) -> MemberStats:
        a = self._get(extension)
        return MemberStats(a.rung[queue], a.answered[queue], a.last_call_end)

    def next_deadline(self) -> float | None:
        ends = [a.wrapup_until for a in self._agents.values() if a.wrapup_until is not None]
        return min(ends, default=None)

    # --- configuration and the agent's own actions ----------------------------------------

    def add_static(self, extension: str, queue: str, penalty: int = 0) -> None:
        """A configured member: logged in to `queue` for good (no LOGIN row)."""
        Member(extension, penalty)  # validates
        a = self._agents.setdefault(extension, _Agent(extension))
        a.static.add(queue)
        if queue not in a.queues:
            a.queues[queue] = (next(self._sequence), penalty)

    def remove_static(self, extension: str, queue: str) -> None:
        """Configuration change: `extension` is no longer a static member of `queue`."""
        a = self._get(extension)
        a.static.discard(queue)
        a.queues.pop(queue, None)

    @_stamps_state_change
    def login(
        self, extension: str, queues: Iterable[str], now: float, penalty: int = 0
    ) -> list[LogEvent]:
        """Dynamic login; queues already logged in to are left as they are (no row)."""
        Member(extension, penalty)
        queues = list(queues)
        if not queues:
            raise AgentError(f"agent {extension}: log in to which queue?")
        a = self._agents.setdefault(extension, _Agent(extension))
        rows = []
        for queue in queues:
            if queue in a.queues:
                continue
            a.queues[queue] = (next(self._sequence), penalty)
            rows.append(LogEvent(now, "", queue, extension, "LOGIN"))
        return rows

    @_stamps_state_change
    def logout(
        self, extension: str, now: float, queues: Iterable[str] | None = None
    ) -> list[LogEvent]:
        """Dynamic logout, from `queues` or from every dynamic queue. Static ones refuse."""
        a = self._get(extension)
        targets = sorted(a.queues) if queues is None else list(queues)
        if queues is not None:
            for queue in targets:
                if queue in a.static:
                    raise AgentStateError(
                        "logout", extension, a.state, f"static member of queue {queue}"
                    )
        rows = []
        for queue in targets:
            if queue in a.queues and queue not in a.static:
                del a.queues[queue]
                rows.append(LogEvent(now, "", queue, extension, "LOGOUT"))
        return rows

    @_stamps_state_change
    def pause(self, extension: str, now: float, reason: str = "") -> list[LogEvent]:
        """Stop new offers (every queue). Pausing again with another reason updates it."""
        a = self._get(extension)
        if not a.queues:
            raise AgentStateError("pause", extension, a.state, "not logged in")
        if a.paused and a.pause_reason == reason:
            return []
        a.paused, a.pause_reason = True, reason
        return [LogEvent(now, "", q, extension, "PAUSE", reason) for q in sorted(a.queues)]

    @_stamps_state_change
    def unpause(self, extension: str, now: float) -> list[LogEvent]:
        a = self._get(extension)
        if not a.paused:
            return []
        a.paused, a.pause_reason = False, ""
        return [LogEvent(now, "", q, extension, "UNPAUSE") for q in sorted(a.queues)]

    # --- what queues do to agents ---------------------------------------------------------

    @_stamps_state_change
    def offer(self, extension: str, call_id: str, queue: str, now: float) -> list[LogEvent]:
        """Start ringing the agent for `call_id` of `queue`: RING."""
        a = self._get(extension)
        if not self.can_offer(extension, queue):
            detail = "paused" if a.paused else f"not logged in to {queue}"
            if a.activity is not Activity.IDLE:
                detail = f"busy with call {a.call_id}" if a.call_id else a.activity.value
            raise AgentStateError("offer", extension, a.state, detail)
        self._move(a, "offer")
        a.call_id, a.call_queue, a.ring_started = call_id, queue, now
        a.rung[queue] += 1
        return [LogEvent(now, call_id, queue, extension, "RING")]

    @_stamps_state_change
    def ring_no_answer(self, extension: str, now: float) -> list[LogEvent]:
        """The ring timed out or the agent's phone refused: RING_NO_ANSWER (data: ring ms)."""
        a = self._get(extension)
        call_id, queue, started = a.call_id, a.call_queue, a.ring_started
        self._move(a, "no_answer")
        self._forget_call(a)
        ring_ms = round((now - (started if started is not None else now)) * 1000)
        return [
            LogEvent(now, call_id or "", queue or "", extension, "RING_NO_ANSWER", str(ring_ms))
        ]

    @_stamps_state_change
    def stop_ringing(self, extension: str, now: float) -> list[LogEvent]:
        """Another agent answered or the caller left: back to idle, no row."""
        a = self._get(extension)
        self._move(a, "stop_ringing")
        self._forget_call(a)
        return []

    @_stamps_state_change
    def answer(self, extension: str, now: float, data: str = "") -> list[LogEvent]:
        """The agent answered the call it was ringing for: CONNECT."""
        a = self._get(extension)
        self._move(a, "answer")
        a.ring_started = None
        assert a.call_queue is not None and a.call_id is not None
        a.answered[a.call_queue] += 1
        return [LogEvent(now, a.call_id, a.call_queue, extension, "CONNECT", data)]

    @_stamps_state_change
    def end_call(
        self, extension: str, now: float, wrapup: float, event: str, data: str = ""
    ) -> list[LogEvent]:
        """The connected call ended for him (event COMPLETE_CALLER or COMPLETE_AGENT, or
        TRANSFER: he handed the caller on); wrap-up starts."""
        if event not in ("COMPLETE_CALLER", "COMPLETE_AGENT", "TRANSFER"):
            raise ValueError(f"end_call: event {event!r}")
        a = self._get(extension)
        call_id, queue = a.call_id or "", a.call_queue or ""
        self._move(a, "end_call")
        a.last_call_end = now
        rows = [LogEvent(now, call_id, queue, extension, event, data)]
        if wrapup > 0:
            a.wrapup_until = now + wrapup
        else:
            self._move(a, "wrapup_end")
            self._forget_call(a)
        return rows

    @_stamps_state_change
    def engage(self, extension: str, call_id: str, queue: str, now: float) -> list[LogEvent]:
        """He answered a call no queue offered him: a consultation, a transferred caller
        (`call_id` of `queue`). No CONNECT row (the TRANSFER row says who handed the caller
        to whom); a wrap-up in progress ends (WRAPUP_END). AgentStateError while he rings
        for a caller or is on another call."""
        a = self._get(extension)
        rows = []
        if a.activity is Activity.WRAPUP:
            rows.append(LogEvent(now, a.call_id or "", a.call_queue or "", extension, "WRAPUP_END"))
        self._move(a, "engage")
        self._forget_call(a)
        a.call_id, a.call_queue = call_id, queue
        return rows

    @_stamps_state_change
    def release(self, extension: str, now: float) -> list[LogEvent]:
        """A consultation he was engaged for ended without handing him the caller: idle
        again, no row and no wrap-up."""
        a = self._get(extension)
        self._move(a, "release")
        self._forget_call(a)
        return []

    def poll(self, now: float) -> list[LogEvent]:
        """End the wrap-ups that are due: WRAPUP_END rows, oldest first."""
        due = sorted(
            (a.wrapup_until, a.extension)
            for a in self._agents.values()
            if a.wrapup_until is not None and a.wrapup_until <= now
        )
        rows = []
        for _, extension in due:
            a = self._agents[extension]
            rows.append(LogEvent(now, a.call_id or "", a.call_queue or "", extension, "WRAPUP_END"))
            self._move(a, "wrapup_end")
            self._forget_call(a)
            a.since = now
        return rows

    # --- internals ------------------------------------------------------------------------

    def _get(self, extension: str) -> _Agent:
        try:
            return self._agents[extension]
        except KeyError:
            raise UnknownAgentError(f"no agent {extension}") from None

    def _move(self, a: _Agent, event: str) -> None:
        try:
            a.activity = _TRANSITIONS[(a.activity, event)]
        except KeyError:
            raise AgentStateError(event, a.extension, a.state) from None

    @staticmethod
    def _forget_call(a: _Agent) -> None:
        a.call_id = a.call_queue = None
        a.ring_started = a.wrapup_until = None
