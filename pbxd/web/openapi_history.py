"""OpenAPI paths and schemas of the history API (recordings, voicemail, queue events, call
legs), merged into `openapi.OPENAPI_DOCUMENT`. Same conventions as openapi.py."""

from __future__ import annotations

from typing import Any

from ..services.cdr import Disposition
from ..services.history import Direction, PeerKind, QueueEventType, SurveyReason, SurveyResult
from ..services.recordings import FORMATS

_ROLES_ALL = ["admin", "supervisor", "agent"]
_ROLES_STAFF = ["admin", "supervisor"]
_TIME = {"type": "string", "format": "date-time", "examples": ["2024-05-01T08:30:00Z"]}
_NULLABLE_TEXT = {"type": ["string", "null"]}
DISPOSITIONS = [str(value) for value in Disposition]  # also the CDR schema's


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": schema}


def _path(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _paging(default: int, maximum: int) -> list[dict[str, Any]]:
    return [
        _query(
            "limit",
            "Page size",
            {"type": "integer", "minimum": 1, "maximum": maximum, "default": default},
        ),
        _query("offset", "Rows to skip", {"type": "integer", "minimum": 0, "default": 0}),
    ]


_AUTH = {"401": _error("Unauthorized"), "403": _error("Forbidden")}
_ID = _path("id", {"type": "integer", "minimum": 1})
_BOX = _path("box", {"type": "string", "pattern": "^[0-9]{2,6}$"})
_TIME_RANGE = [
    _query("from", "At or after this time (with offset)", _TIME),
    _query("to", "Before this time (with offset)", _TIME),
]
_AUDIO = {
    "description": "The WAV file as an attachment (206 for a Range request)",
    "headers": {
        "Content-Disposition": {"schema": {"type": "string"}},
        "Accept-Ranges": {"schema": {"const": "bytes"}},
    },
    "content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}},
}
_AUDIO_RESPONSES = {
    "200": _AUDIO,
    "206": {**_AUDIO, "description": "The requested byte range (Content-Range)"},
    **_AUTH,
    "404": _json(_ref("Error"), "No such resource, or its file is missing"),
    "416": _json(_ref("Error"), "Range outside the file (Content-Range: bytes */size)"),
}

HISTORY_PATHS: dict[str, Any] = {
    "/api/v1/recordings": {
        "get": {
            "operationId": "searchRecordings",
            "summary": "Search recordings, newest first (agents: calls they took part in)",
            "x-pbxd-roles": _ROLES_ALL,
            "parameters": [
                *_TIME_RANGE,
                _query("party", "Caller or callee number", {"type": "string"}),
                _query("queue", "Queue number", {"type": "string"}),
                _query("agent", "Agent extension", {"type": "string"}),
                _query("text", "Part of the note", {"type": "string"}),
                *_paging(50, 1000),
            ],
            "responses": {
                "200": _json(_ref("RecordingPage"), "One page of recordings"),
                "400": _error("BadRequest"),
                **_AUTH,
            },
        }
    },
    "/api/v1/recordings/archive": {
        "get": {
            "operationId": "archiveRecordings",
            "summary": "The recordings a search finds, or those listed by `id`, as one zip "
            "(stored entries and index.csv); at most 500",
            "x-pbxd-roles": _ROLES_ALL,
            "parameters": [
                *_TIME_RANGE,
                _query("party", "Caller or callee number", {"type": "string"}),
                _query("queue", "Queue number", {"type": "string"}),
                _query("agent", "Agent extension", {"type": "string"}),
                _query("text", "Part of the note", {"type": "string"}),
                {
                    "name": "id",
                    "in": "query",
                    "description": "Recording ids (repeat the parameter); instead of a search",
                    "schema": {"type": "array", "items": {"type": "integer"}, "maxItems": 500},
                    "explode": True,
                },
            ],
            "responses": {
                "200": {
                    "description": "The zip, streamed as an attachment",
                    "content": {"application/zip": {"schema": {"type": "string",
                                                               "format": "binary"}}},
                },
                "400": _error("BadRequest"),
                **_AUTH,
                "404": _json(_ref("Error"), "A listed recording does not exist for this user"),
            },
        }
    },
    "/api/v1/recordings/{id}": {
        "parameters": [_ID],
        "get": {
            "operationId": "getRecording",
            "summary": "One recording's metadata",
            "x-pbxd-roles": _ROLES_ALL,
            "responses": {
                "200": _json(_ref("Recording"), "The recording"),
                **_AUTH,
                "404": _error("NotFound"),
            },
        },
        "put": {
            "operationId": "annotateRecording",
            "summary": "Set the note (批注)",
            "x-pbxd-roles": _ROLES_STAFF,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("RecordingNote")}},
            },
            "responses": {
                "200": _json(_ref("Recording"), "The annotated recording"),
                "400": _error("BadRequest"),
                **_AUTH,
                "404": _error("NotFound"),
                "413": _error("TooLarge"),
            },
        },
        "delete": {
            "operationId": "deleteRecording",
            "summary": "Delete the recording and its file",
            "x-pbxd-roles": ["admin"],
            "responses": {"204": {"description": "Deleted"}, **_AUTH, "404": _error("NotFound")},
        },
    },
    "/api/v1/recordings/{id}/audio": {
        "parameters": [_ID],
        "get": {
            "operationId": "downloadRecording",
            "summary": "The recording's audio (WAV), streamed; single byte ranges supported",
            "x-pbxd-roles": _ROLES_ALL,
            "parameters": [
                {
                    "name": "Range",
                    "in": "header",
                    "description": "bytes=first-last, bytes=first- or bytes=-suffix",
                    "schema": {"type": "string"},
                }
            ],
            "responses": _AUDIO_RESPONSES,
        },
    },
    "/api/v1/voicemail/{box}": {
        "parameters": [_BOX],
        "get": {
            "operationId": "listVoicemail",
            "summary": "A box's messages, newest first (agents: their own box)",
            "x-pbxd-roles": _ROLES_ALL,
            "responses": {
                "200": _json(_ref("VoicemailBox"), "The messages"),
                "400": _error("BadRequest"),
                **_AUTH,
            },
        },
    },
    "/api/v1/voicemail/{box}/greeting": {
        "parameters": [_BOX],
        "get": {
            "operationId": "getVoicemailGreeting",
            "summary": "The box's own greeting (404: it plays the default one)",
            "x-pbxd-roles": _ROLES_ALL,
            "responses": _AUDIO_RESPONSES,
        },
        "put": {
            "operationId": "setVoicemailGreeting",
            "summary": "Upload the box's greeting: any WAV as the body (converted to 8 kHz "
            "mono, at most 60 s); admins and the box's owner",
            "x-pbxd-roles": _ROLES_ALL,
            "requestBody": {
                "required": True,
                "content": {"audio/wav": {"schema": {"type": "string", "format": "binary"}}},
            },
            "responses": {
                "200": _json({"type": "object", "properties": {
                    "box": {"type": "string"}, "duration": {"type": "number"},
                    "audio": {"type": "string"}}}, "The greeting is set"),  # fmt: skip
                "400": _json(_ref("Error"), "Not a WAV the converter reads, or too long"),
                **_AUTH,
                "413": _error("TooLarge"),
                "415": _json(_ref("Error"), "Not sent as audio/wav"),
            },
        },
        "delete": {
            "operationId": "deleteVoicemailGreeting",
            "summary": "Back to the default greeting; admins and the box's owner",
            "x-pbxd-roles": _ROLES_ALL,
            "responses": {"204": {"description": "Removed"}, **_AUTH,
                          "404": _error("NotFound")},  # fmt: skip
        },
    },
    "/api/v1/voicemail/{box}/{id}": {
        "parameters": [_BOX, _ID],
        "get": {
            "operationId": "downloadVoicemail",
            "summary": "The message's audio (WAV), streamed",
            "x-pbxd-roles": _ROLES_ALL,
            "responses": _AUDIO_RESPONSES,
        },
        "put": {
            "operationId": "markVoicemail",
            "summary": "Mark the message new or old (heard)",
            "x-pbxd-roles": _ROLES_ALL,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref("VoicemailMark")}},
            },
            "responses": {
                "200": _json(_ref("VoicemailMessage"), "The message"),
                "400": _error("BadRequest"),
                **_AUTH,
                "404": _error("NotFound"),
            },
        },
        "delete": {
            "operationId": "deleteVoicemail",
            "summary": "Delete the message and its file (admin: any box; others: their own)",
            "x-pbxd-roles": _ROLES_ALL,
            "responses": {"204": {"description": "Deleted"}, **_AUTH, "404": _error("NotFound")},
        },
    },
    "/api/v1/queue-events": {
        "get": {
            "operationId": "listQueueEvents",
            "summary": "The queue and agent event log, oldest first",
            "x-pbxd-roles": _ROLES_STAFF,
            "parameters": [
                *_TIME_RANGE,
                _query("queue", "Queue number", {"type": "string"}),
                _query("agent", "Agent extension", {"type": "string"}),
                _query("event", "Event type", {"enum": [str(value) for value in QueueEventType]}),
                _query("call_id", "Events of one call", {"type": "string"}),
                *_paging(1000, 10000),
            ],
            "responses": {
                "200": _json(_ref("QueueEventList"), "The events"),
                "400": _error("BadRequest"),
                **_AUTH,
            },
        }
    },
    "/api/v1/cdr/{call_id}/legs": {
        "parameters": [_path("call_id", {"type": "string"})],
        "get": {
            "operationId": "getCallLegs",
            "summary": "The legs and call-center details of one call",
            "x-pbxd-roles": _ROLES_STAFF,
            "responses": {
                "200": _json(_ref("CallLegs"), "The call"),
                **_AUTH,
                "404": _error("NotFound"),
            },
        },
    },
}

HISTORY_SCHEMAS: dict[str, Any] = {
    "Recording": {
        "type": "object",
        "required": ["id", "start", "duration", "caller", "callee", "note", "available", "audio"],
        "properties": {
            "id": {"type": "integer"},
            "call_id": _NULLABLE_TEXT,
            "start": _TIME,
            "duration": {"type": "number", "description": "seconds"},
            "caller": {"type": "string"},
            "callee": {"type": "string"},
            "queue": _NULLABLE_TEXT,
            "agent": _NULLABLE_TEXT,
            "note": {"type": "string"},
            "format": {"enum": [str(value) for value in FORMATS]},
            "channels": {"enum": [1, 2], "description": "2: left caller, right callee"},
            "size": {"type": "integer", "description": "bytes"},
            "available": {"type": "boolean", "description": "false when the file is missing"},
            "audio": {"type": "string", "description": "URL of the audio"},
        },
    },
    "RecordingPage": {
        "type": "object",
        "required": ["items", "total", "limit", "offset"],
        "properties": {
            "items": {"type": "array", "items": _ref("Recording")},
            "total": {"type": "integer", "description": "matches over all pages"},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
        },
    },
    "RecordingNote": {
        "type": "object",
        "required": ["note"],
        "properties": {"note": {"type": "string", "maxLength": 2000}},
        "additionalProperties": False,
    },
    "VoicemailMessage": {
        "type": "object",
        "required": ["id", "box", "caller", "time", "duration", "new", "available", "audio"],
        "properties": {
            "id": {"type": "integer"},
            "box": {"type": "string"},
            "caller": {"type": "string"},
            "time": _TIME,
            "duration": {"type": "number", "description": "seconds"},
            "new": {"type": "boolean"},
            "available": {"type": "boolean"},
            "audio": {"type": "string"},
        },
    },
    "VoicemailBox": {
        "type": "object",
        "required": ["box", "new", "old", "items"],
        "properties": {
            "box": {"type": "string"},
            "new": {"type": "integer"},
            "old": {"type": "integer"},
            "items": {"type": "array", "items": _ref("VoicemailMessage")},
        },
    },
    "VoicemailMark": {
        "type": "object",
        "required": ["new"],
        "properties": {"new": {"type": "boolean"}},
        "additionalProperties": False,
    },
    "QueueEvent": {
        "type": "object",
        "required": ["id", "time", "event", "data"],
        "properties": {
            "id": {"type": "integer"},
            "time": _TIME,
            "call_id": _NULLABLE_TEXT,
            "queue": _NULLABLE_TEXT,
            "agent": _NULLABLE_TEXT,
            "event": {"enum": [str(value) for value in QueueEventType]},
            "data": {"type": "object"},
        },
    },
    "QueueEventList": {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": _ref("QueueEvent")}},
    },
    "CallLeg": {
        "type": "object",
        "required": ["id", "leg", "direction", "party", "peer_kind", "peer", "start", "end"],
        "properties": {
            "id": {"type": "integer"},
            "leg": {"type": "string"},
            "direction": {"enum": [str(value) for value in Direction]},
            "party": {"type": "string"},
            "peer_kind": {"enum": [str(value) for value in PeerKind]},
            "peer": {"type": "string"},
            "start": _TIME,
            "answer": {"type": ["string", "null"], "format": "date-time"},
            "end": _TIME,
            "disposition": {"enum": DISPOSITIONS},
            "hangup_side": {"enum": ["caller", "callee", "system"]},
        },
    },
    "CallDetail": {
        "type": "object",
        "required": ["cdr_id"],
        "properties": {
            "cdr_id": {"type": "integer"},
            "queue": _NULLABLE_TEXT,
            "wait": {"type": ["integer", "null"], "description": "seconds in the queue"},
            "agent": _NULLABLE_TEXT,
            "recording": {"type": ["integer", "null"], "description": "recording id"},
            "survey": {"enum": [*(str(value) for value in SurveyResult), None]},
            "survey_reason": {"enum": [*(str(value) for value in SurveyReason), None]},
        },
    },
    "CallLegs": {
        "type": "object",
        "required": ["call_id", "details", "items"],
        "properties": {
            "call_id": {"type": "string"},
            "details": {"type": "array", "items": _ref("CallDetail")},
            "items": {"type": "array", "items": _ref("CallLeg")},
        },
    },
}
