"""What the call-center configuration services share: errors, field checks, listeners, and
`ConfigService`, the create/list/get/update/delete cycle of one kind of object.

A configuration object travels as a JSON-level dict (str, int, bool, list, dict, None). Create
starts from the kind's defaults; update (PUT, partial) starts from the stored values; either way
the whole result is checked again, then the cross-object checks run (one dial plan, targets
that exist, no automatic loop) inside the write transaction.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from peewee import IntegrityError, Model

from ..callcenter.destinations import DestinationError, parse_destination
from ..db import db
from .clock import Clock, utc_now
from .errors import Conflict, NotFound, ValidationError
from .validation import require_int, require_known_fields, require_text

if TYPE_CHECKING:  # dialplan.py imports this module
    from .dialplan import DialPlan

log = logging.getLogger(__name__)

# The dial plan: extensions, queues, ring groups, conference rooms and IVRs share it.
NUMBER_PATTERN = re.compile(r"[0-9]{2,6}")
# IVR and trunk names; the same characters a destination target allows (`ivr:<name>`).
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")
LABEL_MAX_LEN = 64  # display names
PROMPT_MAX_LEN = 128  # a prompt name (or a playlist for music on hold)

REQUIRED: Any = object()  # marks a field without a default in `ConfigService.defaults`

# callback(kind, key, deleted) after each committed change; kind is "queue", "ring_group",
# "conference", "ivr", "inbound_route" or "trunk"; key is the object's number, name or id.
ConfigListener = Callable[[str, str, bool], None]


class InUse(Conflict):
    """Deleting would leave a reference dangling; the message names who uses the object."""

    code = "in_use"


class LoopRefused(ValidationError):
    """The change would move callers round a cycle with nobody choosing."""

    code = "loop"


class WrongState(Conflict):
    """The action does not fit the current state (e.g. pause when not logged in)."""

    code = "wrong_state"


# --- field checks (each raises ValidationError naming the field) ------------------------------


def require_bool(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{field}: expected true or false", field=field)
    return value


def require_number(field: str, value: Any) -> str:
    if not isinstance(value, str) or not NUMBER_PATTERN.fullmatch(value):
        raise ValidationError(f"{field}: expected 2 to 6 digits", field=field)
    return value


def require_name(field: str, value: Any) -> str:
    if not isinstance(value, str) or not NAME_PATTERN.fullmatch(value):
        raise ValidationError(
            f"{field}: 1 to 32 letters, digits, '.', '_' or '-', starting with a letter or digit",
            field=field,
        )
    return value


def require_choice(field: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValidationError(f"{field}: expected one of {', '.join(choices)}", field=field)
    return value


def optional_text(field: str, value: Any, *, max_len: int) -> str | None:
    """None, or a non-blank string of at most `max_len` characters."""
    if value is None:
        return None
    text = require_text(field, value, max_len=max_len)
    if not text.strip():
        raise ValidationError(f"{field}: must not be blank (use null for none)", field=field)
    return text


def label_text(field: str, value: Any) -> str:
    """A display name; may be empty."""
    return require_text(field, value, min_len=0, max_len=LABEL_MAX_LEN)


def destination_text(field: str, value: Any, *, optional: bool = False) -> str | None:
    """A `kind:target` destination in canonical form, or None when optional and null."""
    if value is None and optional:
        return None
    try:
        return str(parse_destination(value))
    except DestinationError as exc:
        raise ValidationError(f"{field}: {exc}", field=field) from None


def bounded_int(field: str, value: Any, minimum: int, maximum: int) -> int:
    return require_int(field, value, minimum=minimum, maximum=maximum)


def extension_list(field: str, value: Any) -> list[str]:
    """A list of distinct extension numbers (existence is checked by the caller)."""
    if not isinstance(value, list):
        raise ValidationError(f"{field}: expected an array of extension numbers", field=field)
    numbers = [require_number(field, item) for item in value]
    duplicates = sorted({number for number in numbers if numbers.count(number) > 1})
    if duplicates:
        raise ValidationError(f"{field}: {duplicates[0]} is listed twice", field=field)
    return numbers


# --- listeners ---------------------------------------------------------------------------------


class Listeners:
    """Callbacks run after a commit; a failing one is logged, never turned into an API error."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., None]] = []

    def subscribe(self, callback: Callable[..., None]) -> Callable[[], None]:
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return unsubscribe

    def notify(self, *args: Any) -> None:
        for callback in list(self._callbacks):
            try:
                callback(*args)
            except Exception:
                log.exception("listener %r failed for %r", callback, args)


# --- the CRUD cycle ----------------------------------------------------------------------------

ViewT = TypeVar("ViewT")


class ConfigService(Generic[ViewT]):
    """Create, list, get, update (partial) and delete one kind of configuration object.

    Subclasses give the kind, the model, the defaults (every accepted field), the fields that
    cannot change, and `_clean`, `_check`, `_write`, `_view`; deletion runs `_check_delete`
    first. `_query`, `_find` and `_values` serve a model whose columns are the fields and whose
    key column is `key_field`; a kind stored otherwise overrides them.
    """

    kind: ClassVar[str]  # "queue", "ivr", ... (the listener's `kind`)
    model: ClassVar[type[Model]]  # the table of this kind
    key_field: ClassVar[str]  # the field that names the object in its URL
    defaults: ClassVar[Mapping[str, Any]]
    fixed: ClassVar[frozenset[str]] = frozenset()  # cannot change once created

    def __init__(self, clock: Clock = utc_now):
        self._clock = clock
        self._listeners = Listeners()

    # public API

    def list(self) -> list[ViewT]:
        return [self._view(self._values(row)) for row in self._query()]

    def get(self, key: str | int) -> ViewT:
        return self._view(self._values(self._row(key)))

    def create(self, data: Mapping[str, Any]) -> ViewT:
        require_known_fields(data, self.defaults)
        missing = [n for n, d in self.defaults.items() if d is REQUIRED and n not in data]
        if missing:
            raise ValidationError(f"{missing[0]}: required", field=missing[0])
        values = {n: d for n, d in self.defaults.items() if d is not REQUIRED}
        values.update(data)
        try:
            with db.atomic("IMMEDIATE"):  # the write lock first: checks and write see one state
                values = self._clean(values, old=None)
                key = values.get(self.key_field)
                if key is not None and self._find(key) is not None:
                    raise Conflict(f"{self.kind} {key} exists", field=self.key_field)
                self._check(values, old=None)
                row = self._write(None, values)
                key = str(getattr(row, self.key_field))
                db.after_commit(lambda: self._listeners.notify(self.kind, key, False))
        except IntegrityError as exc:  # a UNIQUE column the checks above did not cover
            log.warning("%s not created: %s", self.kind, exc)
            raise Conflict(f"{self.kind}: conflicts with the stored configuration") from exc
        log.info("%s %s created", self.kind, key)
        return self.get(key)

    def update(self, key: str | int, changes: Mapping[str, Any]) -> ViewT:
        """Change the fields given; the others stay as they are."""
        if not changes:
            raise ValidationError("give at least one field to change")
        require_known_fields(changes, self.defaults)
        for name in sorted(self.fixed & set(changes)):
            raise ValidationError(
                f"{name}: cannot be changed; delete the {self.kind} and create it anew",
                field=name,
            )
        try:
            with db.atomic("IMMEDIATE"):
                row = self._row(key)
                old = self._values(row)
                values = self._clean({**old, **changes}, old=old)
                self._check(values, old=old)
                self._write(row, values)
                new_key = str(getattr(row, self.key_field))
                db.after_commit(lambda: self._listeners.notify(self.kind, new_key, False))
        except IntegrityError as exc:
            log.warning("%s %s not updated: %s", self.kind, key, exc)
            raise Conflict(f"{self.kind}: conflicts with the stored configuration") from exc
        log.info("%s %s updated (%s)", self.kind, new_key, ", ".join(sorted(changes)))
        return self.get(new_key)

    def delete(self, key: str | int) -> None:
        with db.atomic("IMMEDIATE"):
            row = self._row(key)
            self._check_delete(self._values(row))
            row.delete_instance()
            name = str(getattr(row, self.key_field))
            db.after_commit(lambda: self._listeners.notify(self.kind, name, True))
        log.info("%s %s deleted", self.kind, name)

    def subscribe(self, callback: ConfigListener) -> Callable[[], None]:
        """Call `callback(kind, key, deleted)` after each committed change; returns
        unsubscribe. Callbacks run in the thread that made the change."""
        return self._listeners.subscribe(callback)

    def keys(self) -> set[str]:
        return {str(getattr(view, self.key_field)) for view in self.list()}

    def announce_replaced(self, before: set[str]) -> None:
        """The whole table was replaced (a restore): tell the listeners, key by key, what
        went and what is there now, as if each had been changed through this service."""
        now = self.keys()
        for key in sorted(before - now):
            self._listeners.notify(self.kind, key, True)
        for key in sorted(now):
            self._listeners.notify(self.kind, key, False)

    # helpers

    def _row(self, key: str | int) -> Model:
        row = self._find(key)
        if row is None:
            raise NotFound(f"{self.kind} {key} not found")
        return row

    def _store(self, row: Any, columns: Mapping[str, Any]) -> Any:
        """Insert (row None) or update `row` with `columns`, stamping the times; the row."""
        now = self._clock()
        if row is None:
            return self.model.create(**columns, created_at=now, updated_at=now)
        model = self.model
        model.update(**columns, updated_at=now).where(model.id == row.id).execute()
        return row

    # to implement (the first three where the defaults below do not fit)

    def _query(self) -> Any:
        return self.model.select().order_by(getattr(self.model, self.key_field))

    def _find(self, key: str | int) -> Model | None:
        return self.model.get_or_none(getattr(self.model, self.key_field) == str(key))

    def _values(self, row: Any) -> dict[str, Any]:
        return {name: getattr(row, name) for name in self.defaults}

    def _clean(self, values: dict[str, Any], *, old: dict[str, Any] | None) -> dict[str, Any]:
        raise NotImplementedError

    def _check(self, values: dict[str, Any], *, old: dict[str, Any] | None) -> None:
        raise NotImplementedError

    def _write(self, row: Any, values: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _check_delete(self, values: dict[str, Any]) -> None:
        raise NotImplementedError

    def _view(self, values: dict[str, Any]) -> ViewT:
        raise NotImplementedError


class DialPlanConfigService(ConfigService[ViewT]):
    """A kind whose checks ask the dial plan (numbers, targets, loops)."""

    def __init__(self, plan: DialPlan, clock: Clock = utc_now):
        super().__init__(clock)
        self._plan = plan
