"""Adaptive jitter buffer for one received RTP stream (pure: values in, playout decisions out).

The buffer takes plain packet fields (`put(sequence=, timestamp=, ssrc=, payload=, marker=,
arrival=)`; `put_fields(...)`, positional and unchecked, for a parsed RTP header), so it works
with any packet type, and hands out one output per `get(now)`:

- `Frame(payload, timestamp, sequence, samples)`: the next packet's payload, to decode;
- `Lost(timestamp, samples)`: nothing to play at that timestamp: the decoder conceals it (PLC).
  `inserted=True` marks a concealment frame added to grow the delay (no packet is missing; the
  frame at `timestamp` plays next);
- `EMPTY`: nothing to play and nothing to conceal: before the first talkspurt starts, in a
  silence (DTX, hold), or while a new source is being buffered.

No clock is read: arrival times and `now` come in as float seconds from the caller's clock.

Playout
-------
Playout follows the RTP timestamp (RFC 3550 section 5.1), not arrival order. The playhead is
the timestamp to play next; each `get` plays the packet at the playhead, or reports the slot
`Lost` when that packet is missing while later ones are buffered. A packet whose timestamp
the playhead has passed is LATE: counted and dropped (its transit still feeds the estimator).

Packet sizes: the engine calls `get` whenever its decoder needs the next packet's worth of
audio; with 20 ms packets (`frame_ms`, the usual case) that is once per 20 ms tick. A packet of
another duration (10 or 30 ms ptime) comes out whole with its length in `samples` (timestamp
units, measured from the timestamp step between consecutive sequence numbers); the decoder
splits it into 20 ms frames and calls `get` only when it runs short. Missing packets are
reported one `Lost` per packet duration.

Delay
-----
Each packet's relative transit `arrival - timestamp / clock_rate` goes into a sliding window
(`WINDOW` packets, about 4 s). The fastest recent transit is the base; the wanted delay is the
`QUANTILE` transit spread above that base plus half a frame, clamped to
[min_delay_ms, max_delay_ms] (before `WARMUP` packets are seen, never below start_delay_ms). That
is `target_delay_ms`: how long a packet on the fastest path waits before it plays.

The delay changes in two ways, so speech is not cut:
- at a talkspurt boundary (a timestamp gap that missing packets cannot explain, or a marker bit
  after a gap, RFC 3551 section 4.1) the next talkspurt is anchored afresh: its first packet
  plays at `timestamp / clock_rate + base + target`, so silences stretch or shrink;
- inside a talkspurt, at most one frame at a time: when the quantile transit gets within a
  quarter frame of the playout point (late losses ahead) one `Lost(inserted=True)` is put in
  (at most one per `INSERT_SPACING` outputs); when the delay exceeds the target by more than
  `DROP_EXCESS_FRAMES`, one frame is skipped (a missing one if possible; at most one per
  `DROP_SPACING` outputs).
Clock drift (the sender's clock a little fast or slow) shows up as the delay over the fastest
path creeping up or down; the same one-frame steps keep it inside the band: without silences
that costs about one frame per (frame / drift) seconds, e.g. one per 4 s at 0.5 %. Talkspurt
boundaries re-anchor for free, so with DTX nothing is needed unless a talkspurt lasts longer
than the drift takes to eat a quarter frame (5 ms: 5 s at 0.1 %, 1 s at 0.5 %).

Loss, silence and resynchronisation
-----------------------------------
When the buffer runs dry while playing, slots are reported `Lost` for up to `max_conceal_ms`
(the buffer cannot tell loss from a sender that went silent until the next packet arrives;
PLC fades out over a silence onset anyway), then the buffer goes idle (`EMPTY`) and the next
packet starts a new talkspurt. When that packet follows the last one played in sequence,
nothing was missing: those outputs move from `lost` to `silence_concealed` in the stats.

Sequence numbers and timestamps are unwrapped to unbounded integers (RFC 3550 appendix A.1),
so wrap-around at 65535 and 2^32 is seamless. The buffer starts over (RESYNC: flushes what it
holds, forgets the transit history, keeps the current target as its starting delay) when:
- the SSRC changes (a new source: re-INVITE, transfer). Stray packets of the previous SSRC
  that arrive within 2 * max_delay_ms of the change are dropped as LATE;
- the sequence number jumps by more than `MAX_DROPOUT` or falls back by more than
  `MAX_MISORDER` (RFC 3550 appendix A.1 limits);
- sequence and timestamp move in opposite directions (a sender that reset its timestamp);
- a packet that starts a talkspurt has a transit more than `RESYNC_TRANSIT_S` away from the
  base (a timestamp clock that jumped forward, or stood still during hold).

Memory: the buffer never holds more than `capacity_ms` (max_delay_ms + 2 frames: the longest
delay, plus the frame being played and the packet just arrived) of audio, nor more than
`max_packets` packets; anything beyond is refused as TOO_EARLY (a flood, or a sender far ahead).
"""

from __future__ import annotations

import bisect
import enum
import math
from collections import deque
from dataclasses import dataclass, fields

SEQ_MOD = 1 << 16
TIMESTAMP_MOD = 1 << 32
SEQ_HALF = SEQ_MOD >> 1
TIMESTAMP_HALF = TIMESTAMP_MOD >> 1

MAX_DROPOUT = 3000  # RFC 3550 appendix A.1: a larger forward sequence jump is a restart
MAX_MISORDER = 100  # ... and so is falling further back than this
WINDOW = 200  # transit samples kept for the delay estimate (4 s of 20 ms packets)
WARMUP = 50  # before this many samples, the target never drops below its starting value
QUANTILE = 0.98  # share of recent packets that must arrive in time
INSERT_SPACING = 5  # outputs between two inserted frames
DROP_SPACING = 50  # outputs between two skipped frames (1 s at 20 ms)
DROP_EXCESS_FRAMES = 3.25  # skip a frame only when the delay exceeds the target by this much
MAX_STEP_MS = 120  # a timestamp step longer than this between consecutive packets is a silence
RESYNC_TRANSIT_S = 1.0  # a talkspurt whose transit moved more than this restarts the estimate
RECENT_SEQUENCES = 128  # sequences played or skipped, remembered to tell duplicates from late
STEPS_KEPT = 16  # timestamp steps between consecutive sequences, for the packet duration


class JitterBufferError(ValueError):
    """A value the buffer cannot take: bad configuration or an out-of-range packet field."""


class PutResult(enum.StrEnum):
    ACCEPTED = "accepted"  # buffered for playout
    DUPLICATE = "duplicate"  # that sequence (or timestamp) is already buffered or played
    LATE = "late"  # its timestamp has been played out (or concealed) already
    TOO_EARLY = "too_early"  # does not fit: beyond the buffer's capacity (flood, sender ahead)
    RESYNC = "resync"  # a new source or a restarted stream: the buffer started over with it


@dataclass(frozen=True, slots=True)
class Frame:
    """A packet to decode. `timestamp` and `sequence` are the RTP header values (wrapped)."""

    payload: bytes
    timestamp: int
    sequence: int
    samples: int  # duration in timestamp units (160 for 20 ms at 8 kHz)


@dataclass(frozen=True, slots=True)
class Lost:
    """Conceal `samples` of audio at `timestamp` (RTP header value, wrapped).

    `inserted` is False when the packet for this timestamp is missing (lost, late), True when
    the buffer adds a frame to grow its delay: then the frame at `timestamp` comes next.
    """

    timestamp: int
    samples: int
    inserted: bool = False


@dataclass(frozen=True, slots=True)
class Empty:
    """Nothing to play or conceal: before a talkspurt starts, in a silence, on hold."""


EMPTY = Empty()

_FRAME_SETTERS = tuple(getattr(Frame, field.name).__set__ for field in fields(Frame))


def _new_frame(payload: bytes, timestamp: int, sequence: int, samples: int) -> Frame:
    """Frame(...) for the playout path: the frozen __init__ costs more than the slot writes."""
    frame = object.__new__(Frame)
    set_payload, set_timestamp, set_sequence, set_samples = _FRAME_SETTERS
    set_payload(frame, payload)
    set_timestamp(frame, timestamp)
    set_sequence(frame, sequence)
    set_samples(frame, samples)
    return frame


Output = Frame | Lost | Empty


@dataclass(frozen=True, slots=True)
class JitterStats:
    received: int  # put() calls
    accepted: int  # packets buffered (including the first packet of each resync)
    played: int  # Frame outputs
    duplicates: int
    late: int  # arrived after their timestamp was played out or concealed
    too_early: int  # refused: beyond capacity
    lost: int  # Lost outputs (concealed frames), inserted ones included, silence excluded
    silence_concealed: int  # Lost outputs that turned out to cover the sender's silence
    inserted: int  # Lost outputs added to grow the delay (no packet missing)
    dropped: int  # frames skipped to shrink the delay (a packet, or a missing slot)
    flushed: int  # buffered packets discarded by a resync
    resyncs: int
    target_delay_ms: float
    buffered_ms: float  # audio span held now (from the playhead when playing)
    max_buffered_ms: float
    max_depth: int  # most packets held at once
    jitter_ms: float  # RFC 3550 section 6.4.1 interarrival jitter estimate


@dataclass(slots=True)
class _Packet:
    ts: int  # unwrapped timestamp
    seq: int  # unwrapped sequence number
    payload: bytes
    marker: bool


class _TransitWindow:
    """The last `size` transit values, kept sorted as well for the minimum and quantiles.

    `ordered` is that sorted list (read-only outside): the buffer reads its ends directly on
    every output."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._fifo: deque[float] = deque()
        self.ordered: list[float] = []
        self._sorted = self.ordered

    def __len__(self) -> int:
        return len(self._fifo)

    def add(self, value: float) -> None:
        if len(self._fifo) == self._size:
            old = self._fifo.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]
        self._fifo.append(value)
        bisect.insort(self._sorted, value)

    def clear(self) -> None:
        self._fifo.clear()
        self._sorted.clear()

    def low(self) -> float:
        return self._sorted[0]

    def quantile(self, q: float) -> float:
        return self._sorted[min(len(self._sorted) - 1, int(q * len(self._sorted)))]


class JitterBuffer:
    """Reorders, times and conceals one received RTP stream. See the module docstring."""

    def __init__(
        self,
        clock_rate: int = 8000,
        frame_ms: int = 20,
        *,
        min_delay_ms: float = 20,
        max_delay_ms: float = 300,
        start_delay_ms: float = 60,
        max_conceal_ms: float = 100,
    ) -> None:
        if clock_rate <= 0 or frame_ms <= 0 or clock_rate * frame_ms % 1000:
            raise JitterBufferError(
                f"frame of {frame_ms} ms at {clock_rate} Hz is not a whole number of samples"
            )
        if not 0 <= min_delay_ms <= start_delay_ms <= max_delay_ms:
            raise JitterBufferError(
                f"delays must satisfy 0 <= min ({min_delay_ms}) <= start ({start_delay_ms})"
                f" <= max ({max_delay_ms}) ms"
            )
        if max_conceal_ms < 0:
            raise JitterBufferError(f"max_conceal_ms {max_conceal_ms} is negative")
        self.clock_rate = clock_rate
        self.frame_ms = frame_ms
        self.frame_samples = clock_rate * frame_ms // 1000
        self.min_delay_ms = float(min_delay_ms)
        self.max_delay_ms = float(max_delay_ms)
        self.start_delay_ms = float(start_delay_ms)
        self.capacity_ms = self.max_delay_ms + 2 * frame_ms
        self._capacity_samples = int(self.capacity_ms * clock_rate / 1000)
        # Room for 10 ms packets too; more packets than that in the span is a flood.
        self.max_packets = 2 * math.ceil(self.capacity_ms / frame_ms)
        self._conceal_limit = int(max_conceal_ms // frame_ms)
        self._max_step = clock_rate * MAX_STEP_MS // 1000
        self._frame_s = frame_ms / 1000
        self._margin_s = self._frame_s / 2

        # Source tracking (unwrapped sequence and timestamp of the highest sequence seen).
        self._ssrc: int | None = None
        self._previous_ssrc: int | None = None
        self._switched_at = -math.inf
        self._max_seq = 0
        self._max_ts = 0
        self._steps: deque[int] = deque(maxlen=STEPS_KEPT)  # recent timestamp steps per sequence
        # Timestamp units per packet: the shortest recent step (silences only lengthen it).
        self._step_now = self.frame_samples

        # Buffered packets, by unwrapped timestamp, plus the sorted timestamps.
        self._packets: dict[int, _Packet] = {}
        self._order: list[int] = []
        self._seqs: dict[int, int] = {}  # unwrapped sequence -> unwrapped timestamp
        self._last_played: tuple[int, int] | None = None  # (sequence, timestamp)
        self._recent: deque[int] = deque()
        self._recent_set: set[int] = set()

        # Delay estimate.
        self._window = _TransitWindow(WINDOW)
        self._prior_s = self.start_delay_ms / 1000  # target until the window warms up
        self._last_transit: float | None = None
        self._jitter_s = 0.0

        # Playout.
        self._playing = False
        self._playhead: int | None = None  # unwrapped timestamp to play next
        self._slot_seq = 0  # sequence of the last slot played, skipped or concealed
        self._empty_run = 0  # consecutive Lost outputs with nothing buffered
        self._dry_lost = 0  # Lost outputs with nothing buffered since the last Frame
        self._offset_s = 0.0  # smoothed (now - playhead / clock_rate)
        self._since_insert = 0
        self._since_drop = 0

        self._received = self._accepted = self._played = self._duplicates = 0
        self._late = self._too_early = self._lost = self._inserted = 0
        self._dropped = self._flushed = self._resyncs = self._silence_concealed = 0
        self._max_buffered_ms = 0.0
        self._max_depth = 0

    # -- input ----------------------------------------------------------------------------

    def put(
        self,
        *,
        sequence: int,
        timestamp: int,
        ssrc: int,
        payload: bytes,
        marker: bool,
        arrival: float,
    ) -> PutResult:
        """Offer one received packet. Out-of-range fields raise `JitterBufferError`."""
        if not 0 <= sequence < SEQ_MOD:
            raise JitterBufferError(f"sequence {sequence} is not 16-bit")
        if not 0 <= timestamp < TIMESTAMP_MOD:
            raise JitterBufferError(f"timestamp {timestamp} is not 32-bit")
        if not 0 <= ssrc < TIMESTAMP_MOD:
            raise JitterBufferError(f"SSRC {ssrc} is not 32-bit")
        if not math.isfinite(arrival):
            raise JitterBufferError(f"arrival {arrival!r} is not a finite time")
        return self.put_fields(sequence, timestamp, ssrc, payload, marker, arrival)

    def put_fields(
        self, sequence: int, timestamp: int, ssrc: int, payload: bytes, marker: bool, arrival: float
    ) -> PutResult:
        """`put` for fields known to be in range (a parsed RTP header, a finite clock)."""
        self._received += 1

        if self._ssrc is None:
            self._restart(ssrc, sequence, timestamp)
            return self._accept(sequence, timestamp, payload, marker, arrival, PutResult.ACCEPTED)
        if ssrc != self._ssrc:
            grace_s = 2 * self.max_delay_ms / 1000
            if ssrc == self._previous_ssrc and arrival - self._switched_at < grace_s:
                self._late += 1  # a straggler of the source we just left
                return PutResult.LATE
            self._previous_ssrc, self._switched_at = self._ssrc, arrival
            return self._resync(ssrc, sequence, timestamp, payload, marker, arrival)

        # value - reference on the circle of 2^16 (2^32), taken the short way round
        seq_delta = ((sequence - self._max_seq + SEQ_HALF) % SEQ_MOD) - SEQ_HALF
        ts_delta = ((timestamp - self._max_ts + TIMESTAMP_HALF) % TIMESTAMP_MOD) - TIMESTAMP_HALF
        if (
            seq_delta > MAX_DROPOUT
            or seq_delta < -MAX_MISORDER
            or (seq_delta > 0 and ts_delta < 0)
            or (seq_delta < 0 and ts_delta > 0)
        ):
            return self._resync(ssrc, sequence, timestamp, payload, marker, arrival)
        seq = self._max_seq + seq_delta
        ts = self._max_ts + ts_delta
        transit = arrival - ts / self.clock_rate

        if seq in self._seqs or seq in self._recent_set or ts in self._packets:
            self._duplicates += 1
            return PutResult.DUPLICATE

        # A new packet after a silence (stragglers and duplicates never restart anything).
        starts_talkspurt = seq_delta > 0 and (
            (not self._playing and not self._packets) or ts_delta > seq_delta * self._step_now
        )
        if (
            starts_talkspurt
            and len(self._window)
            and abs(transit - self._window.low()) > RESYNC_TRANSIT_S
        ):
            return self._resync(ssrc, sequence, timestamp, payload, marker, arrival)

        if seq_delta > 0:
            self._max_seq, self._max_ts = seq, ts
        # _note_jitter, inline
        if self._last_transit is not None:
            self._jitter_s += (abs(transit - self._last_transit) - self._jitter_s) / 16
        self._last_transit = transit

        if self._playhead is not None and ts < self._playhead:
            self._window.add(transit)  # late packets are what the estimator must learn from
            self._late += 1
            return PutResult.LATE
        # The span held, from the playhead (playing) or the first packet buffered (idle).
        if self._playing and self._playhead is not None:
            reference = self._playhead
        else:
            reference = self._order[0] if self._order else ts
        newest = max(ts, self._order[-1]) if self._order else ts
        if (
            newest - min(reference, ts) + self.frame_samples > self._capacity_samples
            or len(self._packets) >= self.max_packets
        ):
            self._too_early += 1
            return PutResult.TOO_EARLY

        self._window.add(transit)
        self._store(_Packet(ts, seq, payload, marker))
        if self._dry_lost and self._last_played and seq == self._last_played[0] + 1:
            # The buffer ran dry and concealed, but nothing was missing: the sender was silent.
            self._lost -= self._dry_lost
            self._silence_concealed += self._dry_lost
            self._dry_lost = 0
        return PutResult.ACCEPTED

    # -- output ---------------------------------------------------------------------------

    def get(self, now: float) -> Output:
        """What to play for the next packet's worth of audio (once per 20 ms tick)."""
        if not self._playing:
            return self._start_or_wait(now)
        assert self._playhead is not None
        offset = now - self._playhead / self.clock_rate
        self._offset_s += (offset - self._offset_s) / 8
        self._since_insert += 1
        self._since_drop += 1

        transits = self._window.ordered  # _window.low() and .quantile(QUANTILE), inline
        delay = self._offset_s - transits[0]  # what a packet on the fastest path waits
        quantile = transits[min(len(transits) - 1, int(QUANTILE * len(transits)))]
        slack = self._offset_s - quantile  # the quantile packet's margin
        step = self._step_now
        if (
            slack < self._margin_s / 2
            and delay + step / self.clock_rate <= self.max_delay_ms / 1000
            and self._since_insert >= INSERT_SPACING
        ):
            self._since_insert = 0
            self._offset_s += step / self.clock_rate
            self._inserted += 1
            self._lost += 1
            return Lost(self._playhead % TIMESTAMP_MOD, step, inserted=True)
        excess = DROP_EXCESS_FRAMES * self._frame_s
        min_delay_s = self.min_delay_ms / 1000
        if (
            # Cheap tests first (all are pure): the target is never below the minimum delay,
            # so a delay within the excess of the minimum cannot exceed the target by more.
            self._since_drop >= DROP_SPACING
            and delay - step / self.clock_rate >= min_delay_s
            and delay > min_delay_s + excess
            and delay > self._target_s() + excess
        ):
            self._skip_slot()
        return self._play_slot(now)

    # -- state ----------------------------------------------------------------------------

    @property
    def target_delay_ms(self) -> float:
        return self._target_s() * 1000

    @property
    def buffered_ms(self) -> float:
        if not self._order:
            return 0.0
        reference = self._playhead if self._playing else self._order[0]
        assert reference is not None
        span = self._order[-1] - reference + self.frame_samples
        return span * 1000 / self.clock_rate

    def __len__(self) -> int:
        return len(self._packets)

    @property
    def stats(self) -> JitterStats:
        return JitterStats(
            received=self._received,
            accepted=self._accepted,
            played=self._played,
            duplicates=self._duplicates,
            late=self._late,
            too_early=self._too_early,
            lost=self._lost,
            silence_concealed=self._silence_concealed,
            inserted=self._inserted,
            dropped=self._dropped,
            flushed=self._flushed,
            resyncs=self._resyncs,
            target_delay_ms=self.target_delay_ms,
            buffered_ms=self.buffered_ms,
            max_buffered_ms=self._max_buffered_ms,
            max_depth=self._max_depth,
            jitter_ms=self._jitter_s * 1000,
        )

    # -- internals ------------------------------------------------------------------------

    def _target_s(self) -> float:
        low, high = self.min_delay_ms / 1000, self.max_delay_ms / 1000
        if not len(self._window):
            return min(max(self._prior_s, low), high)
        spread = self._window.quantile(QUANTILE) - self._window.low()
        wanted = spread + self._margin_s
        if len(self._window) < WARMUP:
            wanted = max(wanted, self._prior_s)
        return min(max(wanted, low), high)

    def _add_step(self, step: int) -> None:
        steps = self._steps
        evicted = steps[0] if len(steps) == STEPS_KEPT else None
        steps.append(step)
        if len(steps) == 1 or step <= self._step_now:
            self._step_now = step
        elif evicted == self._step_now:
            self._step_now = min(steps)  # the shortest step just left the window

    def _note_jitter(self, transit: float) -> None:
        # RFC 3550 section 6.4.1 / appendix A.8: J += (|D| - J) / 16, in arrival order.
        if self._last_transit is not None:
            self._jitter_s += (abs(transit - self._last_transit) - self._jitter_s) / 16
        self._last_transit = transit

    def _restart(self, ssrc: int, sequence: int, timestamp: int) -> None:
        """Forget the stream: the next packet is the first of `ssrc`."""
        self._flushed += len(self._packets)
        self._packets.clear()
        self._order.clear()
        self._seqs.clear()
        self._recent.clear()
        self._recent_set.clear()
        self._steps.clear()
        self._step_now = self.frame_samples
        self._last_played = None
        if len(self._window):
            self._prior_s = self._target_s()
        self._window.clear()
        self._last_transit = None
        self._ssrc = ssrc
        self._max_seq, self._max_ts = sequence, timestamp
        self._playing = False
        self._playhead = None
        self._empty_run = self._dry_lost = 0

    def _resync(
        self, ssrc: int, sequence: int, timestamp: int, payload: bytes, marker: bool, arrival: float
    ) -> PutResult:
        self._restart(ssrc, sequence, timestamp)
        self._resyncs += 1
        return self._accept(sequence, timestamp, payload, marker, arrival, PutResult.RESYNC)

    def _accept(
        self,
        sequence: int,
        timestamp: int,
        payload: bytes,
        marker: bool,
        arrival: float,
        result: PutResult,
    ) -> PutResult:
        """Buffer the first packet of a (re)started stream; its unwrapped values are its own."""
        transit = arrival - timestamp / self.clock_rate
        self._note_jitter(transit)
        self._window.add(transit)
        self._store(_Packet(timestamp, sequence, payload, marker))
        return result

    def _store(self, packet: _Packet) -> None:
        ts, seq = packet.ts, packet.seq
        packets, order, seqs = self._packets, self._order, self._seqs
        packets[ts] = packet
        if not order or ts > order[-1]:
            order.append(ts)  # in order: the usual case
        else:
            bisect.insort(order, ts)
        seqs[seq] = ts
        self._accepted += 1
        before = seqs.get(seq - 1)
        if before is None and self._last_played and self._last_played[0] == seq - 1:
            before = self._last_played[1]
        after = seqs.get(seq + 1)
        max_step = self._max_step
        if before is not None and 0 < ts - before <= max_step:
            self._add_step(ts - before)
        if after is not None and 0 < after - ts <= max_step:
            self._add_step(after - ts)
        if len(packets) > self._max_depth:
            self._max_depth = len(packets)
        # buffered_ms, inline
        reference = self._playhead if self._playing else order[0]
        assert reference is not None
        buffered_ms = (order[-1] - reference + self.frame_samples) * 1000 / self.clock_rate
        if buffered_ms > self._max_buffered_ms:
            self._max_buffered_ms = buffered_ms

    def _pop_first(self) -> _Packet:
        packet = self._packets.pop(self._order.pop(0))
        del self._seqs[packet.seq]
        self._last_played = (packet.seq, packet.ts)
        self._recent.append(packet.seq)
        self._recent_set.add(packet.seq)
        if len(self._recent) > RECENT_SEQUENCES:
            self._recent_set.discard(self._recent.popleft())
        return packet

    def _duration(self, packet: _Packet) -> int:
        """How long `packet` (just taken off the front) lasts, never past the next one."""
        step = self._step_now
        if self._order:
            following = self._packets[self._order[0]]
            gap = following.ts - packet.ts
            if following.seq == packet.seq + 1 and gap <= self._max_step:
                return gap
            return min(step, gap)
        return step

    def _start_or_wait(self, now: float) -> Output:
        """Idle: start the next talkspurt once its first packet is due, else stay silent."""
        if not self._order:
            return EMPTY
        first = self._packets[self._order[0]]
        due = first.ts / self.clock_rate + self._window.low() + self._target_s()
        if now < due:
            return EMPTY
        self._playing = True
        self._playhead = first.ts
        self._slot_seq = first.seq - 1
        self._offset_s = now - first.ts / self.clock_rate
        self._empty_run = 0
        self._since_insert = self._since_drop = 0
        return self._play_slot(now)

    def _play_slot(self, now: float) -> Output:
        assert self._playhead is not None
        if self._order:
            first = self._packets[self._order[0]]
            if first.ts <= self._playhead:
                packet = self._pop_first()
                self._playhead = packet.ts + (samples := self._duration(packet))
                self._slot_seq = packet.seq
                self._empty_run = self._dry_lost = 0
                self._played += 1
                return _new_frame(
                    packet.payload, packet.ts % TIMESTAMP_MOD, packet.seq % SEQ_MOD, samples
                )
            gap = first.ts - self._playhead
            missing = max(first.seq - self._slot_seq - 1, 0)
            if first.marker or gap > missing * self._step_now:
                # A silence before `first`: end this talkspurt, anchor the next one afresh.
                self._playing = False
                return self._start_or_wait(now)
            samples = min(self._step_now, gap)
            self._empty_run = 0
        else:
            if self._empty_run >= self._conceal_limit:
                self._playing = False  # a silence (DTX, hold) or a long outage
                self._empty_run = 0
                return EMPTY
            samples = self._step_now
            self._empty_run += 1
            self._dry_lost += 1
        lost = Lost(self._playhead % TIMESTAMP_MOD, samples)
        self._playhead += samples
        self._slot_seq += 1
        self._lost += 1
        return lost

    def _skip_slot(self) -> None:
        """Shrink the delay by one frame: drop the packet at the playhead, or skip its slot
        when that packet is missing. Nothing is skipped across a silence or an empty buffer."""
        assert self._playhead is not None
        if not self._order:
            return
        first = self._packets[self._order[0]]
        if first.ts <= self._playhead:
            packet = self._pop_first()
            samples = self._duration(packet)
            self._slot_seq = packet.seq
        else:
            gap = first.ts - self._playhead
            if first.marker or gap > max(first.seq - self._slot_seq - 1, 0) * self._step_now:
                return
            samples = min(self._step_now, gap)
            self._slot_seq += 1
        self._playhead += samples
        self._dropped += 1
        self._since_drop = 0
        self._offset_s -= samples / self.clock_rate
