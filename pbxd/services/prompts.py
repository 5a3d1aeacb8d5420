"""Prompts: the system prompts (read-only) and uploads that add to or replace them.

The files are the truth (layout in pbxd/media/prompts.py, which plays them):

    <system_dir>/<lang>/<id>.wav, <system_dir>/common/<id>.wav     built into the image
    <upload_dir>/<lang>/<id>.wav    an upload for one language
    <upload_dir>/<id>.wav           an upload for every language

In each language a prompt plays the first of upload/<lang>, upload, system/<lang>,
system/common that exists, so deleting an upload brings back the system prompt of the same
id. Uploads are converted (pbxd.media.convert) to 8 kHz mono 16-bit PCM WAV and appear
atomically: written beside their place, fsynced, renamed, the directory fsynced.

References: queues (`welcome_prompt`, `music`, `periodic_prompt`) and IVRs (`prompt`,
`invalid_prompt`) name prompts by id. `require_prompts` is the hook those services call on
create/update (a name that is neither a system prompt nor an upload is refused); `delete`
refuses to take away the last file a referenced prompt plays in some language.

Without a system directory (unit tests, tools that only touch the database) there are no
system prompts, and build_services does not check queue and IVR references at all: nothing
to check them against, and test configurations name prompts freely.
"""

from __future__ import annotations

import builtins
import logging
import os
import struct
import tempfile
import wave
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..db.models import Ivr, Queue
from ..media.convert import AudioFormatError, convert_wav
from ..media.prompts import COMMON_DIR, LANGUAGES, is_prompt_id
from .clock import Clock, utc_now
from .configbase import InUse
from .errors import Conflict, NotFound, ValidationError
from .recordings import AudioFile

log = logging.getLogger(__name__)

SOURCES = ("system", "upload")
# Fields of the configuration that name a prompt (checked by `require_prompts`).
QUEUE_PROMPT_FIELDS = ("welcome_prompt", "music", "periodic_prompt")
IVR_PROMPT_FIELDS = ("prompt", "invalid_prompt")
ID_RULE = "1 to 64 lower-case letters, digits, '-' or '_', starting with a letter or digit"

PromptExists = Callable[[str], bool]
PromptReferences = Callable[[str], list[str]]  # prompt id -> who uses it ('queue 600 music')


class InvalidAudio(ValidationError):
    """The uploaded file is not audio the converter reads; the message says why."""

    code = "invalid_audio"


class ReadOnlyPrompt(Conflict):
    """System prompts are part of the firmware; only uploads can be deleted."""

    code = "read_only"


@dataclass(frozen=True)
class PromptFile:
    """One file of a prompt."""

    source: str  # "system" | "upload"
    language: str | None  # None: every language (an upload without language, a common sound)
    plays_in: tuple[str, ...]  # the languages in which this is the file that plays
    duration: float | None  # seconds; None when the file is not a PCM WAV it can read
    size: int  # bytes
    modified: datetime


@dataclass(frozen=True)
class PromptView:
    id: str
    source: str  # "upload" when the id has an upload, else "system"
    system: bool  # a system prompt of this id exists (what plays when the uploads go)
    overrides_system: bool  # an upload replaces the system prompt in some language
    languages: tuple[str, ...]  # the languages it plays in
    duration: float | None  # seconds, of the longest file that plays
    size: int  # bytes of the files that play
    modified: datetime  # the latest change of a file that plays
    files: tuple[PromptFile, ...]  # every file, uploads first, including replaced ones


@dataclass(frozen=True)
class _Found:
    path: Path
    source: str
    language: str | None


class PromptService:
    """List, upload, delete and locate prompts. `upload` touches only files and may run on a
    worker thread (conversion takes a moment); the rest is meant for the loop thread."""

    def __init__(
        self,
        system_dir: Path | None,
        upload_dir: Path,
        clock: Clock = utc_now,
        *,
        references: PromptReferences | None = None,
        default_language: str = LANGUAGES[0],
    ) -> None:
        if default_language not in LANGUAGES:
            raise ValueError(f"unknown prompt language {default_language!r}")
        self.system_dir = system_dir
        self.upload_dir = upload_dir
        self.default_language = default_language
        self._clock = clock
        self._references = references if references is not None else prompt_references
        if system_dir is not None and not system_dir.is_dir():
            log.warning("system prompts directory %s is missing: only uploads exist", system_dir)
        self._remove_stale_temporaries()

    # -- reading --

    def list(self) -> builtins.list[PromptView]:
        ids: set[str] = set()
        for directory in self._directories():
            try:
                entries = list(os.scandir(directory))
            except OSError:
                continue
            for entry in entries:
                stem, dot, ext = entry.name.rpartition(".")
                if dot and ext == "wav" and is_prompt_id(stem) and entry.is_file():
                    ids.add(stem)
        views = (self._view(prompt_id) for prompt_id in sorted(ids))
        return [view for view in views if view is not None]

    def get(self, prompt_id: str) -> PromptView:
        view = self._view(prompt_id) if is_prompt_id(prompt_id) else None
        if view is None:
            raise NotFound(f"no prompt {prompt_id!r}")
        return view

    def exists(self, prompt_id: str) -> bool:
        """Whether `prompt_id` plays in at least one language (system prompt or upload)."""
        return is_prompt_id(prompt_id) and bool(self._found(prompt_id))

    def has_upload(self, prompt_id: str, language: str | None) -> bool:
        """Whether `prompt_id` has an upload for `language` (None: for every language)."""
        language = _language(language)
        return is_prompt_id(prompt_id) and self._upload_path(prompt_id, language).is_file()

    def audio(self, prompt_id: str, language: str | None = None) -> AudioFile:
        """The file that plays `prompt_id` in `language` (default: the daemon's language)."""
        lang = _language(language) or self.default_language
        found = self._found(prompt_id) if is_prompt_id(prompt_id) else []
        playing = _playing(found).get(lang)
        if playing is None:
            raise NotFound(f"no prompt {prompt_id!r} in {lang}")
        try:
            size = playing.path.stat().st_size
        except OSError:
            raise NotFound(f"no prompt {prompt_id!r} in {lang}") from None
        return AudioFile(path=playing.path, size=size, filename=f"{prompt_id}-{lang}.wav")

    def users_of(self, prompt_id: str) -> builtins.list[str]:
        """Who names `prompt_id` in the configuration ('queue 600 welcome_prompt', ...)."""
        return sorted(set(self._references(prompt_id)))

    # -- changing --

    def upload(self, prompt_id: str, language: str | None, data: bytes) -> PromptView:
        """Convert `data` (any accepted WAV) and store it as the upload of `prompt_id` for
        `language`, or for every language when None (then replacing the per-language uploads
        too, so that this file is what plays everywhere). InvalidAudio names the problem."""
        if not is_prompt_id(prompt_id):
            raise ValidationError(f"id: {ID_RULE}", field="id")
        language = _language(language)
        try:
            converted = convert_wav(data)
        except AudioFormatError as exc:
            raise InvalidAudio(str(exc), field="file") from None
        dest = self._upload_path(prompt_id, language)
        write_atomically(dest, converted, self._clock().timestamp())
        if language is None:
            replaced = [self._upload_path(prompt_id, lang) for lang in LANGUAGES]
            _remove(path for path in replaced if path.is_file())
        log.info("prompt %s uploaded (%s)", prompt_id, language or "every language")
        return self.get(prompt_id)

    def delete(self, prompt_id: str, language: str | None = None) -> PromptView | None:
        """Delete the uploads of `prompt_id` (all of them, or the one for `language`); what
        plays then (the system prompt), or None when nothing is left.

        Refused (ReadOnlyPrompt) for a system prompt without upload, and (InUse) when a queue
        or IVR uses the prompt and some language would be left with no file to play."""
        language = _language(language)
        found = self._found(prompt_id) if is_prompt_id(prompt_id) else []
        if not found:
            raise NotFound(f"no prompt {prompt_id!r}")
        doomed = [
            f
            for f in found
            if f.source == "upload" and (language is None or f.language == language)
        ]
        if not doomed:
            if any(f.source == "upload" for f in found):
                raise NotFound(
                    f"prompt {prompt_id!r} has no upload for {language} (its other uploads "
                    "stay; delete without a language to remove them all)",
                    field="language",
                )
            raise ReadOnlyPrompt(
                f"prompt {prompt_id!r} is a system prompt: system prompts are read-only"
            )
        before = _playing(found)
        after = _playing([f for f in found if f not in doomed])
        silenced = [lang for lang in LANGUAGES if lang in before and lang not in after]
        if silenced:
            users = self.users_of(prompt_id)
            if users:
                raise InUse(
                    f"prompt {prompt_id} is in use: {', '.join(users)}; with no system prompt "
                    f"to fall back to, it would be silent in {', '.join(silenced)}"
                )
        _remove(f.path for f in doomed)
        log.info("prompt %s: upload deleted (%s)", prompt_id, language or "every language")
        return self._view(prompt_id)

    # -- helpers --

    def _directories(self) -> builtins.list[Path]:
        dirs = [self.upload_dir, *(self.upload_dir / lang for lang in LANGUAGES)]
        if self.system_dir is not None:
            dirs += [self.system_dir / lang for lang in LANGUAGES]
            dirs.append(self.system_dir / COMMON_DIR)
        return dirs

    def _upload_path(self, prompt_id: str, language: str | None) -> Path:
        directory = self.upload_dir / language if language else self.upload_dir
        return directory / f"{prompt_id}.wav"

    def _found(self, prompt_id: str) -> builtins.list[_Found]:
        """The files of `prompt_id` that exist: uploads first, then system files."""
        name = f"{prompt_id}.wav"
        places = [_Found(self.upload_dir / lang / name, "upload", lang) for lang in LANGUAGES]
        places.append(_Found(self.upload_dir / name, "upload", None))
        if self.system_dir is not None:
            places += [_Found(self.system_dir / lang / name, "system", lang) for lang in LANGUAGES]
            places.append(_Found(self.system_dir / COMMON_DIR / name, "system", None))
        return [place for place in places if place.path.is_file()]

    def _view(self, prompt_id: str) -> PromptView | None:
        found = self._found(prompt_id)
        if not found:
            return None
        playing = _playing(found)
        files = []
        for place in found:
            try:
                stat = place.path.stat()
            except OSError:  # deleted meanwhile
                continue
            plays_in = tuple(lang for lang in LANGUAGES if playing.get(lang) == place)
            files.append(
                PromptFile(
                    source=place.source,
                    language=place.language,
                    plays_in=plays_in,
                    duration=_duration(place.path),
                    size=stat.st_size,
                    modified=datetime.fromtimestamp(stat.st_mtime, UTC),
                )
            )
        active = [f for f in files if f.plays_in] or files
        if not active:
            return None
        durations = [f.duration for f in active if f.duration is not None]
        has_upload = any(f.source == "upload" for f in files)
        has_system = any(f.source == "system" for f in files)
        return PromptView(
            id=prompt_id,
            source="upload" if has_upload else "system",
            system=has_system,
            overrides_system=any(f.source == "upload" and f.plays_in for f in files) and has_system,
            languages=tuple(lang for lang in LANGUAGES if lang in playing),
            duration=max(durations) if durations else None,
            size=sum(f.size for f in active),
            modified=max(f.modified for f in active),
            files=tuple(files),
        )

    def _remove_stale_temporaries(self) -> None:
        """Temporary files of uploads cut short by a crash or power loss."""
        for directory in (self.upload_dir, *(self.upload_dir / lang for lang in LANGUAGES)):
            for stale in directory.glob(".*.wav.*.tmp"):
                try:
                    stale.unlink()
                    log.warning("removed %s, left by an upload cut short", stale)
                except OSError as exc:
                    log.warning("cannot remove %s: %s", stale, exc)


# -- references in the configuration ------------------------------------------------------------


def prompt_references(prompt_id: str) -> list[str]:
    """Queues and IVRs naming `prompt_id`, from the database ('ivr main prompt', ...)."""
    users = []
    for field in QUEUE_PROMPT_FIELDS:
        queues = Queue.select(Queue.number).where(getattr(Queue, field) == prompt_id)
        users += [f"queue {queue.number} {field}" for queue in queues]
    for field in IVR_PROMPT_FIELDS:
        ivrs = Ivr.select(Ivr.name).where(getattr(Ivr, field) == prompt_id)
        users += [f"ivr {ivr.name} {field}" for ivr in ivrs]
    return sorted(users)


def require_prompts(
    exists: PromptExists | None,
    values: Mapping[str, Any],
    old: Mapping[str, Any] | None,
    fields: Iterable[str],
) -> None:
    """ValidationError for a prompt field naming a prompt that does not exist. Only new or
    changed names are checked: a prompt gone since (a firmware update) does not block
    unrelated changes. `exists` None checks nothing."""
    if exists is None:
        return
    for field in fields:
        name = values.get(field)
        if name is None or (old is not None and old.get(field) == name):
            continue
        if not exists(name):
            raise ValidationError(f"{field}: no prompt {name!r} (upload it first)", field=field)


# -- files --------------------------------------------------------------------------------------


def write_atomically(dest: Path, data: bytes, mtime: float) -> None:
    """`data` appears at `dest` whole or not at all, and stays there after a power loss: a
    temporary file beside it, fsynced, renamed into place, then the directory fsynced."""
    created = not dest.parent.is_dir()
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.utime(tmp, (mtime, mtime))
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_directory(dest.parent)
    if created:
        fsync_directory(dest.parent.parent)


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(paths: Iterable[Path]) -> None:
    parents = set()
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        parents.add(path.parent)
    for parent in parents:
        fsync_directory(parent)


def _playing(found: list[_Found]) -> dict[str, _Found]:
    """language -> the file that plays there: upload/<lang>, upload, system/<lang>, common."""
    order = {("upload", True): 0, ("upload", False): 1, ("system", True): 2, ("system", False): 3}
    playing: dict[str, _Found] = {}
    for lang in LANGUAGES:
        candidates = [f for f in found if f.language in (lang, None)]
        if candidates:
            playing[lang] = min(candidates, key=lambda f: order[f.source, f.language is not None])
    return playing


def _language(value: str | None) -> str | None:
    if value is None:
        return None
    if value not in LANGUAGES:
        raise ValidationError(f"language: expected one of {', '.join(LANGUAGES)}", field="language")
    return value


def _duration(path: Path) -> float | None:
    try:
        with wave.open(str(path), "rb") as w:
            return round(w.getnframes() / w.getframerate(), 3)
    except (OSError, EOFError, wave.Error, struct.error, ZeroDivisionError):
        return None  # not a PCM WAV the stdlib reads, or damaged
