"""Audio codecs by SDP encoding name: G.711 (numpy tables), G.722 (spandsp), GSM 06.10 (libgsm).

A `Codec` describes one codec as SDP and RTP see it; `codec.encoder()` / `codec.decoder()`
make per-stream state. Encoders take int16 PCM at `codec.sample_rate` and return the RTP
payload; decoders take a payload and return int16 PCM at `codec.sample_rate`. The engine
resamples to ENGINE_RATE itself (decoder -> Resampler -> encoder).

A payload that cannot be decoded (wrong length, bad GSM signature) raises `CodecError`, which
the RTP adapter logs at debug level and drops; nothing here crashes a call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from pbxd.media import native
from pbxd.media.frames import FRAME_MS


class CodecError(ValueError):
    """A payload or PCM block that this codec cannot take."""


class Encoder(Protocol):
    def encode(self, pcm: np.ndarray) -> bytes: ...

    def close(self) -> None: ...


class Decoder(Protocol):
    def decode(self, payload: bytes) -> np.ndarray: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Codec:
    """One audio codec as negotiated in SDP (RFC 4566 rtpmap) and carried in RTP (RFC 3551).

    clock_rate is the RTP timestamp clock and the rate in rtpmap; sample_rate is the rate of the
    PCM that encoder and decoder exchange. They differ for G.722: RFC 3551 section 4.5.2 keeps
    its RTP clock at 8000 for historical reasons although it samples at 16000.
    """

    name: str
    clock_rate: int
    sample_rate: int
    static_payload_type: int | None
    frame_samples: int  # PCM samples at sample_rate in one 20 ms frame
    bytes_per_frame: int | None  # payload bytes of one 20 ms frame, when fixed
    samples_per_block: int = 1  # encoders take a multiple of this many samples
    _make_encoder: Callable[[], Encoder] | None = field(default=None, repr=False, compare=False)
    _make_decoder: Callable[[], Decoder] | None = field(default=None, repr=False, compare=False)

    @property
    def timestamp_step(self) -> int:
        """RTP timestamp increment for one 20 ms frame (160 for G.722 too)."""
        return self.clock_rate * FRAME_MS // 1000

    def encoder(self) -> Encoder:
        """New encoder state for one outgoing stream."""
        if self._make_encoder is None:
            raise CodecError(f"no encoder for {self.name}")
        return self._make_encoder()

    def decoder(self) -> Decoder:
        """New decoder state for one incoming stream."""
        if self._make_decoder is None:
            raise CodecError(f"no decoder for {self.name}")
        return self._make_decoder()


def _pcm_input(pcm: np.ndarray, codec: str, block: int = 1) -> np.ndarray:
    pcm = np.asarray(pcm)
    if pcm.ndim != 1 or pcm.dtype != np.int16:
        raise TypeError(f"{codec} encodes 1-D int16 PCM, got {pcm.dtype} with shape {pcm.shape}")
    if len(pcm) % block:
        raise CodecError(f"{codec} encodes blocks of {block} samples, got {len(pcm)}")
    return pcm


def _payload_input(payload: bytes, codec: str, block: int = 1) -> bytes:
    if not payload:
        raise CodecError(f"empty {codec} payload")
    if len(payload) % block:
        raise CodecError(f"{codec} payload of {len(payload)} bytes is not a multiple of {block}")
    return payload


# --- G.711 (ITU-T G.711, with the input conventions of the ITU-T G.191 reference code) -------
#
# Decoding is a 256-entry table of the reconstruction values of G.711 tables 2a (mu-law) and
# 1a (A-law), scaled to 16 bits. Encoding is a 65536-entry table indexed by the 16-bit sample
# seen as unsigned. Negative inputs are quantised by their one's complement (-x - 1), as G.191
# does, so every decoded value encodes back to its own code (except mu-law's negative zero).


def _top_bit(values: np.ndarray) -> np.ndarray:
    """Index of the highest set bit of positive integers (exact, unlike floor(log2))."""
    return np.frexp(values.astype(np.float64))[1].astype(np.int32) - 1


def _mulaw_decode_table() -> np.ndarray:
    codes = np.arange(256)
    inverted = ~codes & 0xFF  # mu-law octets are sent with all bits inverted
    segment = (inverted >> 4) & 0x07
    mantissa = inverted & 0x0F
    # Reconstruction level: (2 * mantissa + 33) * 2^segment - 33, in 14-bit units, times 4.
    magnitude = (((mantissa << 3) + 0x84) << segment) - 0x84
    return np.where(inverted & 0x80, -magnitude, magnitude).astype(np.int16)


def _mulaw_encode_table() -> np.ndarray:
    x = np.arange(65536, dtype=np.int32)
    x = np.where(x >= 32768, x - 65536, x)  # index is the int16 sample viewed as uint16
    negative = x < 0
    magnitude = np.where(negative, ~x, x) >> 2  # 14-bit magnitude (one's complement if < 0)
    biased = np.minimum(magnitude + 33, 0x1FFF)  # 33 = the mu-law bias in 14-bit units
    segment = _top_bit(biased) - 5  # biased in [32, 8191]: 0..7
    mantissa = (biased >> (segment + 1)) & 0x0F
    code = 0x7F ^ ((segment << 4) | mantissa)
    return np.where(negative, code, code | 0x80).astype(np.uint8)


def _alaw_decode_table() -> np.ndarray:
    codes = np.arange(256) ^ 0x55  # A-law octets are sent with the even bits inverted
    segment = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = np.where(
        segment == 0,
        (mantissa << 4) + 8,
        ((mantissa << 4) + 0x108) << np.maximum(segment - 1, 0),
    )
    return np.where(codes & 0x80, magnitude, -magnitude).astype(np.int16)


def _alaw_encode_table() -> np.ndarray:
    x = np.arange(65536, dtype=np.int32)
    x = np.where(x >= 32768, x - 65536, x)
    negative = x < 0
    magnitude = np.where(negative, ~x, x) >> 4  # 12-bit magnitude of the 13-bit A-law input
    # Segments 0 and 1 share a step of one unit; each later segment doubles it.
    segment = np.maximum(_top_bit(np.maximum(magnitude, 1)) - 3, 0)
    mantissa = (magnitude >> np.maximum(segment - 1, 0)) & 0x0F
    code = (segment << 4) | mantissa
    code = np.where(negative, code, code | 0x80)
    return (code ^ 0x55).astype(np.uint8)


_INT16 = np.dtype(np.int16)
_UINT16 = np.dtype(np.uint16)
_UINT8 = np.dtype(np.uint8)


class _G711Encoder:
    def __init__(self, name: str, table: np.ndarray) -> None:
        self._name = name
        self._table = table

    def encode(self, pcm: np.ndarray) -> bytes:
        # The engine's frames pass the cheap identity tests; anything else gets the full check.
        if type(pcm) is not np.ndarray or pcm.dtype is not _INT16 or pcm.ndim != 1:
            pcm = _pcm_input(pcm, self._name)
        return self._table.take(pcm.view(_UINT16)).tobytes()  # take: cheaper than indexing

    def close(self) -> None:
        pass


class _G711Decoder:
    def __init__(self, name: str, table: np.ndarray) -> None:
        self._name = name
        self._table = table

    def decode(self, payload: bytes) -> np.ndarray:
        if not payload:
            raise CodecError(f"empty {self._name} payload")
        return self._table.take(np.frombuffer(payload, _UINT8))

    def close(self) -> None:
        pass


MULAW_DECODE = _mulaw_decode_table()
MULAW_ENCODE = _mulaw_encode_table()
ALAW_DECODE = _alaw_decode_table()
ALAW_ENCODE = _alaw_encode_table()
for _table in (MULAW_DECODE, MULAW_ENCODE, ALAW_DECODE, ALAW_ENCODE):
    _table.flags.writeable = False


def mulaw_encode(pcm: np.ndarray) -> bytes:
    """Stateless G.711 mu-law of int16 PCM (also for recorders and the WAV writer)."""
    return _G711Encoder("PCMU", MULAW_ENCODE).encode(pcm)


def mulaw_decode(data: bytes) -> np.ndarray:
    return MULAW_DECODE.take(np.frombuffer(data, _UINT8))


def alaw_encode(pcm: np.ndarray) -> bytes:
    """Stateless G.711 A-law of int16 PCM."""
    return _G711Encoder("PCMA", ALAW_ENCODE).encode(pcm)


def alaw_decode(data: bytes) -> np.ndarray:
    return ALAW_DECODE.take(np.frombuffer(data, _UINT8))


# --- G.722 at 64 kbit/s (spandsp) --------------------------------------------------------


class _G722Encoder:
    def __init__(self) -> None:
        self._state = native.G722Encoder(native.G722_RATE_64K, 0)

    def encode(self, pcm: np.ndarray) -> bytes:
        # One octet carries two 16 kHz samples (a 2-band sub-band ADPCM pair).
        return self._state.encode(_pcm_input(pcm, "G722", 2))

    def close(self) -> None:
        self._state.close()


class _G722Decoder:
    def __init__(self) -> None:
        self._state = native.G722Decoder(native.G722_RATE_64K, 0)

    def decode(self, payload: bytes) -> np.ndarray:
        return self._state.decode(_payload_input(payload, "G722"))

    def close(self) -> None:
        self._state.close()


# --- GSM 06.10 full rate (libgsm), RFC 3551 section 4.5.8 --------------------------------


class _GsmEncoder:
    def __init__(self) -> None:
        self._state = native.GsmCodecState()

    def encode(self, pcm: np.ndarray) -> bytes:
        return self._state.encode(_pcm_input(pcm, "GSM", native.GSM_FRAME_SAMPLES))

    def close(self) -> None:
        self._state.close()


class _GsmDecoder:
    def __init__(self) -> None:
        self._state = native.GsmCodecState()

    def decode(self, payload: bytes) -> np.ndarray:
        payload = _payload_input(payload, "GSM", native.GSM_FRAME_BYTES)
        try:
            return self._state.decode(payload)
        except ValueError as exc:  # bad signature nibble
            raise CodecError(str(exc)) from exc

    def close(self) -> None:
        self._state.close()


# --- registry ------------------------------------------------------------------------------

PCMU = Codec(
    "PCMU",
    8000,
    8000,
    0,
    160,
    160,
    _make_encoder=lambda: _G711Encoder("PCMU", MULAW_ENCODE),
    _make_decoder=lambda: _G711Decoder("PCMU", MULAW_DECODE),
)
PCMA = Codec(
    "PCMA",
    8000,
    8000,
    8,
    160,
    160,
    _make_encoder=lambda: _G711Encoder("PCMA", ALAW_ENCODE),
    _make_decoder=lambda: _G711Decoder("PCMA", ALAW_DECODE),
)
G722 = Codec(
    "G722",
    8000,
    16000,
    9,
    320,
    160,
    samples_per_block=2,
    _make_encoder=_G722Encoder,
    _make_decoder=_G722Decoder,
)
GSM = Codec(
    "GSM",
    8000,
    8000,
    3,
    160,
    33,
    samples_per_block=native.GSM_FRAME_SAMPLES,
    _make_encoder=_GsmEncoder,
    _make_decoder=_GsmDecoder,
)

SUPPORTED: tuple[Codec, ...] = (PCMU, PCMA, G722, GSM)
_BY_NAME = {(codec.name.upper(), codec.clock_rate): codec for codec in SUPPORTED}


def codec_for(name: str, clock_rate: int) -> Codec | None:
    """The codec of an SDP rtpmap `name/clock_rate` (case-insensitive), or None."""
    return _BY_NAME.get((name.upper(), clock_rate))


def codec_for_payload_type(payload_type: int) -> Codec | None:
    """The codec of a static RTP payload type (RFC 3551 table 4) when no rtpmap names one."""
    for codec in SUPPORTED:
        if codec.static_payload_type == payload_type:
            return codec
    return None
