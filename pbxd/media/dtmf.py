"""DTMF out of band: RFC 4733 telephone-events, SIP INFO bodies, and a digit collector.

Everything here is pure: no clock, sockets or asyncio. Times come in as `now` (float seconds)
or, for the RTP sender, as the RTP timestamp of the frame being sent.

- `DtmfEvent`: one 4-byte telephone-event payload block (RFC 4733 section 2.3).
- `Rfc4733Receiver`: turns the telephone-event packets of one RTP stream into `DigitStarted`
  and `DigitEnded` events, each digit exactly once.
- `Rfc4733Sender`: the packet sequence for digits to send (section 2.5.1), ticked every frame.
- `parse_info_body` / `info_body`: SIP INFO with application/dtmf-relay or application/dtmf.
- `DigitCollector`: collects a number with max digits, first/inter digit timeouts, terminator.

In-band (audio) detection and tone generation live in `dtmf_native.py`.
"""

from __future__ import annotations

import enum
import re
import struct
from collections import deque
from dataclasses import dataclass
from typing import NamedTuple

from .frames import ENGINE_RATE, FRAME_SAMPLES

# RFC 4733 section 3.2, table 7: event codes 0-15 are the DTMF digits in this order.
DTMF_DIGITS = "0123456789*#ABCD"
_EVENT_OF_DIGIT = {digit: code for code, digit in enumerate(DTMF_DIGITS)}

PAYLOAD_SIZE = 4  # one event block (section 2.3)
MAX_DURATION = 0xFFFF  # the 16-bit duration field, in timestamp units (section 2.3.5)
MAX_VOLUME = 63  # 6 bits, power in -dBm0 (section 2.3.4)
TIMESTAMP_MASK = 0xFFFFFFFF  # RTP timestamps are 32-bit and wrap
END_RETRANSMISSIONS = 2  # the final packet goes out 3 times in all (section 2.5.1.4)
DEFAULT_VOLUME = 10  # -10 dBm0
DEFAULT_INFO_DURATION_MS = 250  # when a SIP INFO body names no duration

_END_BIT = 0x80
_VOLUME_BITS = 0x3F


class DtmfError(Exception):
    """Base of every DTMF error."""


class DtmfParseError(DtmfError):
    """A telephone-event payload or SIP INFO body from the network is malformed.

    On the media path the packet is logged at debug level and dropped; for SIP INFO the
    request is answered with `status`.
    """

    status = 400


class DtmfValueError(DtmfError, ValueError):
    """A local caller passed a value that cannot be sent (unknown digit, volume out of range)."""


def event_code(digit: str) -> int:
    """The RFC 4733 event code of a DTMF digit ("0"-"9", "*", "#", "A"-"D"; case-insensitive)."""
    code = _EVENT_OF_DIGIT.get(digit.upper()) if isinstance(digit, str) else None
    if code is None:
        raise DtmfValueError(f"not a DTMF digit: {digit!r}")
    return code


def _check_digit(digit: str) -> str:
    return DTMF_DIGITS[event_code(digit)]


# --------------------------------------------------------------------------------------------
# Payload (RFC 4733 section 2.3)


@dataclass(frozen=True, slots=True)
class DtmfEvent:
    """One telephone-event block: event code, end bit, volume (-dBm0), duration (ts units).

    Codes above 15 (flash, fax and modem tones of RFC 4734...) parse too; `is_dtmf` is then
    False and `digit` None, so callers can ignore them.
    """

    event: int
    end: bool = False
    volume: int = DEFAULT_VOLUME
    duration: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.event <= 0xFF:
            raise DtmfValueError(f"event code out of range 0-255: {self.event}")
        if not 0 <= self.volume <= MAX_VOLUME:
            raise DtmfValueError(f"volume out of range 0-{MAX_VOLUME}: {self.volume}")
        if not 0 <= self.duration <= MAX_DURATION:
            raise DtmfValueError(f"duration out of range 0-{MAX_DURATION}: {self.duration}")

    @classmethod
    def for_digit(
        cls, digit: str, *, end: bool = False, volume: int = DEFAULT_VOLUME, duration: int = 0
    ) -> DtmfEvent:
        return cls(event_code(digit), end, volume, duration)

    @property
    def is_dtmf(self) -> bool:
        return self.event < len(DTMF_DIGITS)

    @property
    def digit(self) -> str | None:
        return DTMF_DIGITS[self.event] if self.is_dtmf else None

    @classmethod
    def parse(cls, payload: bytes) -> DtmfEvent:
        """Parse one 4-byte block. The R bit is ignored, as section 2.3.3 asks of receivers.

        Several blocks in one packet (section 2.5.1.5) are not handled: DtmfParseError.
        """
        if len(payload) != PAYLOAD_SIZE:
            raise DtmfParseError(
                f"telephone-event payload must be {PAYLOAD_SIZE} bytes, got {len(payload)}"
            )
        event, flags, duration = struct.unpack("!BBH", payload)
        return cls(event, bool(flags & _END_BIT), flags & _VOLUME_BITS, duration)

    def serialize(self) -> bytes:
        flags = (_END_BIT if self.end else 0) | self.volume  # R bit sent as 0 (2.3.3)
        return struct.pack("!BBH", self.event, flags, self.duration)


# --------------------------------------------------------------------------------------------
# Receiver (RFC 4733 section 2.5.2)


class EndReason(enum.StrEnum):
    END = "end"  # a packet with the E bit arrived
    TIMEOUT = "timeout"  # no packet for `end_timeout`: the end packets were lost (2.5.2.5)
    SUPERSEDED = "superseded"  # another event began before this one was seen to end


@dataclass(frozen=True, slots=True)
class DigitStarted:
    """A key was pressed: reported on the first packet seen of the event (marker or not)."""

    digit: str
    timestamp: int  # RTP timestamp of the event's first segment: its identity
    volume: int  # -dBm0
    at: float  # `now` of the packet that revealed it


@dataclass(frozen=True, slots=True)
class DigitEnded:
    """The key was released (or the event given up); `duration` sums all segments."""

    digit: str
    timestamp: int
    duration: int  # timestamp units
    duration_ms: int
    reason: EndReason
    at: float


DtmfReceived = DigitStarted | DigitEnded


class _ActiveEvent:
    """The event the receiver is following (mutable, private)."""

    __slots__ = (
        "code", "volume", "timestamp", "segment_ts", "segment_base", "duration", "last_at",
        "old_segments",
    )  # fmt: skip

    def __init__(self, code: int, volume: int, timestamp: int, duration: int, now: float):
        self.code = code
        self.volume = volume
        self.timestamp = timestamp  # first segment
        self.segment_ts = timestamp  # current segment
        self.segment_base = 0  # units covered by the finished segments
        self.duration = duration  # within the current segment
        self.last_at = now
        self.old_segments: set[int] = set()

    @property
    def total(self) -> int:
        return self.segment_base + self.duration


class Rfc4733Receiver:
    """Telephone-events of one RTP stream (one SSRC) to digit events.

    `feed(timestamp, marker, payload, now)` with every packet of the telephone-event payload
    type; `poll(now)` at `next_deadline()` to end events whose end packets were all lost.

    An event is identified by its RTP timestamp (section 2.5.1.2): a packet with a new
    timestamp starts a new event even without the marker bit (the first packet may be lost),
    and packets with the timestamp of an event already ended (the 3 end packets, late
    updates) are ignored. A digit is reported at its start (`DigitStarted`) and again when it
    ends (`DigitEnded`, with the final duration), each once.

    Long events (section 2.5.1.3 / 2.5.2.3): past 0xFFFF units the sender starts a new segment
    with the timestamp advanced by the previous segment's duration and without the marker bit;
    such a packet (same event code, timestamp 0xFFFF - `segment_slack` to 0xFFFF after the
    current segment's) continues the event instead of starting another.
    """

    def __init__(
        self,
        clock_rate: int = ENGINE_RATE,
        end_timeout: float = 0.2,
        segment_slack: int = 4096,
        history: int = 32,
    ) -> None:
        self.clock_rate = clock_rate
        self.end_timeout = end_timeout
        self.segment_slack = segment_slack
        # Packets that arrive this far behind the newest event are stale (reordered, late);
        # further back, the stream's timestamps jumped (new source): treat as new events.
        self.stale_window = 2 * clock_rate
        self._active: _ActiveEvent | None = None
        self._finished: deque[tuple[int, int]] = deque(maxlen=history)  # (timestamp, code)
        self._newest_ts: int | None = None
        self.non_dtmf_packets = 0  # codes > 15: counted, otherwise ignored
        self.ignored_packets = 0  # retransmissions, late and stale packets

    def reset(self) -> None:
        """Forget everything (SSRC change): the active event is dropped without DigitEnded."""
        self._active = None
        self._finished.clear()
        self._newest_ts = None

    def next_deadline(self) -> float | None:
        return None if self._active is None else self._active.last_at + self.end_timeout

    def poll(self, now: float) -> list[DtmfReceived]:
        """End the active event if no packet came for `end_timeout` (its end was lost)."""
        active = self._active
        if active is not None and now - active.last_at >= self.end_timeout:
            return [self._finish(EndReason.TIMEOUT, now)]
        return []

    def feed(self, timestamp: int, marker: bool, payload: bytes, now: float) -> list[DtmfReceived]:
        """One telephone-event packet. Raises DtmfParseError for a malformed payload."""
        event = DtmfEvent.parse(payload)
        out = self.poll(now)
        if not event.is_dtmf:
            self.non_dtmf_packets += 1
            return out
        timestamp &= TIMESTAMP_MASK
        active = self._active
        if active is not None and timestamp == active.segment_ts and event.event == active.code:
            self._update(active, event, now, out)
            return out
        if self._is_old(timestamp, event.event, active):
            self.ignored_packets += 1
            return out
        if active is not None and self._continues(active, timestamp, marker, event.event):
            # A new segment of a long event (2.5.2.3): same digit, timestamp moved on.
            active.old_segments.add(active.segment_ts)
            active.segment_base += (timestamp - active.segment_ts) & TIMESTAMP_MASK
            active.segment_ts = timestamp
            active.duration = 0
            self._newest_ts = timestamp
            self._update(active, event, now, out)
            return out
        if active is not None:
            out.append(self._finish(EndReason.SUPERSEDED, now))
        # A new event; its first packet may have been lost (no marker): still a new digit.
        self._active = _ActiveEvent(event.event, event.volume, timestamp, event.duration, now)
        self._newest_ts = timestamp
        out.append(DigitStarted(DTMF_DIGITS[event.event], timestamp, event.volume, now))
        if event.end:
            out.append(self._finish(EndReason.END, now))
        return out

    def _update(self, active: _ActiveEvent, event: DtmfEvent, now: float, out: list) -> None:
        # Durations only grow within a segment; a reordered older update must not shrink it.
        active.duration = max(active.duration, event.duration)
        active.last_at = now
        if event.end:
            out.append(self._finish(EndReason.END, now))

    def _is_old(self, timestamp: int, code: int, active: _ActiveEvent | None) -> bool:
        if (timestamp, code) in self._finished:
            return True  # retransmitted end packet or late update of an ended event
        if active is not None and timestamp in active.old_segments:
            return True  # retransmitted end of an earlier segment of the active event
        if self._newest_ts is None:
            return False
        behind = (self._newest_ts - timestamp) & TIMESTAMP_MASK
        return 0 < behind <= self.stale_window

    def _continues(self, active: _ActiveEvent, timestamp: int, marker: bool, code: int) -> bool:
        if marker or code != active.code:
            return False
        step = (timestamp - active.segment_ts) & TIMESTAMP_MASK
        return MAX_DURATION - self.segment_slack <= step <= MAX_DURATION

    def _finish(self, reason: EndReason, now: float) -> DigitEnded:
        active = self._active
        assert active is not None
        self._active = None
        self._finished.append((active.segment_ts, active.code))
        for old in active.old_segments:
            self._finished.append((old, active.code))
        total = active.total
        return DigitEnded(
            digit=DTMF_DIGITS[active.code],
            timestamp=active.timestamp,
            duration=total,
            duration_ms=round(total * 1000 / self.clock_rate),
            reason=reason,
            at=now,
        )


# --------------------------------------------------------------------------------------------
# Sender (RFC 4733 section 2.5.1)


class TelephoneEventPacket(NamedTuple):
    """One RTP packet to send with the telephone-event payload type.

    `timestamp` is the RTP timestamp of the event (segment) start, the same in every packet of
    it (2.5.1.2). Every packet, the retransmitted end packets included, takes the next RTP
    sequence number (RFC 3550 section 5.1).
    """

    payload: bytes
    marker: bool
    timestamp: int


class _Sending:
    """The digit being sent (mutable, private)."""

    __slots__ = (
        "code", "volume", "total", "event_ts", "segment_base", "first", "last_sent",
        "final", "ends_left", "cancelled",
    )  # fmt: skip

    def __init__(self, code: int, volume: int, total: int, now: int) -> None:
        self.code = code
        self.volume = volume
        self.total = total  # units
        self.event_ts = now
        self.segment_base = 0  # units covered by the finished segments
        self.first = True
        self.last_sent: int | None = None
        self.final: bytes | None = None  # the end packet, once the tone is over
        self.ends_left = 0
        self.cancelled = False

    @property
    def segment_ts(self) -> int:
        return (self.event_ts + self.segment_base) & TIMESTAMP_MASK


class _Repeat:
    """A final packet still to be sent again (2.5.1.4)."""

    __slots__ = ("payload", "timestamp", "left", "last_sent")

    def __init__(self, payload: bytes, timestamp: int, last_sent: int) -> None:
        self.payload = payload
        self.timestamp = timestamp
        self.left = END_RETRANSMISSIONS
        self.last_sent = last_sent


class Rfc4733Sender:
    """Sends digits as telephone-events; the engine calls `next_packets` every frame.

    `start(digit, duration_ms)` queues a digit. `next_packets(now_samples)` takes the RTP
    timestamp of the frame the engine is about to send (in place of audio while `busy`) and
    returns the packets for that frame: the first with the marker bit (duration one frame),
    updates every `update_interval_ms` (every frame by default), then the end packet with the
    full duration, sent three times at the update interval (2.5.1.4). A digit longer than
    0xFFFF units is sent in segments (2.5.1.3): each full segment ends with a duration of
    0xFFFF and no E bit (also sent three times) and the next begins 0xFFFF units later,
    without the marker. A queued digit begins on the frame after the last end packet.
    """

    def __init__(
        self,
        clock_rate: int = ENGINE_RATE,
        frame_samples: int = FRAME_SAMPLES,
        update_interval_ms: int = 20,
    ) -> None:
        self.clock_rate = clock_rate
        self.frame_samples = frame_samples
        self.update_interval = max(1, update_interval_ms * clock_rate // 1000)
        self._queue: deque[tuple[int, int, int]] = deque()  # (code, units, volume)
        self._current: _Sending | None = None
        self._segment_ends: list[_Repeat] = []

    @property
    def busy(self) -> bool:
        """True while a digit is being sent or queued: the engine mutes audio meanwhile."""
        return self._current is not None or bool(self._queue) or bool(self._segment_ends)

    def start(self, digit: str, duration_ms: int, volume: int = DEFAULT_VOLUME) -> None:
        code = event_code(digit)
        if not 0 <= volume <= MAX_VOLUME:
            raise DtmfValueError(f"volume out of range 0-{MAX_VOLUME}: {volume}")
        if duration_ms <= 0:
            raise DtmfValueError(f"duration must be positive, got {duration_ms} ms")
        self._queue.append((code, max(1, duration_ms * self.clock_rate // 1000), volume))

    def cancel(self) -> None:
        """Drop queued digits; a digit in progress ends on the next frame (with its 3 ends)."""
        self._queue.clear()
        cur = self._current
        if cur is not None:
            if cur.first:
                self._current = None  # nothing of it went out yet
            else:
                cur.cancelled = True

    def next_packets(self, now_samples: int) -> list[TelephoneEventPacket]:
        now = now_samples & TIMESTAMP_MASK
        out: list[TelephoneEventPacket] = []
        for repeat in self._segment_ends:
            self._send_repeat(repeat, now, out)
        self._segment_ends = [r for r in self._segment_ends if r.left > 0]
        cur = self._current
        if cur is None:
            if not self._queue:
                return out
            code, total, volume = self._queue.popleft()
            cur = self._current = _Sending(code, volume, total, now)
        if cur.final is not None:
            if self._due(now, cur.last_sent):
                out.append(TelephoneEventPacket(cur.final, False, cur.segment_ts))
                cur.last_sent = now
                cur.ends_left -= 1
                if cur.ends_left == 0:
                    self._current = None
            return out
        # Units covered once this frame has played, counted from the event start.
        covered = (now + self.frame_samples - cur.event_ts) & TIMESTAMP_MASK
        if cur.cancelled:
            cur.total = min(cur.total, covered)
        in_segment = min(covered, cur.total) - cur.segment_base
        if in_segment > MAX_DURATION or (in_segment == MAX_DURATION and covered < cur.total):
            # Segment full (2.5.1.3): closed without the E bit; the next starts right after.
            payload = self._payload(cur, False, MAX_DURATION)
            out.append(TelephoneEventPacket(payload, cur.first, cur.segment_ts))
            self._segment_ends.append(_Repeat(payload, cur.segment_ts, now))
            cur.segment_base += MAX_DURATION
            cur.first = False
            cur.last_sent = None  # the new segment's first packet goes out next frame
            return out
        if covered >= cur.total:
            payload = self._payload(cur, True, in_segment)
            out.append(TelephoneEventPacket(payload, cur.first, cur.segment_ts))
            cur.final = payload
            cur.ends_left = END_RETRANSMISSIONS
            cur.first = False
            cur.last_sent = now
            return out
        if cur.first or self._due(now, cur.last_sent):
            payload = self._payload(cur, False, in_segment)
            out.append(TelephoneEventPacket(payload, cur.first, cur.segment_ts))
            cur.first = False
            cur.last_sent = now
        return out

    def _send_repeat(self, repeat: _Repeat, now: int, out: list[TelephoneEventPacket]) -> None:
        if self._due(now, repeat.last_sent):
            out.append(TelephoneEventPacket(repeat.payload, False, repeat.timestamp))
            repeat.left -= 1
            repeat.last_sent = now

    def _due(self, now: int, last_sent: int | None) -> bool:
        if last_sent is None:
            return True
        return (now - last_sent) & TIMESTAMP_MASK >= self.update_interval

    @staticmethod
    def _payload(cur: _Sending, end: bool, duration: int) -> bytes:
        return DtmfEvent(cur.code, end, cur.volume, duration).serialize()


# --------------------------------------------------------------------------------------------
# SIP INFO bodies


def _digit_from_signal(value: str) -> str | None:
    value = value.strip().upper()
    if value in _EVENT_OF_DIGIT:
        return value
    if value.isascii() and value.isdigit() and int(value) < len(DTMF_DIGITS):
        return DTMF_DIGITS[int(value)]  # "10" = "*", "11" = "#", 12-15 = A-D (event codes)
    return None


_LEADING_INTEGER = re.compile(r"[0-9]+")
_HOOK_FLASH = {"16", "!"}  # event 16 / "!" are a hook flash, not a digit


def parse_info_body(content_type: str, body: bytes) -> tuple[str, int] | None:
    """The (digit, duration_ms) a SIP INFO carries, or None if it carries no DTMF digit.

    application/dtmf-relay: "Signal=5\\r\\nDuration=160" (keys case-insensitive, any line
    ends, spaces around "="; Signal is a digit, *, #, A-D, or its event code 10-15).
    application/dtmf: the digit alone ("5"), or the same key=value form.
    audio/telephone-event: a 4-byte RFC 4733 block.
    Other content types and a hook flash give None (answer 415 / ignore); a DTMF content type
    whose body names no valid digit raises DtmfParseError (answer 400). Duration defaults to
    `DEFAULT_INFO_DURATION_MS` when absent or not a positive integer.
    """
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "audio/telephone-event":
        event = DtmfEvent.parse(body)
        if event.digit is None:
            return None
        duration_ms = round(event.duration * 1000 / ENGINE_RATE) or DEFAULT_INFO_DURATION_MS
        return event.digit, duration_ms
    if media_type not in ("application/dtmf-relay", "application/dtmf"):
        return None
    text = body.decode("latin-1").strip()
    if media_type == "application/dtmf" and "=" not in text:
        if text in _HOOK_FLASH:
            return None
        digit = _digit_from_signal(text)
        if digit is None:
            raise DtmfParseError(f"application/dtmf body is not a digit: {text[:20]!r}")
        return digit, DEFAULT_INFO_DURATION_MS
    fields: dict[str, str] = {}
    for line in text.replace("\r", "\n").split("\n"):
        key, sep, value = line.partition("=")
        if sep:
            fields.setdefault(key.strip().lower(), value.strip())
    signal = fields.get("signal")
    if signal is None:
        raise DtmfParseError(f"{media_type} body has no Signal line")
    if signal in _HOOK_FLASH:
        return None
    digit = _digit_from_signal(signal)
    if digit is None:
        raise DtmfParseError(f"{media_type} Signal is not a DTMF digit: {signal[:20]!r}")
    # Leading ASCII digits only: "160", "160 ms"; anything else falls back to the default.
    duration_match = _LEADING_INTEGER.match(fields.get("duration", ""))
    duration_ms = int(duration_match.group()) if duration_match else 0
    return digit, duration_ms if duration_ms > 0 else DEFAULT_INFO_DURATION_MS


def info_body(digit: str, duration_ms: int = DEFAULT_INFO_DURATION_MS) -> tuple[str, bytes]:
    """(content type, body) of a SIP INFO that sends one digit: application/dtmf-relay."""
    digit = _check_digit(digit)
    if duration_ms <= 0:
        raise DtmfValueError(f"duration must be positive, got {duration_ms} ms")
    return "application/dtmf-relay", f"Signal={digit}\r\nDuration={duration_ms}\r\n".encode()


# --------------------------------------------------------------------------------------------
# Digit collection


class CollectReason(enum.StrEnum):
    MAX_DIGITS = "max_digits"
    TERMINATOR = "terminator"
    TIMEOUT_FIRST = "timeout_first"  # no digit came within first_digit_timeout
    TIMEOUT_INTER = "timeout_inter"  # digits came, then none within inter_digit_timeout


@dataclass(frozen=True, slots=True)
class CollectResult:
    digits: str  # without the terminator
    reason: CollectReason


class DigitCollector:
    """Collects digits for an IVR prompt or a PIN, clock passed in.

    `start(now)`, then `feed(digit, now)` for each digit and `poll(now)` at `next_deadline()`.
    The collection ends on the max digit count, the terminator (not included in the digits),
    or a timeout; the result is returned exactly once, by whichever call ended it, and stays
    readable as `result`. Digits fed after the end are ignored.
    """

    def __init__(
        self,
        max_digits: int,
        first_digit_timeout: float,
        inter_digit_timeout: float,
        terminator: str | None = "#",
    ) -> None:
        if max_digits < 1:
            raise DtmfValueError(f"max_digits must be at least 1, got {max_digits}")
        if first_digit_timeout <= 0 or inter_digit_timeout <= 0:
            raise DtmfValueError("timeouts must be positive")
        self.max_digits = max_digits
        self.first_digit_timeout = first_digit_timeout
        self.inter_digit_timeout = inter_digit_timeout
        self.terminator = _check_digit(terminator) if terminator else None
        self._digits: list[str] = []
        self._deadline: float | None = None
        self._started = False
        self.result: CollectResult | None = None

    @property
    def digits(self) -> str:
        """Digits collected so far."""
        return "".join(self._digits)

    @property
    def done(self) -> bool:
        return self.result is not None

    def start(self, now: float) -> None:
        if self._started:
            raise DtmfError("digit collector already started")
        self._started = True
        self._deadline = now + self.first_digit_timeout

    def next_deadline(self) -> float | None:
        return None if self.result is not None else self._deadline

    def feed(self, digit: str, now: float) -> CollectResult | None:
        if not self._started:
            raise DtmfError("digit collector not started")
        digit = _check_digit(digit)
        if self.result is not None:
            return None  # after the end: ignored
        timed_out = self.poll(now)
        if timed_out is not None:
            return timed_out  # the digit came too late
        if digit == self.terminator:
            return self._end(CollectReason.TERMINATOR)
        self._digits.append(digit)
        if len(self._digits) >= self.max_digits:
            return self._end(CollectReason.MAX_DIGITS)
        self._deadline = now + self.inter_digit_timeout
        return None

    def poll(self, now: float) -> CollectResult | None:
        if self.result is None and self._deadline is not None and now >= self._deadline:
            reason = CollectReason.TIMEOUT_INTER if self._digits else CollectReason.TIMEOUT_FIRST
            return self._end(reason)
        return None

    def _end(self, reason: CollectReason) -> CollectResult:
        self.result = CollectResult(self.digits, reason)
        self._deadline = None
        return self.result
