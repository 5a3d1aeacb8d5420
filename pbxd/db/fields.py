"""Column types shared by the live models."""

from __future__ import annotations

from datetime import UTC, datetime

from peewee import Field


class UtcDateTimeField(Field):
    """An aware datetime stored as fixed-width UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff'.

    Fixed width keeps text order equal to time order, so range filters and ORDER BY work on the
    column and its index. Naive datetimes are refused: their zone is unknown.
    """

    field_type = "TEXT"

    def db_value(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.utcoffset() is None:
            raise ValueError(f"{self.name}: an aware datetime is required, got {value!r}")
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

    def python_value(self, value: str | None) -> datetime | None:
        if value is None:
            return None
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
