"""OpenAPI paths and schemas of the live agent calls, supervisor monitoring and the agent's
call controls (issue 7): /api/v1/calls/live, /api/v1/agents/{extension}/monitor, /hangup,
/call and /call/{action}."""

from __future__ import annotations

from typing import Any

from ..services.calls import (
    TARGETED_ACTIONS,
    CallPhase,
    ConsultState,
    ControlAction,
    MonitorMode,
    MonitorState,
)
from .openapi_common import (
    ALL_ROLES,
    AUTH,
    NUMBER,
    STAFF_ROLES,
    TIME,
    error,
    item_list,
    json_body,
    json_request,
    path_parameter,
    ref,
)

_AGENT = [path_parameter("extension", NUMBER)]
_NOT_RUNNING = json_body(ref("Error"), "Call control is not running (not_running)")
_SCOPE = (
    " A supervisor acts on the calls of the queues he leads (a call without a queue: when its "
    "agent is of his team), an admin on any, an agent never (403)."
)

CALLS_PATHS: dict[str, Any] = {
    "/api/v1/calls/live": {
        "get": {
            "operationId": "listLiveCalls",
            "summary": "The customer <-> agent calls in progress, longest first, with the "
            "supervisors monitoring them",
            "description": "Customer numbers are masked by the reader's `masking`. A supervisor "
            "sees the calls of the queues he leads (a call without a queue: when its agent is "
            "of his team).",
            "x-pbxd-roles": STAFF_ROLES,
            "responses": {
                "200": json_body(ref("LiveCallList"), "The calls in progress"),
                **AUTH,
                "503": _NOT_RUNNING,
            },
        }
    },
    "/api/v1/agents/{extension}/monitor": {
        "parameters": _AGENT,
        "post": {
            "operationId": "monitorAgent",
            "summary": "Listen to (监听), whisper to (密语) or barge into (强插) an agent's call",
            "description": "Rings the requesting user's own extension (desk phones and browser "
            "softphone; the caller ID is the agent's number); once answered he hears the call "
            "in `mode`: listen (he hears both, nobody hears him), whisper (the agent hears him, "
            "the customer does not), barge (all three hear each other). Asked again while he "
            "is on the call (or still rung for it), the mode changes without a new call. On "
            "the call his keys 4, 5 and 6 switch to listen, whisper and barge. His hanging up "
            "leaves the call as it was; the call ending hangs him up. Desk phones can dial "
            "*90<agent> (listen), *91<agent> (whisper), *92<agent> (barge) instead." + _SCOPE,
            "x-pbxd-roles": STAFF_ROLES,
            "requestBody": json_request("MonitorRequest"),
            "responses": {
                "200": json_body(ref("Monitor"), "Ringing the user's extension, or mode changed"),
                "400": error("BadRequest"),
                **AUTH,
                "409": json_body(
                    ref("Error"),
                    "The agent has no call in progress (no_call); the user's extension is the "
                    "agent's, on a customer call itself, or cannot be rung (monitor_refused)",
                ),
                "422": json_body(
                    ref("Error"), "The user is linked to no extension to ring (no_extension)"
                ),
                "503": _NOT_RUNNING,
            },
        },
    },
    "/api/v1/agents/{extension}/hangup": {
        "parameters": _AGENT,
        "post": {
            "operationId": "hangUpAgentCall",
            "summary": "Hang up an agent's call (强拆): both legs end",
            "description": "The supervisors monitoring it are hung up too. The call's CDR row "
            'says `hangup_side` "system"; its COMPLETE row in the queue log has data '
            '`hangup_side` "system" and `by` (the username who asked).' + _SCOPE,
            "x-pbxd-roles": STAFF_ROLES,
            "responses": {
                "204": {"description": "The call is over"},
                "400": error("BadRequest"),
                **AUTH,
                "409": json_body(ref("Error"), "The agent has no call in progress (no_call)"),
                "503": _NOT_RUNNING,
            },
        },
    },
}

_CONTROL_USERS = (
    " For the agent himself (a user whose extension is `extension`), a supervisor of his "
    "queues (a queue call: of that queue) and an admin."
)
_CONTROL_WHO = _CONTROL_USERS + (
    " Only customer calls: an internal call (agent to agent) cannot be held, transferred or "
    "muted (409 internal_call)."
)
_CONTROLS: dict[ControlAction, tuple[str, str, str]] = {
    # action: (operationId, summary, description)
    ControlAction.HOLD: (
        "holdAgentCall",
        "Put the agent's customer on hold (保持)",
        "The customer hears the queue's music on hold, the agent silence; the recording goes "
        "on. Holding a held call changes nothing.",
    ),
    ControlAction.RESUME: (
        "resumeAgentCall",
        "Take the customer off hold",
        "Customer and agent hear each other again. Also after a consultation whose consulted "
        "party hung up or did not answer (the customer stays on hold until then).",
    ),
    ControlAction.MUTE: (
        "muteAgentCall",
        "Mute the agent (静音): the customer no longer hears him",
        "The agent still hears the customer; supervisors' modes still apply (a whisper still "
        "reaches him, a barge the customer). Kept until unmute, dropped when another agent "
        "takes the call.",
    ),
    ControlAction.UNMUTE: ("unmuteAgentCall", "Unmute the agent", "The customer hears him again."),
    ControlAction.TRANSFER: (
        "transferAgentCall",
        "Blind transfer (盲转) to an extension or a queue",
        "To an extension: it rings with the customer's number; the agent's leg is hung up at "
        "once (he goes to wrap-up) and the customer hears music on hold. When it answers it is "
        "the call's agent (it can be monitored and transferred again); when it refuses or does "
        "not answer within the queue's ring time (its `timeout`) the customer goes back to "
        "the head of the queue he came from and is rung to the next free agent (queue log "
        "TRANSFER_RETURN). To a queue: "
        "the customer leaves this queue and joins that one (like an overflow). Queue log: "
        'TRANSFER row of the agent, data "blind|<target>|wait|talk|original position" with '
        'the target as "extension:3102" or "queue:601". Other numbers (ring groups, IVRs, '
        "conference rooms, outside numbers) are refused (422 bad_target).",
    ),
    ControlAction.CONSULT: (
        "consultAgentCall",
        "Consult an extension (咨询转移: team leader, another agent)",
        "The customer is put on hold (music); the extension rings with the agent's number "
        "(its page is told the call id, the queue and kind consult); the agent hears ringback, "
        "then talks with it. Then `consult/complete`, `consult/cancel` or `conference`. If it "
        "refuses, does not answer or hangs up, the agent is back with the customer on hold "
        "(resume). If the agent hangs up while it rings, it goes on ringing as a blind "
        "transfer; once it answered, it takes the customer. A consulted agent is on a call "
        "(no queue call is offered to him) while he talks.",
    ),
    ControlAction.COMPLETE: (
        "completeConsultation",
        "Complete the transfer: the consulted party takes the customer",
        "The agent's leg is hung up (he goes to wrap-up); customer and consulted party talk; "
        'queue log TRANSFER row "attended|extension:<target>|...". From a three-way call too '
        "(the agent leaves it). 409 call_state while it still rings.",
    ),
    ControlAction.CANCEL: (
        "cancelConsultation",
        "Cancel the consultation: the consulted party is hung up",
        "Customer and agent talk again (off hold). From a three-way call: the third party is "
        "dropped.",
    ),
    ControlAction.CONFERENCE: (
        "conferenceAgentCall",
        "Three-way call (三方通话): customer, agent and consulted party",
        "All three hear each other. If the agent hangs up, customer and consulted party stay "
        "connected (it takes the call); if the consulted party hangs up, customer and agent "
        "talk on.",
    ),
}
_CONTROL_ERRORS = {
    "409": json_body(
        ref("Error"),
        "The agent has no customer call (no_call); an internal call (internal_call); the "
        "action does not fit the call's state now, e.g. complete without a consultation "
        "(call_state); the extension to call is not registered or on a customer call "
        "(target_unavailable)",
    ),
    "503": _NOT_RUNNING,
}


def _control_path(action: ControlAction) -> dict[str, Any]:
    operation_id, summary, description = _CONTROLS[action]
    targeted = action in TARGETED_ACTIONS
    responses: dict[str, Any] = {
        "200": json_body(ref("AgentCallState"), "The call as the agent has it after"),
        "400": error("BadRequest"),
        **AUTH,
        **_CONTROL_ERRORS,
    }
    if targeted:
        responses["422"] = json_body(
            ref("Error"),
            "Not an extension (consult) or an extension or queue (transfer) of this system, or "
            "a party of the call (bad_target)",
        )
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "description": description + _CONTROL_WHO,
        "x-pbxd-roles": ALL_ROLES,
        "responses": responses,
    }
    if targeted:
        operation["requestBody"] = json_request("CallTarget")
    return {"parameters": _AGENT, "post": operation}


CALLS_PATHS["/api/v1/agents/{extension}/call"] = {
    "parameters": _AGENT,
    "get": {
        "operationId": "getAgentCall",
        "summary": "The agent's customer call and the state of its controls (the agent page)",
        "description": "`call` is null when the agent has no customer call (or is on an "
        "internal one). The customer's number is masked by the reader's `masking`."
        + _CONTROL_USERS,
        "x-pbxd-roles": ALL_ROLES,
        "responses": {
            "200": json_body(ref("AgentCallState"), "The agent's call, or null"),
            "400": error("BadRequest"),
            **AUTH,
            "503": _NOT_RUNNING,
        },
    },
}
for _action in ControlAction:
    CALLS_PATHS[f"/api/v1/agents/{{extension}}/call/{_action}"] = _control_path(_action)

_MODE = {"enum": [str(mode) for mode in MonitorMode]}
_LIVE_CALL_FIELDS = ["id", "queue", "agent", "customer", "connected_at", "duration"]
_LIVE_CALL_FIELDS += ["recording", "monitors", "held", "muted", "phase", "consultation"]

CALLS_SCHEMAS: dict[str, Any] = {
    "MonitorRequest": {
        "type": "object",
        "required": ["mode"],
        "additionalProperties": False,
        "properties": {"mode": _MODE},
    },
    "Monitor": {
        "type": "object",
        "required": ["agent", "supervisor", "mode", "state", "since"],
        "properties": {
            "agent": {"type": "string", "description": "The agent whose call is monitored"},
            "supervisor": {"type": "string", "description": "The extension that monitors"},
            "mode": _MODE,
            "state": {
                "enum": [str(state) for state in MonitorState],
                "description": "ringing: his extension rings; connected: he is on the call",
            },
            "since": TIME,
        },
    },
    "LiveCall": {
        "type": "object",
        "required": _LIVE_CALL_FIELDS,
        "properties": {
            "id": {"type": "string"},
            "queue": {"type": ["string", "null"], "description": "null: a call of no queue"},
            "agent": {"type": "string"},
            "customer": {
                "type": "string",
                "description": "The customer's number, masked by the reader's `masking`",
            },
            "connected_at": TIME,
            "duration": {
                "type": "integer",
                "minimum": 0,
                "description": "Seconds since the agent was connected",
            },
            "recording": {"type": "boolean"},
            "monitors": {"type": "array", "items": ref("Monitor")},
            "held": {
                "type": "boolean",
                "description": "The customer is on hold: he hears music, the agent silence "
                "(also during a consultation)",
            },
            "muted": {"type": "boolean", "description": "The customer does not hear the agent"},
            "phase": {
                "enum": [str(phase) for phase in CallPhase],
                "description": "talking: customer and agent; consulting: the agent with the "
                "consulted party (or it rings), the customer on hold; conference: all three",
            },
            "consultation": {"oneOf": [ref("Consultation"), {"type": "null"}]},
        },
    },
    "LiveCallList": item_list("LiveCall"),
    "Consultation": {
        "type": "object",
        "required": ["target", "state", "since"],
        "properties": {
            "target": {"type": "string", "description": "The extension consulted"},
            "state": {
                "enum": [str(state) for state in ConsultState],
                "description": "ringing: it is being rung; connected: it answered",
            },
            "since": TIME,
        },
    },
    "CallTarget": {
        "type": "object",
        "required": ["to"],
        "additionalProperties": False,
        "properties": {
            "to": {
                "type": "string",
                "pattern": "^[0-9]{1,32}$",
                "description": "An extension (consult, transfer) or a queue number (transfer)",
            }
        },
    },
    "AgentCallState": {
        "type": "object",
        "required": ["agent", "call"],
        "properties": {
            "agent": {"type": "string"},
            "call": {
                "oneOf": [ref("LiveCall"), {"type": "null"}],
                "description": "null: no customer call (any more: after a transfer or "
                "complete the agent is off it)",
            },
        },
    },
}
