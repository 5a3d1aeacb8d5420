"""One caller in one IVR menu tree (自动语音导航): prompts and digits in, actions out.

`IvrSession(menus, start, known_numbers)` walks a caller through `IvrMenu`s: `start(now)` and
then `on_digits(result, now)` with each `CollectResult` the runtime collected, each returning
the list of actions to carry out in order. The session never sleeps or plays anything itself.

Actions (shared with survey.py):

- `Play(prompts, interruptible)`: play the prompt ids in order.
- `Collect(max_digits, first_timeout, inter_timeout, terminator)`: collect digits; the result
  goes back in through `on_digits`. `Collect.collector()` builds the media engine's
  `DigitCollector` with these values.
- `Transfer(destination, reason)`: leave the IVR for a `Destination` (the session is over).
- `Hangup(reason)`: end the call (the session is over).

Contract with the runtime (pbxd/call):

- An interruptible `Play` followed by a `Collect` means "play X, interruptible, then collect
  up to N digits with first timeout T and inter-digit timeout I": a digit pressed while X
  plays stops the playback at once and is the first digit of that collection; the first-digit
  timeout T starts when X ends (played out or interrupted), not when it starts. A
  non-interruptible `Play` (goodbye, "invalid choice" before a transfer) plays to its end.
- Prompts are ids, never paths: `welcome`, `ivr-invalid`... The runtime resolves an id to an
  uploaded prompt, else the system prompt of that id (the default ids used here are listed in
  `DEFAULT_PROMPTS` for the prompt catalog), else silence with a log line: a missing file is
  skipped, never dead air (the `Collect` that follows still runs and times out as usual).
- After `Transfer` or `Hangup` the session is done; `on_digits` then raises `IvrStateError`.
  If the caller hangs up meanwhile, call `on_hangup(now)`.

Digits: a menu without dial-by-extension collects one key (0-9, * and # are all keys). With
dial-by-extension it collects up to the longest known number, `#` ending early: a single key
the menu maps (followed by the inter-digit timeout or `#`) is that key, anything longer is a
number looked up in `known_numbers`; `#` pressed alone is the `#` key. Unknown numbers and
unmapped keys are invalid; no key within the timeout is a timeout. Each invalid entry or
timeout plays the invalid/timeout prompt and the menu again, up to `retries` times; the next
one goes to the menu's invalid/timeout destination (default: the goodbye prompt, then hang up).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal

from pbxd.media.dtmf import CollectReason, CollectResult, DigitCollector

from .destinations import HANGUP, Destination, DestinationError, Edge, parse_destination

# Default prompt ids: the prompt catalog (pbxd/prompts/catalog.toml) must provide them.
PROMPT_INVALID = "ivr-invalid"  # "Sorry, that is not a valid choice."
PROMPT_TIMEOUT = "ivr-timeout"  # "We did not receive your choice."
PROMPT_GOODBYE = "goodbye"  # "Thank you for calling. Goodbye."
DEFAULT_PROMPTS = (PROMPT_INVALID, PROMPT_TIMEOUT, PROMPT_GOODBYE)

KEYS = "0123456789*#"
REPEAT: Final = "repeat"  # key target: play this menu again
BACK: Final = "back"  # key target: the menu the caller came from (the same menu at the top)
KeyTarget = Destination | Literal["repeat", "back"]

MAX_EXTENSION_DIGITS = 6  # dial plan: extensions have 2-6 digits
TIMEOUT_RANGE = (1.0, 60.0)  # seconds to wait for the first key after the menu prompt
DIGIT_TIMEOUT_RANGE = (1.0, 20.0)  # seconds between the digits of a number
RETRIES_RANGE = (0, 9)

_PROMPT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class IvrError(Exception):
    """Base of the IVR errors."""


class IvrConfigError(IvrError, ValueError):
    """An IVR configuration that cannot be used; `field` names the culprit (API: 400)."""

    status = 400

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class IvrStateError(IvrError):
    """An event the session cannot take in its state (a bug in the runtime)."""


def check_prompt_id(value: Any, field: str) -> str:
    """A prompt id (letters, digits, '-', '_', '.'), never a path; IvrConfigError otherwise."""
    if not isinstance(value, str) or not _PROMPT_ID.fullmatch(value) or ".." in value:
        raise IvrConfigError(
            field, f"a prompt id (letters, digits, '-', '_', '.'; no path) is needed: {value!r}"
        )
    return value


# --------------------------------------------------------------------------------------------
# Actions


@dataclass(frozen=True)
class Play:
    """Play these prompt ids in order; a DTMF digit stops an interruptible play."""

    prompts: tuple[str, ...]
    interruptible: bool = True

    def __post_init__(self) -> None:
        if not self.prompts:
            raise ValueError("Play needs at least one prompt")
        for prompt in self.prompts:
            check_prompt_id(prompt, "prompt")


@dataclass(frozen=True)
class Collect:
    """Collect up to `max_digits`; first-digit and inter-digit timeouts in seconds."""

    max_digits: int
    first_timeout: float
    inter_timeout: float
    terminator: str | None = None  # ends the entry early, not part of the digits

    def __post_init__(self) -> None:
        if self.max_digits < 1 or self.first_timeout <= 0 or self.inter_timeout <= 0:
            raise ValueError(f"bad collection parameters: {self}")
        if self.terminator is not None and (
            len(self.terminator) != 1 or self.terminator not in KEYS
        ):
            raise ValueError(f"terminator must be one of {KEYS}: {self.terminator!r}")

    def collector(self) -> DigitCollector:
        """The media engine's collector for this action (not started)."""
        return DigitCollector(
            self.max_digits, self.first_timeout, self.inter_timeout, self.terminator
        )


@dataclass(frozen=True)
class Transfer:
    """Send the caller on to `destination`; `reason`: "key 1", "dialed 1001", "timeout"..."""

    destination: Destination
    reason: str = ""


@dataclass(frozen=True)
class Hangup:
    """End the call; `reason`: "key 9", "timeout", "invalid", "survey done"..."""

    reason: str


Action = Play | Collect | Transfer | Hangup


def goodbye_then_hangup(reason: str, lead: tuple[str, ...] = ()) -> list[Action]:
    """`lead` prompts (if any) and the goodbye prompt, played to the end, then hang up."""
    return [Play((*lead, PROMPT_GOODBYE), interruptible=False), Hangup(reason)]


# --------------------------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True)
class IvrMenu:
    """One IVR (one menu level). Validated when built: errors name the field."""

    name: str
    prompt: str  # the menu: "for sales press 1 ..."; played at every visit
    keys: Mapping[str, KeyTarget] = field(default_factory=dict)
    welcome_prompt: str | None = None  # played before `prompt` when the caller enters
    number: str | None = None  # dial-plan number (an extension can dial into the IVR)
    dial_extension: bool = False  # the caller may type a known number
    timeout: float = 5.0
    digit_timeout: float = 3.0
    retries: int = 2
    invalid_prompt: str = PROMPT_INVALID
    timeout_prompt: str = PROMPT_TIMEOUT
    timeout_destination: Destination = HANGUP
    invalid_destination: Destination = HANGUP

    def __post_init__(self) -> None:
        _check_name(self.name)
        check_prompt_id(self.prompt, "prompt")
        if self.welcome_prompt is not None:
            check_prompt_id(self.welcome_prompt, "welcome_prompt")
        check_prompt_id(self.invalid_prompt, "invalid_prompt")
        check_prompt_id(self.timeout_prompt, "timeout_prompt")
        if self.number is not None and not (
            isinstance(self.number, str)
            and self.number.isascii()
            and self.number.isdigit()
            and 2 <= len(self.number) <= MAX_EXTENSION_DIGITS
        ):
            raise IvrConfigError("number", f"2-6 digits: {self.number!r}")
        for key, target in self.keys.items():
            if not isinstance(key, str) or len(key) != 1 or key not in KEYS:
                raise IvrConfigError(f"keys.{key}", f"unknown key; keys are {' '.join(KEYS)}")
            if target not in (REPEAT, BACK) and not isinstance(target, Destination):
                raise IvrConfigError(f"keys.{key}", f"not a destination: {target!r}")
        _check_range("timeout", self.timeout, TIMEOUT_RANGE)
        _check_range("digit_timeout", self.digit_timeout, DIGIT_TIMEOUT_RANGE)
        if isinstance(self.retries, bool) or not isinstance(self.retries, int):
            raise IvrConfigError("retries", f"must be a whole number: {self.retries!r}")
        _check_range("retries", self.retries, RETRIES_RANGE)
        for name in ("timeout_destination", "invalid_destination"):
            if not isinstance(getattr(self, name), Destination):
                raise IvrConfigError(name, f"not a destination: {getattr(self, name)!r}")
        object.__setattr__(self, "keys", MappingProxyType(dict(sorted(self.keys.items()))))
        object.__setattr__(self, "timeout", float(self.timeout))
        object.__setattr__(self, "digit_timeout", float(self.digit_timeout))

    @property
    def node(self) -> tuple[str, str]:
        return ("ivr", self.name)


def _check_name(name: Any) -> None:
    try:
        parse_destination(f"ivr:{name}" if isinstance(name, str) else "")
    except DestinationError:
        raise IvrConfigError(
            "name", f"1-64 letters, digits, '-', '_', '.' (it is used as ivr:<name>): {name!r}"
        ) from None


def _check_range(name: str, value: Any, bounds: tuple[float, float]) -> None:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise IvrConfigError(name, f"must be a number from {low:g} to {high:g}: {value!r}")


_FIELDS = {
    "name", "number", "prompt", "welcome_prompt", "keys", "dial_extension", "timeout",
    "digit_timeout", "retries", "invalid_prompt", "timeout_prompt", "timeout_destination",
    "invalid_destination",
}  # fmt: skip


def parse_ivr(data: Mapping[str, Any]) -> IvrMenu:
    """The API's JSON for one IVR -> IvrMenu, or IvrConfigError naming the field.

    {"name": "main", "number": "500", "prompt": "main-menu", "welcome_prompt": "welcome",
     "keys": {"1": "queue:600", "2": "ivr:sales", "0": "extension:1001", "*": "repeat",
              "#": "back"},
     "dial_extension": true, "timeout": 5, "digit_timeout": 3, "retries": 2,
     "invalid_prompt": "ivr-invalid", "timeout_prompt": "ivr-timeout",
     "timeout_destination": "hangup", "invalid_destination": "queue:600"}

    Only name and prompt are required. A key's target is "repeat", "back" or a destination;
    "ivr:<name>" is a sub-menu.
    """
    if not isinstance(data, Mapping):
        raise IvrConfigError("ivr", "must be a JSON object")
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise IvrConfigError(unknown[0], "unknown field")
    for required in ("name", "prompt"):
        if required not in data:
            raise IvrConfigError(required, "missing")
    keys_data = data.get("keys", {})
    if not isinstance(keys_data, Mapping):
        raise IvrConfigError("keys", 'must be an object {"1": "queue:600", ...}')
    keys: dict[str, KeyTarget] = {}
    for key, text in keys_data.items():
        if not isinstance(key, str) or len(key) != 1 or key not in KEYS:
            raise IvrConfigError(f"keys.{key}", f"unknown key; keys are {' '.join(KEYS)}")
        keys[key] = _parse_key_target(text, f"keys.{key}")
    dial_extension = data.get("dial_extension", False)
    if not isinstance(dial_extension, bool):
        raise IvrConfigError("dial_extension", f"must be true or false: {dial_extension!r}")
    number = data.get("number")
    if number is not None and not isinstance(number, str):
        raise IvrConfigError("number", f"must be a string of 2-6 digits: {number!r}")
    optional = {
        name: data[name]
        for name in ("timeout", "digit_timeout", "retries", "welcome_prompt")
        if data.get(name) is not None
    }
    for name in ("invalid_prompt", "timeout_prompt"):
        if data.get(name) is not None:
            optional[name] = data[name]
    for name in ("timeout_destination", "invalid_destination"):
        if data.get(name) is not None:
            optional[name] = _parse_destination(data[name], name)
    return IvrMenu(
        name=data["name"],
        prompt=data["prompt"],
        keys=keys,
        number=number,
        dial_extension=dial_extension,
        **optional,
    )


def _parse_key_target(text: Any, field_name: str) -> KeyTarget:
    if text == REPEAT:
        return REPEAT
    if text == BACK:
        return BACK
    return _parse_destination(text, field_name)


def _parse_destination(text: Any, field_name: str) -> Destination:
    try:
        return parse_destination(text)
    except DestinationError as exc:
        raise IvrConfigError(field_name, str(exc)) from None


def ivr_edges(menu: IvrMenu) -> list[Edge]:
    """The menu's destinations as graph edges: keys are chosen by the caller, the timeout and
    invalid destinations are automatic (for `destinations.find_automatic_loop`).

    "repeat", "back" and dial-by-extension make no edges (the caller chooses them, and the
    numbers are not part of the configuration).
    """
    edges = [
        Edge(menu.node, target, chosen=True, why=f"key {key}")
        for key, target in menu.keys.items()
        if isinstance(target, Destination)
    ]
    edges.append(Edge(menu.node, menu.timeout_destination, why="timeout"))
    edges.append(Edge(menu.node, menu.invalid_destination, why="invalid key"))
    return edges


# --------------------------------------------------------------------------------------------
# The session


class IvrSession:
    """One caller walking a tree of IVR menus.

    `menus` maps IVR names to menus: an `ivr:<name>` destination found there is entered
    within the session (so "back" returns from it); one not found there is a `Transfer`.
    `known_numbers` are the numbers dial-by-extension accepts: a collection of extension
    numbers, or a mapping number -> Destination when the dial plan also reaches queues, ring
    groups... by number.
    """

    def __init__(
        self,
        menus: Mapping[str, IvrMenu],
        start: str,
        known_numbers: Mapping[str, Destination] | Collection[str] = (),
    ) -> None:
        if start not in menus:
            raise IvrConfigError("start", f"no IVR named {start!r}")
        self.menus = menus
        self.start_menu = start
        if isinstance(known_numbers, Mapping):
            self.numbers: dict[str, Destination] = dict(known_numbers)
        else:
            self.numbers = {n: Destination("extension", n) for n in known_numbers}
        longest = max((len(n) for n in self.numbers), default=MAX_EXTENSION_DIGITS)
        self.max_number_digits = max(2, longest)
        self.state: Literal["new", "collecting", "done"] = "new"
        self.menu = menus[start]
        self._parents: list[str] = []  # the menus the caller came through, for "back"
        self._failures = 0  # invalid entries and timeouts in the current menu
        self.visited: list[str] = []  # menu names in the order entered (for the CDR)
        self.outcome: Transfer | Hangup | None = None
        self.started_at: float | None = None

    @property
    def done(self) -> bool:
        return self.state == "done"

    def start(self, now: float) -> list[Action]:
        if self.state != "new":
            raise IvrStateError(f"IVR {self.menu.name}: start in state {self.state}")
        self.started_at = now
        return self._enter(self.start_menu)

    def on_digits(self, result: CollectResult, now: float) -> list[Action]:
        """The outcome of the last `Collect`."""
        if self.state != "collecting":
            raise IvrStateError(f"IVR {self.menu.name}: digits {result.digits!r} in {self.state}")
        menu = self.menu
        if result.reason == CollectReason.TIMEOUT_FIRST and not result.digits:
            return self._failure("timeout")
        entry = result.digits
        if not entry and result.reason == CollectReason.TERMINATOR:
            entry = "#"  # '#' alone is a key, not an empty number
        if len(entry) == 1 and entry in menu.keys:
            return self._choose(entry)
        if menu.dial_extension and entry in self.numbers:
            return self._go(self.numbers[entry], f"dialed {entry}")
        return self._failure("invalid")

    def on_hangup(self, now: float) -> list[Action]:
        """The caller hung up: the session ends, nothing more to do."""
        if self.state != "done":
            self.state = "done"
            self.outcome = Hangup("caller hung up")
        return []

    # -- transitions ----------------------------------------------------------------------------

    def _collect(self) -> Collect:
        menu = self.menu
        if menu.dial_extension:
            return Collect(self.max_number_digits, menu.timeout, menu.digit_timeout, "#")
        return Collect(1, menu.timeout, menu.digit_timeout, None)

    def _menu_actions(self, *prompts: str) -> list[Action]:
        self.state = "collecting"
        return [Play((*prompts, self.menu.prompt), interruptible=True), self._collect()]

    def _enter(self, name: str, lead: tuple[str, ...] = ()) -> list[Action]:
        """Enter menu `name` (its welcome, then its menu), keeping the way back."""
        current = self.menu.name
        if name in self._parents:  # an ancestor: going there is going back
            del self._parents[self._parents.index(name) :]
        elif self.visited and name != current:
            self._parents.append(current)
        self.menu = self.menus[name]
        self.visited.append(name)
        self._failures = 0
        welcome = (self.menu.welcome_prompt,) if self.menu.welcome_prompt else ()
        return self._menu_actions(*lead, *welcome)

    def _choose(self, key: str) -> list[Action]:
        target = self.menu.keys[key]
        if target == REPEAT or (target == BACK and not self._parents):
            return self._menu_actions()
        if target == BACK:
            parent = self._parents.pop()
            self.menu = self.menus[parent]
            self.visited.append(parent)
            self._failures = 0
            return self._menu_actions()  # no welcome again on the way back
        assert isinstance(target, Destination)
        return self._go(target, f"key {key}")

    def _failure(self, kind: Literal["invalid", "timeout"]) -> list[Action]:
        menu = self.menu
        prompt = menu.invalid_prompt if kind == "invalid" else menu.timeout_prompt
        self._failures += 1
        if self._failures <= menu.retries:
            return self._menu_actions(prompt)
        destination = menu.invalid_destination if kind == "invalid" else menu.timeout_destination
        return self._go(destination, kind, lead=(prompt,))

    def _go(
        self, destination: Destination, reason: str, lead: tuple[str, ...] = ()
    ) -> list[Action]:
        if destination.kind == "ivr" and destination.target in self.menus:
            return self._enter(destination.target, lead)
        if destination.kind == "hangup":
            self._finish(Hangup(reason))
            return goodbye_then_hangup(reason, lead)
        played: list[Action] = [Play(lead, interruptible=False)] if lead else []
        return played + self._finish(Transfer(destination, reason))

    def _finish(self, outcome: Transfer | Hangup) -> list[Action]:
        self.state = "done"
        self.outcome = outcome
        return [outcome]
