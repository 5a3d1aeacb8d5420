"""Building blocks the OpenAPI fragments (openapi*.py) share."""

from __future__ import annotations

from typing import Any

TIME = {"type": "string", "format": "date-time", "examples": ["2024-05-01T08:30:00Z"]}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def error(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


AUTH = {"401": error("Unauthorized"), "403": error("Forbidden")}
