"""The OpenAPI 3.1 document of /api/v1, written as data.

`x-pbxd-roles` on each operation names the roles allowed ("public": no token needed); a test
checks it, the paths and the methods against the handlers' `access` declarations.
"""

from __future__ import annotations

from typing import Any

from ..services.extensions import RECORDING_POLICIES
from .openapi_callcenter import CALLCENTER_PATHS, CALLCENTER_SCHEMAS
from .openapi_calls import CALLS_PATHS, CALLS_SCHEMAS
from .openapi_common import (
    ADMIN_ROLES,
    ALL_ROLES,
    AUTH,
    NULLABLE_TIME,
    NUMBER,
    STAFF_ROLES,
    TIME,
    error,
    item_list,
    json_body,
    json_request,
    path_parameter,
    query,
    ref,
)
from .openapi_contacts import CONTACTS_PATHS, CONTACTS_SCHEMAS, add_masking_notes
from .openapi_history import DISPOSITIONS, HISTORY_PATHS, HISTORY_SCHEMAS
from .openapi_prompts import PROMPTS_PATHS, PROMPTS_SCHEMAS
from .openapi_reports import REPORTS_PATHS, REPORTS_SCHEMAS, add_cdr_export
from .openapi_screenpop import SCREENPOP_PATHS, SCREENPOP_SCHEMAS, add_cdr_disposition
from .openapi_softphone import SOFTPHONE_PATHS, SOFTPHONE_SCHEMAS
from .openapi_system import SYSTEM_PATHS, SYSTEM_SCHEMAS
from .openapi_users import USERS_PATHS, USERS_SCHEMAS, add_session_auth

_VOICEMAIL = {
    "type": "boolean",
    "default": False,
    "description": "A direct call nobody answers (busy, no answer, not registered) goes to "
    "the extension's mailbox",
}

_VOICEMAIL_PIN = {
    "type": "string",
    "writeOnly": True,
    "pattern": "^([0-9]{4,12})?$",
    "description": "Opens the mailbox from any phone (*98, then the box number and this PIN); "
    '"" removes it. Never returned.',
}

OPENAPI_DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "CooCenter S10 pbxd API",
        "version": "1",
        "description": (
            "JSON API of the call-center appliance. Log in with POST /api/v1/auth/login and "
            "send the token as `Authorization: Bearer <token>` on every other call. Errors "
            'are `{"error": {"code", "message"}}`; `code` is stable.'
        ),
    },
    "security": [{"bearer": []}],
    "paths": {
        "/api/v1/health": {
            "get": {
                "operationId": "getHealth",
                "summary": "Liveness",
                "security": [],
                "x-pbxd-roles": "public",
                "responses": {"200": json_body(ref("Health"), "The daemon is up")},
            }
        },
        "/api/v1/auth/login": {
            "post": {
                "operationId": "login",
                "summary": "Exchange a username and password for a bearer token (valid 12 h)",
                "security": [],
                "x-pbxd-roles": "public",
                "requestBody": json_request("LoginRequest"),
                "responses": {
                    "200": json_body(ref("Token"), "Logged in"),
                    "400": error("BadRequest"),
                    "401": error("Unauthorized"),
                    "413": error("TooLarge"),
                    "429": error("RateLimited"),
                },
            }
        },
        "/api/v1/auth/logout": {
            "post": {
                "operationId": "logout",
                "summary": "Revoke the bearer token of this request",
                "x-pbxd-roles": ALL_ROLES,
                "responses": {"204": {"description": "Token revoked"}, **AUTH},
            }
        },
        "/api/v1/extensions": {
            "get": {
                "operationId": "listExtensions",
                "summary": "All extensions, by number",
                "x-pbxd-roles": ADMIN_ROLES,
                "responses": {
                    "200": json_body(ref("ExtensionList"), "The extensions"),
                    **AUTH,
                },
            },
            "post": {
                "operationId": "createExtension",
                "summary": "Create an extension",
                "x-pbxd-roles": ADMIN_ROLES,
                "requestBody": json_request("ExtensionCreate"),
                "responses": {
                    "201": {
                        **json_body(ref("Extension"), "Created"),
                        "headers": {
                            "Location": {
                                "description": "URL of the new extension",
                                "schema": {"type": "string"},
                            }
                        },
                    },
                    "400": error("BadRequest"),
                    **AUTH,
                    "409": error("Conflict"),
                    "413": error("TooLarge"),
                },
            },
        },
        "/api/v1/extensions/{number}": {
            "parameters": [path_parameter("number", NUMBER)],
            "get": {
                "operationId": "getExtension",
                "summary": "One extension",
                "x-pbxd-roles": ADMIN_ROLES,
                "responses": {
                    "200": json_body(ref("Extension"), "The extension"),
                    **AUTH,
                    "404": error("NotFound"),
                },
            },
            "put": {
                "operationId": "updateExtension",
                "summary": "Change the name, secret and/or recording (fields left out stay)",
                "x-pbxd-roles": ADMIN_ROLES,
                "requestBody": json_request("ExtensionUpdate"),
                "responses": {
                    "200": json_body(ref("Extension"), "The updated extension"),
                    "400": error("BadRequest"),
                    **AUTH,
                    "404": error("NotFound"),
                    "413": error("TooLarge"),
                },
            },
            "delete": {
                "operationId": "deleteExtension",
                "summary": "Delete an extension (its phones lose their registrations)",
                "x-pbxd-roles": ADMIN_ROLES,
                "responses": {
                    "204": {"description": "Deleted"},
                    **AUTH,
                    "404": error("NotFound"),
                },
            },
        },
        "/api/v1/system/status": {
            "get": {
                "operationId": "getSystemStatus",
                "summary": "Registrations, active calls and SIP counters",
                "x-pbxd-roles": STAFF_ROLES,
                "responses": {"200": json_body(ref("Health"), "Current status"), **AUTH},
            }
        },
        "/api/v1/cdr": {
            "get": {
                "operationId": "listCdr",
                "summary": "Call detail records, newest first",
                "x-pbxd-roles": STAFF_ROLES,
                "parameters": [
                    query("from", "Calls that started at or after this time (with offset)", TIME),
                    query("to", "Calls that started before this time (with offset)", TIME),
                    query(
                        "number",
                        "Calls whose caller or callee is this number",
                        {"type": "string", "maxLength": 128},
                    ),
                    query(
                        "limit",
                        "",
                        {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                    ),
                    query("offset", "", {"type": "integer", "minimum": 0, "default": 0}),
                ],
                "responses": {
                    "200": json_body(ref("CdrList"), "The records"),
                    "400": error("BadRequest"),
                    **AUTH,
                },
            }
        },
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document",
                "security": [],
                "x-pbxd-roles": "public",
                "responses": {"200": json_body({"type": "object"}, "The OpenAPI document")},
            }
        },
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "object",
                        "required": ["code", "message"],
                        "properties": {
                            "code": {
                                "type": "string",
                                "description": "Stable machine-readable code",
                                "examples": ["invalid", "bad_json", "not_found", "exists"],
                            },
                            "message": {"type": "string"},
                            "field": {
                                "type": "string",
                                "description": "The request field the error is about",
                            },
                        },
                    }
                },
            },
            "Health": {
                "type": "object",
                "required": ["status"],
                "properties": {"status": {"type": "string", "examples": ["ok"]}},
                "additionalProperties": True,
            },
            "LoginRequest": {
                "type": "object",
                "required": ["username", "password"],
                "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
                "additionalProperties": False,
            },
            "Token": {
                "type": "object",
                "required": ["token"],
                "properties": {"token": {"type": "string"}},
            },
            "Extension": {
                "type": "object",
                "required": ["number", "name", "recording", "voicemail", "voicemail_pin_set"],
                "properties": {
                    "number": NUMBER,
                    "name": {"type": "string"},
                    "recording": ref("RecordingPolicy"),
                    "voicemail": _VOICEMAIL,
                    "voicemail_pin_set": {
                        "type": "boolean",
                        "description": "The mailbox has a PIN (the PIN itself is never shown)",
                    },
                },
            },
            "RecordingPolicy": {
                "type": "string",
                "enum": list(RECORDING_POLICIES),
                "default": "none",
                "description": "Which calls of the extension are recorded (two channels): "
                "all, inbound (calls it receives), outbound (calls it makes), none.",
            },
            "ExtensionList": item_list("Extension"),
            "ExtensionCreate": {
                "type": "object",
                "required": ["number", "name", "secret"],
                "properties": {
                    "number": NUMBER,
                    "name": {"type": "string", "minLength": 1, "maxLength": 64},
                    "secret": ref("Secret"),
                    "recording": ref("RecordingPolicy"),
                    "voicemail": _VOICEMAIL,
                    "voicemail_pin": _VOICEMAIL_PIN,
                },
                "additionalProperties": False,
            },
            "ExtensionUpdate": {
                "type": "object",
                "minProperties": 1,
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 64},
                    "secret": ref("Secret"),
                    "recording": ref("RecordingPolicy"),
                    "voicemail": _VOICEMAIL,
                    "voicemail_pin": _VOICEMAIL_PIN,
                },
                "additionalProperties": False,
            },
            "Secret": {
                "type": "string",
                "writeOnly": True,
                "minLength": 8,
                "maxLength": 128,
                "description": (
                    "SIP digest password; never returned. Must differ from the number; an "
                    "all-digit secret needs at least 10 digits."
                ),
            },
            "Cdr": {
                "type": "object",
                "required": [
                    "id",
                    "call_id",
                    "caller",
                    "callee",
                    "start",
                    "answer",
                    "end",
                    "duration",
                    "billsec",
                    "disposition",
                    "hangup_side",
                ],
                "properties": {
                    "id": {"type": "integer"},
                    "call_id": {"type": "string"},
                    "caller": {"type": "string"},
                    "callee": {"type": "string"},
                    "start": TIME,
                    "answer": NULLABLE_TIME,
                    "end": TIME,
                    "duration": {"type": "integer", "minimum": 0, "description": "seconds"},
                    "billsec": {"type": "integer", "minimum": 0, "description": "seconds"},
                    "disposition": {"enum": DISPOSITIONS},
                    "hangup_side": {"enum": ["caller", "callee", "system"]},
                },
            },
            "CdrList": item_list("Cdr"),
        },
        "responses": {
            "BadRequest": json_body(
                ref("Error"), "Malformed JSON (bad_json) or an invalid field (invalid)"
            ),
            "Unauthorized": json_body(ref("Error"), "Missing, invalid or expired token"),
            "Forbidden": json_body(ref("Error"), "The role of the token may not do this"),
            "NotFound": json_body(ref("Error"), "No such resource"),
            "Conflict": json_body(ref("Error"), "The resource exists already (exists)"),
            "TooLarge": json_body(ref("Error"), "Request body too large"),
            "RateLimited": {
                **json_body(ref("Error"), "Too many failed logins from this address"),
                "headers": {
                    "Retry-After": {
                        "description": "Seconds to wait",
                        "schema": {"type": "integer"},
                    }
                },
            },
        },
    },
}

# Recordings, voicemail, queue events, call legs: documented next to each other.
OPENAPI_DOCUMENT["paths"].update(HISTORY_PATHS)
OPENAPI_DOCUMENT["components"]["schemas"].update(HISTORY_SCHEMAS)

# Prompts: system prompts and uploads (issue 5).
OPENAPI_DOCUMENT["paths"].update(PROMPTS_PATHS)
OPENAPI_DOCUMENT["components"]["schemas"].update(PROMPTS_SCHEMAS)
OPENAPI_DOCUMENT["paths"].update(SYSTEM_PATHS)
OPENAPI_DOCUMENT["components"]["schemas"].update(SYSTEM_SCHEMAS)

# Call-center configuration and agents (queues, IVRs, routes, trunks, ring groups, rooms).
OPENAPI_DOCUMENT["paths"].update(CALLCENTER_PATHS)
OPENAPI_DOCUMENT["components"]["schemas"].update(CALLCENTER_SCHEMAS)

# Reports (issue 6) and the CDR's CSV export.
OPENAPI_DOCUMENT["paths"].update(REPORTS_PATHS)
OPENAPI_DOCUMENT["components"]["schemas"].update(REPORTS_SCHEMAS)
add_cdr_export(OPENAPI_DOCUMENT["paths"]["/api/v1/cdr"]["get"])

# Web console (issue 6): browser sessions, users, the operation log.
OPENAPI_DOCUMENT["paths"].update(USERS_PATHS)
OPENAPI_DOCUMENT["components"]["schemas"].update(USERS_SCHEMAS)
add_session_auth(OPENAPI_DOCUMENT)
# The browser softphone's SIP key (issue 7).
OPENAPI_DOCUMENT["paths"].update(SOFTPHONE_PATHS)
OPENAPI_DOCUMENT["components"]["schemas"].update(SOFTPHONE_SCHEMAS)

# Live agent calls and supervisor monitoring (issue 7).
OPENAPI_DOCUMENT["paths"].update(CALLS_PATHS)
OPENAPI_DOCUMENT["components"]["schemas"].update(CALLS_SCHEMAS)

# Customers and the blacklist (m0007); number masking and supervisor scope on the operations
# they concern.
OPENAPI_DOCUMENT["paths"].update(CONTACTS_PATHS)
OPENAPI_DOCUMENT["components"]["schemas"].update(CONTACTS_SCHEMAS)
add_masking_notes(OPENAPI_DOCUMENT["paths"])

# The agent's screen pop, memos and wrap-up dispositions (issue 7, m0008).
OPENAPI_DOCUMENT["paths"].update(SCREENPOP_PATHS)
OPENAPI_DOCUMENT["components"]["schemas"].update(SCREENPOP_SCHEMAS)
add_cdr_disposition(OPENAPI_DOCUMENT["components"]["schemas"]["Cdr"])
