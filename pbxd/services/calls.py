"""Live agent calls and supervisor monitoring (issue 7), as the API and the phones use them.

Call control (pbxd/call/apps/agentcalls.py) keeps the live customer <-> agent calls; it is
attached here with `attach(controller)` when it starts (like `AgentService.show_live_state`).
Without it every call answers `CallControlNotRunning` (503).

The rules of who may do what live here, in one place, for the web API and the feature codes:

- admin: any agent's call; supervisor: the calls of the queues he leads (a call without a
  queue: when its agent is one of his team), pbxd/services/scope.py; agent: never.
- Monitoring (监听 listen, 密语 whisper, 强插 barge) rings the user's own extension (his
  desk phone and browser softphone) or, from a desk phone, joins the call the supervisor
  dialed the feature code on: a user without an extension cannot monitor (422).
- Hanging up an agent's call (强拆) ends both legs; the history says the system hung up.
- Call controls (hold, resume, mute, unmute, blind transfer, consultation 咨询转移 with
  complete / cancel, three-way call): the agent himself (a user whose extension is the
  agent's), a supervisor in scope, an admin. Only customer calls (queue calls): an internal
  call between agents cannot be held, transferred or muted (409 internal_call). Transfers go
  to an extension or a queue (422 bad_target otherwise).

Errors the controller raises (`CallControlError` and kin) belong to the controller contract;
this facade turns them into ServiceErrors with an HTTP status.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from .errors import ServiceError, ValidationError
from .oplog import PHONE_MONITOR, PHONE_MONITOR_REFUSED, OperationLog
from .scope import OutOfScope, Scope, scope_for
from .users import Role, UserService, UserView
from .validation import require_member

log = logging.getLogger(__name__)

TARGET_MAX_LEN = 32  # a number to transfer to or consult


class MonitorMode(StrEnum):
    LISTEN = "listen"  # 监听: the supervisor hears both, nobody hears him
    WHISPER = "whisper"  # 密语: the agent hears him too, the customer does not
    BARGE = "barge"  # 强插: all three hear each other


class MonitorState(StrEnum):
    RINGING = "ringing"  # the supervisor's extension is being rung
    CONNECTED = "connected"  # his endpoint is in the call's bridge


@dataclass(frozen=True)
class MonitorView:
    agent: str  # the extension of the agent whose call is monitored
    supervisor: str  # the extension that monitors
    mode: MonitorMode
    state: MonitorState
    since: datetime  # when the monitoring was asked for


class CallPhase(StrEnum):
    """Where an agent's customer call is (agent call controls)."""

    TALKING = "talking"  # customer and agent (held or muted maybe)
    CONSULTING = "consulting"  # the customer on hold, the agent with the consulted party
    CONFERENCE = "conference"  # customer, agent and the consulted party hear each other


class ConsultState(StrEnum):
    RINGING = "ringing"  # the consulted extension is being rung
    CONNECTED = "connected"  # it answered: it talks with the agent (or all three)


class ControlAction(StrEnum):
    HOLD = "hold"
    RESUME = "resume"
    MUTE = "mute"
    UNMUTE = "unmute"
    TRANSFER = "transfer"  # blind, {"to": number}
    CONSULT = "consult"  # {"to": extension}
    COMPLETE = "consult/complete"
    CANCEL = "consult/cancel"
    CONFERENCE = "conference"


# The actions that need a number to call ({"to": ...}).
TARGETED_ACTIONS = frozenset({ControlAction.TRANSFER, ControlAction.CONSULT})


@dataclass(frozen=True)
class ConsultView:
    target: str  # the extension consulted
    state: ConsultState
    since: datetime  # when it was rung


@dataclass(frozen=True)
class LiveCall:
    """A customer <-> agent call in progress."""

    id: str
    queue: str | None  # None: a call that came through no queue
    agent: str
    customer: str  # the customer's number (mask it before showing it)
    connected_at: datetime
    recording: bool
    monitors: tuple[MonitorView, ...] = ()
    held: bool = False  # the customer hears music, the agent silence
    muted: bool = False  # the customer does not hear the agent
    phase: CallPhase = CallPhase.TALKING
    consultation: ConsultView | None = None


# -- the controller contract -------------------------------------------------------------------


class CallControlError(Exception):
    """What a controller may refuse; the facade answers with a ServiceError."""


class NoCallError(CallControlError):
    """The agent has no call in progress."""


class OwnCallError(CallControlError):
    """The supervisor's extension is the agent's (or the customer's) own."""


class BusyError(CallControlError):
    """The supervisor's extension is on a customer call itself."""


class UnreachableError(CallControlError):
    """The supervisor's extension cannot be rung (`registered` False: no device registered)."""

    def __init__(self, message: str, *, registered: bool):
        super().__init__(message)
        self.registered = registered


class Misfit(StrEnum):
    """Why a call control does not fit the call's state now (ControlStateError.why)."""

    NO_CONSULTATION = "no_consultation"  # complete, cancel or conference: none in progress
    NOT_ANSWERED = "not_answered"  # complete or conference: the consulted party still rings
    CONSULTING = "consulting"  # resume, transfer or consult during a consultation
    CONFERENCE = "conference"  # hold, resume, transfer, consult during a three-way call
    TRANSFERRING = "transferring"  # the call is being handed on: nothing to control


class ControlStateError(CallControlError):
    """A call control that does not fit the call's state (complete without a consultation,
    hold during a three-way call ...): the action, the state, and why."""

    def __init__(self, message: str, *, action: str, phase: str, why: Misfit):
        super().__init__(message)
        self.action = action
        self.phase = phase
        self.why = why


class BadTargetError(CallControlError):
    """A transfer or consultation to a number that is not an extension or a queue (`kind`:
    what the number is, "" when nothing; `own`: a party of the call itself)."""

    def __init__(self, message: str, *, kind: str = "", own: bool = False):
        super().__init__(message)
        self.kind = kind
        self.own = own


class InternalCallError(CallControlError):
    """The agent is on an internal call (agent to agent): no hold, transfer or mute."""


class CallController(Protocol):
    def live_calls(self) -> list[LiveCall]: ...
    def call_of(self, agent: str) -> LiveCall | None: ...
    def monitor(self, agent: str, supervisor: str, mode: MonitorMode) -> Awaitable[MonitorView]: ...
    def hang_up(self, agent: str, by: str) -> None: ...
    def control(
        self, agent: str, action: ControlAction, target: str | None
    ) -> Awaitable[LiveCall | None]:
        """Apply `action` to `agent`'s customer call; the call as the agent has it after
        (None: he is no longer on it, a transfer)."""
        ...


# -- errors --------------------------------------------------------------------------------------


class CallControlNotRunning(ServiceError):
    status = 503
    code = "not_running"


class AgentNotOnCall(ServiceError):
    status = 409
    code = "no_call"


class MonitorRefused(ServiceError):
    status = 409
    code = "monitor_refused"


class CallStateConflict(ServiceError):
    """A call control that does not fit the call's state now."""

    status = 409
    code = "call_state"


class InternalCallRefused(ServiceError):
    """内部呼叫: a call between agents cannot be held, transferred or muted."""

    status = 409
    code = "internal_call"


class TargetRefused(ServiceError):
    """The extension to transfer to or consult cannot be rung now (not registered, busy)."""

    status = 409
    code = "target_unavailable"


class BadTarget(ServiceError):
    """Transfers go to an extension or a queue; consultations to an extension."""

    status = 422
    code = "bad_target"


class NoOwnExtension(ServiceError):
    """Monitoring rings the user's own extension: a user linked to none cannot monitor."""

    status = 422
    code = "no_extension"


class CallControlService:
    def __init__(self, users: UserService | None = None, oplog: OperationLog | None = None):
        self._users = users
        self._oplog = oplog
        self._controller: CallController | None = None

    def attach(self, controller: CallController | None) -> None:
        """Call control's live calls (None: call control stopped)."""
        self._controller = controller

    @property
    def running(self) -> bool:
        return self._controller is not None

    def _running(self) -> CallController:
        if self._controller is None:
            raise CallControlNotRunning("call control not running")
        return self._controller

    # -- reading ---------------------------------------------------------------------------------

    def live(self, scope: Scope) -> list[LiveCall]:
        """The calls in progress `scope` may see, longest first."""
        calls = [c for c in self._running().live_calls() if scope.sees_live_call(c.queue, c.agent)]
        return sorted(calls, key=lambda c: (c.connected_at, c.id))

    # -- acting (the web API) ------------------------------------------------------------------

    async def monitor(self, user: UserView, agent: str, mode: object) -> MonitorView:
        """Ring `user`'s own extension and, once answered, let him hear `agent`'s call in
        `mode`; a supervisor already on that call switches mode instead."""
        controller = self._running()
        wanted = require_member(MonitorMode, "mode", mode)
        self.authorize(user, agent)
        if not user.extension:
            raise NoOwnExtension(
                f"user {user.username} is linked to no extension: monitoring rings your own "
                "extension"
            )
        supervisor = user.extension
        try:
            view = await controller.monitor(agent, supervisor, wanted)
        except CallControlError as exc:
            raise self._refusal(exc, agent, supervisor) from None
        log.info("%s (%s) monitors agent %s: %s", user.username, supervisor, agent, wanted)
        return view

    def hang_up(self, user: UserView, agent: str) -> LiveCall:
        """End `agent`'s call, both legs (强拆); the history says the system hung up."""
        controller = self._running()
        call = self.authorize(user, agent)
        try:
            controller.hang_up(agent, user.username)
        except NoCallError:
            raise AgentNotOnCall(f"agent {agent} has no call in progress") from None
        log.info("%s hung up the call of agent %s", user.username, agent)
        return call

    # -- agent call controls ----------------------------------------------------------------

    def agent_call(self, user: UserView, agent: str) -> LiveCall | None:
        """`agent`'s customer call as call control has it now (None: none), for the agent
        himself, a supervisor in scope, an admin."""
        self.may_control(user, agent)
        call = self._running().call_of(agent)
        if call is not None and not scope_for(user).sees_live_call(call.queue, call.agent):
            raise OutOfScope(
                f"agent {agent} is on a call of queue {call.queue}, not one of your queues"
            )
        return call

    async def control(
        self, user: UserView, agent: str, action: object, to: object = None
    ) -> LiveCall | None:
        """Hold, resume, mute, unmute, transfer, consult, complete, cancel or conference
        `agent`'s customer call; the call as he has it after (None: handed on)."""
        self.may_control(user, agent)
        controller = self._running()
        wanted = require_member(ControlAction, "action", action)
        target = None
        if wanted in TARGETED_ACTIONS:
            if not isinstance(to, str) or not to.isdigit() or len(to) > TARGET_MAX_LEN:
                raise ValidationError(
                    "to: expected the digits of an extension or a queue number", field="to"
                )
            target = to
        if self.agent_call(user, agent) is None:
            self._no_call(controller, agent)
        try:
            call = await controller.control(agent, wanted, target)
        except CallControlError as exc:
            raise self._control_refusal(exc, agent, wanted, target) from None
        log.info("%s: %s on the call of agent %s%s", user.username, wanted, agent,
                 f" to {target}" if target else "")  # fmt: skip
        return call

    def may_control(self, user: UserView, agent: str) -> None:
        """OutOfScope (403) unless `user` may control `agent`'s calls: the agent himself, a
        supervisor whose team he is of, an admin."""
        if user.role is Role.AGENT:
            if user.extension != agent:
                raise OutOfScope(f"agent {agent} is not you: an agent controls his own calls")
            return
        if not scope_for(user).sees_agent(agent):
            raise OutOfScope(f"agent {agent} is not a member of your queues")

    @staticmethod
    def _no_call(controller: CallController, agent: str) -> None:
        internal = getattr(controller, "on_internal_call", None)
        if internal is not None and internal(agent):
            raise InternalCallRefused(
                f"agent {agent} is on an internal call: it cannot be held, transferred or muted"
            )
        raise AgentNotOnCall(f"agent {agent} has no call in progress")

    @staticmethod
    def _control_refusal(
        exc: CallControlError, agent: str, action: ControlAction, target: str | None
    ) -> ServiceError:
        if isinstance(exc, NoCallError):
            return AgentNotOnCall(f"agent {agent} has no call in progress")
        if isinstance(exc, InternalCallError):
            return InternalCallRefused(
                f"agent {agent} is on an internal call: it cannot be held, transferred or muted"
            )
        if isinstance(exc, ControlStateError):
            return _misfit(exc.why, agent)
        if isinstance(exc, BadTargetError):
            if exc.own:
                return BadTarget(f"{target} is a party of the call already", field="to")
            if exc.kind and action is ControlAction.TRANSFER:
                return BadTarget(
                    f"{target} is a {exc.kind}: a call is transferred to an extension or a queue",
                    field="to",
                )
            if exc.kind:
                return BadTarget(f"{target} is a {exc.kind}: one consults an extension", field="to")
            return BadTarget(f"{target} is no extension or queue of this system", field="to")
        if isinstance(exc, BusyError):
            return TargetRefused(f"extension {target} is on a customer call")
        if isinstance(exc, UnreachableError) and not exc.registered:
            return TargetRefused(f"extension {target} is not registered: no phone to ring")
        return TargetRefused(f"extension {target} cannot be rung now")

    def authorize(self, user: UserView, agent: str) -> LiveCall:
        """`agent`'s call, when `user` may act on it; OutOfScope (403) or AgentNotOnCall (409)
        otherwise."""
        controller = self._running()
        scope = scope_for(user)
        if user.role is Role.AGENT or not scope.sees_agent(agent):
            raise OutOfScope(f"agent {agent} is not a member of your queues")
        call = controller.call_of(agent)
        if call is None:
            raise AgentNotOnCall(f"agent {agent} has no call in progress")
        if not scope.sees_live_call(call.queue, call.agent):
            raise OutOfScope(
                f"agent {agent} is on a call of queue {call.queue}, not one of your queues"
            )
        return call

    # -- feature codes (a desk phone dials *90<agent> ...) -----------------------------------

    def authorize_phone(
        self, extension: str, agent: str, mode: MonitorMode, *, code: str, source: str
    ) -> UserView:
        """May the phone of `extension` monitor `agent`'s call? Its user (the one linked to
        the extension) must be an admin or the agent's supervisor. Every attempt goes to the
        operation log; a refusal raises the ServiceError that says why (never told to the
        phone: it hears the same prompt whatever the reason)."""
        user = self.user_at(extension)
        try:
            if user is None:
                raise OutOfScope(f"extension {extension} is linked to no user who may monitor")
            if user.role not in (Role.ADMIN, Role.SUPERVISOR):
                raise OutOfScope(f"role {user.role} may not monitor calls")
            self.authorize(user, agent)
        except ServiceError as exc:
            self._log_phone(user, extension, PHONE_MONITOR_REFUSED, code, source,
                            {"agent": agent, "mode": str(mode), "reason": exc.code})  # fmt: skip
            raise
        self._log_phone(user, extension, PHONE_MONITOR, code, source,
                        {"agent": agent, "mode": str(mode)})  # fmt: skip
        return user

    def user_at(self, extension: str) -> UserView | None:
        """The user linked to `extension` (one at most), if any."""
        if self._users is None:
            return None
        for user in self._users.list_users():
            if user.extension == extension:
                return user
        return None

    def _log_phone(
        self,
        user: UserView | None,
        extension: str,
        action: str,
        code: str,
        source: str,
        detail: dict[str, str],
    ) -> None:
        if self._oplog is None:
            return
        try:
            self._oplog.record(
                username=user.username if user is not None else f"extension {extension}",
                role=user.role if user is not None else None,
                client_ip=source,
                action=action,
                target=code,
                detail={"extension": extension, **detail},
            )
        except Exception:  # the log row is lost, the decision stands
            log.exception("operation log: %s from %s not recorded", action, extension)

    @staticmethod
    def _refusal(exc: CallControlError, agent: str, supervisor: str) -> ServiceError:
        if isinstance(exc, NoCallError):
            return AgentNotOnCall(f"agent {agent} has no call in progress")
        if isinstance(exc, OwnCallError):
            return MonitorRefused(f"extension {supervisor} cannot monitor its own call")
        if isinstance(exc, BusyError):
            return MonitorRefused(f"extension {supervisor} is on a customer call itself")
        if isinstance(exc, UnreachableError) and not exc.registered:
            return MonitorRefused(f"extension {supervisor} is not registered: no phone to ring")
        return MonitorRefused(f"extension {supervisor} cannot be rung now")


def _misfit(why: Misfit, agent: str) -> CallStateConflict:
    if why is Misfit.NO_CONSULTATION:
        return CallStateConflict(f"agent {agent} has no consultation in progress")
    if why is Misfit.NOT_ANSWERED:
        return CallStateConflict(f"the extension agent {agent} consults has not answered yet")
    if why is Misfit.CONSULTING:
        return CallStateConflict(f"agent {agent} is in a consultation: complete or cancel it first")
    if why is Misfit.CONFERENCE:
        return CallStateConflict(
            f"agent {agent} is in a three-way call: leave it (complete) or drop the third "
            "party (cancel) first"
        )
    return CallStateConflict(f"the call of agent {agent} is being transferred")
