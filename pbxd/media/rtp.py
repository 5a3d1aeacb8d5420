"""RTP packets, the sending side's header state and the receiving side's statistics (RFC 3550).

Pure: no sockets, no clocks. Arrival times come in as float seconds from the caller's clock.

- `RtpPacket.parse(data)` / `packet.serialize()`: the fixed header, CSRC list, header
  extension (kept raw: profile + bytes) and padding (section 5.1, 5.3.1). This runs for every
  packet of every leg, so it does one precompiled `struct` unpack and a few bit tests.
- `is_rtcp(data)`: tells RTCP from RTP on a muxed port (RFC 5761 section 4).
- `RtpSender`: sequence numbers, timestamps, marker bit and the counters an SR reports;
  `next()` makes a packet, `datagram()` its bytes directly (the per-packet send path).
- `RtpReceiverStats`: sequence validation, loss and interarrival jitter of one source
  (RFC 3550 appendix A.1, A.3, A.8), which feed the report blocks of RTCP (`rtcp.py`).
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass, fields

RTP_VERSION = 2
HEADER_SIZE = 12  # fixed header, section 5.1
MAX_CSRC = 15  # 4-bit CC field
SEQ_MOD = 1 << 16
TIMESTAMP_MOD = 1 << 32

_HEADER = struct.Struct("!BBHII")  # V/P/X/CC, M/PT, sequence, timestamp, SSRC
_EXTENSION_HEADER = struct.Struct("!HH")  # profile-defined, length in 32-bit words
_CSRC_LISTS = tuple(struct.Struct(f"!{count}I") for count in range(MAX_CSRC + 1))


class RtpParseError(ValueError):
    """A datagram that is not a well-formed RTP packet; the media path drops it."""


@dataclass(frozen=True, slots=True)
class RtpExtension:
    """A header extension (section 5.3.1), kept raw. `data` is a whole number of 32-bit words;
    RFC 8285 one- or two-byte elements (profile 0xBEDE / 0x100x) are left to whoever needs them.
    """

    profile: int
    data: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.profile <= 0xFFFF:
            raise ValueError(f"RTP extension profile {self.profile} is not 16-bit")
        if len(self.data) % 4 or len(self.data) > 4 * 0xFFFF:
            raise ValueError(
                f"RTP extension data of {len(self.data)} octets is not a whole number of "
                "32-bit words (at most 65535)"
            )


@dataclass(frozen=True, slots=True)
class RtpPacket:
    """One RTP packet (section 5.1). The version is always 2.

    `padding` is the number of padding octets, last one included (section 5.1, P bit): parse
    strips them from the payload and records how many there were; serialize adds them back
    (zeros, then the count). 0 means no padding.
    """

    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: tuple[int, ...] = ()
    extension: RtpExtension | None = None
    padding: int = 0

    def __post_init__(self) -> None:
        # One chained test on the common path; the loop over the CSRCs only when there are any.
        if not (
            0 <= self.payload_type <= 127
            and 0 <= self.sequence < SEQ_MOD
            and 0 <= self.timestamp < TIMESTAMP_MOD
            and 0 <= self.ssrc < TIMESTAMP_MOD
            and 0 <= self.padding <= 255
        ):
            raise ValueError(
                f"RTP header field out of range: payload type {self.payload_type} (0-127), "
                f"sequence {self.sequence} (16-bit), timestamp {self.timestamp} (32-bit), "
                f"SSRC {self.ssrc} (32-bit), padding {self.padding} (0-255)"
            )
        if self.csrc:
            if len(self.csrc) > MAX_CSRC:
                raise ValueError(f"{len(self.csrc)} CSRCs (at most {MAX_CSRC})")
            for source in self.csrc:
                if not 0 <= source < TIMESTAMP_MOD:
                    raise ValueError(f"CSRC {source} is not 32-bit")

    @classmethod
    def parse(cls, data: bytes | bytearray | memoryview) -> RtpPacket:
        """Parse one datagram; raises RtpParseError when it is not RTP version 2 or its
        CSRC list, extension or padding count runs past its end."""
        size = len(data)
        if size < HEADER_SIZE:
            raise RtpParseError(f"RTP packet of {size} octets is shorter than the fixed header")
        first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
        if first >> 6 != RTP_VERSION:
            raise RtpParseError(f"RTP version {first >> 6}, expected 2")
        offset = HEADER_SIZE
        count = first & 0x0F
        if count:
            offset += 4 * count
            if offset > size:
                raise RtpParseError(f"{count} CSRCs run past the end of a {size}-octet packet")
            csrc = _CSRC_LISTS[count].unpack_from(data, HEADER_SIZE)
        else:
            csrc = ()
        extension = None
        if first & 0x10:
            if offset + 4 > size:
                raise RtpParseError("RTP header extension runs past the end of the packet")
            profile, words = _EXTENSION_HEADER.unpack_from(data, offset)
            start = offset + 4
            offset = start + 4 * words
            if offset > size:
                raise RtpParseError(
                    f"RTP header extension of {words} words runs past the end of the packet"
                )
            extension = RtpExtension(profile, bytes(data[start:offset]))
        end = size
        padding = 0
        if first & 0x20:
            # Section 5.1: the last octet counts the padding, itself included.
            padding = data[-1]
            if padding == 0 or offset + padding > size:
                raise RtpParseError(
                    f"RTP padding count {padding} does not fit a {size}-octet packet "
                    f"whose headers take {offset}"
                )
            end = size - padding
        # Every field is in range by construction: fill the slots directly rather than
        # through the frozen __init__ (half the cost of a parse).
        packet = _new_object(cls)
        setters = _PACKET_SLOT_SETTERS
        setters[0](packet, second & 0x7F)
        setters[1](packet, sequence)
        setters[2](packet, timestamp)
        setters[3](packet, ssrc)
        setters[4](packet, bytes(data[offset:end]))
        setters[5](packet, second >= 0x80)
        setters[6](packet, csrc)
        setters[7](packet, extension)
        setters[8](packet, padding)
        return packet

    def serialize(self) -> bytes:
        first = 0x80 | len(self.csrc)
        if self.padding:
            first |= 0x20
        if self.extension is not None:
            first |= 0x10
        header = _HEADER.pack(
            first,
            (0x80 | self.payload_type) if self.marker else self.payload_type,
            self.sequence,
            self.timestamp,
            self.ssrc,
        )
        if first == 0x80:  # the common case: no CSRC, extension or padding
            return header + self.payload
        parts = [header]
        if self.csrc:
            parts.append(_CSRC_LISTS[len(self.csrc)].pack(*self.csrc))
        if self.extension is not None:
            data = self.extension.data
            parts.append(_EXTENSION_HEADER.pack(self.extension.profile, len(data) // 4))
            parts.append(data)
        parts.append(self.payload)
        if self.padding:
            parts.append(bytes(self.padding - 1) + bytes((self.padding,)))
        return b"".join(parts)


_new_object = object.__new__
# The slot descriptors of RtpPacket, in field order (what parse fills in).
_PACKET_SLOT_SETTERS = tuple(getattr(RtpPacket, field.name).__set__ for field in fields(RtpPacket))
assert len(_PACKET_SLOT_SETTERS) == 9


def is_rtcp(data: bytes | bytearray | memoryview) -> bool:
    """Whether a datagram on an rtcp-mux port (RFC 5761) is RTCP rather than RTP.

    RFC 5761 section 4: the second octet of RTCP is its packet type, which in RTP would be the
    marker bit and payload type. SR..APP (200-204) are RTP payload types 72-76 with the marker
    set; we take the whole range RFC 5761 keeps free of RTP payload types (64-95, second octet
    192-223), so that AVPF feedback and XR (205-207), which phones send, are RTCP too.
    """
    return len(data) >= 2 and 192 <= data[1] <= 223


class RtpSender:
    """The header state of one outgoing RTP stream (one SSRC).

    Section 5.1: the initial sequence number and timestamp are random unless given. The
    timestamp of a packet is the sampling instant of its first sample; `samples` is how many
    the packet carries, so the next packet's timestamp is that many later.
    """

    def __init__(
        self,
        ssrc: int,
        clock_rate: int,
        initial_sequence: int | None = None,
        initial_timestamp: int | None = None,
        *,
        rng: random.Random | None = None,
    ):
        if not 0 <= ssrc < TIMESTAMP_MOD:
            raise ValueError(f"SSRC {ssrc} is not 32-bit")
        if clock_rate <= 0:
            raise ValueError(f"clock rate {clock_rate} must be positive")
        rng = rng or random.SystemRandom()
        self.ssrc = ssrc
        self.clock_rate = clock_rate
        self.sequence = (
            rng.randrange(SEQ_MOD) if initial_sequence is None else initial_sequence % SEQ_MOD
        )
        self.timestamp = (
            rng.randrange(TIMESTAMP_MOD)
            if initial_timestamp is None
            else initial_timestamp % TIMESTAMP_MOD
        )
        self.packets = 0  # for the SR sender info (section 6.4.1)
        self.octets = 0  # payload octets only, no header or padding (section 6.4.1)
        self._talkspurt = False  # the next packet starts a talkspurt (after skip)
        self._last_timestamp: int | None = None  # of the last packet sent
        self._last_sent_at: float | None = None

    def next(
        self,
        payload_type: int,
        payload: bytes,
        samples: int,
        marker: bool = False,
        *,
        now: float | None = None,
    ) -> RtpPacket:
        """The next packet; pass `now` (the send time) so an SR can map the clock to RTP time.

        The marker bit is set when asked, or on the first packet after `skip` (RFC 3551
        section 4.1: the first packet of a talkspurt).
        """
        packet = RtpPacket(
            payload_type,
            self.sequence,
            self.timestamp,
            self.ssrc,
            payload,
            marker or self._talkspurt,
        )
        self._talkspurt = False
        self._last_timestamp = self.timestamp
        if now is not None:
            self._last_sent_at = now
        self.sequence = (self.sequence + 1) % SEQ_MOD
        self.timestamp = (self.timestamp + samples) % TIMESTAMP_MOD
        self.packets += 1
        self.octets += len(payload)
        return packet

    def datagram(
        self,
        payload_type: int,
        payload: bytes,
        samples: int,
        marker: bool = False,
        *,
        now: float | None = None,
    ) -> bytes:
        """`next(...).serialize()` without the packet object: the media path's common case
        (no CSRC, extension or padding), one precompiled header pack per packet."""
        if not 0 <= payload_type <= 127:
            raise ValueError(f"RTP payload type {payload_type} is not 0-127")
        sequence, timestamp = self.sequence, self.timestamp
        header = _HEADER.pack(
            0x80,
            (0x80 | payload_type) if marker or self._talkspurt else payload_type,
            sequence,
            timestamp,
            self.ssrc,
        )
        self._talkspurt = False
        self._last_timestamp = timestamp
        if now is not None:
            self._last_sent_at = now
        self.sequence = (sequence + 1) % SEQ_MOD
        self.timestamp = (timestamp + samples) % TIMESTAMP_MOD
        self.packets += 1
        self.octets += len(payload)
        return header + payload

    def skip(self, samples: int) -> None:
        """Nothing is sent for `samples` (silence suppression, hold): the timestamp moves on,
        the sequence does not (section 5.1), and the next packet carries the marker."""
        self.timestamp = (self.timestamp + samples) % TIMESTAMP_MOD
        self._talkspurt = True

    def rtp_timestamp_at(self, now: float) -> int:
        """The RTP timestamp of instant `now`, for an SR (section 6.4.1: the same instant as
        its NTP timestamp). Extrapolated from the last packet sent with a `now`; else the
        timestamp the next packet will carry."""
        if self._last_sent_at is None or self._last_timestamp is None:
            return self.timestamp
        elapsed = round((now - self._last_sent_at) * self.clock_rate)
        return (self._last_timestamp + elapsed) % TIMESTAMP_MOD


# RFC 3550 appendix A.1
MAX_DROPOUT = 3000  # a forward jump up to this many sequence numbers is loss, not a restart
MAX_MISORDER = 100  # a backward step up to this many is a late packet, not a restart
MIN_SEQUENTIAL = 2  # packets in sequence before a new source counts as valid

_LOST_MIN = -(1 << 23)  # cumulative loss is a signed 24-bit field (section 6.4.1)
_LOST_MAX = (1 << 23) - 1


class RtpReceiverStats:
    """Reception statistics of one remote source, for RTCP report blocks.

    `update(packet, arrival)` for every packet received; it returns False for a packet that
    does not count: one of a new source still on probation (the first packet of a source
    is never counted, appendix A.1), or a far jump of the sequence number. Two packets in
    sequence after such a jump mean the sender restarted: the statistics start again there.

    A packet with another SSRC is a new source (section 8: SSRCs are chosen afresh on
    restart, and a re-INVITE may change them): everything is reset and that source goes on
    probation. One instance follows one source at a time; a bridge that mixes several keeps
    one per SSRC.
    """

    __slots__ = (
        "clock_rate",
        "ssrc",
        "_probation",
        "_max_seq",
        "_bad_seq",
        "_base_seq",
        "_cycles",
        "_received",
        "_received_prior",
        "_expected_prior",
        "_jitter",
        "_last_arrival",
        "_last_timestamp",
    )

    def __init__(self, clock_rate: int):
        if clock_rate <= 0:
            raise ValueError(f"clock rate {clock_rate} must be positive")
        self.clock_rate = clock_rate
        self.ssrc: int | None = None
        self._reset_source(None)

    def _reset_source(self, ssrc: int | None) -> None:
        self.ssrc = ssrc
        self._probation = MIN_SEQUENTIAL
        self._max_seq = 0
        self._bad_seq = SEQ_MOD + 1  # matches no sequence number
        self._base_seq = 0
        self._cycles = 0
        self._received = 0
        self._received_prior = 0
        self._expected_prior = 0
        self._jitter = 0.0
        self._last_arrival: float | None = None
        self._last_timestamp = 0

    def _init_sequence(self, seq: int) -> None:
        # A.1 init_seq
        self._base_seq = seq
        self._max_seq = seq
        self._bad_seq = SEQ_MOD + 1
        self._cycles = 0
        self._received = 0
        self._received_prior = 0
        self._expected_prior = 0
        self._last_arrival = None  # the jitter reference restarts with the sequence

    def update(self, packet: RtpPacket, arrival: float) -> bool:
        """Count `packet`, received at `arrival` (seconds); False when it does not count."""
        seq = packet.sequence
        if packet.ssrc != self.ssrc:
            self._reset_source(packet.ssrc)
            self._max_seq = (seq - 1) % SEQ_MOD  # A.1: so that this packet is "in sequence"
        # A.1 update_seq
        delta = (seq - self._max_seq) % SEQ_MOD
        if self._probation:
            if delta == 1:
                self._probation -= 1
                self._max_seq = seq
                if self._probation:
                    return False
                self._init_sequence(seq)
            else:
                self._probation = MIN_SEQUENTIAL - 1
                self._max_seq = seq
                return False
        elif delta < MAX_DROPOUT:
            if seq < self._max_seq:  # wrapped: one more cycle of 2^16
                self._cycles += SEQ_MOD
            self._max_seq = seq
        elif delta <= SEQ_MOD - MAX_MISORDER:
            if seq != self._bad_seq:
                self._bad_seq = (seq + 1) % SEQ_MOD
                return False
            # Two packets in sequence after a far jump: the sender restarted.
            self._init_sequence(seq)
        # else: a duplicate or a late packet within MAX_MISORDER; it counts as received.
        self._received += 1
        self._update_jitter(packet.timestamp, arrival)
        return True

    def _update_jitter(self, timestamp: int, arrival: float) -> None:
        # A.8: J += (|D(i-1, i)| - J) / 16, with D the change in transit time, in timestamp
        # units. D is taken from differences so the 32-bit timestamp wrap does not matter.
        last_arrival = self._last_arrival
        if last_arrival is not None:
            sent = (timestamp - self._last_timestamp) % TIMESTAMP_MOD
            if sent >= TIMESTAMP_MOD // 2:
                sent -= TIMESTAMP_MOD
            d = abs((arrival - last_arrival) * self.clock_rate - sent)
            self._jitter += (d - self._jitter) / 16.0
        self._last_arrival = arrival
        self._last_timestamp = timestamp

    @property
    def valid(self) -> bool:
        """A source has been heard and is past probation."""
        return self.ssrc is not None and self._probation == 0

    @property
    def received(self) -> int:
        """Packets counted since the source became valid (duplicates included, A.3)."""
        return self._received

    @property
    def extended_highest_sequence(self) -> int:
        """Highest sequence number received, with the count of wraps in the high 16 bits."""
        return (self._cycles + self._max_seq) % TIMESTAMP_MOD if self.valid else 0

    @property
    def expected(self) -> int:
        if not self.valid:
            return 0
        return self._cycles + self._max_seq - self._base_seq + 1

    @property
    def cumulative_lost(self) -> int:
        """Expected minus received, clamped to the signed 24-bit field of a report block;
        negative when duplicates arrived (section 6.4.1)."""
        lost = self.expected - self._received
        return min(max(lost, _LOST_MIN), _LOST_MAX)

    @property
    def jitter(self) -> float:
        """Interarrival jitter estimate, in timestamp units (A.8)."""
        return self._jitter

    def fraction_lost_since_last_report(self) -> int:
        """Fraction of packets lost since the previous call, in 1/256 (A.3); starts a new
        interval. 0 when nothing was lost or duplicates outnumber the losses."""
        expected = self.expected
        received = self._received
        expected_interval = expected - self._expected_prior
        received_interval = received - self._received_prior
        self._expected_prior = expected
        self._received_prior = received
        lost_interval = expected_interval - received_interval
        if expected_interval <= 0 or lost_interval <= 0:
            return 0
        return min((lost_interval << 8) // expected_interval, 255)
