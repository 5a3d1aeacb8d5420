"""Checks shared by the services; each raises `ValidationError` naming the field."""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from .errors import ValidationError

EnumT = TypeVar("EnumT", bound=StrEnum)


def require_text(field: str, value: Any, *, min_len: int = 1, max_len: int) -> str:
    """A string of `min_len`..`max_len` characters without control characters."""
    if not isinstance(value, str):
        raise ValidationError(f"{field}: expected a string", field=field)
    if not min_len <= len(value) <= max_len:
        raise ValidationError(
            f"{field}: expected {min_len} to {max_len} characters, got {len(value)}", field=field
        )
    # Cc: control characters; Cs: lone surrogates (JSON "\ud800"), which are not text.
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        raise ValidationError(f"{field}: control characters are not allowed", field=field)
    return value


def require_known_fields(data: Any, known: Collection[str]) -> Mapping[str, Any]:
    """`data` as an object (mapping) holding none but the fields `known`."""
    if not isinstance(data, Mapping):
        raise ValidationError("expected an object")
    for name in data:
        if name not in known:
            raise ValidationError(f"{name}: unknown field", field=name)
    return data


def require_changes(changes: Any, known: Collection[str]) -> Mapping[str, Any]:
    """The fields an update sets: an object of fields `known`, at least one."""
    require_known_fields(changes, known)
    if not changes:
        raise ValidationError("give at least one field to change")
    return changes


def require_int(field: str, value: Any, *, minimum: int, maximum: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(f"{field}: expected an integer", field=field)
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"{minimum}..{maximum}" if maximum is not None else f">= {minimum}"
        raise ValidationError(f"{field}: expected {bound}, got {value}", field=field)
    return value


def require_aware(field: str, value: Any, *, optional: bool = False) -> datetime | None:
    if value is None and optional:
        return None
    if not isinstance(value, datetime):
        raise ValidationError(f"{field}: expected a datetime", field=field)
    if value.utcoffset() is None:
        raise ValidationError(f"{field}: a UTC offset is required", field=field)
    return value


def require_member(enum: type[EnumT], field: str, value: object) -> EnumT:
    """The member of `enum` whose value is `value` (a member or its plain string)."""
    try:
        return enum(value)
    except ValueError:
        raise ValidationError(f"{field}: expected one of {', '.join(enum)}", field=field) from None


def require_page(time_from: Any, time_to: Any, limit: Any, offset: Any, *, max_limit: int) -> None:
    """The arguments of a history query: an optional time window and a page of rows."""
    require_aware("from", time_from, optional=True)
    require_aware("to", time_to, optional=True)
    require_int("limit", limit, minimum=1, maximum=max_limit)
    require_int("offset", offset, minimum=0)


def in_window(query: Any, column: Any, time_from: datetime | None, time_to: datetime | None) -> Any:
    """`query` narrowed to the rows with time_from <= column < time_to (a bound may be None)."""
    if time_from is not None:
        query = query.where(column >= time_from)
    if time_to is not None:
        query = query.where(column < time_to)
    return query
