"""Resampling: streams of 20 ms frames between 8/16/48 kHz, and one-shot prompt conversion."""

from __future__ import annotations

import shutil
import subprocess
import wave

import numpy as np
import pytest

from pbxd.media.resample import Resampler, resample

ENGINE_PAIRS = [
    (8000, 16000),
    (16000, 8000),
    (8000, 48000),
    (48000, 8000),
    (16000, 48000),
    (48000, 16000),
]


def tone(
    freq: float, rate: int, seconds: float = 1.0, amplitude: float = 10000, delay: float = 0.0
) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate - delay
    return amplitude * np.sin(2 * np.pi * freq * t)


def dominant_frequency(pcm: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm)), 8 * len(pcm)))
    return float(np.argmax(spectrum)) * rate / (8 * len(pcm))


def level_db(pcm: np.ndarray, rate: int, freq: float) -> float:
    """Level of one frequency component, dB relative to a full 10000-amplitude sine."""
    window = np.hanning(len(pcm))
    spectrum = np.abs(np.fft.rfft(pcm * window))
    index = int(round(freq * len(pcm) / rate))
    peak = spectrum[max(index - 3, 0) : index + 4].max()
    return float(20 * np.log10(max(peak, 1e-9) / (10000 * window.sum() / 2)))


def snr_db(reference: np.ndarray, signal: np.ndarray) -> float:
    error = signal.astype(np.float64) - reference
    return float(10 * np.log10(np.mean(reference**2) / max(np.mean(error**2), 1e-12)))


def framewise(resampler: Resampler, pcm: np.ndarray, frame: int) -> np.ndarray:
    return np.concatenate(
        [resampler.process(pcm[i : i + frame]) for i in range(0, len(pcm), frame)]
    )


@pytest.mark.parametrize("from_rate, to_rate", ENGINE_PAIRS)
def test_frames_stay_whole_and_a_tone_keeps_its_frequency(from_rate, to_rate):
    pcm = np.rint(tone(1000, from_rate)).astype(np.int16)
    resampler = Resampler(from_rate, to_rate)
    frame_in, frame_out = from_rate // 50, to_rate // 50
    outputs = [resampler.process(pcm[i : i + frame_in]) for i in range(0, len(pcm), frame_in)]
    assert all(len(out) == frame_out and out.dtype == np.int16 for out in outputs)
    out = np.concatenate(outputs)
    assert dominant_frequency(out[to_rate // 10 :], to_rate) == pytest.approx(1000, abs=3)
    # The output is the input tone, late by `delay` output samples.
    expected = tone(1000, to_rate, delay=resampler.delay / to_rate)
    assert snr_db(expected[to_rate // 10 :], out[to_rate // 10 :]) > 50


@pytest.mark.parametrize("from_rate, to_rate", ENGINE_PAIRS)
def test_framewise_equals_whole_stream_so_no_clicks_at_frame_edges(from_rate, to_rate):
    rng = np.random.default_rng(1)
    pcm = np.rint(tone(440, from_rate, 0.5) + rng.normal(0, 2000, from_rate // 2))
    pcm = pcm.astype(np.int16)
    whole = Resampler(from_rate, to_rate).process(pcm)
    in_frames = framewise(Resampler(from_rate, to_rate), pcm, from_rate // 50)
    odd_chunks = framewise(Resampler(from_rate, to_rate), pcm, 37)
    assert np.array_equal(in_frames, whole)
    assert np.abs(odd_chunks.astype(int) - whole).max() <= 1


def test_a_sine_stays_smooth_across_frame_edges():
    pcm = np.rint(tone(1000, 8000)).astype(np.int16)
    out = framewise(Resampler(8000, 48000), pcm, 160).astype(np.float64)
    steps = np.abs(np.diff(out[960:]))
    # The largest step of a 1 kHz sine of amplitude 10000 at 48 kHz is 2*pi*1000/48000*10000.
    assert steps.max() < 1.05 * 2 * np.pi * 1000 / 48000 * 10000


def test_8k_to_16k_and_back():
    pcm = np.rint(tone(1000, 8000)).astype(np.int16)
    up, down = Resampler(8000, 16000), Resampler(16000, 8000)
    back = np.concatenate(
        [down.process(up.process(pcm[i : i + 160])) for i in range(0, len(pcm), 160)]
    )
    assert len(back) == len(pcm)
    assert dominant_frequency(back[800:], 8000) == pytest.approx(1000, abs=3)
    delay = (up.delay / 2 + down.delay) / 8000
    assert snr_db(tone(1000, 8000, delay=delay)[800:], back[800:]) > 45


@pytest.mark.parametrize(
    "from_rate, to_rate, high", [(16000, 8000, 6000), (48000, 8000, 5000), (48000, 16000, 12000)]
)
def test_decimation_filters_what_would_alias(from_rate, to_rate, high):
    pcm = np.rint(tone(high, from_rate)).astype(np.int16)
    out = Resampler(from_rate, to_rate).process(pcm)[to_rate // 10 :]
    alias = to_rate - high
    assert level_db(out, to_rate, alias) < -60


@pytest.mark.parametrize("from_rate, to_rate", [(8000, 16000), (8000, 48000), (16000, 48000)])
def test_interpolation_leaves_no_images(from_rate, to_rate):
    pcm = np.rint(tone(1000, from_rate)).astype(np.int16)
    out = Resampler(from_rate, to_rate).process(pcm)[to_rate // 10 :]
    assert level_db(out, to_rate, 1000) > -1
    assert level_db(out, to_rate, from_rate - 1000) < -60


def write_wav(path, pcm: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm.astype("<i2").tobytes())


def read_wav(path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), "<i2"), wav.getframerate()


def test_one_shot_44k1_wav_prompt_to_8k(tmp_path):
    # A "prompt": 1 kHz speech-band tone plus 6 kHz that 8 kHz cannot carry.
    prompt = tone(1000, 44100, 1.5, 8000) + tone(6000, 44100, 1.5, 4000)
    path = tmp_path / "prompt.wav"
    write_wav(path, np.rint(prompt), 44100)
    pcm, rate = read_wav(path)
    out = resample(pcm, rate, 8000)
    assert out.dtype == np.int16 and len(out) == round(len(pcm) * 8000 / 44100)
    assert dominant_frequency(out, 8000) == pytest.approx(1000, abs=3)
    assert level_db(out[400:-400], 8000, 2000) < -60  # where 6 kHz would fold to
    # No delay: sample n is the prompt at time n / 8000.
    assert snr_db(tone(1000, 8000, 1.5, 8000)[400:-400], out[400:-400]) > 45


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")
def test_one_shot_agrees_with_sox(tmp_path):
    rng = np.random.default_rng(3)
    # Band-limited "speech-like" content: a few partials under 3 kHz with random phases.
    t = np.arange(44100) / 44100
    prompt = sum(
        2000 * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.28)) for f in (180, 440, 930, 1700, 2600)
    )
    source, target = tmp_path / "in.wav", tmp_path / "out.wav"
    write_wav(source, np.rint(prompt), 44100)
    subprocess.run(["sox", "-D", str(source), "-r", "8000", str(target)], check=True, timeout=30)
    theirs, rate = read_wav(target)
    pcm, _ = read_wav(source)
    ours = resample(pcm, 44100, 8000)
    assert rate == 8000 and len(ours) == len(theirs)
    assert snr_db(theirs[400:-400].astype(np.float64), ours[400:-400]) > 40


@pytest.mark.parametrize(
    "from_rate, to_rate",
    [(22050, 8000), (11025, 16000), (8000, 44100), (32000, 48000), (44101, 8000)],
)
def test_one_shot_any_rate(from_rate, to_rate):
    pcm = np.rint(tone(500, from_rate)).astype(np.int16)
    out = resample(pcm, from_rate, to_rate)
    assert abs(len(out) - len(pcm) * to_rate / from_rate) <= 1
    assert dominant_frequency(out, to_rate) == pytest.approx(500, abs=3)
    assert snr_db(tone(500, to_rate, len(out) / to_rate)[400:-400], out[400:-400]) > 40


def test_edge_cases():
    assert len(Resampler(8000, 16000).process(np.zeros(0, np.int16))) == 0
    assert len(resample(np.zeros(0, np.int16), 44100, 8000)) == 0
    same = np.arange(-5, 5, dtype=np.int16)
    assert np.array_equal(Resampler(8000, 8000).process(same), same)
    assert np.array_equal(resample(same, 8000, 8000), same)
    loud = np.full(1600, 32767, np.int16)  # a full-scale step overshoots: it must saturate
    assert Resampler(8000, 16000).process(loud).max() == 32767
    with pytest.raises(ValueError):
        Resampler(0, 8000)
    with pytest.raises(ValueError):
        Resampler(8000, 16000).process(np.zeros((2, 160), np.int16))
