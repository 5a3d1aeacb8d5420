"""Query parameters the API handlers share: times with an offset, counts, paging."""

from __future__ import annotations

from datetime import datetime

from .errors import InvalidRequest

_MAX_DIGITS = 9


def time_param(params: dict[str, str], name: str) -> datetime | None:
    """The ISO 8601 time (with a UTC offset) of parameter `name`; None when absent."""
    if name not in params:
        return None
    try:
        moment = datetime.fromisoformat(params[name])
    except ValueError:
        raise InvalidRequest(
            f"{name}: expected an ISO 8601 time such as 2024-05-01T08:00:00Z "
            "(write a '+' offset as %2B)",
            field=name,
        ) from None
    if moment.utcoffset() is None:
        raise InvalidRequest(f"{name}: add a UTC offset, e.g. 'Z'", field=name)
    return moment


def integer_param(params: dict[str, str], name: str, default: int) -> int:
    """The non-negative integer of parameter `name`; `default` when absent."""
    if name not in params:
        return default
    value = params[name]
    if not value.isascii() or not value.isdigit() or len(value) > _MAX_DIGITS:
        raise InvalidRequest(
            f"{name}: expected a non-negative integer of at most {_MAX_DIGITS} digits", field=name
        )
    return int(value)


def paging_params(params: dict[str, str], default_limit: int) -> tuple[int, int]:
    """(limit, offset) of a paged list; offset 0 when absent."""
    return integer_param(params, "limit", default_limit), integer_param(params, "offset", 0)
