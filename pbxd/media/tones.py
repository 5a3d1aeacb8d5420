"""Call-progress tones: national tone plans and a frame-by-frame generator (pure).

A tone is a `Cadence`: steps of (frequencies, duration), repeated. Durations are whole
milliseconds, so at 8000 Hz every step edge falls on an exact sample. A step with no
frequencies is silence; a step of duration None lasts for ever (continuous dial tone).

Sources for the plans:
- China: the national signal-tone values (450 Hz family; dial continuous, ringback 1 s on
  4 s off, busy 0.35/0.35 s, congestion 0.7/0.7 s, call waiting 0.4 s on 4 s off), as listed
  for China in ITU-T E.180 Supplement 2 ("Various tones used in national networks").
- ITU: the common values recommended in ITU-T E.180 (425 Hz; dial continuous, ringback 1 s on
  4 s off, busy 0.5/0.5 s, congestion 0.25/0.25 s). E.180 gives ranges for call waiting rather
  than one value, so the plan leaves it unset.
- North America: the Precise Tone Plan (dial 350+440 Hz, ringback 440+480 Hz 2 s on 4 s off,
  busy 480+620 Hz 0.5/0.5 s, reorder 480+620 Hz 0.25/0.25 s, call waiting 440 Hz 0.3 s,
  repeated here every 10 s),
  kept for completeness and to exercise dual-frequency tones.

Level: dBm0 is per frequency component. 0 dBm0 is the power of a sine whose peak is 3.14 dB
under the G.711 A-law full scale (ITU-T G.711: the maximum sine is +3.14 dBm0), taken here as
int16 full scale 32767.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .frames import ENGINE_RATE, FRAME_SAMPLES, Frame, saturate

MAX_SINE_DBM0 = 3.14  # dBm0 of a full-scale sine (G.711 A-law)
FULL_SCALE = 32767


class ToneError(ValueError):
    """A cadence or level that cannot be played."""


def dbm0_to_amplitude(level_dbm0: float) -> float:
    """Peak int16 amplitude of a sine at `level_dbm0`."""
    return FULL_SCALE * 10.0 ** ((level_dbm0 - MAX_SINE_DBM0) / 20.0)


@dataclass(frozen=True)
class ToneStep:
    frequencies: tuple[float, ...]  # Hz; empty = silence
    duration_ms: int | None  # None = for ever

    def __post_init__(self) -> None:
        object.__setattr__(self, "frequencies", tuple(float(f) for f in self.frequencies))
        for f in self.frequencies:
            if not 0.0 < f < ENGINE_RATE / 2:
                raise ToneError(f"frequency {f} Hz outside (0, {ENGINE_RATE // 2}) Hz")
        if self.duration_ms is not None and (
            not isinstance(self.duration_ms, int) or self.duration_ms <= 0
        ):
            raise ToneError(f"step duration {self.duration_ms!r} ms is not a positive integer")

    @property
    def samples(self) -> int | None:
        return None if self.duration_ms is None else self.duration_ms * ENGINE_RATE // 1000


@dataclass(frozen=True)
class Cadence:
    """Steps played in order; the whole sequence starts again if `repeat`."""

    steps: tuple[ToneStep, ...]
    repeat: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps))
        if not self.steps:
            raise ToneError("a cadence needs at least one step")
        for step in self.steps[:-1]:
            if step.duration_ms is None:
                raise ToneError("only the last step of a cadence may last for ever")

    @classmethod
    def continuous(cls, *frequencies: float) -> Cadence:
        return cls((ToneStep(frequencies, None),))

    @classmethod
    def on_off(cls, frequencies: tuple[float, ...], on_ms: int, off_ms: int) -> Cadence:
        return cls((ToneStep(frequencies, on_ms), ToneStep((), off_ms)))

    @property
    def period_samples(self) -> int | None:
        """Samples in one pass through the steps; None when it never ends."""
        lengths = [step.samples for step in self.steps]
        return None if None in lengths else sum(lengths)  # type: ignore[arg-type]


@dataclass(frozen=True)
class TonePlan:
    name: str
    source: str
    dial: Cadence
    ringback: Cadence
    busy: Cadence
    congestion: Cadence
    call_waiting: Cadence | None = None
    level_dbm0: float = -10.0  # default level per frequency

    def tone(self, name: str) -> Cadence:
        """A tone by name: "dial", "ringback", "busy", "congestion" or "call_waiting"."""
        cadence = getattr(self, name) if name in _TONE_FIELDS else None
        if cadence is None:
            raise ToneError(f"tone plan {self.name!r} has no {name!r} tone")
        return cadence


_TONE_FIELDS = ("dial", "ringback", "busy", "congestion", "call_waiting")

CHINA = TonePlan(
    name="cn",
    source="China national signal tones, per ITU-T E.180 Suppl. 2",
    dial=Cadence.continuous(450),
    ringback=Cadence.on_off((450,), 1000, 4000),
    busy=Cadence.on_off((450,), 350, 350),
    congestion=Cadence.on_off((450,), 700, 700),
    call_waiting=Cadence.on_off((450,), 400, 4000),
)

ITU = TonePlan(
    name="itu",
    source="ITU-T E.180 common values",
    dial=Cadence.continuous(425),
    ringback=Cadence.on_off((425,), 1000, 4000),
    busy=Cadence.on_off((425,), 500, 500),
    congestion=Cadence.on_off((425,), 250, 250),
)

NORTH_AMERICA = TonePlan(
    name="us",
    source="North American Precise Tone Plan",
    dial=Cadence.continuous(350, 440),
    ringback=Cadence.on_off((440, 480), 2000, 4000),
    busy=Cadence.on_off((480, 620), 500, 500),
    congestion=Cadence.on_off((480, 620), 250, 250),
    call_waiting=Cadence((ToneStep((440,), 300), ToneStep((), 9700))),
    level_dbm0=-13.0,
)

PLANS: dict[str, TonePlan] = {plan.name: plan for plan in (CHINA, ITU, NORTH_AMERICA)}


class ToneGenerator:
    """Plays a cadence 20 ms at a time.

    Each frequency has its own oscillator that keeps running through silent steps and step
    edges, so the waveform is continuous from frame to frame and a frequency that comes back
    resumes where it would have been (no phase jump inside or between steps).
    """

    def __init__(self, cadence: Cadence, level_dbm0: float = -10.0) -> None:
        if not math.isfinite(level_dbm0) or level_dbm0 > MAX_SINE_DBM0:
            raise ToneError(f"level {level_dbm0} dBm0 above full scale ({MAX_SINE_DBM0} dBm0)")
        self.cadence = cadence
        self.amplitude = dbm0_to_amplitude(level_dbm0)
        freqs = sorted({f for step in cadence.steps for f in step.frequencies})
        self._step_gain = {f: 2.0 * math.pi * f / ENGINE_RATE for f in freqs}  # rad/sample
        self._phase = dict.fromkeys(freqs, 0.0)  # radians at the next sample
        self._step = 0
        self._left = cadence.steps[0].samples  # samples left in the current step
        self._finished = False
        self.samples_played = 0

    @classmethod
    def for_tone(cls, plan: TonePlan, name: str) -> ToneGenerator:
        """A generator for one tone of `plan` at the plan's level."""
        return cls(plan.tone(name), plan.level_dbm0)

    @property
    def finished(self) -> bool:
        """True once a non-repeating cadence has played all its steps (then: silence)."""
        return self._finished

    def next_frame(self) -> Frame:
        out = np.zeros(FRAME_SAMPLES, dtype=np.float64)
        pos = 0
        while pos < FRAME_SAMPLES and not self._finished:
            step = self.cadence.steps[self._step]
            n = FRAME_SAMPLES - pos if self._left is None else min(self._left, FRAME_SAMPLES - pos)
            for f in step.frequencies:
                phases = self._phase[f] + self._step_gain[f] * np.arange(pos, pos + n)
                out[pos : pos + n] += np.sin(phases)
            pos += n
            if self._left is not None:
                self._left -= n
                if self._left == 0:
                    self._advance_step()
        self._advance_oscillators(FRAME_SAMPLES)
        self.samples_played += FRAME_SAMPLES
        return saturate(np.rint(out * self.amplitude))

    def _advance_step(self) -> None:
        self._step += 1
        if self._step == len(self.cadence.steps):
            if not self.cadence.repeat:
                self._finished = True
                return
            self._step = 0
        self._left = self.cadence.steps[self._step].samples

    def _advance_oscillators(self, samples: int) -> None:
        for f, w in self._step_gain.items():
            self._phase[f] = math.fmod(self._phase[f] + w * samples, 2.0 * math.pi)
