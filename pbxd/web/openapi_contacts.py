"""OpenAPI paths and schemas of the customer directory and the blacklist (m0007), merged into
`openapi.OPENAPI_DOCUMENT`; also the note on number masking and scope that `add_masking_notes`
adds to the operations that answer with numbers."""

from __future__ import annotations

from typing import Any

from ..services.blacklist import NOTE_MAX_LEN as BLACKLIST_NOTE_MAX_LEN
from ..services.blacklist import BlockDirection
from ..services.contacts import COMPANY_MAX_LEN, NAME_MAX_LEN, NOTE_MAX_LEN, SEARCH_MAX_LIMIT
from .openapi_common import (
    ADMIN_ROLES,
    ALL_ROLES,
    AUTH,
    NULLABLE_TIME,
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

_ID = path_parameter("id", {"type": "integer", "minimum": 1})
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


CONTACTS_PATHS: dict[str, Any] = {
    "/api/v1/contacts": {
        "get": {
            "operationId": "searchContacts",
            "summary": "The customer directory by name." + MASKING_NOTE,
            "x-pbxd-roles": ALL_ROLES,
            "parameters": [
                query("number", "Exactly this number (masked users too)", _PHONE),
                query(
                    "text", "Part of the name or company (never of the number)", {"type": "string"}
                ),  # fmt: skip
                *paging(100, SEARCH_MAX_LIMIT),
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
            "x-pbxd-roles": STAFF_ROLES,
            "requestBody": json_request("ContactCreate"),
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
            "x-pbxd-roles": ALL_ROLES,
            "responses": {"200": json_body(ref("Contact"), "The contact"), **AUTH, **_NOT_FOUND},
        },
        "put": {
            "operationId": "updateContact",
            "summary": "Change the fields given",
            "x-pbxd-roles": STAFF_ROLES,
            "requestBody": json_request("ContactUpdate"),
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
            "x-pbxd-roles": STAFF_ROLES,
            "responses": {"204": {"description": "Deleted"}, **AUTH, **_NOT_FOUND},
        },
    },
    "/api/v1/blacklist": {
        "get": {
            "operationId": "listBlacklist",
            "summary": "Numbers and prefixes whose calls are refused, with their hits since "
            "the daemon started." + MASKING_NOTE,
            "x-pbxd-roles": STAFF_ROLES,
            "responses": {"200": json_body(ref("BlacklistList"), "Every entry"), **AUTH},
        },
        "post": {
            "operationId": "createBlacklistEntry",
            "summary": "Block a number or prefix (applies to the next call)",
            "x-pbxd-roles": ADMIN_ROLES,
            "requestBody": json_request("BlacklistCreate"),
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
            "x-pbxd-roles": STAFF_ROLES,
            "responses": {
                "200": json_body(ref("BlacklistEntry"), "The entry"),
                **AUTH,
                **_NOT_FOUND,
            },
        },
        "put": {
            "operationId": "updateBlacklistEntry",
            "summary": "Change the fields given (its hits stay)",
            "x-pbxd-roles": ADMIN_ROLES,
            "requestBody": json_request("BlacklistUpdate"),
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
            "x-pbxd-roles": ADMIN_ROLES,
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


def _create_and_update(name: str, fields: dict[str, Any], required: list[str]) -> dict[str, Any]:
    """The schemas of creating (POST) and changing (PUT: the fields given) a `name`."""
    closed = {"type": "object", "properties": fields, "additionalProperties": False}
    return {
        f"{name}Create": {**closed, "required": required},
        f"{name}Update": {**closed, "minProperties": 1},
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
    "ContactPage": page_of("Contact", "Matches, all pages together"),
    **_create_and_update("Contact", _CONTACT_FIELDS, ["number", "name"]),
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
            "last_hit": NULLABLE_TIME,
        },  # fmt: skip
    },
    "BlacklistList": item_list("BlacklistEntry"),
    **_create_and_update("Blacklist", _BLACKLIST_FIELDS, ["number"]),
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
