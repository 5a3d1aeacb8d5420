"""Copied into the guest and run there by test_product.py (standalone: aiortc, PyAV, numpy).

Two aiortc peer connections in one process, no STUN/TURN (iceServers=[]): the sender offers
Opus only, the receiver answers; ICE pairs their host candidates (the guest's own address),
DTLS-SRTP comes up, a sine goes through Opus, and the receiver decodes it. Prints one JSON
line with what was measured (the test on the host decides what is right):

    python3 webrtc_loopback.py --frequency 1200 --seconds 3
"""

from __future__ import annotations

import argparse
import asyncio
import fractions
import inspect
import json
import sys
import time

import numpy as np

RATE = 48000
PTIME = 0.02
SKIP_SECONDS = 0.5  # the decoder's start and the jitter buffer's first packets


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frequency", type=float, default=1200.0)
    parser.add_argument("--seconds", type=float, default=3.0, help="audio to receive")
    parser.add_argument("--timeout", type=float, default=120.0, help="for the whole run")
    return parser.parse_args(argv)


def make_sine_track(base, av, frequency: float):
    class SineTrack(base):
        """20 ms frames of a sine at 48 kHz, paced in real time like a microphone."""

        kind = "audio"

        def __init__(self) -> None:
            super().__init__()
            self.sent = 0
            self.started: float | None = None

        async def recv(self):
            if self.started is None:
                self.started = time.monotonic()
            delay = self.started + self.sent / RATE - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            samples = int(RATE * PTIME)
            t = (np.arange(samples) + self.sent) / RATE
            pcm = (0.5 * 32767 * np.sin(2 * np.pi * frequency * t)).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = RATE
            frame.pts = self.sent
            frame.time_base = fractions.Fraction(1, RATE)
            self.sent += samples
            return frame

    return SineTrack()


def first_channel(frame) -> np.ndarray:
    """The first channel of a decoded frame as float samples in -1..1."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if frame.format.is_planar:
        mono = data[0]
    else:
        mono = data.reshape(-1)[::channels]
    scale = 32768.0 if mono.dtype == np.int16 else 1.0
    return mono.astype(np.float64) / scale


def spectrum_peak(samples: np.ndarray, rate: int) -> tuple[float, float]:
    """(frequency of the strongest bin, share of the energy within 50 Hz of it)."""
    window = np.hanning(len(samples))
    power = np.abs(np.fft.rfft(samples * window)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1.0 / rate)
    power[freqs < 50] = 0.0  # DC and hum are not the tone
    peak = int(np.argmax(power))
    near = np.abs(freqs - freqs[peak]) <= 50
    return float(freqs[peak]), float(power[near].sum() / power.sum())


def negotiated_codec(sdp: str) -> str:
    """The first payload type of the answer's m=audio line, as `name/rate[/channels]`."""
    lines = sdp.splitlines()
    media = next(line for line in lines if line.startswith("m=audio"))
    payload_type = media.split()[3]
    prefix = f"a=rtpmap:{payload_type} "
    return next(line[len(prefix) :] for line in lines if line.startswith(prefix)).lower()


async def wait_connected(pcs, deadline: float) -> None:
    while any(pc.connectionState != "connected" for pc in pcs):
        states = [pc.connectionState for pc in pcs]
        if "failed" in states or "closed" in states:
            raise RuntimeError(f"peer connections ended: {states}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"not connected: {states}")
        await asyncio.sleep(0.05)


async def run(args: argparse.Namespace) -> dict:
    began = time.monotonic()
    import aiortc
    import av
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpSender
    from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
    from aiortc.rtcdtlstransport import RTCDtlsTransport

    imported = time.monotonic()
    deadline = began + args.timeout
    config = RTCConfiguration(iceServers=[])  # no STUN: aiortc >= 1.5 defaults to Google's
    sender = RTCPeerConnection(config)
    receiver = RTCPeerConnection(config)
    chunks: list[np.ndarray] = []
    rates: set[int] = set()
    enough = asyncio.get_running_loop().create_future()
    wanted = int((args.seconds + SKIP_SECONDS) * RATE)

    async def collect(track) -> None:
        got = 0
        try:
            while got < wanted:
                frame = await track.recv()
                rates.add(frame.sample_rate)
                chunk = first_channel(frame)
                chunks.append(chunk)
                # frames at another rate would break the count: Opus decodes at 48 kHz
                got += len(chunk) * RATE // frame.sample_rate
        except MediaStreamError:
            pass
        if not enough.done():
            enough.set_result(got)

    @receiver.on("track")
    def on_track(track) -> None:
        if track.kind == "audio":
            asyncio.ensure_future(collect(track))

    transceiver = sender.addTransceiver(
        make_sine_track(MediaStreamTrack, av, args.frequency), direction="sendonly"
    )
    opus = [c for c in RTCRtpSender.getCapabilities("audio").codecs if c.name.lower() == "opus"]
    transceiver.setCodecPreferences(opus)
    try:
        await sender.setLocalDescription(await sender.createOffer())  # gathers candidates
        await receiver.setRemoteDescription(sender.localDescription)
        await receiver.setLocalDescription(await receiver.createAnswer())
        await sender.setRemoteDescription(receiver.localDescription)
        await wait_connected([sender, receiver], deadline)
        connected = time.monotonic()
        await asyncio.wait_for(enough, max(1.0, deadline - time.monotonic()))
        received = time.monotonic()
        candidates = [
            line.split()[4]
            for line in receiver.localDescription.sdp.splitlines()
            if line.startswith("a=candidate:")
        ]
        states = [sender.connectionState, receiver.connectionState]
    finally:
        await sender.close()
        await receiver.close()

    samples = np.concatenate(chunks) if chunks else np.zeros(0)
    rate = max(rates) if rates else RATE
    samples = samples[int(SKIP_SECONDS * rate) :]
    frequency, tone_share = spectrum_peak(samples, rate) if len(samples) else (0.0, 0.0)
    hook = getattr(RTCDtlsTransport, "_handle_rtp_data", None)
    return {
        "aiortc": aiortc.__version__,
        "av": av.__version__,
        "codec": negotiated_codec(receiver.localDescription.sdp),
        "states": states,
        "candidates": sorted(set(candidates)),
        "decoded_rates": sorted(rates),
        "seconds_analysed": round(len(samples) / rate, 3),
        "frequency": round(frequency, 1),
        "tone_share": round(tone_share, 3),
        "rms": round(float(np.sqrt(np.mean(samples**2))) if len(samples) else 0.0, 4),
        # pbxd reads RFC 4733 digits through this private hook (pbxd/media/webrtc.py)
        "dtmf_hook": list(inspect.signature(hook).parameters) if hook else None,
        "import_s": round(imported - began, 2),
        "connect_s": round(connected - imported, 2),
        "receive_s": round(received - connected, 2),
    }


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    result = asyncio.run(run(args))
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
