"""The live wallboard (issue 7): queues and agents as they are now, and today's figures (sans-IO).

Two parts, both pure (no asyncio, database or clock: times come in):

- `DailyCounters`: today's figures per queue, kept from the queue-log rows (`LogEvent`,
  pbxd/callcenter/agents.py) as the queues write them, and seeded at start from the stored
  queue log of the day so that a restart does not zero them. "Today" is the local calendar
  day in `zone` (Asia/Shanghai by default, the market's zone, as the reports use).
- `build_wallboard`: a `Wallboard` from the live `CallCenter` (waiting callers and their join
  times, the agents' states and since when) and the counters.

Figures of a queue (rows counted, with the data the queue gives them, queue.py):

  entered            ENTER rows: callers who joined the queue
  answered           CONNECT rows: callers an agent took; "in time" when the wait (data
                     "wait|ring") is at most the queue's service-level threshold
  abandoned          ABANDON rows: callers who hung up while waiting (data "position|original
                     position|wait"); "in time" when they hung up within the threshold
  timed_out          EXIT_TIMEOUT rows: callers the queue let go at its max_wait
  service_level      answered in time / (answered + abandoned after the threshold + timed out):
                     the share of callers served within the threshold; callers who gave up
                     before it are not held against the queue. None while nothing counts.

A threshold is per queue (`service_level_seconds(queue)`), 20 s unless told otherwise (the queue
configuration has no such field yet). Rows for a queue keep counting under its number when the
queue is renamed; a deleted queue leaves the board.

Times: the live state is on the loop clock (`now`, seconds, what the queues were given); the
board converts them to wall-clock times with the `at` (aware datetime) it is built with:
wall time of a loop time t = at - (now - t).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from .agents import AgentState
from .queue import CallCenter
from .timeconditions import DEFAULT_TIMEZONE

__all__ = [
    "COUNTED_EVENTS",
    "DEFAULT_SERVICE_LEVEL_SECONDS",
    "AgentBoard",
    "DailyCounters",
    "QueueBoard",
    "QueueTally",
    "Wallboard",
    "build_wallboard",
    "event_wait",
    "iso_time",
]

DEFAULT_SERVICE_LEVEL_SECONDS = 20.0
# The queue-log rows today's figures are made of (module docstring).
COUNTED_EVENTS = frozenset({"ENTER", "CONNECT", "ABANDON", "EXIT_TIMEOUT"})


def iso_time(moment: datetime) -> str:
    """ISO 8601 in UTC to the millisecond, 'Z' suffix: 2024-05-01T08:30:00.250Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_wait(event: str, data: str) -> float | None:
    """The caller's wait (seconds) a queue-log row carries: CONNECT "wait|ring"; ABANDON and
    EXIT_* "position|original position|wait". None when the row has none (or is malformed)."""
    parts = data.split("|")
    if event == "CONNECT":
        text = parts[0]
    elif event == "ABANDON" or event.startswith("EXIT_"):
        if len(parts) < 3:
            return None
        text = parts[2]
    else:
        return None
    try:
        wait = float(text)
    except ValueError:
        return None
    return wait if wait >= 0 else None


# --- today's figures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueTally:
    """One queue's figures of one day (module docstring)."""

    entered: int = 0
    answered: int = 0
    answered_in_time: int = 0
    abandoned: int = 0
    abandoned_in_time: int = 0  # hung up within the threshold: not held against the queue
    timed_out: int = 0

    @property
    def service_level(self) -> float | None:
        counted = self.answered + (self.abandoned - self.abandoned_in_time) + self.timed_out
        return None if counted == 0 else round(self.answered_in_time / counted, 4)

    def add(self, event: str, wait: float | None, threshold: float) -> QueueTally:
        in_time = wait is not None and wait <= threshold
        if event == "ENTER":
            return replace(self, entered=self.entered + 1)
        if event == "CONNECT":
            return replace(
                self,
                answered=self.answered + 1,
                answered_in_time=self.answered_in_time + in_time,
            )
        if event == "ABANDON":
            return replace(
                self,
                abandoned=self.abandoned + 1,
                abandoned_in_time=self.abandoned_in_time + in_time,
            )
        if event == "EXIT_TIMEOUT":
            return replace(self, timed_out=self.timed_out + 1)
        return self


class DailyCounters:
    """Today's `QueueTally` of every queue. `add` takes one queue-log row with its wall-clock
    time; a row of a later local day than the current one starts that day afresh, a row of an
    earlier day (a late write) is not counted."""

    def __init__(
        self,
        zone: tzinfo | str = DEFAULT_TIMEZONE,
        service_level_seconds: Callable[[str], float] | None = None,
    ):
        self.zone = ZoneInfo(zone) if isinstance(zone, str) else zone
        self._threshold = service_level_seconds or (lambda queue: DEFAULT_SERVICE_LEVEL_SECONDS)
        self.day: date | None = None
        self._tallies: dict[str, QueueTally] = {}

    def local_day(self, at: datetime) -> date:
        if at.tzinfo is None:
            raise ValueError("the counters need an aware datetime")
        return at.astimezone(self.zone).date()

    def day_start(self, at: datetime) -> datetime:
        """The first instant (UTC) of the local day of `at`: where seeding starts reading."""
        day = self.local_day(at)
        start = datetime(day.year, day.month, day.day, tzinfo=self.zone)
        return start.astimezone(UTC)

    def threshold(self, queue: str) -> float:
        return self._threshold(queue)

    def add(self, at: datetime, queue: str, event: str, data: str = "") -> bool:
        """Count one row; True when it counted (a counted event of today or a later day)."""
        if event not in COUNTED_EVENTS or not queue:
            return False
        day = self.local_day(at)
        if self.day is None or day > self.day:
            self.day, self._tallies = day, {}
        elif day < self.day:
            return False
        tally = self._tallies.get(queue, QueueTally())
        self._tallies[queue] = tally.add(event, event_wait(event, data), self.threshold(queue))
        return True

    def tally(self, queue: str, at: datetime) -> QueueTally:
        """The figures of `queue` for the local day of `at` (zeros for a day not yet counted)."""
        if self.day is None or self.local_day(at) != self.day:
            return QueueTally()
        return self._tallies.get(queue, QueueTally())


# --- the board ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueBoard:
    number: str
    name: str
    waiting: int  # callers not yet connected, ringing ones included
    oldest_joined: float | None  # loop time the longest-waiting caller joined
    tally: QueueTally
    service_level_seconds: float
    agents_logged_in: int
    agents_idle: int  # logged in, idle, not paused: could take a call now
    agents_paused: int  # logged in and paused (whatever they are doing)


@dataclass(frozen=True)
class AgentBoard:
    extension: str
    name: str
    state: str  # pbxd.callcenter.agents.AgentState values
    since: float | None  # loop time the state began; None: before the pool began
    call_queue: str | None  # the queue of the call it rings for, talks on or wraps up
    queues: tuple[str, ...]  # logged in to (static and dynamic)
    static_queues: tuple[str, ...]
    paused: bool  # a paused agent on a call shows on_call, and is paused all the same
    pause_reason: str


@dataclass(frozen=True)
class Wallboard:
    """What the wallboard shows. Two boards compare equal when what they show is the same,
    whenever they were built (`now` and `at` do not count): a push can be skipped."""

    now: float = field(compare=False)  # the loop clock it was built at
    at: datetime = field(compare=False)  # the wall clock at the same moment (aware)
    day: date | None  # the local day of the figures
    queues: tuple[QueueBoard, ...]
    agents: tuple[AgentBoard, ...]

    def wall(self, loop_time: float | None) -> datetime | None:
        return None if loop_time is None else self.at - timedelta(seconds=self.now - loop_time)

    def agent(self, extension: str) -> AgentBoard | None:
        return next((a for a in self.agents if a.extension == extension), None)

    def for_queues(self, queues: Collection[str]) -> Wallboard:
        """What a supervisor leading `queues` sees: those queues, and their agents (static
        members, or logged in to one now) with only those queues named."""
        led = frozenset(queues)
        agents = []
        for a in self.agents:
            if not (led & (set(a.queues) | set(a.static_queues))):
                continue
            agents.append(
                replace(
                    a,
                    queues=tuple(q for q in a.queues if q in led),
                    static_queues=tuple(q for q in a.static_queues if q in led),
                    call_queue=a.call_queue if a.call_queue in led else None,
                )
            )
        return replace(
            self,
            queues=tuple(q for q in self.queues if q.number in led),
            agents=tuple(agents),
        )

    def queue_json(self, q: QueueBoard) -> dict[str, Any]:
        oldest = self.wall(q.oldest_joined)
        longest = 0 if q.oldest_joined is None else max(0, round(self.now - q.oldest_joined))
        return {
            "number": q.number,
            "name": q.name,
            "waiting": q.waiting,
            "longest_wait_seconds": longest,
            "oldest_joined_at": iso_time(oldest) if oldest is not None else None,
            "entered": q.tally.entered,
            "answered": q.tally.answered,
            "abandoned": q.tally.abandoned,
            "timed_out": q.tally.timed_out,
            "service_level": q.tally.service_level,
            "service_level_seconds": q.service_level_seconds,
            "agents_logged_in": q.agents_logged_in,
            "agents_idle": q.agents_idle,
            "agents_paused": q.agents_paused,
        }

    def agent_json(self, a: AgentBoard) -> dict[str, Any]:
        since = self.wall(a.since)
        return {
            "extension": a.extension,
            "name": a.name,
            "state": a.state,
            "since": iso_time(since) if since is not None else None,
            "queue": a.call_queue,
            "queues": list(a.queues),
            "paused": a.paused,
            "pause_reason": a.pause_reason or None,
        }

    def to_json(self) -> dict[str, Any]:
        """The `wallboard` message of /api/v1/live (docs/WEBUI.md "Live channel")."""
        return {
            "type": "wallboard",
            "time": iso_time(self.at),
            "day": self.day.isoformat() if self.day is not None else None,
            "queues": [self.queue_json(q) for q in self.queues],
            "agents": [self.agent_json(a) for a in self.agents],
        }


def build_wallboard(
    center: CallCenter,
    counters: DailyCounters,
    *,
    now: float,
    at: datetime,
    queue_names: Mapping[str, str],
    agent_names: Mapping[str, str] | None = None,
) -> Wallboard:
    """The board of `center` at loop time `now` (= wall time `at`). `queue_names`: the
    configured queues (number -> name), the ones shown, in number order; a queue of the
    center that is no longer configured is left out, as are its agents' logins to it.
    `agent_names`: extension -> name (the extension's)."""
    names = agent_names or {}
    configured = sorted(queue_names, key=_number_order)
    shown = set(configured)
    pool = center.agents
    agents = []
    for extension in pool.extensions():
        view = pool.view(extension)
        call_queue = view.call_queue if view.call_queue in shown else None
        agents.append(
            AgentBoard(
                extension=extension,
                name=names.get(extension, ""),
                state=view.state.value,
                since=view.since,
                call_queue=call_queue,
                queues=tuple(q for q in view.queues if q in shown),
                static_queues=tuple(q for q in view.static_queues if q in shown),
                paused=view.paused,
                pause_reason=view.pause_reason if view.paused else "",
            )
        )
    agents.sort(key=lambda a: _number_order(a.extension))
    queues = []
    for number in configured:
        queue = center.queues.get(number)
        waiting = queue.waiting_since() if queue is not None else []
        members = [a for a in agents if number in a.queues]
        queues.append(
            QueueBoard(
                number=number,
                name=queue_names[number],
                waiting=len(waiting),
                oldest_joined=min((joined for _, joined in waiting), default=None),
                tally=counters.tally(number, at),
                service_level_seconds=counters.threshold(number),
                agents_logged_in=len(members),
                agents_idle=sum(1 for a in members if a.state == AgentState.IDLE.value),
                agents_paused=sum(1 for a in members if a.paused),
            )
        )
    day = counters.local_day(at)
    return Wallboard(now=now, at=at, day=day, queues=tuple(queues), agents=tuple(agents))


def _number_order(number: str) -> tuple[int, int | str]:
    """Numbers in numeric order ("600" before "1000"), other names after them by text."""
    return (0, int(number)) if number.isdigit() else (1, number)
