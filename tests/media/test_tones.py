"""Tone generator: frequencies by FFT, cadence edges to the sample, no phase jumps."""

from __future__ import annotations

import numpy as np
import pytest

from pbxd.media.frames import FRAME_SAMPLES
from pbxd.media.tones import (
    CHINA,
    ITU,
    NORTH_AMERICA,
    PLANS,
    Cadence,
    ToneError,
    ToneGenerator,
    ToneStep,
    dbm0_to_amplitude,
)

RATE = 8000


def play(gen: ToneGenerator, seconds: float) -> np.ndarray:
    frames = int(round(seconds * RATE / FRAME_SAMPLES))
    out = [gen.next_frame() for _ in range(frames)]
    assert all(f.dtype == np.int16 and f.shape == (FRAME_SAMPLES,) for f in out)
    return np.concatenate(out)


def peaks(signal: np.ndarray, count: int, n: int | None = None) -> list[float]:
    """The `count` strongest frequencies (1 Hz bins for one second, or with n=RATE)."""
    n = n or len(signal)
    spectrum = np.abs(np.fft.rfft(signal.astype(np.float64), n=n))
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    return sorted(float(freqs[i]) for i in np.argsort(spectrum)[-count:])


def on_mask(length: int, on_off_ms: list[tuple[int, int]]) -> np.ndarray:
    """True where a repeating (on, off)... cadence is on."""
    pattern = []
    for on, off in on_off_ms:
        pattern += [True] * (on * 8) + [False] * (off * 8)
    reps = -(-length // len(pattern))
    return np.tile(np.array(pattern), reps)[:length]


def reference(freqs, level_dbm0: float, length: int) -> np.ndarray:
    n = np.arange(length)
    wave = sum(np.sin(2 * np.pi * f * n / RATE) for f in freqs)
    return np.rint(dbm0_to_amplitude(level_dbm0) * wave)


def test_china_dial_tone_is_450_hz_at_the_asked_level():
    out = play(ToneGenerator(CHINA.dial, level_dbm0=-10), 1.0)
    assert peaks(out, 1) == [450.0]
    # -10 dBm0: 13.14 dB under a full-scale sine.
    assert np.max(np.abs(out)) == pytest.approx(32767 * 10 ** (-13.14 / 20), abs=2)
    rms_db = 20 * np.log10(np.sqrt(np.mean(out.astype(float) ** 2)) / (32767 / np.sqrt(2)))
    assert rms_db == pytest.approx(-13.14, abs=0.05)


def test_itu_dial_tone_is_425_hz():
    assert peaks(play(ToneGenerator(ITU.dial), 1.0), 1) == [425.0]


def test_dual_frequency_dial_tone():
    out = play(ToneGenerator.for_tone(NORTH_AMERICA, "dial"), 1.0)
    assert peaks(out, 2) == [350.0, 440.0]
    np.testing.assert_allclose(out, reference((350, 440), -13.0, len(out)), atol=1)


@pytest.mark.parametrize(
    ("plan", "name", "freq", "cadence_ms", "seconds"),
    [
        (CHINA, "ringback", 450, [(1000, 4000)], 11.0),
        (CHINA, "busy", 450, [(350, 350)], 3.0),
        (CHINA, "congestion", 450, [(700, 700)], 3.0),
        (CHINA, "call_waiting", 450, [(400, 4000)], 9.0),
        (ITU, "ringback", 425, [(1000, 4000)], 11.0),
        (ITU, "busy", 425, [(500, 500)], 3.0),
        (ITU, "congestion", 425, [(250, 250)], 2.0),
    ],
)
def test_cadence_is_exact_to_the_sample(plan, name, freq, cadence_ms, seconds):
    gen = ToneGenerator(plan.tone(name), level_dbm0=-10)
    out = play(gen, seconds)
    mask = on_mask(len(out), cadence_ms)
    # Silent samples are exactly zero; tone samples follow one uninterrupted sine.
    assert not np.any(out[~mask])
    expected = reference((freq,), -10, len(out))
    assert np.max(np.abs(out[mask] - expected[mask])) <= 1
    first_burst = out[: cadence_ms[0][0] * 8]
    assert peaks(first_burst, 1, n=RATE) == [float(freq)]


def test_phase_is_continuous_across_frames():
    gen = ToneGenerator(Cadence.continuous(1013.7))  # not a whole number of cycles per frame
    out = play(gen, 0.5).astype(np.float64)
    step = np.abs(np.diff(out))
    limit = dbm0_to_amplitude(-10) * 2 * np.pi * 1013.7 / RATE + 2  # max slope of the sine
    assert step.max() <= limit
    boundaries = step[FRAME_SAMPLES - 1 :: FRAME_SAMPLES]
    assert boundaries.max() <= limit


def test_phase_is_continuous_across_steps_of_the_same_frequency():
    # Two 30 ms steps of the same tone, then another frequency: the edges fall inside frames.
    cadence = Cadence(
        (ToneStep((600,), 30), ToneStep((600,), 30), ToneStep((), 40), ToneStep((600,), 30))
    )
    out = play(ToneGenerator(cadence), 1.3)
    mask = on_mask(len(out), [(60, 40), (30, 0)])
    expected = reference((600,), -10, len(out))
    assert np.max(np.abs(out[mask] - expected[mask])) <= 1
    assert not np.any(out[~mask])


def test_non_repeating_cadence_ends_in_silence():
    cadence = Cadence((ToneStep((1000,), 50),), repeat=False)
    gen = ToneGenerator(cadence)
    out = play(gen, 0.2)
    np.testing.assert_allclose(out[:400], reference((1000,), -10, 400), atol=1)
    assert np.count_nonzero(out[:400]) == 300  # 1000 Hz at 8 kHz: every 4th sample is 0
    assert not np.any(out[400:])
    assert gen.finished


def test_plans_are_complete_and_sourced():
    assert set(PLANS) == {"cn", "itu", "us"}
    for plan in PLANS.values():
        assert plan.source
        for name in ("dial", "ringback", "busy", "congestion"):
            assert isinstance(plan.tone(name), Cadence)
    assert CHINA.busy.period_samples == 5600
    assert CHINA.dial.period_samples is None
    with pytest.raises(ToneError):
        ITU.tone("call_waiting")
    with pytest.raises(ToneError):
        CHINA.tone("nonsense")


def test_bad_cadences_and_levels_are_refused():
    with pytest.raises(ToneError):
        ToneStep((5000,), 100)  # above Nyquist
    with pytest.raises(ToneError):
        Cadence((ToneStep((450,), None), ToneStep((), 100)))  # endless step before the last
    with pytest.raises(ToneError):
        ToneStep((450,), 0)
    with pytest.raises(ToneError):
        ToneGenerator(CHINA.dial, level_dbm0=6.0)
