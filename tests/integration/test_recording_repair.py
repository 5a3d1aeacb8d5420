"""A recording cut by a power loss is repaired when pbxd starts: header fixed, audio kept."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from .pbxd_process import PbxdProcess

pytestmark = pytest.mark.peer


def cut_recording(path: Path, seconds: float) -> None:
    """What a crash leaves: a WAV header still saying 0 bytes, then the audio written so far."""
    pcm = (8000 * np.sin(2 * np.pi * 440 * np.arange(int(8000 * seconds)) / 8000)).astype("<i2")
    header = (
        b"RIFF"
        + struct.pack("<I", 36)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
        + b"data"
        + struct.pack("<I", 0)
    )
    path.write_bytes(header + pcm.tobytes() + b"\x01")  # and half a sample


def test_cut_recording_is_repaired_at_start(tmp_path: Path) -> None:
    daemon = PbxdProcess(tmp_path / "pbxd")
    recordings = daemon.data_dir / "recordings"
    recordings.mkdir(parents=True)
    cut_recording(recordings / "call-1.wav.part", seconds=3.0)
    with daemon:
        repaired = recordings / "call-1.wav"
        assert repaired.exists() and not (recordings / "call-1.wav.part").exists()
    duration = subprocess.run(
        ["soxi", "-D", str(repaired)], capture_output=True, text=True, check=True
    ).stdout
    assert abs(float(duration) - 3.0) < 0.01
    assert "cut short; repaired" in daemon.log_text()
