"""OpenAPI paths and schemas of the call-center configuration and agents (merged into
OPENAPI_DOCUMENT by openapi.py). Each configuration kind is written once as its properties;
the object, create and update schemas and the two paths are derived from that."""

from __future__ import annotations

from typing import Any

from ..callcenter.strategies import DEFAULT_STRATEGY, STRATEGIES
from ..services.agents import STATES as AGENT_STATES
from .openapi_common import (
    ADMIN_ROLES,
    ALL_ROLES,
    AUTH,
    NULLABLE_TIME,
    NUMBER,
    STAFF_ROLES,
    error,
    item_list,
    json_body,
    json_request,
    path_parameter,
    ref,
)

_NAME = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$"}
_LABEL = {"type": "string", "maxLength": 64}
_PROMPT = {"type": ["string", "null"], "maxLength": 128, "description": "prompt name"}
_DESTINATION = {
    "type": "string",
    "description": (
        "`kind:target`: extension:1001, ring_group:700, ivr:main, queue:600, conference:800, "
        "voicemail:1001, survey, hangup. The target must exist; a cycle of automatic steps "
        "(overflow, failover, timeouts, routes) is refused with 400 `loop`."
    ),
    "examples": ["queue:600"],
}
_OPTIONAL_DESTINATION = {**_DESTINATION, "type": ["string", "null"]}


def _int(minimum: int, maximum: int, default: int, unit: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "integer",
        "minimum": minimum,
        "maximum": maximum,
        "default": default,
    }
    if unit:
        schema["description"] = unit
    return schema


def _bool(default: bool) -> dict[str, Any]:
    return {"type": "boolean", "default": default}


# kind -> (schema name, collection path, key field, key schema, properties, required, fixed)
_KINDS: dict[str, tuple[str, str, str, dict, dict[str, Any], list[str], list[str]]] = {
    "queue": (
        "Queue",
        "/api/v1/queues",
        "number",
        NUMBER,
        {
            "number": NUMBER,
            "name": _LABEL,
            "strategy": {"enum": list(STRATEGIES), "default": DEFAULT_STRATEGY},
            "members": {
                "type": "array",
                "description": "static members (logged in for good), existing extensions",
                "items": {
                    "type": "object",
                    "required": ["extension"],
                    "properties": {
                        "extension": NUMBER,
                        "penalty": {"type": "integer", "minimum": 0, "maximum": 100},
                    },
                },
            },
            "timeout": _int(1, 600, 15, "s an agent rings"),
            "retry": _int(0, 600, 5, "s between rounds"),
            "wrapup": _int(0, 3600, 10, "s after a call"),
            "max_wait": _int(0, 86400, 300, "s, 0 = no limit"),
            "max_length": _int(0, 1000, 20, "waiting callers, 0 = no limit"),
            "overflow": _OPTIONAL_DESTINATION,
            "join_empty": _bool(True),
            "leave_when_empty": _bool(False),
            "welcome_prompt": _PROMPT,
            "music": _PROMPT,
            "announce_position": _bool(False),
            "announce_wait": _bool(False),
            "periodic_prompt": _PROMPT,
            "periodic_interval": _int(10, 3600, 60, "s"),
            "announce_agent_id": _bool(False),
            "recording": {"enum": ["none", "all", "inbound", "outbound"], "default": "none"},
            "voicemail": _bool(False),
            "survey": _bool(False),
        },
        ["number"],
        ["number"],
    ),
    "ring_group": (
        "RingGroup",
        "/api/v1/ring-groups",
        "number",
        NUMBER,
        {
            "number": NUMBER,
            "name": _LABEL,
            "strategy": {"enum": ["ringall", "order"], "default": "ringall"},
            "members": {"type": "array", "items": NUMBER, "description": "in ringing order"},
            "timeout": _int(1, 600, 20, "s"),
            "failover": _OPTIONAL_DESTINATION,
        },
        ["number"],
        ["number"],
    ),
    "conference": (
        "Conference",
        "/api/v1/conferences",
        "number",
        NUMBER,
        {
            "number": NUMBER,
            "name": _LABEL,
            "pin": {"type": ["string", "null"], "pattern": "^[0-9]{1,12}$"},
            "moderator_pin": {"type": ["string", "null"], "pattern": "^[0-9]{1,12}$"},
            "max_members": _int(2, 32, 10),
        },
        ["number"],
        ["number"],
    ),
    "ivr": (
        "Ivr",
        "/api/v1/ivrs",
        "name",
        _NAME,
        {
            "name": _NAME,
            "number": {**NUMBER, "type": ["string", "null"]},
            "prompt": {"type": "string", "maxLength": 128},
            "keys": {
                "type": "object",
                "description": 'key (0-9, *, #) -> destination or "repeat"; keys are chosen',
                "propertyNames": {"pattern": "^[0-9*#]$"},
                "additionalProperties": {"type": "string"},
                "examples": [{"1": "queue:600", "2": "ivr:sales", "*": "repeat"}],
            },
            "dial_extension": _bool(False),
            "timeout": _int(1, 60, 5, "s"),
            "retries": _int(0, 10, 2),
            "invalid_prompt": _PROMPT,
            "timeout_destination": _OPTIONAL_DESTINATION,
            "invalid_destination": _OPTIONAL_DESTINATION,
        },
        ["name", "prompt"],
        ["name"],
    ),
    "inbound_route": (
        "InboundRoute",
        "/api/v1/inbound-routes",
        "id",
        {"type": "string", "pattern": "^[0-9]+$"},
        {
            "id": {"type": "integer", "readOnly": True},
            "did": {"type": "string", "pattern": "^(\\*|\\+?[0-9]{1,32})$"},
            "destination": _DESTINATION,
            "time_condition": {
                "type": ["object", "null"],
                "properties": {
                    "hours": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "days": {
                                    "type": "array",
                                    "items": {"type": "integer", "minimum": 1, "maximum": 7},
                                },
                                "from": {"type": "string", "examples": ["09:00"]},
                                "to": {"type": "string", "examples": ["18:00"]},
                            },
                        },
                    },
                    "holidays": {"type": "array", "examples": [["2026-10-01"]]},
                    "timezone": {"type": "string", "default": "Asia/Shanghai"},
                },
            },
            "closed_destination": _OPTIONAL_DESTINATION,
        },
        ["did", "destination"],
        [],
    ),
    "trunk": (
        "Trunk",
        "/api/v1/trunks",
        "name",
        _NAME,
        {
            "name": _NAME,
            "host": {"type": "string", "description": "static IP address of the peer"},
            "port": _int(1, 65535, 5060),
            "transport": {"enum": ["udp", "tcp"], "default": "udp"},
        },
        ["name", "host"],
        ["name"],
    ),
}


def _kind_schemas(name: str, props: dict, required: list[str], fixed: list[str]) -> dict:
    writable = {k: v for k, v in props.items() if not v.get("readOnly")}
    return {
        name: {"type": "object", "required": list(props), "properties": props},
        f"{name}List": item_list(name),
        f"{name}Create": {
            "type": "object",
            "required": required,
            "properties": writable,
            "additionalProperties": False,
        },
        f"{name}Update": {
            "type": "object",
            "minProperties": 1,
            "properties": {k: v for k, v in writable.items() if k not in fixed},
            "additionalProperties": False,
        },
    }


def _kind_paths(name: str, path: str, key: str, key_schema: dict) -> dict[str, Any]:
    title = name[0].lower() + name[1:]
    return {
        path: {
            "get": {
                "operationId": f"list{name}s",
                "summary": f"All {title} objects",
                "x-pbxd-roles": STAFF_ROLES,
                "responses": {"200": json_body(ref(f"{name}List"), "The list"), **AUTH},
            },
            "post": {
                "operationId": f"create{name}",
                "summary": "Create (fields left out take their defaults)",
                "x-pbxd-roles": ADMIN_ROLES,
                "requestBody": json_request(f"{name}Create"),
                "responses": {
                    "201": {
                        **json_body(ref(name), "Created"),
                        "headers": {"Location": {"schema": {"type": "string"}}},
                    },
                    "400": error("BadRequest"),
                    **AUTH,
                    "409": error("Conflict"),
                    "413": error("TooLarge"),
                },
            },
        },
        f"{path}/{{{key}}}": {
            "parameters": [path_parameter(key, key_schema)],
            "get": {
                "operationId": f"get{name}",
                "summary": "One object",
                "x-pbxd-roles": STAFF_ROLES,
                "responses": {
                    "200": json_body(ref(name), "The object"),
                    **AUTH,
                    "404": error("NotFound"),
                },
            },
            "put": {
                "operationId": f"update{name}",
                "summary": "Change the fields given (others stay; null clears an optional one)",
                "x-pbxd-roles": ADMIN_ROLES,
                "requestBody": json_request(f"{name}Update"),
                "responses": {
                    "200": json_body(ref(name), "The updated object"),
                    "400": error("BadRequest"),
                    **AUTH,
                    "404": error("NotFound"),
                    "409": error("Conflict"),
                    "413": error("TooLarge"),
                },
            },
            "delete": {
                "operationId": f"delete{name}",
                "summary": "Delete; refused with 409 `in_use` while something points at it",
                "x-pbxd-roles": ADMIN_ROLES,
                "responses": {
                    "204": {"description": "Deleted"},
                    **AUTH,
                    "404": error("NotFound"),
                    "409": error("Conflict"),
                },
            },
        },
    }


_EXTENSION_PARAMETER = [path_parameter("extension", NUMBER)]
_AGENT_RESPONSES = {
    "200": json_body(ref("Agent"), "The agent's state after the action"),
    "400": error("BadRequest"),
    **AUTH,
    "404": error("NotFound"),
    "409": error("Conflict"),
}


def _agent_action(operation: str, summary: str, body: str | None) -> dict[str, Any]:
    action: dict[str, Any] = {
        "operationId": operation,
        "summary": summary,
        "x-pbxd-roles": ALL_ROLES,
        "responses": _AGENT_RESPONSES,
    }
    if body:
        action["requestBody"] = json_request(body, required=False)
    return {"parameters": _EXTENSION_PARAMETER, "post": action}


AGENT_PATHS: dict[str, Any] = {
    "/api/v1/agents": {
        "get": {
            "operationId": "listAgents",
            "summary": "Queue members, logged-in agents and extensions linked to users",
            "x-pbxd-roles": STAFF_ROLES,
            "responses": {"200": json_body(ref("AgentList"), "The agents"), **AUTH},
        }
    },
    "/api/v1/agents/{extension}": {
        "parameters": _EXTENSION_PARAMETER,
        "get": {
            "operationId": "getAgent",
            "summary": "One agent (an agent may read his own extension only)",
            "x-pbxd-roles": ALL_ROLES,
            "responses": {
                "200": json_body(ref("Agent"), "The agent"),
                **AUTH,
                "404": error("NotFound"),
            },
        },
    },
    "/api/v1/agents/{extension}/login": _agent_action(
        "agentLogin", "Log in to `queues` (all queues when left out)", "AgentQueues"
    ),
    "/api/v1/agents/{extension}/logout": _agent_action(
        "agentLogout",
        "Log out of `queues` (every dynamic queue when left out); static queues stay",
        "AgentQueues",
    ),
    "/api/v1/agents/{extension}/pause": _agent_action(
        "agentPause", "Pause in every queue (409 wrong_state when logged out)", "AgentPause"
    ),
    "/api/v1/agents/{extension}/unpause": _agent_action("agentUnpause", "Unpause", None),
}

AGENT_SCHEMAS: dict[str, Any] = {
    "Agent": {
        "type": "object",
        "required": [
            "extension",
            "name",
            "logged_in",
            "queues",
            "paused",
            "pause_reason",
            "paused_since",
            "state",
            "state_since",
            "call_queue",
        ],
        "properties": {
            "extension": NUMBER,
            "name": {"type": "string"},
            "logged_in": {"type": "boolean"},
            "queues": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["queue", "static", "penalty", "since"],
                    "properties": {
                        "queue": NUMBER,
                        "static": {"type": "boolean"},
                        "penalty": {"type": "integer"},
                        "since": NULLABLE_TIME,
                    },
                },
            },
            "paused": {"type": "boolean"},
            "pause_reason": {"type": ["string", "null"]},
            "paused_since": NULLABLE_TIME,
            "state": {
                "type": "string",
                "enum": list(AGENT_STATES),
                "description": "Live: paused means paused and idle (a paused agent on a call "
                "is on_call); ringing, on_call and wrapup come from call control",
            },
            "state_since": {
                **NULLABLE_TIME,
                "description": "When the state began; null when before the daemon started",
            },
            "call_queue": {
                "type": ["string", "null"],
                "description": "The queue of the call the agent rings for, talks on or wraps up",
            },
        },
    },
    "AgentList": item_list("Agent"),
    "AgentQueues": {
        "type": "object",
        "properties": {"queues": {"type": "array", "items": NUMBER}},
        "additionalProperties": False,
    },
    "AgentPause": {
        "type": "object",
        "properties": {"reason": {"type": "string", "maxLength": 64}},
        "additionalProperties": False,
    },
}

CALLCENTER_PATHS: dict[str, Any] = dict(AGENT_PATHS)
CALLCENTER_SCHEMAS: dict[str, Any] = dict(AGENT_SCHEMAS)
for _name, _path, _key, _key_schema, _props, _required, _fixed in _KINDS.values():
    CALLCENTER_PATHS.update(_kind_paths(_name, _path, _key, _key_schema))
    CALLCENTER_SCHEMAS.update(_kind_schemas(_name, _props, _required, _fixed))
