"""Ring groups: /api/v1/ring-groups. Ring the members at once (ringall) or one after the
other (order) for `timeout` seconds, then send the caller to `failover`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..db.models import RingGroup, RingGroupMember
from .configbase import (
    REQUIRED,
    DialPlanConfigService,
    bounded_int,
    destination_text,
    extension_list,
    label_text,
    require_choice,
    require_number,
)
from .dialplan import ring_group_edges

STRATEGIES = ("ringall", "order")


@dataclass(frozen=True)
class RingGroupView:
    number: str
    name: str
    strategy: str  # ringall | order
    members: tuple[str, ...]  # extension numbers, in ringing order
    timeout: int  # s: the whole group (ringall) or each member (order)
    failover: str | None  # destination when nobody answers; None = hang up


class RingGroupService(DialPlanConfigService[RingGroupView]):
    kind = "ring_group"
    model = RingGroup
    key_field = "number"
    fixed = frozenset({"number"})
    defaults = {
        "number": REQUIRED,
        "name": "",
        "strategy": "ringall",
        "members": [],
        "timeout": 20,
        "failover": None,
    }

    def _values(self, row: RingGroup) -> dict[str, Any]:
        members = (
            RingGroupMember.select(RingGroupMember.extension)
            .where(RingGroupMember.ring_group == row)
            .order_by(RingGroupMember.position)
        )
        return {
            "number": row.number,
            "name": row.name,
            "strategy": row.strategy,
            "members": [member.extension for member in members],
            "timeout": row.timeout,
            "failover": row.failover,
        }

    def _clean(self, values: dict[str, Any], *, old: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "number": require_number("number", values["number"]),
            "name": label_text("name", values["name"]),
            "strategy": require_choice("strategy", values["strategy"], STRATEGIES),
            "members": extension_list("members", values["members"]),
            "timeout": bounded_int("timeout", values["timeout"], 1, 600),
            "failover": destination_text("failover", values["failover"], optional=True),
        }

    def _check(self, values: dict[str, Any], *, old: dict[str, Any] | None) -> None:
        number = values["number"]
        if old is None:
            self._plan.require_number_free(number)
        self._plan.require_extensions("members", values["members"])
        node = ("ring_group", number)
        self._plan.check_edges(
            ring_group_edges(number, values["failover"]), replacing=[node], adding=[node]
        )

    def _write(self, row: RingGroup | None, values: dict[str, Any]) -> RingGroup:
        columns = {name: value for name, value in values.items() if name != "members"}
        stored = self._store(row, columns)
        if row is not None:
            RingGroupMember.delete().where(RingGroupMember.ring_group == row).execute()
        for position, extension in enumerate(values["members"]):
            RingGroupMember.create(ring_group=stored, extension=extension, position=position)
        return stored

    def _check_delete(self, values: dict[str, Any]) -> None:
        self._plan.require_unused(("ring_group", values["number"]))

    def _view(self, values: dict[str, Any]) -> RingGroupView:
        return RingGroupView(**{**values, "members": tuple(values["members"])})
