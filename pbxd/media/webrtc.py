"""WebRTC media endpoints: a browser's audio (ICE, DTLS-SRTP, Opus or G.711) as an engine leg.

A browser softphone (JsSIP, SIP.js) offers `m=audio ... UDP/TLS/RTP/SAVPF` with its ICE
candidates (gathered before the offer is sent), a DTLS fingerprint, rtcp-mux, BUNDLE and
Opus/PCMU/PCMA. aiortc terminates all of that (ICE, DTLS-SRTP, RTP, the codecs); this module
turns it into an `Endpoint` that the engine bridges, plays to, records and collects digits from
like any RTP leg:

    endpoint, answer_sdp = await engine.create_webrtc_endpoint(offer_sdp)
    engine.bridge([endpoint, phone_endpoint])
    await endpoint.connected          # optional: ICE + DTLS done (raises WebRtcMediaFailed)
    engine.destroy(endpoint)          # then, if it matters: await endpoint.wait_closed()

How the audio moves (everything on pbxd's one event loop, except aiortc's codec threads):

- in: aiortc's receiving track gives decoded frames (Opus: 48 kHz stereo, G.711: 8 kHz mono)
  -> mono -> resampled to ENGINE_RATE -> cut into 20 ms frames -> a small bounded playout
  queue (`WebRtcAudio`) that the 20 ms tick pulls from like a jitter buffer;
- out: the tick pushes the bridge's mix for this endpoint -> resampled to the codec's rate
  (48 kHz for Opus, 8 kHz for G.711, so that no aiortc version resamples it again) -> a
  bounded queue -> `EngineAudioTrack.recv()`, which aiortc's sender awaits, so the engine's
  tick paces what the browser gets.
Both queues drop their oldest frame when full and count it.

Written against the API subset common to aiortc 1.4 (Debian's python3-aiortc on the
appliance, with aioice 0.8 and PyAV 10) and current releases (1.16 with aioice 0.13 and
PyAV 18): RTCPeerConnection, addTransceiver, setCodecPreferences, RTCRtpSender/Receiver
capabilities, MediaStreamTrack, connectionState. Two private hooks are used, both optional:
`aioice.ice.get_host_addresses` (ICE candidates only on the chosen address, see
`gathering_on`) and `RTCDtlsTransport._handle_rtp_data` (RFC 4733 digits, which aiortc does
not expose: without that hook, telephone-event is not offered and digits come by SIP INFO).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import fractions
import functools
import ipaddress
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from pbxd.sip.errors import NotAcceptableHere
from pbxd.sip.sdp import Direction, SdpError, SessionDescription

from .dtmf import DigitStarted, DtmfError, Rfc4733Receiver
from .dtmf_native import DtmfToneGenerator
from .engine import Endpoint, MediaEngine
from .frames import ENGINE_RATE, FRAME_SAMPLES, Frame, silence
from .ports import MediaOverloaded, MediaResourceError
from .resample import Resampler
from .rtp import RtpPacket, RtpParseError
from .stream import DtmfReceived

log = logging.getLogger(__name__)

# --- errors ---------------------------------------------------------------------------------


class WebRtcOfferRejected(NotAcceptableHere):
    """The browser's offer (or answer) is unusable: no DTLS fingerprint, no audio, no codec..."""


class WebRtcUnavailable(MediaResourceError):
    """aiortc (or one of its libraries) is not installed: no WebRTC calls on this system."""


class WebRtcMediaFailed(MediaResourceError):
    """ICE or DTLS did not complete in time, failed, or the browser closed the connection."""


class WebRtcUsageError(TypeError):
    """RTP-only operations (`negotiator`, `apply`) asked of a WebRTC endpoint: a bug."""


# --- settings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebRtcSettings:
    connect_timeout: float = 20.0  # offer answered -> ICE and DTLS connected, or reported dead
    ice_servers: tuple[str, ...] = ()  # STUN URLs for an appliance behind NAT; none on a LAN
    playout_frames: int = 2  # 20 ms frames queued before playout (re)starts: absorbs jitter
    max_inbound_frames: int = 8  # beyond: the oldest is dropped (a burst, a fast sender clock)
    max_outbound_frames: int = 5  # beyond: the oldest is dropped (aiortc's sender fell behind)
    rfc4733: bool = True  # offer telephone-event back to the browser when the hook is available

    def __post_init__(self) -> None:
        if self.connect_timeout <= 0:
            raise ValueError("connect_timeout must be positive")
        if not 1 <= self.playout_frames <= self.max_inbound_frames:
            raise ValueError("need 1 <= playout_frames <= max_inbound_frames")
        if self.max_outbound_frames < 1:
            raise ValueError("max_outbound_frames must be at least 1")


# --- the browser's SDP (pure) ---------------------------------------------------------------

WEBRTC_PROFILES = frozenset({"UDP/TLS/RTP/SAVPF", "UDP/TLS/RTP/SAVP"})
# What pbxd takes from a browser, in its order of preference (aiortc's names and rates).
WEBRTC_CODECS: tuple[tuple[str, int], ...] = (("opus", 48000), ("PCMU", 8000), ("PCMA", 8000))
TELEPHONE_EVENT = "telephone-event"
OFFERED_TELEPHONE_EVENTS = ((110, 48000), (101, 8000))  # PTs aiortc leaves free in audio


@dataclass(frozen=True)
class WebRtcSdp:
    """What pbxd checked in a browser's offer or answer before handing it to aiortc."""

    audio_index: int  # the audio m= line; others are answered inactive
    codecs: tuple[str, ...]  # its codecs pbxd takes, in the browser's order
    telephone_events: tuple[tuple[int, int], ...]  # (payload type, clock rate) offered
    candidates: int  # a=candidate lines of the audio stream (0: trickle ICE, not supported)
    direction: Direction  # what the browser does: sendonly while it holds the call
    ice_ufrag: str  # a new one in a re-offer is an ICE restart


def is_webrtc_offer(sdp: bytes | str) -> bool:
    """Whether an SDP offers DTLS-SRTP audio (what call control routes to a WebRTC endpoint)."""
    try:
        offer = SessionDescription.parse(sdp)
    except SdpError:
        return False
    return any(
        m.media.lower() == "audio" and m.port != 0 and m.proto.upper() in WEBRTC_PROFILES
        for m in offer.media
    )


def check_offer(sdp: bytes | str) -> WebRtcSdp:
    """Refuse, with a reason a person can act on, what aiortc would fail on later or obscurely
    (RFC 8829 section 5.8 lists what an offer needs: ICE credentials, fingerprint, rtcp-mux)."""
    return _check(sdp, "offer")


def check_answer(sdp: bytes | str) -> WebRtcSdp:
    """The browser's answer to pbxd's offer, checked like an offer."""
    return _check(sdp, "answer")


def _check(sdp: bytes | str, kind: str) -> WebRtcSdp:
    try:
        offer = SessionDescription.parse(sdp)
    except SdpError as exc:
        raise WebRtcOfferRejected(f"the {kind} is not valid SDP: {exc}") from exc
    index = next(
        (
            i
            for i, m in enumerate(offer.media)
            if m.media.lower() == "audio" and m.port != 0 and m.proto.upper() in WEBRTC_PROFILES
        ),
        None,
    )
    if index is None:
        protos = ", ".join(f"m={m.media} {m.proto}" for m in offer.media) or "no m= line"
        raise WebRtcOfferRejected(
            f"no WebRTC audio stream (UDP/TLS/RTP/SAVPF) in the {kind}: {protos}"
        )
    if any(m.media.lower() == "application" and m.port != 0 for m in offer.media):
        raise WebRtcOfferRejected("data channels are not supported: offer audio only")
    audio = offer.media[index]

    def attribute(name: str) -> str | None:
        return audio.attribute(name) or offer.attribute(name)  # media level overrides session

    if not audio.attributes_named("fingerprint") and not offer.attributes_named("fingerprint"):
        raise WebRtcOfferRejected(f"the {kind} has no DTLS fingerprint (a=fingerprint)")
    if not attribute("ice-ufrag") or not attribute("ice-pwd"):
        raise WebRtcOfferRejected(f"the {kind} has no ICE credentials (a=ice-ufrag, a=ice-pwd)")
    if not audio.has_attribute("rtcp-mux"):
        raise WebRtcOfferRejected(f"the {kind} does not multiplex RTCP (a=rtcp-mux, RFC 5761)")
    codecs: list[str] = []
    events: list[tuple[int, int]] = []
    offered: list[str] = []
    for payload_type in audio.payload_types:
        rtpmap = audio.rtpmap(payload_type)
        if rtpmap is None:
            continue
        offered.append(f"{rtpmap.name}/{rtpmap.clock_rate}")
        if rtpmap.name == TELEPHONE_EVENT:
            events.append((payload_type, rtpmap.clock_rate))
        for name, rate in WEBRTC_CODECS:
            if rtpmap.name == name.lower() and rtpmap.clock_rate == rate and name not in codecs:
                codecs.append(name)
    if not codecs:
        raise WebRtcOfferRejected(
            "no codec pbxd takes from a browser (opus/48000, PCMU/8000, PCMA/8000) among "
            + (", ".join(offered) or "the offered payload types")
        )
    return WebRtcSdp(
        audio_index=index,
        codecs=tuple(codecs),
        telephone_events=tuple(events),
        candidates=len(audio.attributes_named("candidate")),
        direction=offer.direction_of(audio),
        ice_ufrag=attribute("ice-ufrag") or "",
    )


def answered_codec(answer: str, audio_index: int) -> tuple[str, int]:
    """The codec an answer settles on: the first of its audio m= line's payload types that is
    in WEBRTC_CODECS (aiortc sends with it; for a browser's answer, the browser does)."""
    media = SessionDescription.parse(answer).media[audio_index]
    for payload_type in media.payload_types:
        rtpmap = media.rtpmap(payload_type)
        for name, rate in WEBRTC_CODECS:
            if rtpmap is not None and rtpmap.name == name.lower() and rtpmap.clock_rate == rate:
                return name, rate
    raise WebRtcOfferRejected("the answer holds none of opus, PCMU, PCMA")


def pick_telephone_event(offer: WebRtcSdp, clock_rate: int) -> tuple[int, int] | None:
    """The offered telephone-event at the audio codec's clock (RFC 4733 section 2.1: the same
    clock as the audio), else the one at 8000 Hz."""
    by_rate = {rate: payload_type for payload_type, rate in offer.telephone_events}
    for rate in (clock_rate, 8000):
        if rate in by_rate:
            return by_rate[rate], rate
    return None


def with_telephone_event(answer: str, audio_index: int, payload_type: int, rate: int) -> str:
    """aiortc's answer text with telephone-event added to the audio m= line (aiortc has no
    such codec: the engine reads those packets itself, see `WebRtcEndpoint._hook_dtmf`)."""
    lines = answer.replace("\r\n", "\n").rstrip("\n").split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith("m=")]
    start = starts[audio_index]
    end = starts[audio_index + 1] if audio_index + 1 < len(starts) else len(lines)
    lines[start] += f" {payload_type}"
    rtpmaps = [i for i in range(start, end) if lines[i].startswith("a=rtpmap:")]
    at = (rtpmaps[-1] if rtpmaps else start) + 1
    lines[at:at] = [
        f"a=rtpmap:{payload_type} {TELEPHONE_EVENT}/{rate}",
        f"a=fmtp:{payload_type} 0-15",
    ]
    return "\r\n".join(lines) + "\r\n"


# --- the audio between aiortc and the tick (pure) -------------------------------------------


@dataclass
class WebRtcAudioStats:
    frames_in: int = 0  # engine frames made from what the browser sent
    frames_out: int = 0  # frames handed to aiortc's sender
    dropped_in: int = 0  # inbound queue full: oldest dropped
    dropped_out: int = 0  # outbound queue full: oldest dropped
    underruns: int = 0  # the tick found the inbound queue empty while playing


class WebRtcAudio:
    """The `stream` of a WebRTC endpoint, as the engine's tick uses an `RtpStream`.

    `feed` takes the browser's decoded audio (mono int16 at any rate), `pull` hands the tick
    one engine frame (or None: nothing to play, like an empty jitter buffer); `push` takes the
    tick's frame for the browser and queues it at `send_rate` for `next_outbound`.
    """

    def __init__(
        self,
        codec_name: str,
        send_rate: int,
        settings: WebRtcSettings,
        on_outbound: Callable[[], None] = lambda: None,
    ):
        # Never equal to an RtpStream's codec: a WebRTC leg never takes the RTP fast path.
        self.codec = f"webrtc/{codec_name}"
        self.codec_name = codec_name
        self.send_rate = send_rate
        self.settings = settings
        self.stats = WebRtcAudioStats()
        self.sending = False  # set once aiortc's sender pulls: before that, nothing is queued
        # What pbxd does (the browser's offer reversed): the tick reads these as on RtpStream.
        self.sends = True
        self.receives = True
        self._on_outbound = on_outbound
        self._inbound: deque[Frame] = deque()
        self._partial = np.zeros(0, dtype=np.int16)
        self._to_engine: dict[int, Resampler] = {}
        self._from_engine = None if send_rate == ENGINE_RATE else Resampler(ENGINE_RATE, send_rate)
        self._outbound: deque[np.ndarray] = deque()
        self._playing = False
        self._tones: deque[Frame] = deque()  # in-band DTMF towards the browser
        self._tone_generator: DtmfToneGenerator | None = None

    # -- from the browser -----------------------------------------------------------------------

    def feed(self, pcm: np.ndarray, rate: int) -> None:
        if rate != ENGINE_RATE:
            resampler = self._to_engine.get(rate)
            if resampler is None:
                resampler = self._to_engine[rate] = Resampler(rate, ENGINE_RATE)
            pcm = resampler.process(pcm)
        if self._partial.size:
            pcm = np.concatenate([self._partial, pcm])
        whole = pcm.size - pcm.size % FRAME_SAMPLES
        for start in range(0, whole, FRAME_SAMPLES):
            self._inbound.append(pcm[start : start + FRAME_SAMPLES])
            self.stats.frames_in += 1
        self._partial = pcm[whole:]
        while len(self._inbound) > self.settings.max_inbound_frames:
            self._inbound.popleft()
            self.stats.dropped_in += 1

    def pull(self, now: float) -> Frame | None:
        """Playout: start once `playout_frames` are queued; an empty queue stops it again."""
        if not self._playing:
            if len(self._inbound) < self.settings.playout_frames:
                return None
            self._playing = True
        if not self._inbound:
            self._playing = False
            self.stats.underruns += 1
            return None
        return self._inbound.popleft()

    # -- to the browser ---------------------------------------------------------------------------

    def push(self, frame: Frame | None, now: float) -> list[bytes]:
        """Queue the tick's frame for aiortc (silence when the bridge has none: the browser
        gets a steady 50 packets a second). No datagrams: aiortc sends them."""
        if not self.sending or not self.sends:  # not connected yet, or the browser holds
            self._tones.clear()
            return []
        if self._tones:
            frame = self._tones.popleft()
        elif frame is None:
            frame = silence()
        pcm = self._from_engine.process(frame) if self._from_engine is not None else frame
        self._outbound.append(pcm)
        while len(self._outbound) > self.settings.max_outbound_frames:
            self._outbound.popleft()
            self.stats.dropped_out += 1
        self._on_outbound()
        return []

    def next_outbound(self) -> np.ndarray | None:
        if not self._outbound:
            return None
        self.stats.frames_out += 1
        return self._outbound.popleft()

    def send_dtmf(self, digit: str, duration_ms: int = 160) -> None:
        """A digit from the other leg, played to the browser as an in-band DTMF tone (aiortc
        cannot send RFC 4733 events)."""
        if self._tone_generator is None:
            self._tone_generator = DtmfToneGenerator(ENGINE_RATE)
        frames = -(-duration_ms // 20)
        tone = self._tone_generator.tone(digit, frames * 20)
        self._tones.extend(tone[i : i + FRAME_SAMPLES] for i in range(0, tone.size, FRAME_SAMPLES))
        self._tones.append(silence())  # a gap, so that repeated digits stay apart

    @property
    def sending_dtmf(self) -> bool:
        return bool(self._tones)

    def close(self) -> None:
        self._inbound.clear()
        self._outbound.clear()
        self._tones.clear()


def mono_pcm(channels: int, planar: bool, data: np.ndarray) -> np.ndarray:
    """Interleaved or planar samples of any channel count -> mono int16."""
    if data.dtype.kind == "f":
        data = np.clip(np.rint(data * 32767.0), -32768, 32767)
    if channels > 1:
        data = data.reshape(channels, -1) if planar else data.reshape(-1, channels).T
        return data.astype(np.int32).mean(axis=0).astype(np.int16)
    return data.reshape(-1).astype(np.int16)


# --- ICE candidates on chosen addresses -----------------------------------------------------

_GATHER_ADDRESSES: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar(
    "pbxd_webrtc_gather_addresses", default=None
)


@contextlib.contextmanager
def gathering_on(addresses: Iterable[str]) -> Iterator[None]:
    """ICE host candidates gathered inside this block (by this task and the tasks it starts)
    are on `addresses` only: the appliance's LAN address rather than every interface, or
    127.0.0.1 in tests (aioice never offers loopback by itself)."""
    _install_address_filter()
    token = _GATHER_ADDRESSES.set(tuple(addresses))
    try:
        yield
    finally:
        _GATHER_ADDRESSES.reset(token)


@functools.cache
def _install_address_filter() -> None:
    """Wrap aioice's host address lookup once; outside `gathering_on` it behaves as before."""
    ice = _aiortc_modules()["ice"]
    everywhere = ice.get_host_addresses

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        wanted = _GATHER_ADDRESSES.get()
        if wanted is None:
            return everywhere(use_ipv4, use_ipv6)
        return [
            address
            for address in wanted
            if (use_ipv6 if ipaddress.ip_address(address).version == 6 else use_ipv4)
        ]

    ice.get_host_addresses = get_host_addresses


# --- aiortc, imported on first use ----------------------------------------------------------


@functools.cache
def _aiortc_modules() -> dict:
    try:
        import aioice.ice as ice
        import aiortc
        import av
        from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
    except ImportError as exc:
        raise WebRtcUnavailable(
            f"WebRTC needs aiortc ({exc}): pip install aiortc, or on Debian "
            "apt-get install python3-aiortc"
        ) from exc
    return {
        "aiortc": aiortc,
        "av": av,
        "ice": ice,
        "MediaStreamError": MediaStreamError,
        "track_class": _make_track_class(MediaStreamTrack, MediaStreamError, av),
    }


def _make_track_class(base, stream_error, av):
    class EngineAudioTrack(base):
        """What aiortc sends to the browser: the engine's frames for this endpoint, as the
        tick produces them (aiortc's sender awaits `recv`, so the tick paces it)."""

        kind = "audio"

        def __init__(self, audio: WebRtcAudio):
            super().__init__()
            self._audio = audio
            self._ready = asyncio.Event()
            self._pts = 0
            self._time_base = fractions.Fraction(1, audio.send_rate)

        def wake(self) -> None:
            self._ready.set()

        async def recv(self):
            audio = self._audio
            audio.sending = True
            while True:
                if self.readyState != "live":
                    raise stream_error
                pcm = audio.next_outbound()
                if pcm is not None:
                    break
                self._ready.clear()
                await self._ready.wait()
            frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = audio.send_rate
            frame.pts = self._pts
            frame.time_base = self._time_base
            self._pts += pcm.size
            return frame

        def stop(self) -> None:
            super().stop()
            self._ready.set()

    return EngineAudioTrack


# --- the endpoint ---------------------------------------------------------------------------


class WebRtcEndpoint(Endpoint):
    """A browser's audio leg. The engine bridges, plays, records and collects digits on it as
    on an RTP `Endpoint`; SDP is aiortc's (no `negotiator`, no `apply`)."""

    plain_rtp = False

    def __init__(
        self, engine: MediaEngine, endpoint_id: int, local_ip: str, settings: WebRtcSettings
    ):
        super().__init__(engine, endpoint_id, local_ip, 0)
        self.settings = settings
        self.failure: str | None = None  # why the connection is dead, once it is
        self.answered_at = engine.now()
        self.connected_at: float | None = None
        loop = asyncio.get_running_loop()
        # Resolves when ICE and DTLS are up; WebRtcMediaFailed when they never come up.
        self.connected: asyncio.Future[None] = loop.create_future()
        self.connected.add_done_callback(_retrieve)
        self._dtmf_event: tuple[int, int] | None = None  # (payload type, clock) pbxd reads
        self._remote: WebRtcSdp | None = None  # the browser's last offer or answer
        self._transceiver = None
        self.shutdown: asyncio.Task | None = None
        self._pc = None
        self._track = None
        self._receiving: asyncio.Task | None = None
        self._watchdog: asyncio.TimerHandle | None = None

    # -- RTP-only parts of Endpoint ---------------------------------------------------------------

    @property
    def negotiator(self):
        raise WebRtcUsageError("a WebRTC endpoint's SDP is aiortc's: it has no RTP negotiator")

    @negotiator.setter
    def negotiator(self, _value) -> None:
        pass  # Endpoint.__init__ makes one for RTP; not kept here

    def apply(self, terms) -> None:
        raise WebRtcUsageError("a WebRTC endpoint takes no RTP terms")

    def send(self, datagrams) -> None:
        pass  # aiortc sends; WebRtcAudio.push returns no datagrams

    @property
    def connection_state(self) -> str:
        return "closed" if self._pc is None else self._pc.connectionState

    @property
    def rfc4733(self) -> bool:
        """Whether pbxd reads RFC 4733 digits from the browser (else: SIP INFO only)."""
        return self._dtmf_event is not None

    @property
    def setup_seconds(self) -> float | None:
        """SDP exchanged (pbxd's answer made, or the browser's accepted) -> ICE and DTLS
        connected: the WebRTC part of a call's set-up time."""
        return None if self.connected_at is None else self.connected_at - self.answered_at

    # -- set-up -----------------------------------------------------------------------------------

    def _peer_connection(self):
        """aiortc's peer connection with pbxd's audio transceiver (made before any SDP is
        applied, so that only pbxd's codecs are negotiated: aiortc may know more, e.g. G.722).
        """
        aiortc = _aiortc_modules()["aiortc"]
        servers = [aiortc.RTCIceServer(urls=url) for url in self.settings.ice_servers]
        pc = self._pc = aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=servers))
        pc.on("connectionstatechange", self._on_connection_state)
        capabilities = aiortc.RTCRtpSender.getCapabilities("audio").codecs
        preferred = [
            c
            for name, rate in WEBRTC_CODECS
            for c in capabilities
            if c.mimeType.lower() == f"audio/{name.lower()}" and c.clockRate == rate
        ]
        self._transceiver = pc.addTransceiver("audio", direction="sendrecv")
        self._transceiver.setCodecPreferences(preferred)
        return pc

    async def _describe(self, pc, make, addresses: Sequence[str] | None) -> str:
        """createOffer or createAnswer, then setLocalDescription, which gathers every ICE
        candidate (no trickle: they are all in the SDP, as SIP needs)."""
        if addresses is None:
            await pc.setLocalDescription(await make())
        else:
            with gathering_on(addresses):
                await pc.setLocalDescription(await make())
        return pc.localDescription.sdp

    async def _set_remote(self, pc, sdp: str, kind: str) -> None:
        aiortc = _aiortc_modules()["aiortc"]
        try:
            await pc.setRemoteDescription(aiortc.RTCSessionDescription(sdp, kind))
        except (ValueError, *_aiortc_refusals(aiortc)) as exc:
            raise WebRtcOfferRejected(f"aiortc refused the {kind}: {exc}") from exc
        for other in pc.getTransceivers():
            if other is not self._transceiver:
                other.direction = "inactive"  # a second audio or a video stream: not used

    def _start_audio(self, remote: WebRtcSdp, codec: tuple[str, int]) -> None:
        """Once the codec is agreed: the audio queues, the track aiortc sends, the task that
        reads what it receives, RFC 4733 digits, and the connection deadline."""
        modules = _aiortc_modules()
        transceiver = self._transceiver
        name, rate = codec
        self.stream = WebRtcAudio(name, rate, self.settings, self._wake_sender)
        self._track = modules["track_class"](self.stream)
        # No await since setRemote/LocalDescription: aiortc's connecting task has not run yet,
        # so its sender starts with this track.
        transceiver.sender.replaceTrack(self._track)
        self._receiving = asyncio.get_running_loop().create_task(
            self._receive(transceiver.receiver.track, modules["MediaStreamError"])
        )
        event = pick_telephone_event(remote, rate) if self.settings.rfc4733 else None
        if event is not None:
            self._hook_dtmf(transceiver.receiver.transport, *event)
        self._agreed(remote)
        self.answered_at = self.engine.now()
        self._watchdog = asyncio.get_running_loop().call_later(
            self.settings.connect_timeout, self._connect_deadline
        )

    def _agreed(self, remote: WebRtcSdp) -> None:
        """What pbxd does is what the browser's SDP says, reversed (hold: sendonly)."""
        self._remote = remote
        audio = self.stream
        assert isinstance(audio, WebRtcAudio)
        ours = remote.direction.reversed()
        audio.sends, audio.receives = ours.sends, ours.receives

    def _with_dtmf(self, answer: str, offer: WebRtcSdp) -> str:
        event = self._dtmf_event
        if event is not None and event in offer.telephone_events:
            answer = with_telephone_event(answer, offer.audio_index, *event)
        return answer

    # pbxd answers (the browser calls)

    async def _answer(
        self, offer_sdp: str, offer: WebRtcSdp, addresses: Sequence[str] | None
    ) -> str:
        pc = self._peer_connection()
        await self._set_remote(pc, offer_sdp, "offer")
        answer = await self._describe(pc, pc.createAnswer, addresses)
        self._start_audio(offer, answered_codec(answer, offer.audio_index))
        return self._with_dtmf(answer, offer)

    # pbxd offers (pbxd calls the browser: a queue rings an agent)

    async def _offer(self, addresses: Sequence[str] | None) -> str:
        pc = self._peer_connection()
        offer = await self._describe(pc, pc.createOffer, addresses)
        # telephone-event at both clocks (Opus 48 kHz, G.711 8 kHz): the browser answers with
        # the one it will send digits with.
        for payload_type, rate in OFFERED_TELEPHONE_EVENTS:
            offer = with_telephone_event(offer, 0, payload_type, rate)
        return offer

    async def accept_answer(self, answer_sdp: bytes | str) -> None:
        """The browser's answer to pbxd's offer (its 200 OK): ICE and DTLS start now.
        Raises WebRtcOfferRejected (488) for an unusable answer."""
        if self.closed:
            raise WebRtcMediaFailed("the WebRTC endpoint is closed")
        if self._pc is None or self.stream is not None:
            raise WebRtcUsageError("accept_answer is for an endpoint made by create_webrtc_offer")
        text = (
            answer_sdp.decode("utf-8", "replace") if isinstance(answer_sdp, bytes) else answer_sdp
        )
        answer = check_answer(text)
        await self._set_remote(self._pc, text, "answer")
        self._start_audio(answer, answered_codec(text, answer.audio_index))

    async def renegotiate(self, offer_sdp: bytes | str) -> bytes:
        """pbxd's answer to a re-offer on this connection (a re-INVITE: hold with sendonly or
        inactive, resume). The codec and the ICE session stay: a re-offer that would change
        either (an ICE restart, a codec pbxd no longer has) is refused with 488."""
        text = offer_sdp.decode("utf-8", "replace") if isinstance(offer_sdp, bytes) else offer_sdp
        offer = check_offer(text)
        pc, previous, audio = self._pc, self._remote, self.stream
        if self.closed or pc is None or previous is None or not isinstance(audio, WebRtcAudio):
            raise WebRtcMediaFailed("the WebRTC connection is closed")
        if offer.audio_index != previous.audio_index:
            raise WebRtcOfferRejected("the re-offer moved the audio stream to another m= line")
        if offer.ice_ufrag != previous.ice_ufrag:
            raise WebRtcOfferRejected("ICE restarts are not supported (a=ice-ufrag changed)")
        await self._set_remote(pc, text, "offer")
        answer = await self._describe(pc, pc.createAnswer, None)
        name, _ = answered_codec(answer, offer.audio_index)
        if name != audio.codec_name:
            raise WebRtcOfferRejected(f"the re-offer drops {audio.codec_name}: no codec change")
        self._agreed(offer)
        return self._with_dtmf(answer, offer).encode()

    def _wake_sender(self) -> None:
        if self._track is not None:
            self._track.wake()

    def _hook_dtmf(self, transport, payload_type: int, clock_rate: int) -> None:
        """Read telephone-event packets before aiortc's RTP router (which would drop them:
        aiortc has no such codec). Private aiortc API, the same in 1.4 and 1.16."""
        original = getattr(transport, "_handle_rtp_data", None)
        if original is None:
            log.info("aiortc without _handle_rtp_data: browser digits only by SIP INFO")
            return
        receiver = Rfc4733Receiver(clock_rate)

        async def handle_rtp_data(data: bytes, arrival_time_ms: int) -> None:
            if len(data) > 1 and data[1] & 0x7F == payload_type:
                self._on_telephone_event(receiver, data)
                return
            await original(data, arrival_time_ms=arrival_time_ms)

        transport._handle_rtp_data = handle_rtp_data
        self._dtmf_event = (payload_type, clock_rate)

    def _on_telephone_event(self, receiver: Rfc4733Receiver, data: bytes) -> None:
        try:
            packet = RtpPacket.parse(data)
            events = receiver.feed(
                packet.timestamp, packet.marker, packet.payload, self.engine.now()
            )
        except (RtpParseError, DtmfError):
            self.counters.malformed += 1
            return
        for event in events:
            if isinstance(event, DigitStarted):
                self._on_digit(DtmfReceived(event.digit, "rfc4733"))

    # -- running ----------------------------------------------------------------------------------

    async def _receive(self, track, stream_error) -> None:
        """The browser's decoded audio -> the playout queue."""
        audio = self.stream
        assert isinstance(audio, WebRtcAudio)
        try:
            while True:
                frame = await track.recv()
                try:
                    pcm = mono_pcm(
                        len(frame.layout.channels), frame.format.is_planar, frame.to_ndarray()
                    )
                    audio.feed(pcm, frame.sample_rate)
                except (ValueError, TypeError) as exc:  # a frame PyAV or numpy cannot take
                    self.counters.malformed += 1
                    log.debug("WebRTC endpoint %s: unusable audio frame: %s", self.id, exc)
                    continue
                self.counters.received += 1
                self.last_packet_at = self.engine.now()
                self.timed_out = False
        except stream_error:
            # aiortc ends the track on an RTCP BYE or when the connection closes.
            self._fail("the browser stopped sending audio (RTCP BYE or connection closed)")

    def _on_connection_state(self) -> None:
        if self._pc is None:
            return
        state = self._pc.connectionState
        if state == "connected" and self.connected_at is None:
            self.connected_at = self.engine.now()
            if self._watchdog is not None:
                self._watchdog.cancel()
            if not self.connected.done():
                self.connected.set_result(None)
            log.debug("WebRTC endpoint %s connected in %.3f s", self.id, self.setup_seconds)
        elif state in ("failed", "closed"):
            what = "ICE or DTLS failed" if state == "failed" else "the browser closed it"
            self._fail(f"connection {state}: {what}")

    def _connect_deadline(self) -> None:
        if self.connected_at is None:
            self._fail(
                f"ICE and DTLS not connected within {self.settings.connect_timeout:g} s "
                f"(state {self.connection_state})"
            )

    def _fail(self, reason: str) -> None:
        """Report a dead connection once, through the engine's dead-media callback."""
        if self.closed or self.failure is not None:
            return
        self.failure = reason
        log.info("WebRTC endpoint %s: %s", self.id, reason)
        if self._watchdog is not None:
            self._watchdog.cancel()
        if not self.connected.done():
            self.connected.set_exception(WebRtcMediaFailed(reason))
        self.timed_out = True
        self.engine.on_media_timeout(self)

    # -- teardown ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop at once (the engine forgets it); aiortc's close runs on in `shutdown`."""
        if self.closed:
            return
        super().close()
        if self._watchdog is not None:
            self._watchdog.cancel()
        if not self.connected.done():
            self.connected.set_exception(WebRtcMediaFailed("closed before it connected"))
        if self._track is not None:
            self._track.stop()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # the loop is gone (interpreter exit): nothing left to close
            return
        self.shutdown = loop.create_task(self._close_connection())
        self.engine.closing.add(self.shutdown)
        self.shutdown.add_done_callback(self.engine.closing.discard)

    async def _close_connection(self) -> None:
        if self._receiving is not None:
            self._receiving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._receiving
        pc, self._pc = self._pc, None
        if pc is not None:
            try:
                await pc.close()
            except Exception:  # noqa: BLE001 - a half-set-up connection; log, never raise
                log.exception("closing WebRTC endpoint %s", self.id)

    async def wait_closed(self) -> None:
        """aiortc has closed the sockets and stopped its tasks and threads."""
        if self.shutdown is not None:
            await asyncio.shield(self.shutdown)


def _aiortc_refusals(aiortc) -> tuple[type[Exception], ...]:
    errors = aiortc.exceptions
    return (errors.InternalError, errors.InvalidAccessError, errors.OperationError)


def _retrieve(future: asyncio.Future) -> None:
    """Nobody may await `connected`: keep asyncio from logging its exception as lost."""
    if not future.cancelled():
        future.exception()


async def create_webrtc_offer(
    engine: MediaEngine, local_ip: str | None = None, settings: WebRtcSettings | None = None
) -> tuple[WebRtcEndpoint, bytes]:
    """pbxd calls a browser: the endpoint (ticking, silent until `accept_answer`) and pbxd's
    offer (Opus, PCMU, PCMA, telephone-event; every ICE candidate included)."""
    endpoint, addresses = _new_endpoint(engine, local_ip, settings)
    try:
        offer = await endpoint._offer(addresses)
    except BaseException:
        endpoint.close()
        raise
    engine.add_endpoint(endpoint)
    return endpoint, offer.encode()


def _new_endpoint(
    engine: MediaEngine, local_ip: str | None, settings: WebRtcSettings | None
) -> tuple[WebRtcEndpoint, list[str] | None]:
    if engine.load.overloaded:
        raise MediaOverloaded(f"media thread busy ({engine.load.load:.0%} of a core)")
    _aiortc_modules()  # WebRtcUnavailable before anything is made
    address = local_ip or engine.bind_ip
    addresses = None if ipaddress.ip_address(address).is_unspecified else [address]
    settings = settings or engine.webrtc_settings or WebRtcSettings()
    return WebRtcEndpoint(engine, engine.next_endpoint_id(), address, settings), addresses


async def create_webrtc_endpoint(
    engine: MediaEngine,
    offer_sdp: bytes | str,
    local_ip: str | None = None,
    settings: WebRtcSettings | None = None,
) -> tuple[WebRtcEndpoint, bytes]:
    """Answer a browser's offer: the endpoint (already ticking) and pbxd's answer SDP.

    ICE candidates are gathered on `local_ip` (default: the engine's bind address unless it
    is a wildcard, then every interface). Raises WebRtcOfferRejected (488), WebRtcUnavailable
    or MediaOverloaded (503).
    """
    text = offer_sdp.decode("utf-8", "replace") if isinstance(offer_sdp, bytes) else offer_sdp
    offer = check_offer(text)
    endpoint, addresses = _new_endpoint(engine, local_ip, settings)
    try:
        answer = await endpoint._answer(text, offer, addresses)
    except BaseException:
        endpoint.close()
        raise
    engine.add_endpoint(endpoint)
    return endpoint, answer.encode()
