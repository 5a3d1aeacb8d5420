"""One RTP stream of the media engine, pure: packets in and out, 20 ms frames in and out.

Inbound: RTP -> (telephone-event -> DTMF digits) or jitter buffer -> decoder -> concealment
-> resampler -> an engine frame. Outbound: engine frame -> resampler -> encoder -> RTP, with
RFC 4733 digits taking the place of audio while they last. The socket side lives in engine.py.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, replace

import numpy as np

from .codecs import Codec, CodecError, codec_for
from .dtmf import DigitStarted, Rfc4733Receiver, Rfc4733Sender
from .frames import ENGINE_RATE, FRAME_SAMPLES, Frame
from .jitterbuffer import Frame as BufferedFrame
from .jitterbuffer import JitterBuffer, Lost
from .negotiate import MediaTerms
from .plc import Concealer
from .resample import Resampler
from .rtp import RtpPacket, RtpReceiverStats, RtpSender

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DtmfReceived:
    digit: str
    source: str  # "rfc4733", "info" or "inband"


class StreamError(ValueError):
    """Terms the engine cannot carry (a codec it has no implementation of)."""


class RtpStream:
    def __init__(self, terms: MediaTerms, *, rng: random.Random | None = None):
        rng = rng or random.Random()
        self.terms = terms
        self.codec = _codec(terms)
        self.timestamp_step = self.codec.timestamp_step  # RTP units per 20 ms frame
        self.stats = RtpReceiverStats(self.codec.clock_rate)
        self.sender = RtpSender(rng.getrandbits(32), self.codec.clock_rate, rng=rng)
        self._jitter = JitterBuffer(self.codec.clock_rate)
        self._decoder = self.codec.decoder()
        self._encoder = self.codec.encoder()
        self._concealer = Concealer(self.codec.sample_rate)
        self._to_engine = _resampler(self.codec.sample_rate, ENGINE_RATE)
        self._from_engine = _resampler(ENGINE_RATE, self.codec.sample_rate)
        self._dtmf_in = Rfc4733Receiver(self.codec.clock_rate)
        self._dtmf_out = Rfc4733Sender(self.codec.clock_rate, self.codec.timestamp_step)
        self._pending = np.zeros(0, dtype=np.int16)  # decoded samples not yet pulled
        self.decode_errors = 0
        self.last_rtp_at: float | None = None

    @property
    def terms(self) -> MediaTerms:
        return self._terms

    @terms.setter
    def terms(self, terms: MediaTerms) -> None:
        # What the per-packet and per-tick paths ask of the terms, read once per new terms.
        self._terms = terms
        self.audio_payload_type = terms.codec.payload_type
        self.dtmf_payload_type = terms.dtmf_payload_type
        self.sends = terms.direction.sends
        self.receives = terms.direction.receives

    # -- inbound --------------------------------------------------------------------------------

    def receive(self, packet: RtpPacket, now: float) -> list[DtmfReceived]:
        self.last_rtp_at = now
        payload_type = packet.payload_type
        if payload_type == self.dtmf_payload_type:
            events = self._dtmf_in.feed(packet.timestamp, packet.marker, packet.payload, now)
            return [DtmfReceived(e.digit, "rfc4733") for e in events if isinstance(e, DigitStarted)]
        if payload_type != self.audio_payload_type:
            return []  # another payload type than agreed (comfort noise, a stray stream)
        self.stats.update(packet, now)
        # A parsed packet's header fields are in range: the buffer's checks are not needed.
        self._jitter.put_fields(
            packet.sequence, packet.timestamp, packet.ssrc, packet.payload, packet.marker, now
        )
        return []

    def poll_dtmf(self, now: float) -> list[DtmfReceived]:
        """Digits whose end packets were lost end by timeout; started ones were reported."""
        self._dtmf_in.poll(now)
        return []

    def pull(self, now: float) -> Frame | None:
        """The next 20 ms heard from this stream at the engine rate; None while nothing plays.

        Packets of another ptime (10 or 30 ms) decode into a sample queue from which whole
        engine frames are taken; the jitter buffer is asked again while the queue runs short.
        """
        if not self._pending.size:
            # The common case: nothing queued and one packet makes exactly one engine frame
            # (20 ms ptime): that frame is the decoded packet itself, no queue involved.
            pcm = self._next_audio(now)
            if pcm is None or pcm.size == FRAME_SAMPLES:
                return pcm
            self._pending = pcm
        while self._pending.size < FRAME_SAMPLES:
            pcm = self._next_audio(now)
            if pcm is None:
                if not self._pending.size:
                    return None
                pcm = np.zeros(FRAME_SAMPLES - self._pending.size, dtype=np.int16)
                self._pending = np.concatenate([self._pending, pcm])
                break
            self._pending = np.concatenate([self._pending, pcm])
        frame, self._pending = self._pending[:FRAME_SAMPLES], self._pending[FRAME_SAMPLES:]
        return frame

    def _next_audio(self, now: float) -> np.ndarray | None:
        """The jitter buffer's next output decoded or concealed, at the engine rate; None
        when it has nothing to play (EMPTY)."""
        out = self._jitter.get(now)
        if type(out) is BufferedFrame:
            pcm = self._decode(out.payload)
        elif type(out) is Lost:
            samples = out.samples * self.codec.sample_rate // self.codec.clock_rate
            pcm = self._concealer.conceal(samples)
        else:
            return None
        if self._to_engine is not None:
            pcm = self._to_engine.process(pcm)
        return pcm

    def _decode(self, payload: bytes) -> np.ndarray:
        try:
            return self._concealer.good(self._decoder.decode(payload))
        except CodecError as exc:
            self.decode_errors += 1
            log.debug("undecodable %s payload: %s", self.codec.name, exc)
            return self._concealer.conceal(self.codec.frame_samples)

    # -- outbound -------------------------------------------------------------------------------

    def send_dtmf(self, digit: str, duration_ms: int = 160) -> None:
        if self.terms.dtmf_payload_type is not None:
            self._dtmf_out.start(digit, duration_ms)

    @property
    def sending_dtmf(self) -> bool:
        return self._dtmf_out.busy

    def push(self, frame: Frame | None, now: float) -> list[bytes]:
        """Datagrams carrying the next 20 ms to the remote side (none while it holds us)."""
        step = self.timestamp_step
        dtmf_payload_type = self.dtmf_payload_type
        if dtmf_payload_type is not None and self._dtmf_out.busy:
            # RFC 4733 packets replace the audio; each takes the next sequence number but keeps
            # the event's timestamp.
            datagrams = []
            for payload, marker, timestamp in self._dtmf_out.next_packets(self.sender.timestamp):
                packet = self.sender.next(dtmf_payload_type, payload, 0, marker)
                datagrams.append(replace(packet, timestamp=timestamp).serialize())
            self.sender.skip(step)
            return datagrams
        if frame is None or not self.sends:
            self.sender.skip(step)
            return []
        pcm = self._from_engine.process(frame) if self._from_engine else frame
        payload = self._encoder.encode(pcm)
        return [self.sender.datagram(self.audio_payload_type, payload, step, now=now)]

    def close(self) -> None:
        for state in (self._decoder, self._encoder, self._concealer):
            state.close()


def _codec(terms: MediaTerms) -> Codec:
    codec = codec_for(terms.codec.name, terms.codec.clock_rate)
    if codec is None:
        raise StreamError(f"no implementation of {terms.codec.name}/{terms.codec.clock_rate}")
    return codec


def _resampler(from_rate: int, to_rate: int) -> Resampler | None:
    return None if from_rate == to_rate else Resampler(from_rate, to_rate)
