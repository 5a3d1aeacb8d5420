"""Inbound routes: /api/v1/inbound-routes. An outside call (from a trunk) to `did` goes to
`destination`, or to `closed_destination` when its time condition says closed."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ..callcenter.timeconditions import parse_time_condition
from ..db.models import InboundRoute
from .configbase import REQUIRED, DialPlanConfigService, destination_text
from .dialplan import route_edges
from .errors import Conflict, ValidationError

ANY_DID = "*"
DID_PATTERN = re.compile(r"\+?[0-9]{1,32}")


@dataclass(frozen=True)
class InboundRouteView:
    id: int
    did: str  # the called number, or "*" for any number no other route has
    destination: str
    # {"hours": [{"days", "from", "to"}], "holidays": [...], "timezone"} or None (always open)
    time_condition: dict[str, Any] | None
    closed_destination: str | None  # None = hang up when closed


def _did(value: Any) -> str:
    if not isinstance(value, str) or not (value == ANY_DID or DID_PATTERN.fullmatch(value)):
        raise ValidationError(
            "did: expected the called number (digits, optional leading +) or * for any",
            field="did",
        )
    return value


def _time_condition(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        return parse_time_condition(value, "time_condition").as_dict()
    except ValueError as exc:  # TimeConditionError names the faulty part of the object
        raise ValidationError(str(exc), field="time_condition") from None


class InboundRouteService(DialPlanConfigService[InboundRouteView]):
    kind = "inbound_route"
    model = InboundRoute
    key_field = "id"
    defaults = {
        "did": REQUIRED,
        "destination": REQUIRED,
        "time_condition": None,
        "closed_destination": None,
    }

    def route_for(self, did: str) -> InboundRouteView | None:
        """The route an outside call to `did` takes: its own, else the "*" route, else None."""
        row = InboundRoute.get_or_none(InboundRoute.did == did) or InboundRoute.get_or_none(
            InboundRoute.did == ANY_DID
        )
        return self._view(self._values(row)) if row is not None else None

    def _query(self):
        return InboundRoute.select().order_by(InboundRoute.did)

    def _find(self, key: str | int) -> InboundRoute | None:
        if isinstance(key, str):
            if not key.isascii() or not key.isdigit() or len(key) > 18:
                return None
            key = int(key)
        return InboundRoute.get_or_none(InboundRoute.id == key)

    def _values(self, row: InboundRoute) -> dict[str, Any]:
        return {
            "id": row.id,
            "did": row.did,
            "destination": row.destination,
            "time_condition": json.loads(row.time_condition) if row.time_condition else None,
            "closed_destination": row.closed_destination,
        }

    def _clean(self, values: dict[str, Any], *, old: dict[str, Any] | None) -> dict[str, Any]:
        clean = {
            "did": _did(values["did"]),
            "destination": destination_text("destination", values["destination"]),
            "time_condition": _time_condition(values["time_condition"]),
            "closed_destination": destination_text(
                "closed_destination", values["closed_destination"], optional=True
            ),
        }
        if old is not None:
            clean["id"] = old["id"]
        return clean

    def _check(self, values: dict[str, Any], *, old: dict[str, Any] | None) -> None:
        did = values["did"]
        if old is None or old["did"] != did:
            if InboundRoute.select().where(InboundRoute.did == did).exists():
                raise Conflict(f"did: a route for {did} exists", field="did")
        edges = route_edges(did, values["destination"], values["closed_destination"])
        replacing = [("route", old["did"])] if old is not None else []
        self._plan.check_edges(edges, replacing=replacing)

    def _write(self, row: InboundRoute | None, values: dict[str, Any]) -> InboundRoute:
        columns = {
            "did": values["did"],
            "destination": values["destination"],
            "time_condition": json.dumps(values["time_condition"])
            if values["time_condition"] is not None
            else None,
            "closed_destination": values["closed_destination"],
        }
        return self._store(row, columns)

    def _check_delete(self, values: dict[str, Any]) -> None:
        """Nothing points at a route: it is where outside calls come in."""

    def _view(self, values: dict[str, Any]) -> InboundRouteView:
        return InboundRouteView(**values)
