"""Call detail records: GET /api/v1/cdr."""

from __future__ import annotations

from datetime import datetime

from .base import ADMIN_OR_SUPERVISOR, BaseHandler
from .errors import InvalidRequest
from .schemas import cdr_json

DEFAULT_LIMIT = 100
_MAX_DIGITS = 9


class CdrHandler(BaseHandler):
    # Writes come from call control, not from the API; later write routes declare ADMIN_ONLY.
    access = {"GET": ADMIN_OR_SUPERVISOR}

    def get(self) -> None:
        params = self.query_params({"from", "to", "number", "limit", "offset"})
        views = self.services.cdr.query(
            start_from=_moment(params, "from"),
            start_to=_moment(params, "to"),
            number=params.get("number"),
            limit=_integer(params, "limit", DEFAULT_LIMIT),
            offset=_integer(params, "offset", 0),
        )
        self.reply({"items": [cdr_json(view) for view in views]})


def _moment(params: dict[str, str], name: str) -> datetime | None:
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


def _integer(params: dict[str, str], name: str, default: int) -> int:
    if name not in params:
        return default
    value = params[name]
    if not value.isascii() or not value.isdigit() or len(value) > _MAX_DIGITS:
        raise InvalidRequest(
            f"{name}: expected a non-negative integer of at most {_MAX_DIGITS} digits", field=name
        )
    return int(value)
