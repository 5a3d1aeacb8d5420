"""One RtpStream driven with scripted packets and a scripted 20 ms tick: what the engine pulls
out is continuous 20 ms frames of what the phone sent, whatever its ptime, with losses
concealed; what it pushes follows the agreed direction."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest

from pbxd.media.codecs import PCMU
from pbxd.media.frames import FRAME_SAMPLES
from pbxd.media.negotiate import CodecChoice, MediaTerms
from pbxd.media.rtp import RtpPacket, RtpSender
from pbxd.media.stream import RtpStream
from pbxd.sip.sdp import Direction

RATE = 8000
TAIL = 5  # after the phone stops, the jitter buffer conceals 100 ms before going idle
TERMS = MediaTerms(CodecChoice("PCMU", 0, RATE), 101, ("127.0.0.1", 4000), Direction.SENDRECV)


def tone(samples: int, frequency: float = 440.0) -> np.ndarray:
    return (8000 * np.sin(2 * np.pi * frequency * np.arange(samples) / RATE)).astype(np.int16)


def dominant(pcm: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(pcm.astype(np.float64) * np.hanning(pcm.size)))
    return float(np.fft.rfftfreq(pcm.size, 1 / RATE)[int(np.argmax(spectrum))])


def rms(pcm: np.ndarray) -> float:
    return float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2)))


def run(ptime_ms: int, seconds: float = 2.0, missing: frozenset[int] = frozenset()):
    """A phone sends a 440 Hz tone in `ptime_ms` packets (40 ms in flight); the engine pulls
    once per 20 ms tick. Returns the stream and the frames pulled (None while idle)."""
    stream = RtpStream(TERMS, rng=random.Random(1))
    sender = RtpSender(0x42, RATE, 100, 8000)
    encoder = PCMU.encoder()
    per_packet = RATE * ptime_ms // 1000
    signal = tone(int(RATE * seconds) + per_packet)
    arrivals = []
    for index in range(int(seconds * 1000) // ptime_ms):
        pcm = signal[index * per_packet : (index + 1) * per_packet]
        data = sender.next(0, encoder.encode(pcm), per_packet).serialize()
        if index not in missing:
            arrivals.append((index * ptime_ms / 1000 + 0.040, data))
    frames = []
    for tick in range(int(seconds / 0.02) + 20):
        now = tick * 0.02 + 0.005
        while arrivals and arrivals[0][0] <= now:
            stream.receive(RtpPacket.parse(arrivals.pop(0)[1]), now)
        frames.append(stream.pull(now))
    return stream, frames


@pytest.mark.parametrize("ptime_ms", [10, 20, 30])
def test_any_ptime_comes_out_as_continuous_20_ms_frames_of_the_tone(ptime_ms: int) -> None:
    stream, frames = run(ptime_ms)
    playing = [f for f in frames if f is not None]
    assert all(f.dtype == np.int16 and f.shape == (FRAME_SAMPLES,) for f in playing)
    first = next(i for i, f in enumerate(frames) if f is not None)
    middle = frames[first : first + 80]  # 1.6 s from the start of playout
    assert all(f is not None for f in middle)
    audio = np.concatenate(middle)
    assert dominant(audio) == pytest.approx(440, abs=10)
    # Continuous: no step between frames larger than the tone's own steepest step.
    assert np.abs(np.diff(audio.astype(np.int32))).max() <= 8000 * 2 * np.pi * 440 / RATE * 1.1
    assert stream._jitter.stats.played == 2000 // ptime_ms
    assert stream._jitter.stats.lost == TAIL


def test_20_ms_frames_pass_through_the_decoder_without_a_queue() -> None:
    # The common case: each pulled frame is one decoded packet, sample for sample.
    stream, frames = run(20, seconds=1.0)
    decoder = PCMU.decoder()
    encoder = PCMU.encoder()
    signal = tone(RATE * 2)
    expected = [decoder.decode(encoder.encode(signal[i * 160 : (i + 1) * 160])) for i in range(50)]
    playing = [f for f in frames if f is not None][:50]
    assert len(playing) == 50
    assert all(np.array_equal(got, want) for got, want in zip(playing, expected, strict=True))
    assert stream._pending.size == 0


@pytest.mark.parametrize("ptime_ms", [10, 20, 30])
def test_a_lost_packet_is_concealed_not_silent(ptime_ms: int) -> None:
    lost_index = 1000 // ptime_ms  # one second in
    stream, frames = run(ptime_ms, missing=frozenset({lost_index}))
    assert stream._jitter.stats.lost == 1 + TAIL
    first = next(i for i, f in enumerate(frames) if f is not None)
    # The frame that holds the lost packet's first sample (40 ms in flight, 20 ms ticks).
    lost_at = first + lost_index * ptime_ms // 20
    around = frames[lost_at - 2 : lost_at + 3]
    assert all(f is not None for f in around)
    for frame in around:
        assert rms(frame) > 0.3 * rms(tone(RATE))  # the tone goes on through the gap
    assert dominant(np.concatenate(around)) == pytest.approx(440, abs=40)


def test_new_terms_change_what_is_sent_and_which_payload_types_are_heard() -> None:
    stream = RtpStream(TERMS, rng=random.Random(1))
    frame = tone(FRAME_SAMPLES)
    assert len(stream.push(frame, 0.0)) == 1
    stream.terms = replace(TERMS, direction=Direction.RECVONLY)  # the phone holds us
    assert stream.push(frame, 0.02) == []
    stream.terms = TERMS
    (datagram,) = stream.push(frame, 0.04)
    assert RtpPacket.parse(datagram).marker  # a new talkspurt after the hold
    # Another payload type for the same codec: packets of the old one are strays now.
    stream.terms = replace(TERMS, codec=CodecChoice("PCMU", 96, RATE))
    assert RtpPacket.parse(stream.push(frame, 0.06)[0]).payload_type == 96
    stale = RtpSender(7, RATE, 0, 0).next(0, PCMU.encoder().encode(frame), 160)
    stream.receive(stale, 0.06)
    assert stream._jitter.stats.received == 0
