"""RTP load generator for the media benchmark: `python -m benchmarks.rtp_load SPEC OUT`.

It runs in its own process (own process group, started by media.py) and plays both ends
of every call: for each leg it binds one UDP socket on 127.0.0.1, sends 20 ms G.711 packets
to the address the target (pbxd, the recording harness or rtpengine) gave in its SDP, and
receives what the target relays from the other leg of the same call.

Spec (JSON): {"legs": [{"port", "remote": [host, port], "pt"}, ...], "warmup", "seconds",
"drain"}. Legs come in pairs: leg 2i is the caller of call i, 2i+1 its callee, and what one
sends must come out at the other. Output (JSON): what every leg received, decoded.

Each payload carries a marker in its last 20 samples: a sync pattern, the 16-bit id of the
sending leg and the 16-bit index of the packet, every 4-bit digit as one of 16 widely spaced
levels (-7500 ... +7500) and repeated inverted. A level survives G.711 transcoding (mu-law
-> linear -> A-law and back is off by at most ~260), so the receiver knows, whatever the
target did to the payload, which packet of which leg it got and when it was sent. Frames a
target made up (silence while a jitter buffer fills, concealment of a loss) carry no valid
marker and count for nothing. Hence, per leg and per packet sent in the measured window:

- lost: never arrived (with its marker) before the end of the drain;
- late: arrived more than LATE_MS after its send time plus the smallest delay seen on that
  leg, i.e. it would miss a fixed 60 ms playout buffer;
- delay: arrival - send, both taken with time.monotonic() in this process.

Pacing: legs are spread over the 20 slots of 1 ms of each 20 ms period (what real calls with
random phases do), so neither this process nor the target sees one burst per period. The
generator measures its own lateness (send time - due time) and CPU, which say when it, rather
than the target, is the limit. Packets are pre-built except for their 12-byte header and last
8 bytes; received packets are only stored (21 bytes and a time) and decoded after the run.
"""

from __future__ import annotations

import json
import math
import select
import socket
import struct
import sys
import time
from pathlib import Path

import numpy as np

PTIME = 0.020
SAMPLES = 160
SLOTS = 20  # 1 ms slots per 20 ms period
SLOT = PTIME / SLOTS
MARKER_SAMPLES = 20
LATE_MS = 60.0
PCMU, PCMA = 0, 8
LEVEL_STEP = 1000
LEVELS = np.arange(16, dtype=np.int32) * LEVEL_STEP - 7500
LEVEL_TOLERANCE = 400  # half the spacing minus margin: G.711 error is ~260 at most
SYNC = (12, 3, 10, 5)
SOCKET_BUFFER = 256 * 1024
_HEADER = struct.Struct("!BBHII")


# -- G.711 (ITU-T G.711), written for this benchmark so that the oracle does not share code
# with what it measures --------------------------------------------------------------------


def _ulaw_encode(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.int32)
    sign = np.where(x < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(x), 32635) + 0x84
    exponent = np.floor(np.log2(magnitude)).astype(np.int32) - 7
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8)


def _ulaw_decode_table() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF
    exponent = (u >> 4) & 7
    magnitude = (((u & 0x0F) << 3) + 0x84) << exponent
    value = magnitude - 0x84
    return np.where(u & 0x80, -value, value).astype(np.int32)


def _alaw_encode(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.int32)
    mask = np.where(x >= 0, 0xD5, 0x55)
    magnitude = np.minimum(np.where(x >= 0, x, -x - 1), 32767)
    exponent = np.where(
        magnitude < 256, 0, np.floor(np.log2(np.maximum(magnitude, 1))).astype(np.int32) - 7
    )
    mantissa = np.where(exponent == 0, magnitude >> 4, magnitude >> (exponent + 3)) & 0x0F
    return (((exponent << 4) | mantissa) ^ mask).astype(np.uint8)


def _alaw_decode_table() -> np.ndarray:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    exponent = (a >> 4) & 7
    mantissa = a & 0x0F
    magnitude = np.where(
        exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0)
    )
    return np.where(a & 0x80, magnitude, -magnitude).astype(np.int32)


ENCODE = {PCMU: _ulaw_encode, PCMA: _alaw_encode}
DECODE = {PCMU: _ulaw_decode_table(), PCMA: _alaw_decode_table()}


# -- payloads -------------------------------------------------------------------------------


def _digits(value: int) -> list[int]:
    """Four 4-bit digits, most significant first, then the same inverted (a check)."""
    digits = [(value >> shift) & 0x0F for shift in (12, 8, 4, 0)]
    return digits + [15 - d for d in digits]


def _levels_bytes(pt: int, digits: list[int]) -> bytes:
    return ENCODE[pt](LEVELS[digits]).tobytes()


class Payloads:
    """Pre-encoded payload pieces for one payload type."""

    def __init__(self, pt: int, max_index: int):
        self.pt = pt
        t = np.arange(SAMPLES - MARKER_SAMPLES)
        tone = (3000 * np.sin(2 * np.pi * 1000 * t / 8000)).astype(np.int32)  # 1 kHz
        self.tone = ENCODE[pt](tone).tobytes()
        self.sync = _levels_bytes(pt, list(SYNC))
        # Every 16-bit value as 8 encoded samples, for values up to max_index (vectorised).
        values = np.arange(max_index + 1)
        digits = np.stack([(values >> s) & 0x0F for s in (12, 8, 4, 0)], axis=1)
        table = ENCODE[pt](LEVELS[np.concatenate([digits, 15 - digits], axis=1)])
        self.values = [row.tobytes() for row in table]

    def prefix(self, leg_id: int) -> bytes:
        """Everything but the packet index: tone, sync, the sending leg's id."""
        return self.tone + self.sync + self.values[leg_id]


def decode_markers(raw: bytes, pt: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(valid, leg_id, index) for the stored 21-byte records (payload type byte + marker)."""
    if not raw:
        empty = np.zeros(0, dtype=np.int64)
        return empty.astype(bool), empty, empty
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 1 + MARKER_SAMPLES)
    pts = records[:, 0] & 0x7F
    linear = DECODE[pt][records[:, 1:]]
    digit = np.clip(np.rint((linear - LEVELS[0]) / LEVEL_STEP), 0, 15).astype(np.int64)
    close = np.abs(linear - LEVELS[digit]) <= LEVEL_TOLERANCE
    valid = (pts == pt) & close.all(axis=1)
    valid &= (digit[:, :4] == np.array(SYNC)).all(axis=1)
    leg, index = digit[:, 4:12], digit[:, 12:20]
    valid &= (leg[:, :4] + leg[:, 4:] == 15).all(axis=1)
    valid &= (index[:, :4] + index[:, 4:] == 15).all(axis=1)
    weights = np.array([4096, 256, 16, 1])
    return valid, leg[:, :4] @ weights, index[:, :4] @ weights


# -- the run ----------------------------------------------------------------------------------


def run(spec: dict) -> dict:
    legs = spec["legs"]
    if len(legs) % 2 or len(legs) > 65536:
        raise ValueError("legs come in pairs, at most 65536")
    warmup, seconds, drain = float(spec["warmup"]), float(spec["seconds"]), float(spec["drain"])
    late = float(spec.get("late_ms", LATE_MS)) / 1000
    ticks = math.ceil((warmup + seconds) / PTIME)
    warm_ticks = math.ceil(warmup / PTIME)
    payloads = {pt: Payloads(pt, max(ticks, len(legs))) for pt in {leg["pt"] for leg in legs}}

    socks: list[socket.socket] = []
    poller = select.epoll()
    by_fd: dict[int, tuple] = {}
    records: list[bytearray] = []
    arrivals: list[list[float]] = []
    for leg in legs:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER)
        sock.bind(("127.0.0.1", leg["port"]))
        sock.connect(tuple(leg["remote"]))  # send() without an address; only the target's
        sock.setblocking(False)
        socks.append(sock)
        record, times = bytearray(), []
        records.append(record)
        arrivals.append(times)
        by_fd[sock.fileno()] = (sock.recv, record, times)
        poller.register(sock.fileno(), select.EPOLLIN)

    # Per slot: (send, prefix, header fields) of the legs due in that slot.
    slot_legs: list[list[tuple]] = [[] for _ in range(SLOTS)]
    # A new SSRC, sequence and timestamp base on every run (the salt): the target must not
    # take a new run's packets for old duplicates in its jitter buffer.
    salt = int(spec.get("salt", 0))
    for i, leg in enumerate(legs):
        pt = leg["pt"]
        ssrc = ((salt << 20) ^ i ^ 0x5EED0000) & 0xFFFFFFFF
        seq0 = (i * 7919 + salt * 4099) & 0xFFFF
        ts0 = (i * 104729 + salt * 7777777) & 0xFFFFFFFF
        item = (socks[i].send, payloads[pt].prefix(i), payloads[pt].values, pt, seq0, ts0, ssrc)
        slot_legs[(i * 7) % SLOTS].append(item)
    leg_slot = [(i * 7) % SLOTS for i in range(len(legs))]

    def receive(events: list, now: float) -> None:
        # Level-triggered: one datagram per ready socket and poll; a second one waiting
        # makes the next poll return at once. Only the PT byte and the marker are kept.
        for fd, _ in events:
            recv, record, times = by_fd[fd]
            try:
                data = recv(2048)
            except OSError:  # ICMP port unreachable reported on this socket, or nothing
                continue
            record += data[1:2] + data[-MARKER_SAMPLES:]
            times.append(now)

    total_slots = ticks * SLOTS
    sent_at = np.zeros(total_slots)
    send_errors = 0
    monotonic = time.monotonic
    poll = poller.poll
    pack = _HEADER.pack
    print("START", flush=True)
    began = monotonic() + 0.05
    cpu_marks = {}
    for s in range(total_slots):
        due = began + s * SLOT
        while True:
            now = monotonic()
            if now >= due:
                break
            events = poll(due - now)
            receive(events, monotonic())
        k = s // SLOTS
        if s == warm_ticks * SLOTS:
            cpu_marks["measure"] = (time.process_time(), monotonic())
            print("MEASURE", flush=True)
        sent_at[s] = monotonic()
        for send, prefix, values, pt, seq0, ts0, ssrc in slot_legs[s % SLOTS]:
            try:
                send(pack(0x80, pt, (seq0 + k) & 0xFFFF, (ts0 + k * SAMPLES) & 0xFFFFFFFF, ssrc)
                     + prefix + values[k])  # fmt: skip
            except OSError:  # ICMP unreachable from an earlier packet: the target is gone
                send_errors += 1
        # Read what is there even when behind schedule (no waiting above).
        receive(poll(0), monotonic())
    ended = monotonic()
    cpu_end = time.process_time()
    print("SENT", flush=True)
    while True:
        now = monotonic()
        if now >= ended + drain:
            break
        events = poll(ended + drain - now)
        receive(events, monotonic())
    for sock in socks:
        sock.close()
    poller.close()

    measure_cpu, measure_began = cpu_marks.get("measure", (cpu_end, ended))
    lag = sent_at - (began + np.arange(total_slots) * SLOT)
    measured_lag = lag[warm_ticks * SLOTS :]
    result = {
        "legs": [],
        "generator": {
            "cpu_percent": 100 * (cpu_end - measure_cpu) / max(ended - measure_began, 1e-9),
            "lag_ms_p50": 1000 * float(np.percentile(measured_lag, 50)),
            "lag_ms_p99": 1000 * float(np.percentile(measured_lag, 99)),
            "lag_ms_max": 1000 * float(measured_lag.max()),
            "send_errors": send_errors,
            "sent": ticks * len(legs) - send_errors,  # warm-up included
            "measured_seconds": ended - measure_began,
        },
    }
    for r, leg in enumerate(legs):
        sender = r ^ 1
        send_times = sent_at[np.arange(ticks) * SLOTS + leg_slot[sender]]
        result["legs"].append(
            _leg_stats(records[r], arrivals[r], leg["pt"], sender, send_times, warm_ticks, late)
        )
    return result


def _leg_stats(
    record: bytearray,
    arrivals: list[float],
    pt: int,
    sender: int,
    send_times: np.ndarray,
    warm_ticks: int,
    late: float,
) -> dict:
    ticks = len(send_times)
    valid, leg_id, index = decode_markers(bytes(record), pt)
    times = np.asarray(arrivals)
    received = len(times)
    crossed = int((valid & (leg_id != sender)).sum())
    mine = valid & (leg_id == sender) & (index < ticks)
    index, times = index[mine], times[mine]
    # The first copy of each packet counts; later copies are duplicates.
    order = np.argsort(times, kind="stable")
    index, times = index[order], times[order]
    unique, first = np.unique(index, return_index=True)
    duplicates = int(len(index) - len(unique))
    arrival = times[first]
    delay = arrival - send_times[unique]
    window = unique >= warm_ticks
    expected = ticks - warm_ticks
    got = int(window.sum())
    window_delay = delay[window]
    late_count = 0
    stats = {"min": None, "p50": None, "p99": None, "max": None}
    if got:
        base = float(window_delay.min())
        late_count = int((window_delay > base + late).sum())
        stats = {
            "min": 1000 * base,
            "p50": 1000 * float(np.percentile(window_delay, 50)),
            "p99": 1000 * float(np.percentile(window_delay, 99)),
            "max": 1000 * float(window_delay.max()),
        }
    return {
        "expected": expected,
        "received": got,
        "lost": expected - got,
        "late": late_count,
        "duplicates": duplicates,
        "crossed": crossed,
        "unmarked": int(received - valid.sum()),  # made up by the target (fill, concealment)
        "packets": received,
        "delay_ms": stats,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m benchmarks.rtp_load SPEC.json OUT.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(argv[0]).read_text())
    result = run(spec)
    Path(argv[1]).write_text(json.dumps(result))
    print("DONE", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
