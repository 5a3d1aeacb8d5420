"""Prompt library: numbers in Chinese and English, resolution and fallbacks, uploads."""

from __future__ import annotations

import logging
import shutil
import subprocess
import tomllib
import wave
from pathlib import Path

import numpy as np
import pytest

from pbxd.media.player import PromptError, load_prompt
from pbxd.media.prompts import (
    PromptLibrary,
    say_digits,
    say_number,
    write_wav_atomic,
)

CATALOG = Path(__file__).resolve().parents[2] / "pbxd" / "prompts" / "catalog.toml"
TEXTS = tomllib.loads(CATALOG.read_text(encoding="utf-8"))
SOX = shutil.which("sox")
SOXI = shutil.which("soxi")


def spoken(ids: list[str], lang: str) -> str:
    """What a caller hears: the catalog texts of the ids, joined."""
    sep = "" if lang == "zh" else " "
    return sep.join(TEXTS[i][lang] for i in ids)


# -- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "零"),
        (7, "七"),
        (10, "十"),
        (15, "十五"),
        (20, "二十"),
        (99, "九十九"),
        (101, "一百零一"),
        (110, "一百一十"),
        (115, "一百一十五"),
        (200, "两百"),
        (1001, "一千零一"),
        (1010, "一千零一十"),
        (1200, "一千二百"),
        (2000, "两千"),
        (2024, "两千零二十四"),
        (2222, "两千二百二十二"),
        (9999, "九千九百九十九"),
    ],
)
def test_chinese_numbers(n, text):
    assert spoken(say_number(n, "zh"), "zh") == text


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (0, "zero"),
        (7, "seven"),
        (10, "ten"),
        (15, "fifteen"),
        (20, "twenty"),
        (42, "forty two"),
        (101, "one hundred one"),
        (110, "one hundred ten"),
        (1001, "one thousand one"),
        (2024, "two thousand twenty four"),
        (9999, "nine thousand nine hundred ninety nine"),
    ],
)
def test_english_numbers(n, text):
    assert spoken(say_number(n, "en"), "en") == text


def test_every_number_up_to_9999_uses_only_catalog_prompts():
    for lang in ("zh", "en"):
        used = {i for n in range(10000) for i in say_number(n, lang)}
        assert used <= set(TEXTS), used - set(TEXTS)


def test_digits_and_large_numbers():
    assert say_digits("1001") == ["digit-1", "digit-0", "digit-0", "digit-1"]
    assert say_digits("*9#") == ["digit-star", "digit-9", "digit-pound"]
    assert say_digits("10-01") == say_digits("1001")  # separators are not said
    assert say_number(123456, "zh") == say_digits("123456")
    with pytest.raises(ValueError):
        say_number(-1, "en")
    with pytest.raises(ValueError):
        say_number(5, "fr")


def test_catalog_has_every_prompt_the_call_center_uses():
    required = (
        [f"digit-{d}" for d in range(10)]
        + "welcome goodbye ivr-invalid ivr-timeout ivr-enter-extension queue-welcome".split()
        + "queue-position queue-position-end queue-wait minutes queue-periodic agent-id".split()
        + "survey-rate survey-reason survey-thanks vm-greeting-default vm-enter-pin".split()
        + "vm-wrong-pin vm-you-have vm-new-messages vm-no-messages vm-menu vm-deleted".split()
        + "agent-logged-in agent-logged-out agent-paused agent-unpaused conf-enter-pin".split()
        + "conf-wrong-pin conf-alone closed busy unavailable".split()
    )
    missing = [i for i in required if i not in TEXTS]
    assert not missing
    for prompt_id, texts in TEXTS.items():
        assert texts["zh"].strip() and texts["en"].strip(), prompt_id


# -- library ----------------------------------------------------------------------------------


def tone(seconds: float = 0.2, freq: float = 440.0, rate: int = 8000) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (8000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


@pytest.fixture
def library(tmp_path) -> PromptLibrary:
    system = tmp_path / "system"
    write_wav_atomic(system / "zh" / "welcome.wav", tone(0.2))
    write_wav_atomic(system / "en" / "welcome.wav", tone(0.3))
    write_wav_atomic(system / "common" / "moh.wav", tone(1.0, 330))
    return PromptLibrary(system, tmp_path / "uploads", "zh")


def test_system_prompt_in_the_library_language(library):
    assert len(library.load("welcome")) == 1600
    assert len(library.load("welcome", "en")) == 2400
    assert len(library.music_on_hold()) == 8000  # language-neutral


def test_upload_overrides_system_prompt_and_deleting_it_falls_back(library):
    write_wav_atomic(library.upload_dir / "welcome.wav", tone(0.5))
    assert len(library.load("welcome")) == 4000
    assert len(library.load("welcome", "en")) == 4000  # an upload for every language
    write_wav_atomic(library.upload_dir / "en" / "welcome.wav", tone(0.7))
    assert len(library.load("welcome", "en")) == 5600  # one language is more specific
    assert library.delete_upload("welcome")
    assert len(library.load("welcome")) == 1600
    assert not library.delete_upload("welcome")


def test_loaded_prompts_are_cached_until_the_file_changes(library):
    first = library.load("welcome")
    assert library.load("welcome") is first
    write_wav_atomic(library.upload_dir / "welcome.wav", tone(0.4))
    assert len(library.load("welcome")) == 3200


def test_missing_prompt_is_short_silence_and_one_log_line(library, caplog):
    caplog.set_level(logging.WARNING, logger="pbxd.media.prompts")
    for _ in range(3):
        pcm = library.load("no-such-prompt")
        assert pcm.dtype == np.int16 and 0 < len(pcm) <= 8000 and not pcm.any()
    lines = [r for r in caplog.records if "no-such-prompt" in r.getMessage()]
    assert len(lines) == 1
    assert "silence" in lines[0].getMessage()
    # a playlist with a hole still plays the rest
    playlist = library.playlist(["welcome", "no-such-prompt", "welcome"])
    assert [len(p) for p in playlist] == [1600, len(pcm), 1600]


def test_broken_upload_falls_back_to_the_system_prompt(library, caplog):
    (library.upload_dir).mkdir(parents=True)
    (library.upload_dir / "welcome.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    assert len(library.load("welcome")) == 1600


def test_invalid_ids_never_reach_the_file_system(library, caplog):
    write_wav_atomic(library.system_dir / "secret.wav", tone())
    pcm = library.load("../secret")
    assert not pcm.any()
    with pytest.raises(PromptError, match="prompt id"):
        library.upload_path("../../etc/passwd")


# -- uploads ----------------------------------------------------------------------------------


def write_wav(path: Path, samples: np.ndarray, rate: int, width: int = 2) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(samples.shape[1] if samples.ndim == 2 else 1)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(np.ascontiguousarray(samples, dtype="<i2").tobytes())


def dominant_frequency(pcm: np.ndarray, rate: int = 8000) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(len(pcm))))
    return float(np.argmax(spectrum) * rate / len(pcm))


def test_upload_of_44k1_stereo_becomes_8k_mono(library, tmp_path):
    rate = 44100
    t = np.arange(rate) / rate
    left = 9000 * np.sin(2 * np.pi * 440 * t)
    right = 9000 * np.sin(2 * np.pi * 440 * t)
    src = tmp_path / "upload.wav"
    write_wav(src, np.stack([left, right], axis=1).astype(np.int16), rate)

    dest = library.import_upload(src, "company-welcome")

    assert dest == library.upload_dir / "company-welcome.wav"
    with wave.open(str(dest), "rb") as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth()) == (8000, 1, 2)
        assert abs(w.getnframes() - 8000) <= 2
    if SOXI:  # an independent reader agrees
        info = subprocess.run([SOXI, str(dest)], capture_output=True, text=True, check=True)
        assert "Sample Rate    : 8000" in info.stdout and "Channels       : 1" in info.stdout
    pcm = library.load("company-welcome")
    assert abs(dominant_frequency(pcm) - 440) < 5
    assert np.sqrt(np.mean(pcm.astype(np.float64) ** 2)) > 3000
    assert not [p for p in library.upload_dir.iterdir() if p.name.startswith(".")]


@pytest.mark.skipif(SOX is None, reason="sox is not installed")
@pytest.mark.parametrize(
    "fmt", [["-e", "a-law", "-b", "8"], ["-e", "u-law", "-b", "8"], ["-b", "24"], ["-b", "8"]]
)
def test_upload_of_g711_and_other_widths(library, tmp_path, fmt):
    src = tmp_path / "src.wav"
    subprocess.run(
        [SOX, "-n", "-r", "16000", "-c", "2", *fmt, str(src), "synth", "0.5", "sine", "600"],
        check=True,
    )
    dest = library.import_upload(src, "hold", "en")
    assert dest == library.upload_dir / "en" / "hold.wav"
    pcm = load_prompt(dest)
    assert len(pcm) == 4000
    assert abs(dominant_frequency(pcm) - 600) < 10


def test_text_file_is_refused_and_nothing_is_written(library, tmp_path):
    src = tmp_path / "notes.wav"
    src.write_text("this is not audio\n")
    with pytest.raises(PromptError, match="not a WAV"):
        library.import_upload(src, "welcome")
    assert not library.upload_dir.exists() or not list(library.upload_dir.rglob("*"))
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(PromptError, match="empty"):
        library.import_upload(empty, "welcome")


def test_uploads_and_system_ids_are_listed(library, tmp_path):
    write_wav_atomic(library.upload_dir / "promo.wav", tone())
    write_wav_atomic(library.upload_dir / "en" / "closed.wav", tone())
    assert library.uploads() == {"*": ["promo"], "en": ["closed"]}
    assert library.system_ids() == ["moh", "welcome"]
