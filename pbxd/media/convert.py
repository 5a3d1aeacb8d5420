"""Uploaded WAV files to the engine's prompt format: bytes in, 8 kHz mono 16-bit PCM WAV out.

Pure: no file or network I/O, no clock. `convert_wav(data)` reads the RIFF chunks itself (the
stdlib `wave` module refuses IEEE float, A-law and WAVE_FORMAT_EXTENSIBLE), decodes, averages
the channels to mono, resamples with an anti-aliasing low-pass (pbxd.media.resample: Kaiser
windowed sinc, polyphase, 70 dB down at 4 kHz) and clips to 16 bits.

Accepted (RFC 2361 format tags, and WAVE_FORMAT_EXTENSIBLE wrapping them):
    PCM (1)          8-bit unsigned, 16/24/32-bit signed little-endian
    IEEE float (3)   32 or 64-bit, full scale +-1.0 (louder samples are clipped)
    A-law (6), mu-law (7)   8-bit G.711
8000 to 48000 Hz, 1 to 8 channels, at most MAX_SECONDS of audio.

Tolerated: extra chunks (LIST, fact, cue ...) before or after the audio, a missing pad byte
after an odd-sized chunk, a wrong RIFF size, a data size of 0xFFFFFFFF (a writer that could
not seek back: the audio runs to the end), a partial last sample frame. Anything else raises
AudioFormatError with a message meant for the person who uploaded the file.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass

import numpy as np

from .codecs import ALAW_DECODE, MULAW_DECODE
from .frames import ENGINE_RATE
from .resample import Resampler

MAX_SECONDS = 600
MIN_RATE = 8000
MAX_RATE = 48000
MAX_CHANNELS = 8

# RFC 2361 appendix A
WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_IEEE_FLOAT = 0x0003
WAVE_FORMAT_ALAW = 0x0006
WAVE_FORMAT_MULAW = 0x0007
WAVE_FORMAT_EXTENSIBLE = 0xFFFE
# The 14 bytes after the format tag in a KSDATAFORMAT_SUBTYPE_* GUID (mmreg.h: the tag as
# Data1, then -0000-0010-8000-00aa00389b71).
_GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")
_UNKNOWN_SIZE = 0xFFFFFFFF
# Chunk ids seen in WAV files, to find the next chunk after a missing pad byte.
_KNOWN_CHUNKS = frozenset(
    {b"fmt ", b"data", b"LIST", b"fact", b"JUNK", b"PAD ", b"cue ", b"smpl", b"inst", b"bext"}
    | {b"id3 ", b"ID3 ", b"PEAK", b"acid", b"iXML", b"cart", b"DISP", b"plst", b"labl"}
)

# Names for the refusal message of encodings people actually try to upload.
_ENCODING_NAMES = {
    0x0002: "Microsoft ADPCM",
    0x0011: "IMA ADPCM",
    0x0022: "TrueSpeech",
    0x0031: "GSM 6.10",
    0x0040: "G.721 ADPCM",
    0x0050: "MPEG audio",
    0x0055: "MP3 in WAV",
    0x0064: "G.726 ADPCM",
    0x0160: "WMA",
    0x0161: "WMA",
    0x0162: "WMA Pro",
    0x2000: "AC-3",
    0x2001: "DTS",
    0xF1AC: "FLAC in WAV",
}

_SUPPORTED_BITS = {
    WAVE_FORMAT_PCM: (8, 16, 24, 32),
    WAVE_FORMAT_IEEE_FLOAT: (32, 64),
    WAVE_FORMAT_ALAW: (8,),
    WAVE_FORMAT_MULAW: (8,),
}

# Frames decoded and resampled at a time: bounds the float working set to a few MB whatever
# the channel count.
_BLOCK_FRAMES = 1 << 15


class AudioFormatError(ValueError):
    """The upload is not audio this converter reads; `str()` says why in plain words."""


@dataclass(frozen=True)
class WavFormat:
    """What the fmt chunk says, after unwrapping WAVE_FORMAT_EXTENSIBLE."""

    encoding: int  # format tag: WAVE_FORMAT_PCM, _IEEE_FLOAT, _ALAW or _MULAW
    channels: int
    rate: int  # Hz
    bits: int  # bits per sample (the container size)

    @property
    def frame_bytes(self) -> int:
        """Bytes of one sample of every channel."""
        return self.channels * self.bits // 8


@dataclass(frozen=True)
class WavAudio:
    """A parsed WAV file: its format and its audio bytes (whole frames only)."""

    format: WavFormat
    data: memoryview

    @property
    def frames(self) -> int:
        return len(self.data) // self.format.frame_bytes

    @property
    def duration(self) -> float:
        return self.frames / self.format.rate


# -- public API -------------------------------------------------------------------------------


def convert_wav(data: bytes) -> bytes:
    """Any accepted WAV file -> the same audio as an 8 kHz mono 16-bit PCM WAV file."""
    return encode_wav(to_engine_pcm(parse_wav(data)))


def parse_wav(data: bytes) -> WavAudio:
    """Find and check the fmt and data chunks; AudioFormatError for anything not accepted."""
    view = memoryview(data)
    if len(view) == 0:
        raise AudioFormatError("empty: the file has no bytes")
    if len(view) < 12 or bytes(view[:4]) != b"RIFF" or bytes(view[8:12]) != b"WAVE":
        raise AudioFormatError("not a WAV file (it does not start with a RIFF/WAVE header)")
    fmt_body: memoryview | None = None
    audio: memoryview | None = None
    for chunk_id, body, complete in _chunks(view):
        if chunk_id == b"fmt " and fmt_body is None:
            if not complete:
                raise AudioFormatError("truncated WAV file: the file ends inside its header")
            fmt_body = body
        elif chunk_id == b"data" and audio is None:
            if not complete:
                raise AudioFormatError(
                    f"truncated WAV file: the audio data is cut short ({len(body)} bytes of "
                    f"{_declared_size(view, body)} present)"
                )
            audio = body
    if fmt_body is None:
        raise AudioFormatError("not a WAV file (no fmt chunk describing the audio)")
    fmt = _parse_fmt(fmt_body)
    if audio is None:
        raise AudioFormatError("truncated WAV file: no audio data (no data chunk)")
    audio = audio[: len(audio) - len(audio) % fmt.frame_bytes]  # a partial last frame
    wav = WavAudio(fmt, audio)
    if wav.frames == 0:
        raise AudioFormatError("empty: the WAV file has no audio")
    if wav.duration > MAX_SECONDS:
        raise AudioFormatError(f"too long: {math.ceil(wav.duration)} s, at most {MAX_SECONDS} s")
    return wav


def to_engine_pcm(wav: WavAudio) -> np.ndarray:
    """The audio as mono int16 at ENGINE_RATE, resampled with an anti-aliasing low-pass."""
    fmt = wav.format
    if fmt.rate == ENGINE_RATE:
        blocks = [_to_int16(block) for block in _mono_blocks(wav)]
        return np.concatenate(blocks)
    resampler = Resampler(fmt.rate, ENGINE_RATE)
    # The linear-phase filter delays its output: drop that many samples at the start and feed
    # silence at the end, so that output sample n is the input at time n / ENGINE_RATE.
    skip = round(resampler.delay)
    wanted = round(wav.frames * ENGINE_RATE / fmt.rate)
    parts = [resampler.process(block) for block in _mono_blocks(wav)]
    produced = sum(len(part) for part in parts)
    while produced < skip + wanted:
        missing = skip + wanted - produced
        tail = resampler.process(np.zeros(math.ceil(missing * fmt.rate / ENGINE_RATE) + 1))
        parts.append(tail)
        produced += len(tail)
    return np.concatenate(parts)[skip : skip + wanted]


def encode_wav(pcm: np.ndarray, rate: int = ENGINE_RATE) -> bytes:
    """Mono int16 samples as a canonical 44-byte-header PCM WAV file."""
    samples = np.ascontiguousarray(pcm, dtype="<i2").tobytes()
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(samples),
        b"WAVE",
        b"fmt ",
        16,
        WAVE_FORMAT_PCM,
        1,
        rate,
        rate * 2,
        2,
        16,
        b"data",
        len(samples),
    )
    return header + samples + (b"\x00" if len(samples) & 1 else b"")


# -- RIFF chunks ------------------------------------------------------------------------------


def _chunks(view: memoryview):
    """Yield (chunk id, body, complete) for each chunk after the 12-byte RIFF/WAVE header.

    `complete` is False for a chunk whose declared size runs past the end of the file (its
    body is then what is there). A data chunk of size 0xFFFFFFFF runs to the end of the file.
    """
    pos = 12
    end = len(view)
    while pos + 8 <= end:
        chunk_id = bytes(view[pos : pos + 4])
        (size,) = struct.unpack_from("<I", view, pos + 4)
        start = pos + 8
        if chunk_id == b"data" and size == _UNKNOWN_SIZE:
            yield chunk_id, view[start:end], True
            return
        stop = start + size
        yield chunk_id, view[start : min(stop, end)], stop <= end
        if stop >= end:
            return
        pos = stop
        # RIFF pads chunks to even length; some writers forget the pad byte.
        if size & 1 and _chunk_likeness(view, stop + 1) >= _chunk_likeness(view, stop):
            pos += 1


def _chunk_likeness(view: memoryview, pos: int) -> int:
    """How much `pos` looks like a chunk header: 2 for a well-known chunk id, 1 for four
    printable ASCII bytes with a size that fits in the file, 0 otherwise."""
    head = bytes(view[pos : pos + 8])
    if len(head) < 8 or not all(0x20 <= b < 0x7F for b in head[:4]):
        return 0
    if head[:4] in _KNOWN_CHUNKS:
        return 2
    (size,) = struct.unpack_from("<I", head, 4)
    return 1 if pos + 8 + size <= len(view) else 0


def _declared_size(view: memoryview, body: memoryview) -> int:
    """The size field of the chunk whose (cut) body is `body`."""
    offset = len(view) - len(body) - 4
    return struct.unpack_from("<I", view, offset)[0]


def _parse_fmt(body: memoryview) -> WavFormat:
    if len(body) < 16:
        raise AudioFormatError("not a WAV file (its fmt chunk is too short)")
    tag, channels, rate, _byte_rate, _block_align, bits = struct.unpack_from("<HHIIHH", body)
    if tag == WAVE_FORMAT_EXTENSIBLE:
        if len(body) < 40:
            raise AudioFormatError("not a WAV file (its extensible fmt chunk is too short)")
        guid = bytes(body[24:40])
        if guid[2:] != _GUID_TAIL:
            raise AudioFormatError(
                f"unsupported WAV encoding: extensible sub-format {guid.hex()} "
                "(use PCM, float, A-law or mu-law)"
            )
        tag = struct.unpack_from("<H", guid)[0]
    if tag not in _SUPPORTED_BITS:
        name = _ENCODING_NAMES.get(tag)
        raise AudioFormatError(
            f"unsupported WAV encoding: format {tag}"
            + (f" ({name})" if name else "")
            + "; use PCM, float, A-law or mu-law"
        )
    if bits not in _SUPPORTED_BITS[tag]:
        kind = {WAVE_FORMAT_PCM: "PCM", WAVE_FORMAT_IEEE_FLOAT: "float"}.get(tag, "G.711")
        raise AudioFormatError(
            f"unsupported WAV encoding: {bits}-bit {kind} "
            f"(use {', '.join(str(b) for b in _SUPPORTED_BITS[tag])}-bit)"
        )
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioFormatError(f"unsupported: {channels} channels (1 to {MAX_CHANNELS})")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioFormatError(f"unsupported sample rate: {rate} Hz ({MIN_RATE} to {MAX_RATE} Hz)")
    return WavFormat(tag, channels, rate, bits)


# -- decoding ---------------------------------------------------------------------------------


def _mono_blocks(wav: WavAudio):
    """The audio as float64 mono blocks at 16-bit scale (full scale = 32768), averaged over
    the channels."""
    fmt = wav.format
    step = _BLOCK_FRAMES * fmt.frame_bytes
    for start in range(0, len(wav.data), step):
        samples = _decode(wav.data[start : start + step], fmt)
        yield samples.reshape(-1, fmt.channels).mean(axis=1)


def _decode(raw: memoryview, fmt: WavFormat) -> np.ndarray:
    """Interleaved samples as float64 at 16-bit scale, keeping the precision of 24/32-bit."""
    if fmt.encoding == WAVE_FORMAT_ALAW:
        return ALAW_DECODE.take(np.frombuffer(raw, np.uint8)).astype(np.float64)
    if fmt.encoding == WAVE_FORMAT_MULAW:
        return MULAW_DECODE.take(np.frombuffer(raw, np.uint8)).astype(np.float64)
    if fmt.encoding == WAVE_FORMAT_IEEE_FLOAT:
        floats = np.frombuffer(raw, "<f4" if fmt.bits == 32 else "<f8").astype(np.float64)
        # NaN and infinities are not sound: silence them rather than let them spread.
        return np.nan_to_num(floats, nan=0.0, posinf=0.0, neginf=0.0) * 32768.0
    if fmt.bits == 8:  # 8-bit WAV is unsigned, 128 = silence
        return (np.frombuffer(raw, np.uint8).astype(np.float64) - 128.0) * 256.0
    if fmt.bits == 16:
        return np.frombuffer(raw, "<i2").astype(np.float64)
    if fmt.bits == 24:
        triples = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        value = triples[:, 0] | (triples[:, 1] << 8) | (triples[:, 2] << 16)
        value = np.where(value >= 1 << 23, value - (1 << 24), value)  # sign of bit 23
        return value.astype(np.float64) / 256.0
    return np.frombuffer(raw, "<i4").astype(np.float64) / 65536.0


def _to_int16(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(samples), -32768, 32767).astype(np.int16)
