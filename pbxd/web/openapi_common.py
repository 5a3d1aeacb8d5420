"""Building blocks the OpenAPI fragments (openapi*.py) share. The fragments only read these
values: a shared schema is the same object in many places of OPENAPI_DOCUMENT."""

from __future__ import annotations

from typing import Any

from ..services.users import Role

# `x-pbxd-roles` of an operation (the test matches them against the handlers' `access`).
ALL_ROLES = [str(role) for role in Role]
STAFF_ROLES = ["admin", "supervisor"]
ADMIN_ROLES = ["admin"]

TIME = {"type": "string", "format": "date-time", "examples": ["2024-05-01T08:30:00Z"]}
NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
NULLABLE_TEXT = {"type": ["string", "null"]}
# An extension, queue, ring group or conference room number (the dial plan's).
NUMBER = {"type": "string", "pattern": "^[0-9]{2,6}$"}
BINARY = {"type": "string", "format": "binary"}
RANGE_HEADER = {
    "name": "Range",
    "in": "header",
    "description": "bytes=first-last, bytes=first- or bytes=-suffix",
    "schema": {"type": "string"},
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def error(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """A response with a JSON body."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def json_request(name: str, *, required: bool = True) -> dict[str, Any]:
    """A request body: a JSON object of the schema `name`."""
    return {"required": required, "content": {"application/json": {"schema": ref(name)}}}


def query(name: str, description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A query parameter (an empty `description` is left out); `extra` adds fields such as
    required, style, explode."""
    parameter = {"name": name, "in": "query", "description": description, "schema": schema}
    if not description:
        del parameter["description"]
    return {**parameter, **extra}


def path_parameter(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def paging(default: int, maximum: int) -> list[dict[str, Any]]:
    """The limit and offset parameters of a paged list."""
    return [
        query(
            "limit",
            "Page size",
            {"type": "integer", "minimum": 1, "maximum": maximum, "default": default},
        ),
        query("offset", "Rows to skip", {"type": "integer", "minimum": 0, "default": 0}),
    ]


def item_list(name: str) -> dict[str, Any]:
    """The schema of `{"items": [<name>, ...]}`."""
    return {
        "type": "object",
        "required": ["items"],
        "properties": {"items": {"type": "array", "items": ref(name)}},
    }


def page_of(name: str, total_description: str) -> dict[str, Any]:
    """The schema of one page of a paged list: its items and where it stands."""
    return {
        "type": "object",
        "required": ["items", "total", "limit", "offset"],
        "properties": {
            "items": {"type": "array", "items": ref(name)},
            "total": {"type": "integer", "description": total_description},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
        },
    }


AUTH = {"401": error("Unauthorized"), "403": error("Forbidden")}
# The answer to a Range header (RFC 9110 section 14.2) that names no byte of the file.
RANGE_NOT_SATISFIABLE = json_body(
    ref("Error"), "Range outside the file (Content-Range: bytes */size)"
)
