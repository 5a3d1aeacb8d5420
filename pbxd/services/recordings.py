"""The recordings index: one row per WAV file under `<data-dir>/recordings/`.

Rows are added by call control (with the call, see `history.HistoryService.record_call`, or
alone with `index`); the API searches them, annotates them (`note`, 批注) and deletes them
with their files. The audio is only ever served from inside the recordings directory: a row
whose path would leave it (absolute, `..`, a symlink out) is refused when written and, should
one reach the database anyway, never opened.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

from ..db import db
from ..db.models import Recording
from .errors import NotFound, ValidationError
from .scope import Scope
from .validation import require_aware, require_int, require_text

SEARCH_MAX_LIMIT = 1000
NOTE_MAX_LEN = 2000
PATH_MAX_LEN = 255
PARTY_MAX_LEN = 128
NAME_MAX_LEN = 64  # queue numbers/names, agent extensions
FORMATS = ("wav-pcm16", "wav-pcmu", "wav-pcma", "wav-gsm")  # pbxd.media.recorder.FORMATS
AUDIO_CONTENT_TYPE = "audio/wav"


@dataclass(frozen=True)
class AudioFile:
    """A file the API may stream: checked to lie inside its directory when built."""

    path: Path
    size: int
    filename: str  # offered to the browser in Content-Disposition
    content_type: str = AUDIO_CONTENT_TYPE


@dataclass(frozen=True)
class RecordingEntry:
    """A finished recording to index. `path` is relative to the recordings directory."""

    path: str
    format: str  # one of FORMATS
    channels: int  # 1 (mixed) or 2 (left caller, right callee)
    duration: float  # seconds of audio
    start: datetime
    caller: str
    callee: str
    call_id: str | None = None
    queue: str | None = None
    agent: str | None = None  # the agent's extension
    size: int | None = None  # bytes; None: taken from the file when indexed

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", safe_relative_path("path", self.path))
        if self.format not in FORMATS:
            raise ValidationError(f"format: expected one of {', '.join(FORMATS)}", field="format")
        if self.channels not in (1, 2):
            raise ValidationError("channels: expected 1 or 2", field="channels")
        if (
            not isinstance(self.duration, int | float)
            or isinstance(self.duration, bool)
            or not 0 <= self.duration < 1e7
        ):
            raise ValidationError("duration: expected seconds >= 0", field="duration")
        require_aware("start", self.start)
        require_text("caller", self.caller, min_len=0, max_len=PARTY_MAX_LEN)
        require_text("callee", self.callee, min_len=0, max_len=PARTY_MAX_LEN)
        if self.call_id is not None:
            require_text("call_id", self.call_id, max_len=256)
        for name in ("queue", "agent"):
            if getattr(self, name) is not None:
                require_text(name, getattr(self, name), max_len=NAME_MAX_LEN)
        if self.size is not None:
            require_int("size", self.size, minimum=0)


@dataclass(frozen=True)
class RecordingView:
    id: int
    call_id: str | None
    path: str
    format: str
    channels: int
    duration: float
    size: int
    start: datetime
    caller: str
    callee: str
    queue: str | None
    agent: str | None
    note: str
    available: bool  # the file is there; False once it went missing


@dataclass(frozen=True)
class RecordingPage:
    items: list[RecordingView]
    total: int  # rows matching the filters, all pages together


def safe_relative_path(field: str, value: object) -> str:
    """A relative POSIX path that stays inside its base directory: no '..', no absolute path,
    no empty or '.' parts, no backslashes or control characters."""
    text = require_text(field, value, max_len=PATH_MAX_LEN)
    pure = PurePosixPath(text)
    if (
        pure.is_absolute()
        or "\\" in text
        or "\x00" in text
        or any(part in ("", ".", "..") for part in text.split("/"))
    ):
        raise ValidationError(f"{field}: expected a path relative to its directory", field=field)
    return str(pure)


def resolve_inside(base: Path, relative: str) -> Path | None:
    """`base/relative` with symlinks resolved, or None when that lands outside `base`."""
    try:
        safe_relative_path("path", relative)
    except ValidationError:
        return None
    root = base.resolve()
    target = (root / relative).resolve()
    return target if target.is_relative_to(root) and target != root else None


def open_audio(base: Path, relative: str, filename: str, what: str) -> AudioFile:
    """The regular file `base/relative`, or NotFound (missing, or not safely inside `base`)."""
    target = resolve_inside(base, relative)
    if target is None:
        raise NotFound(f"{what}: audio file outside its directory, not served")
    try:
        stat = target.stat()
    except OSError:
        raise NotFound(f"{what}: audio file missing") from None
    if not target.is_file():
        raise NotFound(f"{what}: audio file missing")
    return AudioFile(path=target, size=stat.st_size, filename=filename)


def is_row_id(value: object) -> bool:
    """Whether `value` can be a row id (SQLite's are positive 64-bit integers)."""
    return isinstance(value, int) and 0 < value < 2**63


def delete_with_file(base: Path, row: Any, what: str) -> None:
    """Delete `row` and its file `base/row.path`, inside the caller's transaction: when the
    file cannot go, the ValidationError raised rolls the row back (a missing file is gone)."""
    row.delete_instance()
    target = resolve_inside(base, row.path)
    if target is not None:
        try:
            target.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:  # rolls the row back
            raise ValidationError(f"{what}: file cannot be deleted ({exc.strerror})") from exc


def _optional_text(field: str, value: str | None, max_len: int) -> str | None:
    return None if value is None else require_text(field, value, max_len=max_len)


class RecordingService:
    """Synchronous; safe on any thread (no state but the directory)."""

    def __init__(self, directory: Path):
        self.directory = directory

    # -- writing (call control) --

    def index(self, entry: RecordingEntry) -> RecordingView:
        """Index one recording on its own (one transaction)."""
        with db.atomic():
            row = self.insert_row(entry)
        return self._view(row)

    def insert_row(self, entry: RecordingEntry) -> Recording:
        """Insert inside the caller's transaction (HistoryService.record_call)."""
        size = entry.size
        if size is None:
            target = resolve_inside(self.directory, entry.path)
            try:
                size = target.stat().st_size if target is not None else 0
            except OSError:
                size = 0  # not renamed to its final name yet; `available` tells later
        return Recording.create(
            call_id=entry.call_id,
            path=entry.path,
            format=entry.format,
            channels=entry.channels,
            duration=float(entry.duration),
            size=size,
            start=entry.start,
            caller=entry.caller,
            callee=entry.callee,
            queue=entry.queue,
            agent=entry.agent,
        )

    # -- reading and upkeep (API) --

    def search(
        self,
        *,
        start_from: datetime | None = None,
        start_to: datetime | None = None,
        party: str | None = None,
        queue: str | None = None,
        agent: str | None = None,
        text: str | None = None,
        participant: str | None = None,
        limit: int = 100,
        offset: int = 0,
        scope: Scope | None = None,
    ) -> RecordingPage:
        """Recordings with start_from <= start < start_to, newest first.

        `party`: caller or callee; `text`: part of the note; `scope`: only the recordings it
        sees (pbxd/services/scope.py); `participant`: short for an agent's scope, the calls
        this extension took part in (caller, callee, agent, or a leg to it).
        """
        require_aware("from", start_from, optional=True)
        require_aware("to", start_to, optional=True)
        require_int("limit", limit, minimum=1, maximum=SEARCH_MAX_LIMIT)
        require_int("offset", offset, minimum=0)
        query = self._visible(participant, scope)
        if start_from is not None:
            query = query.where(Recording.start >= start_from)
        if start_to is not None:
            query = query.where(Recording.start < start_to)
        if _optional_text("party", party, PARTY_MAX_LEN) is not None:
            query = query.where((Recording.caller == party) | (Recording.callee == party))
        if _optional_text("queue", queue, NAME_MAX_LEN) is not None:
            query = query.where(Recording.queue == queue)
        if _optional_text("agent", agent, NAME_MAX_LEN) is not None:
            query = query.where(Recording.agent == agent)
        if _optional_text("text", text, NOTE_MAX_LEN) is not None:
            query = query.where(Recording.note.contains(text))
        total = query.count()
        rows = query.order_by(Recording.start.desc(), Recording.id.desc()).limit(limit)
        return RecordingPage([self._view(row) for row in rows.offset(offset)], total)

    def get(
        self, recording_id: int, *, participant: str | None = None, scope: Scope | None = None
    ) -> RecordingView:
        return self._view(self._row(recording_id, participant, scope))

    def set_note(
        self,
        recording_id: int,
        note: str,
        *,
        participant: str | None = None,
        scope: Scope | None = None,
    ) -> RecordingView:
        note = require_text("note", note, min_len=0, max_len=NOTE_MAX_LEN)
        with db.atomic():
            row = self._row(recording_id, participant, scope)
            row.note = note
            row.save(only=[Recording.note])
        return self._view(row)

    def delete(self, recording_id: int) -> None:
        """Delete the row and the file. The row goes only if the file could go (or was gone):
        a crash in between leaves a row marked unavailable, never a file nobody can find."""
        with db.atomic():
            row = self._row(recording_id, None, None)
            delete_with_file(self.directory, row, f"recording {recording_id}")

    def audio(
        self, recording_id: int, *, participant: str | None = None, scope: Scope | None = None
    ) -> AudioFile:
        row = self._row(recording_id, participant, scope)
        return open_audio(
            self.directory, row.path, f"recording-{row.id}.wav", f"recording {recording_id}"
        )

    # -- helpers --

    def _visible(self, participant: str | None, scope: Scope | None):
        query = Recording.select()
        for limit in (scope, Scope.own(participant) if participant is not None else None):
            condition = limit.recording_condition() if limit is not None else None
            if condition is not None:
                query = query.where(condition)
        return query

    def _row(self, recording_id: int, participant: str | None, scope: Scope | None) -> Recording:
        row = (
            self._visible(participant, scope).where(Recording.id == recording_id).first()
            if is_row_id(recording_id)
            else None
        )
        if row is None:
            # The same answer for "no such recording" and "not yours": ids are not secrets,
            # but which calls exist is.
            raise NotFound(f"recording {recording_id} not found")
        return row

    def _view(self, row: Recording) -> RecordingView:
        target = resolve_inside(self.directory, row.path)
        return RecordingView(
            id=row.id,
            call_id=row.call_id,
            path=row.path,
            format=row.format,
            channels=row.channels,
            duration=row.duration,
            size=row.size,
            start=row.start,
            caller=row.caller,
            callee=row.callee,
            queue=row.queue,
            agent=row.agent,
            note=row.note,
            available=target is not None and os.path.isfile(target),
        )
