"""Prompts: WAV files loaded once into engine-rate PCM, and a player that frames them.

`load_prompt` does all the file I/O and all the conversion (sample width, channels, rate) up
front, so that playing is only slicing: `Player.next_frame` runs every 20 ms per call.

Readable files: RIFF/WAVE with PCM (8-bit unsigned, 16, 24 or 32-bit signed, through the
stdlib `wave` module), G.711 A-law (format tag 6) and mu-law (tag 7) through a small RIFF
chunk reader, and WAVE_FORMAT_EXTENSIBLE wrapping any of these. Any channel count (averaged to
mono) and any rate from 4 to 192 kHz (resampled to 8 kHz).

A playlist joins its prompts sample to sample (no gap); only the very end is zero-padded to a
whole frame. A looping playlist (music on hold) wraps around inside a frame, so the loop point
adds no gap either.
"""

from __future__ import annotations

import os
import struct
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .codecs import PCMA, PCMU
from .frames import ENGINE_RATE, FRAME_SAMPLES, Frame
from .resample import resample

MAX_PROMPT_SECONDS = 30 * 60
MIN_RATE = 4000
MAX_RATE = 192000

# WAVE format tags (RFC 2361 appendix A)
WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_ALAW = 0x0006
WAVE_FORMAT_MULAW = 0x0007
WAVE_FORMAT_EXTENSIBLE = 0xFFFE


class PromptError(ValueError):
    """A prompt file that cannot be played: missing, not audio, empty, too long, unsupported."""


# -- loading ---------------------------------------------------------------------------------


def load_prompt(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a WAV file as mono int16 PCM at ENGINE_RATE (a read-only array)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) == 0:
                raise PromptError(f"{path}: empty file")
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                raise PromptError(f"{path}: not a WAV file (no RIFF/WAVE header)")
            fmt = _read_fmt(f, path)
            if fmt.tag == WAVE_FORMAT_PCM and fmt.bits in (8, 16, 24, 32):
                if fmt.extensible:  # the stdlib wave module of Python 3.11 reads only tag 1
                    raw = _read_data(f, path, fmt)
                else:
                    f.seek(0)
                    raw = _read_with_wave(f, path, fmt)
                pcm = _linear(raw, fmt.bits // 8)
            elif fmt.tag in (WAVE_FORMAT_ALAW, WAVE_FORMAT_MULAW) and fmt.bits == 8:
                raw = _read_data(f, path, fmt)
                codec = PCMA if fmt.tag == WAVE_FORMAT_ALAW else PCMU
                pcm = codec.decoder().decode(raw) if raw else np.zeros(0, dtype=np.int16)
            else:
                raise PromptError(
                    f"{path}: unsupported WAV encoding (format tag 0x{fmt.tag:04x}, "
                    f"{fmt.bits} bits); use PCM, A-law or mu-law"
                )
    except OSError as exc:
        raise PromptError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    pcm = _mono(pcm, fmt.channels)
    if len(pcm) == 0:
        raise PromptError(f"{path}: no audio (empty data chunk)")
    if fmt.rate != ENGINE_RATE:
        pcm = _to_engine_rate(pcm, fmt.rate, path)
    pcm = np.ascontiguousarray(pcm, dtype=np.int16)
    pcm.setflags(write=False)
    return pcm


class _Fmt:
    __slots__ = ("tag", "channels", "rate", "bits", "extensible")

    def __init__(self, tag: int, channels: int, rate: int, bits: int, extensible: bool) -> None:
        self.tag, self.channels, self.rate = tag, channels, rate
        self.bits, self.extensible = bits, extensible

    @property
    def frame_bytes(self) -> int:  # one sample of every channel
        return self.channels * max(self.bits // 8, 1)


def _chunks(f):
    """Yield (chunk id, size, offset of the body) for each chunk after the RIFF header."""
    pos = 12
    while True:
        f.seek(pos)
        header = f.read(8)
        if len(header) < 8:
            return
        cid, size = struct.unpack("<4sI", header)
        yield cid, size, pos + 8
        pos += 8 + size + (size & 1)  # chunks are padded to even length


def _read_fmt(f, path: Path) -> _Fmt:
    for cid, size, _body in _chunks(f):
        if cid == b"fmt ":
            data = f.read(size)
            if len(data) < 16:
                raise PromptError(f"{path}: truncated WAV header (fmt chunk)")
            tag, channels, rate, _avg, _align, bits = struct.unpack("<HHIIHH", data[:16])
            extensible = tag == WAVE_FORMAT_EXTENSIBLE
            if extensible:
                if len(data) < 40:
                    raise PromptError(f"{path}: truncated WAV header (extensible fmt)")
                tag = struct.unpack("<H", data[24:26])[0]  # first two bytes of the sub-format GUID
            if channels == 0 or not MIN_RATE <= rate <= MAX_RATE:
                raise PromptError(f"{path}: implausible WAV header ({channels} ch, {rate} Hz)")
            return _Fmt(tag, channels, rate, bits, extensible)
        if cid == b"data":
            break
    raise PromptError(f"{path}: truncated WAV header (no fmt chunk)")


def _max_frames(rate: int) -> int:
    return MAX_PROMPT_SECONDS * rate


def _check_length(raw: bytes, fmt: _Fmt, path: Path) -> bytes:
    raw = raw[: len(raw) - len(raw) % fmt.frame_bytes]  # a sample cut by truncation
    if len(raw) // fmt.frame_bytes > _max_frames(fmt.rate):
        raise PromptError(
            f"{path}: longer than the {MAX_PROMPT_SECONDS // 60} minute prompt limit"
            if MAX_PROMPT_SECONDS >= 60
            else f"{path}: longer than the {MAX_PROMPT_SECONDS} s prompt limit"
        )
    return raw


def _read_with_wave(f, path: Path, fmt: _Fmt) -> bytes:
    try:
        with wave.open(f, "rb") as w:
            # One frame past the limit: the header's count may be wrong after a crash.
            raw = w.readframes(_max_frames(fmt.rate) + 1)
    except (wave.Error, EOFError, struct.error) as exc:
        raise PromptError(f"{path}: bad WAV file ({exc or 'truncated header'})") from exc
    return _check_length(raw, fmt, path)


def _read_data(f, path: Path, fmt: _Fmt) -> bytes:
    for cid, size, _body in _chunks(f):
        if cid == b"data":
            limit = (_max_frames(fmt.rate) + 1) * fmt.frame_bytes
            # A size of 0 or past the end (a file cut by a crash): read what is there.
            return _check_length(f.read(min(size, limit) if size else limit), fmt, path)
    raise PromptError(f"{path}: no data chunk")


def _linear(raw: bytes, width: int) -> np.ndarray:
    """Little-endian PCM samples of `width` bytes to int16 (the top 16 bits)."""
    if width == 1:  # 8-bit WAV is unsigned
        return ((np.frombuffer(raw, dtype=np.uint8).astype(np.int16) - 128) << 8).astype(np.int16)
    if width == 2:
        return np.frombuffer(raw, dtype="<i2").astype(np.int16)
    if width == 3:
        triples = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        return (triples[:, 1].astype(np.uint16) | (triples[:, 2].astype(np.uint16) << 8)).view(
            np.int16
        )
    return (np.frombuffer(raw, dtype="<i4") >> 16).astype(np.int16)


def _mono(samples: np.ndarray, channels: int) -> np.ndarray:
    if channels == 1 or len(samples) == 0:
        return samples
    frames = samples.reshape(-1, channels).astype(np.int32)
    return (frames.sum(axis=1) // channels).astype(np.int16)


def _to_engine_rate(pcm: np.ndarray, rate: int, path: Path) -> np.ndarray:
    try:
        out = resample(pcm, rate, ENGINE_RATE)
    except ValueError as exc:  # CodecError and friends derive from ValueError
        raise PromptError(f"{path}: cannot convert {rate} Hz to {ENGINE_RATE} Hz ({exc})") from exc
    return np.asarray(out, dtype=np.int16)


# -- playing ---------------------------------------------------------------------------------


class Player:
    """Plays a playlist of prompts 20 ms at a time."""

    def __init__(
        self, prompts: Sequence[np.ndarray], loop: bool = False, stop_on_dtmf: bool = True
    ) -> None:
        checked = []
        for i, prompt in enumerate(prompts):
            prompt = np.asarray(prompt)
            if prompt.ndim != 1 or prompt.dtype != np.int16:
                raise PromptError(
                    f"prompt {i} is {prompt.dtype}{prompt.shape}; expected 1-D int16 PCM"
                )
            if len(prompt):
                checked.append(prompt)
        self._prompts = checked
        self.loop = loop
        self.stop_on_dtmf = stop_on_dtmf
        self._index = 0  # current prompt
        self._offset = 0  # next sample in it
        self._stopped = False
        self.interrupted = False
        self.samples_played = 0

    @property
    def done(self) -> bool:
        return self._stopped or self._index == len(self._prompts)

    def interrupt(self) -> bool:
        """A DTMF digit arrived: stop if this player stops on DTMF. True if it stopped now."""
        if self.done or not self.stop_on_dtmf:
            return False
        self._stopped = self.interrupted = True
        return True

    def stop(self) -> None:
        self._stopped = True

    def next_frame(self) -> Frame | None:
        """The next 20 ms, or None once the playlist is over (or was stopped)."""
        if self.done:
            return None
        prompt = self._prompts[self._index]
        end = self._offset + FRAME_SAMPLES
        if end <= len(prompt):  # the common case: a slice of one prompt, no copy
            frame = prompt[self._offset : end]
            self._offset = end
            if end == len(prompt):
                self._next_prompt()
        else:  # across a prompt edge or the loop point; zero-padded at the very end
            frame = np.zeros(FRAME_SAMPLES, dtype=np.int16)
            filled = 0
            while filled < FRAME_SAMPLES and self._index < len(self._prompts):
                prompt = self._prompts[self._index]
                n = min(FRAME_SAMPLES - filled, len(prompt) - self._offset)
                frame[filled : filled + n] = prompt[self._offset : self._offset + n]
                filled += n
                self._offset += n
                if self._offset == len(prompt):
                    self._next_prompt()
        self.samples_played += FRAME_SAMPLES
        return frame

    def _next_prompt(self) -> None:
        self._index += 1
        self._offset = 0
        if self._index == len(self._prompts) and self.loop:
            self._index = 0
