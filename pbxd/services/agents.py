"""Agents: the persisted part of agent state, /api/v1/agents.

An agent is an extension. Static members (a queue's `members`) are logged in to that queue
for good; dynamic members log in and out (`*45`, POST /login, /logout), which is kept in
`agent_login` so that a restart finds them where they were. A pause (with its reason) holds
for every queue at once. Ringing, talking and wrap-up are live state that the runtime keeps
(pbxd/callcenter/agents.py); it follows the changes made here through `subscribe`, and shows
its live state through the provider given to `show_live_state` (without one, e.g. with no call
control running, the state comes from the database alone: logged out, idle or paused).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..db import db
from ..db.models import Agent, AgentLogin, Extension, Queue, QueueMember, User
from .clock import Clock, utc_now
from .configbase import Listeners, WrongState
from .errors import NotFound, ValidationError
from .validation import require_text

log = logging.getLogger(__name__)

REASON_MAX_LEN = 64


@dataclass(frozen=True)
class AgentQueueView:
    queue: str
    static: bool  # a configured member: cannot log out of this queue
    penalty: int
    since: datetime | None  # dynamic login time; None for a static member


STATES = ("logged_out", "idle", "paused", "ringing", "on_call", "wrapup")


@dataclass(frozen=True)
class LiveAgent:
    """What call control knows of an agent right now."""

    state: str  # one of STATES
    since: datetime | None  # when the state began (None: before the daemon started)
    call_queue: str | None  # the queue of the call it rings for, talks on or wraps up


# extension -> its live state, None when call control does not know the agent (yet).
LiveStateProvider = Callable[[str], LiveAgent | None]


@dataclass(frozen=True)
class AgentView:
    extension: str
    name: str  # the extension's name
    queues: tuple[AgentQueueView, ...]  # the queues the agent takes calls from, by number
    paused: bool
    pause_reason: str | None
    paused_since: datetime | None
    state: str = "logged_out"  # one of STATES
    state_since: datetime | None = None
    call_queue: str | None = None

    @property
    def logged_in(self) -> bool:
        return bool(self.queues)


# callback(view) after each committed change of an agent's logins or pause.
AgentListener = Callable[[AgentView], None]


def _queue_numbers(value: object) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(q, str) for q in value):
        raise ValidationError("queues: expected an array of queue numbers", field="queues")
    numbers = list(dict.fromkeys(value))
    known = {row[0] for row in Queue.select(Queue.number).where(Queue.number.in_(numbers)).tuples()}
    for number in numbers:
        if number not in known:
            raise ValidationError(f"queues: no queue {number} exists", field="queues")
    return numbers


class AgentService:
    def __init__(self, clock: Clock = utc_now):
        self._clock = clock
        self._listeners = Listeners()
        self._live: LiveStateProvider | None = None

    def show_live_state(self, provider: LiveStateProvider | None) -> None:
        """Call control's live view of the agents (None: the database alone)."""
        self._live = provider

    # --- reading ------------------------------------------------------------------------------

    def list(self) -> list[AgentView]:
        """Every extension that is a queue member, logged in, paused, or linked to a user."""
        extensions: set[str] = set()
        extensions.update(row[0] for row in QueueMember.select(QueueMember.extension).tuples())
        extensions.update(row[0] for row in AgentLogin.select(AgentLogin.extension).tuples())
        extensions.update(row[0] for row in Agent.select(Agent.extension).tuples())
        linked = User.select(User.extension).where(User.extension.is_null(False))
        extensions.update(row[0] for row in linked.tuples())
        return [self._view(number) for number in sorted(extensions)]

    def is_agent(self, extension: str) -> bool:
        """Whether `extension` works as an agent: a queue member, logged in to a queue, or the
        extension of a console user (the same set as `list`)."""
        return (
            QueueMember.select().where(QueueMember.extension == extension).exists()
            or AgentLogin.select().where(AgentLogin.extension == extension).exists()
            or Agent.select().where(Agent.extension == extension).exists()
            or User.select().where(User.extension == extension).exists()
        )

    def get(self, extension: str) -> AgentView:
        return self._view(self._extension(extension).number)

    def for_queue(self, queue: str) -> list[tuple[str, int]]:
        """(extension, penalty) of the agents logged in to `queue` and not paused: static
        members in their configured order, then dynamic ones by login time."""
        row = Queue.get_or_none(Queue.number == queue)
        if row is None:
            raise NotFound(f"queue {queue} not found")
        paused = {r[0] for r in Agent.select(Agent.extension).where(Agent.paused).tuples()}
        static = [
            (member.extension, member.penalty)
            for member in QueueMember.select()
            .where(QueueMember.queue == row)
            .order_by(QueueMember.position)
        ]
        seen = {extension for extension, _ in static}
        dynamic = [
            (login.extension, 0)
            for login in AgentLogin.select()
            .where(AgentLogin.queue == row)
            .order_by(AgentLogin.since, AgentLogin.id)
            if login.extension not in seen
        ]
        return [(ext, penalty) for ext, penalty in static + dynamic if ext not in paused]

    # --- the agent's own actions --------------------------------------------------------------

    def login(self, extension: str, queues: Sequence[str] | None = None) -> AgentView:
        """Log in to `queues` (queue numbers), or to every queue when None. Queues the agent
        is in already stay as they are."""
        with db.atomic("IMMEDIATE"):
            number = self._extension(extension).number
            if queues is None:
                targets = [row[0] for row in Queue.select(Queue.number).tuples()]
                if not targets:
                    raise ValidationError("queues: there is no queue to log in to", field="queues")
            else:
                targets = _queue_numbers(queues)
                if not targets:
                    raise ValidationError("queues: name at least one queue", field="queues")
            current = {view.queue for view in self._view(number).queues}
            now = self._clock()
            joined = []
            for row in Queue.select().where(Queue.number.in_(targets)):
                if row.number not in current:
                    AgentLogin.create(extension=number, queue=row, since=now)
                    joined.append(row.number)
            self._after_commit(number)
        log.info("agent %s logged in to %s", number, ", ".join(sorted(joined)) or "no new queue")
        return self._view(number)

    def logout(self, extension: str, queues: Sequence[str] | None = None) -> AgentView:
        """Log out of `queues`, or of every dynamic queue when None. A static member stays in
        the queues that list him (WrongState when one is named). An agent left in no queue at
        all is no longer paused."""
        with db.atomic("IMMEDIATE"):
            number = self._extension(extension).number
            static = {view.queue for view in self._view(number).queues if view.static}
            query = AgentLogin.delete().where(AgentLogin.extension == number)
            if queues is not None:
                targets = _queue_numbers(queues)
                for queue in targets:
                    if queue in static:
                        raise WrongState(
                            f"agent {number} is a static member of queue {queue}; remove him "
                            "from the queue's members instead",
                            field="queues",
                        )
                ids = Queue.select(Queue.id).where(Queue.number.in_(targets))
                query = query.where(AgentLogin.queue.in_(ids))
            query.execute()
            if not self._view(number).queues:
                self._unpause(number)
            self._after_commit(number)
        log.info("agent %s logged out", number)
        return self._view(number)

    def pause(self, extension: str, reason: str | None = None) -> AgentView:
        """Stop offering calls to the agent in every queue; pausing again changes the
        reason. WrongState when the agent is not logged in."""
        if reason is not None:
            reason = require_text("reason", reason, min_len=0, max_len=REASON_MAX_LEN) or None
        with db.atomic("IMMEDIATE"):
            number = self._extension(extension).number
            if not self._view(number).logged_in:
                raise WrongState(f"agent {number} is not logged in to any queue")
            Agent.insert(
                extension=number, paused=True, pause_reason=reason, paused_since=self._clock()
            ).on_conflict(
                conflict_target=[Agent.extension],
                preserve=[Agent.paused, Agent.pause_reason, Agent.paused_since],
            ).execute()
            self._after_commit(number)
        log.info("agent %s paused (%s)", number, reason or "no reason")
        return self._view(number)

    def unpause(self, extension: str) -> AgentView:
        with db.atomic("IMMEDIATE"):
            number = self._extension(extension).number
            if self._unpause(number):
                self._after_commit(number)
        log.info("agent %s unpaused", number)
        return self._view(number)

    def subscribe(self, callback: AgentListener) -> Callable[[], None]:
        """Call `callback(view)` after each committed login, logout, pause or unpause;
        returns unsubscribe. Queue member changes come through QueueService.subscribe."""
        return self._listeners.subscribe(callback)

    # --- helpers ------------------------------------------------------------------------------

    def _extension(self, number: str) -> Extension:
        row = Extension.get_or_none(Extension.number == number) if isinstance(number, str) else None
        if row is None:
            raise NotFound(f"extension {number} not found")
        return row

    def _unpause(self, number: str) -> bool:
        # A row exists while the agent is paused; the list shows agents, not past pauses.
        return bool(Agent.delete().where(Agent.extension == number).execute())

    def announce_all(self) -> None:
        """Every agent to the listeners (after a restore replaced queues and members)."""
        for view in self.list():
            self._listeners.notify(view)

    def _after_commit(self, number: str) -> None:
        db.after_commit(lambda: self._listeners.notify(self._view(number)))

    def _view(self, number: str) -> AgentView:
        extension = Extension.get(Extension.number == number)
        queues: dict[str, AgentQueueView] = {}
        members = (
            QueueMember.select(QueueMember, Queue.number)
            .join(Queue)
            .where(QueueMember.extension == number)
        )
        for member in members:
            queues[member.queue.number] = AgentQueueView(
                member.queue.number, static=True, penalty=member.penalty, since=None
            )
        logins = AgentLogin.select(AgentLogin, Queue.number).join(Queue)
        for login in logins.where(AgentLogin.extension == number):
            queues.setdefault(
                login.queue.number,
                AgentQueueView(login.queue.number, static=False, penalty=0, since=login.since),
            )
        state = Agent.get_or_none(Agent.extension == number)
        paused = bool(state and state.paused and queues)
        paused_since = state.paused_since if paused and state else None
        live = self._live(number) if self._live is not None else None
        if live is None:  # the database alone
            stored = "paused" if paused else "idle" if queues else "logged_out"
            live = LiveAgent(stored, paused_since, None)
        return AgentView(
            extension=number,
            name=extension.name,
            queues=tuple(queues[q] for q in sorted(queues)),
            paused=paused,
            pause_reason=state.pause_reason if paused and state else None,
            paused_since=paused_since,
            state=live.state,
            state_since=live.since,
            call_queue=live.call_queue,
        )
