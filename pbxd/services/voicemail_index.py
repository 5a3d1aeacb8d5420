"""The voicemail index: one row per message file under `<data-dir>/voicemail/`.

Call control adds a row when a message is complete (`add`, safe on its database worker
thread); the API lists a box, serves the audio, marks messages old and deletes them with their
files. `counts` gives what MWI (RFC 3842) announces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..callcenter.voicemail import GREETING_NAME
from ..db import db
from ..db.models import VoicemailMessage
from ..media.convert import AudioFormatError, parse_wav, to_engine_pcm
from ..media.frames import ENGINE_RATE
from ..media.prompts import write_wav_atomic
from .errors import NotFound, ValidationError
from .prompts import InvalidAudio
from .recordings import (
    AudioFile,
    delete_with_file,
    is_row_id,
    open_audio,
    resolve_inside,
    safe_relative_path,
)
from .validation import require_aware, require_text

# A box is an extension's or a queue's number (docs/CALLCENTER.md, `voicemail:1001`).
BOX_PATTERN = re.compile(r"[0-9]{2,6}")
BOX_MAX_MESSAGES = 1000  # listing bound; boxes on the appliance hold far fewer


def validate_box(box: object) -> str:
    if not isinstance(box, str) or not BOX_PATTERN.fullmatch(box):
        raise ValidationError("box: expected an extension or queue number of 2 to 6 digits")
    return box


@dataclass(frozen=True)
class VoicemailEntry:
    box: str
    caller: str
    time: datetime
    duration: float  # seconds
    path: str  # relative to the voicemail directory

    def __post_init__(self) -> None:
        validate_box(self.box)
        require_text("caller", self.caller, min_len=0, max_len=128)
        require_aware("time", self.time)
        if (
            not isinstance(self.duration, int | float)
            or isinstance(self.duration, bool)
            or not 0 <= self.duration < 1e6
        ):
            raise ValidationError("duration: expected seconds >= 0", field="duration")
        object.__setattr__(self, "path", safe_relative_path("path", self.path))


@dataclass(frozen=True)
class VoicemailView:
    id: int
    box: str
    caller: str
    time: datetime
    duration: float
    new: bool
    available: bool  # the file is there


@dataclass(frozen=True)
class VoicemailCounts:
    new: int
    old: int


MAX_GREETING_SECONDS = 60


class VoicemailService:
    """Synchronous; safe on any thread (no state but the directory)."""

    def __init__(self, directory: Path):
        self.directory = directory

    def add(self, entry: VoicemailEntry) -> VoicemailView:
        with db.atomic():
            row = VoicemailMessage.create(
                box=entry.box,
                caller=entry.caller,
                time=entry.time,
                duration=float(entry.duration),
                path=entry.path,
                new=True,
            )
        return self._view(row)

    def messages(self, box: str) -> list[VoicemailView]:
        """The box's messages, newest first."""
        query = (
            VoicemailMessage.select()
            .where(VoicemailMessage.box == validate_box(box))
            .order_by(VoicemailMessage.time.desc(), VoicemailMessage.id.desc())
            .limit(BOX_MAX_MESSAGES)
        )
        return [self._view(row) for row in query]

    def counts(self, box: str) -> VoicemailCounts:
        rows = VoicemailMessage.select(VoicemailMessage.new).where(
            VoicemailMessage.box == validate_box(box)
        )
        new = sum(1 for row in rows if row.new)
        return VoicemailCounts(new=new, old=len(rows) - new)

    def get(self, box: str, message_id: int) -> VoicemailView:
        return self._view(self._row(box, message_id))

    def mark(self, box: str, message_id: int, *, new: bool) -> VoicemailView:
        if not isinstance(new, bool):
            raise ValidationError("new: expected a boolean", field="new")
        with db.atomic():
            row = self._row(box, message_id)
            row.new = new
            row.save(only=[VoicemailMessage.new])
        return self._view(row)

    def delete(self, box: str, message_id: int) -> None:
        """Row and file together; the row stays when the file cannot go."""
        with db.atomic():
            row = self._row(box, message_id)
            delete_with_file(self.directory, row, f"message {message_id}")

    def audio(self, box: str, message_id: int) -> AudioFile:
        row = self._row(box, message_id)
        return open_audio(
            self.directory,
            row.path,
            f"voicemail-{row.box}-{row.id}.wav",
            f"voicemail {box}/{message_id}",
        )

    # -- the box's own greeting (<box>/greeting.wav, as pbxd.callcenter.voicemail plays it) --

    def greeting(self, box: str) -> AudioFile:
        return open_audio(
            self.directory, f"{validate_box(box)}/{GREETING_NAME}",
            f"greeting-{box}.wav", f"voicemail {box} greeting",
        )  # fmt: skip

    def set_greeting(self, box: str, data: bytes) -> float:
        """Any WAV the converter reads becomes the greeting (8 kHz mono PCM16, replaced
        atomically); returns its length in seconds."""
        validate_box(box)
        try:
            pcm = to_engine_pcm(parse_wav(data))
        except AudioFormatError as exc:
            raise InvalidAudio(str(exc), field="file") from None
        if pcm.size > MAX_GREETING_SECONDS * ENGINE_RATE:
            raise InvalidAudio(
                f"a greeting of at most {MAX_GREETING_SECONDS} s, please", field="file"
            )
        write_wav_atomic(self.directory / box / GREETING_NAME, pcm)
        return round(pcm.size / ENGINE_RATE, 2)

    def delete_greeting(self, box: str) -> None:
        """Back to the default greeting; NotFound when the box had none of its own."""
        try:
            (self.directory / validate_box(box) / GREETING_NAME).unlink()
        except FileNotFoundError:
            raise NotFound(f"voicemail {box} has no greeting of its own") from None

    def _row(self, box: str, message_id: int) -> VoicemailMessage:
        validate_box(box)
        row = (
            VoicemailMessage.get_or_none(
                (VoicemailMessage.id == message_id) & (VoicemailMessage.box == box)
            )
            if is_row_id(message_id)
            else None
        )
        if row is None:
            raise NotFound(f"voicemail message {box}/{message_id} not found")
        return row

    def _view(self, row: VoicemailMessage) -> VoicemailView:
        target = resolve_inside(self.directory, row.path)
        return VoicemailView(
            id=row.id,
            box=row.box,
            caller=row.caller,
            time=row.time,
            duration=row.duration,
            new=bool(row.new),
            available=target is not None and target.is_file(),
        )
