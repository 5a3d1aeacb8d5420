"""DTMF in band: detection with spandsp's DTMF receiver, tone generation with numpy.

Analog lines (FXO/FXS) and phones that send DTMF as audio need the tones found in the audio.
`InbandDtmfDetector` uses Debian's libspandsp2 through the cffi binding of native.py (ABI
mode: no compiler and no -dev headers).

`DtmfToneGenerator` is pure numpy: the Q.23 frequency pairs at a given level and twist.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import native
from .dtmf import DTMF_DIGITS, DtmfError, event_code
from .frames import ENGINE_RATE, FRAME_SAMPLES, Frame

MAX_DIGITS_PER_CALL = 128  # spandsp's MAX_DTMF_DIGITS buffer


class SpandspUnavailableError(DtmfError):
    """libspandsp.so.2 cannot be loaded: the Debian package libspandsp2 is missing."""


def _load() -> tuple[Any, Any]:
    """(ffi, lib) of libspandsp, loaded on first use so that importing never fails."""
    try:
        return native.spandsp_ffi(), native.spandsp()
    except native.NativeLibraryError as exc:
        raise SpandspUnavailableError(f"in-band DTMF detection: {exc}") from exc


class InbandDtmfDetector:
    """Finds DTMF digits in 8 kHz int16 audio, frame by frame, with state across frames.

    `process(frame)` returns the digits whose tones were confirmed in this frame; a key held
    down is reported once, when it is recognised (about 40 ms into the tone), so a tone that
    starts mid-frame or spans frames is still one digit. `close()` frees the native state.

    Options map to spandsp's `dtmf_rx_parms`; None keeps the library's default (its header
    documents 8 dB normal twist, 4 dB reverse twist, detection down to 26 dB attenuation).
    `filter_dial_tone` turns on spandsp's dial tone (350/440 Hz) filter.
    """

    def __init__(
        self,
        *,
        filter_dial_tone: bool = False,
        twist_db: int | None = None,
        reverse_twist_db: int | None = None,
        threshold_dbm0: int | None = None,
    ) -> None:
        ffi, lib = _load()
        self._ffi = ffi
        self._lib = lib
        state = lib.dtmf_rx_init(ffi.NULL, ffi.NULL, ffi.NULL)
        if state == ffi.NULL:
            raise DtmfError("dtmf_rx_init failed (out of memory)")
        self._state = ffi.gc(state, lib.dtmf_rx_free)
        self._digits = ffi.new("char[]", MAX_DIGITS_PER_CALL + 1)  # dtmf_rx_get writes a NUL
        # dtmf_rx_parms leaves a value unchanged when it is < 0 (threshold: <= -99).
        lib.dtmf_rx_parms(
            self._state,
            1 if filter_dial_tone else 0,
            -1 if twist_db is None else int(twist_db),
            -1 if reverse_twist_db is None else int(reverse_twist_db),
            -99 if threshold_dbm0 is None else int(threshold_dbm0),
        )

    def process(self, frame: Frame) -> list[str]:
        if self._state is None:
            raise DtmfError("detector is closed")
        samples = np.ascontiguousarray(frame, dtype=np.int16)
        if samples.ndim != 1:
            raise DtmfError(f"a frame is one channel of samples, got shape {samples.shape}")
        if samples.size:
            buffer = self._ffi.from_buffer("int16_t[]", samples)
            self._lib.dtmf_rx(self._state, buffer, samples.size)
        found = self._lib.dtmf_rx_get(self._state, self._digits, MAX_DIGITS_PER_CALL)
        if not found:
            return []
        return [chr(c) for c in self._ffi.buffer(self._digits, found)[:]]

    def close(self) -> None:
        if self._state is not None:
            self._ffi.release(self._state)  # runs dtmf_rx_free now
            self._state = None

    def __enter__(self) -> InbandDtmfDetector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# ITU-T Q.23: low (row) group and high (column) group frequencies, in Hz.
DTMF_LOW_FREQUENCIES = (697, 770, 852, 941)
DTMF_HIGH_FREQUENCIES = (1209, 1336, 1477, 1633)
_KEYPAD = ("123A", "456B", "789C", "*0#D")
DTMF_FREQUENCIES: dict[str, tuple[int, int]] = {
    key: (DTMF_LOW_FREQUENCIES[row], DTMF_HIGH_FREQUENCIES[col])
    for row, keys in enumerate(_KEYPAD)
    for col, key in enumerate(keys)
}
assert sorted(DTMF_FREQUENCIES) == sorted(DTMF_DIGITS)

# G.711's digital milliwatt: a full-scale sine is +3.14 dBm0 (the mu-law convention; A-law's
# is 3.17), so 0 dBm0 is a sine of amplitude 32767 * 10^(-3.14/20).
FULL_SCALE_DBM0 = 3.14


def sine_amplitude(level_dbm0: float) -> float:
    """Peak amplitude of a sine at `level_dbm0` in 16-bit linear PCM."""
    return 32767.0 * 10.0 ** ((level_dbm0 - FULL_SCALE_DBM0) / 20.0)


class DtmfToneGenerator:
    """DTMF tones as int16 audio (pure numpy).

    `level_dbm0` is the level of the low-group tone; the high-group tone is `twist_db` louder
    (positive twist, as phones send to make up for the line's loss of high frequencies).
    Defaults: -10 dBm0 low, -8 dBm0 high.
    """

    def __init__(
        self, rate: int = ENGINE_RATE, level_dbm0: float = -10.0, twist_db: float = 2.0
    ) -> None:
        low = sine_amplitude(level_dbm0)
        high = sine_amplitude(level_dbm0 + twist_db)
        if low + high > 32767:
            raise DtmfError(f"level {level_dbm0} dBm0 with twist {twist_db} dB would clip")
        self.rate = rate
        self.low_amplitude = low
        self.high_amplitude = high

    def samples(self, duration_ms: float) -> int:
        return round(duration_ms * self.rate / 1000)

    def tone(self, digit: str, duration_ms: float) -> np.ndarray:
        """One digit's tone pair, `duration_ms` long, starting at phase 0."""
        low_hz, high_hz = DTMF_FREQUENCIES[DTMF_DIGITS[event_code(digit)]]
        t = np.arange(self.samples(duration_ms)) / self.rate
        wave = self.low_amplitude * np.sin(2 * np.pi * low_hz * t)
        wave += self.high_amplitude * np.sin(2 * np.pi * high_hz * t)
        return np.round(wave).astype(np.int16)

    def silence(self, duration_ms: float) -> np.ndarray:
        return np.zeros(self.samples(duration_ms), dtype=np.int16)

    def sequence(self, digits: str, on_ms: float = 100, off_ms: float = 100) -> np.ndarray:
        """Digits as dialled: each tone `on_ms`, followed by `off_ms` of silence."""
        parts: list[np.ndarray] = []
        for digit in digits:
            parts.append(self.tone(digit, on_ms))
            parts.append(self.silence(off_ms))
        return np.concatenate(parts) if parts else self.silence(0)


def split_frames(signal: np.ndarray, frame_samples: int = FRAME_SAMPLES) -> list[Frame]:
    """Cut audio into engine frames; the last one is padded with silence."""
    signal = np.asarray(signal, dtype=np.int16)
    padding = -signal.size % frame_samples
    if padding:
        signal = np.concatenate([signal, np.zeros(padding, dtype=np.int16)])
    return [signal[i : i + frame_samples] for i in range(0, signal.size, frame_samples)]
