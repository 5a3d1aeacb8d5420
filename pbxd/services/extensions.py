"""Extensions: the internal numbers phones register as, with their SIP digest secrets."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from peewee import IntegrityError

from ..db import db
from ..db.models import Extension
from .clock import Clock, utc_now
from .errors import Conflict, NotFound, ValidationError
from .validation import require_text

log = logging.getLogger(__name__)

NUMBER_PATTERN = re.compile(r"[0-9]{2,6}")
NAME_MAX_LEN = 64
SECRET_MIN_LEN = 8
SECRET_MAX_LEN = 128
# Shorter all-digit secrets fall to a dictionary or brute-force REGISTER attack in hours,
# the usual door to toll fraud.
DIGITS_ONLY_MIN_LEN = 10
# A mailbox PIN is typed on a keypad; the lockout after wrong tries (pbxd/call/apps/voicemail.py)
# is what protects short ones.
PIN_PATTERN = re.compile(r"[0-9]{4,12}")

# callback(number, deleted): called after each committed change.
ExtensionListener = Callable[[str, bool], None]


class ExtensionGuard(Protocol):
    """The rest of the dial plan (services/dialplan.py): each check raises a ServiceError."""

    def check_number_free(self, number: str) -> None:
        """Another kind of object (queue, ring group ...) has this number: Conflict."""

    def check_extension_unused(self, number: str) -> None:
        """The extension is a member or a destination somewhere: InUse (409)."""


@dataclass(frozen=True)
class ExtensionView:
    """An extension as shown outside the service; the secret is deliberately absent."""

    number: str
    name: str
    recording: str = "none"  # which of its calls are recorded: none | all | inbound | outbound
    voicemail: bool = False  # a direct call nobody answers goes to its mailbox
    voicemail_pin_set: bool = False  # the mailbox opens from any phone (*98); the PIN stays in


RECORDING_POLICIES = ("none", "all", "inbound", "outbound")


def validate_recording(value: Any) -> str:
    if value not in RECORDING_POLICIES:
        raise ValidationError(
            f"recording: one of {', '.join(RECORDING_POLICIES)}", field="recording"
        )
    return value


def validate_voicemail(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError("voicemail: expected true or false", field="voicemail")
    return value


def validate_voicemail_pin(value: Any) -> str | None:
    """4-12 digits; "" removes the PIN (the mailbox then opens only from its own phones)."""
    if value == "":
        return None
    if not isinstance(value, str) or not PIN_PATTERN.fullmatch(value):
        raise ValidationError("voicemail_pin: expected 4 to 12 digits", field="voicemail_pin")
    return value


def _view(row: Extension) -> ExtensionView:
    return ExtensionView(
        row.number, row.name, row.recording, bool(row.voicemail), row.voicemail_pin is not None
    )


def validate_number(value: Any) -> str:
    if not isinstance(value, str) or not NUMBER_PATTERN.fullmatch(value):
        raise ValidationError("number: expected 2 to 6 digits", field="number")
    return value


def validate_name(value: Any) -> str:
    name = require_text("name", value, max_len=NAME_MAX_LEN)
    if not name.strip():
        raise ValidationError("name: must not be blank", field="name")
    return name


def validate_secret(value: Any, number: str) -> str:
    """Reject secrets that invite toll fraud. The message never quotes the secret."""
    secret = require_text("secret", value, min_len=SECRET_MIN_LEN, max_len=SECRET_MAX_LEN)
    if secret == number:
        raise ValidationError("secret: must differ from the extension number", field="secret")
    if secret.isascii() and secret.isdigit() and len(secret) < DIGITS_ONLY_MIN_LEN:
        raise ValidationError(
            f"secret: an all-digit secret needs at least {DIGITS_ONLY_MIN_LEN} digits",
            field="secret",
        )
    return secret


class ExtensionService:
    def __init__(self, clock: Clock = utc_now, *, guard: ExtensionGuard | None = None):
        self._clock = clock
        self._guard = guard
        self._listeners: list[ExtensionListener] = []
        self._secrets: dict[str, str] | None = None

    def create(
        self,
        number: str,
        name: str,
        secret: str,
        recording: str = "none",
        voicemail: bool = False,
        voicemail_pin: str | None = None,
    ) -> ExtensionView:
        number = validate_number(number)
        name = validate_name(name)
        secret = validate_secret(secret, number)
        recording = validate_recording(recording)
        voicemail = validate_voicemail(voicemail)
        if voicemail_pin is not None:
            voicemail_pin = validate_voicemail_pin(voicemail_pin)
        now = self._clock()
        try:
            with db.atomic():
                if Extension.select().where(Extension.number == number).exists():
                    raise Conflict(f"extension {number} exists", field="number")
                if self._guard is not None:
                    self._guard.check_number_free(number)
                Extension.create(
                    number=number,
                    name=name,
                    secret=secret,
                    recording=recording,
                    voicemail=voicemail,
                    voicemail_pin=voicemail_pin,
                    created_at=now,
                    updated_at=now,
                )
                db.after_commit(lambda: self._notify(number, deleted=False))
        except IntegrityError as exc:  # a concurrent writer won the race
            raise Conflict(f"extension {number} exists", field="number") from exc
        log.info("extension %s created", number)
        return ExtensionView(number, name, recording, voicemail, voicemail_pin is not None)

    def list(self) -> list[ExtensionView]:
        query = Extension.select(
            Extension.number,
            Extension.name,
            Extension.recording,
            Extension.voicemail,
            Extension.voicemail_pin,
        ).order_by(Extension.number)
        return [_view(row) for row in query]

    def get(self, number: str) -> ExtensionView:
        return _view(self._row(number))

    def recording_policy(self, number: str) -> str:
        """Asked when a call is answered: "none" for numbers that are no extension."""
        row = Extension.get_or_none(Extension.number == number)
        return row.recording if row is not None else "none"

    def has_voicemail(self, number: str) -> bool:
        """Asked when a direct call to `number` goes unanswered."""
        row = Extension.get_or_none(Extension.number == number)
        return bool(row is not None and row.voicemail)

    def voicemail_pin(self, number: str) -> str | None:
        """The PIN of `number`'s mailbox; None when it has none (or there is no such box)."""
        row = Extension.get_or_none(Extension.number == number) if isinstance(number, str) else None
        return row.voicemail_pin if row is not None and row.voicemail else None

    def update(
        self,
        number: str,
        name: str | None = None,
        secret: str | None = None,
        recording: str | None = None,
        voicemail: bool | None = None,
        voicemail_pin: str | None = None,
    ) -> ExtensionView:
        """Change the name, the secret, the recording policy, voicemail and/or its PIN ("" to
        remove it); omitted (None) values stay as they are."""
        given = (name, secret, recording, voicemail, voicemail_pin)
        if all(value is None for value in given):
            raise ValidationError("give a new name, secret, recording, voicemail or voicemail_pin")
        changes: dict[str, Any] = {}
        if voicemail_pin is not None:
            changes["voicemail_pin"] = validate_voicemail_pin(voicemail_pin)
        if name is not None:
            changes["name"] = validate_name(name)
        if recording is not None:
            changes["recording"] = validate_recording(recording)
        if voicemail is not None:
            changes["voicemail"] = validate_voicemail(voicemail)
        with db.atomic():
            row = self._row(number)
            if secret is not None:
                changes["secret"] = validate_secret(secret, row.number)
            changes["updated_at"] = self._clock()
            Extension.update(changes).where(Extension.id == row.id).execute()
            db.after_commit(lambda: self._notify(row.number, deleted=False))
        log.info("extension %s updated (%s)", row.number, ", ".join(sorted(changes)))
        return ExtensionView(
            row.number,
            changes.get("name", row.name),
            changes.get("recording", row.recording),
            changes.get("voicemail", bool(row.voicemail)),
            changes.get("voicemail_pin", row.voicemail_pin) is not None,
        )

    def delete(self, number: str) -> None:
        with db.atomic():
            row = self._row(number)
            if self._guard is not None:
                self._guard.check_extension_unused(row.number)
            row.delete_instance()
            db.after_commit(lambda: self._notify(row.number, deleted=True))
        log.info("extension %s deleted", row.number)

    def secret_for(self, number: str) -> str | None:
        """The SIP digest secret of `number`, None when there is no such extension.

        Asked on every REGISTER and INVITE: served from memory, reloaded after each change.
        """
        secrets = self._secrets
        if secrets is None:
            secrets = self._secrets = dict(
                Extension.select(Extension.number, Extension.secret).tuples()
            )
        return secrets.get(number)

    def announce_replaced(self, before: set[str]) -> None:
        """The table was replaced (a restore): listeners hear of every number gone or there."""
        now = {view.number for view in self.list()}
        self._secrets = None
        for number in sorted(before - now):
            self._notify(number, deleted=True)
        for number in sorted(now):
            self._notify(number, deleted=False)

    def subscribe(self, callback: ExtensionListener) -> Callable[[], None]:
        """Call `callback(number, deleted)` after each committed change; returns unsubscribe."""
        self._listeners.append(callback)

        def unsubscribe() -> None:
            if callback in self._listeners:
                self._listeners.remove(callback)

        return unsubscribe

    def _row(self, number: str) -> Extension:
        row = Extension.get_or_none(Extension.number == number) if isinstance(number, str) else None
        if row is None:
            raise NotFound(f"extension {number} not found")
        return row

    def _notify(self, number: str, *, deleted: bool) -> None:
        self._secrets = None
        # The change is committed: a failing listener must not turn it into an API error.
        for listener in list(self._listeners):
            try:
                listener(number, deleted)
            except Exception:
                log.exception("extension listener %r failed for %s", listener, number)
