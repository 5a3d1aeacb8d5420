"""WebRTC endpoints: an aiortc peer plays the browser, a plain RTP socket plays the SIP phone.

The browser peer offers what a browser softphone offers (UDP/TLS/RTP/SAVPF, ICE candidates in
the offer, DTLS fingerprint, rtcp-mux, BUNDLE, Opus and G.711) on 127.0.0.1; pbxd answers
with a WebRtcEndpoint bridged to an RTP endpoint. Each side sends its own tone and the
dominant frequency of what the other side heard says whether the audio crossed the bridge.
Run with -s to see the measured set-up time (offer -> ICE and DTLS connected).
"""

from __future__ import annotations

import asyncio
import fractions
import os
import socket

import numpy as np
import pytest

from pbxd.media.dtmf import DtmfEvent
from pbxd.media.dtmf_native import InbandDtmfDetector
from pbxd.media.engine import MediaEngine
from pbxd.media.frames import ENGINE_RATE, FRAME_SAMPLES
from pbxd.media.ports import PortAllocator
from pbxd.media.resample import resample
from pbxd.media.rtp import RtpPacket
from pbxd.media.webrtc import (
    WebRtcAudio,
    WebRtcMediaFailed,
    WebRtcOfferRejected,
    WebRtcSettings,
    WebRtcUsageError,
    check_offer,
    gathering_on,
    is_webrtc_offer,
    mono_pcm,
    with_telephone_event,
)
from tests.integration.audio import peak_frequency
from tests.media.test_engine import FakePhone

aiortc = pytest.importorskip("aiortc", reason="WebRTC endpoints need aiortc (pip install aiortc)")
av = pytest.importorskip("av")
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack  # noqa: E402

LOOPBACK = "127.0.0.1"
BROWSER_RATE = 48000


# --- the browser --------------------------------------------------------------------------------


class ToneTrack(MediaStreamTrack):
    """A microphone that hears a sine: 20 ms frames at 48 kHz, paced in real time."""

    kind = "audio"

    def __init__(self, frequency: float):
        super().__init__()
        self.frequency = frequency
        self.muted = False  # True: the microphone stops producing frames (no RTP at all)
        self._samples = 0
        self._start: float | None = None

    async def recv(self):
        loop = asyncio.get_running_loop()
        if self._start is None:
            self._start = loop.time()
        else:
            await asyncio.sleep(max(0.0, self._start + self._samples / BROWSER_RATE - loop.time()))
        while self.muted:
            await asyncio.sleep(0.02)
            self._start = loop.time() - self._samples / BROWSER_RATE
        if self.readyState != "live":
            raise MediaStreamError
        count = BROWSER_RATE // 50
        t = (np.arange(count) + self._samples) / BROWSER_RATE
        pcm = (8000 * np.sin(2 * np.pi * self.frequency * t)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = BROWSER_RATE
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, BROWSER_RATE)
        self._samples += count
        return frame


class Browser:
    """An aiortc peer connection shaped like a browser softphone's (it offers, pbxd answers)."""

    def __init__(self, frequency: float, codecs: tuple[str, ...] | None = None):
        self.pc = aiortc.RTCPeerConnection(aiortc.RTCConfiguration(iceServers=[]))
        self.microphone = ToneTrack(frequency)
        self.transceiver = self.pc.addTransceiver(self.microphone, direction="sendrecv")
        if codecs is not None:
            available = aiortc.RTCRtpSender.getCapabilities("audio").codecs
            self.transceiver.setCodecPreferences(
                [c for name in codecs for c in available if c.mimeType == f"audio/{name}"]
            )
        self.heard: list[tuple[float, np.ndarray, int]] = []  # (arrival, mono pcm, rate)
        self._listening: asyncio.Task | None = None

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept(self, answer: bytes) -> None:
        await self.pc.setRemoteDescription(aiortc.RTCSessionDescription(answer.decode(), "answer"))
        self._listening = asyncio.get_running_loop().create_task(self._listen())

    async def answer(self, offer: bytes) -> str:
        """pbxd calls: the browser answers (its candidates on loopback)."""
        await self.pc.setRemoteDescription(aiortc.RTCSessionDescription(offer.decode(), "offer"))
        with gathering_on([LOOPBACK]):
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        self._listening = asyncio.get_running_loop().create_task(self._listen())
        return self.pc.localDescription.sdp

    async def _listen(self) -> None:
        track = self.transceiver.receiver.track
        loop = asyncio.get_running_loop()
        try:
            while True:
                frame = await track.recv()
                pcm = mono_pcm(
                    len(frame.layout.channels), frame.format.is_planar, frame.to_ndarray()
                )
                self.heard.append((loop.time(), pcm, frame.sample_rate))
        except MediaStreamError:
            pass

    def audio_since(self, since: float) -> tuple[np.ndarray, int]:
        parts = [(pcm, rate) for at, pcm, rate in self.heard if at >= since]
        assert len(parts) > 20, f"the browser heard only {len(parts)} frames"
        return np.concatenate([pcm for pcm, _ in parts]), parts[0][1]

    async def send_rtp(self, packet: RtpPacket) -> None:
        """A packet through the browser's own SRTP session (aiortc cannot send RFC 4733)."""
        await self.transceiver.sender.transport._send_rtp(packet.serialize())

    async def close(self) -> None:
        await self.pc.close()
        if self._listening is not None:
            self._listening.cancel()
            await asyncio.gather(self._listening, return_exceptions=True)


def with_dtmf_offered(offer: str) -> str:
    """The offer as Chrome writes it: telephone-event at 48 and 8 kHz after the codecs."""
    lines = offer.replace("\r\n", "\n").rstrip("\n").split("\n")
    at = max(i for i, line in enumerate(lines) if line.startswith("a=rtpmap:"))
    lines[at + 1 : at + 1] = [
        "a=rtpmap:110 telephone-event/48000",
        "a=rtpmap:126 telephone-event/8000",
    ]
    index = next(i for i, line in enumerate(lines) if line.startswith("m=audio"))
    lines[index] += " 110 126"
    return "\r\n".join(lines) + "\r\n"


# --- fixtures and helpers -------------------------------------------------------------------------


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.fixture
async def engine():
    media = MediaEngine(LOOPBACK, PortAllocator(43100, 43200))
    media.webrtc_settings = WebRtcSettings(connect_timeout=5.0)
    dead: list[tuple[float, object]] = []
    media.on_media_timeout = lambda endpoint: dead.append((media.now(), endpoint))
    media.dead = dead  # what was reported dead, and when
    yield media
    media.close()
    await asyncio.gather(*media.closing, return_exceptions=True)


async def connect(engine: MediaEngine, browser: Browser, offer: str | None = None):
    """Offer -> answer -> connected (prints the set-up time); the endpoint and the answer."""
    with gathering_on([LOOPBACK]):  # the browser's candidates: loopback only
        offer = offer or await browser.offer()
    started = engine.now()
    endpoint, answer = await engine.create_webrtc_endpoint(offer)
    answered = engine.now()
    await browser.accept(answer)
    await asyncio.wait_for(asyncio.shield(endpoint.connected), 5)
    setup = engine.now() - started
    print(
        f"\nWebRTC set-up ({endpoint.stream.codec_name}): offer -> connected {setup * 1000:.0f} ms"
        f" (answer {1000 * (answered - started):.0f} ms, ICE + DTLS"
        f" {1000 * endpoint.setup_seconds:.0f} ms)"
    )
    return endpoint, answer


async def phone_talks(phone: FakePhone, port: int, seconds: float) -> None:
    for _ in range(int(seconds / 0.02)):
        phone.send_to((LOOPBACK, port), phone.next_packet())
        await asyncio.sleep(0.02)


async def settle(check, timeout: float = 2.0) -> bool:
    """Wait until check() holds (teardown finishes over a few loop turns)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


# --- audio both ways ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("codecs", "expected"),
    [(None, "opus"), (("PCMU",), "PCMU")],
    ids=["opus", "pcmu-only"],
)
async def test_browser_and_phone_hear_each_other(engine, codecs, expected) -> None:
    fds_before = open_fds()
    tasks_before = asyncio.all_tasks()
    browser = Browser(440, codecs)
    endpoint, answer = await connect(engine, browser)
    assert b"UDP/TLS/RTP/SAVPF" in answer and b"a=fingerprint:" in answer
    assert endpoint.stream.codec_name == expected
    phone = await FakePhone.open("PCMU", 1000)
    rtp = await engine.create_endpoint(LOOPBACK)
    rtp.apply(phone.terms())
    bridge = engine.bridge([endpoint, rtp])
    assert not bridge.fast_path  # a WebRTC leg always goes through the tick

    start = engine.now()
    await phone_talks(phone, rtp.local_port, 1.6)
    heard, rate = browser.audio_since(start + 0.4)
    assert rate == (48000 if expected == "opus" else 8000)
    assert abs(peak_frequency(heard.astype(np.float64), rate) - 1000) < 10
    assert abs(peak_frequency(phone.received_audio(25).astype(np.float64), 8000) - 440) < 10
    stats = endpoint.stream.stats
    assert stats.frames_in > 50 and stats.frames_out > 50, stats

    engine.destroy(endpoint)
    engine.destroy(rtp)
    await endpoint.wait_closed()
    await browser.close()
    phone.transport.close()
    assert endpoint.connection_state == "closed"
    assert not engine.dead  # closed by pbxd: nothing reported as dead media
    assert await settle(lambda: open_fds() <= fds_before), open_fds() - fds_before
    assert await settle(
        lambda: not [t for t in asyncio.all_tasks() - tasks_before if not t.done()]
    ), asyncio.all_tasks() - tasks_before


async def test_pbxd_calls_the_browser(engine) -> None:
    # A queue rings an agent's browser: pbxd offers, the browser answers.
    endpoint, offer = await engine.create_webrtc_offer()
    assert check_offer(offer).codecs == ("opus", "PCMU", "PCMA")
    assert b"a=candidate:" in offer and f" {LOOPBACK} ".encode() in offer
    assert b"telephone-event/48000" in offer and b"telephone-event/8000" in offer
    assert endpoint.stream is None  # silent until the browser answers
    browser = Browser(440)
    answer = await browser.answer(offer)
    # A browser answers telephone-event at its codec's clock (aiortc itself does not).
    answer = answer.replace(
        "a=rtpmap:96 opus/48000/2", "a=rtpmap:96 opus/48000/2\r\na=rtpmap:110 telephone-event/48000"
    )
    answer = answer.replace("UDP/TLS/RTP/SAVPF 96", "UDP/TLS/RTP/SAVPF 96 110", 1)
    started = engine.now()
    await endpoint.accept_answer(answer)
    await asyncio.wait_for(asyncio.shield(endpoint.connected), 5)
    setup_ms = 1000 * (engine.now() - started)
    print(f"\nWebRTC set-up, pbxd offering: answer -> connected {setup_ms:.0f} ms")
    assert endpoint.stream.codec_name == "opus" and endpoint.rfc4733
    phone = await FakePhone.open("PCMU", 1000)
    rtp = await engine.create_endpoint(LOOPBACK)
    rtp.apply(phone.terms())
    engine.bridge([endpoint, rtp])
    start = engine.now()
    await phone_talks(phone, rtp.local_port, 1.4)
    heard, rate = browser.audio_since(start + 0.4)
    assert abs(peak_frequency(heard.astype(np.float64), rate) - 1000) < 10
    assert abs(peak_frequency(phone.received_audio(25).astype(np.float64), 8000) - 440) < 10
    engine.destroy(endpoint)
    engine.destroy(rtp)
    await endpoint.wait_closed()
    await browser.close()
    phone.transport.close()


# --- DTMF ---------------------------------------------------------------------------------


async def test_dtmf_crosses_between_browser_and_phone(engine) -> None:
    browser = Browser(440)
    with gathering_on([LOOPBACK]):
        offer = with_dtmf_offered(await browser.offer())
    endpoint, answer = await connect(engine, browser, offer)
    # Opus at 48 kHz: the answer takes the browser's telephone-event of the same clock.
    assert b"a=rtpmap:110 telephone-event/48000" in answer
    assert b"telephone-event/8000" not in answer
    assert endpoint.rfc4733
    phone = await FakePhone.open("PCMU", 1000)
    rtp = await engine.create_endpoint(LOOPBACK)
    rtp.apply(phone.terms())
    engine.bridge([endpoint, rtp])
    digits: list[str] = []
    endpoint.dtmf_listeners.append(digits.append)

    # The browser presses 7 (RFC 4733 in its SRTP session): pbxd reads it and regenerates it
    # on the phone's leg.
    for n in range(4):
        event = DtmfEvent.for_digit("7", end=n == 3, duration=960 * (n + 1))
        await browser.send_rtp(RtpPacket(110, 30000 + n, 123456, 0x5EED, event.serialize(), n == 0))
        await asyncio.sleep(0.02)
    # The phone presses 1 (RFC 4733): the browser hears it as an in-band DTMF tone.
    start = engine.now()
    for n in range(5):
        event = DtmfEvent.for_digit("1", end=n == 4, duration=160 * (n + 1))
        packet = RtpPacket(101, 50000 + n, 8000, 0xABC, event.serialize(), marker=n == 0)
        phone.send_to((LOOPBACK, rtp.local_port), packet.serialize())
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.5)

    assert digits == ["7"]
    assert {e.digit for e in phone.events} == {"7"}
    heard, rate = browser.audio_since(start)
    narrow = resample(heard, rate, ENGINE_RATE)
    detector = InbandDtmfDetector()
    found = [
        d
        for i in range(0, narrow.size - FRAME_SAMPLES, FRAME_SAMPLES)
        for d in detector.process(narrow[i : i + FRAME_SAMPLES])
    ]
    detector.close()
    assert found == ["1"]
    engine.destroy(endpoint)
    engine.destroy(rtp)
    await endpoint.wait_closed()
    await browser.close()
    phone.transport.close()


async def test_browser_holds_and_resumes_by_re_offer(engine) -> None:
    browser = Browser(440)
    endpoint, _ = await connect(engine, browser)
    phone = await FakePhone.open("PCMU", 1000)
    rtp = await engine.create_endpoint(LOOPBACK)
    rtp.apply(phone.terms())
    engine.bridge([endpoint, rtp])

    async def re_offer(direction: str) -> bytes:
        # What a browser softphone's hold()/unhold() sends in a re-INVITE: same ICE, new
        # direction.
        browser.transceiver.direction = direction
        await browser.pc.setLocalDescription(await browser.pc.createOffer())
        answer = await endpoint.renegotiate(browser.pc.localDescription.sdp)
        await browser.pc.setRemoteDescription(
            aiortc.RTCSessionDescription(answer.decode(), "answer")
        )
        return answer

    answer = await re_offer("sendonly")
    assert b"a=recvonly" in answer and not endpoint.stream.sends
    held = engine.now()
    await phone_talks(phone, rtp.local_port, 1.0)
    assert len([at for at, *_ in browser.heard if at > held + 0.2]) == 0  # pbxd sends nothing
    assert abs(peak_frequency(phone.received_audio(25).astype(np.float64), 8000) - 440) < 10

    answer = await re_offer("sendrecv")
    assert b"a=sendrecv" in answer and endpoint.stream.sends
    resumed = engine.now()
    await phone_talks(phone, rtp.local_port, 1.2)
    heard, rate = browser.audio_since(resumed + 0.3)
    assert abs(peak_frequency(heard.astype(np.float64), rate) - 1000) < 10
    assert endpoint.connection_state == "connected" and not engine.dead
    engine.destroy(endpoint)
    engine.destroy(rtp)
    await endpoint.wait_closed()
    await browser.close()
    phone.transport.close()


async def test_digits_from_sip_info_reach_a_webrtc_leg(engine) -> None:
    # JsSIP's default: DTMF by SIP INFO, which the SIP side hands to the endpoint.
    browser = Browser(440)
    endpoint, _ = await connect(engine, browser)
    digits: list[str] = []
    endpoint.dtmf_listeners.append(digits.append)
    endpoint.digit_from_signalling("#")
    assert digits == ["#"]
    with pytest.raises(WebRtcUsageError):
        endpoint.negotiator.offer()
    engine.destroy(endpoint)
    await endpoint.wait_closed()
    await browser.close()


# --- refused offers -------------------------------------------------------------------------------

# Typed after the shape of a Chromium offer from a browser softphone, candidates included.
BROWSER_OFFER = """v=0
o=- 7216409512345678901 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0
a=extmap-allow-mixed
a=msid-semantic: WMS 5c1d
m=audio 51234 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
c=IN IP4 192.0.2.10
a=rtcp:9 IN IP4 0.0.0.0
a=candidate:1467250027 1 udp 2122260223 192.0.2.10 51234 typ host generation 0
a=candidate:434266233 1 tcp 1518280447 192.0.2.10 9 typ host tcptype active generation 0
a=ice-ufrag:q7Xe
a=ice-pwd:Vd8uY3nHq2kLcR5tZpW0aB1m
a=ice-options:trickle
{fingerprint}
a=setup:actpass
a=mid:0
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid
a=sendrecv
a=msid:5c1d 8e2f
a=rtcp-mux
a=rtpmap:111 opus/48000/2
a=rtcp-fb:111 transport-cc
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:63 red/48000/2
a=fmtp:63 111/111
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:13 CN/8000
a=rtpmap:110 telephone-event/48000
a=rtpmap:126 telephone-event/8000
a=ssrc:2716524187 cname:x9QmV0c1
""".format(
    fingerprint="a=fingerprint:sha-256 4A:1F:00:9C:3E:77:51:2B:C8:0D:E6:93:AA:10:5B:6F:21:C4:88:"
    "7E:0B:39:D2:F5:64:17:AE:3C:90:58:BD:E2"
)


def edit(offer: str, drop: str = "", replace: tuple[str, str] | None = None) -> str:
    lines = [line for line in offer.splitlines() if not (drop and line.startswith(drop))]
    text = "\r\n".join(lines) + "\r\n"
    return text.replace(*replace) if replace else text


def second_audio_without_rtcp_mux(offer: str) -> str:
    """The offer with a second audio stream that does not mux RTCP: pbxd's own check looks at
    the first audio stream only, aiortc refuses the whole offer."""
    audio = offer[offer.index("m=audio") :]
    second = edit(audio, drop="a=rtcp-mux", replace=("a=mid:0", "a=mid:1"))
    return edit(offer + second, replace=("a=group:BUNDLE 0", "a=group:BUNDLE 0 1"))


def test_a_browser_offer_is_understood() -> None:
    offer = check_offer(BROWSER_OFFER)
    assert offer.audio_index == 0
    assert offer.codecs == ("opus", "PCMU", "PCMA")
    assert offer.telephone_events == ((110, 48000), (126, 8000))
    assert offer.candidates == 2
    assert is_webrtc_offer(BROWSER_OFFER)
    assert not is_webrtc_offer(edit(BROWSER_OFFER, replace=("UDP/TLS/RTP/SAVPF", "RTP/AVP")))


@pytest.mark.parametrize(
    ("offer", "reason"),
    [
        (edit(BROWSER_OFFER, drop="a=fingerprint"), "no DTLS fingerprint"),
        (edit(BROWSER_OFFER, replace=("m=audio", "m=video")), "no WebRTC audio stream"),
        (edit(BROWSER_OFFER, replace=("UDP/TLS/RTP/SAVPF", "RTP/AVP")), "no WebRTC audio stream"),
        (
            edit(BROWSER_OFFER, replace=("SAVPF 111 63 9 0 8 13 110 126", "SAVPF 63 9 13 126")),
            "no codec pbxd takes",
        ),
        (edit(BROWSER_OFFER, drop="a=ice-pwd"), "no ICE credentials"),
        (edit(BROWSER_OFFER, drop="a=rtcp-mux"), "rtcp-mux"),
        ("this is not SDP", "not valid SDP"),
        (second_audio_without_rtcp_mux(BROWSER_OFFER), "aiortc refused the offer"),
    ],
    ids=[
        "no-fingerprint",
        "no-audio",
        "plain-rtp",
        "codecs",
        "no-ice-pwd",
        "no-rtcp-mux",
        "junk",
        "aiortc-refuses",
    ],
)
async def test_bad_offers_are_refused_with_488(engine, offer: str, reason: str) -> None:
    fds_before = open_fds()
    with pytest.raises(WebRtcOfferRejected) as refused:
        await engine.create_webrtc_endpoint(offer)
    assert reason in str(refused.value)
    assert refused.value.status == 488
    assert not engine.endpoints
    await asyncio.gather(*engine.closing)  # a half-made connection is closed too
    assert await settle(lambda: open_fds() <= fds_before), open_fds() - fds_before


# --- peers that vanish ---------------------------------------------------------------------


async def test_a_peer_that_never_answers_ice_is_reported(engine) -> None:
    # The offer's only candidate is a socket that swallows everything: ICE checks go
    # unanswered, so neither ICE nor DTLS ever completes.
    engine.webrtc_settings = WebRtcSettings(connect_timeout=1.0)
    hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hole.bind((LOOPBACK, 0))
    browser = Browser(440)
    with gathering_on([LOOPBACK]):
        offer = await browser.offer()
    port = browser.pc.localDescription.sdp.split("m=audio ")[1].split()[0]
    offer = offer.replace(
        f"{LOOPBACK} {port} typ host", f"{LOOPBACK} {hole.getsockname()[1]} typ host"
    )
    await browser.close()  # it never takes the answer
    started = engine.now()
    endpoint, _ = await engine.create_webrtc_endpoint(offer)
    with pytest.raises(WebRtcMediaFailed, match="not connected within 1 s"):
        await endpoint.connected
    (reported_at, dead), *others = engine.dead
    assert dead is endpoint and not others
    assert 0.95 <= reported_at - started < 2.0  # the deadline, not later (bounded detection)
    assert endpoint.failure is not None
    engine.destroy(endpoint)
    await endpoint.wait_closed()
    hole.close()


async def test_a_browser_that_closes_is_reported(engine) -> None:
    browser = Browser(440)
    endpoint, _ = await connect(engine, browser)
    closed_at = engine.now()
    await browser.close()  # tab closed: DTLS close_notify, RTCP BYE
    assert await settle(lambda: engine.dead, timeout=2.0)
    (reported_at, dead), *_ = engine.dead
    assert dead is endpoint and reported_at - closed_at < 2.0
    engine.destroy(endpoint)
    await endpoint.wait_closed()


async def test_a_browser_that_stops_sending_times_out_like_any_leg(engine) -> None:
    engine.media_timeout = 0.6
    browser = Browser(440)
    endpoint, _ = await connect(engine, browser)
    await asyncio.sleep(0.3)
    assert endpoint.counters.received > 5 and not engine.dead
    browser.microphone.muted = True  # connection up, no audio: the network went away
    muted_at = engine.now()
    assert await settle(lambda: engine.dead, timeout=2.0)
    assert engine.dead[0][1] is endpoint and engine.dead[0][0] - muted_at < 1.5
    engine.destroy(endpoint)
    await endpoint.wait_closed()
    await browser.close()


# --- the pure parts -------------------------------------------------------------------------------


def test_telephone_event_is_added_to_the_audio_line_only() -> None:
    answer = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 opus/48000/2\r\na=ssrc:1\r\n"
    answer += "m=video 0 UDP/TLS/RTP/SAVPF 97\r\na=rtpmap:97 VP8/90000\r\n"
    edited = with_telephone_event(answer, 0, 110, 48000).split("\r\n")
    assert edited[1] == "m=audio 9 UDP/TLS/RTP/SAVPF 96 110"
    assert edited[3:5] == ["a=rtpmap:110 telephone-event/48000", "a=fmtp:110 0-15"]
    assert edited[6] == "m=video 0 UDP/TLS/RTP/SAVPF 97"


def test_playout_queue_is_bounded_and_waits_for_its_prefetch() -> None:
    settings = WebRtcSettings(playout_frames=2, max_inbound_frames=4, max_outbound_frames=2)
    audio = WebRtcAudio("opus", 48000, settings)
    tone = (1000 * np.sin(np.arange(960) / 5)).astype(np.int16)
    audio.feed(tone, 48000)
    assert audio.pull(0.0) is None  # one frame queued: not yet
    audio.feed(tone, 48000)
    assert audio.pull(0.02).shape == (FRAME_SAMPLES,)
    assert audio.pull(0.04) is not None and audio.pull(0.06) is None  # ran dry
    assert audio.stats.underruns == 1
    for _ in range(6):
        audio.feed(tone[:480], 48000)  # 10 ms packets: two make a frame
    for _ in range(4):
        audio.feed(tone, 48000)
    assert audio.stats.dropped_in == 3 and audio.stats.frames_in == 9
    audio.push(None, 0.0)
    assert audio.next_outbound() is None  # aiortc's sender has not started: nothing queued
    audio.sending = True
    for _ in range(3):
        audio.push(None, 0.0)
    assert audio.stats.dropped_out == 1
    assert audio.next_outbound().shape == (960,)  # 48 kHz for Opus


def test_mono_from_interleaved_and_planar_frames() -> None:
    stereo = np.array([[100, 300, -100, -300]], dtype=np.int16)  # L R L R
    assert mono_pcm(2, False, stereo).tolist() == [200, -200]
    planar = np.array([[100, -100], [300, -300]], dtype=np.int16)
    assert mono_pcm(2, True, planar).tolist() == [200, -200]
    floats = np.array([[0.5, -0.5]], dtype=np.float32)
    assert mono_pcm(1, True, floats).tolist() == [16384, -16384]
