"""IVRs (voice menus): /api/v1/ivrs. The menu a caller hears and where each key sends him;
pbxd/callcenter/ivr.py runs one on a call."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..db.models import Ivr
from .clock import Clock, utc_now
from .configbase import (
    PROMPT_MAX_LEN,
    REQUIRED,
    DialPlanConfigService,
    bounded_int,
    destination_text,
    optional_text,
    require_bool,
    require_name,
    require_number,
)
from .dialplan import REPEAT, DialPlan, ivr_edges
from .errors import ValidationError
from .prompts import IVR_PROMPT_FIELDS, PromptExists, require_prompts

KEYS = "0123456789*#"


@dataclass(frozen=True)
class IvrView:
    name: str
    number: str | None  # dialled from an extension; None = reachable by destination only
    prompt: str
    keys: dict[str, str]  # key -> destination, or "repeat"; in KEYS order
    dial_extension: bool  # the caller may dial an extension number directly
    timeout: int  # s to wait for a key after the prompt
    retries: int  # replays after a timeout or an invalid key
    invalid_prompt: str | None
    timeout_destination: str | None  # after the last retry; None = hang up
    invalid_destination: str | None


def _keys(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValidationError(
            'keys: expected an object like {"1": "queue:600", "*": "repeat"}', field="keys"
        )
    keys = {}
    for key in sorted(value, key=lambda k: KEYS.find(k) if k in KEYS else -1):
        if len(key) != 1 or key not in KEYS:
            raise ValidationError(f"keys: {key!r} is not a key; one of {KEYS}", field="keys")
        target = value[key]
        # "repeat" plays the menu again; anything else is a destination, kept canonical.
        keys[key] = REPEAT if target == REPEAT else str(destination_text("keys", target))
    return keys


class IvrService(DialPlanConfigService[IvrView]):
    kind = "ivr"
    model = Ivr
    key_field = "name"
    fixed = frozenset({"name"})
    defaults = {
        "name": REQUIRED,
        "number": None,
        "prompt": REQUIRED,
        "keys": {},
        "dial_extension": False,
        "timeout": 5,
        "retries": 2,
        "invalid_prompt": None,
        "timeout_destination": None,
        "invalid_destination": None,
    }

    def __init__(
        self, plan: DialPlan, clock: Clock = utc_now, *, prompt_exists: PromptExists | None = None
    ):
        super().__init__(plan, clock)
        # Refuses prompt names that are neither system prompts nor uploads; None: no check.
        self._prompt_exists = prompt_exists

    def _values(self, row: Ivr) -> dict[str, Any]:
        values = super()._values(row)
        values["keys"] = json.loads(row.keys)
        return values

    def _clean(self, values: dict[str, Any], *, old: dict[str, Any] | None) -> dict[str, Any]:
        number = values["number"]
        return {
            "name": require_name("name", values["name"]),
            "number": None if number is None else require_number("number", number),
            "prompt": _prompt(values["prompt"]),
            "keys": _keys(values["keys"]),
            "dial_extension": require_bool("dial_extension", values["dial_extension"]),
            "timeout": bounded_int("timeout", values["timeout"], 1, 60),
            "retries": bounded_int("retries", values["retries"], 0, 10),
            "invalid_prompt": optional_text(
                "invalid_prompt", values["invalid_prompt"], max_len=PROMPT_MAX_LEN
            ),
            "timeout_destination": destination_text(
                "timeout_destination", values["timeout_destination"], optional=True
            ),
            "invalid_destination": destination_text(
                "invalid_destination", values["invalid_destination"], optional=True
            ),
        }

    def _check(self, values: dict[str, Any], *, old: dict[str, Any] | None) -> None:
        name, number = values["name"], values["number"]
        require_prompts(self._prompt_exists, values, old, IVR_PROMPT_FIELDS)
        if number is not None and (old is None or old["number"] != number):
            self._plan.require_number_free(number)
        node = ("ivr", name)
        edges = ivr_edges(
            name, values["keys"], values["timeout_destination"], values["invalid_destination"]
        )
        self._plan.check_edges(edges, replacing=[node], adding=[node])

    def _write(self, row: Ivr | None, values: dict[str, Any]) -> Ivr:
        columns = {**values, "keys": json.dumps(values["keys"])}
        return self._store(row, columns)

    def _check_delete(self, values: dict[str, Any]) -> None:
        self._plan.require_unused(("ivr", values["name"]))

    def _view(self, values: dict[str, Any]) -> IvrView:
        return IvrView(**values)


def _prompt(value: Any) -> str:
    prompt = optional_text("prompt", value, max_len=PROMPT_MAX_LEN)
    if prompt is None:
        raise ValidationError("prompt: required (the name of the menu's prompt)", field="prompt")
    return prompt
