"""Sample-rate conversion: a stateful polyphase resampler for streams and one-shot for prompts.

Both use one design: upsample by L, low-pass with a Kaiser-windowed sinc, downsample by M,
computed as a polyphase filter (only the outputs that are kept, only the taps that meet
non-zero inputs). The low-pass passes 85% of the lower of the two Nyquist frequencies
(3.4 kHz when one side is 8 kHz) and reaches its stop-band attenuation at that Nyquist
frequency, so nothing above it folds back below it.

`Resampler.process` keeps the last input samples and the output phase between calls, so a
stream cut into 20 ms frames gives the same samples as the whole stream at once: no clicks
at frame edges. 8000 <-> 16000 <-> 48000 all give whole frames (160 <-> 320 <-> 960).
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from math import ceil, gcd

import numpy as np

PASSBAND = 0.85  # of the lower Nyquist frequency
STOPBAND_DB = 70.0
MAX_PHASES = 1024  # larger L (exotic rate pairs) is approximated, see _ratio()


def _ratio(from_rate: int, to_rate: int) -> tuple[int, int]:
    """(L, M) with to/from = L/M; exact unless L would exceed MAX_PHASES.

    For a pair like 44101 -> 8000 the ratio is approximated by the closest fraction with at most
    MAX_PHASES phases (relative error below 1e-6: a pitch shift nobody hears).
    """
    divisor = gcd(from_rate, to_rate)
    up, down = to_rate // divisor, from_rate // divisor
    if up > MAX_PHASES:
        approx = Fraction(from_rate, to_rate).limit_denominator(MAX_PHASES)
        down, up = approx.numerator, approx.denominator
    return up, down


@lru_cache(maxsize=32)
def _design(up: int, down: int) -> tuple[np.ndarray, int]:
    """Polyphase bank (up x taps_per_phase, reversed for a dot product) and the delay in
    upsampled samples of the linear-phase low-pass."""
    # Normalised to the upsampled rate (cycles per sample): the lower Nyquist is 0.5 / max(L, M).
    nyquist = 0.5 / max(up, down)
    passband = PASSBAND * nyquist
    transition = nyquist - passband
    cutoff = (passband + nyquist) / 2
    # Kaiser's formulas for the window length and beta of a given attenuation and transition.
    beta = 0.1102 * (STOPBAND_DB - 8.7)
    length = int(ceil((STOPBAND_DB - 7.95) / (2.285 * 2 * np.pi * transition))) + 1
    length += 1 - length % 2  # odd: the delay is a whole number of upsampled samples
    taps_per_phase = -(-length // up)
    n = np.arange(length) - (length - 1) / 2
    h = 2 * cutoff * np.sinc(2 * cutoff * n) * np.kaiser(length, beta)
    h *= up / h.sum()  # each phase passes DC at unity gain after zero-stuffing
    h = np.concatenate([h, np.zeros(taps_per_phase * up - length)])
    # bank[p, k] = h[p + k*L]; reversed along k so that a window of inputs in time order
    # multiplies it directly.
    bank = h.reshape(taps_per_phase, up).T[:, ::-1].copy()
    bank.flags.writeable = False
    return bank, (length - 1) // 2


class Resampler:
    """Stateful resampler for one stream; `process` takes and returns int16 PCM.

    `delay` is the filter's delay in output samples (the stream comes out that much late).
    """

    def __init__(self, from_rate: int, to_rate: int) -> None:
        if from_rate <= 0 or to_rate <= 0:
            raise ValueError(f"bad sample rates {from_rate} -> {to_rate}")
        self.from_rate = from_rate
        self.to_rate = to_rate
        self._up, self._down = _ratio(from_rate, to_rate)
        self._passthrough = self._up == self._down
        self._bank, self._delay_up = _design(self._up, self._down)
        taps = self._bank.shape[1]
        self._history = np.zeros(taps - 1, dtype=np.float64)
        # Position of the next output, in upsampled samples, from the first new input sample.
        self._position = 0

    @property
    def delay(self) -> float:
        return 0.0 if self._passthrough else self._delay_up / self._down

    def reset(self) -> None:
        self._history[:] = 0
        self._position = 0

    def process(self, pcm: np.ndarray) -> np.ndarray:
        pcm = np.asarray(pcm)
        if pcm.ndim != 1:
            raise ValueError(f"mono PCM expected, got shape {pcm.shape}")
        if self._passthrough:
            return pcm.astype(np.int16, copy=True)
        out = self._process_float(pcm.astype(np.float64))
        return np.clip(np.rint(out), -32768, 32767).astype(np.int16)

    def _process_float(self, chunk: np.ndarray) -> np.ndarray:
        up, down = self._up, self._down
        if len(chunk) == 0:
            return np.zeros(0)
        available = len(chunk) * up
        count = max(0, -(-(available - self._position) // down))
        taps = self._bank.shape[1]
        signal = np.concatenate([self._history, chunk])
        out = np.empty(count)
        windows = np.lib.stride_tricks.sliding_window_view(signal, taps)
        # Outputs n, n + L, n + 2L... share a filter phase and their input windows start M
        # samples apart: each phase is one matrix-vector product over a strided view.
        for first in range(min(up, count)):
            position = self._position + first * down
            start = position // up + len(self._history) - (taps - 1)
            rows = windows[start::down][: len(range(first, count, up))]
            out[first::up] = rows @ self._bank[position % up]
        self._position += count * down - available
        self._history = signal[len(signal) - (taps - 1) :].copy() if taps > 1 else signal[:0]
        return out


def resample(pcm: np.ndarray, from_rate: int, to_rate: int, *, block: int = 8192) -> np.ndarray:
    """Convert a whole recording (a prompt) to another rate, without delay: output sample n
    is the input at time n / to_rate; the output has round(len * to/from) samples."""
    pcm = np.asarray(pcm)
    if pcm.ndim != 1:
        raise ValueError(f"mono PCM expected, got shape {pcm.shape}")
    if from_rate == to_rate:
        return pcm.astype(np.int16, copy=True)
    resampler = Resampler(from_rate, to_rate)
    up, down = resampler._up, resampler._down
    # Start at the filter's centre: the first output then sits at input time 0.
    resampler._position = resampler._delay_up
    wanted = int(round(len(pcm) * up / down))
    parts = []
    produced = 0
    source = pcm.astype(np.float64)
    for start in range(0, len(source), block):
        part = resampler._process_float(source[start : start + block])
        parts.append(part)
        produced += len(part)
    # Flush the filter's tail with silence.
    flush_block = max(block, 1)
    while produced < wanted:
        part = resampler._process_float(np.zeros(flush_block))
        parts.append(part)
        produced += len(part)
    out = np.concatenate(parts)[:wanted] if parts else np.zeros(0)
    return np.clip(np.rint(out), -32768, 32767).astype(np.int16)
