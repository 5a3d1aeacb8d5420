"""Recordings that call control starts (a queue's or an extension's policy), and what the
history keeps of them. One place for the file name, the format and the index entry."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pbxd.media.engine import Bridge, MediaEngine
from pbxd.media.recorder import Recorder, RecorderError
from pbxd.services.recordings import RecordingEntry

log = logging.getLogger(__name__)

RECORDING_FORMAT = "wav-pcm16"


@dataclass(frozen=True)
class CallRecording:
    """A call being recorded: completed (its `recorder.completed`) when the call ends."""

    recorder: Recorder
    started: datetime


def start_recording(
    engine: MediaEngine, bridge: Bridge, recordings_dir: Path, *name_parts: str
) -> CallRecording | None:
    """Two channels (caller left, callee right) in recordings/YYYY/MM/DD/. The time leads the
    name: call ids start again at 1 when pbxd restarts. None (logged) when it cannot start:
    the call goes on unrecorded."""
    started = datetime.now(UTC)
    name = "-".join((f"{started:%H%M%S}", *name_parts)) + ".wav"
    path = recordings_dir / f"{started:%Y/%m/%d}" / name
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        recorder = engine.record(bridge, path, RECORDING_FORMAT, channels=2)
    except (OSError, RecorderError) as exc:
        log.error("cannot record %s: %s", name, exc)
        return None
    return CallRecording(recorder, started)


def recording_entries(
    recording: CallRecording | None,
    recordings_dir: Path,
    caller: str,
    callee: str,
    *,
    queue: str | None = None,
    agent: str | None = None,
) -> tuple[RecordingEntry, ...]:
    """The index entry of a recording that reached the disk complete (none otherwise)."""
    if recording is None:
        return ()
    recorder = recording.recorder
    if not recorder.completed.done() or recorder.completed.exception() is not None:
        return ()
    return (
        RecordingEntry(
            path=str(recorder.path.relative_to(recordings_dir)),
            format=RECORDING_FORMAT,
            channels=recorder.channels,
            duration=round(recorder.duration, 2),
            start=recording.started,
            caller=caller,
            callee=callee,
            queue=queue,
            agent=agent,
        ),
    )
