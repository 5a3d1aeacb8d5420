"""Checks shared by the services; each raises `ValidationError` naming the field."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

from .errors import ValidationError


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
