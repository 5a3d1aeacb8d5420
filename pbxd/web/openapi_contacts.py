"""OpenAPI paths and schemas of the customer directory and the blacklist (m0007), merged into
`openapi.OPENAPI_DOCUMENT`; also the note on number masking and scope that `add_masking_notes`
adds to the operations that answer with numbers."""

from __future__ import annotations

from typing import Any

from ..services.blacklist import NOTE_MAX_LEN as BLACKLIST_NOTE_MAX_LEN
from ..services.blacklist import BlockDirection
from ..services.contacts import COMPANY_MAX_LEN, NAME_MAX_LEN, NOTE_MAX_LEN, SEARCH_MAX_LIMIT
from .openapi_common import AUTH, TIME, error, json_body, ref

_ALL = ["admin", "supervisor", "agent"]
_STAFF = ["admin", "supervisor"]
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
_NOT_FOUND = {"404": error("NotFound")}
_LOCATION = {"Location": {"description": "The new object's URL", "schema": {"type": "string"}}}

MASKING_NOTE = (
    " Customer numbers (every number that is not an extension, queue, ring group, conference "
    "room, IVR or inbound-route DID) are masked by the user's `masking`: `partial` shows "
    "138****5678, `name_only` the contact's name or ****."
)
SCOPE_NOTE = (
    " A supervisor sees his team only: calls of the queues he leads, and calls without a queue "
    "of their agents; leading no queue, nothing."
)

_PHONE = {"type": "string", "pattern": r"^\+?[0-9]{3,32}$", "examples": ["13800138000"]}
_BLOCKED = {
    "type": "string",
    "pattern": r"^\+?[0-9]{1,32}\*?$",
    "description": 'A number, or a prefix ending in "*" ("400*": every number starting 400)',
    "examples": ["13800138000", "400*"],
}
_DIRECTION = {
    "enum": [str(value) for value in BlockDirection],
    "default": "both",
    "description": "inbound: calls from the number are declined (SIP 603); outbound: calls "
    "to it are refused (SIP 403); both",
}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "description": description, "schema": schema}


CONTACTS_PATHS: dict[str, Any] = {
    "/api/v1/contacts": {
        "get": {
            "operationId": "searchContacts",
            "summary": "The customer directory by name." + MASKING_NOTE,
            "x-pbxd-roles": _ALL,
            "parameters": [
                _query("number", "Exactly this number (masked users too)", _PHONE),
                _query(
                    "text", "Part of the name or company (never of the number)", {"type": "string"}
                ),  # fmt: skip
                _query(
                    "limit",
                    "Page size",
                    {"type": "integer", "minimum": 1, "maximum": SEARCH_MAX_LIMIT, "default": 100},
                ),
                _query("offset", "Rows to skip", {"type": "integer", "minimum": 0, "default": 0}),
            ],  # fmt: skip
            "responses": {
                "200": json_body(ref("ContactPage"), "One page of contacts"),
                "400": error("BadRequest"),
                **AUTH,
            },
        },
        "post": {
            "operationId": "createContact",
            "summary": "Add a customer",
            "x-pbxd-roles": _STAFF,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref("ContactCreate")}},
            },  # fmt: skip
            "responses": {
                "201": {**json_body(ref("Contact"), "Created"), "headers": _LOCATION},
                "400": error("BadRequest"),
                **AUTH,
                "409": error("Conflict"),
            },
        },
    },
    "/api/v1/contacts/{id}": {
        "parameters": [_ID],
        "get": {
            "operationId": "getContact",
            "summary": "One customer." + MASKING_NOTE,
            "x-pbxd-roles": _ALL,
            "responses": {"200": json_body(ref("Contact"), "The contact"), **AUTH, **_NOT_FOUND},
        },
        "put": {
            "operationId": "updateContact",
            "summary": "Change the fields given",
            "x-pbxd-roles": _STAFF,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref("ContactUpdate")}},
            },  # fmt: skip
            "responses": {
                "200": json_body(ref("Contact"), "Changed"),
                "400": error("BadRequest"),
                **AUTH,
                **_NOT_FOUND,
                "409": error("Conflict"),
            },
        },
        "delete": {
            "operationId": "deleteContact",
            "summary": "Remove a customer",
            "x-pbxd-roles": _STAFF,
            "responses": {"204": {"description": "Deleted"}, **AUTH, **_NOT_FOUND},
        },
    },
    "/api/v1/blacklist": {
        "get": {
            "operationId": "listBlacklist",
            "summary": "Numbers and prefixes whose calls are refused, with their hits since "
            "the daemon started." + MASKING_NOTE,
            "x-pbxd-roles": _STAFF,
            "responses": {"200": json_body(ref("BlacklistList"), "Every entry"), **AUTH},
        },
        "post": {
            "operationId": "createBlacklistEntry",
            "summary": "Block a number or prefix (applies to the next call)",
            "x-pbxd-roles": ["admin"],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref("BlacklistCreate")}},
            },  # fmt: skip
            "responses": {
                "201": {**json_body(ref("BlacklistEntry"), "Created"), "headers": _LOCATION},
                "400": error("BadRequest"),
                **AUTH,
                "409": error("Conflict"),
            },
        },
    },
    "/api/v1/blacklist/{id}": {
        "parameters": [_ID],
        "get": {
            "operationId": "getBlacklistEntry",
            "summary": "One entry." + MASKING_NOTE,
            "x-pbxd-roles": _STAFF,
            "responses": {
                "200": json_body(ref("BlacklistEntry"), "The entry"),
                **AUTH,
                **_NOT_FOUND,
            },
        },
        "put": {
            "operationId": "updateBlacklistEntry",
            "summary": "Change the fields given (its hits stay)",
            "x-pbxd-roles": ["admin"],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref("BlacklistUpdate")}},
            },  # fmt: skip
            "responses": {
                "200": json_body(ref("BlacklistEntry"), "Changed"),
                "400": error("BadRequest"),
                **AUTH,
                **_NOT_FOUND,
                "409": error("Conflict"),
            },
        },
        "delete": {
            "operationId": "deleteBlacklistEntry",
            "summary": "Unblock",
            "x-pbxd-roles": ["admin"],
            "responses": {"204": {"description": "Deleted"}, **AUTH, **_NOT_FOUND},
        },
    },
}

_CONTACT_FIELDS = {
    "number": _PHONE,
    "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX_LEN},
    "company": {"type": "string", "maxLength": COMPANY_MAX_LEN, "default": ""},
    "note": {"type": "string", "maxLength": NOTE_MAX_LEN, "default": ""},
}
_BLACKLIST_FIELDS = {
    "number": _BLOCKED,
    "direction": _DIRECTION,
    "note": {"type": "string", "maxLength": BLACKLIST_NOTE_MAX_LEN, "default": ""},
}

CONTACTS_SCHEMAS: dict[str, Any] = {
    "Contact": {
        "type": "object",
        "required": ["id", "number", "name", "company", "note", "created_at", "updated_at"],
        "properties": {
            "id": {"type": "integer"},
            "number": {
                "type": "string",
                "description": "Masked by the reader's `masking` "
                "(name_only: ****, the name is beside it)",
            },  # fmt: skip
            "name": {"type": "string"},
            "company": {"type": "string"},
            "note": {"type": "string", "description": "Numbers in it masked like `number`"},
            "created_at": TIME,
            "updated_at": TIME,
        },
    },
    "ContactPage": {
        "type": "object",
        "required": ["items", "total", "limit", "offset"],
        "properties": {
            "items": {"type": "array", "items": ref("Contact")},
            "total": {"type": "integer", "description": "Matches, all pages together"},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
        },
    },
    "ContactCreate": {
        "type": "object",
        "required": ["number", "name"],
        "properties": _CONTACT_FIELDS,
        "additionalProperties": False,
    },
    "ContactUpdate": {
        "type": "object",
        "minProperties": 1,
        "properties": _CONTACT_FIELDS,
        "additionalProperties": False,
    },
    "BlacklistEntry": {
        "type": "object",
        "required": ["id", "number", "direction", "note", "created_at", "hits", "last_hit"],
        "properties": {
            "id": {"type": "integer"},
            "number": {
                **_BLOCKED,
                "description": _BLOCKED["description"] + "; masked by the reader's `masking`",
            },  # fmt: skip
            "direction": _DIRECTION,
            "note": {"type": "string"},
            "created_at": TIME,
            "hits": {
                "type": "integer",
                "minimum": 0,
                "description": "Calls refused since the daemon started (kept in memory)",
            },
            "last_hit": {"type": ["string", "null"], "format": "date-time"},
        },  # fmt: skip
    },
    "BlacklistList": {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": ref("BlacklistEntry")}},
    },
    "BlacklistCreate": {
        "type": "object",
        "required": ["number"],
        "properties": _BLACKLIST_FIELDS,
        "additionalProperties": False,
    },
    "BlacklistUpdate": {
        "type": "object",
        "minProperties": 1,
        "properties": _BLACKLIST_FIELDS,
        "additionalProperties": False,
    },
}

# Operations whose answers carry customer numbers (masked), and those a supervisor's scope
# limits: their descriptions say so.
_MASKED = (
    ("/api/v1/cdr", "get"),
    ("/api/v1/cdr/{call_id}/legs", "get"),
    ("/api/v1/recordings", "get"),
    ("/api/v1/recordings/archive", "get"),
    ("/api/v1/recordings/{id}", "get"),
    ("/api/v1/recordings/{id}", "put"),
    ("/api/v1/voicemail/{box}", "get"),
    ("/api/v1/voicemail/{box}/{id}", "put"),
)
_SCOPED = (
    ("/api/v1/cdr", "get"),
    ("/api/v1/cdr/{call_id}/legs", "get"),
    ("/api/v1/queue-events", "get"),
    ("/api/v1/recordings", "get"),
    ("/api/v1/recordings/archive", "get"),
    ("/api/v1/recordings/{id}", "get"),
    ("/api/v1/recordings/{id}", "put"),
    ("/api/v1/recordings/{id}/audio", "get"),
    ("/api/v1/reports", "get"),
    ("/api/v1/voicemail/{box}", "get"),
    ("/api/v1/agents", "get"),
)


def add_masking_notes(paths: dict[str, Any]) -> None:
    """Say on each operation concerned that numbers are masked and that a supervisor sees
    his team only (docs/WEBAUTH.md "Number masking", "Supervisor scope")."""
    for notes, operations in ((MASKING_NOTE, _MASKED), (SCOPE_NOTE, _SCOPED)):
        for path, method in operations:
            operation = paths.get(path, {}).get(method)
            if operation is None:  # renamed elsewhere: a test names it, the API still starts
                continue
            operation["description"] = (operation.get("description", "") + notes).strip()


def noted_operations() -> tuple[tuple[str, str, str], ...]:
    """(path, method, note) of every operation `add_masking_notes` annotates."""
    return tuple(
        (path, method, note)
        for note, operations in ((MASKING_NOTE, _MASKED), (SCOPE_NOTE, _SCOPED))
        for path, method in operations
    )
