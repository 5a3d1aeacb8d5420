"""Voicemail: mailbox files on disk, and the pure menu a mailbox owner goes through.

Two halves that share nothing but names:

`VoicemailStore` (file I/O, used by the call runtime and the API; not pure)
    <data-dir>/voicemail/<box>/greeting.wav           optional personal greeting
    <data-dir>/voicemail/<box>/msg-<UTC time>-<n>.wav one message, written by
                                                      pbxd.media.recorder.Recorder (crash-safe:
                                                      `.part` until complete)
    The store hands out paths, message ids (the file stem) and durations. Which messages are
    new or old, who left them and MWI state live in the database index (another module): the
    store never decides "new".

`MailboxMenu` (pure core: no files, sockets or clocks)
    One owner checking one mailbox: PIN (3 tries, then goodbye), "you have N new messages",
    then a menu (1 play, 7 delete, 9 next, # end). It takes the messages from the index
    (`MessageInfo`: id and new/old) and returns actions for the runtime: Play (prompt ids),
    PlayMessage, Collect (digits with a timeout the runtime keeps), MarkRead, DeleteMessage,
    Hangup. The runtime answers each Collect with `collected(digits)` ("" = nothing before the
    timeout). The action classes are this module's own, kept small and alike to the IVR's.

`greeting_actions` is the caller's side: the mailbox greeting, a beep, record.
"""

from __future__ import annotations

import calendar
import hmac
import os
import re
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path

from pbxd.media.player import PromptError, load_prompt
from pbxd.media.prompts import say_digits, say_number, write_wav_atomic
from pbxd.media.recorder import (
    PART_SUFFIX,
    Recorder,
    RecorderError,
    RecordingWriter,
    RecoveredRecording,
    repair_directory,
)

from .ivr import Hangup, Play  # the same actions as the IVR's: the runtime plays them alike

GREETING_NAME = "greeting.wav"
MESSAGE_PREFIX = "msg-"
DEFAULT_MAX_PIN_TRIES = 3
DEFAULT_MAX_MENU_MISSES = 3
MAX_PIN_DIGITS = 12
DEFAULT_MAX_MESSAGE_SECONDS = 180.0

_BOX = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
_MESSAGE_ID = re.compile(r"msg-(\d{8})-(\d{6})-(\d{1,4})")


# -- errors -----------------------------------------------------------------------------------


class VoicemailError(Exception):
    """A mailbox or message request that cannot be served; `status` is the HTTP answer."""

    status = 400
    code = "voicemail_error"


class BadMailbox(VoicemailError):
    status = 400
    code = "bad_mailbox"


class MessageNotFound(VoicemailError):
    status = 404
    code = "message_not_found"


class IllegalMenuEvent(VoicemailError):
    """The runtime fed the menu an event its state does not take (a bug in the caller)."""

    status = 500
    code = "illegal_menu_event"

    def __init__(self, event: str, state: MenuState) -> None:
        super().__init__(f"voicemail menu: event {event!r} is not allowed in state {state.name}")
        self.event = event
        self.state = state


# -- the store (files) ------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredMessage:
    box: str
    message_id: str
    path: Path
    duration: float  # seconds, from the WAV header
    size: int  # bytes
    recorded_at: float  # seconds since the epoch (UTC, from the name; whole seconds)


class VoicemailStore:
    """Mailbox directories under `root` (<data-dir>/voicemail)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def box_dir(self, box: str) -> Path:
        if not isinstance(box, str) or not _BOX.fullmatch(box):
            raise BadMailbox(f"mailbox {box!r}: 1-32 letters, digits, '-' or '_'")
        return self.root / box

    def ensure_box(self, box: str) -> Path:
        directory = self.box_dir(box)
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    def boxes(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and _BOX.fullmatch(p.name))

    # -- greeting --

    def greeting_path(self, box: str) -> Path | None:
        """The box's own greeting, or None (the default prompts are played)."""
        path = self.box_dir(box) / GREETING_NAME
        return path if path.is_file() else None

    def set_greeting(self, box: str, src: str | os.PathLike[str]) -> Path:
        """Any readable WAV becomes the greeting (8 kHz mono PCM16, replaced atomically)."""
        try:
            pcm = load_prompt(src)
        except PromptError as exc:
            raise VoicemailError(f"greeting for {box}: {exc}") from exc
        dest = self.ensure_box(box) / GREETING_NAME
        write_wav_atomic(dest, pcm)
        return dest

    def delete_greeting(self, box: str) -> bool:
        try:
            (self.box_dir(box) / GREETING_NAME).unlink()
        except FileNotFoundError:
            return False
        return True

    # -- messages --

    def new_message_path(self, box: str, now: float) -> Path:
        """A free name for a message recorded at `now` (epoch seconds, named in UTC)."""
        directory = self.ensure_box(box)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
        for n in range(1, 10000):
            path = directory / f"{MESSAGE_PREFIX}{stamp}-{n}.wav"
            if not path.exists() and not path.with_name(path.name + PART_SUFFIX).exists():
                return path
        raise VoicemailError(f"mailbox {box}: no free message name at {stamp}")

    def start_recording(
        self,
        box: str,
        now: float,
        *,
        format: str = "wav-pcm16",  # noqa: A002 - the recorder's name for it
        writer: RecordingWriter | None = None,
        sync: bool = True,
    ) -> Recorder:
        """A mono Recorder writing a new message of `box` (see pbxd.media.recorder).

        The message exists under its final name only once the recorder is closed; the caller
        adds it to the index with `message_id(recorder.path)` and `wav_duration`.
        """
        for _attempt in range(3):
            path = self.new_message_path(box, now)
            try:
                return Recorder(path, format=format, channels=1, writer=writer, sync=sync)
            except RecorderError:  # another recorder took the name in between
                if not path.exists() and not path.with_name(path.name + PART_SUFFIX).exists():
                    raise
        raise VoicemailError(f"mailbox {box}: cannot start a recording")

    def messages(self, box: str) -> list[StoredMessage]:
        """The complete messages of `box`, oldest first (recordings still `.part` are not)."""
        directory = self.box_dir(box)
        if not directory.is_dir():
            return []
        found = []
        for path in sorted(directory.glob(f"{MESSAGE_PREFIX}*.wav"), key=_message_order):
            recorded_at = _recorded_at(path.stem)
            if recorded_at is None:
                continue
            try:
                size = path.stat().st_size
                duration = wav_duration(path)
            except (OSError, VoicemailError):
                continue  # vanished or unreadable: the index keeps its own record
            found.append(StoredMessage(box, path.stem, path, duration, size, recorded_at))
        return found

    def message_path(self, box: str, message_id: str) -> Path:
        if not isinstance(message_id, str) or not _MESSAGE_ID.fullmatch(message_id):
            raise MessageNotFound(f"mailbox {box}: no message {message_id!r}")
        path = self.box_dir(box) / f"{message_id}.wav"
        if not path.is_file():
            raise MessageNotFound(f"mailbox {box}: no message {message_id}")
        return path

    def delete_message(self, box: str, message_id: str) -> bool:
        try:
            self.message_path(box, message_id).unlink()
        except (MessageNotFound, FileNotFoundError):
            return False
        return True

    def repair(self) -> list[RecoveredRecording]:
        """Start-up: complete the messages a crash or power cut left as `.part` files."""
        if not self.root.is_dir():
            return []
        return repair_directory(self.root)


def message_id(path: str | os.PathLike[str]) -> str:
    """The id of a message file (its stem), as the index and the menu use it."""
    return Path(path).stem


def _recorded_at(stem: str) -> float | None:
    match = _MESSAGE_ID.fullmatch(stem)
    if not match:
        return None
    try:
        parsed = time.strptime(match.group(1) + match.group(2), "%Y%m%d%H%M%S")
    except ValueError:
        return None
    return float(calendar.timegm(parsed))


def _message_order(path: Path) -> tuple[str, int]:
    match = _MESSAGE_ID.fullmatch(path.stem)
    if not match:
        return (path.stem, 0)
    return (match.group(1) + match.group(2), int(match.group(3)))


def wav_duration(path: str | os.PathLike[str]) -> float:
    """Seconds of audio in a WAV file, from its header (data size / byte rate).

    Works for every format the recorder writes (PCM16, A-law, mu-law, GSM WAV49); a data size
    past the end of the file (a cut file) is clamped to what is there.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                raise VoicemailError(f"{path}: not a WAV file")
            file_size = os.fstat(f.fileno()).st_size
            byte_rate = None
            pos = 12
            while pos + 8 <= file_size:
                f.seek(pos)
                cid, size = struct.unpack("<4sI", f.read(8))
                if cid == b"fmt ":
                    fmt = f.read(16)
                    if len(fmt) < 16:
                        break
                    byte_rate = struct.unpack("<HHII", fmt[:12])[3]
                elif cid == b"data":
                    if not byte_rate:
                        break
                    available = file_size - (pos + 8)
                    return min(size, available) / byte_rate
                pos += 8 + size + (size & 1)
    except OSError as exc:
        raise VoicemailError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    raise VoicemailError(f"{path}: no fmt/data chunk")


# -- actions (what the runtime does) ----------------------------------------------------------


@dataclass(frozen=True)
class PlayFile:
    """Play one audio file (a mailbox greeting)."""

    path: Path
    interruptible: bool = True


@dataclass(frozen=True)
class PlayMessage:
    """Play a stored message (the runtime asks the store for its path)."""

    message_id: str


@dataclass(frozen=True)
class Collect:
    """Gather up to `max_digits` digits, ending early on a terminator or after `timeout` s
    without a digit; answer with `collected(digits)` ("" when nothing came)."""

    max_digits: int
    timeout: float
    terminators: str = "#"

    def __post_init__(self) -> None:
        if self.max_digits < 1 or not self.timeout > 0:
            raise ValueError("Collect needs max_digits >= 1 and a positive timeout")


@dataclass(frozen=True)
class Record:
    """Record the caller into a new message of `box`, after a beep."""

    box: str
    max_seconds: float
    beep: bool = True


@dataclass(frozen=True)
class MarkRead:
    """The index moves this message from new to old (and MWI is refreshed)."""

    message_id: str


@dataclass(frozen=True)
class DeleteMessage:
    """Delete the message: the store's file and the index's row."""

    message_id: str


Action = Play | PlayFile | PlayMessage | Collect | Record | MarkRead | DeleteMessage | Hangup


# -- the caller's side: greeting and recording ----------------------------------------------


def greeting_actions(
    box: str,
    greeting: Path | None,
    *,
    max_seconds: float = DEFAULT_MAX_MESSAGE_SECONDS,
) -> list[Action]:
    """Leave-a-message: the box's greeting (or "the person at extension <box> is not
    available ..."), a beep, then record. A digit skips the greeting."""
    if greeting is not None:
        intro: Action = PlayFile(greeting)
    else:
        intro = Play(("vm-greeting-default", *say_digits(box), "vm-greeting-default-end"))
    return [intro, Record(box, max_seconds)]


# -- the owner's side: the mailbox menu (pure) ---------------------------------------------


@dataclass(frozen=True)
class MessageInfo:
    """One message as the index knows it."""

    message_id: str
    new: bool
    recorded_at: float = 0.0


def count_messages(messages: Sequence[MessageInfo]) -> tuple[int, int]:
    """(new, old): what "you have N new messages" and MWI's Voice-Message: N/M say."""
    new = sum(1 for m in messages if m.new)
    return new, len(messages) - new


class MenuState(Enum):
    START = "start"
    ENTER_PIN = "enter_pin"
    MENU = "menu"
    DONE = "done"


KEY_PLAY = "1"
KEY_DELETE = "7"
KEY_NEXT = "9"
KEY_END = "#"


class MailboxMenu:
    """One mailbox owner's session. Feed `start()` once, then `collected(digits)` for every
    Collect action; each returns the actions to carry out in order.

    Messages are offered new ones first, then old ones, oldest first within each group.
    Key 1 plays the current message (and marks it read), 9 moves to the next one and plays
    it, 7 deletes the current one, # ends. Three wrong PINs, or three menu timeouts or
    invalid keys in a row, end the call.
    """

    def __init__(
        self,
        box: str,
        messages: Sequence[MessageInfo],
        language: str,
        *,
        pin: str | None,
        locked: bool = False,
        max_pin_tries: int = DEFAULT_MAX_PIN_TRIES,
        max_menu_misses: int = DEFAULT_MAX_MENU_MISSES,
        pin_timeout: float = 8.0,
        menu_timeout: float = 6.0,
    ) -> None:
        if pin is not None and pin != "" and not pin.isdigit():
            raise ValueError("a mailbox PIN is digits only")
        self.box = box
        self.language = language
        self.messages: list[MessageInfo] = sorted(
            messages, key=lambda m: (not m.new, m.recorded_at, m.message_id)
        )
        self._pin = pin or None
        # A box that must not open (unknown, no PIN, locked out after wrong PINs) still asks
        # for a PIN and refuses every one, so a caller learns nothing by probing numbers.
        self.locked = locked
        self.max_pin_tries = max_pin_tries
        self.max_menu_misses = max_menu_misses
        self.pin_timeout = pin_timeout
        self.menu_timeout = menu_timeout
        self.state = MenuState.START
        self.pin_failures = 0
        self.menu_misses = 0
        self.current = 0
        self.authenticated = False
        self._transitions: dict[tuple[MenuState, str], Callable[[str], list[Action]]] = {
            (MenuState.START, "start"): self._on_start,
            (MenuState.ENTER_PIN, "collected"): self._on_pin,
            (MenuState.MENU, "collected"): self._on_menu_key,
        }

    # -- events --

    def start(self) -> list[Action]:
        return self._dispatch("start", "")

    def collected(self, digits: str) -> list[Action]:
        return self._dispatch("collected", digits)

    def _dispatch(self, event: str, digits: str) -> list[Action]:
        handler = self._transitions.get((self.state, event))
        if handler is None:
            raise IllegalMenuEvent(event, self.state)
        return handler(digits)

    # -- views --

    @property
    def counts(self) -> tuple[int, int]:
        return count_messages(self.messages)

    @property
    def current_message(self) -> MessageInfo | None:
        return self.messages[self.current] if self.current < len(self.messages) else None

    # -- transitions --

    def _on_start(self, _digits: str) -> list[Action]:
        if self._pin is None and not self.locked:
            return self._greet()
        self.state = MenuState.ENTER_PIN
        return [Play(("vm-enter-pin",)), self._collect_pin()]

    def _on_pin(self, digits: str) -> list[Action]:
        entered = digits.rstrip("#")
        if (
            not self.locked
            and self._pin is not None
            and entered
            and hmac.compare_digest(entered.encode(), self._pin.encode())
        ):
            return self._greet()
        self.pin_failures += 1
        if self.pin_failures >= self.max_pin_tries:
            return self._finish(("vm-wrong-pin", "goodbye"), "wrong-pin")
        return [Play(("vm-wrong-pin", "vm-enter-pin")), self._collect_pin()]

    def _greet(self) -> list[Action]:
        self.authenticated = True
        new, _old = self.counts
        if new:
            noun = "vm-new-message" if new == 1 and self.language == "en" else "vm-new-messages"
            summary: tuple[str, ...] = ("vm-you-have", *say_number(new, self.language), noun)
        else:
            summary = ("vm-no-messages",)
        if not self.messages:
            return self._finish((*summary, "goodbye"), "no-messages")
        self.state = MenuState.MENU
        return [Play((*summary, "vm-menu")), self._collect_key()]

    def _on_menu_key(self, digits: str) -> list[Action]:
        key = digits[:1]
        if key == KEY_END:
            return self._finish(("goodbye",), "done")
        if key == KEY_PLAY:
            self.menu_misses = 0
            return [*self._play_current(), Play(("vm-menu",)), self._collect_key()]
        if key == KEY_NEXT:
            self.menu_misses = 0
            if self.current + 1 >= len(self.messages):
                return [Play(("vm-no-more-messages", "vm-menu")), self._collect_key()]
            self.current += 1
            return [*self._play_current(), Play(("vm-menu",)), self._collect_key()]
        if key == KEY_DELETE:
            self.menu_misses = 0
            deleted = self.messages.pop(self.current)
            actions: list[Action] = [DeleteMessage(deleted.message_id)]
            if not self.messages:
                return actions + self._finish(
                    ("vm-deleted", "vm-no-more-messages", "goodbye"), "done"
                )
            self.current = min(self.current, len(self.messages) - 1)
            return [*actions, Play(("vm-deleted", "vm-menu")), self._collect_key()]
        self.menu_misses += 1
        if self.menu_misses >= self.max_menu_misses:
            return self._finish(("goodbye",), "no-input" if not key else "invalid")
        why = "ivr-timeout" if not key else "ivr-invalid"
        return [Play((why, "vm-menu")), self._collect_key()]

    def _play_current(self) -> list[Action]:
        message = self.messages[self.current]
        actions: list[Action] = [PlayMessage(message.message_id)]
        if message.new:
            self.messages[self.current] = replace(message, new=False)
            actions.append(MarkRead(message.message_id))
        return actions

    def _finish(self, prompts: tuple[str, ...], reason: str) -> list[Action]:
        self.state = MenuState.DONE
        return [Play(prompts, interruptible=False), Hangup(reason)]

    def _collect_pin(self) -> Collect:
        return Collect(MAX_PIN_DIGITS, self.pin_timeout, "#")

    def _collect_key(self) -> Collect:
        return Collect(1, self.menu_timeout, "")


# -- brute force --------------------------------------------------------------------------------

LOCKOUT_FAILURES = 6  # wrong PINs (two whole calls) within the window lock the box
LOCKOUT_SECONDS = 15 * 60.0


class PinLockout:
    """Wrong mailbox PINs per box: `LOCKOUT_FAILURES` within `LOCKOUT_SECONDS` lock the box
    until that long after the last one. Per box, not per caller: a caller can hang up and
    call again from another number, so only the box is a stable key. A right PIN clears it."""

    def __init__(self, failures: int = LOCKOUT_FAILURES, seconds: float = LOCKOUT_SECONDS):
        self.max_failures = failures
        self.seconds = seconds
        self._failures: dict[str, list[float]] = {}

    def locked(self, box: str, now: float) -> bool:
        return len(self._recent(box, now)) >= self.max_failures

    def record(self, box: str, failures: int, now: float, *, opened: bool) -> None:
        if opened:
            self._failures.pop(box, None)
            return
        recent = self._recent(box, now) + [now] * failures
        if recent:
            self._failures[box] = recent
        else:
            self._failures.pop(box, None)

    def _recent(self, box: str, now: float) -> list[float]:
        return [t for t in self._failures.get(box, ()) if now - t < self.seconds]
