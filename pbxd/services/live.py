"""The live push channel (issue 7): who gets which live message, and when.

`LiveHub` holds the open connections of /api/v1/live (pbxd/web/live.py is the thin Tornado
adapter; a connection is anything with `send(message)` and `close(code, reason)`), each with
the `Audience` it was opened for: the user's role, extension, led queues and masking, and the
topics it gets.

- topic `wallboard` (admins and supervisors): the wallboard (pbxd/callcenter/wallboard.py),
  whole for an admin, cut to his queues and their agents for a supervisor (the rule of
  pbxd/services/scope.py: static members of his queues and agents logged in to one now).
- topic `agent` (any user linked to an extension): that extension's own agent state, and
  whatever call control sends to it with `to_extension` (screen pops ...).

Pushes are coalesced: after a change (`changed()`, or `publish_wallboard(board)`), the board is
sent at once when the last push is at least `min_interval` (100 ms) old, else when it is; so
at most one push per 100 ms and none later than 100 ms after a change. A connection is sent
only what differs from what it was sent last (an agent's pause does not resend the board of a
supervisor who does not see him). Every `refresh_interval` seconds the board is checked again
while anybody listens (the day's figures start afresh at midnight without any event).

Numbers: the wallboard and the agent messages carry queue and extension numbers only, never a
customer's: nothing to mask. `to_extension` masks the fields it is told hold numbers or free
text by each receiving user's masking (pbxd/services/masking.py).

`WallboardFeed` makes the boards: it keeps today's figures from the queue-log rows the queue
runtime hands it (seeded from the stored queue log of the day at start) and builds the board
from the live `CallCenter` with the configured names.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from ..callcenter.agents import LogEvent
from ..callcenter.queue import CallCenter
from ..callcenter.wallboard import (
    COUNTED_EVENTS,
    AgentBoard,
    DailyCounters,
    Wallboard,
    build_wallboard,
    iso_time,
)
from .clock import Clock, utc_now
from .masking import Masker
from .users import Masking, Role, UserView

log = logging.getLogger(__name__)

__all__ = [
    "CLOSE_FORBIDDEN",
    "CLOSE_GOING_AWAY",
    "CLOSE_SLOW",
    "CLOSE_TOO_MANY",
    "CLOSE_UNAUTHORIZED",
    "TOPICS",
    "Audience",
    "LiveConnection",
    "LiveHub",
    "LiveRefused",
    "PushThrottle",
    "Subscription",
    "WallboardFeed",
]

TOPIC_WALLBOARD = "wallboard"
TOPIC_AGENT = "agent"
TOPICS = (TOPIC_WALLBOARD, TOPIC_AGENT)

# WebSocket close codes (RFC 6455 section 7.4: 4000-4999 are the application's; these mirror
# the HTTP statuses of the API).
CLOSE_GOING_AWAY = 1001  # pbxd stops
CLOSE_SLOW = 1013  # "try again later": the client does not read what it is sent
CLOSE_UNAUTHORIZED = 4401  # the session or token ended: log in again
CLOSE_FORBIDDEN = 4403  # the role may not have a topic asked for
CLOSE_TOO_MANY = 4429  # too many connections (this user's or in all)

MIN_PUSH_INTERVAL = 0.1
REFRESH_INTERVAL = 30.0
MAX_CONNECTIONS = 64
MAX_CONNECTIONS_PER_USER = 8

WALLBOARD_ROLES = frozenset({Role.ADMIN, Role.SUPERVISOR})


class LiveRefused(Exception):
    """A connection that may not have what it asked for; closed with `close_code`."""

    def __init__(self, close_code: int, reason: str):
        super().__init__(reason)
        self.close_code = close_code
        self.reason = reason


class LiveConnection(Protocol):
    def send(self, message: Mapping[str, Any]) -> None: ...

    def close(self, code: int, reason: str) -> None: ...


@dataclass(frozen=True)
class Audience:
    """Whom a connection is for and what it gets."""

    username: str
    role: Role
    extension: str | None
    queues: frozenset[str]  # the queues a supervisor leads
    masking: Masking
    topics: frozenset[str]

    @classmethod
    def of(cls, user: UserView, requested: Collection[str] | None = None) -> Audience:
        """The audience of `user` for the topics `requested` (None: every topic his role
        has). LiveRefused (4403) for a topic the role may not have, or when there is none."""
        allowed = []
        if user.role in WALLBOARD_ROLES:
            allowed.append(TOPIC_WALLBOARD)
        if user.extension:
            allowed.append(TOPIC_AGENT)
        if requested is None:
            topics = frozenset(allowed)
            if not topics:
                raise LiveRefused(
                    CLOSE_FORBIDDEN, "nothing to show: this account is linked to no extension"
                )
        else:
            topics = frozenset(requested)
            for topic in sorted(topics):
                if topic not in TOPICS:
                    raise LiveRefused(CLOSE_FORBIDDEN, f"unknown topic {topic!r}")
                if topic == TOPIC_WALLBOARD and topic not in allowed:
                    raise LiveRefused(
                        CLOSE_FORBIDDEN, f"role {user.role} may not see the wallboard"
                    )
                if topic == TOPIC_AGENT and topic not in allowed:
                    raise LiveRefused(CLOSE_FORBIDDEN, "this account is linked to no extension")
        return cls(
            username=user.username,
            role=user.role,
            extension=user.extension,
            queues=frozenset(user.queues) if user.role is Role.SUPERVISOR else frozenset(),
            masking=user.masking or Masking.ALL,
            topics=topics,
        )

    @property
    def wallboard(self) -> bool:
        return TOPIC_WALLBOARD in self.topics

    @property
    def agent(self) -> bool:
        return TOPIC_AGENT in self.topics and bool(self.extension)

    def board_for(self, board: Wallboard) -> Wallboard:
        """The board as this audience may see it: an admin's whole, a supervisor's cut."""
        return board if self.role is Role.ADMIN else board.for_queues(self.queues)


_UNSENT = object()


@dataclass(eq=False)
class Subscription:
    connection: LiveConnection
    audience: Audience
    last_board: Any = _UNSENT  # the Wallboard (cut) last sent
    last_agent: Any = _UNSENT  # the AgentBoard last sent
    open: bool = True


class PushThrottle:
    """When to push after a change (pure): at once when the last push is `min_interval` old,
    else when it is; one push for every change made before it goes out."""

    def __init__(self, min_interval: float = MIN_PUSH_INTERVAL):
        self.min_interval = min_interval
        self.last_push = -math.inf
        self.due: float | None = None

    def request(self, now: float) -> float | None:
        """A change at `now`: the time to push at, or None when a push is already due."""
        if self.due is not None:
            return None
        self.due = max(now, self.last_push + self.min_interval)
        return self.due

    def pushed(self, now: float) -> None:
        self.last_push, self.due = now, None


@dataclass
class _Timers:
    push: asyncio.TimerHandle | None = None
    refresh: asyncio.TimerHandle | None = None
    loop: asyncio.AbstractEventLoop | None = None


class LiveHub:
    """The connections of /api/v1/live and what goes to each (module docstring)."""

    def __init__(
        self,
        source: Callable[[], Wallboard | None] | None = None,
        *,
        masker_for: Callable[[Masking], Masker] | None = None,
        min_interval: float = MIN_PUSH_INTERVAL,
        refresh_interval: float = REFRESH_INTERVAL,
        max_connections: int = MAX_CONNECTIONS,
        max_per_user: int = MAX_CONNECTIONS_PER_USER,
    ):
        self._source = source
        self._masker_for = masker_for or (lambda masking: Masker(masking))
        self.throttle = PushThrottle(min_interval)
        self.refresh_interval = refresh_interval
        self.max_connections = max_connections
        self.max_per_user = max_per_user
        self._subscriptions: list[Subscription] = []
        self._pending: Wallboard | None = None
        self._board: Wallboard | None = None
        self._timers = _Timers()
        self.pushes = 0  # board pushes made (tests, status)

    # -- connections ------------------------------------------------------------------------------

    def set_source(self, source: Callable[[], Wallboard | None] | None) -> None:
        """What makes the current board (WallboardFeed.snapshot)."""
        self._source = source

    def connections(self, username: str | None = None) -> int:
        return sum(1 for s in self._subscriptions if username in (None, s.audience.username))

    def subscribe(self, connection: LiveConnection, audience: Audience) -> Subscription:
        """Register `connection` and send it the current board and agent state at once.
        LiveRefused (4429) beyond the limits."""
        if self.connections() >= self.max_connections:
            raise LiveRefused(CLOSE_TOO_MANY, "too many live connections")
        if self.connections(audience.username) >= self.max_per_user:
            raise LiveRefused(
                CLOSE_TOO_MANY, f"at most {self.max_per_user} live connections per user"
            )
        subscription = Subscription(connection, audience)
        self._subscriptions.append(subscription)
        self._start_refresh()
        board = self._current()
        if board is not None:
            self._deliver(subscription, board)
        return subscription

    def update(self, subscription: Subscription, audience: Audience) -> None:
        """The user changed (role, queues, extension, masking): send what he sees now."""
        if audience == subscription.audience or not subscription.open:
            return
        subscription.audience = audience
        subscription.last_board = subscription.last_agent = _UNSENT
        board = self._current()
        if board is not None:
            self._deliver(subscription, board)

    def unsubscribe(self, subscription: Subscription) -> None:
        subscription.open = False
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    def close_all(self, code: int = CLOSE_GOING_AWAY, reason: str = "pbxd stops") -> None:
        for subscription in list(self._subscriptions):
            self.unsubscribe(subscription)
            try:
                subscription.connection.close(code, reason)
            except Exception:
                log.debug("live connection already gone", exc_info=True)
        for timer in (self._timers.push, self._timers.refresh):
            if timer is not None:
                timer.cancel()
        self._timers.push = self._timers.refresh = None

    # -- what goes out ----------------------------------------------------------------------------

    def changed(self) -> None:
        """Something the board shows may have changed: push within `min_interval`."""
        self._schedule()

    def publish_wallboard(self, board: Wallboard) -> None:
        """Push `board` (coalesced like `changed`: the newest board given goes out)."""
        self._pending = board
        self._schedule()

    def to_extension(
        self,
        extension: str,
        message: Mapping[str, Any],
        *,
        number_fields: Iterable[str] = (),
        text_fields: Iterable[str] = (),
    ) -> int:
        """Send `message` (a JSON object with a "type") now to every connection of the topic
        `agent` whose user works at `extension`. The top-level fields named in `number_fields`
        (customer numbers) and `text_fields` (free text: notes) are masked by each user's
        masking. Returns how many connections it went to."""
        number_fields, text_fields = tuple(number_fields), tuple(text_fields)
        maskers: dict[Masking, Masker] = {}  # one per masking mode, for this message
        sent = 0
        for subscription in list(self._subscriptions):
            audience = subscription.audience
            if not (audience.agent and audience.extension == extension):
                continue
            out = dict(message)
            if number_fields or text_fields:
                masker = maskers.get(audience.masking)
                if masker is None:
                    masker = maskers[audience.masking] = self._masker_for(audience.masking)
                for name in number_fields:
                    if isinstance(out.get(name), str):
                        out[name] = masker.number(out[name])
                for name in text_fields:
                    if isinstance(out.get(name), str):
                        out[name] = masker.text(out[name])
            if self._send(subscription, out):
                sent += 1
        return sent

    def current(self) -> Wallboard | None:
        """The board now (fresh from the source when there is one)."""
        return self._current()

    # -- internals --------------------------------------------------------------------------------

    def _current(self) -> Wallboard | None:
        if self._pending is not None:
            return self._pending
        if self._source is not None:
            try:
                return self._source()
            except Exception:
                log.exception("the wallboard could not be built")
                return self._board
        return self._board

    def _loop(self) -> asyncio.AbstractEventLoop | None:
        try:
            self._timers.loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        return self._timers.loop

    def _schedule(self) -> None:
        loop = self._loop()
        if loop is None:
            # Off the loop (a worker thread): hand the change over to the loop, if known.
            known = self._timers.loop
            if known is not None and not known.is_closed():
                known.call_soon_threadsafe(self._schedule)
            return
        due = self.throttle.request(loop.time())
        if due is not None:
            self._timers.push = loop.call_at(due, self._flush)

    def _flush(self) -> None:
        loop = self._loop()
        self._timers.push = None
        self.throttle.pushed(loop.time() if loop is not None else 0.0)
        if not self._subscriptions:
            self._pending = None
            return
        board = self._current()
        self._pending = None
        if board is None:
            return
        self._board = board
        self.pushes += 1
        for subscription in list(self._subscriptions):
            self._deliver(subscription, board)

    def _deliver(self, subscription: Subscription, board: Wallboard) -> None:
        audience = subscription.audience
        if audience.wallboard:
            view = audience.board_for(board)
            if view != subscription.last_board:
                subscription.last_board = view
                if not self._send(subscription, view.to_json()):
                    return
        if audience.agent:
            assert audience.extension is not None
            agent = board.agent(audience.extension) or _logged_out(audience.extension)
            if agent != subscription.last_agent:
                subscription.last_agent = agent
                message = {
                    "type": "agent",
                    "time": iso_time(board.at),
                    "agent": board.agent_json(agent),
                }
                self._send(subscription, message)

    def _send(self, subscription: Subscription, message: Mapping[str, Any]) -> bool:
        if not subscription.open:
            return False
        try:
            subscription.connection.send(message)
        except Exception:
            log.info("live connection of %s failed: dropped", subscription.audience.username)
            self.unsubscribe(subscription)
            return False
        return True

    def _start_refresh(self) -> None:
        loop = self._loop()
        if loop is None or self._timers.refresh is not None or self.refresh_interval <= 0:
            return
        self._timers.refresh = loop.call_later(self.refresh_interval, self._refresh)

    def _refresh(self) -> None:
        self._timers.refresh = None
        if self._subscriptions:
            self.changed()
            self._start_refresh()


def _logged_out(extension: str) -> AgentBoard:
    """An extension the queues do not know (never logged in, in no queue)."""
    return AgentBoard(extension, "", "logged_out", None, None, (), (), False, "")


# --- the boards --------------------------------------------------------------------------------


class WallboardFeed:
    """Today's figures and the board of the live call center, for a `LiveHub`.

    `queue_actions(rows)` is the queue runtime's callback (every batch of actions it carries
    out, with the queue-log rows among them): the rows count, and the hub hears of a change.
    Configuration changes (queue or extension names) reach it through the services.
    """

    def __init__(
        self,
        services: Any,
        hub: LiveHub,
        *,
        counters: DailyCounters | None = None,
        wall_clock: Clock = utc_now,
        loop_clock: Callable[[], float] | None = None,
    ):
        self.services = services
        self.hub = hub
        self.counters = counters or DailyCounters()
        self.wall_clock = wall_clock
        self.loop_clock = loop_clock or (lambda: asyncio.get_running_loop().time())
        self.center: CallCenter | None = None
        self._queue_names: dict[str, str] | None = None
        self._agent_names: dict[str, str] | None = None
        hub.set_source(self.snapshot)
        services.queues.subscribe(self._configuration_changed)
        services.extensions.subscribe(self._configuration_changed)

    def attach(self, center: CallCenter) -> None:
        """The live call center the boards show."""
        self.center = center
        self.hub.changed()

    def seed(self) -> int:
        """Count the rows of today already in the queue log (call at start, before calls);
        returns how many counted."""
        history = self.services.history
        limit = 10000
        start = self.counters.day_start(self.wall_clock())
        rows = []
        for event in sorted(COUNTED_EVENTS):
            offset = 0
            while True:
                page = history.queue_events(
                    time_from=start, event=event, limit=limit, offset=offset
                )
                rows += page
                if len(page) < limit:
                    break
                offset += limit
        rows.sort(key=lambda row: (row.time, row.id))
        counted = 0
        for row in rows:
            data = row.data.get("data", "") if isinstance(row.data, dict) else ""
            counted += self.counters.add(row.time, row.queue or "", str(row.event), str(data))
        return counted

    def queue_actions(self, rows: Iterable[LogEvent]) -> None:
        """The queue runtime carried out a batch of actions (`rows`: its queue-log rows)."""
        rows = list(rows)
        if rows:
            now, at = self.loop_clock(), self.wall_clock()
            for row in rows:
                moment = at - timedelta(seconds=max(0.0, now - row.time))
                self.counters.add(moment, row.queue, row.event, row.data)
        self.hub.changed()

    def snapshot(self) -> Wallboard | None:
        if self.center is None:
            return None
        if self._queue_names is None:
            self._queue_names = {q.number: q.name for q in self.services.queues.list()}
        if self._agent_names is None:
            self._agent_names = {e.number: e.name for e in self.services.extensions.list()}
        return build_wallboard(
            self.center,
            self.counters,
            now=self.loop_clock(),
            at=self.wall_clock(),
            queue_names=self._queue_names,
            agent_names=self._agent_names,
        )

    def _configuration_changed(self, *args: Any) -> None:
        self._queue_names = self._agent_names = None
        self.hub.changed()
