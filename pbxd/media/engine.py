"""The media engine: RTP endpoints, a 20 ms tick, bridges, players, recorders, DTMF.

The asyncio adapter around the pure parts (stream.py, mixer.py, player.py ...). Call control
uses the narrow command interface below and never touches packets:

    endpoint = await engine.create_endpoint(local_ip)      # an RTP leg with its own SDP
    engine.bridge([a, b])  /  engine.bridge([a, b, sup], whisper(sup, a, b))
    engine.play(endpoint, prompts, loop=False)             # heard by that endpoint's far end
    recorder = engine.record(bridge, path, "wav-pcm16", channels=2)
    engine.stop_recording(bridge, recorder)                # then: await recorder.completed
    await engine.collect_digits(endpoint, max_digits=4, ...)
    engine.destroy(endpoint)

Each tick pulls one frame from every endpoint (jitter buffer, decoder, concealment), mixes
every bridge by its talk/listen matrix, lets players and tones replace what an endpoint is
sent, feeds recorders, and pushes one frame to every endpoint (encoder, RTP). A two-party
bridge whose legs share a codec, with nothing else attached, skips all that and forwards
payloads as they arrive (the no-decode fast path).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .dtmf import CollectResult, DigitCollector
from .dtmf_native import InbandDtmfDetector
from .frames import FRAME_MS, Frame
from .load import LoadGauge
from .mixer import Mixer, conference
from .mixer import bridge as bridge_matrix
from .negotiate import LegNegotiator, MediaTerms
from .player import Player
from .ports import MediaOverloaded, PortAllocator
from .recorder import Recorder, RecorderError, RecordingWriter
from .rtcp import RtcpState
from .rtp import RtpPacket, RtpParseError, is_rtcp
from .sockets import bind_pair
from .stream import DtmfReceived, RtpStream
from .tones import ToneGenerator, TonePlan

if TYPE_CHECKING:
    from .webrtc import WebRtcEndpoint, WebRtcSettings

log = logging.getLogger(__name__)

TICK = FRAME_MS / 1000
MAX_LATENESS = 0.2  # behind by more than this, the tick schedule restarts instead of bursting
LOAD_SAMPLE_S = 1.0  # how often the media thread's CPU use is sampled (admission control)


class _Socket(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, tuple], None]):
        self.on_datagram = on_datagram
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.on_datagram(data, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("RTP socket error: %s", exc)

    def send(self, data: bytes, addr: tuple) -> None:
        if self.transport is not None:
            self.transport.sendto(data, addr)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


@dataclass
class EndpointCounters:
    received: int = 0
    sent: int = 0
    malformed: int = 0
    stray: int = 0  # from another source than the latched one, with the latched SSRC


class Endpoint:
    """One RTP leg: its sockets, its SDP negotiation and, once agreed, its stream."""

    # An RTP leg on a port pair of the range, whose payloads a bridge may forward undecoded.
    # False for legs that carry audio another way (webrtc.WebRtcEndpoint: aiortc's sockets).
    plain_rtp = True

    def __init__(self, engine: MediaEngine, endpoint_id: int, local_ip: str, port: int):
        self.id = endpoint_id
        self.engine = engine
        self.local_port = port
        self.negotiator = LegNegotiator(
            local_ip=local_ip, local_port=port, session_id=random.getrandbits(48)
        )
        self.stream: RtpStream | None = None
        self.remote: tuple | None = None  # where RTP goes: the latched source, else the SDP
        self._sdp_remote: tuple | None = None
        self._latched_ssrc: int | None = None
        self.rtp: _Socket | None = None
        self.rtcp: _Socket | None = None
        self.rtcp_state: RtcpState | None = None
        self.counters = EndpointCounters()
        self.created_at = engine.now()  # the loop clock, like last_packet_at
        self.last_packet_at: float | None = None
        self.timed_out = False
        self.player: Player | _ToneSource | None = None
        self.on_player_finished: Callable[[], None] | None = None  # called once, at its end
        self.collector: tuple[DigitCollector, asyncio.Future] | None = None
        self.dtmf_listeners: list[Callable[[str], None]] = []
        self.bridge: Bridge | None = None
        self.inband: InbandDtmfDetector | None = None  # analog lines: tones in the audio
        self.closed = False

    # -- negotiation ----------------------------------------------------------------------------

    def apply(self, terms: MediaTerms) -> None:
        """New agreed terms (first answer, re-INVITE): keep the stream if the codec stays."""
        if self.stream is None or self.stream.terms.codec != terms.codec:
            if self.stream is not None:
                self.stream.close()
            self.stream = RtpStream(terms)
        else:
            self.stream.terms = terms
        if terms.remote != self._sdp_remote:
            self._sdp_remote = terms.remote
            self._latched_ssrc = None  # a re-INVITE may move the phone: latch again
            self.remote = terms.remote
        if self.rtcp_state is None:
            now = self.engine.now()
            self.rtcp_state = RtcpState(
                self.stream.sender.ssrc,
                f"pbxd-{self.id}",
                now,
                sender=self.stream.sender,
                receiver=self.stream.stats,
                wallclock_offset=time.time() - now,
            )
        self.engine._refresh_fast_path(self)

    # -- inbound --------------------------------------------------------------------------------

    def _on_rtp(self, data: bytes, addr: tuple) -> None:
        if is_rtcp(data):  # rtcp-mux (RFC 5761) from a phone that muxes anyway
            self._on_rtcp(data, addr)
            return
        try:
            packet = RtpPacket.parse(data)
        except RtpParseError:
            self.counters.malformed += 1
            return
        if self.remote == addr:  # _latch's common case, inline
            self._latched_ssrc = packet.ssrc
        elif not self._latch(packet, addr):
            self.counters.stray += 1
            return
        self.counters.received += 1
        now = self.engine.now()
        self.last_packet_at = now
        self.timed_out = False
        stream = self.stream
        if stream is None:
            return
        bridge = self.bridge
        if (
            bridge is not None
            and bridge.fast_path
            and packet.payload_type == stream.audio_payload_type
        ):
            stream.stats.update(packet, now)  # RTCP reports stay true in the fast path
            bridge.forward(self, packet, now)
            return
        for event in stream.receive(packet, now):
            self._on_digit(event)

    def _latch(self, packet: RtpPacket, addr: tuple) -> bool:
        """Symmetric RTP: send where the phone sends from (NAT), re-latch on a new SSRC."""
        if self.remote == addr:
            self._latched_ssrc = packet.ssrc
            return True
        if self._latched_ssrc is not None and packet.ssrc == self._latched_ssrc:
            return False  # the same stream from elsewhere: someone else's packets
        self.remote = addr
        self._latched_ssrc = packet.ssrc
        return True

    def _on_rtcp(self, data: bytes, addr: tuple) -> None:
        if self.rtcp_state is not None:
            try:
                self.rtcp_state.receive(data, self.engine.now())
            except ValueError:
                self.counters.malformed += 1

    def digit_from_signalling(self, digit: str) -> None:
        """A digit that came in SIP (INFO application/dtmf-relay) rather than in the media."""
        self._on_digit(DtmfReceived(digit, "info"))

    def _on_digit(self, event: DtmfReceived) -> None:
        if self.player is not None and self.player.stop_on_dtmf:
            self.player.interrupt()
        bridge = self.bridge
        if self.collector is None and bridge is not None and len(bridge.members) == 2:
            # Regenerated on the other leg, with its own payload type (or transcoded away).
            other = bridge.members[1] if self is bridge.members[0] else bridge.members[0]
            if other.stream is not None:
                other.stream.send_dtmf(event.digit)
        if self.collector is not None:
            collector, future = self.collector
            result = collector.feed(event.digit, self.engine.now())
            if result is not None:
                self.collector = None
                if not future.done():
                    future.set_result(result)
        for listener in list(self.dtmf_listeners):
            listener(event.digit)

    # -- outbound -------------------------------------------------------------------------------

    def send(self, datagrams: Iterable[bytes]) -> None:
        if self.remote is None or self.rtp is None:
            return
        for data in datagrams:
            self.rtp.send(data, self.remote)
            self.counters.sent += 1

    def send_rtcp(self, now: float) -> None:
        if self.rtcp_state is None or self.rtcp is None or self.remote is None:
            return
        report = self.rtcp_state.poll(now)
        if report:
            host, port = self.remote[:2]
            self.rtcp.send(report, (host, port + 1))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for sock in (self.rtp, self.rtcp):
            if sock is not None:
                sock.close()
        if self.stream is not None:
            self.stream.close()
        if self.inband is not None:
            self.inband.close()
        if self.collector is not None and not self.collector[1].done():
            self.collector[1].cancel()


# What one channel of a recording is made of: an endpoint, or endpoints mixed.
RecordedParty = Endpoint | tuple[Endpoint, ...]


@dataclass
class Bridge:
    """Endpoints that hear each other through a mixer (matrix: who hears whom)."""

    engine: MediaEngine
    members: list[Endpoint]
    mixer: Mixer
    recorders: list[tuple[Recorder, tuple[RecordedParty, ...]]] = field(default_factory=list)
    fast_path: bool = False

    def forward(self, source: Endpoint, packet: RtpPacket, now: float) -> None:
        """No-decode fast path: the other leg gets the payload under its own SSRC/sequence."""
        members = self.members
        other = members[1] if source is members[0] else members[0]
        stream = other.stream
        if stream is None:
            return
        data = stream.sender.datagram(
            stream.audio_payload_type,
            packet.payload,
            stream.timestamp_step,
            packet.marker,
            now=now,
        )
        if other.remote is not None and other.rtp is not None:  # Endpoint.send, inline
            other.rtp.send(data, other.remote)
            other.counters.sent += 1


class MediaEngine:
    def __init__(self, bind_ip: str, allocator: PortAllocator, *, media_timeout: float = 60.0):
        self.recording_writer = RecordingWriter()  # file I/O of all recordings, off the tick
        self.bind_ip = bind_ip
        self.allocator = allocator
        self.media_timeout = media_timeout
        self.endpoints: dict[int, Endpoint] = {}
        self.bridges: list[Bridge] = []
        self.on_media_timeout: Callable[[Endpoint], None] = lambda endpoint: None
        self._ids = itertools.count(1)
        self._tick_task: asyncio.Task | None = None
        self.ticks = 0
        self.late_ticks = 0
        self.load = LoadGauge()
        self.webrtc_settings: WebRtcSettings | None = None  # None: webrtc.WebRtcSettings()
        self.closing: set[asyncio.Task] = set()  # WebRTC endpoints closing (aiortc is async)

    @staticmethod
    def now() -> float:
        return asyncio.get_running_loop().time()

    # -- commands -------------------------------------------------------------------------------

    async def create_endpoint(self, local_ip: str) -> Endpoint:
        if self.load.overloaded:
            raise MediaOverloaded(f"media thread busy ({self.load.load:.0%} of a core)")
        port, rtp_sock, rtcp_sock = await bind_pair(self.bind_ip, self.allocator)
        endpoint = Endpoint(self, self.next_endpoint_id(), local_ip, port)
        loop = asyncio.get_running_loop()
        try:
            _, endpoint.rtp = await loop.create_datagram_endpoint(
                lambda: _Socket(endpoint._on_rtp), sock=rtp_sock
            )
            _, endpoint.rtcp = await loop.create_datagram_endpoint(
                lambda: _Socket(endpoint._on_rtcp), sock=rtcp_sock
            )
        except BaseException:
            rtp_sock.close()
            rtcp_sock.close()
            self.allocator.release(port)
            raise
        self.add_endpoint(endpoint)
        return endpoint

    async def create_webrtc_endpoint(
        self, offer_sdp: bytes | str, local_ip: str | None = None
    ) -> tuple[WebRtcEndpoint, bytes]:
        """A browser's leg (ICE, DTLS-SRTP, Opus/G.711 by aiortc) and pbxd's answer to its
        offer; see webrtc.py. Raises WebRtcOfferRejected (488), WebRtcUnavailable (503)."""
        from .webrtc import create_webrtc_endpoint

        return await create_webrtc_endpoint(self, offer_sdp, local_ip)

    async def create_webrtc_offer(
        self, local_ip: str | None = None
    ) -> tuple[WebRtcEndpoint, bytes]:
        """pbxd calls a browser: a WebRTC endpoint and pbxd's offer; the browser's answer
        goes to `endpoint.accept_answer(sdp)`. See webrtc.py."""
        from .webrtc import create_webrtc_offer

        return await create_webrtc_offer(self, local_ip)

    def next_endpoint_id(self) -> int:
        return next(self._ids)

    def add_endpoint(self, endpoint: Endpoint) -> None:
        """Start ticking a new endpoint (made by create_endpoint or a WebRTC answer)."""
        self.endpoints[endpoint.id] = endpoint
        self._ensure_ticking()

    def bridge(self, members: list[Endpoint], matrix: Mapping | None = None) -> Bridge:
        for member in members:
            if member.bridge is not None:
                self.unbridge(member)
        if matrix is None:
            matrix = bridge_matrix(*members) if len(members) == 2 else conference(members)
        mixer = Mixer(matrix)
        for member in members:  # a member no link names yet (a bridge of one: a recording)
            mixer.add(member)
        bridge = Bridge(self, list(members), mixer)
        for member in members:
            member.bridge = bridge
        self.bridges.append(bridge)
        self._refresh_fast_path(members[0])
        return bridge

    def rebridge(
        self, bridge: Bridge, members: list[Endpoint], matrix: Mapping | None = None
    ) -> bool:
        """Change who is in a live `bridge` and who hears whom, in place: its recorders run
        on (`bridge` would unbridge the members and end them). Members not listed leave,
        new ones join (leaving any other bridge). False when the bridge is over already."""
        if bridge not in self.bridges or len(members) < 2:
            return False
        for member in members:
            if member.bridge is not None and member.bridge is not bridge:
                self.unbridge(member)
        for gone in bridge.members:
            if gone not in members:
                gone.bridge = None
        if matrix is None:
            matrix = bridge_matrix(*members) if len(members) == 2 else conference(members)
        mixer = Mixer(matrix)
        for member in members:
            mixer.add(member)
        bridge.members = list(members)
        bridge.mixer = mixer
        for member in members:
            member.bridge = bridge
        self._refresh_fast_path(members[0])
        return True

    def unbridge(self, endpoint: Endpoint) -> None:
        bridge = endpoint.bridge
        if bridge is None:
            return
        bridge.members.remove(endpoint)
        if endpoint in bridge.mixer:
            bridge.mixer.remove(endpoint)
        endpoint.bridge = None
        if len(bridge.members) < 2:
            for member in bridge.members:
                member.bridge = None
            for recorder, _ in bridge.recorders:
                recorder.close()
            bridge.recorders.clear()
            self.bridges.remove(bridge)
        else:
            self._refresh_fast_path(bridge.members[0])

    def play(
        self,
        endpoint: Endpoint,
        prompts: list[np.ndarray],
        *,
        loop: bool = False,
        stop_on_dtmf: bool = True,
        on_finished: Callable[[], None] | None = None,
    ) -> Player:
        """Play to the endpoint's far end; `on_finished` runs when the prompts end (played
        out or interrupted by a digit), not when they are replaced or stopped."""
        player = Player(prompts, loop=loop, stop_on_dtmf=stop_on_dtmf)
        endpoint.player = player
        endpoint.on_player_finished = on_finished
        self._refresh_fast_path(endpoint)
        return player

    def play_tone(self, endpoint: Endpoint, plan: TonePlan, name: str) -> ToneGenerator:
        """Dial, ringback, busy or congestion tone of `plan`, until stopped or replaced."""
        tone = ToneGenerator.for_tone(plan, name)
        endpoint.player = _ToneSource(tone)
        endpoint.on_player_finished = None
        self._refresh_fast_path(endpoint)
        return tone

    def stop_playing(self, endpoint: Endpoint) -> None:
        endpoint.player = None
        endpoint.on_player_finished = None
        self._refresh_fast_path(endpoint)

    def record(
        self,
        bridge: Bridge,
        path,
        fmt: str = "wav-pcm16",
        channels: int = 2,
        parties: tuple[Endpoint, ...] | None = None,
    ) -> Recorder:
        """Record what `parties` (default: the first two members) say: mixed, or one each.

        The recording is completed when stopped or when the bridge ends; its `completed`
        future then gives the final path (or the storage error that cut it).
        """
        recorder = Recorder(path, format=fmt, channels=channels, writer=self.recording_writer)
        bridge.recorders.append((recorder, parties or tuple(bridge.members[:2])))
        self._refresh_fast_path(bridge.members[0])
        return recorder

    def set_recorded(self, bridge: Bridge, parties: tuple[RecordedParty, ...]) -> None:
        """What every recorder of `bridge` records from now on: the call's parties changed
        in place (a transfer: another agent took the caller). A party may be a group of
        endpoints (a three-way call's agent side), recorded mixed on its channel."""
        bridge.recorders = [(recorder, parties) for recorder, _ in bridge.recorders]

    def stop_recording(self, bridge: Bridge, recorder: Recorder) -> None:
        bridge.recorders = [(r, p) for r, p in bridge.recorders if r is not recorder]
        recorder.close()
        if bridge.members:
            self._refresh_fast_path(bridge.members[0])

    def collect_digits(
        self,
        endpoint: Endpoint,
        *,
        max_digits: int,
        first_timeout: float,
        inter_timeout: float,
        terminator: str | None = "#",
    ) -> asyncio.Future:
        collector = DigitCollector(max_digits, first_timeout, inter_timeout, terminator)
        collector.start(self.now())
        future: asyncio.Future[CollectResult] = asyncio.get_running_loop().create_future()
        endpoint.collector = (collector, future)
        return future

    def detect_inband_dtmf(self, endpoint: Endpoint) -> None:
        """Listen for DTMF tones inside the audio (analog lines, phones without RFC 4733)."""
        if endpoint.inband is None:
            endpoint.inband = InbandDtmfDetector()
            self._refresh_fast_path(endpoint)

    def destroy(self, endpoint: Endpoint) -> None:
        self.unbridge(endpoint)
        endpoint.close()
        self.endpoints.pop(endpoint.id, None)
        if endpoint.plain_rtp:
            self.allocator.release(endpoint.local_port)

    def close(self) -> None:
        for endpoint in list(self.endpoints.values()):
            self.destroy(endpoint)
        if self._tick_task is not None:
            self._tick_task.cancel()
        self.recording_writer.close()  # the last recordings reach their final names

    # -- the tick -------------------------------------------------------------------------------

    def _refresh_fast_path(self, endpoint: Endpoint) -> None:
        bridge = endpoint.bridge
        if bridge is None:
            return
        a_b = bridge.members
        bridge.fast_path = (
            len(a_b) == 2
            and not bridge.recorders
            and all(
                m.plain_rtp and m.stream is not None and m.player is None and m.inband is None
                for m in a_b
            )
            and a_b[0].stream.codec == a_b[1].stream.codec  # type: ignore[union-attr]
            # both hear each other as is: a one-way link (an agent muted to his customer)
            # or none (on hold) must go through the mixer
            and bridge.mixer.links() == bridge_matrix(a_b[0], a_b[1])
        )

    def _ensure_ticking(self) -> None:
        if self._tick_task is None or self._tick_task.done():
            self._tick_task = asyncio.get_running_loop().create_task(self._run_ticks())

    async def _run_ticks(self) -> None:
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        # The whole thread's CPU (SIP and RTP callbacks too, not only the ticks) over wall time.
        sampled_at, sampled_cpu = next_at, time.thread_time()
        while self.endpoints:
            next_at += TICK
            delay = next_at - loop.time()
            if delay < -MAX_LATENESS:
                self.late_ticks += 1
                next_at = loop.time()
            elif delay > 0:
                await asyncio.sleep(delay)
            now = loop.time()
            try:
                self.tick(now)
            except Exception:
                log.exception("media tick failed")
            if now - sampled_at >= LOAD_SAMPLE_S:
                cpu = time.thread_time()
                self.load.update(cpu - sampled_cpu, now - sampled_at)
                sampled_at, sampled_cpu = now, cpu
        self.load = LoadGauge()  # no media left: nothing to protect, no stale refusal
        self._tick_task = None

    def tick(self, now: float) -> None:
        self.ticks += 1
        heard: dict[Endpoint, Frame | None] = {}
        for endpoint in self.endpoints.values():
            stream = endpoint.stream
            bridge = endpoint.bridge
            if stream is None or (bridge is not None and bridge.fast_path):
                heard[endpoint] = None
            else:
                frame = heard[endpoint] = stream.pull(now)
                if endpoint.inband is not None and frame is not None:
                    for digit in endpoint.inband.process(frame):
                        endpoint._on_digit(DtmfReceived(digit, "inband"))
            if endpoint.collector is not None:
                self._poll_collector(endpoint, now)
        outgoing: dict[Endpoint, Frame | None] = {}
        for bridge in self.bridges:
            if bridge.fast_path:
                continue
            mixed = bridge.mixer.mix({m: heard.get(m) for m in bridge.members})
            outgoing.update(mixed)
            if bridge.recorders:
                self._feed_recorders(bridge, heard)
        for endpoint in self.endpoints.values():
            stream = endpoint.stream
            if stream is None:
                continue
            # _check_media_timeout and send_rtcp, their cheap tests inline (every endpoint,
            # every tick): usually nothing is due.
            if not endpoint.timed_out and stream.receives and self.media_timeout > 0:
                self._check_media_timeout(endpoint, now)
            rtcp_state = endpoint.rtcp_state
            if rtcp_state is not None and now >= rtcp_state.next_report_at:
                endpoint.send_rtcp(now)
            bridge = endpoint.bridge
            if bridge is not None and bridge.fast_path:
                if stream.sending_dtmf:
                    endpoint.send(stream.push(None, now))
                continue
            frame = outgoing.get(endpoint)
            if endpoint.player is not None:
                played = endpoint.player.next_frame()
                if played is None:
                    endpoint.player = None
                    self._refresh_fast_path(endpoint)
                    finished, endpoint.on_player_finished = endpoint.on_player_finished, None
                    if finished is not None:
                        finished()
                else:
                    frame = played
            endpoint.send(stream.push(frame, now))

    def _feed_recorders(self, bridge: Bridge, heard: Mapping[Endpoint, Frame | None]) -> None:
        for recorder, parties in list(bridge.recorders):
            frames = [
                _mix_down([heard.get(e) for e in p]) if isinstance(p, tuple) else heard.get(p)
                for p in parties
            ]
            try:
                if recorder.channels == 2 and len(frames) == 2:
                    recorder.write_stereo(frames[0], frames[1])
                else:
                    recorder.write(_mix_down(frames))
            except RecorderError as exc:
                # Full or missing storage ends this recording, never the call or the tick.
                log.error("recording stopped: %s", exc)
                self.stop_recording(bridge, recorder)

    def _poll_collector(self, endpoint: Endpoint, now: float) -> None:
        if endpoint.collector is None:
            return
        collector, future = endpoint.collector
        result = collector.poll(now)
        if result is not None:
            endpoint.collector = None
            if not future.done():
                future.set_result(result)

    def _check_media_timeout(self, endpoint: Endpoint, now: float) -> None:
        stream = endpoint.stream
        if stream is None or not stream.receives or self.media_timeout <= 0:
            return
        last = endpoint.last_packet_at or endpoint.created_at
        if now - last > self.media_timeout and not endpoint.timed_out:
            endpoint.timed_out = True  # once, until packets flow again
            self.on_media_timeout(endpoint)


class _ToneSource:
    """A tone in the place of a prompt player: endless, not stopped by DTMF."""

    stop_on_dtmf = False

    def __init__(self, tone: ToneGenerator):
        self.tone = tone

    def next_frame(self) -> Frame | None:
        return None if self.tone.finished else self.tone.next_frame()

    def interrupt(self) -> bool:
        return False


def _mix_down(frames: list[Frame | None]) -> Frame | None:
    present = [f.astype(np.int32) for f in frames if f is not None]
    if not present:
        return None
    return np.clip(sum(present), -32768, 32767).astype(np.int16)
