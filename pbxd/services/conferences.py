"""Conference rooms: /api/v1/conferences."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..db.models import Conference
from .configbase import REQUIRED, DialPlanConfigService, bounded_int, label_text, require_number
from .errors import ValidationError

PIN_PATTERN = re.compile(r"[0-9]{1,12}")
MAX_MEMBERS = 32  # the media engine mixes every room member on one core


@dataclass(frozen=True)
class ConferenceView:
    number: str
    name: str
    pin: str | None  # digits a member enters; None = open room
    moderator_pin: str | None  # digits that make the caller the moderator
    max_members: int


def _pin(field: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not PIN_PATTERN.fullmatch(value):
        raise ValidationError(f"{field}: expected 1 to 12 digits, or null", field=field)
    return value


class ConferenceService(DialPlanConfigService[ConferenceView]):
    kind = "conference"
    model = Conference
    key_field = "number"
    fixed = frozenset({"number"})
    defaults = {
        "number": REQUIRED,
        "name": "",
        "pin": None,
        "moderator_pin": None,
        "max_members": 10,
    }

    def _clean(self, values: dict[str, Any], *, old: dict[str, Any] | None) -> dict[str, Any]:
        clean = {
            "number": require_number("number", values["number"]),
            "name": label_text("name", values["name"]),
            "pin": _pin("pin", values["pin"]),
            "moderator_pin": _pin("moderator_pin", values["moderator_pin"]),
            "max_members": bounded_int("max_members", values["max_members"], 2, MAX_MEMBERS),
        }
        if clean["moderator_pin"] is not None and clean["moderator_pin"] == clean["pin"]:
            raise ValidationError(
                "moderator_pin: must differ from pin, or every member is a moderator",
                field="moderator_pin",
            )
        return clean

    def _check(self, values: dict[str, Any], *, old: dict[str, Any] | None) -> None:
        if old is None:
            self._plan.require_number_free(values["number"])

    def _write(self, row: Conference | None, values: dict[str, Any]) -> Conference:
        return self._store(row, values)

    def _check_delete(self, values: dict[str, Any]) -> None:
        self._plan.require_unused(("conference", values["number"]))

    def _view(self, values: dict[str, Any]) -> ConferenceView:
        return ConferenceView(**values)
