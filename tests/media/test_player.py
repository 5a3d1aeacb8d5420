"""Prompt loading (files made by sox and by the wave module) and the frame-by-frame player."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from pbxd.media import player as player_module
from pbxd.media.frames import FRAME_SAMPLES
from pbxd.media.player import Player, PromptError, load_prompt

RATE = 8000
SOX = shutil.which("sox")


def sox_synth(path: Path, rate: int, channels: int, seconds: float, freq: float, *fmt: str):
    """A sine file written by sox (Debian package sox): an independent WAV writer."""
    assert SOX, "sox is needed (apt-get install sox)"
    subprocess.run(
        [
            SOX,
            "-n",
            "-r",
            str(rate),
            "-c",
            str(channels),
            *fmt,
            str(path),
            "synth",
            str(seconds),
            "sine",
            str(freq),
            "vol",
            "0.5",
        ],
        check=True,
    )
    return path


def peak_hz(pcm: np.ndarray) -> float:
    n = RATE  # 1 Hz bins
    spectrum = np.abs(np.fft.rfft(pcm[:n].astype(np.float64), n=n))
    return float(np.fft.rfftfreq(n, 1 / RATE)[np.argmax(spectrum)])


def rms(pcm: np.ndarray) -> float:
    return float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)))


def write_wav(path: Path, pcm: np.ndarray, rate: int = RATE, channels: int = 1, width: int = 2):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path


@pytest.mark.parametrize(
    ("rate", "channels", "fmt"),
    [
        (44100, 2, ("-b", "16")),
        (16000, 1, ("-b", "16")),
        (48000, 1, ("-b", "16")),
        (8000, 1, ("-b", "16")),
        (44100, 2, ("-b", "32")),  # sox writes WAVE_FORMAT_EXTENSIBLE for this one
        (22050, 2, ("-b", "8")),
        (8000, 1, ("-e", "a-law")),
        (8000, 2, ("-e", "u-law")),
        (16000, 1, ("-b", "24")),
    ],
)
def test_wav_of_any_rate_and_layout_loads_as_8k_mono(tmp_path, rate, channels, fmt):
    path = sox_synth(tmp_path / "p.wav", rate, channels, 1.5, 1000, *fmt)
    assert subprocess.run(
        ["soxi", "-c", str(path)], capture_output=True, text=True, check=True
    ).stdout.strip() == str(channels)
    pcm = load_prompt(path)
    assert pcm.dtype == np.int16 and pcm.ndim == 1
    assert abs(len(pcm) - 12000) <= 1
    assert peak_hz(pcm) == 1000.0
    # vol 0.5: a half-scale sine, RMS 0.5 * 32767 / sqrt(2), kept through conversion.
    assert rms(pcm[400:-400]) == pytest.approx(0.5 * 32767 / np.sqrt(2), rel=0.03)


def test_stereo_is_averaged_to_mono(tmp_path):
    left = np.full(800, 10000, dtype=np.int16)
    right = np.full(800, -2000, dtype=np.int16)
    frames = np.stack([left, right], axis=1).reshape(-1)
    pcm = load_prompt(write_wav(tmp_path / "s.wav", frames, channels=2))
    assert np.all(pcm == 4000)


def test_not_a_wav_file(tmp_path):
    path = tmp_path / "readme.wav"
    path.write_text("this is a text file, not audio\n" * 10)
    with pytest.raises(PromptError, match="not a WAV"):
        load_prompt(path)


def test_zero_length_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(PromptError, match="empty"):
        load_prompt(path)


@pytest.mark.parametrize("cut", [12, 20, 30, 40])
def test_truncated_header(tmp_path, cut):
    good = sox_synth(tmp_path / "good.wav", 8000, 1, 0.5, 1000, "-b", "16")
    path = tmp_path / "cut.wav"
    path.write_bytes(good.read_bytes()[:cut])
    with pytest.raises(PromptError):
        load_prompt(path)


def test_header_without_audio(tmp_path):
    path = write_wav(tmp_path / "silent.wav", np.zeros(0, dtype=np.int16))
    with pytest.raises(PromptError, match="no audio"):
        load_prompt(path)


def test_missing_file(tmp_path):
    with pytest.raises(PromptError, match="cannot read"):
        load_prompt(tmp_path / "nope.wav")


def test_unsupported_encoding(tmp_path):
    path = sox_synth(tmp_path / "float.wav", 8000, 1, 0.5, 1000, "-e", "floating-point")
    with pytest.raises(PromptError, match="unsupported"):
        load_prompt(path)


def test_too_long(tmp_path, monkeypatch):
    monkeypatch.setattr(player_module, "MAX_PROMPT_SECONDS", 1)
    path = sox_synth(tmp_path / "long.wav", 16000, 1, 1.5, 1000, "-b", "16")
    with pytest.raises(PromptError, match="longer than"):
        load_prompt(path)
    path = sox_synth(tmp_path / "long32.wav", 16000, 1, 1.5, 1000, "-b", "32")
    with pytest.raises(PromptError, match="longer than"):
        load_prompt(path)
    path = sox_synth(tmp_path / "alaw.wav", 8000, 1, 1.5, 1000, "-e", "a-law")
    with pytest.raises(PromptError, match="longer than"):
        load_prompt(path)


def test_audio_cut_mid_file_keeps_what_is_there(tmp_path):
    good = sox_synth(tmp_path / "good.wav", 8000, 1, 1.0, 1000, "-b", "16")
    path = tmp_path / "cut.wav"
    path.write_bytes(good.read_bytes()[: 44 + 2 * 4000 + 1])  # header claims 8000 samples
    assert len(load_prompt(path)) == 4000


def ramp(n: int, start: int = 0) -> np.ndarray:
    return (np.arange(n) + start).astype(np.int16)


def drain(p: Player, limit: int = 1000) -> list[np.ndarray]:
    frames = []
    while (frame := p.next_frame()) is not None:
        assert frame.shape == (FRAME_SAMPLES,) and frame.dtype == np.int16
        frames.append(frame)
        assert len(frames) < limit
    return frames


def test_last_partial_frame_is_zero_padded():
    p = Player([ramp(400)])
    frames = drain(p)
    assert len(frames) == 3
    out = np.concatenate(frames)
    np.testing.assert_array_equal(out[:400], ramp(400))
    assert not np.any(out[400:])
    assert p.done and p.next_frame() is None


def test_playlist_joins_prompts_without_gaps():
    prompts = [ramp(250), ramp(100, 1000), ramp(330, 2000)]
    out = np.concatenate(drain(Player(prompts)))
    assert len(out) == 5 * FRAME_SAMPLES  # 680 samples: 4 frames and a padded fifth
    np.testing.assert_array_equal(out[:680], np.concatenate(prompts))
    assert not np.any(out[680:])


def test_looping_music_on_hold_is_seamless():
    prompt = ramp(250)
    p = Player([prompt], loop=True)
    out = np.concatenate([p.next_frame() for _ in range(40)])
    np.testing.assert_array_equal(out, np.tile(prompt, 26)[: 40 * FRAME_SAMPLES])
    assert not p.done


def test_loop_of_a_tone_has_no_click_at_the_loop_point(tmp_path):
    # 0.5 s of 1000 Hz is a whole number of cycles: looped, it is one continuous sine.
    pcm = load_prompt(sox_synth(tmp_path / "moh.wav", 8000, 1, 0.5, 1000))
    p = Player([pcm], loop=True)
    out = np.concatenate([p.next_frame() for _ in range(60)]).astype(np.float64)
    slope = 0.5 * 32767 * 2 * np.pi * 1000 / RATE
    assert np.max(np.abs(np.diff(out))) <= slope * 1.05


def test_interrupt_stops_on_dtmf():
    p = Player([ramp(1600)])
    assert p.next_frame() is not None
    assert p.interrupt() is True
    assert p.done and p.interrupted
    assert p.next_frame() is None
    assert p.interrupt() is False


def test_interrupt_ignored_when_not_stopping_on_dtmf():
    p = Player([ramp(480)], stop_on_dtmf=False)
    p.next_frame()
    assert p.interrupt() is False
    assert len(drain(p)) == 2


def test_stop_ends_even_a_loop():
    p = Player([ramp(100)], loop=True, stop_on_dtmf=False)
    p.next_frame()
    p.stop()
    assert p.next_frame() is None


def test_empty_playlist_and_bad_prompts():
    assert Player([]).next_frame() is None
    assert Player([np.zeros(0, dtype=np.int16)], loop=True).next_frame() is None
    with pytest.raises(PromptError, match="int16"):
        Player([np.zeros(160, dtype=np.float32)])
    with pytest.raises(PromptError, match="int16"):
        Player([np.zeros((2, 160), dtype=np.int16)])


def test_loaded_prompt_is_read_only(tmp_path):
    pcm = load_prompt(sox_synth(tmp_path / "p.wav", 16000, 1, 0.2, 500))
    with pytest.raises(ValueError):
        pcm[0] = 1
