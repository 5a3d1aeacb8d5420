"""Prompts by id: system prompts, uploaded prompts that replace them, numbers, and fallbacks.

Layout on disk (all files 8 kHz mono 16-bit PCM WAV, though any WAV the player reads plays):

    <system_dir>/<lang>/<id>.wav    made at build time by tools/prompts/generate.py from
                                    pbxd/prompts/catalog.toml (read-only in the image:
                                    /usr/share/coocenter/prompts)
    <system_dir>/common/<id>.wav    language-neutral sounds (music on hold: "moh")
    <upload_dir>/<lang>/<id>.wav    an upload for one language
    <upload_dir>/<id>.wav           an upload for every language

A prompt id resolves to the first of upload/<lang>, upload, system/<lang>, system/common that
exists and loads: a deleted or broken upload falls back to the system prompt of the same id.
When nothing plays, `load` logs once per (id, language) and returns a short silence, so a
missing prompt never stops a call or raises in the media path.

Numbers are said by concatenating prompts (`say_number`, `say_digits`) from 0 to 9999:
- zh: 十 alone for 10-19 at the start (十五), 一十 after a higher unit (一百一十); 零 once for
  each run of missing units (一千零一, 一百零一); a leading 2 before 百/千 is 两 (两千零二十四,
  两百), any other 2 is 二 (一千二百, 二十).
- en (US): "two thousand twenty four", "one hundred one", "one thousand one" (no "and").
Larger numbers are said digit by digit (they are not quantities a caller hears).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import wave
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .frames import ENGINE_RATE
from .player import PromptError, load_prompt

log = logging.getLogger(__name__)

LANGUAGES = ("zh", "en")
COMMON_DIR = "common"  # language-neutral system sounds
MUSIC_ON_HOLD = "moh"
FALLBACK_SILENCE_SECONDS = 0.3
MAX_SPOKEN_NUMBER = 9999

_PROMPT_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_DIGIT_IDS = {str(d): f"digit-{d}" for d in range(10)} | {"*": "digit-star", "#": "digit-pound"}
_EN_TENS = {tens: f"number-{tens * 10}" for tens in range(2, 10)}


def is_prompt_id(text: str) -> bool:
    """Prompt ids are file names: lower-case letters, digits, '-' and '_' (no paths)."""
    return isinstance(text, str) and _PROMPT_ID.fullmatch(text) is not None


# -- numbers ----------------------------------------------------------------------------------


def say_digits(text: str) -> list[str]:
    """'1001' -> digit prompts one by one; '*' and '#' are said too, anything else is skipped."""
    return [_DIGIT_IDS[ch] for ch in str(text) if ch in _DIGIT_IDS]


def say_number(n: int, lang: str) -> list[str]:
    """The prompt ids that say `n` (0-9999) as a quantity in `lang` ('zh' or 'en')."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"say_number needs an int, not {type(n).__name__}")
    if lang not in LANGUAGES:
        raise ValueError(f"unknown prompt language {lang!r}; one of {', '.join(LANGUAGES)}")
    if n < 0:
        raise ValueError(f"cannot say negative number {n}")
    if n > MAX_SPOKEN_NUMBER:
        return say_digits(str(n))
    return _zh_number(n) if lang == "zh" else _en_number(n)


def _zh_number(n: int) -> list[str]:
    if n == 0:
        return ["digit-0"]
    units = [(1000, "number-thousand"), (100, "number-hundred"), (10, "number-10"), (1, None)]
    out: list[str] = []
    pending_zero = False
    for value, unit in units:
        digit = n // value % 10
        if digit == 0:
            if out:  # a gap after something was said: one 零 if anything follows
                pending_zero = True
            continue
        if pending_zero:
            out.append("digit-0")
            pending_zero = False
        leading = not out
        if value == 10 and digit == 1 and leading:
            pass  # 十五, not 一十五, at the start of a number
        elif digit == 2 and leading and value in (100, 1000):
            out.append("number-liang")
        else:
            out.append(f"digit-{digit}")
        if unit:
            out.append(unit)
    return out


def _en_number(n: int) -> list[str]:
    if n == 0:
        return ["digit-0"]
    out: list[str] = []
    thousands, rest = divmod(n, 1000)
    hundreds, rest = divmod(rest, 100)
    if thousands:
        out += [f"digit-{thousands}", "number-thousand"]
    if hundreds:
        out += [f"digit-{hundreds}", "number-hundred"]
    if 10 <= rest <= 19:
        out.append(f"number-{rest}")
    else:
        tens, ones = divmod(rest, 10)
        if tens:
            out.append(_EN_TENS[tens])
        if ones:
            out.append(f"digit-{ones}")
    return out


# -- library ----------------------------------------------------------------------------------


class PromptLibrary:
    """Resolves prompt ids to files and PCM for one default language.

    Loaded prompts are cached by (path, modification time, size): a new upload under the same
    name is picked up on its next use; `forget()` drops the cache. One library per daemon;
    it is not thread-safe (the engine loads prompts from the loop thread).
    """

    def __init__(
        self,
        system_dir: str | os.PathLike[str],
        upload_dir: str | os.PathLike[str],
        language: str = "zh",
    ) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"unknown prompt language {language!r}; one of {', '.join(LANGUAGES)}")
        self.system_dir = Path(system_dir)
        self.upload_dir = Path(upload_dir)
        self.language = language
        self._cache: dict[tuple[Path, int, int], np.ndarray] = {}
        self._reported: set[tuple[str, str]] = set()
        self._silence = np.zeros(int(FALLBACK_SILENCE_SECONDS * ENGINE_RATE), dtype=np.int16)
        self._silence.setflags(write=False)

    # -- resolving --

    def candidates(self, prompt_id: str, language: str | None = None) -> list[Path]:
        """Where `prompt_id` may live, in the order tried (whether or not the files exist)."""
        lang = language or self.language
        if not is_prompt_id(prompt_id):
            return []
        name = f"{prompt_id}.wav"
        return [
            self.upload_dir / lang / name,
            self.upload_dir / name,
            self.system_dir / lang / name,
            self.system_dir / COMMON_DIR / name,
        ]

    def path(self, prompt_id: str, language: str | None = None) -> Path | None:
        """The file `prompt_id` plays from (an upload before a system prompt), or None."""
        for candidate in self.candidates(prompt_id, language):
            if candidate.is_file():
                return candidate
        return None

    def exists(self, prompt_id: str, language: str | None = None) -> bool:
        return self.path(prompt_id, language) is not None

    # -- loading --

    def load(self, prompt_id: str, language: str | None = None) -> np.ndarray:
        """Engine-rate PCM of `prompt_id`; a short silence (logged once) when none loads."""
        lang = language or self.language
        problems = []
        for candidate in self.candidates(prompt_id, lang):
            try:
                stat = candidate.stat()
            except OSError:
                continue
            key = (candidate, stat.st_mtime_ns, stat.st_size)
            cached = self._cache.get(key)
            if cached is not None:
                return cached
            try:
                pcm = load_prompt(candidate)
            except PromptError as exc:  # a broken upload: try the next candidate
                problems.append(str(exc))
                continue
            self._cache = {k: v for k, v in self._cache.items() if k[0] != candidate}
            self._cache[key] = pcm
            return pcm
        self._report_missing(prompt_id, lang, problems)
        return self._silence

    def playlist(self, prompt_ids: Iterable[str], language: str | None = None) -> list[np.ndarray]:
        """PCM for each id in order (silence for missing ones), for `Player(prompts)`."""
        return [self.load(prompt_id, language) for prompt_id in prompt_ids]

    def music_on_hold(self) -> np.ndarray:
        return self.load(MUSIC_ON_HOLD)

    def forget(self) -> None:
        self._cache.clear()
        self._reported.clear()

    def _report_missing(self, prompt_id: str, lang: str, problems: list[str]) -> None:
        if (prompt_id, lang) in self._reported:
            return
        self._reported.add((prompt_id, lang))
        if not is_prompt_id(prompt_id):
            log.warning("prompt id %r is not valid: playing silence", prompt_id)
        elif problems:
            log.warning(
                "prompt %s (%s) cannot be played (%s): playing silence",
                prompt_id,
                lang,
                "; ".join(problems),
            )
        else:
            log.warning(
                "prompt %s (%s) not found in %s or %s: playing silence",
                prompt_id,
                lang,
                self.upload_dir,
                self.system_dir,
            )

    # -- numbers --

    def say_number(self, n: int, language: str | None = None) -> list[str]:
        return say_number(n, language or self.language)

    def say_digits(self, text: str) -> list[str]:
        return say_digits(text)

    # -- uploads --

    def upload_path(self, prompt_id: str, language: str | None = None) -> Path:
        """Where an upload of `prompt_id` goes: <upload_dir>[/<lang>]/<id>.wav."""
        if not is_prompt_id(prompt_id):
            raise PromptError(
                f"prompt id {prompt_id!r}: use 1-64 lower-case letters, digits, '-' or '_'"
            )
        if language is not None and language not in LANGUAGES:
            raise PromptError(f"unknown prompt language {language!r}; one of {LANGUAGES}")
        directory = self.upload_dir / language if language else self.upload_dir
        return directory / f"{prompt_id}.wav"

    def import_upload(
        self, src_path: str | os.PathLike[str], prompt_id: str, language: str | None = None
    ) -> Path:
        """Convert any readable WAV to 8 kHz mono PCM16 as the upload `prompt_id`.

        Without `language` the upload replaces the prompt in every language. The file appears
        atomically (written beside it, fsynced, renamed). Raises PromptError, naming the
        reason, for a file that is not audio the player can read.
        """
        dest = self.upload_path(prompt_id, language)
        pcm = load_prompt(src_path)  # PromptError for text, empty, unsupported, too long
        write_wav_atomic(dest, pcm)
        return dest

    def delete_upload(self, prompt_id: str, language: str | None = None) -> bool:
        """Remove an upload; the system prompt of the same id (if any) plays again."""
        dest = self.upload_path(prompt_id, language)
        try:
            dest.unlink()
        except FileNotFoundError:
            return False
        return True

    def uploads(self) -> dict[str, list[str]]:
        """Uploaded prompt ids per scope: '*' (every language) and each language."""
        found: dict[str, list[str]] = {}
        for scope, directory in [("*", self.upload_dir)] + [
            (lang, self.upload_dir / lang) for lang in LANGUAGES
        ]:
            ids = sorted(p.stem for p in directory.glob("*.wav") if is_prompt_id(p.stem))
            if ids:
                found[scope] = ids
        return found

    def system_ids(self, language: str | None = None) -> list[str]:
        lang = language or self.language
        ids = {p.stem for p in (self.system_dir / lang).glob("*.wav")}
        ids |= {p.stem for p in (self.system_dir / COMMON_DIR).glob("*.wav")}
        return sorted(i for i in ids if is_prompt_id(i))


def write_wav_atomic(
    dest: str | os.PathLike[str], pcm: np.ndarray, rate: int = ENGINE_RATE
) -> None:
    """Write mono int16 `pcm` as a PCM WAV that appears at `dest` complete or not at all."""
    dest = Path(dest)
    samples = np.ascontiguousarray(pcm, dtype="<i2")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            with wave.open(f, "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(rate)
                w.writeframes(samples.tobytes())
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
