"""The adaptive jitter buffer driven by scripted arrival times and a scripted 20 ms tick.

Every test builds a stream of packets with arrival times, feeds each packet when the engine's
clock passes its arrival, and calls `get(now)` once per tick, as the engine does. No sleeps.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbxd.media.jitterbuffer import (
    EMPTY,
    Frame,
    JitterBuffer,
    JitterBufferError,
    Lost,
    PutResult,
)

TICK = 0.020
PHASE = 0.005  # the engine's tick is not aligned with the sender's packet clock
STEP = 160  # 20 ms at 8 kHz
TS_MOD = 1 << 32
SEQ_MOD = 1 << 16


@dataclass
class Packet:
    sequence: int
    timestamp: int
    arrival: float
    ssrc: int = 0x1234
    marker: bool = False
    payload: bytes = b""
    sent: float = 0.0  # on the sender's clock

    def fields(self) -> dict:
        return dict(
            sequence=self.sequence % SEQ_MOD,
            timestamp=self.timestamp % TS_MOD,
            ssrc=self.ssrc,
            payload=self.payload,
            marker=self.marker,
            arrival=self.arrival,
        )


def stream(
    count: int,
    *,
    seq0: int = 1000,
    ts0: int = 50_000,
    step: int = STEP,
    start: float = 0.0,
    period: float = TICK,
    delay: Callable[[int], float] = lambda i: 0.050,
    missing: set[int] | frozenset[int] = frozenset(),
    ssrc: int = 0x1234,
) -> list[Packet]:
    """`count` packets sent every `period` seconds (the sender's clock), arriving after
    `delay(i)`; the payload names the packet so the output can be checked against it."""
    packets = []
    for i in range(count):
        if i in missing:
            continue
        seq, ts = seq0 + i, ts0 + i * step
        packets.append(
            Packet(
                seq,
                ts,
                start + i * period + delay(i),
                ssrc=ssrc,
                marker=i == 0,
                payload=f"{ssrc:x}/{seq % SEQ_MOD}/{ts % TS_MOD}".encode(),
                sent=start + i * period,
            )
        )
    return packets


@dataclass
class Run:
    outputs: list[tuple[float, object]] = field(default_factory=list)
    results: dict[tuple[int, int, int], list[PutResult]] = field(default_factory=dict)

    @property
    def frames(self) -> list[Frame]:
        return [out for _, out in self.outputs if isinstance(out, Frame)]

    def lost(self, inserted: bool | None = None) -> list[Lost]:
        return [
            out
            for _, out in self.outputs
            if isinstance(out, Lost) and (inserted is None or out.inserted == inserted)
        ]

    def until_last_frame(self) -> list[object]:
        """Outputs up to the last frame: what follows is the end of the stream (PLC tail)."""
        last = max(i for i, (_, out) in enumerate(self.outputs) if isinstance(out, Frame))
        return [out for _, out in self.outputs[: last + 1]]

    def result(self, packet: Packet) -> list[PutResult]:
        return self.results[(packet.ssrc, packet.sequence % SEQ_MOD, packet.timestamp % TS_MOD)]


def play(
    jb: JitterBuffer,
    packets: list[Packet],
    *,
    seconds: float | None = None,
    phase: float = PHASE,
    check: Callable[[JitterBuffer], None] | None = None,
) -> Run:
    """Feed packets at their arrival times and tick every 20 ms until `seconds` (default:
    one second after the last arrival)."""
    packets = sorted(packets, key=lambda p: p.arrival)  # stable: equal arrivals keep order
    end = seconds if seconds is not None else packets[-1].arrival + 1.0
    run = Run()
    index = 0
    tick = 0
    while (now := tick * TICK + phase) <= end:
        while index < len(packets) and packets[index].arrival <= now:
            packet = packets[index]
            key = (packet.ssrc, packet.sequence % SEQ_MOD, packet.timestamp % TS_MOD)
            run.results.setdefault(key, []).append(jb.put(**packet.fields()))
            index += 1
            if check:
                check(jb)
        run.outputs.append((now, jb.get(now)))
        if check:
            check(jb)
        tick += 1
    return run


def sequences(frames: list[Frame]) -> list[int]:
    return [frame.sequence for frame in frames]


def expected_sequences(packets: list[Packet]) -> list[int]:
    return [p.sequence % SEQ_MOD for p in sorted(packets, key=lambda p: p.timestamp)]


def frame_delays(run: Run, packets: list[Packet]) -> list[float]:
    """Time each played packet spent between arrival and playout."""
    arrival = {p.payload: p.arrival for p in packets}
    return [now - arrival[out.payload] for now, out in run.outputs if isinstance(out, Frame)]


def assert_payloads_match(run: Run) -> None:
    for frame in run.frames:
        assert frame.payload.endswith(f"/{frame.sequence}/{frame.timestamp}".encode())


def unwrap(values: list[int], modulus: int) -> list[int]:
    out: list[int] = []
    for value in values:
        if not out:
            out.append(value)
        else:
            half = modulus >> 1
            out.append(out[-1] + ((value - out[-1] + half) % modulus) - half)
    return out


# -- steady stream, loss, reordering, duplicates, late ---------------------------------------


def test_nothing_plays_before_the_start_delay() -> None:
    jb = JitterBuffer()
    assert jb.get(0.0) is EMPTY
    (first,) = stream(1, delay=lambda i: 0.0)
    assert jb.put(**first.fields()) is PutResult.ACCEPTED
    assert jb.get(0.040) is EMPTY  # start delay is 60 ms
    out = jb.get(0.060)
    assert isinstance(out, Frame) and out.payload == first.payload and out.samples == STEP


def test_steady_stream_plays_everything_in_order_with_a_constant_delay() -> None:
    packets = stream(3000)
    jb = JitterBuffer()
    run = play(jb, packets)

    assert sequences(run.frames) == expected_sequences(packets)
    assert not [out for out in run.until_last_frame() if isinstance(out, Lost)]
    delays = frame_delays(run, packets)
    assert max(delays) - min(delays) < 1e-9
    assert 0.060 <= delays[0] < 0.080  # start delay, plus where the tick fell
    stats = jb.stats
    assert (stats.played, stats.late, stats.duplicates, stats.dropped) == (3000, 0, 0, 0)
    assert stats.target_delay_ms == 20  # no jitter: the floor
    assert_payloads_match(run)


def test_single_loss_and_a_burst_of_five_are_reported_at_the_missing_timestamps() -> None:
    missing = {100, 300, 301, 302, 303, 304}
    packets = stream(600, missing=missing)
    run = play(JitterBuffer(), packets)

    lost = [out for out in run.until_last_frame() if isinstance(out, Lost)]
    assert [out.timestamp for out in lost] == [50_000 + i * STEP for i in sorted(missing)]
    assert all(out.samples == STEP and not out.inserted for out in lost)
    assert sequences(run.frames) == expected_sequences(packets)


@pytest.mark.parametrize("depth", [2, 3])
def test_reordered_packets_play_in_timestamp_order_and_nothing_is_lost(depth: int) -> None:
    packets = stream(1000)
    # Every 10th group of `depth` packets arrives reversed, right after the group's last one.
    for start in range(5, 990, 10):
        group = packets[start : start + depth]
        last_arrival = group[-1].arrival
        for rank, packet in enumerate(reversed(group)):
            packet.arrival = last_arrival + 0.001 * rank
    run = play(JitterBuffer(), packets)

    assert sequences(run.frames) == expected_sequences(packets)
    assert not [out for out in run.until_last_frame() if isinstance(out, Lost)]
    assert all(results == [PutResult.ACCEPTED] for results in run.results.values())


def test_duplicates_are_dropped_whether_buffered_or_already_played() -> None:
    packets = stream(500)
    copies = [
        Packet(p.sequence, p.timestamp, p.arrival + 0.003, payload=p.payload) for p in packets[::7]
    ]
    # A copy of packet 10 turns up a second after it was played.
    stale = Packet(packets[10].sequence, packets[10].timestamp, packets[10].arrival + 1.0)
    run = play(jb := JitterBuffer(), packets + copies + [stale])

    assert sequences(run.frames) == expected_sequences(packets)
    assert run.result(packets[7]) == [PutResult.ACCEPTED, PutResult.DUPLICATE]
    assert run.result(stale)[-1] is PutResult.DUPLICATE
    assert jb.stats.duplicates == len(copies) + 1


def test_a_packet_arriving_after_its_playout_time_is_late_and_concealed() -> None:
    packets = stream(500, delay=lambda i: 0.350 if i == 200 else 0.050)
    run = play(jb := JitterBuffer(), packets)

    assert run.result(packets[200]) == [PutResult.LATE]
    lost = [out for out in run.until_last_frame() if isinstance(out, Lost)]
    assert [out.timestamp for out in lost] == [packets[200].timestamp]
    assert jb.stats.late == 1
    assert packets[200].sequence not in sequences(run.frames)


# -- adaptation ------------------------------------------------------------------------------


def jittered(seed: int, spread: float) -> Callable[[int], float]:
    rnd = random.Random(seed)
    return lambda i: 0.060 + rnd.uniform(-spread, spread)


def test_jitter_of_40_ms_raises_the_target_and_keeps_late_losses_under_one_percent() -> None:
    packets = stream(3000, delay=jittered(7, 0.040))  # one minute
    run = play(jb := JitterBuffer(), packets)

    stats = jb.stats
    assert stats.target_delay_ms > 75  # started at 60; the spread is 80 ms
    assert stats.late / stats.received < 0.01
    assert stats.jitter_ms > 20  # RFC 3550 estimate of a uniform +-40 ms spread: ~27 ms
    assert unwrap([f.timestamp for f in run.frames], TS_MOD) == sorted(
        unwrap([f.timestamp for f in run.frames], TS_MOD)
    )
    assert len(run.frames) + stats.late == 3000


def talkspurts(
    seconds: float,
    *,
    talk: float = 1.0,
    silence: float = 0.4,
    seq0: int = 1000,
    ts0: int = 50_000,
    start: float = 0.0,
    delay: Callable[[int], float] = lambda i: 0.050,
    period: float = TICK,
) -> list[Packet]:
    """A sender with DTX: `talk` seconds of packets, then `silence` seconds with none (the
    timestamp keeps running, the sequence does not); the first packet of each talkspurt has
    the marker bit."""
    packets: list[Packet] = []
    per_talk = round(talk / TICK)
    per_silence = round(silence / TICK)
    slot = 0
    seq = seq0
    while slot * TICK < seconds:
        for k in range(per_talk):
            i = len(packets)
            ts = ts0 + slot * STEP
            packets.append(
                Packet(
                    seq,
                    ts,
                    start + slot * period + delay(i),
                    marker=k == 0,
                    payload=f"{0x1234:x}/{seq % SEQ_MOD}/{ts % TS_MOD}".encode(),
                    sent=start + slot * period,
                )
            )
            seq += 1
            slot += 1
        slot += per_silence
    return packets


def talkspurt_latencies(run: Run, packets: list[Packet]) -> list[tuple[float, float]]:
    """(sent, sent-to-played latency) of the first packet of each talkspurt: the network's
    transit plus the buffer's delay."""
    starts = {p.payload: p.sent for p in packets if p.marker}
    return [
        (starts[out.payload], now - starts[out.payload])
        for now, out in run.outputs
        if isinstance(out, Frame) and out.payload in starts
    ]


def test_target_shrinks_again_at_talkspurt_boundaries_when_the_jitter_calms_down() -> None:
    rnd = random.Random(3)

    def delay(i: int) -> float:  # 20..100 ms, then a steady 20 ms
        return 0.020 + (rnd.uniform(0.0, 0.080) if i < 1500 else 0.0)

    packets = talkspurts(60.0, delay=delay)
    calm_from = packets[1500].sent
    run = play(jb := JitterBuffer(), packets)

    starts = talkspurt_latencies(run, packets)
    rough = [latency for sent, latency in starts if 5.0 < sent < calm_from]
    calm = [latency for sent, latency in starts if sent > calm_from + 6.0]  # jitter forgotten
    assert min(rough) > 0.020 + 0.075  # the fast path plus a target near the 80 ms spread
    assert max(calm) < 0.020 + 0.045  # the fast path plus the 20 ms floor and a tick
    assert jb.stats.target_delay_ms == 20
    # The delay moved at the boundaries: no speech frame was dropped to get there.
    assert jb.stats.dropped == 0
    assert jb.stats.late / jb.stats.received < 0.01
    on_time = [p.sequence for p in packets if run.result(p) != [PutResult.LATE]]
    assert sequences(run.frames) == on_time


def test_a_jitter_spike_without_silences_is_absorbed_and_given_back_one_frame_at_a_time() -> None:
    # A sender without DTX (no talkspurt boundary ever): 20 s steady, 10 s of 0..120 ms extra
    # delay, then steady again.
    rnd = random.Random(5)
    spike = range(1000, 1500)
    packets = stream(4000, delay=lambda i: 0.020 + (rnd.uniform(0, 0.120) if i in spike else 0))
    run = play(jb := JitterBuffer(), packets)

    sent = {p.payload: p.sent for p in packets}
    latency = [
        (sent[o.payload], now - sent[o.payload]) for now, o in run.outputs if isinstance(o, Frame)
    ]
    before = {round(lat, 6) for at, lat in latency if 10.0 < at < 20.0}
    during = [lat for at, lat in latency if 22.0 < at < 30.0]
    after = {round(lat, 6) for at, lat in latency if 40.0 < at}
    assert len(before) == 1 and after == before  # back where it was, constant again
    assert min(during) >= min(before) + 0.040  # frames were inserted to ride the spike out
    stats = jb.stats
    assert stats.inserted >= 2 and stats.dropped == stats.inserted
    inserted_at = [now for now, out in run.outputs if isinstance(out, Lost) and out.inserted]
    assert all(b - a >= 0.1 for a, b in zip(inserted_at, inserted_at[1:], strict=False))
    assert stats.late <= 0.02 * len(spike)
    assert len(run.frames) == 4000 - stats.late - stats.dropped


@pytest.mark.parametrize("drift", [0.005, -0.005])
def test_clock_drift_without_silences_stays_bounded_with_rare_concealment(drift: float) -> None:
    # Ten minutes of audio from a sender whose clock runs 0.5 % slow (packets come every
    # 20.1 ms of our time) or fast (19.9 ms); no DTX, so no talkspurt boundary helps.
    frames = 30_000
    packets = stream(frames, period=TICK * (1 + drift))
    run = play(jb := JitterBuffer(), packets)

    stats = jb.stats
    assert stats.late == 0 and stats.too_early == 0
    assert stats.max_buffered_ms <= 120
    if drift > 0:  # the buffer drains: one frame repeated (concealed) every ~4 s
        assert 0.004 * frames <= stats.inserted <= 0.006 * frames
        assert stats.dropped == 0
    else:  # the buffer fills: one frame skipped every ~4 s
        assert 0.004 * frames <= stats.dropped <= 0.006 * frames
        assert stats.inserted == 0
    body = run.until_last_frame()
    assert [out for out in body if isinstance(out, Lost)] == run.lost(inserted=True)
    assert len(run.frames) == frames - stats.dropped


@pytest.mark.parametrize("drift", [0.005, -0.005, 0.001, -0.001])
def test_clock_drift_with_silences_is_absorbed_at_talkspurt_boundaries(drift: float) -> None:
    # Ten minutes of 3 s talkspurts and 0.6 s silences (DTX).
    packets = talkspurts(600.0, talk=3.0, silence=0.6, period=TICK * (1 + drift))
    run = play(jb := JitterBuffer(), packets)

    stats = jb.stats
    assert stats.late == 0 and stats.max_buffered_ms <= 100
    if abs(drift) <= 0.001:  # 3 ms of drift per talkspurt: the boundaries absorb it all
        assert (stats.inserted, stats.dropped) == (0, 0)
    else:  # 15 ms per talkspurt: still fewer steps than without silences
        assert stats.inserted <= 0.005 * len(packets) and stats.dropped <= 2
    assert len(run.frames) == len(packets) - stats.dropped
    # Nothing was missing: the concealment after each talkspurt covered silence only (but
    # after the last one no packet came to tell: its 5 frames stay counted as lost).
    assert stats.lost == stats.inserted + 5
    assert stats.silence_concealed > 0
    latencies = [latency for sent, latency in talkspurt_latencies(run, packets) if sent > 5.0]
    assert max(latencies) - min(latencies) < 0.021 + 0.015  # every talkspurt starts on target


# -- wrap-around, resynchronisation, silences ------------------------------------------------


def test_sequence_and_timestamp_wrap_around_seamlessly() -> None:
    packets = stream(400, seq0=SEQ_MOD - 150, ts0=TS_MOD - 100 * STEP - 37)
    run = play(jb := JitterBuffer(), packets)

    assert sequences(run.frames) == [(SEQ_MOD - 150 + i) % SEQ_MOD for i in range(400)]
    stamps = unwrap([f.timestamp for f in run.frames], TS_MOD)
    assert stamps == [TS_MOD - 100 * STEP - 37 + i * STEP for i in range(400)]
    assert not [out for out in run.until_last_frame() if isinstance(out, Lost)]
    assert jb.stats.resyncs == 0


def test_a_new_ssrc_resynchronises_without_garbage_or_a_long_gap() -> None:
    first = stream(500)
    second = stream(500, seq0=40_000, ts0=3_000_000_000, start=10.0, ssrc=0xBEEF)
    # A straggler of the first source arrives after the switch.
    straggler = Packet(first[-1].sequence + 1, first[-1].timestamp + STEP, 10.2, marker=False)
    run = play(jb := JitterBuffer(), first + second + [straggler])

    assert run.result(second[0]) == [PutResult.RESYNC]
    assert run.result(straggler) == [PutResult.LATE]
    assert jb.stats.resyncs == 1
    # The old source's last few buffered packets (at most the target delay) are flushed.
    flushed = jb.stats.flushed
    assert 0 < flushed <= 4
    kept = len(first) - flushed
    assert sequences(run.frames) == [p.sequence for p in first[:kept] + second]
    outputs = [out for _, out in run.outputs]
    switch = next(
        i for i, out in enumerate(outputs) if isinstance(out, Frame) and out.sequence == 40_000
    )
    before = outputs[switch - 1]
    assert before is EMPTY  # nothing concealed across sources
    first_b = [now for now, out in run.outputs if isinstance(out, Frame) and out.sequence == 40_000]
    assert first_b[0] - second[0].arrival < 0.100  # the new source starts after ~target delay
    assert_payloads_match(run)


def test_the_previous_ssrc_coming_back_later_is_a_new_switch() -> None:
    a1 = stream(100)
    b = stream(100, seq0=7, ts0=9_000, start=3.0, ssrc=0xB)
    a2 = stream(100, seq0=5000, ts0=900_000, start=6.0)
    run = play(jb := JitterBuffer(), a1 + b + a2)

    assert run.result(a2[0]) == [PutResult.RESYNC]
    assert jb.stats.resyncs == 2
    assert len(run.frames) == 300 - jb.stats.flushed


def test_a_sender_that_resets_its_timestamp_or_sequence_is_resynchronised() -> None:
    first = stream(200)
    # Same SSRC, timestamp restarts from a low value while the sequence carries on.
    ts_reset = stream(200, seq0=1200, ts0=1_000, start=4.0)
    # Then the sequence leaps far ahead (a restarted sender picking a new random base).
    seq_jump = stream(200, seq0=30_000, ts0=1_000 + 400 * STEP, start=8.0)
    run = play(jb := JitterBuffer(), first + ts_reset + seq_jump)

    assert run.result(ts_reset[0]) == [PutResult.RESYNC]
    assert run.result(seq_jump[0]) == [PutResult.RESYNC]
    assert jb.stats.resyncs == 2
    assert jb.stats.flushed <= 8
    assert len(run.frames) == 600 - jb.stats.flushed
    assert jb.stats.late == 0


def test_dtx_silence_then_a_marker_restart() -> None:
    spurt1 = stream(50)
    # Two seconds of silence: the timestamp ran on, the sequence did not, marker set.
    spurt2 = stream(50, seq0=1050, ts0=50_000 + (50 + 100) * STEP, start=3.0)
    run = play(jb := JitterBuffer(), spurt1 + spurt2)

    assert run.result(spurt2[0]) == [PutResult.ACCEPTED]
    assert sequences(run.frames) == list(range(1000, 1100))
    outputs = [out for _, out in run.outputs]
    end1 = outputs.index(next(f for f in run.frames if f.sequence == 1049))
    start2 = outputs.index(next(f for f in run.frames if f.sequence == 1050))
    gap = outputs[end1 + 1 : start2]
    # The buffer cannot tell silence from loss when it runs dry: at most max_conceal_ms of
    # PLC at the end of the talkspurt, then silence.
    tail = [out for out in gap if isinstance(out, Lost)]
    assert 1 <= len(tail) <= 5
    assert [t.timestamp for t in tail] == [50_000 + (50 + k) * STEP for k in range(len(tail))]
    assert all(out is EMPTY for out in gap[len(tail) :])
    assert jb.stats.late == 0 and jb.stats.resyncs == 0
    # Once the marker packet followed in sequence, the tail counts as silence, not loss (the
    # 5 frames after the end of the stream stay lost: no packet came to tell).
    assert (jb.stats.lost, jb.stats.silence_concealed) == (5, len(tail))
    ((_, latency),) = talkspurt_latencies(run, spurt2)
    assert 0 <= latency - 0.050 - jb.target_delay_ms / 1000 < 0.021


def test_a_short_silence_is_not_concealed() -> None:
    spurt1 = stream(50)
    spurt2 = stream(50, seq0=1050, ts0=50_000 + 52 * STEP, start=1.04)  # 40 ms of DTX
    run = play(JitterBuffer(), spurt1 + spurt2)

    assert sequences(run.frames) == list(range(1000, 1100))
    assert not [out for out in run.until_last_frame() if isinstance(out, Lost)]


def test_hold_with_a_stopped_timestamp_clock_resynchronises() -> None:
    # The sender pauses its timestamp clock during a 20 s hold, then carries on: the
    # timestamp says "next packet", the arrival time says 20 s later.
    before = stream(100)
    after = stream(100, seq0=1100, ts0=50_000 + 100 * STEP, start=22.0)
    run = play(jb := JitterBuffer(), before + after)

    assert run.result(after[0]) == [PutResult.RESYNC]
    assert (jb.stats.resyncs, jb.stats.flushed, jb.stats.late) == (1, 0, 0)
    assert sequences(run.frames) == list(range(1000, 1200))
    ((_, latency),) = talkspurt_latencies(run, after)
    assert latency < 0.050 + 0.100


def test_a_flood_at_one_instant_stays_bounded() -> None:
    packets = stream(1000, delay=lambda i: 5.0 - i * TICK)  # all arrive at t = 5 s

    def bounded(jb: JitterBuffer) -> None:
        assert len(jb) <= jb.max_packets
        assert jb.buffered_ms <= jb.capacity_ms

    run = play(jb := JitterBuffer(), packets, seconds=8.0, check=bounded)

    stats = jb.stats
    assert stats.accepted == len(run.frames) + stats.dropped
    assert stats.accepted <= (jb.capacity_ms / 20)
    assert stats.too_early == 1000 - stats.accepted
    assert stats.max_buffered_ms <= jb.capacity_ms
    assert sequences(run.frames) == sorted(sequences(run.frames))


def test_a_30_ms_sender_is_played_whole_packet_by_packet() -> None:
    # ptime 30: the decoder keeps what it has not used and asks for more only when short.
    packets = stream(400, step=240, period=0.030)
    jb = JitterBuffer()
    ordered = sorted(packets, key=lambda p: p.arrival)
    held = 0
    outputs = []
    index = 0
    for tick in range(650):
        now = tick * TICK + PHASE
        while index < len(ordered) and ordered[index].arrival <= now:
            jb.put(**ordered[index].fields())
            index += 1
        while held < STEP:
            out = jb.get(now)
            outputs.append(out)
            if out is EMPTY:
                break
            held += out.samples
        held = max(held - STEP, 0)

    frames = [out for out in outputs if isinstance(out, Frame)]
    assert [f.sequence for f in frames] == [p.sequence for p in packets]
    assert all(f.samples == 240 for f in frames[:-1])
    last = max(i for i, out in enumerate(outputs) if isinstance(out, Frame))
    assert not [out for out in outputs[:last] if isinstance(out, Lost)]
    assert jb.stats.late == 0


def test_a_lost_10_ms_packet_is_concealed_for_10_ms() -> None:
    packets = stream(300, step=80, period=0.010, missing={150})
    jb = JitterBuffer()
    ordered = sorted(packets, key=lambda p: p.arrival)
    outputs = []
    index = 0
    for tick in range(400):
        now = tick * TICK + PHASE
        while index < len(ordered) and ordered[index].arrival <= now:
            jb.put(**ordered[index].fields())
            index += 1
        held = 0
        while held < STEP:
            out = jb.get(now)
            outputs.append(out)
            if out is EMPTY:
                break
            held += out.samples

    frames = [out for out in outputs if isinstance(out, Frame)]
    assert len(frames) == 299 and all(f.samples == 80 for f in frames[:-1])
    last = max(i for i, out in enumerate(outputs) if isinstance(out, Frame))
    lost = [out for out in outputs[:last] if isinstance(out, Lost)]
    assert [(out.timestamp, out.samples) for out in lost] == [(50_000 + 150 * 80, 80)]


# -- arguments -------------------------------------------------------------------------------


def test_out_of_range_fields_and_configurations_are_refused() -> None:
    jb = JitterBuffer()
    good = dict(sequence=1, timestamp=1, ssrc=1, payload=b"", marker=False, arrival=0.0)
    for name, value in [
        ("sequence", SEQ_MOD),
        ("sequence", -1),
        ("timestamp", TS_MOD),
        ("ssrc", -1),
        ("arrival", float("nan")),
    ]:
        with pytest.raises(JitterBufferError, match=f"(?i){name}"):
            jb.put(**{**good, name: value})
    assert jb.stats.received == 0
    with pytest.raises(JitterBufferError):
        JitterBuffer(min_delay_ms=100, start_delay_ms=60)
    with pytest.raises(JitterBufferError):
        JitterBuffer(clock_rate=8000, frame_ms=0)


# -- properties ------------------------------------------------------------------------------


@st.composite
def arrivals(draw: st.DrawFn) -> tuple[list[Packet], float]:
    count = draw(st.integers(1, 80))
    seq0 = draw(st.sampled_from([0, 1000, SEQ_MOD - 20]))
    ts0 = draw(st.sampled_from([0, 123_456, TS_MOD - 30 * STEP]))
    packets = []
    slot = 0
    for i in range(count):
        slot += 1 + (draw(st.integers(0, 60)) if draw(st.integers(0, 9)) == 0 else 0)
        if draw(st.integers(0, 9)) == 0:
            continue  # lost
        ts = ts0 + slot * STEP
        seq = seq0 + i
        arrival = slot * TICK + draw(st.floats(0.0, 0.4))
        payload = f"{0x1234:x}/{seq % SEQ_MOD}/{ts % TS_MOD}".encode()
        packets.append(Packet(seq, ts, arrival, marker=draw(st.booleans()), payload=payload))
        for _ in range(draw(st.integers(0, 1))):  # a duplicate, any time later
            packets.append(Packet(seq, ts, arrival + draw(st.floats(0.0, 1.0)), payload=payload))
    return packets, draw(st.floats(0.0, TICK, exclude_max=True))


@settings(max_examples=300, deadline=None)
@given(arrivals())
def test_any_arrival_order_plays_in_order_once_within_bounds(case) -> None:
    packets, phase = case
    if not packets:
        return
    played: set[int] = set()

    def bounded(jb: JitterBuffer) -> None:
        assert len(jb) <= jb.max_packets
        assert jb.buffered_ms <= jb.capacity_ms

    run = play(jb := JitterBuffer(), packets, phase=phase, check=bounded)

    stamps = []  # Frames and Lost slots, in output order
    frame_stamps = []
    for _, out in run.outputs:
        if isinstance(out, Frame):
            assert out.sequence not in played
            played.add(out.sequence)
            stamps.append(out.timestamp)
            frame_stamps.append(out.timestamp)
        elif isinstance(out, Lost) and not out.inserted:
            stamps.append(out.timestamp)
    for series in (stamps, frame_stamps):
        unwrapped = unwrap(series, TS_MOD)
        assert all(a < b for a, b in zip(unwrapped, unwrapped[1:], strict=False))
    assert_payloads_match(run)
    stats = jb.stats
    assert stats.resyncs == 0
    assert stats.played == len(run.frames) <= stats.accepted
    assert stats.received == stats.accepted + stats.duplicates + stats.late + stats.too_early


def test_a_sender_that_lengthens_its_ptime_is_timed_by_the_new_packet_length() -> None:
    # 10 ms packets, then 20 ms ones (a re-INVITE with another ptime, same stream): once the
    # short steps have left the buffer's memory of recent steps, a missing packet is
    # concealed for 20 ms, not 10.
    short = stream(200, step=80, period=0.010)
    long = stream(200, seq0=1200, ts0=50_000 + 200 * 80, start=2.0, missing={100})
    for packet in long:
        packet.marker = False
    jb = JitterBuffer()
    ordered = sorted(short + long, key=lambda p: p.arrival)
    outputs = []
    index = 0
    for tick in range(500):
        now = tick * TICK + PHASE
        while index < len(ordered) and ordered[index].arrival <= now:
            jb.put_fields(*ordered[index].fields().values())
            index += 1
        held = 0
        while held < STEP:
            out = jb.get(now)
            outputs.append(out)
            if out is EMPTY:
                break
            held += out.samples

    frames = [out for out in outputs if isinstance(out, Frame)]
    assert len(frames) == 399
    assert {f.samples for f in frames[:199]} == {80}
    assert {f.samples for f in frames[220:-1]} == {160}
    last = max(i for i, out in enumerate(outputs) if isinstance(out, Frame))
    lost = [out for out in outputs[:last] if isinstance(out, Lost)]
    assert [(out.timestamp, out.samples) for out in lost] == [(50_000 + 200 * 80 + 100 * 160, 160)]


def test_put_fields_is_put_for_checked_fields() -> None:
    packets = stream(300, missing={50, 51, 120}, delay=lambda i: 0.040 + 0.030 * (i % 7 == 0))
    by_keyword, by_position = JitterBuffer(), JitterBuffer()
    outputs: list[tuple[object, object]] = []
    index = 0
    ordered = sorted(packets, key=lambda p: p.arrival)
    for tick in range(400):
        now = tick * TICK + PHASE
        while index < len(ordered) and ordered[index].arrival <= now:
            fields = ordered[index].fields()
            assert by_keyword.put(**fields) == by_position.put_fields(*fields.values())
            index += 1
        outputs.append((by_keyword.get(now), by_position.get(now)))
    assert all(a == b for a, b in outputs)
    assert by_keyword.stats == by_position.stats
