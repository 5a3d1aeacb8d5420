"""Packet loss concealment: fill the frames the jitter buffer reports lost.

`Concealer(sample_rate)` is fed every good frame through `good()` and asked for `conceal(n)`
when a frame is missing. At 8 kHz it uses spandsp's plc (pitch-synchronous repetition with
attenuation, designed for 8 kHz telephony speech); at other rates, or with `native=False`, a
numpy concealer that does the same in outline:

- pitch period from the normalised autocorrelation of the last 45 ms (2.5-15 ms lags);
- the last period repeated, its wrap-around point cross-faded over a quarter period;
- full level for 10 ms, then a linear fade to silence at 60 ms, silence after that;
- the first good frame after a loss cross-fades from the synthetic signal into the real one.

`good()` returns the frame to play: the same samples, except just after a loss where its start
is smoothed into the concealment. Outside a loss the concealer only needs the history, so good
frames are gathered and handed over a dozen at a time (one native call instead of twelve);
the history is complete before any concealment reads it.
"""

from __future__ import annotations

import numpy as np

from pbxd.media import native

MIN_PITCH_S = 0.0025  # 400 Hz
MAX_PITCH_S = 0.015  # 66 Hz
HISTORY_S = 3 * MAX_PITCH_S
FULL_LEVEL_S = 0.010
FADE_END_S = 0.060
RECOVERY_S = 0.004
HELD_FRAMES = 12  # good 20 ms frames gathered before they go into the history in one call

_INT16 = np.dtype(np.int16)


class Concealer:
    def __init__(self, sample_rate: int, *, native_plc: bool | None = None) -> None:
        """native_plc: None chooses spandsp at 8000 Hz and numpy otherwise; True insists on
        spandsp (8000 Hz only); False always uses numpy."""
        if sample_rate <= 0:
            raise ValueError(f"bad sample rate {sample_rate}")
        self.sample_rate = sample_rate
        if native_plc is None:
            native_plc = sample_rate == 8000
        if native_plc and sample_rate != 8000:
            raise ValueError("spandsp's PLC is built for 8000 Hz audio")
        self._impl: native.SpandspPlc | _PitchRepeater = (
            native.SpandspPlc() if native_plc else _PitchRepeater(sample_rate)
        )
        self._after_loss = False  # conceal() ran since the last good frame
        self._held = np.zeros(HELD_FRAMES * sample_rate // 50, dtype=np.int16)
        self._held_size = 0  # good samples not yet handed to the concealer's history

    @property
    def is_native(self) -> bool:
        return isinstance(self._impl, native.SpandspPlc)

    def good(self, frame: np.ndarray) -> np.ndarray:
        frame = _mono_int16(frame)
        if self._after_loss:
            # The first good frame after a concealment is smoothed into it: straight through.
            self._after_loss = False
            return self._impl.rx(frame)
        # Without a loss to recover from, rx() only appends to the history: hold the samples
        # and hand them over in one piece, before the next concealment (which reads the
        # history) or when the holding buffer is full. The same history results either way.
        size = len(frame)
        end = self._held_size + size
        if end > len(self._held):
            self._release_held()
            if size > len(self._held):
                return self._impl.rx(frame)
            end = size
        self._held[self._held_size : end] = frame
        self._held_size = end
        return frame

    def conceal(self, samples: int) -> np.ndarray:
        if samples < 0:
            raise ValueError("negative sample count")
        self._release_held()
        self._after_loss = True
        return self._impl.fillin(samples)

    def close(self) -> None:
        self._held_size = 0
        self._impl.close()

    def _release_held(self) -> None:
        if self._held_size:
            self._impl.rx(self._held[: self._held_size])
            self._held_size = 0


def _mono_int16(frame: np.ndarray) -> np.ndarray:
    if type(frame) is np.ndarray and frame.dtype is _INT16 and frame.ndim == 1:
        return frame  # the engine's frames: identity tests only
    frame = np.asarray(frame)
    if frame.ndim != 1 or frame.dtype != np.int16:
        raise TypeError(f"1-D int16 frame expected, got {frame.dtype} with shape {frame.shape}")
    return frame


class _PitchRepeater:
    """Pitch-period repetition in numpy, for any sample rate."""

    def __init__(self, sample_rate: int) -> None:
        self._rate = sample_rate
        self._min_lag = max(2, round(MIN_PITCH_S * sample_rate))
        self._max_lag = max(self._min_lag + 1, round(MAX_PITCH_S * sample_rate))
        self._history = np.zeros(round(HISTORY_S * sample_rate) + self._max_lag, np.float64)
        self._template: np.ndarray | None = None  # one period, wrap-around smoothed
        self._lost = 0  # samples concealed since the last good frame

    def close(self) -> None:
        pass

    def rx(self, frame: np.ndarray) -> np.ndarray:
        out = frame
        if self._lost and self._template is not None and len(frame):
            # Cross-fade from where the synthetic signal would have gone into the real one.
            span = min(len(frame), max(1, round(RECOVERY_S * self._rate)))
            synthetic = self._synthesise(span)
            ramp = (np.arange(span) + 1) / (span + 1)
            mixed = frame[:span] * ramp + synthetic * (1 - ramp)
            out = frame.copy()
            out[:span] = np.clip(np.rint(mixed), -32768, 32767).astype(np.int16)
        self._lost = 0
        self._template = None
        self._remember(out)
        return out

    def fillin(self, samples: int) -> np.ndarray:
        if self._template is None:  # first lost frame since good audio
            self._template = self._make_template()
        out = self._synthesise(samples)
        self._lost += samples
        return np.clip(np.rint(out), -32768, 32767).astype(np.int16)

    def _remember(self, frame: np.ndarray) -> None:
        keep = len(self._history)
        if len(frame) >= keep:
            self._history = frame[-keep:].astype(np.float64)
        else:
            self._history = np.concatenate([self._history[len(frame) :], frame])

    def _pitch(self) -> int:
        # Normalised correlation of the last max-lag samples with the same span `lag` earlier.
        history = self._history
        window = self._max_lag
        tail = history[-window:]
        lags = np.arange(self._min_lag, self._max_lag + 1)
        ends = len(history) - lags
        segments = np.lib.stride_tricks.sliding_window_view(history, window)[ends - window]
        energy = np.einsum("ij,ij->i", segments, segments)
        scores = (segments @ tail) / np.sqrt(np.maximum(energy, 1e-9) * max(tail @ tail, 1e-9))
        # Among the local maxima, the shortest lag nearly as good as the best: avoids settling
        # on a multiple of the pitch period (and on a lag beside the peak).
        inner = np.nonzero((scores[1:-1] >= scores[:-2]) & (scores[1:-1] >= scores[2:]))[0] + 1
        if len(inner) == 0:
            return int(lags[int(np.argmax(scores))])
        peaks = scores[inner]
        return int(lags[inner[np.nonzero(peaks >= peaks.max() - 0.05)[0][0]]])

    def _make_template(self) -> np.ndarray:
        lag = self._pitch()
        history = self._history
        template = history[-lag:].copy()
        # The period's end must flow into its own start when repeated: blend its last quarter
        # towards the samples that precede the period in the history.
        quarter = max(1, lag // 4)
        ramp = (np.arange(quarter) + 1) / (quarter + 1)
        before_start = history[len(history) - lag - quarter : len(history) - lag]
        template[-quarter:] = template[-quarter:] * (1 - ramp) + before_start * ramp
        return template

    def _synthesise(self, samples: int) -> np.ndarray:
        template = self._template
        if template is None:
            return np.zeros(samples)
        positions = self._lost + np.arange(samples)
        out = template[positions % len(template)]
        full = FULL_LEVEL_S * self._rate
        end = FADE_END_S * self._rate
        gain = np.clip((end - positions) / (end - full), 0.0, 1.0)
        return out * gain
