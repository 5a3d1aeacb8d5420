"""In-band DTMF: numpy tone generator and spandsp's detector (libspandsp2) on 20 ms frames.

The library is installed by `make test` (Debian libspandsp2); it is not skipped when missing.
"""

from __future__ import annotations

import numpy as np
import pytest

from pbxd.media.dtmf import DTMF_DIGITS, DtmfError
from pbxd.media.dtmf_native import (
    DTMF_FREQUENCIES,
    DtmfToneGenerator,
    InbandDtmfDetector,
    SpandspUnavailableError,
    sine_amplitude,
    split_frames,
)
from pbxd.media.frames import FRAME_SAMPLES

RATE = 8000


def detect(signal: np.ndarray, chunk: int = FRAME_SAMPLES) -> str:
    with InbandDtmfDetector() as detector:
        found = []
        for start in range(0, signal.size, chunk):
            found += detector.process(signal[start : start + chunk])
        return "".join(found)


def with_noise(signal: np.ndarray, snr_db: float, tone_power: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, np.sqrt(tone_power / 10 ** (snr_db / 10)), signal.size)
    return np.clip(np.round(signal + noise), -32768, 32767).astype(np.int16)


def speech_like(seconds: float, seed: int, level_dbm0: float = -12) -> np.ndarray:
    """Vowel-like syllables (a pulse train at 90-240 Hz through three formant resonators),
    some fricative noise, pauses: the harmonics sweep through the DTMF bands as voice does."""
    rng = np.random.default_rng(seed)
    vowels = [(730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480)]
    out = np.zeros(int(seconds * RATE))
    pos = 0
    while pos < out.size:
        n = int(rng.uniform(0.12, 0.3) * RATE)
        f0 = rng.uniform(90, 240)
        phase = np.cumsum(np.linspace(f0, f0 * rng.uniform(0.8, 1.25), n) / RATE)
        source = (np.diff(np.floor(phase), prepend=0) > 0).astype(float)
        f1, f2, f3 = vowels[rng.integers(len(vowels))]
        voiced = resonate(source, f1, 80) + 0.6 * resonate(source, f2, 100)
        voiced += 0.3 * resonate(source, f3, 150)
        if rng.random() < 0.3:
            voiced = rng.normal(size=n) * 0.3 * np.std(voiced)
        end = min(out.size, pos + n)
        out[pos:end] = (voiced * np.sin(np.linspace(0, np.pi, n)) ** 0.5)[: end - pos]
        pos = end + int(rng.uniform(0, 0.08) * RATE)
    out *= sine_amplitude(level_dbm0) / np.sqrt(2) / np.sqrt(np.mean(out**2))
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def resonate(x: np.ndarray, freq: float, bandwidth: float) -> np.ndarray:
    r = np.exp(-np.pi * bandwidth / RATE)
    a1, a2 = -2 * r * np.cos(2 * np.pi * freq / RATE), r * r
    y = np.zeros_like(x)
    y1 = y2 = 0.0
    for i, v in enumerate(x):
        y[i] = v - a1 * y1 - a2 * y2
        y2, y1 = y1, y[i]
    return y


# ----------------------------------------------------------------------------------- generator


def test_generator_uses_the_standard_frequency_pairs():
    assert DTMF_FREQUENCIES["1"] == (697, 1209)
    assert DTMF_FREQUENCIES["5"] == (770, 1336)
    assert DTMF_FREQUENCIES["9"] == (852, 1477)
    assert DTMF_FREQUENCIES["0"] == (941, 1336)
    assert DTMF_FREQUENCIES["*"] == (941, 1209) and DTMF_FREQUENCIES["#"] == (941, 1477)
    assert DTMF_FREQUENCIES["D"] == (941, 1633)
    gen = DtmfToneGenerator()
    for digit, (low, high) in DTMF_FREQUENCIES.items():
        tone = gen.tone(digit, 1000).astype(float)  # 1 s: 1 Hz bins
        spectrum = np.abs(np.fft.rfft(tone))
        assert sorted(np.argsort(spectrum)[-2:]) == [low, high], digit


def test_generator_level_and_twist():
    gen = DtmfToneGenerator(level_dbm0=-10, twist_db=2)
    spectrum = np.abs(np.fft.rfft(gen.tone("1", 1000).astype(float))) * 2 / RATE
    low_peak, high_peak = spectrum[697], spectrum[1209]
    assert low_peak == pytest.approx(sine_amplitude(-10), rel=0.01)
    assert 20 * np.log10(high_peak / low_peak) == pytest.approx(2.0, abs=0.05)
    assert sine_amplitude(3.14) == pytest.approx(32767)
    with pytest.raises(DtmfError):
        DtmfToneGenerator(level_dbm0=0, twist_db=4)  # would clip


def test_generator_sequence_timing():
    gen = DtmfToneGenerator()
    signal = gen.sequence("12", on_ms=50, off_ms=30)
    assert signal.dtype == np.int16 and signal.size == 2 * (400 + 240)
    assert not signal[400:640].any() and signal[:400].any()
    frames = split_frames(signal)
    assert all(f.size == FRAME_SAMPLES for f in frames) and len(frames) == 8


# ------------------------------------------------------------------------------------ detector


def test_all_sixteen_digits_are_detected():
    gen = DtmfToneGenerator()
    signal = np.concatenate([gen.silence(30), gen.sequence(DTMF_DIGITS, on_ms=80, off_ms=80)])
    assert detect(signal) == DTMF_DIGITS


@pytest.mark.parametrize("level", [-6, -20, -30])
def test_detected_at_other_levels(level):
    gen = DtmfToneGenerator(level_dbm0=level, twist_db=2)
    assert detect(gen.sequence("19#", on_ms=80, off_ms=80)) == "19#"


@pytest.mark.parametrize("snr_db", [10, 12, 15])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_detected_in_white_noise(snr_db, seed):
    gen = DtmfToneGenerator()
    clean = gen.sequence(DTMF_DIGITS, on_ms=80, off_ms=80).astype(float)
    tone_power = float(np.mean(gen.tone("5", 80).astype(float) ** 2))
    assert detect(with_noise(clean, snr_db, tone_power, seed)) == DTMF_DIGITS


def test_no_false_digits_from_single_tones_and_dial_tone():
    t = np.arange(3 * RATE) / RATE
    amplitude = sine_amplitude(-10)
    for freq in (1000, 697, 1336, 1633):
        tone = np.round(amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)
        assert detect(tone) == "", freq
    loud = np.round(sine_amplitude(0) * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    assert detect(loud) == ""
    dial = amplitude * (np.sin(2 * np.pi * 350 * t) + np.sin(2 * np.pi * 440 * t))
    assert detect(np.round(dial).astype(np.int16)) == ""


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_false_digits_from_speech_like_audio_or_noise(seed):
    assert detect(speech_like(5.0, seed)) == ""
    noise = np.random.default_rng(seed).normal(0, 3000, 5 * RATE)
    assert detect(np.clip(noise, -32768, 32767).astype(np.int16)) == ""


@pytest.mark.parametrize("seed", [1, 2, 7])
def test_digit_pressed_while_the_caller_talks_softly(seed):
    # Speech 10 dB below the tone's low group; at equal levels spandsp may miss the digit.
    gen = DtmfToneGenerator(level_dbm0=-10)
    speech = speech_like(2.0, seed, level_dbm0=-20).astype(float)
    for start in (4000, 6000, 8000):
        signal = speech.copy()
        signal[start : start + 800] += gen.tone("8", 100)
        assert detect(np.clip(signal, -32768, 32767).astype(np.int16)) == "8", start


def test_two_quick_presses_of_the_same_key_are_two_digits():
    gen = DtmfToneGenerator()
    signal = np.concatenate(
        [gen.silence(20), gen.tone("5", 60), gen.silence(40), gen.tone("5", 60), gen.silence(100)]
    )
    assert detect(signal) == "55"


def test_a_long_press_is_one_digit():
    gen = DtmfToneGenerator()
    assert detect(np.concatenate([gen.tone("3", 1500), gen.silence(100)])) == "3"


@pytest.mark.parametrize("offset", [0, 1, 37, 80, 159])
def test_digit_starting_mid_frame(offset):
    gen = DtmfToneGenerator()
    start = 2 * FRAME_SAMPLES + offset
    signal = np.concatenate([np.zeros(start, np.int16), gen.tone("7", 100), gen.silence(200)])
    with InbandDtmfDetector() as detector:
        reports = [(i, d) for i, f in enumerate(split_frames(signal)) for d in detector.process(f)]
    assert [d for _, d in reports] == ["7"]
    ((frame_index, _),) = reports
    reported_at = (frame_index + 1) * FRAME_SAMPLES  # end of the frame that revealed it
    assert 0 < reported_at - start <= 60 * RATE // 1000  # within 60 ms of the tone's start


def test_frame_size_does_not_change_the_result():
    gen = DtmfToneGenerator()
    signal = np.concatenate([gen.silence(13), gen.sequence("2580*#", on_ms=70, off_ms=50)])
    expected = detect(signal)
    assert expected == "2580*#"
    for chunk in (1, 7, 102, 333, signal.size):
        assert detect(signal, chunk) == expected, chunk


def test_detector_accepts_views_and_other_dtypes_and_empty_frames():
    gen = DtmfToneGenerator()
    signal = np.concatenate([gen.tone("6", 100), gen.silence(100)])
    with InbandDtmfDetector() as detector:
        assert detector.process(np.zeros(0, np.int16)) == []
        found = []
        stereo = np.stack([signal, signal], axis=1)  # a non-contiguous column view
        for start in range(0, signal.size, FRAME_SAMPLES):
            found += detector.process(stereo[start : start + FRAME_SAMPLES, 0])
    assert found == ["6"]
    with InbandDtmfDetector() as detector, pytest.raises(DtmfError):
        detector.process(np.zeros((2, 160), np.int16))


def test_close_is_idempotent_and_final():
    detector = InbandDtmfDetector()
    detector.close()
    detector.close()
    with pytest.raises(DtmfError):
        detector.process(np.zeros(FRAME_SAMPLES, np.int16))


def test_many_detectors_are_independent():
    gen = DtmfToneGenerator()
    a, b = InbandDtmfDetector(), InbandDtmfDetector()
    try:
        tone = split_frames(np.concatenate([gen.tone("1", 100), gen.silence(60)]))
        quiet = split_frames(gen.silence(160))
        found_a = [d for f in tone for d in a.process(f)]
        found_b = [d for f in quiet for d in b.process(f)]
    finally:
        a.close()
        b.close()
    assert (found_a, found_b) == (["1"], [])


def test_dial_tone_filter_option_still_detects():
    gen = DtmfToneGenerator()
    t = np.arange(4800) / RATE
    dial = sine_amplitude(-13) * (np.sin(2 * np.pi * 350 * t) + np.sin(2 * np.pi * 440 * t))
    digits = np.concatenate([gen.tone("4", 100), gen.silence(100), gen.tone("2", 100)])
    mixed = dial[: digits.size] + digits
    mixed = np.round(mixed).astype(np.int16)
    with InbandDtmfDetector(filter_dial_tone=True) as detector:
        found = [d for f in split_frames(mixed) for d in detector.process(f)]
    assert found == ["4", "2"]


def test_missing_library_names_the_debian_package(monkeypatch):
    from pbxd.media import native

    absent = native._Library("libspandsp-not-here.so.2", "libspandsp2", "int absent(void);")
    monkeypatch.setattr(native, "_SPANDSP", absent)
    with pytest.raises(SpandspUnavailableError, match="libspandsp2"):
        InbandDtmfDetector()
