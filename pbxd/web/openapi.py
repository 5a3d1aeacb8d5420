"""The OpenAPI 3.1 document of /api/v1, written as data.

`x-pbxd-roles` on each operation names the roles allowed ("public": no token needed); a test
checks it, the paths and the methods against the handlers' `access` declarations.
"""

from __future__ import annotations

from typing import Any

from ..services.extensions import RECORDING_POLICIES
from .openapi_callcenter import CALLCENTER_PATHS, CALLCENTER_SCHEMAS
from .openapi_contacts import CONTACTS_PATHS, CONTACTS_SCHEMAS, add_masking_notes
from .openapi_history import DISPOSITIONS, HISTORY_PATHS, HISTORY_SCHEMAS
from .openapi_prompts import PROMPTS_PATHS, PROMPTS_SCHEMAS
from .openapi_reports import REPORTS_PATHS, REPORTS_SCHEMAS, add_cdr_export
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

ALL_ROLES = ["admin", "supervisor", "agent"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


_AUTHENTICATED_ERRORS = {"401": _error("Unauthorized"), "403": _error("Forbidden")}

_TIME = {"type": "string", "format": "date-time", "examples": ["2024-05-01T08:30:00Z"]}

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
                "responses": {"200": _json(_ref("Health"), "The daemon is up")},
            }
        },
        "/api/v1/auth/login": {
            "post": {
                "operationId": "login",
                "summary": "Exchange a username and password for a bearer token (valid 12 h)",
                "security": [],
                "x-pbxd-roles": "public",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("LoginRequest")}},
                },
                "responses": {
                    "200": _json(_ref("Token"), "Logged in"),
                    "400": _error("BadRequest"),
                    "401": _error("Unauthorized"),
                    "413": _error("TooLarge"),
                    "429": _error("RateLimited"),
                },
            }
        },
        "/api/v1/auth/logout": {
            "post": {
                "operationId": "logout",
                "summary": "Revoke the bearer token of this request",
                "x-pbxd-roles": ALL_ROLES,
                "responses": {"204": {"description": "Token revoked"}, **_AUTHENTICATED_ERRORS},
            }
        },
        "/api/v1/extensions": {
            "get": {
                "operationId": "listExtensions",
                "summary": "All extensions, by number",
                "x-pbxd-roles": ["admin"],
                "responses": {
                    "200": _json(_ref("ExtensionList"), "The extensions"),
                    **_AUTHENTICATED_ERRORS,
                },
            },
            "post": {
                "operationId": "createExtension",
                "summary": "Create an extension",
                "x-pbxd-roles": ["admin"],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("ExtensionCreate")}},
                },
                "responses": {
                    "201": {
                        **_json(_ref("Extension"), "Created"),
                        "headers": {
                            "Location": {
                                "description": "URL of the new extension",
                                "schema": {"type": "string"},
                            }
                        },
                    },
                    "400": _error("BadRequest"),
                    **_AUTHENTICATED_ERRORS,
                    "409": _error("Conflict"),
                    "413": _error("TooLarge"),
                },
            },
        },
        "/api/v1/extensions/{number}": {
            "parameters": [
                {
                    "name": "number",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "pattern": "^[0-9]{2,6}$"},
                }
            ],
            "get": {
                "operationId": "getExtension",
                "summary": "One extension",
                "x-pbxd-roles": ["admin"],
                "responses": {
                    "200": _json(_ref("Extension"), "The extension"),
                    **_AUTHENTICATED_ERRORS,
                    "404": _error("NotFound"),
                },
            },
            "put": {
                "operationId": "updateExtension",
                "summary": "Change the name, secret and/or recording (fields left out stay)",
                "x-pbxd-roles": ["admin"],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("ExtensionUpdate")}},
                },
                "responses": {
                    "200": _json(_ref("Extension"), "The updated extension"),
                    "400": _error("BadRequest"),
                    **_AUTHENTICATED_ERRORS,
                    "404": _error("NotFound"),
                    "413": _error("TooLarge"),
                },
            },
            "delete": {
                "operationId": "deleteExtension",
                "summary": "Delete an extension (its phones lose their registrations)",
                "x-pbxd-roles": ["admin"],
                "responses": {
                    "204": {"description": "Deleted"},
                    **_AUTHENTICATED_ERRORS,
                    "404": _error("NotFound"),
                },
            },
        },
        "/api/v1/system/status": {
            "get": {
                "operationId": "getSystemStatus",
                "summary": "Registrations, active calls and SIP counters",
                "x-pbxd-roles": ["admin", "supervisor"],
                "responses": {
                    "200": _json(_ref("Health"), "Current status"),
                    "401": _error("Unauthorized"),
                    "403": _error("Forbidden"),
                },
            }
        },
        "/api/v1/cdr": {
            "get": {
                "operationId": "listCdr",
                "summary": "Call detail records, newest first",
                "x-pbxd-roles": ["admin", "supervisor"],
                "parameters": [
                    {
                        "name": "from",
                        "in": "query",
                        "description": "Calls that started at or after this time (with offset)",
                        "schema": _TIME,
                    },
                    {
                        "name": "to",
                        "in": "query",
                        "description": "Calls that started before this time (with offset)",
                        "schema": _TIME,
                    },
                    {
                        "name": "number",
                        "in": "query",
                        "description": "Calls whose caller or callee is this number",
                        "schema": {"type": "string", "maxLength": 128},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": 1000,
                            "default": 100,
                        },
                    },
                    {
                        "name": "offset",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 0, "default": 0},
                    },
                ],
                "responses": {
                    "200": _json(_ref("CdrList"), "The records"),
                    "400": _error("BadRequest"),
                    **_AUTHENTICATED_ERRORS,
                },
            }
        },
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document",
                "security": [],
                "x-pbxd-roles": "public",
                "responses": {"200": _json({"type": "object"}, "The OpenAPI document")},
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
                    "number": {"type": "string", "pattern": "^[0-9]{2,6}$"},
                    "name": {"type": "string"},
                    "recording": _ref("RecordingPolicy"),
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
            "ExtensionList": {
                "type": "object",
                "required": ["items"],
                "properties": {"items": {"type": "array", "items": _ref("Extension")}},
            },
            "ExtensionCreate": {
                "type": "object",
                "required": ["number", "name", "secret"],
                "properties": {
                    "number": {"type": "string", "pattern": "^[0-9]{2,6}$"},
                    "name": {"type": "string", "minLength": 1, "maxLength": 64},
                    "secret": _ref("Secret"),
                    "recording": _ref("RecordingPolicy"),
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
                    "secret": _ref("Secret"),
                    "recording": _ref("RecordingPolicy"),
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
                    "start": _TIME,
                    "answer": {"type": ["string", "null"], "format": "date-time"},
                    "end": _TIME,
                    "duration": {"type": "integer", "minimum": 0, "description": "seconds"},
                    "billsec": {"type": "integer", "minimum": 0, "description": "seconds"},
                    "disposition": {"enum": DISPOSITIONS},
                    "hangup_side": {"enum": ["caller", "callee", "system"]},
                },
            },
            "CdrList": {
                "type": "object",
                "required": ["items"],
                "properties": {"items": {"type": "array", "items": _ref("Cdr")}},
            },
        },
        "responses": {
            "BadRequest": _json(
                _ref("Error"), "Malformed JSON (bad_json) or an invalid field (invalid)"
            ),
            "Unauthorized": _json(_ref("Error"), "Missing, invalid or expired token"),
            "Forbidden": _json(_ref("Error"), "The role of the token may not do this"),
            "NotFound": _json(_ref("Error"), "No such resource"),
            "Conflict": _json(_ref("Error"), "The resource exists already (exists)"),
            "TooLarge": _json(_ref("Error"), "Request body too large"),
            "RateLimited": {
                **_json(_ref("Error"), "Too many failed logins from this address"),
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

# Customers and the blacklist (m0007); number masking and supervisor scope on the operations
# they concern.
OPENAPI_DOCUMENT["paths"].update(CONTACTS_PATHS)
OPENAPI_DOCUMENT["components"]["schemas"].update(CONTACTS_SCHEMAS)
add_masking_notes(OPENAPI_DOCUMENT["paths"])
