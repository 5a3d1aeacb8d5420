"""OpenAPI paths and schemas of the history API (recordings, voicemail, queue events, call
legs), merged into `openapi.OPENAPI_DOCUMENT`. Same conventions as openapi.py."""

from __future__ import annotations

from typing import Any

from ..services.cdr import Disposition
from ..services.history import Direction, PeerKind, QueueEventType, SurveyReason, SurveyResult
from ..services.recordings import FORMATS
from .openapi_common import (
    ADMIN_ROLES,
    ALL_ROLES,
    AUTH,
    BINARY,
    NULLABLE_TEXT,
    NULLABLE_TIME,
    NUMBER,
    RANGE_HEADER,
    RANGE_NOT_SATISFIABLE,
    STAFF_ROLES,
    TIME,
    error,
    item_list,
    json_body,
    json_request,
    page_of,
    paging,
    path_parameter,
    query,
    ref,
)

DISPOSITIONS = [str(value) for value in Disposition]  # also the CDR schema's

_ID = path_parameter("id", {"type": "integer", "minimum": 1})
_BOX = path_parameter("box", NUMBER)
_TIME_RANGE = [
    query("from", "At or after this time (with offset)", TIME),
    query("to", "Before this time (with offset)", TIME),
]
_RECORDING_FILTERS = [
    *_TIME_RANGE,
    query("party", "Caller or callee number", {"type": "string"}),
    query("queue", "Queue number", {"type": "string"}),
    query("agent", "Agent extension", {"type": "string"}),
    query("text", "Part of the note", {"type": "string"}),
]
_AUDIO = {
    "description": "The WAV file as an attachment (206 for a Range request)",
    "headers": {
        "Content-Disposition": {"schema": {"type": "string"}},
        "Accept-Ranges": {"schema": {"const": "bytes"}},
    },
    "content": {"audio/wav": {"schema": BINARY}},
}
_AUDIO_RESPONSES = {
    "200": _AUDIO,
    "206": {**_AUDIO, "description": "The requested byte range (Content-Range)"},
    **AUTH,
    "404": json_body(ref("Error"), "No such resource, or its file is missing"),
    "416": RANGE_NOT_SATISFIABLE,
}

HISTORY_PATHS: dict[str, Any] = {
    "/api/v1/recordings": {
        "get": {
            "operationId": "searchRecordings",
            "summary": "Search recordings, newest first (agents: calls they took part in)",
            "x-pbxd-roles": ALL_ROLES,
            "parameters": [*_RECORDING_FILTERS, *paging(50, 1000)],
            "responses": {
                "200": json_body(ref("RecordingPage"), "One page of recordings"),
                "400": error("BadRequest"),
                **AUTH,
            },
        }
    },
    "/api/v1/recordings/archive": {
        "get": {
            "operationId": "archiveRecordings",
            "summary": "The recordings a search finds, or those listed by `id`, as one zip "
            "(stored entries and index.csv); at most 500",
            "x-pbxd-roles": ALL_ROLES,
            "parameters": [
                *_RECORDING_FILTERS,
                query(
                    "id",
                    "Recording ids (repeat the parameter); instead of a search",
                    {"type": "array", "items": {"type": "integer"}, "maxItems": 500},
                    explode=True,
                ),
            ],
            "responses": {
                "200": {
                    "description": "The zip, streamed as an attachment",
                    "content": {"application/zip": {"schema": BINARY}},
                },
                "400": error("BadRequest"),
                **AUTH,
                "404": json_body(ref("Error"), "A listed recording does not exist for this user"),
            },
        }
    },
    "/api/v1/recordings/{id}": {
        "parameters": [_ID],
        "get": {
            "operationId": "getRecording",
            "summary": "One recording's metadata",
            "x-pbxd-roles": ALL_ROLES,
            "responses": {
                "200": json_body(ref("Recording"), "The recording"),
                **AUTH,
                "404": error("NotFound"),
            },
        },
        "put": {
            "operationId": "annotateRecording",
            "summary": "Set the note (批注)",
            "x-pbxd-roles": STAFF_ROLES,
            "requestBody": json_request("RecordingNote"),
            "responses": {
                "200": json_body(ref("Recording"), "The annotated recording"),
                "400": error("BadRequest"),
                **AUTH,
                "404": error("NotFound"),
                "413": error("TooLarge"),
            },
        },
        "delete": {
            "operationId": "deleteRecording",
            "summary": "Delete the recording and its file",
            "x-pbxd-roles": ADMIN_ROLES,
            "responses": {"204": {"description": "Deleted"}, **AUTH, "404": error("NotFound")},
        },
    },
    "/api/v1/recordings/{id}/audio": {
        "parameters": [_ID],
        "get": {
            "operationId": "downloadRecording",
            "summary": "The recording's audio (WAV), streamed; single byte ranges supported",
            "x-pbxd-roles": ALL_ROLES,
            "parameters": [RANGE_HEADER],
            "responses": _AUDIO_RESPONSES,
        },
    },
    "/api/v1/voicemail/{box}": {
        "parameters": [_BOX],
        "get": {
            "operationId": "listVoicemail",
            "summary": "A box's messages, newest first (agents: their own box)",
            "x-pbxd-roles": ALL_ROLES,
            "responses": {
                "200": json_body(ref("VoicemailBox"), "The messages"),
                "400": error("BadRequest"),
                **AUTH,
            },
        },
    },
    "/api/v1/voicemail/{box}/greeting": {
        "parameters": [_BOX],
        "get": {
            "operationId": "getVoicemailGreeting",
            "summary": "The box's own greeting (404: it plays the default one)",
            "x-pbxd-roles": ALL_ROLES,
            "responses": _AUDIO_RESPONSES,
        },
        "put": {
            "operationId": "setVoicemailGreeting",
            "summary": "Upload the box's greeting: any WAV as the body (converted to 8 kHz "
            "mono, at most 60 s); admins and the box's owner",
            "x-pbxd-roles": ALL_ROLES,
            "requestBody": {
                "required": True,
                "content": {"audio/wav": {"schema": BINARY}},
            },
            "responses": {
                "200": json_body(
                    {
                        "type": "object",
                        "properties": {
                            "box": {"type": "string"},
                            "duration": {"type": "number"},
                            "audio": {"type": "string"},
                        },
                    },
                    "The greeting is set",
                ),  # fmt: skip
                "400": json_body(ref("Error"), "Not a WAV the converter reads, or too long"),
                **AUTH,
                "413": error("TooLarge"),
                "415": json_body(ref("Error"), "Not sent as audio/wav"),
            },
        },
        "delete": {
            "operationId": "deleteVoicemailGreeting",
            "summary": "Back to the default greeting; admins and the box's owner",
            "x-pbxd-roles": ALL_ROLES,
            "responses": {
                "204": {"description": "Removed"},
                **AUTH,
                "404": error("NotFound"),
            },  # fmt: skip
        },
    },
    "/api/v1/voicemail/{box}/{id}": {
        "parameters": [_BOX, _ID],
        "get": {
            "operationId": "downloadVoicemail",
            "summary": "The message's audio (WAV), streamed",
            "x-pbxd-roles": ALL_ROLES,
            "responses": _AUDIO_RESPONSES,
        },
        "put": {
            "operationId": "markVoicemail",
            "summary": "Mark the message new or old (heard)",
            "x-pbxd-roles": ALL_ROLES,
            "requestBody": json_request("VoicemailMark"),
            "responses": {
                "200": json_body(ref("VoicemailMessage"), "The message"),
                "400": error("BadRequest"),
                **AUTH,
                "404": error("NotFound"),
            },
        },
        "delete": {
            "operationId": "deleteVoicemail",
            "summary": "Delete the message and its file (admin: any box; others: their own)",
            "x-pbxd-roles": ALL_ROLES,
            "responses": {"204": {"description": "Deleted"}, **AUTH, "404": error("NotFound")},
        },
    },
    "/api/v1/queue-events": {
        "get": {
            "operationId": "listQueueEvents",
            "summary": "The queue and agent event log, oldest first",
            "x-pbxd-roles": STAFF_ROLES,
            "parameters": [
                *_TIME_RANGE,
                query("queue", "Queue number", {"type": "string"}),
                query("agent", "Agent extension", {"type": "string"}),
                query("event", "Event type", {"enum": [str(value) for value in QueueEventType]}),
                query("call_id", "Events of one call", {"type": "string"}),
                *paging(1000, 10000),
            ],
            "responses": {
                "200": json_body(ref("QueueEventList"), "The events"),
                "400": error("BadRequest"),
                **AUTH,
            },
        }
    },
    "/api/v1/cdr/{call_id}/legs": {
        "parameters": [path_parameter("call_id", {"type": "string"})],
        "get": {
            "operationId": "getCallLegs",
            "summary": "The legs and call-center details of one call",
            "x-pbxd-roles": STAFF_ROLES,
            "responses": {
                "200": json_body(ref("CallLegs"), "The call"),
                **AUTH,
                "404": error("NotFound"),
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
            "call_id": NULLABLE_TEXT,
            "start": TIME,
            "duration": {"type": "number", "description": "seconds"},
            "caller": {"type": "string"},
            "callee": {"type": "string"},
            "queue": NULLABLE_TEXT,
            "agent": NULLABLE_TEXT,
            "note": {"type": "string"},
            "format": {"enum": [str(value) for value in FORMATS]},
            "channels": {"enum": [1, 2], "description": "2: left caller, right callee"},
            "size": {"type": "integer", "description": "bytes"},
            "available": {"type": "boolean", "description": "false when the file is missing"},
            "audio": {"type": "string", "description": "URL of the audio"},
        },
    },
    "RecordingPage": page_of("Recording", "matches over all pages"),
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
            "time": TIME,
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
            "items": {"type": "array", "items": ref("VoicemailMessage")},
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
            "time": TIME,
            "call_id": NULLABLE_TEXT,
            "queue": NULLABLE_TEXT,
            "agent": NULLABLE_TEXT,
            "event": {"enum": [str(value) for value in QueueEventType]},
            "data": {"type": "object"},
        },
    },
    "QueueEventList": item_list("QueueEvent"),
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
            "start": TIME,
            "answer": NULLABLE_TIME,
            "end": TIME,
            "disposition": {"enum": DISPOSITIONS},
            "hangup_side": {"enum": ["caller", "callee", "system"]},
        },
    },
    "CallDetail": {
        "type": "object",
        "required": ["cdr_id"],
        "properties": {
            "cdr_id": {"type": "integer"},
            "queue": NULLABLE_TEXT,
            "wait": {"type": ["integer", "null"], "description": "seconds in the queue"},
            "agent": NULLABLE_TEXT,
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
            "details": {"type": "array", "items": ref("CallDetail")},
            "items": {"type": "array", "items": ref("CallLeg")},
        },
    },
}
