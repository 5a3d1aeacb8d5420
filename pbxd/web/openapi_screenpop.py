"""OpenAPI paths and schemas of the screen pop, memos and wrap-up dispositions (issue 7,
m0008), merged into `openapi.OPENAPI_DOCUMENT`."""

from __future__ import annotations

from typing import Any

from ..services.cdr import CALL_ID_MAX_LEN
from ..services.dispositions import LABEL_MAX_LEN, NOTE_MAX_LEN, POSITION_MAX
from ..services.memos import CONTENT_MAX_LEN, LIST_MAX_LIMIT
from ..services.screenpop import LAST_CALLS, MEMOS, PopDirection
from .openapi_common import (
    ADMIN_ROLES,
    ALL_ROLES,
    AUTH,
    NULLABLE_TEXT,
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
from .openapi_contacts import MASKING_NOTE
from .openapi_history import DISPOSITIONS

_NOT_FOUND = {"404": error("NotFound")}
_CODE = {
    "type": "string",
    "pattern": "^[a-z][a-z0-9_]{0,31}$",
    "examples": ["resolved", "sales_lead"],
}
_CALL_ID = path_parameter("call_id", {"type": "string", "maxLength": CALL_ID_MAX_LEN})
_NUMBER_QUERY = query(
    "number",
    "The customer's whole number, matched exactly (masked users too)",
    {"type": "string", "minLength": 1, "maxLength": 128, "examples": ["13800138000"]},
    required=True,
)
_WHO_SETS = (
    " An agent sets his own disposition of a call he took part in (the CDR, an answered leg, "
    "the call detail or a CONNECT/COMPLETE queue event names his extension; a live call when "
    "the runtime knows it): another agent's call is 403 forbidden. A supervisor may set any "
    "agent's disposition of a call in his scope (or his own), an admin any; `agent` names "
    "whose it is and must have taken part in the call. A call the history does not hold "
    "(yet: it is written when the call ends) is 404."
)

SCREENPOP_PATHS: dict[str, Any] = {
    "/api/v1/screenpop": {
        "get": {
            "operationId": "getScreenPop",
            "summary": "What the agent's screen shows when a number rings or is dialed: the "
            f"customer, the number of calls, the last {LAST_CALLS} calls with their wrap-up "
            f"dispositions and the {MEMOS} newest memos. Any role may pop any number."
            + MASKING_NOTE,
            "x-pbxd-roles": ALL_ROLES,
            "parameters": [_NUMBER_QUERY],
            "responses": {
                "200": json_body(ref("ScreenPop"), "The pop"),
                "400": error("BadRequest"),
                **AUTH,
            },
        }
    },
    "/api/v1/memos": {
        "get": {
            "operationId": "listMemos",
            "summary": "Memos on a customer's number, newest first." + MASKING_NOTE,
            "x-pbxd-roles": ALL_ROLES,
            "parameters": [_NUMBER_QUERY, *paging(20, LIST_MAX_LIMIT)],
            "responses": {
                "200": json_body(ref("MemoPage"), "One page of memos"),
                "400": error("BadRequest"),
                **AUTH,
            },
        },
        "post": {
            "operationId": "addMemo",
            "summary": "Write a memo on a customer's number; the author is the logged-in user",
            "x-pbxd-roles": ALL_ROLES,
            "requestBody": json_request("MemoCreate"),
            "responses": {
                "201": json_body(ref("Memo"), "Written"),
                "400": error("BadRequest"),
                **AUTH,
            },
        },
    },
    "/api/v1/dispositions": {
        "get": {
            "operationId": "listDispositions",
            "summary": "The disposition codes offered at wrap-up (active ones, in order)",
            "x-pbxd-roles": ALL_ROLES,
            "responses": {"200": json_body(ref("DispositionCodeList"), "The codes"), **AUTH},
        }
    },
    "/api/v1/calls/{call_id}/disposition": {
        "parameters": [_CALL_ID],
        "get": {
            "operationId": "getCallDispositions",
            "summary": "The wrap-up dispositions of a call (the CDR's call_id): an agent his "
            "own, a supervisor those of a call in his scope, an admin all",
            "x-pbxd-roles": ALL_ROLES,
            "responses": {
                "200": json_body(ref("CallDispositions"), "The dispositions, oldest first"),
                **AUTH,
                **_NOT_FOUND,
            },
        },
        "put": {
            "operationId": "setCallDisposition",
            "summary": "Set or change a disposition of a call, during the call, at wrap-up or "
            "later." + _WHO_SETS,
            "x-pbxd-roles": ALL_ROLES,
            "requestBody": json_request("CallDispositionSet"),
            "responses": {
                "200": json_body(ref("CallDisposition"), "Set"),
                "400": error("BadRequest"),
                **AUTH,
                **_NOT_FOUND,
            },
        },
    },
    "/api/v1/disposition-codes": {
        "get": {
            "operationId": "listDispositionCodes",
            "summary": "Every disposition code, inactive ones too",
            "x-pbxd-roles": ADMIN_ROLES,
            "responses": {"200": json_body(ref("DispositionCodeList"), "The codes"), **AUTH},
        },
        "post": {
            "operationId": "createDispositionCode",
            "summary": "Add a disposition code",
            "x-pbxd-roles": ADMIN_ROLES,
            "requestBody": json_request("DispositionCodeCreate"),
            "responses": {
                "201": {
                    **json_body(ref("DispositionCode"), "Created"),
                    "headers": {
                        "Location": {
                            "description": "The new code's URL",
                            "schema": {"type": "string"},
                        }
                    },
                },
                "400": error("BadRequest"),
                **AUTH,
                "409": error("Conflict"),
            },
        },
    },
    "/api/v1/disposition-codes/{code}": {
        "parameters": [path_parameter("code", _CODE)],
        "get": {
            "operationId": "getDispositionCode",
            "summary": "One disposition code",
            "x-pbxd-roles": ADMIN_ROLES,
            "responses": {
                "200": json_body(ref("DispositionCode"), "The code"),
                **AUTH,
                **_NOT_FOUND,
            },
        },
        "put": {
            "operationId": "updateDispositionCode",
            "summary": "Change the labels, position or active flag (the code stays: calls "
            "carry it); an inactive code is no longer offered",
            "x-pbxd-roles": ADMIN_ROLES,
            "requestBody": json_request("DispositionCodeUpdate"),
            "responses": {
                "200": json_body(ref("DispositionCode"), "Changed"),
                "400": error("BadRequest"),
                **AUTH,
                **_NOT_FOUND,
            },
        },
        "delete": {
            "operationId": "deleteDispositionCode",
            "summary": "Remove a code no call carries (409 in_use otherwise: deactivate it)",
            "x-pbxd-roles": ADMIN_ROLES,
            "responses": {
                "204": {"description": "Deleted"},
                **AUTH,
                **_NOT_FOUND,
                "409": error("Conflict"),
            },
        },
    },
}

_LABELS = {
    "label_zh": {"type": "string", "minLength": 1, "maxLength": LABEL_MAX_LEN},
    "label_en": {"type": "string", "minLength": 1, "maxLength": LABEL_MAX_LEN},
}
_NULLABLE_LABELS = {
    "label_zh": {**NULLABLE_TEXT, "description": "null: the code was deleted since"},
    "label_en": NULLABLE_TEXT,
}
_POSITION = {"type": "integer", "minimum": 0, "maximum": POSITION_MAX}
_DISPOSITION_OF_POP = {
    "type": "object",
    "required": ["agent", "code", "label_zh", "label_en", "note", "updated_at"],
    "properties": {
        "agent": {"type": "string", "description": "The agent's extension"},
        "code": _CODE,
        **_NULLABLE_LABELS,
        "note": {"type": "string", "description": "Numbers in it masked"},
        "updated_at": TIME,
    },
}

SCREENPOP_SCHEMAS: dict[str, Any] = {
    "ScreenPop": {
        "type": "object",
        "required": [
            "number",
            "known",
            "name",
            "company",
            "note",
            "previous_calls",
            "last_calls",
            "memos",
        ],  # fmt: skip
        "properties": {
            "number": {
                "type": "string",
                "description": "Masked by the reader's `masking` (name_only: ****, the name "
                "is beside it)",
            },
            "known": {"type": "boolean", "description": "The customer directory has it"},
            "name": NULLABLE_TEXT,
            "company": NULLABLE_TEXT,
            "note": {**NULLABLE_TEXT, "description": "The contact's note, numbers masked"},
            "previous_calls": {
                "type": "integer",
                "minimum": 0,
                "description": "Call records from or to the number",
            },
            "last_calls": {
                "type": "array",
                "maxItems": LAST_CALLS,
                "description": "Newest first",
                "items": {
                    "type": "object",
                    "required": [
                        "call_id",
                        "start",
                        "direction",
                        "queue",
                        "agent",
                        "duration",
                        "billsec",
                        "result",
                        "dispositions",
                    ],  # fmt: skip
                    "properties": {
                        "call_id": {"type": "string"},
                        "start": TIME,
                        "direction": {
                            "enum": [str(value) for value in PopDirection],
                            "description": "inbound: the number called; outbound: it was called",
                        },
                        "queue": NULLABLE_TEXT,
                        "agent": {**NULLABLE_TEXT, "description": "Who took a queue call"},
                        "duration": {"type": "integer", "minimum": 0, "description": "seconds"},
                        "billsec": {"type": "integer", "minimum": 0, "description": "seconds"},
                        "result": {"enum": DISPOSITIONS, "description": "The CDR's disposition"},
                        "dispositions": {"type": "array", "items": _DISPOSITION_OF_POP},
                    },
                },
            },
            "memos": {
                "type": "array",
                "maxItems": MEMOS,
                "description": "Newest first (number omitted: the pop's)",
                "items": ref("Memo"),
            },
        },
    },
    "Memo": {
        "type": "object",
        "required": ["id", "author", "author_extension", "call_id", "content", "created_at"],
        "properties": {
            "id": {"type": "integer"},
            "number": {"type": "string", "description": "Masked (absent inside a screen pop)"},
            "author": {"type": "string", "description": "Username"},
            "author_extension": NULLABLE_TEXT,
            "call_id": NULLABLE_TEXT,
            "content": {"type": "string", "description": "Numbers in it masked"},
            "created_at": TIME,
        },
    },
    "MemoPage": page_of("Memo", "Memos of the number, all pages together"),
    "MemoCreate": {
        "type": "object",
        "required": ["number", "content"],
        "additionalProperties": False,
        "properties": {
            "number": {"type": "string", "pattern": r"^\+?[0-9]{3,32}$"},
            "content": {"type": "string", "minLength": 1, "maxLength": CONTENT_MAX_LEN},
            "call_id": {
                **NULLABLE_TEXT,
                "maxLength": CALL_ID_MAX_LEN,
                "description": "The call it is written during",
            },
        },
    },
    "DispositionCode": {
        "type": "object",
        "required": [
            "code",
            "label_zh",
            "label_en",
            "position",
            "active",
            "created_at",
            "updated_at",
        ],  # fmt: skip
        "properties": {
            "code": _CODE,
            **_LABELS,
            "position": _POSITION,
            "active": {"type": "boolean", "description": "Offered for new dispositions"},
            "created_at": TIME,
            "updated_at": TIME,
        },
    },
    "DispositionCodeList": item_list("DispositionCode"),
    "DispositionCodeCreate": {
        "type": "object",
        "required": ["code", "label_zh", "label_en"],
        "additionalProperties": False,
        "properties": {
            "code": _CODE,
            **_LABELS,
            "position": {**_POSITION, "description": "Default: after the last"},
            "active": {"type": "boolean", "default": True},
        },
    },
    "DispositionCodeUpdate": {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": False,
        "properties": {
            "code": {**_CODE, "description": "Only the same code (it cannot change)"},
            **_LABELS,
            "position": _POSITION,
            "active": {"type": "boolean"},
        },
    },
    "CallDisposition": {
        "type": "object",
        "required": [
            "call_id",
            "agent",
            "code",
            "label_zh",
            "label_en",
            "note",
            "author",
            "created_at",
            "updated_at",
        ],  # fmt: skip
        "properties": {
            "call_id": {"type": "string"},
            "agent": {"type": "string", "description": "The agent's extension"},
            "code": _CODE,
            **_NULLABLE_LABELS,
            "note": {"type": "string", "description": "Numbers in it masked"},
            "author": {"type": "string", "description": "Username of who set it last"},
            "created_at": TIME,
            "updated_at": TIME,
        },
    },
    "CallDispositions": {
        "type": "object",
        "required": ["call_id", "items"],
        "properties": {
            "call_id": {"type": "string"},
            "items": {"type": "array", "items": ref("CallDisposition")},
        },
    },
    "CallDispositionSet": {
        "type": "object",
        "required": ["code"],
        "additionalProperties": False,
        "properties": {
            "code": {**_CODE, "description": "An active code of GET /api/v1/dispositions"},
            "note": {"type": "string", "maxLength": NOTE_MAX_LEN, "default": ""},
            "agent": {
                "type": "string",
                "description": "Whose disposition (an extension that took part); agents: "
                "only their own. Default: the user's own extension when he took part, else "
                "the agent who took the call",
            },
        },
    },
}


def add_cdr_disposition(cdr_schema: dict[str, Any]) -> None:
    """The `disposition_code` of each row of GET /api/v1/cdr (its schema lives in
    openapi.py)."""
    cdr_schema["properties"]["disposition_code"] = {
        **NULLABLE_TEXT,
        "description": "The wrap-up disposition code of the call (the one changed last when "
        "several agents gave one); null when none was given",
    }
    cdr_schema["required"].append("disposition_code")
