"""Which part of the call history and of the call center a user may see (issue 6): the one
place where the rules of the roles live. Built per request from the user (`scope_for`) and
handed to the services as a filter (`cdr_condition`, `recording_condition` ...).

- admin: everything.
- supervisor (班长, team leader): his team is the queues he leads (`user.queues`) and their
  agents, the extensions that are a static member of one of those queues or are logged in to
  one now (`team_members`). He sees
  - a queue call (a call whose call detail or recording names a queue) when its queue is one
    he leads, whoever took it; a queue call of another queue is not his, even when one of his
    agents answered it;
  - a call without a queue (a direct or outbound call) when one of his agents took part in it:
    its caller, its callee, or an extension leg rung to the agent;
  - the queue events of his queues, and agent events without a queue of his agents;
  - the voicemail boxes of his queues, of his agents and his own;
  - his agents (and himself) in /agents: he may log them in and out of his queues and pause
    them;
  - reports restricted to his queues (queue filter forced), group=agent to his agents.
  A supervisor who leads no queue sees no call, recording, event or report figure at all.
  Team membership is read now: an agent who leaves the team takes his direct calls out of
  the supervisor's sight, while queue calls stay with their queue.
- agent: the calls his extension took part in (caller, callee, the agent who took it, a leg
  rung to it; any queue), his own voicemail box, his own agent state and report row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..db.models import (
    AgentLogin,
    CallDetail,
    CallLeg,
    Cdr,
    Queue,
    QueueEvent,
    QueueMember,
    Recording,
)
from .errors import ServiceError
from .users import Role, UserView

EXTENSION_PEER = "extension"  # history.PeerKind.EXTENSION (history imports recordings)


class OutOfScope(ServiceError):
    """The user's role may use this endpoint, but not on this object."""

    status = 403
    code = "forbidden"


class ScopeKind(StrEnum):
    ALL = "all"  # admin
    TEAM = "team"  # supervisor: his queues and their agents
    OWN = "own"  # agent: his own extension


def _in(column: Any, values: Iterable[str]) -> Any:
    return column.in_(sorted(values))


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind
    queues: frozenset[str] = frozenset()  # TEAM: the queues led
    agents: frozenset[str] = frozenset()  # TEAM: their agents; OWN: the own extension
    extension: str | None = None  # the user's own extension, if linked

    @classmethod
    def everything(cls) -> Scope:
        return cls(ScopeKind.ALL)

    @classmethod
    def own(cls, extension: str | None) -> Scope:
        agents = frozenset({extension}) if extension else frozenset()
        return cls(ScopeKind.OWN, agents=agents, extension=extension)

    @classmethod
    def team(
        cls, queues: Iterable[str], agents: Iterable[str], extension: str | None = None
    ) -> Scope:
        return cls(ScopeKind.TEAM, frozenset(queues), frozenset(agents), extension)

    @property
    def unrestricted(self) -> bool:
        return self.kind is ScopeKind.ALL

    # -- single objects --------------------------------------------------------------------------

    def sees_agent(self, extension: str) -> bool:
        """An agent of /api/v1/agents: his state, and acting on him."""
        if self.kind is ScopeKind.ALL:
            return True
        return extension == self.extension or (
            self.kind is ScopeKind.TEAM and extension in self.agents
        )

    def sees_live_call(self, queue: str | None, agent: str) -> bool:
        """A call in progress (issue 7: listing, monitoring, hanging up): a queue call when
        its queue is one he leads, a call without a queue when its agent is of his team."""
        if self.kind is ScopeKind.ALL:
            return True
        if self.kind is ScopeKind.TEAM:
            return queue in self.queues if queue is not None else agent in self.agents
        return agent == self.extension

    def sees_box(self, box: str) -> bool:
        """A voicemail box (an extension's or a queue's number)."""
        if self.kind is ScopeKind.ALL:
            return True
        if box == self.extension:
            return True
        return self.kind is ScopeKind.TEAM and (box in self.queues or box in self.agents)

    def action_queues(self, extension: str, requested: list[str] | None) -> list[str] | None:
        """The queues a login/logout of `extension` may name (None: every queue). Acting on
        someone else, a supervisor names his own queues only; naming none means all of his."""
        if self.kind is not ScopeKind.TEAM or extension == self.extension:
            return requested
        if requested is None:
            return sorted(self.queues)
        for queue in requested:
            if queue not in self.queues:
                message = f"queues: queue {queue} is not one of your queues"
                raise OutOfScope(message, field="queues")
        return requested

    # -- filters of history queries (peewee conditions; None: no restriction) ------------------

    def cdr_condition(self) -> Any:
        """On `Cdr` rows."""
        if self.kind is ScopeKind.ALL:
            return None
        if self.kind is ScopeKind.OWN:
            return _cdr_party(self.agents)
        queued = CallDetail.select(CallDetail.cdr).where(_in(CallDetail.queue, self.queues))
        any_queue = CallDetail.select(CallDetail.cdr).where(CallDetail.queue.is_null(False))
        return Cdr.id.in_(queued) | (Cdr.id.not_in(any_queue) & _cdr_party(self.agents))

    def recording_condition(self) -> Any:
        """On `Recording` rows."""
        if self.kind is ScopeKind.ALL:
            return None
        if self.kind is ScopeKind.OWN:
            return _recording_party(self.agents)
        return _in(Recording.queue, self.queues) | (
            Recording.queue.is_null() & _recording_party(self.agents)
        )

    def queue_event_condition(self) -> Any:
        """On `QueueEvent` rows."""
        if self.kind is ScopeKind.ALL:
            return None
        if self.kind is ScopeKind.OWN:
            return _in(QueueEvent.agent, self.agents)
        return _in(QueueEvent.queue, self.queues) | (
            QueueEvent.queue.is_null() & _in(QueueEvent.agent, self.agents)
        )

    # -- reports -----------------------------------------------------------------------------------

    def report_filters(
        self,
        group: str,
        queues: frozenset[str] | None,
        agents: frozenset[str] | None,
    ) -> tuple[frozenset[str] | None, frozenset[str] | None]:
        """The (queues, agents) filters of a report this user may see (None: no filter).

        An agent: group=agent, his own row only. A supervisor: queues forced to his (naming
        another is refused), agents limited to his team (group=agent: his team by default).
        """
        if self.kind is ScopeKind.ALL:
            return queues, agents
        if self.kind is ScopeKind.OWN:
            extension = self.extension
            if not extension:
                raise OutOfScope(
                    "this agent account is linked to no extension, so it has no report"
                )
            if group != "agent":
                raise OutOfScope("agents see only their own row: use group=agent")
            if agents is not None and agents != {extension}:
                raise OutOfScope(f"agents see only their own row (agent={extension})")
            return queues, frozenset({extension})
        if queues is None:
            queues = self.queues
        for queue in sorted(queues - self.queues):
            raise OutOfScope(f"queue: queue {queue} is not one of your queues", field="queue")
        if agents is None:
            agents = self.agents if group == "agent" else None
        else:
            for agent in sorted(agents - self.agents):
                raise OutOfScope(
                    f"agent: agent {agent} is not a member of your queues", field="agent"
                )
        return queues, agents


def _cdr_party(parties: frozenset[str]) -> Any:
    """Calls one of `parties` (extensions) took part in."""
    took = CallDetail.select(CallDetail.cdr).where(_in(CallDetail.agent, parties))
    rung = CallLeg.select(CallLeg.cdr).where(
        (CallLeg.peer_kind == EXTENSION_PEER) & _in(CallLeg.peer, parties)
    )
    return _in(Cdr.caller, parties) | _in(Cdr.callee, parties) | Cdr.id.in_(took) | Cdr.id.in_(rung)


def _recording_party(parties: frozenset[str]) -> Any:
    rung = CallLeg.select(CallLeg.call_id).where(
        (CallLeg.peer_kind == EXTENSION_PEER) & _in(CallLeg.peer, parties)
    )
    return (
        _in(Recording.agent, parties)
        | _in(Recording.caller, parties)
        | _in(Recording.callee, parties)
        | Recording.call_id.in_(rung)
    )


def team_members(queues: Iterable[str]) -> frozenset[str]:
    """The agents of `queues`: their static members and the extensions logged in to them."""
    numbers = sorted(queues)
    if not numbers:
        return frozenset()
    static = QueueMember.select(QueueMember.extension).join(Queue).where(Queue.number.in_(numbers))
    dynamic = AgentLogin.select(AgentLogin.extension).join(Queue).where(Queue.number.in_(numbers))
    return frozenset(row[0] for query in (static, dynamic) for row in query.tuples())


def scope_for(user: UserView) -> Scope:
    """The scope of `user`'s role (reads the team of a supervisor now)."""
    if user.role is Role.ADMIN:
        return Scope.everything()
    if user.role is Role.SUPERVISOR:
        return Scope.team(user.queues, team_members(user.queues), user.extension)
    return Scope.own(user.extension)
