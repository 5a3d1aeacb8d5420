"""A browser softphone for end-to-end tests: SIP over WebSocket with WebRTC media.

The signalling is peers/ws_sip.py's WebSocket client, registered as a browser (JsSIP's
`+sip.ice` feature parameter, no `+pbxd.plain-rtp`: pbxd offers it WebRTC). The media is an
aiortc peer connection shaped like a browser's: one sendrecv audio transceiver,
UDP/TLS/RTP/SAVPF with Opus, PCMU and PCMA, every ICE candidate in the SDP (on 127.0.0.1:
aioice offers no loopback by itself), DTLS, rtcp-mux, BUNDLE. Its microphone is a sine tone;
what it hears is kept with its arrival time, for an FFT.

It does what JsSIP does with SDP: its INVITE carries its offer, an answer in a provisional
response is applied at once (early media; the 200 then repeats it), it answers pbxd's offer
in its 200, and hold/resume are re-INVITEs whose offer says sendonly/sendrecv. With
`early_media=False` it does what SIP.js does by default: an answer in a 1xx is ignored, the
200's is applied.

Times (`CallTimes`) are wall-clock seconds (time.time()), comparable with pbxd's log and the
pjsua2 phones' events.
"""

from __future__ import annotations

import asyncio
import fractions
import time
from dataclasses import dataclass, field

import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame

from pbxd.media.webrtc import gathering_on, mono_pcm
from pbxd.sip.message import Request, Response

from .ws_sip import Dialog, WsSipClient, authorization, new_id, pick_challenge

LOOPBACK = "127.0.0.1"
MICROPHONE_RATE = 48000


class Microphone(MediaStreamTrack):
    """A microphone that hears a sine: 20 ms frames at 48 kHz, paced in real time."""

    kind = "audio"

    def __init__(self, frequency: float, amplitude: int = 8000):
        super().__init__()
        self.frequency = frequency
        self.amplitude = amplitude
        self._samples = 0
        self._started: float | None = None

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        if self._started is None:
            self._started = loop.time()
        else:
            due = self._started + self._samples / MICROPHONE_RATE
            await asyncio.sleep(max(0.0, due - loop.time()))
        count = MICROPHONE_RATE // 50
        t = (np.arange(count) + self._samples) / MICROPHONE_RATE
        pcm = (self.amplitude * np.sin(2 * np.pi * self.frequency * t)).astype(np.int16)
        frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = MICROPHONE_RATE
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, MICROPHONE_RATE)
        self._samples += count
        return frame


class BrowserMedia:
    """One RTCPeerConnection, as a browser softphone makes for one call."""

    def __init__(self, frequency: float):
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.microphone = Microphone(frequency)
        self.transceiver = self.pc.addTransceiver(self.microphone, direction="sendrecv")
        self.heard: list[tuple[float, np.ndarray, int]] = []  # (wall time, mono pcm, rate)
        self.connected_at: float | None = None  # wall time ICE and DTLS were up
        self.connected = asyncio.Event()
        self._listening: asyncio.Task | None = None
        self.pc.on("connectionstatechange", self._on_state)

    def _on_state(self) -> None:
        if self.pc.connectionState == "connected" and self.connected_at is None:
            self.connected_at = time.time()
            self.connected.set()

    async def offer(self) -> str:
        with gathering_on([LOOPBACK]):
            await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def answer(self, offer: bytes) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(offer.decode(), "offer"))
        with gathering_on([LOOPBACK]):
            await self.pc.setLocalDescription(await self.pc.createAnswer())
        self._listen()
        return self.pc.localDescription.sdp

    async def accept(self, answer: bytes) -> None:
        """pbxd's answer to our offer. A second copy (the 200 after a 183 that had it) is
        ignored, as JsSIP does when the connection is already stable."""
        if self.pc.signalingState == "stable":
            return
        await self.pc.setRemoteDescription(RTCSessionDescription(answer.decode(), "answer"))
        self._listen()

    async def reoffer(self, direction: str) -> str:
        """Hold (sendonly) or resume (sendrecv): a new offer on the same ICE session."""
        self.transceiver.direction = direction
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    def _listen(self) -> None:
        if self._listening is None:
            self._listening = asyncio.get_running_loop().create_task(self._receive())

    async def _receive(self) -> None:
        track = self.transceiver.receiver.track
        try:
            while True:
                frame = await track.recv()
                pcm = mono_pcm(
                    len(frame.layout.channels), frame.format.is_planar, frame.to_ndarray()
                )
                self.heard.append((time.time(), pcm, frame.sample_rate))
        except MediaStreamError:
            pass

    def frames_between(self, start: float, end: float) -> int:
        return sum(1 for at, _, _ in self.heard if start <= at < end)

    def audio_between(self, start: float, end: float = float("inf")) -> tuple[np.ndarray, int]:
        """What was heard in [start, end) (wall times), as float samples, and its rate."""
        parts = [(pcm, rate) for at, pcm, rate in self.heard if start <= at < end]
        assert len(parts) > 20, f"the browser heard only {len(parts)} frames"
        samples = np.concatenate([pcm for pcm, _ in parts]).astype(np.float64) / 32768.0
        return samples, parts[0][1]

    async def close(self) -> None:
        await self.pc.close()
        if self._listening is not None:
            self._listening.cancel()
            await asyncio.gather(self._listening, return_exceptions=True)


@dataclass
class CallTimes:
    """When things happened in one call of the browser (wall clock, time.time())."""

    invite: float | None = None  # our (authenticated) INVITE sent, or pbxd's INVITE received
    early_answer: float | None = None  # pbxd's answer in a provisional response
    answered: float | None = None  # the 200 received (we call) or sent (we answer)


@dataclass
class BrowserPhone(WsSipClient):
    """A registered browser softphone: WsSipClient signalling, BrowserMedia media."""

    plain_rtp: bool = False
    tone: float = 1000.0  # what its microphone hears
    early_media: bool = True  # apply an answer that comes in a provisional response
    calls: list[BrowserMedia] = field(default_factory=list)

    def new_media(self) -> BrowserMedia:
        media = BrowserMedia(self.tone)
        self.calls.append(media)
        return media

    async def close_all(self) -> None:
        for media in self.calls:
            await media.close()
        self.close()

    # -- pbxd calls us ----------------------------------------------------------------------

    async def answer_call(
        self, invite: Request, media: BrowserMedia, ring_seconds: float, times: CallTimes
    ) -> Dialog:
        """180, ring a while, then 200 with our answer to pbxd's WebRTC offer; the dialog
        once the ACK came."""
        tag = new_id()
        await self.send(self.build_response(invite, 180, "Ringing", to_tag=tag))
        await asyncio.sleep(ring_seconds)
        answer = await media.answer(invite.body)
        await self.send(self.build_response(invite, 200, "OK", to_tag=tag, body=answer))
        times.answered = time.time()
        await self.expect(
            lambda m: isinstance(m, Request) and m.method == "ACK" and m.call_id == invite.call_id,
            5.0,
            "ACK",
        )
        to = invite.headers.get("To") or ""
        return Dialog(
            invite.call_id,
            to if ";tag=" in to else f"{to};tag={tag}",
            invite.headers.get("From") or "",
            invite.contacts[0].uri.serialize(),
            0,
            invite.body,
        )

    # -- we call ----------------------------------------------------------------------------

    async def call(
        self, target: str, media: BrowserMedia, times: CallTimes, timeout: float = 15.0
    ) -> Dialog:
        """INVITE `target` with our WebRTC offer (answering one 407); apply pbxd's answer
        from the first response that carries it; the dialog once the 200 is ACKed."""
        offer = await media.offer()
        uri = f"sip:{target}@{self.domain}"
        call_id, tag = new_id(), new_id()
        local = f"<sip:{self.user}@{self.domain}>;tag={tag}"
        to = f"<{uri}>"
        extra: tuple[str, ...] = ()
        for seq in (1, 2):
            branch = "z9hG4bK" + new_id()
            request = self.build_request(
                "INVITE",
                uri,
                from_=local,
                to=to,
                call_id=call_id,
                cseq=seq,
                branch=branch,
                extra=extra,
                body=offer,
            )
            times.invite = time.time()
            await self.send(request)
            response = await self._answer_or_final(call_id, seq, media, times, timeout)
            if response.status < 300:
                break
            await self.send(
                self.build_request(
                    "ACK",
                    uri,
                    from_=local,
                    to=response.headers.get("To") or to,
                    call_id=call_id,
                    cseq=seq,
                    branch=branch,
                )
            )
            if response.status != 407:
                raise AssertionError(f"INVITE to {target} answered {response.status}")
            params = pick_challenge(response.headers.get_list("Proxy-Authenticate"))
            extra = (
                "Proxy-Authorization: "
                + authorization(
                    params, username=self.user, password=self.password, method="INVITE", uri=uri
                ),
            )
        else:
            raise AssertionError("INVITE still challenged after credentials")
        times.answered = time.time()
        assert response.body, "200 OK without SDP"
        await media.accept(response.body)
        remote_target = response.contacts[0].uri.serialize()
        dialog = Dialog(
            call_id, local, response.headers.get("To") or "", remote_target, seq, response.body
        )
        await self.send(
            self.build_request(
                "ACK", remote_target, from_=local, to=dialog.remote, call_id=call_id, cseq=seq
            )
        )
        return dialog

    async def _answer_or_final(
        self, call_id: str, seq: int, media: BrowserMedia, times: CallTimes, timeout: float
    ) -> Response:
        """The final response to INVITE `seq`; a provisional one with SDP on the way is
        pbxd's answer, applied at once (ICE and DTLS start while it rings)."""

        def ours(m: Request | Response) -> bool:
            return isinstance(m, Response) and m.call_id == call_id and m.cseq.seq == seq

        while True:
            response = await self.expect(ours, timeout, f"response to INVITE {seq}")
            assert isinstance(response, Response)
            if response.status >= 200:
                self.finals.append(response.status)
                return response
            if response.body and times.early_answer is None:
                times.early_answer = time.time()
                if self.early_media:
                    await media.accept(response.body)

    # -- in the call ------------------------------------------------------------------------

    async def reinvite(self, dialog: Dialog, media: BrowserMedia, direction: str) -> Response:
        """Hold (sendonly) or resume (sendrecv) by re-INVITE; pbxd's answer is applied."""
        offer = await media.reoffer(direction)
        dialog.local_seq += 1
        seq = dialog.local_seq
        await self.send(
            self.build_request(
                "INVITE",
                dialog.remote_target,
                from_=dialog.local,
                to=dialog.remote,
                call_id=dialog.call_id,
                cseq=seq,
                body=offer,
            )
        )
        response = await self.final_response(dialog.call_id, seq)
        if response.status == 200:
            await media.pc.setRemoteDescription(
                RTCSessionDescription(response.body.decode(), "answer")
            )
            await self.send(
                self.build_request(
                    "ACK",
                    dialog.remote_target,
                    from_=dialog.local,
                    to=dialog.remote,
                    call_id=dialog.call_id,
                    cseq=seq,
                )
            )
        return response
