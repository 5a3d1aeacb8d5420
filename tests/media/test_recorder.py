"""Recordings read back by sox/soxi (Debian sox), two-channel separation, crash repair."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pbxd.media.codecs import GSM
from pbxd.media.frames import FRAME_SAMPLES
from pbxd.media.recorder import (
    FORMATS,
    Recorder,
    RecorderError,
    gsm_frames_to_wav49,
    part_path,
    repair,
    repair_directory,
)

RATE = 8000
SOX, SOXI = shutil.which("sox"), shutil.which("soxi")
REPO = Path(__file__).resolve().parents[2]

EXPECTED_ENCODING = {
    "wav-pcm16": "Signed Integer PCM",
    "wav-pcmu": "u-law",
    "wav-pcma": "A-law",
    "wav-gsm": "GSM",
}


def sine(freq: float, seconds: float, amplitude: float = 8000.0) -> np.ndarray:
    n = np.arange(int(seconds * RATE))
    return np.rint(amplitude * np.sin(2 * np.pi * freq * n / RATE)).astype(np.int16)


def frames_of(pcm: np.ndarray) -> list[np.ndarray]:
    return [pcm[i : i + FRAME_SAMPLES] for i in range(0, len(pcm), FRAME_SAMPLES)]


def soxi(path: Path, option: str) -> str:
    assert SOXI, "soxi is needed (apt-get install sox)"
    done = subprocess.run([SOXI, option, str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def sox_decode(path: Path, channels: int = 1) -> np.ndarray:
    """The file decoded by sox to 16-bit PCM, shape (samples, channels)."""
    assert SOX, "sox is needed (apt-get install sox)"
    done = subprocess.run(
        [SOX, str(path), "-t", "raw", "-e", "signed-integer", "-b", "16", "-L", "-"],
        capture_output=True,
        check=True,
    )
    return np.frombuffer(done.stdout, dtype="<i2").reshape(-1, channels)


def level_at(pcm: np.ndarray, freq: float) -> float:
    """Amplitude of the `freq` component over the first second (1 Hz bins)."""
    segment = pcm[:RATE].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(segment, n=RATE)) * 2 / len(segment)
    return float(spectrum[int(freq)])


def peak_hz(pcm: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(pcm[:RATE].astype(np.float64), n=RATE))
    return float(np.argmax(spectrum))


def record(path: Path, fmt: str, pcm: np.ndarray) -> Path:
    with Recorder(path, fmt) as rec:
        for frame in frames_of(pcm):
            rec.write(frame)
    return path


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_reads_back_with_sox(tmp_path, fmt):
    path = record(tmp_path / "call.wav", fmt, sine(1000, 2.0))
    assert soxi(path, "-t") == "wav"
    assert soxi(path, "-r") == "8000"
    assert soxi(path, "-c") == "1"
    assert soxi(path, "-s") == "16000"  # samples: 2.00 s exactly
    assert float(soxi(path, "-D")) == pytest.approx(2.0)
    assert EXPECTED_ENCODING[fmt] in soxi(path, "-e")
    decoded = sox_decode(path)[:, 0]
    assert peak_hz(decoded[800:]) == 1000.0
    # The codecs keep the level within what each is expected to lose.
    assert level_at(decoded[800:], 1000) == pytest.approx(8000, rel=0.1)
    assert not part_path(path).exists()


def test_sox_stat_sees_the_tone(tmp_path):
    path = record(tmp_path / "call.wav", "wav-pcma", sine(1000, 1.0))
    stat = subprocess.run([SOX, str(path), "-n", "stat"], capture_output=True, text=True).stderr
    rough = next(line for line in stat.splitlines() if line.startswith("Rough   frequency"))
    assert int(rough.split(":")[1]) == pytest.approx(1000, rel=0.05)  # a zero-crossing estimate


@pytest.mark.parametrize("fmt", ["wav-pcm16", "wav-pcmu", "wav-pcma"])
def test_two_channels_keep_caller_and_callee_apart(tmp_path, fmt):
    caller, callee = sine(500, 1.2), sine(1500, 1.2)
    path = tmp_path / "stereo.wav"
    with Recorder(path, fmt, channels=2) as rec:
        for left, right in zip(frames_of(caller), frames_of(callee), strict=True):
            rec.write_stereo(left, right)
    assert soxi(path, "-c") == "2"
    assert float(soxi(path, "-D")) == pytest.approx(1.2)
    decoded = sox_decode(path, channels=2)
    left, right = decoded[:, 0], decoded[:, 1]
    assert level_at(left, 500) > 7000 and level_at(left, 1500) < 50
    assert level_at(right, 1500) > 7000 and level_at(right, 500) < 50


def test_mono_recorder_mixes_both_sides(tmp_path):
    path = tmp_path / "mixed.wav"
    with Recorder(path, "wav-pcm16") as rec:
        for left, right in zip(frames_of(sine(500, 1.0)), frames_of(sine(1500, 1.0)), strict=True):
            rec.write_stereo(left, right)
    decoded = sox_decode(path)[:, 0]
    assert level_at(decoded, 500) > 7900 and level_at(decoded, 1500) > 7900


def test_wav49_blocks_decode_like_the_gsm_frames_they_came_from(tmp_path):
    pcm = sine(700, 0.4) + sine(1900, 0.4, 3000)
    frames = GSM.encoder().encode(pcm)
    wav49 = gsm_frames_to_wav49(frames)
    assert len(wav49) == 65 * 10
    via_rtp_frames = GSM.decoder().decode(frames)
    path = record(tmp_path / "g.wav", "wav-gsm", pcm)
    assert path.read_bytes()[-650:] == wav49
    np.testing.assert_array_equal(sox_decode(path)[:, 0], via_rtp_frames)


def test_gsm_odd_frame_count_is_padded_to_a_whole_block(tmp_path):
    path = record(tmp_path / "g.wav", "wav-gsm", sine(1000, 0.5))  # 25 frames
    assert soxi(path, "-s") == str(26 * FRAME_SAMPLES)


def test_silence_for_missing_frames(tmp_path):
    path = tmp_path / "gaps.wav"
    with Recorder(path) as rec:
        rec.write(sine(1000, 0.02))
        rec.write(None)
        rec.write(sine(1000, 0.02))
    decoded = sox_decode(path)[:, 0]
    assert len(decoded) == 480 and not np.any(decoded[160:320])


def test_file_is_a_part_file_until_closed(tmp_path):
    path = tmp_path / "call.wav"
    rec = Recorder(path)
    rec.write(sine(1000, 0.02))
    assert part_path(path).exists() and not path.exists()
    assert rec.close() == path
    assert path.exists() and not part_path(path).exists()


def test_two_recorders_never_share_a_file(tmp_path):
    path = tmp_path / "call.wav"
    first = Recorder(path)
    with pytest.raises(RecorderError, match="another recording"):
        Recorder(path)
    first.close()
    with pytest.raises(RecorderError, match="exists already"):
        Recorder(path)


def test_discard_leaves_nothing(tmp_path):
    rec = Recorder(tmp_path / "call.wav")
    rec.write(sine(1000, 0.02))
    rec.discard()
    assert list(tmp_path.iterdir()) == []


def test_bad_arguments(tmp_path):
    with pytest.raises(RecorderError, match="mono only"):
        Recorder(tmp_path / "a.wav", "wav-gsm", channels=2)
    with pytest.raises(RecorderError, match="unknown recording format"):
        Recorder(tmp_path / "b.wav", "mp3")
    with pytest.raises(RecorderError, match="channels"):
        Recorder(tmp_path / "c.wav", channels=3)
    with Recorder(tmp_path / "d.wav", channels=2) as rec:
        with pytest.raises(RecorderError, match="write_stereo"):
            rec.write(sine(1000, 0.02))
    assert not (tmp_path / "a.wav.part").exists()


def test_header_is_checkpointed_while_recording(tmp_path):
    path = tmp_path / "call.wav"
    rec = Recorder(path, checkpoint_seconds=1.0, sync=False)
    for frame in frames_of(sine(1000, 2.5)):
        rec.write(frame)
    snapshot = tmp_path / "snapshot.wav"  # what a crash right now would leave on disk
    shutil.copyfile(part_path(path), snapshot)
    assert soxi(snapshot, "-s") == "16000"  # the header says 2 s: the last checkpoint
    rec.close()


CRASHING_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    from pbxd.media.recorder import Recorder

    path, fmt, channels = sys.argv[1], sys.argv[2], int(sys.argv[3])
    n = np.arange(7 * 8000)
    left = np.rint(8000 * np.sin(2 * np.pi * 500 * n / 8000)).astype(np.int16)
    right = np.rint(8000 * np.sin(2 * np.pi * 1500 * n / 8000)).astype(np.int16)
    rec = Recorder(path, fmt, channels=channels, checkpoint_seconds=5.0)
    for i in range(0, len(n), 160):
        if channels == 1:
            rec.write(left[i:i + 160])
        else:
            rec.write_stereo(left[i:i + 160], right[i:i + 160])
    rec._hand_over_buffer()  # the data reaches the OS; the header still says 5 s
    rec._file._file.flush()
    print("ready", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.mark.parametrize(
    ("fmt", "channels"),
    [("wav-pcm16", 1), ("wav-pcm16", 2), ("wav-pcmu", 2), ("wav-pcma", 1), ("wav-gsm", 1)],
)
def test_killed_recording_is_repaired_with_its_audio(tmp_path, fmt, channels):
    path = tmp_path / "2024" / "call-17.wav"
    path.parent.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", CRASHING_WRITER, str(path), fmt, str(channels)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert done.stdout.strip() == "ready"
    part = part_path(path)
    assert part.exists() and not path.exists()
    assert soxi(part, "-s") == str(5 * RATE)  # before repair: only up to the checkpoint

    results = repair_directory(tmp_path)
    assert [(r.path, r.repaired, r.error) for r in results] == [(path, True, None)]
    assert not part.exists()
    assert soxi(path, "-s") == str(7 * RATE)
    assert float(soxi(path, "-D")) == pytest.approx(7.0)
    assert soxi(path, "-c") == str(channels)
    assert EXPECTED_ENCODING[fmt] in soxi(path, "-e")
    decoded = sox_decode(path, channels)
    late = decoded[6 * RATE :]  # audio written after the last checkpoint is kept
    assert peak_hz(late[:, 0]) == 500.0
    if channels == 2:
        assert peak_hz(late[:, 1]) == 1500.0
        assert level_at(late[:, 0], 1500) < 50


@pytest.mark.parametrize(("fmt", "channels", "block"), [("wav-pcm16", 2, 4), ("wav-gsm", 1, 65)])
def test_repair_drops_a_trailing_partial_sample_or_block(tmp_path, fmt, channels, block):
    path = tmp_path / "cut.wav"
    with Recorder(path, fmt, channels=channels) as rec:
        for frame in frames_of(sine(1000, 1.0)):
            if channels == 2:
                rec.write_stereo(frame, frame)
            else:
                rec.write(frame)
    full = path.read_bytes()
    path.write_bytes(full[: -(block + 3)])  # a whole block and a bit lost
    assert repair(path) is True
    samples_per_block = 1 if fmt == "wav-pcm16" else 320
    expected = (1 * RATE // samples_per_block - 2) * samples_per_block
    assert soxi(path, "-s") == str(expected)
    assert len(path.read_bytes()) == len(full) - 2 * block
    assert repair(path) is False  # consistent now
    assert peak_hz(sox_decode(path, channels)[:, 0]) == 1000.0


def test_repair_pads_an_odd_data_chunk(tmp_path):
    path = record(tmp_path / "u.wav", "wav-pcmu", sine(1000, 0.1))
    path.write_bytes(path.read_bytes()[:-1])  # 799 samples of mu-law: odd
    assert repair(path) is True
    assert len(path.read_bytes()) % 2 == 0
    assert soxi(path, "-s") == "799"


def test_repair_refuses_what_is_not_a_wav(tmp_path):
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all")
    with pytest.raises(RecorderError, match="not a WAV"):
        repair(text)
    header_only = tmp_path / "h.wav"
    header_only.write_bytes(b"RIFF\0\0\0\0WAVEfmt ")
    with pytest.raises(RecorderError):
        repair(header_only)


def test_repair_directory_keeps_an_existing_recording_of_the_same_name(tmp_path):
    record(tmp_path / "call.wav", "wav-pcm16", sine(500, 0.2))
    other = tmp_path / "sub"
    other.mkdir()
    rec = Recorder(other / "x.wav", sync=False)
    rec.write(sine(1000, 0.2))
    rec.checkpoint()  # what reached the disk so far
    shutil.copyfile(part_path(other / "x.wav"), tmp_path / "call.wav.part")
    (tmp_path / "broken.wav.part").write_text("garbage")
    rec.discard()
    results = {r.path.name: r for r in repair_directory(tmp_path)}
    assert set(results) == {"call.recovered-1.wav", "broken.wav.part"}
    assert results["broken.wav.part"].error
    assert peak_hz(sox_decode(tmp_path / "call.wav")[:, 0]) == 500.0
    recovered = sox_decode(tmp_path / "call.recovered-1.wav")[:, 0]
    assert len(recovered) == 1600 and peak_hz(recovered) == 1000.0


SIZE_LIMITED_WRITER = textwrap.dedent(
    """
    import json, resource, signal, sys
    import numpy as np
    from pbxd.media.recorder import Recorder, RecorderError, RecordingWriter

    # The storage fills up at 100 kB: writes beyond it fail with EFBIG, like ENOSPC on a card.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
    writer = RecordingWriter()
    rec = Recorder(sys.argv[1], "wav-pcm16", checkpoint_seconds=1.0, writer=writer)
    n = np.arange(160)
    refused = None
    for i in range(500):  # 10 s of a 1 kHz tone, 20 ms at a time
        frame = np.rint(8000 * np.sin(2 * np.pi * 1000 * (n + 160 * i) / 8000)).astype(np.int16)
        try:
            rec.write(frame)
        except RecorderError as exc:
            refused = {"after": rec.duration, "message": str(exc)}
            break
        if i % 50 == 49:
            writer.flush()  # one second handed over: let the writer thread catch up
    try:
        rec.close()
        rec.completed.result(10)
        completed = "ok"
    except RecorderError as exc:
        completed = str(exc)
    print(json.dumps({"refused": refused, "completed": completed}))
    """
)


def test_storage_full_on_the_writer_thread_stops_the_recording_and_keeps_its_audio(tmp_path):
    path = tmp_path / "call.wav"
    done = subprocess.run(
        [sys.executable, "-c", SIZE_LIMITED_WRITER, str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["refused"] is not None, "writing went on past the full storage"
    assert "File too large" in outcome["refused"]["message"]
    assert 6.0 <= outcome["refused"]["after"] <= 8.0  # noticed within a checkpoint or two
    assert "File too large" in outcome["completed"]
    assert not path.exists() and part_path(path).exists()

    results = repair_directory(tmp_path)
    assert [(r.path, r.error) for r in results] == [(path, None)]
    duration = float(soxi(path, "-D"))
    assert duration == pytest.approx((100_000 - 44) / 16000, abs=0.01)  # all that fitted
    assert peak_hz(sox_decode(path)[:, 0]) == 1000.0
