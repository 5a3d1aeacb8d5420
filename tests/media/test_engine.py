"""The media engine over real UDP sockets: fake phones send tones, the engine bridges them.

Each phone is a socket that sends 20 ms RTP packets of a sine tone in its codec and decodes what
it receives; the dominant frequency of what it heard says who it heard.
"""

from __future__ import annotations

import asyncio
import errno
import os
import subprocess
from dataclasses import replace

import numpy as np
import pytest

from pbxd.media.codecs import G722, PCMA, PCMU, Codec
from pbxd.media.dtmf import DtmfEvent
from pbxd.media.dtmf_native import DtmfToneGenerator
from pbxd.media.engine import MediaEngine
from pbxd.media.mixer import whisper
from pbxd.media.negotiate import CodecChoice, MediaTerms
from pbxd.media.ports import PortAllocator
from pbxd.media.recorder import RecorderError
from pbxd.media.rtcp import SenderReport, SourceDescription, parse_compound
from pbxd.media.rtp import RtpPacket, RtpSender
from pbxd.media.tones import CHINA
from pbxd.sip.sdp import Direction

RATE = 8000
CODECS = {"PCMU": (PCMU, 0), "PCMA": (PCMA, 8), "G722": (G722, 9)}


def spectrum_peaks(
    pcm: np.ndarray, candidates: list[float], rate: int = RATE
) -> dict[float, float]:
    """Relative energy at each candidate frequency (0..1 of the strongest)."""
    pcm = pcm.astype(np.float64)
    spectrum = np.abs(np.fft.rfft((pcm - pcm.mean()) * np.hanning(pcm.size)))
    bins = np.fft.rfftfreq(pcm.size, 1 / rate)
    energy = {f: float(spectrum[(bins > f - 15) & (bins < f + 15)].max()) for f in candidates}
    top = max(energy.values()) or 1.0
    return {f: e / top for f, e in energy.items()}


def dominant(pcm: np.ndarray, rate: int = RATE) -> float:
    pcm = pcm.astype(np.float64)
    spectrum = np.abs(np.fft.rfft((pcm - pcm.mean()) * np.hanning(pcm.size)))
    return float(np.fft.rfftfreq(pcm.size, 1 / rate)[int(np.argmax(spectrum))])


class FakePhone(asyncio.DatagramProtocol):
    def __init__(self, codec_name: str, frequency: float):
        self.codec: Codec = CODECS[codec_name][0]
        self.payload_type = CODECS[codec_name][1]
        self.frequency = frequency
        self.encoder = self.codec.encoder()
        self.decoder = self.codec.decoder()
        self.sender = RtpSender(0x1234 + int(frequency), 8000)
        self.heard: list[np.ndarray] = []
        self.events: list[DtmfEvent] = []
        self.transport = None
        self.phase = 0

    @classmethod
    async def open(cls, codec_name: str, frequency: float) -> FakePhone:
        loop = asyncio.get_running_loop()
        _, phone = await loop.create_datagram_endpoint(
            lambda: cls(codec_name, frequency), local_addr=("127.0.0.1", 0)
        )
        return phone

    def connection_made(self, transport) -> None:
        self.transport = transport

    @property
    def address(self) -> tuple[str, int]:
        return self.transport.get_extra_info("sockname")[:2]

    def datagram_received(self, data: bytes, addr) -> None:
        packet = RtpPacket.parse(data)
        if packet.payload_type == 101:
            self.events.append(DtmfEvent.parse(packet.payload))
        elif packet.payload_type == self.payload_type:
            self.heard.append(self.decoder.decode(packet.payload))

    def terms(self) -> MediaTerms:
        choice = CodecChoice(self.codec.name, self.payload_type, 8000)
        return MediaTerms(choice, 101, self.address, Direction.SENDRECV)

    def next_packet(self) -> bytes:
        samples, rate = self.codec.frame_samples, self.codec.sample_rate
        t = (np.arange(samples) + self.phase) / rate
        self.phase += samples
        pcm = (8000 * np.sin(2 * np.pi * self.frequency * t)).astype(np.int16)
        return self.sender.next(self.payload_type, self.encoder.encode(pcm), 160).serialize()

    def send_to(self, address: tuple[str, int], data: bytes) -> None:
        self.transport.sendto(data, address)

    def received_audio(self, skip_frames: int = 15) -> np.ndarray:
        assert len(self.heard) > skip_frames + 20, f"heard only {len(self.heard)} frames"
        return np.concatenate(self.heard[skip_frames:])


async def talk(engine: MediaEngine, phones: dict, seconds: float = 1.6, extra=None) -> None:
    """Every phone sends its tone to its endpoint in real time for `seconds`."""
    for _ in range(int(seconds / 0.02)):
        for phone, endpoint in phones.items():
            phone.send_to(("127.0.0.1", endpoint.local_port), phone.next_packet())
        if extra is not None:
            extra()
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.15)


@pytest.fixture
async def engine():
    media = MediaEngine("127.0.0.1", PortAllocator(41000, 41200))
    yield media
    media.close()


async def connect(engine: MediaEngine, *phones: FakePhone) -> dict:
    endpoints = {}
    for phone in phones:
        endpoint = await engine.create_endpoint("127.0.0.1")
        endpoint.apply(phone.terms())
        endpoints[phone] = endpoint
    return endpoints


@pytest.mark.parametrize(
    ("codec_a", "codec_b"),
    [("PCMU", "PCMU"), ("PCMU", "PCMA"), ("G722", "PCMA"), ("G722", "G722")],
)
async def test_bridge_carries_tones_both_ways(engine, codec_a: str, codec_b: str) -> None:
    a, b = await FakePhone.open(codec_a, 440), await FakePhone.open(codec_b, 1000)
    endpoints = await connect(engine, a, b)
    bridge = engine.bridge(list(endpoints.values()))
    assert bridge.fast_path is (codec_a == codec_b)  # same codec: payloads pass undecoded
    await talk(engine, endpoints)
    assert abs(dominant(a.received_audio(), a.codec.sample_rate) - 1000) < 15
    assert abs(dominant(b.received_audio(), b.codec.sample_rate) - 440) < 15


async def test_three_party_conference_hears_the_others_not_itself(engine) -> None:
    phones = [await FakePhone.open("PCMU", f) for f in (440, 1000, 1600)]
    endpoints = await connect(engine, *phones)
    engine.bridge(list(endpoints.values()))
    await talk(engine, endpoints)
    for phone in phones:
        others = [p.frequency for p in phones if p is not phone]
        peaks = spectrum_peaks(phone.received_audio(), [p.frequency for p in phones])
        assert all(peaks[f] > 0.5 for f in others), (phone.frequency, peaks)
        assert peaks[phone.frequency] < 0.05, (phone.frequency, peaks)


async def test_whisper_reaches_the_agent_but_not_the_customer(engine) -> None:
    customer, agent, supervisor = [await FakePhone.open("PCMU", f) for f in (440, 1000, 1600)]
    endpoints = await connect(engine, customer, agent, supervisor)
    c, a, s = (endpoints[p] for p in (customer, agent, supervisor))
    engine.bridge([c, a, s], whisper(s, a, c))
    await talk(engine, endpoints)
    heard_by_customer = spectrum_peaks(customer.received_audio(), [1000, 1600])
    heard_by_agent = spectrum_peaks(agent.received_audio(), [440, 1600])
    assert heard_by_customer[1600] < 0.05 and heard_by_customer[1000] == 1.0
    assert heard_by_agent[440] > 0.5 and heard_by_agent[1600] > 0.5


async def test_rfc4733_digit_is_regenerated_on_the_other_leg(engine) -> None:
    a, b = await FakePhone.open("PCMU", 440), await FakePhone.open("PCMA", 1000)
    endpoints = await connect(engine, a, b)
    engine.bridge(list(endpoints.values()))
    sent = {"n": 0}

    def press_five() -> None:
        # One event of 5 packets at the start of the stream (RFC 4733 section 2.5).
        if sent["n"] < 5:
            event = DtmfEvent(5, end=sent["n"] == 4, duration=160 * (sent["n"] + 1))
            packet = RtpPacket(
                101, 60000 + sent["n"], 777, 0xABC, event.serialize(), marker=sent["n"] == 0
            )
            a.send_to(("127.0.0.1", endpoints[a].local_port), packet.serialize())
            sent["n"] += 1

    await talk(engine, endpoints, seconds=0.8, extra=press_five)
    digits = {e.digit for e in b.events}
    assert digits == {"5"} and any(e.end for e in b.events)


async def test_prompt_played_to_one_side_and_stereo_recording(engine, tmp_path) -> None:
    a, b = await FakePhone.open("PCMU", 440), await FakePhone.open("PCMA", 1000)
    endpoints = await connect(engine, a, b)
    bridge = engine.bridge(list(endpoints.values()))
    path = tmp_path / "call.wav"
    recorder = engine.record(bridge, path, "wav-pcm16", channels=2)
    prompt = (8000 * np.sin(2 * np.pi * 700 * np.arange(8000) / RATE)).astype(np.int16)
    engine.play(endpoints[b], [prompt])  # b hears the prompt instead of a for one second
    await talk(engine, endpoints)
    engine.stop_recording(bridge, recorder)
    assert await asyncio.wait_for(asyncio.wrap_future(recorder.completed), 10) == path
    audio_b = b.received_audio(skip_frames=5)
    assert abs(dominant(audio_b[: 8000 - 2000]) - 700) < 15
    info = subprocess.run(["soxi", str(path)], capture_output=True, text=True, check=True).stdout
    assert "Channels       : 2" in info and "Sample Rate    : 8000" in info
    left = subprocess.run(
        ["sox", str(path), "-t", "raw", "-e", "signed", "-b", "16", "-", "remix", "1"],
        capture_output=True,
        check=True,
    ).stdout
    right = subprocess.run(
        ["sox", str(path), "-t", "raw", "-e", "signed", "-b", "16", "-", "remix", "2"],
        capture_output=True,
        check=True,
    ).stdout
    assert abs(dominant(np.frombuffer(left, np.int16)[2000:]) - 440) < 15
    assert abs(dominant(np.frombuffer(right, np.int16)[2000:]) - 1000) < 15


class _FullDisk:
    """Stands in for a recording's file once the storage is full (ENOSPC on every write)."""

    def __init__(self, real):
        self.real = real

    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __getattr__(self, name: str):
        return getattr(self.real, name)


async def test_full_storage_ends_the_recording_not_the_calls(engine, tmp_path) -> None:
    a, b = await FakePhone.open("PCMU", 440), await FakePhone.open("PCMU", 1000)
    c, d = await FakePhone.open("PCMA", 600), await FakePhone.open("PCMA", 1400)
    first, second = await connect(engine, a, b), await connect(engine, c, d)
    first_bridge = engine.bridge(list(first.values()))
    engine.bridge(list(second.values()))
    doomed = engine.record(first_bridge, tmp_path / "doomed.wav", "wav-pcm16", channels=2)
    kept = engine.record(first_bridge, tmp_path / "kept.wav", "wav-pcmu", channels=1)
    doomed._file._file = _FullDisk(doomed._file._file)
    await talk(engine, {**first, **second}, seconds=0.4)
    doomed.checkpoint()  # hands the audio so far to the writer thread, where writing fails
    await talk(engine, {**first, **second}, seconds=1.2)

    with pytest.raises(RecorderError, match="No space left"):
        await asyncio.wait_for(asyncio.wrap_future(doomed.completed), 10)
    assert [r for r, _ in first_bridge.recorders] == [kept]
    assert (tmp_path / "doomed.wav.part").exists()  # kept for the start-up repair
    for phone, heard in ((a, 1000), (b, 440), (c, 1400), (d, 600)):
        assert abs(dominant(phone.received_audio()) - heard) < 15
    engine.stop_recording(first_bridge, kept)
    assert await asyncio.wait_for(asyncio.wrap_future(kept.completed), 10) == kept.path
    assert first_bridge.fast_path  # same codec, nothing attached any more: no decoding
    info = subprocess.run(["soxi", "-D", str(kept.path)], capture_output=True, text=True)
    assert float(info.stdout) > 0.9


async def test_garbage_is_dropped_and_audio_keeps_flowing(engine) -> None:
    a, b = await FakePhone.open("PCMU", 440), await FakePhone.open("PCMA", 1000)
    endpoints = await connect(engine, a, b)
    engine.bridge(list(endpoints.values()))
    target = ("127.0.0.1", endpoints[a].local_port)
    await talk(engine, endpoints, extra=lambda: a.send_to(target, b"\x80\x00garbage"))
    assert endpoints[a].counters.malformed > 50
    assert abs(dominant(b.received_audio()) - 440) < 15


async def test_dead_media_is_reported(engine) -> None:
    engine.media_timeout = 0.3
    timed_out = []
    engine.on_media_timeout = timed_out.append
    a = await FakePhone.open("PCMU", 440)
    endpoints = await connect(engine, a)
    await talk(engine, endpoints, seconds=0.2)
    await asyncio.sleep(0.6)
    assert timed_out == [endpoints[a]]


async def test_dead_media_is_not_reported_while_the_phone_holds_us(engine) -> None:
    # A leg that only sends (the phone put us on hold: sendonly) expects no RTP; a re-INVITE
    # back to sendrecv makes silence count again. Driven by the scripted clock of tick().
    engine.media_timeout = 0.3
    timed_out = []
    engine.on_media_timeout = timed_out.append
    a = await FakePhone.open("PCMU", 440)
    endpoint = (await connect(engine, a))[a]
    endpoint.apply(replace(a.terms(), direction=Direction.SENDONLY))
    start = endpoint.created_at
    for tick in range(40):
        engine.tick(start + 0.02 * tick)
    assert timed_out == []
    endpoint.apply(a.terms())
    for tick in range(40, 60):
        engine.tick(start + 0.02 * tick)
    assert timed_out == [endpoint]


async def test_info_digit_is_sent_on_as_rfc4733(engine) -> None:
    a, b = await FakePhone.open("PCMU", 440), await FakePhone.open("PCMU", 1000)
    endpoints = await connect(engine, a, b)
    engine.bridge(list(endpoints.values()))
    endpoints[a].digit_from_signalling("#")  # as the B2BUA does for SIP INFO dtmf-relay
    await talk(engine, endpoints, seconds=0.6)
    assert {e.digit for e in b.events} == {"#"}


async def test_inband_digits_in_noise_are_detected_and_sent_on(engine) -> None:
    """An analog line: the digits are tones in the audio, with noise on the line."""
    a, b = await FakePhone.open("PCMU", 440), await FakePhone.open("PCMU", 1000)
    endpoints = await connect(engine, a, b)
    engine.bridge(list(endpoints.values()))
    engine.detect_inband_dtmf(endpoints[a])
    detected: list[str] = []
    endpoints[a].dtmf_listeners.append(detected.append)
    signal = DtmfToneGenerator(level_dbm0=-10).sequence("159#", on_ms=100, off_ms=100)
    rng = np.random.default_rng(7)
    noise_rms = np.sqrt(np.mean(signal.astype(np.float64) ** 2)) / 10 ** (12 / 20)  # 12 dB SNR
    noisy = np.clip(signal + rng.normal(0, noise_rms, signal.size), -32768, 32767)
    frames = [noisy[i : i + 160].astype(np.int16) for i in range(0, noisy.size - 159, 160)]
    target = ("127.0.0.1", endpoints[a].local_port)
    for frame in frames + [np.zeros(160, np.int16)] * 10:
        packet = a.sender.next(0, a.encoder.encode(frame), 160)
        a.send_to(target, packet.serialize())
        b.send_to(("127.0.0.1", endpoints[b].local_port), b.next_packet())
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)
    assert detected == list("159#")
    assert "".join(dict.fromkeys(e.digit for e in b.events)) == "159#"


async def test_dtmf_interrupts_a_prompt_and_digits_are_collected(engine) -> None:
    a = await FakePhone.open("PCMU", 440)
    endpoints = await connect(engine, a)
    endpoint = endpoints[a]
    prompt = (8000 * np.sin(2 * np.pi * 700 * np.arange(8000) / RATE)).astype(np.int16)
    player = engine.play(endpoint, [prompt], loop=True)
    collected = engine.collect_digits(
        endpoint, max_digits=4, first_timeout=3.0, inter_timeout=1.0, terminator="#"
    )
    target = ("127.0.0.1", endpoint.local_port)
    timestamp = 1000
    for digit in "12#":
        for n in range(4):
            event = DtmfEvent.for_digit(digit, end=n == 3, volume=10, duration=160 * (n + 1))
            packet = RtpPacket(
                101, a.sender.sequence, timestamp, 0xD7, event.serialize(), marker=n == 0
            )
            a.sender.sequence = (a.sender.sequence + 1) & 0xFFFF
            a.send_to(target, packet.serialize())
            await asyncio.sleep(0.02)
        timestamp += 1600
    result = await asyncio.wait_for(collected, 3.0)
    assert (result.digits, result.reason.value) == ("12", "terminator")
    assert player.interrupted


async def test_packets_from_a_second_source_with_the_latched_ssrc_are_dropped(engine) -> None:
    a, b = await FakePhone.open("PCMU", 440), await FakePhone.open("PCMU", 1000)
    intruder = await FakePhone.open("PCMU", 1600)
    intruder.sender = a.sender  # same SSRC and sequence space, another address
    endpoints = await connect(engine, a, b)
    engine.bridge(list(endpoints.values()))
    target = ("127.0.0.1", endpoints[a].local_port)
    await talk(engine, endpoints, extra=lambda: intruder.send_to(target, intruder.next_packet()))
    assert endpoints[a].counters.stray > 50
    assert spectrum_peaks(b.received_audio(), [440, 1600])[1600] < 0.05


async def test_busy_tone_of_the_china_plan(engine) -> None:
    a = await FakePhone.open("PCMU", 440)
    endpoints = await connect(engine, a)
    engine.play_tone(endpoints[a], CHINA, "busy")
    await talk(engine, endpoints, seconds=1.5)
    audio = a.received_audio(skip_frames=5)
    assert abs(dominant(audio) - 450) < 10
    on = np.abs(audio.astype(np.int32)).reshape(-1, 80).max(axis=1) > 1000  # 10 ms blocks
    assert 0.35 < on.mean() < 0.65  # 0.35 s on, 0.35 s off


async def test_30ms_packets_play_without_gaps(engine) -> None:
    a, b = await FakePhone.open("PCMU", 440), await FakePhone.open("PCMA", 1000)
    endpoints = await connect(engine, a, b)
    engine.bridge(list(endpoints.values()))
    target = ("127.0.0.1", endpoints[a].local_port)
    for _ in range(50):  # 1.5 s in 30 ms packets
        t = (np.arange(240) + a.phase) / RATE
        a.phase += 240
        pcm = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
        a.send_to(target, a.sender.next(0, a.encoder.encode(pcm), 240).serialize())
        await asyncio.sleep(0.03)
    await asyncio.sleep(0.2)
    frames = b.heard[10:-10]
    silent = [f for f in frames if np.abs(f.astype(np.int32)).max() < 1000]
    assert len(frames) > 40 and not silent, f"{len(silent)} silent frames of {len(frames)}"
    assert abs(dominant(np.concatenate(frames)) - 440) < 15


async def test_rtcp_sender_reports_reach_the_phone(engine) -> None:
    """RFC 3550 section 6: while it sends RTP, the engine sends SR + SDES to RTP port + 1."""
    loop = asyncio.get_running_loop()
    reports: list[bytes] = []

    class Rtcp(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr) -> None:
            reports.append(data)

    for port in range(43000, 43100, 2):
        try:
            _, phone = await loop.create_datagram_endpoint(
                lambda: FakePhone("PCMU", 440), local_addr=("127.0.0.1", port)
            )
            rtcp, _ = await loop.create_datagram_endpoint(Rtcp, local_addr=("127.0.0.1", port + 1))
            break
        except OSError:
            continue
    other = await FakePhone.open("PCMU", 1000)
    endpoints = await connect(engine, phone, other)
    engine.bridge(list(endpoints.values()))
    await talk(engine, endpoints, seconds=4.0)
    rtcp.close()
    packets = [p for data in reports for p in parse_compound(data)]
    assert any(isinstance(p, SenderReport) and p.packet_count > 0 for p in packets), packets
    cnames = [p for p in packets if isinstance(p, SourceDescription)]
    assert cnames and cnames[0].cnames()


async def test_a_bridge_of_one_records_that_endpoint(engine, tmp_path) -> None:
    a = await FakePhone.open("PCMU", 440)
    endpoints = await connect(engine, a)
    bridge = engine.bridge(list(endpoints.values()))  # a voicemail message: nobody to hear
    recorder = engine.record(bridge, tmp_path / "message.wav", "wav-pcm16", channels=1)
    await talk(engine, endpoints, seconds=1.0)
    engine.destroy(endpoints[a])  # the caller hangs up: the recording completes
    path = await asyncio.wait_for(asyncio.wrap_future(recorder.completed), 10)
    pcm = subprocess.run(
        ["sox", str(path), "-t", "raw", "-e", "signed", "-b", "16", "-"],
        capture_output=True,
        check=True,
    ).stdout
    assert abs(dominant(np.frombuffer(pcm, np.int16)[1600:]) - 440) < 15
    assert not engine.bridges


async def test_a_one_way_link_goes_through_the_mixer_not_the_fast_path(engine) -> None:
    """An agent muted to his customer (agent call controls): the fast path would carry him."""
    customer, agent = await FakePhone.open("PCMU", 440), await FakePhone.open("PCMU", 1000)
    endpoints = await connect(engine, customer, agent)
    c, a = endpoints[customer], endpoints[agent]
    bridge = engine.bridge([c, a])
    assert bridge.fast_path
    assert engine.rebridge(bridge, [c, a], {(c, a): 1.0})  # a hears c; c hears nobody
    assert not bridge.fast_path
    await talk(engine, endpoints)
    assert abs(dominant(agent.received_audio()) - 440) < 15
    assert np.abs(customer.received_audio()).max() < 200  # silence (mu-law's smallest steps)
    engine.rebridge(bridge, [c, a])
    assert bridge.fast_path  # both hear each other as is again


async def test_a_recorded_party_may_be_a_group_mixed_on_its_channel(engine, tmp_path) -> None:
    """A three-way call: the customer left, the agent and the consulted party right."""
    phones = [await FakePhone.open("PCMU", f) for f in (440, 1000, 1600)]
    endpoints = await connect(engine, *phones)
    c, a, t = (endpoints[p] for p in phones)
    bridge = engine.bridge([c, a, t])
    path = tmp_path / "three.wav"
    recorder = engine.record(bridge, path, "wav-pcm16", channels=2)
    engine.set_recorded(bridge, (c, (a, t)))
    await talk(engine, endpoints, seconds=1.2)
    engine.stop_recording(bridge, recorder)
    await asyncio.wait_for(asyncio.wrap_future(recorder.completed), 10)
    channels = []
    for channel in ("1", "2"):
        raw = subprocess.run(
            ["sox", str(path), "-t", "raw", "-e", "signed", "-b", "16", "-", "remix", channel],
            capture_output=True,
            check=True,
        ).stdout
        channels.append(np.frombuffer(raw, np.int16)[2000:])
    left, right = channels
    assert spectrum_peaks(left, [440, 1000, 1600])[1000] < 0.05
    peaks = spectrum_peaks(right, [440, 1000, 1600])
    assert peaks[1000] > 0.5 and peaks[1600] > 0.5 and peaks[440] < 0.05, peaks
