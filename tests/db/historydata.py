"""Builders for call-center history in tests: a settable clock, a CDR row, a queue call with
its legs, events and a real recording written by pbxd.media.recorder.Recorder; WAV files to
upload."""

from __future__ import annotations

import io
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from pbxd.media.frames import ENGINE_RATE, FRAME_SAMPLES
from pbxd.media.recorder import Recorder
from pbxd.services import CallHistory, CdrEntry, LegEntry, QueueEventEntry, RecordingEntry
from pbxd.services.cdr import Disposition, HangupSide
from pbxd.services.history import Direction, PeerKind, QueueEventType, SurveyResult

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


class FakeClock:
    """A settable wall clock for the services (aware UTC datetimes), at T0 to begin with."""

    def __init__(self, now: datetime = T0):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def tone_wav(seconds: float, rate: int = 8000, channels: int = 1, freq: float = 440.0) -> bytes:
    """A 16-bit PCM WAV file of a sine tone, the same on every channel."""
    t = np.arange(int(rate * seconds)) / rate
    samples = np.rint(8000 * np.sin(2 * np.pi * freq * t)).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.repeat(samples, channels).tobytes())
    return buffer.getvalue()


def wav_shape(data: bytes) -> tuple[int, int, int, float]:
    """(channels, sample width, rate, seconds at 8 kHz) as the stdlib reader sees the file."""
    with wave.open(io.BytesIO(data), "rb") as w:
        return w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes() / 8000


def cdr_entry(
    minute: int,
    caller: str,
    callee: str,
    *,
    ring: int = 5,
    talk: int = 30,
    missed: Disposition | None = None,
    hangup_side: HangupSide = HangupSide.CALLER,
    call_id: str = "",
) -> CdrEntry:
    """A call starting `minute` minutes after T0, answered after `ring` seconds and talked
    for `talk`; with `missed` (its disposition) not answered, over after ring + talk seconds."""
    start = T0 + timedelta(minutes=minute)
    answered = missed is None
    return CdrEntry(
        call_id=call_id or f"call-{minute}@pbx",
        caller=caller,
        callee=callee,
        start=start,
        answer=start + timedelta(seconds=ring) if answered else None,
        end=start + timedelta(seconds=ring + talk),
        duration=ring + talk,
        billsec=talk if answered else 0,
        disposition=missed or Disposition.ANSWERED,
        hangup_side=hangup_side,
    )


def write_wav(path: Path, seconds: float, channels: int = 2, freq: float = 440.0) -> Path:
    """A real recording: a tone on the caller side, a lower one on the callee side."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = np.arange(int(seconds * ENGINE_RATE))
    left = np.rint(6000 * np.sin(2 * np.pi * freq * n / ENGINE_RATE)).astype(np.int16)
    right = np.rint(3000 * np.sin(2 * np.pi * freq / 2 * n / ENGINE_RATE)).astype(np.int16)
    with Recorder(path, "wav-pcm16", channels=channels, sync=False) as recorder:
        for i in range(0, len(n), FRAME_SAMPLES):
            recorder.write_stereo(left[i : i + FRAME_SAMPLES], right[i : i + FRAME_SAMPLES])
    return path


def queue_call(
    minute: int,
    *,
    caller: str = "13800138000",
    agent: str | None = "1001",
    queue: str = "600",
    recording: str | None = None,
    recordings_dir: Path | None = None,
    seconds: float = 1.0,
) -> CallHistory:
    """An inbound trunk call queued in `queue`, answered by `agent` (None: abandoned)."""
    start = T0 + timedelta(minutes=minute)
    enter, end = start + timedelta(seconds=2), start + timedelta(seconds=40)
    answered = agent is not None
    answer = start + timedelta(seconds=10) if answered else None
    legs = [
        LegEntry(
            leg="a",
            direction=Direction.INBOUND,
            party=caller,
            peer_kind=PeerKind.TRUNK,
            peer="telecom",
            start=start,
            answer=start + timedelta(seconds=1),
            end=end,
            disposition=Disposition.ANSWERED,
            hangup_side=HangupSide.CALLER,
        )
    ]
    events = [QueueEventEntry(enter, QueueEventType.ENTER, queue=queue, data={"position": 1})]
    if answered:
        legs.append(
            LegEntry(
                leg="b1",
                direction=Direction.INTERNAL,
                party=agent,
                peer_kind=PeerKind.EXTENSION,
                peer=agent,
                start=enter,
                answer=answer,
                end=end,
                disposition=Disposition.ANSWERED,
                hangup_side=HangupSide.CALLER,
            )
        )
        events += [
            QueueEventEntry(enter, QueueEventType.RING, queue=queue, agent=agent),
            QueueEventEntry(
                answer, QueueEventType.CONNECT, queue=queue, agent=agent, data={"wait": 8}
            ),
            QueueEventEntry(
                end, QueueEventType.COMPLETE_CALLER, queue=queue, agent=agent, data={"talk": 30}
            ),
        ]
    else:
        events.append(
            QueueEventEntry(end, QueueEventType.ABANDON, queue=queue, data={"position": 1})
        )
    recordings = ()
    if recording is not None:
        size = None
        if recordings_dir is not None:
            size = write_wav(recordings_dir / recording, seconds).stat().st_size
        recordings = (
            RecordingEntry(
                path=recording,
                format="wav-pcm16",
                channels=2,
                duration=seconds,
                start=answer or start,
                caller=caller,
                callee=queue,
                queue=queue,
                agent=agent,
                size=size,
            ),
        )
    cdr = cdr_entry(
        minute, caller, queue, ring=10, missed=None if answered else Disposition.ABANDONED
    )
    return CallHistory(
        cdr=cdr,
        legs=tuple(legs),
        queue=queue,
        wait=8 if answered else 38,
        agent=agent,
        survey=SurveyResult.SATISFIED if answered else None,
        events=tuple(events),
        recordings=recordings,
    )


def direct_call(minute: int, caller: str, callee: str, *, recorded: bool = False) -> CallHistory:
    """A call without a queue (extension to extension, or to an outside number), answered;
    `recorded`: with a recording row (direct-<minute>.wav, no file written)."""
    cdr = cdr_entry(minute, caller, callee)
    recordings = ()
    if recorded:
        recordings = (
            RecordingEntry(
                path=f"direct-{minute}.wav",
                format="wav-pcm16",
                channels=2,
                duration=30.0,
                start=cdr.answer,
                caller=caller,
                callee=callee,
                size=100,
            ),
        )
    return CallHistory(cdr=cdr, recordings=recordings)
