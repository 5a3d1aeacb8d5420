"""The operation log (操作日志): who logged in or out and who changed what through the API.

Rows hold names, never values: `detail` carries the names of the fields a request set and its
status, because request bodies hold secrets, PINs and passwords. The table is capped at
`max_rows`; the oldest rows go first.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..db.models import OperationLogEntry
from .clock import Clock, utc_now
from .validation import require_aware, require_int, require_text

MAX_ROWS = 100_000
# Pruning runs when the new row's id is a multiple of this: one DELETE per thousand rows.
PRUNE_EVERY = 1000
# Text from the request (a failed login's username, a path) is cut to these lengths.
USERNAME_MAX_LEN = 64
TARGET_MAX_LEN = 512
ACTION_MAX_LEN = 200
CLIENT_MAX_LEN = 64
FILTER_MAX_LEN = 200

# Actions the auth endpoints record; a configuration change is "<METHOD> <route template>".
LOGIN = "login"
LOGIN_FAILED = "login_failed"
LOGOUT = "logout"
# A desk phone's feature code to monitor an agent's call (*90<agent> ...), allowed or refused;
# the API's monitoring is "POST /api/v1/agents/{extension}/monitor" like any API write.
PHONE_MONITOR = "phone_monitor"
PHONE_MONITOR_REFUSED = "phone_monitor_refused"


@dataclass(frozen=True)
class OperationView:
    id: int
    time: datetime
    username: str
    role: str | None  # None when the user is unknown (a failed login)
    client_ip: str
    action: str
    target: str
    detail: dict[str, Any]


def _clean(text: str, max_len: int) -> str:
    """`text` cut to `max_len`, control characters and lone surrogates replaced: stored text
    comes from the request and must encode as UTF-8 and stay on one CSV line."""
    return "".join(
        "\ufffd" if unicodedata.category(char) in ("Cc", "Cs") else char for char in text[:max_len]
    )


def _view(row: OperationLogEntry) -> OperationView:
    return OperationView(
        id=row.id,
        time=row.time,
        username=row.username,
        role=row.role,
        client_ip=row.client_ip,
        action=row.action,
        target=row.target,
        detail=json.loads(row.detail),
    )


class OperationLog:
    def __init__(self, clock: Clock = utc_now, *, max_rows: int = MAX_ROWS):
        self._clock = clock
        self.max_rows = max_rows

    def record(
        self,
        *,
        username: str,
        role: str | None,
        client_ip: str,
        action: str,
        target: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append one row at the current time. `detail` must hold no secret values."""
        row = OperationLogEntry.create(
            time=self._clock(),
            username=_clean(username, USERNAME_MAX_LEN),
            role=role,
            client_ip=_clean(client_ip, CLIENT_MAX_LEN),
            action=_clean(action, ACTION_MAX_LEN),
            target=_clean(target, TARGET_MAX_LEN),
            # ASCII escapes: a field name from the request may hold a lone surrogate.
            detail=json.dumps(detail or {}, sort_keys=True),
        )
        if row.id % PRUNE_EVERY == 0:
            OperationLogEntry.delete().where(
                OperationLogEntry.id <= row.id - self.max_rows
            ).execute()

    def search(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        username: str | None = None,
        action: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[OperationView]:
        """Rows with start <= time < end (either bound optional), newest first; `username`
        and `action` match exactly."""
        require_int("limit", limit, minimum=1, maximum=self.max_rows)
        require_int("offset", offset, minimum=0)
        query = (
            self._filtered(start, end, username, action)
            .order_by(OperationLogEntry.time.desc(), OperationLogEntry.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [_view(row) for row in query]

    def count(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        username: str | None = None,
        action: str | None = None,
    ) -> int:
        """How many rows `search` would page through with these filters."""
        return self._filtered(start, end, username, action).count()

    def _filtered(
        self,
        start: datetime | None,
        end: datetime | None,
        username: str | None,
        action: str | None,
    ) -> Any:
        query = OperationLogEntry.select()
        if require_aware("start", start, optional=True) is not None:
            query = query.where(OperationLogEntry.time >= start)
        if require_aware("end", end, optional=True) is not None:
            query = query.where(OperationLogEntry.time < end)
        if username is not None:
            require_text("username", username, max_len=FILTER_MAX_LEN)
            query = query.where(OperationLogEntry.username == username)
        if action is not None:
            require_text("action", action, max_len=FILTER_MAX_LEN)
            query = query.where(OperationLogEntry.action == action)
        return query
