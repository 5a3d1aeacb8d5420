"""The blacklist (黑名单): /api/v1/blacklist (m0007), and what call control asks of it.

An entry is a number ("13800138000", matched exactly) or a prefix ending in "*" ("400*",
every number starting with 400), with a direction: `inbound` (calls from it are refused),
`outbound` (calls to it are refused) or `both`. Matching is on the number's text as it
arrives: "+8613800138000" and "13800138000" are different numbers.

Call control asks `blocks(number, direction)` for every INVITE, so the entries are served
from memory, reloaded after each change (and after a configuration restore, see
`Services.restore_configuration`). Rules:

- an exact entry beats a prefix; among prefixes the longest wins;
- a number of our own dial plan (an extension, a queue ...: `internal`) is blocked only by
  an entry naming it exactly: "10*" never blocks extension 1001;
- each refused call counts a hit on its entry, in memory only (`hits`, `last_hit` in the
  entry's view): a refused call is no call, it writes nothing to the CDR or the flash, and the
  counters start again at 0 when the daemon starts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from peewee import IntegrityError

from ..db import db
from ..db.models import BlacklistEntry
from .clock import Clock, utc_now
from .configbase import Listeners, require_choice
from .errors import Conflict, NotFound, ValidationError
from .recordings import is_row_id
from .validation import require_changes, require_known_fields, require_text

log = logging.getLogger(__name__)

PATTERN = re.compile(r"\+?[0-9]{1,32}\*?")
NOTE_MAX_LEN = 500
FIELDS = ("number", "direction", "note")


class BlockDirection(StrEnum):
    INBOUND = "inbound"  # calls from the number are refused (603 Decline)
    OUTBOUND = "outbound"  # calls to the number are refused (403)
    BOTH = "both"


@dataclass(frozen=True)
class BlacklistView:
    id: int
    number: str  # digits, or a prefix ending in "*"
    direction: BlockDirection
    note: str
    created_at: datetime
    hits: int = 0  # calls refused since the daemon started
    last_hit: datetime | None = None

    @property
    def is_prefix(self) -> bool:
        return self.number.endswith("*")

    def applies_to(self, direction: BlockDirection) -> bool:
        return self.direction in (direction, BlockDirection.BOTH)


@dataclass(frozen=True)
class _Table:
    exact: dict[str, BlacklistView]
    prefixes: list[BlacklistView]  # longest prefix first


# callback() after each committed change (the table is reloaded first).
BlacklistListener = Callable[[], None]


def _number(value: Any) -> str:
    if not isinstance(value, str) or not PATTERN.fullmatch(value):
        raise ValidationError(
            "number: expected digits (a + before them allowed), or a prefix of digits "
            "ending in *, e.g. 400*",
            field="number",
        )
    return value


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "number": _number(values["number"]),
        "direction": require_choice("direction", values["direction"], tuple(BlockDirection)),
        "note": require_text("note", values["note"], min_len=0, max_len=NOTE_MAX_LEN),
    }


class BlacklistService:
    """Loop thread only (the in-memory table and counters are not locked)."""

    def __init__(self, clock: Clock = utc_now):
        self._clock = clock
        self._listeners = Listeners()
        self._table: _Table | None = None
        self._hits: dict[int, tuple[int, datetime]] = {}  # entry id -> (hits, last hit)

    # -- the API ---------------------------------------------------------------------------------

    def list(self) -> list[BlacklistView]:
        rows = BlacklistEntry.select().order_by(BlacklistEntry.number)
        return [self._view(row) for row in rows]

    def get(self, entry_id: int) -> BlacklistView:
        return self._view(self._row(entry_id))

    def create(self, data: Mapping[str, Any]) -> BlacklistView:
        require_known_fields(data, FIELDS)
        if "number" not in data:
            raise ValidationError("number: required", field="number")
        values = _clean({"direction": BlockDirection.BOTH.value, "note": "", **data})
        try:
            with db.atomic():
                row = BlacklistEntry.create(**values, created_at=self._clock())
                db.after_commit(self._changed)
        except IntegrityError as exc:
            raise Conflict(f"blacklist entry {values['number']} exists", field="number") from exc
        log.info("blacklist entry %s (%s, %s) created", row.id, row.number, row.direction)
        return self._view(row)

    def update(self, entry_id: int, changes: Mapping[str, Any]) -> BlacklistView:
        require_changes(changes, FIELDS)
        try:
            with db.atomic():
                row = self._row(entry_id)
                values = _clean({**{name: getattr(row, name) for name in FIELDS}, **changes})
                BlacklistEntry.update(**values).where(BlacklistEntry.id == row.id).execute()
                db.after_commit(self._changed)
        except IntegrityError as exc:
            raise Conflict(
                f"blacklist entry {changes.get('number')} exists", field="number"
            ) from exc
        log.info("blacklist entry %s updated (%s)", entry_id, ", ".join(sorted(changes)))
        return self.get(entry_id)

    def delete(self, entry_id: int) -> None:
        with db.atomic():
            self._row(entry_id).delete_instance()
            db.after_commit(self._changed)
        self._hits.pop(entry_id, None)
        log.info("blacklist entry %s deleted", entry_id)

    def subscribe(self, callback: BlacklistListener) -> Callable[[], None]:
        return self._listeners.subscribe(callback)

    def reload(self) -> None:
        """Forget the in-memory table and the counters (the ids may now name other entries):
        read again at the next call. After a configuration restore."""
        self._table = None
        self._hits.clear()
        self._listeners.notify()

    # -- call control ------------------------------------------------------------------------

    def blocks(
        self,
        number: str,
        direction: BlockDirection | str,
        *,
        internal: bool | Callable[[str], bool] = False,
    ) -> BlacklistView | None:
        """The entry that refuses a call from (`inbound`) or to (`outbound`) `number`, None
        when none does. `internal`: whether `number` is one of our own dial plan (only an
        exact entry blocks it), or a function that tells, asked only when a prefix matches.
        A match counts as a hit (the call is refused)."""
        direction = BlockDirection(direction)
        entry = self._match(number, direction, internal)
        if entry is None:
            return None
        hits, _ = self._hits.get(entry.id, (0, None))
        now = self._clock()
        self._hits[entry.id] = (hits + 1, now)
        return replace(entry, hits=hits + 1, last_hit=now)

    def match(
        self,
        number: str,
        direction: BlockDirection | str,
        *,
        internal: bool | Callable[[str], bool] = False,
    ) -> BlacklistView | None:
        """`blocks` without counting a hit."""
        entry = self._match(number, BlockDirection(direction), internal)
        if entry is None:
            return None
        hits, last_hit = self._hits.get(entry.id, (0, None))
        return replace(entry, hits=hits, last_hit=last_hit)

    # -- helpers ---------------------------------------------------------------------------------

    def _match(
        self, number: str, direction: BlockDirection, internal: bool | Callable[[str], bool]
    ) -> BlacklistView | None:
        if not isinstance(number, str) or not number:
            return None
        table = self._load()
        exact = table.exact.get(number)
        if exact is not None and exact.applies_to(direction):
            return exact
        for entry in table.prefixes:
            if number.startswith(entry.number[:-1]) and entry.applies_to(direction):
                is_internal = internal(number) if callable(internal) else internal
                return None if is_internal else entry
        return None

    def _changed(self) -> None:
        self._table = None
        self._listeners.notify()

    def _load(self) -> _Table:
        table = self._table
        if table is None:
            entries = [
                BlacklistView(
                    row.id, row.number, BlockDirection(row.direction), row.note, row.created_at
                )
                for row in BlacklistEntry.select()
            ]
            table = self._table = _Table(
                exact={entry.number: entry for entry in entries if not entry.is_prefix},
                prefixes=sorted(
                    (entry for entry in entries if entry.is_prefix),
                    key=lambda entry: (-len(entry.number), entry.number),
                ),
            )
        return table

    def _row(self, entry_id: int) -> BlacklistEntry:
        row = (
            BlacklistEntry.get_or_none(BlacklistEntry.id == entry_id)
            if is_row_id(entry_id)
            else None
        )
        if row is None:
            raise NotFound(f"blacklist entry {entry_id} not found")
        return row

    def _view(self, row: BlacklistEntry) -> BlacklistView:
        hits, last_hit = self._hits.get(row.id, (0, None))
        return BlacklistView(
            id=row.id,
            number=row.number,
            direction=BlockDirection(row.direction),
            note=row.note,
            created_at=row.created_at,
            hits=hits,
            last_hit=last_hit,
        )
