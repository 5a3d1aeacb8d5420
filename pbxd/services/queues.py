"""ACD queues: /api/v1/queues. Static members are listed here; dynamic ones log in
(services/agents.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..callcenter.strategies import DEFAULT_STRATEGY, STRATEGIES
from ..db.models import Queue, QueueMember
from .clock import Clock, utc_now
from .configbase import (
    PROMPT_MAX_LEN,
    REQUIRED,
    DialPlanConfigService,
    bounded_int,
    destination_text,
    label_text,
    optional_text,
    require_bool,
    require_choice,
    require_number,
)
from .dialplan import DialPlan, queue_edges
from .errors import ValidationError
from .prompts import QUEUE_PROMPT_FIELDS, PromptExists, require_prompts

RECORDING_POLICIES = ("none", "all", "inbound", "outbound")
PENALTY_MAX = 100
_MEMBER_FIELDS = {"extension", "penalty"}


@dataclass(frozen=True)
class QueueMemberView:
    extension: str
    penalty: int


@dataclass(frozen=True)
class QueueView:
    number: str
    name: str
    strategy: str
    members: tuple[QueueMemberView, ...]  # static members, in the order given
    timeout: int  # s an agent rings
    retry: int  # s between two rounds of ringing
    wrapup: int  # s after a call before the agent rings again
    max_wait: int  # s, 0 = no limit
    max_length: int  # waiting callers, 0 = no limit
    overflow: str | None  # destination after max_wait / when full / empty; None = hang up
    join_empty: bool
    leave_when_empty: bool
    welcome_prompt: str | None
    music: str | None
    announce_position: bool
    announce_wait: bool
    periodic_prompt: str | None
    periodic_interval: int  # s
    announce_agent_id: bool
    recording: str  # none | all | inbound | outbound
    voicemail: bool
    survey: bool


def _members(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ValidationError(
            'members: expected an array of {"extension": "1001", "penalty": 0}', field="members"
        )
    members = []
    seen = set()
    for item in value:
        if isinstance(item, str):  # shorthand: "1001"
            item = {"extension": item}
        if not isinstance(item, dict) or "extension" not in item or set(item) - _MEMBER_FIELDS:
            raise ValidationError(
                'members: each member is {"extension": "1001", "penalty": 0}', field="members"
            )
        extension = require_number("members", item["extension"])
        if extension in seen:
            raise ValidationError(f"members: {extension} is listed twice", field="members")
        seen.add(extension)
        penalty = bounded_int("members", item.get("penalty", 0), 0, PENALTY_MAX)
        members.append({"extension": extension, "penalty": penalty})
    return members


class QueueService(DialPlanConfigService[QueueView]):
    kind = "queue"
    model = Queue
    key_field = "number"
    fixed = frozenset({"number"})
    defaults = {
        "number": REQUIRED,
        "name": "",
        "strategy": DEFAULT_STRATEGY,
        "members": [],
        "timeout": 15,
        "retry": 5,
        "wrapup": 10,
        "max_wait": 300,
        "max_length": 20,
        "overflow": None,
        "join_empty": True,
        "leave_when_empty": False,
        "welcome_prompt": None,
        "music": None,
        "announce_position": False,
        "announce_wait": False,
        "periodic_prompt": None,
        "periodic_interval": 60,
        "announce_agent_id": False,
        "recording": "none",
        "voicemail": False,
        "survey": False,
    }

    def __init__(
        self, plan: DialPlan, clock: Clock = utc_now, *, prompt_exists: PromptExists | None = None
    ):
        super().__init__(plan, clock)
        # Refuses prompt names that are neither system prompts nor uploads; None: no check.
        self._prompt_exists = prompt_exists

    def _values(self, row: Queue) -> dict[str, Any]:
        values = {name: getattr(row, name) for name in self.defaults if name != "members"}
        members = QueueMember.select().where(QueueMember.queue == row)
        members = members.order_by(QueueMember.position)
        values["members"] = [{"extension": m.extension, "penalty": m.penalty} for m in members]
        return values

    def _clean(self, values: dict[str, Any], *, old: dict[str, Any] | None) -> dict[str, Any]:
        clean = {
            "number": require_number("number", values["number"]),
            "name": label_text("name", values["name"]),
            "strategy": require_choice("strategy", values["strategy"], STRATEGIES),
            "members": _members(values["members"]),
            "timeout": bounded_int("timeout", values["timeout"], 1, 600),
            "retry": bounded_int("retry", values["retry"], 0, 600),
            "wrapup": bounded_int("wrapup", values["wrapup"], 0, 3600),
            "max_wait": bounded_int("max_wait", values["max_wait"], 0, 86400),
            "max_length": bounded_int("max_length", values["max_length"], 0, 1000),
            "overflow": destination_text("overflow", values["overflow"], optional=True),
            "periodic_interval": bounded_int(
                "periodic_interval", values["periodic_interval"], 10, 3600
            ),
            "recording": require_choice("recording", values["recording"], RECORDING_POLICIES),
        }
        for name in ("welcome_prompt", "music", "periodic_prompt"):
            clean[name] = optional_text(name, values[name], max_len=PROMPT_MAX_LEN)
        for name in (
            "join_empty",
            "leave_when_empty",
            "announce_position",
            "announce_wait",
            "announce_agent_id",
            "voicemail",
            "survey",
        ):
            clean[name] = require_bool(name, values[name])
        return clean

    def _check(self, values: dict[str, Any], *, old: dict[str, Any] | None) -> None:
        number = values["number"]
        require_prompts(self._prompt_exists, values, old, QUEUE_PROMPT_FIELDS)
        if old is None:
            self._plan.require_number_free(number)
        self._plan.require_extensions("members", [m["extension"] for m in values["members"]])
        node = ("queue", number)
        self._plan.check_edges(
            queue_edges(number, values["overflow"]), replacing=[node], adding=[node]
        )

    def _write(self, row: Queue | None, values: dict[str, Any]) -> Queue:
        columns = {name: value for name, value in values.items() if name != "members"}
        stored = self._store(row, columns)
        if row is not None:
            QueueMember.delete().where(QueueMember.queue == row).execute()
        for position, member in enumerate(values["members"]):
            QueueMember.create(queue=stored, position=position, **member)
        return stored

    def _check_delete(self, values: dict[str, Any]) -> None:
        self._plan.require_unused(("queue", values["number"]))

    def _view(self, values: dict[str, Any]) -> QueueView:
        members = tuple(QueueMemberView(**member) for member in values["members"])
        return QueueView(**{**values, "members": members})
