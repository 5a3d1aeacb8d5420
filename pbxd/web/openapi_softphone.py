"""OpenAPI paths and schemas of the agent's own phone (issue 7, docs/AGENTPAGE.md): the
browser softphone's SIP key, his recent calls and click-to-dial."""

from __future__ import annotations

from typing import Any

from .openapi_common import ALL_ROLES, AUTH, error, json_body, json_request, query, ref

_NO_EXTENSION = json_body(ref("Error"), "The user has no extension (invalid)")
_DIALED = json_body(
    {"type": "object", "required": ["call_id"], "properties": {"call_id": {"type": "string"}}},
    "The agent's extension rings; then the number (the call id is the new call's CDR id)",
)

SOFTPHONE_PATHS: dict[str, Any] = {
    "/api/v1/users/me/softphone": {
        "post": {
            "operationId": "getSoftphoneKey",
            "summary": "A SIP key for this console session's browser softphone: register over "
            "/ws as the user's extension with `auth_user` and `password` as digest "
            "credentials. It works as long as the session lives. Another browser session "
            "holding the extension's softphone refuses it (409 softphone_in_use) unless "
            "`take_over` is true, which ends the other browser's key and connection.",
            "x-pbxd-roles": ALL_ROLES,
            "requestBody": json_request("SoftphoneRequest", required=False),
            "responses": {
                "200": json_body(ref("SoftphoneKey"), "The key"),
                "400": json_body(ref("Error"), "The user has no extension (invalid)"),
                "401": error("Unauthorized"),
                "403": json_body(ref("Error"), "Not a console session (a bearer token), or csrf"),
                "409": json_body(ref("Error"), "In use in another browser (softphone_in_use)"),
            },
        },
        "delete": {
            "operationId": "releaseSoftphoneKey",
            "summary": "The session's softphone key ends (logging out ends it too)",
            "x-pbxd-roles": ALL_ROLES,
            "responses": {"204": {"description": "Released"}, **AUTH},
        },
    },
}

SOFTPHONE_PATHS.update(
    {
        "/api/v1/users/me/calls": {
            "get": {
                "operationId": "listMyCalls",
                "summary": "The newest calls of the user's extension (direct calls from and to "
                "it, queue calls it took); the other party's number masked by his masking",
                "x-pbxd-roles": ALL_ROLES,
                "parameters": [
                    query(
                        "limit",
                        "how many, newest first",
                        {"type": "integer", "minimum": 1, "maximum": 50, "default": 20},
                    )
                ],
                "responses": {
                    "200": json_body(
                        {
                            "type": "object",
                            "properties": {"items": {"type": "array", "items": ref("MyCall")}},
                        },
                        "The calls, newest first",
                    ),
                    "400": _NO_EXTENSION,
                    **AUTH,
                },
            }
        },
        "/api/v1/users/me/calls/{call_id}/dial": {
            "parameters": [
                {"name": "call_id", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "post": {
                "operationId": "dialBack",
                "summary": "Click-to-dial the other party of one of the user's calls: his "
                "extension rings first (his browser softphone answers by itself), then the "
                "number; the server takes the number from the call history",
                "x-pbxd-roles": ALL_ROLES,
                "responses": {
                    "202": _DIALED,
                    "400": _NO_EXTENSION,
                    **AUTH,
                    "404": error("NotFound"),
                    "422": json_body(ref("Error"), "A number pbxd cannot reach (yet)"),
                    "503": json_body(ref("Error"), "His extension has no device registered"),
                },
            },
        },
        "/api/v1/users/me/dial": {
            "post": {
                "operationId": "dialNumber",
                "summary": "Click-to-dial a number (an extension until trunks route out)",
                "x-pbxd-roles": ALL_ROLES,
                "requestBody": json_request("DialRequest"),
                "responses": {
                    "202": _DIALED,
                    "400": json_body(ref("Error"), "No extension, or a bad body"),
                    **AUTH,
                    "422": json_body(ref("Error"), "A number pbxd cannot reach (yet)"),
                    "503": json_body(ref("Error"), "His extension has no device registered"),
                },
            }
        },
    }
)

SOFTPHONE_SCHEMAS: dict[str, Any] = {
    "SoftphoneRequest": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"take_over": {"type": "boolean", "default": False}},
    },
    "SoftphoneKey": {
        "type": "object",
        "required": ["extension", "auth_user", "password", "ws_path"],
        "properties": {
            "extension": {"type": "string"},
            "auth_user": {"type": "string", "description": "digest username"},
            "password": {"type": "string", "description": "digest password (never logged)"},
            "ws_path": {"type": "string", "description": "SIP over WebSocket (RFC 7118)"},
        },
    },
    "MyCall": {
        "type": "object",
        "properties": {
            "call_id": {"type": "string"},
            "start": {"type": "string", "format": "date-time"},
            "direction": {"type": "string", "enum": ["in", "out"]},
            "number": {"type": "string", "description": "masked by the user's masking"},
            "queue": {"type": ["string", "null"]},
            "duration": {"type": "integer", "description": "seconds talked"},
            "answered": {"type": "boolean"},
        },
    },
    "DialRequest": {
        "type": "object",
        "required": ["number"],
        "additionalProperties": False,
        "properties": {"number": {"type": "string", "maxLength": 32}},
    },
}
