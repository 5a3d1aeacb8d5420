"""Packet loss concealment: a gap in a tone is filled near the tone, then fades."""

from __future__ import annotations

import numpy as np
import pytest

from pbxd.media.plc import Concealer

# (sample rate, native_plc): spandsp at 8 kHz, the numpy concealer at 8, 16 and 48 kHz.
VARIANTS = [(8000, None), (8000, False), (16000, None), (48000, None)]
IDS = ["spandsp-8k", "numpy-8k", "numpy-16k", "numpy-48k"]


def tone(freq: float, rate: int, seconds: float = 1.0, amplitude: float = 10000) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return np.rint(amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def dominant_frequency(pcm: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm)), 16 * len(pcm)))
    return float(np.argmax(spectrum)) * rate / (16 * len(pcm))


def rms(pcm: np.ndarray) -> float:
    return float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)))


def play_with_gap(concealer: Concealer, pcm: np.ndarray, frame: int, lost: range) -> np.ndarray:
    """What the listener hears: good frames through good(), lost ones from conceal()."""
    out = []
    for index in range(len(pcm) // frame):
        if index in lost:
            out.append(concealer.conceal(frame))
        else:
            out.append(concealer.good(pcm[index * frame : (index + 1) * frame]))
    return np.concatenate(out)


@pytest.mark.parametrize("rate, native_plc", VARIANTS, ids=IDS)
@pytest.mark.parametrize("freq", [200, 440, 1000])
def test_gap_sounds_like_the_tone_then_fades_to_silence(rate, native_plc, freq):
    concealer = Concealer(rate, native_plc=native_plc)
    assert concealer.is_native == (native_plc is None and rate == 8000)
    frame = rate // 50
    pcm = tone(freq, rate)
    heard = play_with_gap(concealer, pcm, frame, range(10, 16))  # 120 ms lost
    frames = [heard[i * frame : (i + 1) * frame] for i in range(10, 16)]
    first = frames[0]
    assert dominant_frequency(first, rate) == pytest.approx(freq, abs=15)
    assert rms(first) > 0.3 * rms(pcm)
    levels = [rms(f) for f in frames]
    assert all(np.diff(levels) <= 1)
    assert levels[3] < 0.02 * rms(pcm)  # silent by 60-80 ms into the loss
    assert max(levels[4:]) == 0
    concealer.close()


@pytest.mark.parametrize("rate, native_plc", VARIANTS, ids=IDS)
def test_no_clicks_into_and_out_of_the_gap(rate, native_plc):
    concealer = Concealer(rate, native_plc=native_plc)
    frame = rate // 50
    pcm = tone(1000, rate)
    heard = play_with_gap(concealer, pcm, frame, range(10, 12)).astype(np.float64)
    natural = np.abs(np.diff(pcm.astype(np.float64))).max()
    around = slice(10 * frame - 5, 12 * frame + 5)
    assert np.abs(np.diff(heard[around])).max() < 1.5 * natural
    # After the recovery cross-fade the real audio is untouched.
    assert np.array_equal(heard[13 * frame :], pcm[13 * frame : len(heard)])


@pytest.mark.parametrize("rate, native_plc", VARIANTS, ids=IDS)
def test_good_frames_pass_unchanged_without_loss(rate, native_plc):
    concealer = Concealer(rate, native_plc=native_plc)
    frame = rate // 50
    pcm = tone(300, rate, 0.2)
    heard = play_with_gap(concealer, pcm, frame, range(0))
    assert np.array_equal(heard, pcm[: len(heard)])


@pytest.mark.parametrize("rate, native_plc", VARIANTS, ids=IDS)
def test_loss_before_any_audio_is_silence(rate, native_plc):
    concealer = Concealer(rate, native_plc=native_plc)
    out = concealer.conceal(rate // 50)
    assert out.dtype == np.int16 and len(out) == rate // 50 and not out.any()
    assert len(concealer.conceal(0)) == 0


def test_spandsp_is_only_for_8k_and_input_is_checked():
    with pytest.raises(ValueError):
        Concealer(16000, native_plc=True)
    with pytest.raises(TypeError):
        Concealer(8000).good(np.zeros(160, np.float64))
    concealer = Concealer(8000)
    concealer.close()
    concealer.close()


def _implementation(rate: int, native_plc: bool | None):
    """The concealer's own engine (spandsp or numpy), fed frame by frame with no holding."""
    return Concealer(rate, native_plc=native_plc)._impl


@pytest.mark.parametrize("rate, native_plc", VARIANTS, ids=IDS)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_holding_good_frames_changes_nothing_heard(rate, native_plc, seed):
    # good() hands good frames over a dozen at a time; the history must be the same as when
    # each frame goes in at once: every concealment and recovery sample identical. Losses
    # come after short and long runs of good frames (past the holding buffer's size), with
    # frames of 10, 20 and 30 ms.
    rng = np.random.default_rng(seed)
    concealer = Concealer(rate, native_plc=native_plc)
    reference = _implementation(rate, native_plc)
    speech = tone(180, rate, 4.0) // 2 + tone(730, rate, 4.0) // 3
    position = 0
    while position < len(speech) - rate // 20:
        frame = int(rate * rng.choice([0.010, 0.020, 0.020, 0.030]))
        if rng.random() < 0.15:
            lost = frame * int(rng.integers(1, 5))
            assert np.array_equal(concealer.conceal(lost), reference.fillin(lost))
        else:
            pcm = speech[position : position + frame]
            assert np.array_equal(concealer.good(pcm), reference.rx(pcm))
        position += frame
    concealer.close()
    reference.close()


@pytest.mark.parametrize("rate, native_plc", VARIANTS, ids=IDS)
@pytest.mark.parametrize("good_frames", [1, 11, 12, 13, 40])
def test_a_loss_after_any_run_of_good_frames_is_concealed(rate, native_plc, good_frames):
    concealer = Concealer(rate, native_plc=native_plc)
    frame = rate // 50
    pcm = tone(440, rate)
    heard = play_with_gap(concealer, pcm, frame, range(good_frames, good_frames + 1))
    concealed = heard[good_frames * frame : (good_frames + 1) * frame]
    assert rms(concealed) > 0.3 * rms(pcm)
    assert dominant_frequency(concealed, rate) == pytest.approx(440, abs=15)
    concealer.close()
