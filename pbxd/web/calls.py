"""Live agent calls, supervisor monitoring and the agent's call controls (issue 7):
/api/v1/calls/live, /api/v1/agents/{extension}/monitor, /hangup, /call and /call/{action}.

An admin acts on any agent's call, a supervisor on the calls of the queues he leads
(pbxd/services/scope.py), an agent never. Monitoring rings the requesting user's own extension
(his desk phone and browser softphone); asking again while he is on the call switches the mode.
Customer numbers are masked by the reader's `masking`. Every monitoring request that succeeds
is in the operation log with its mode; a hang-up like any other write.

The call controls (`/agents/{extension}/call/hold`, `resume`, `mute`, `unmute`, `transfer`
{"to"}, `consult` {"to"}, `consult/complete`, `consult/cancel`, `conference`) are for the agent
himself (his user's extension is `extension`), a supervisor in scope and an admin; each
answers with the call as the agent has it after (`call` null: he handed it on). `GET
/agents/{extension}/call` is that state for the agent page (`call` null: no customer call).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from ..services import LiveCall, MonitorView
from ..services.calls import TARGETED_ACTIONS, ConsultView, ControlAction
from .base import ADMIN_OR_SUPERVISOR, ANY_ROLE, BaseHandler, reject_unknown_fields
from .schemas import iso_utc

log = logging.getLogger(__name__)


def monitor_json(view: MonitorView) -> dict[str, Any]:
    return {
        "agent": view.agent,
        "supervisor": view.supervisor,
        "mode": str(view.mode),
        "state": str(view.state),
        "since": iso_utc(view.since),
    }


def consult_json(view: ConsultView | None) -> dict[str, Any] | None:
    if view is None:
        return None
    return {"target": view.target, "state": str(view.state), "since": iso_utc(view.since)}


class CallJson(BaseHandler):
    """Handlers that answer with live calls, customer numbers masked for the reader."""

    def call_json(self, call: LiveCall, now: datetime) -> dict[str, Any]:
        return {
            "id": call.id,
            "queue": call.queue,
            "agent": call.agent,
            "customer": self.masker().number(call.customer),
            "connected_at": iso_utc(call.connected_at),
            "duration": max(0, round((now - call.connected_at).total_seconds())),
            "recording": call.recording,
            "monitors": [monitor_json(m) for m in call.monitors],
            "held": call.held,
            "muted": call.muted,
            "phase": str(call.phase),
            "consultation": consult_json(call.consultation),
        }


class LiveCallsHandler(CallJson):
    access = {"GET": ADMIN_OR_SUPERVISOR}

    def get(self) -> None:
        self.query_params(())
        now = datetime.now(UTC)
        calls = self.services.calls.live(self.scope())
        self.reply({"items": [self.call_json(call, now) for call in calls]})


class AgentMonitorHandler(BaseHandler):
    access = {"POST": ADMIN_OR_SUPERVISOR}
    logs_operations = False  # its own row, with the mode

    async def post(self, extension: str) -> None:
        body = self.json_body({"mode": str}, required=("mode",))
        user = self.current_user
        assert user is not None  # prepare() authenticated the request
        view = await self.services.calls.monitor(user, extension, body["mode"])
        self.reply(monitor_json(view))
        try:
            self.services.oplog.record(
                username=user.username,
                role=user.role,
                client_ip=self.request.remote_ip or "unknown",
                action=f"POST {self.route}",
                target=self.request.path,
                detail={"mode": str(view.mode), "supervisor": view.supervisor, "status": 200},
            )
        except Exception:  # the supervisor is being rung: a lost row must not undo that
            log.exception("operation log: monitoring of %s not recorded", extension)


class AgentHangupHandler(BaseHandler):
    access = {"POST": ADMIN_OR_SUPERVISOR}

    def post(self, extension: str) -> None:
        reject_unknown_fields(self.json_object(empty_ok=True), ())
        user = self.current_user
        assert user is not None  # prepare() authenticated the request
        self.services.calls.hang_up(user, extension)
        self.reply_no_content()


AGENT_CALL = "/api/v1/agents/{extension}/call"


class AgentCallHandler(CallJson):
    """The agent's customer call and its controls' state (the agent page)."""

    access = {"GET": ANY_ROLE}

    def get(self, extension: str) -> None:
        self.query_params(())
        user = self.current_user
        assert user is not None  # prepare() authenticated the request
        self.reply_call(extension, self.services.calls.agent_call(user, extension))

    def reply_call(self, extension: str, call: LiveCall | None) -> None:
        now = datetime.now(UTC)
        self.reply(
            {"agent": extension, "call": None if call is None else self.call_json(call, now)}
        )


class AgentCallControlHandler(AgentCallHandler):
    """POST /agents/{extension}/call/<action>: the action is the rest of the route."""

    access = {"POST": ANY_ROLE}

    async def post(self, extension: str) -> None:
        user = self.current_user
        assert user is not None  # prepare() authenticated the request
        self.services.calls.may_control(user, extension)  # before the body is read
        action = ControlAction(self.route.removeprefix(AGENT_CALL + "/"))
        target = None
        if action in TARGETED_ACTIONS:  # "to" is checked by the service
            body = self.json_object()
            reject_unknown_fields(body, ("to",))
            target = body.get("to")
        else:
            reject_unknown_fields(self.json_object(empty_ok=True), ())
        call = await self.services.calls.control(user, extension, action, target)
        self.reply_call(extension, call)


# The routes of the call controls, one per action (app.py ROUTES).
CALL_CONTROL_ROUTES = (
    (AGENT_CALL, AgentCallHandler),
    *((f"{AGENT_CALL}/{action}", AgentCallControlHandler) for action in ControlAction),
)
