"""RTCP compound packets and the report timing of one stream (RFC 3550 section 6).

Pure: no sockets, no clocks. Times come in as `now`, float seconds of the caller's clock.

- Packets: `SenderReport` (SR), `ReceiverReport` (RR), `SourceDescription` (SDES), `Bye`;
  any other type (APP, AVPF feedback, XR...) is kept as `UnknownRtcp`. `parse_compound(data)`
  and `serialize_compound(packets)`; a malformed datagram raises `RtcpParseError`.
- Helpers: NTP timestamps, report blocks from `RtpReceiverStats`, round-trip time (6.4.1).
- `RtcpState`: when the next report is due (6.2, 6.3.1), the last SR heard (for LSR/DLSR),
  and the compound packet to send (SR or RR, then SDES CNAME).
"""

from __future__ import annotations

import enum
import random
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .rtp import RtpReceiverStats, RtpSender

RTCP_VERSION = 2

SR = 200
RR = 201
SDES = 202
BYE = 203
APP = 204

MAX_COUNT = 31  # 5-bit RC/SC field
NTP_UNIX_OFFSET = 2_208_988_800  # seconds from 1900-01-01 (NTP era 0) to 1970-01-01
UDP_IP_OVERHEAD = 28  # IPv4 + UDP headers, counted in the average RTCP size (6.3.3)

_HEADER = struct.Struct("!BBH")  # V/P/count, packet type, length in 32-bit words minus one
_SSRC = struct.Struct("!I")
_SENDER_INFO = struct.Struct("!IQIII")  # SSRC, NTP, RTP timestamp, packet and octet counts
_REPORT_BLOCK = struct.Struct("!IIIIII")
_U32 = 0xFFFFFFFF


class RtcpParseError(ValueError):
    """A datagram that is not a well-formed RTCP compound packet; the media path drops it."""


class SdesItem(enum.IntEnum):
    """SDES item types (section 6.5). Parsed items keep their type as a plain int."""

    END = 0
    CNAME = 1
    NAME = 2
    EMAIL = 3
    PHONE = 4
    LOC = 5
    TOOL = 6
    NOTE = 7
    PRIV = 8


def _check_u32(name: str, value: int) -> None:
    if not 0 <= value <= _U32:
        raise ValueError(f"{name} {value} is not a 32-bit unsigned value")


@dataclass(frozen=True, slots=True)
class ReportBlock:
    """Reception report about one source (section 6.4.1)."""

    ssrc: int
    fraction_lost: int  # in 1/256
    cumulative_lost: int  # signed 24-bit: negative when duplicates outnumber losses
    highest_sequence: int  # extended: wrap count in the high 16 bits
    jitter: int  # timestamp units
    last_sr: int = 0  # middle 32 bits of the NTP timestamp of the last SR heard (LSR), 0: none
    delay_since_last_sr: int = 0  # DLSR, in 1/65536 s

    def __post_init__(self) -> None:
        for name in ("ssrc", "highest_sequence", "jitter", "last_sr", "delay_since_last_sr"):
            _check_u32(name, getattr(self, name))
        if not 0 <= self.fraction_lost <= 255:
            raise ValueError(f"fraction lost {self.fraction_lost} is not 8-bit")
        if not -(1 << 23) <= self.cumulative_lost < (1 << 23):
            raise ValueError(f"cumulative lost {self.cumulative_lost} is not signed 24-bit")


def _check_reports(reports: tuple[ReportBlock, ...]) -> None:
    if len(reports) > MAX_COUNT:
        raise ValueError(f"{len(reports)} report blocks (at most {MAX_COUNT} per packet)")


@dataclass(frozen=True, slots=True)
class SenderReport:
    """SR (section 6.4.1). Profile-specific extensions after the blocks are not kept."""

    ssrc: int
    ntp_timestamp: int  # 64-bit NTP: seconds since 1900 in the high 32 bits
    rtp_timestamp: int
    packet_count: int
    octet_count: int  # payload octets
    reports: tuple[ReportBlock, ...] = ()

    packet_type = SR

    def __post_init__(self) -> None:
        for name in ("ssrc", "rtp_timestamp", "packet_count", "octet_count"):
            _check_u32(name, getattr(self, name))
        if not 0 <= self.ntp_timestamp < (1 << 64):
            raise ValueError(f"NTP timestamp {self.ntp_timestamp} is not 64-bit")
        _check_reports(self.reports)


@dataclass(frozen=True, slots=True)
class ReceiverReport:
    """RR (section 6.4.2). Profile-specific extensions after the blocks are not kept."""

    ssrc: int
    reports: tuple[ReportBlock, ...] = ()

    packet_type = RR

    def __post_init__(self) -> None:
        _check_u32("ssrc", self.ssrc)
        _check_reports(self.reports)


SdesChunk = tuple[int, tuple[tuple[int, str], ...]]  # (SSRC/CSRC, ((item type, text), ...))


@dataclass(frozen=True, slots=True)
class SourceDescription:
    """SDES (section 6.5): per source, a list of (item type, text) items.

    Text is UTF-8 on the wire; octets that are not UTF-8 are parsed as U+FFFD rather than
    dropping the packet (some phones send Latin-1 names). PRIV items (type 8) keep their
    prefix-length octet and prefix inside the text, unparsed.
    """

    chunks: tuple[SdesChunk, ...]

    packet_type = SDES

    def __post_init__(self) -> None:
        if len(self.chunks) > MAX_COUNT:
            raise ValueError(f"{len(self.chunks)} SDES chunks (at most {MAX_COUNT})")
        for ssrc, items in self.chunks:
            _check_u32("ssrc", ssrc)
            for item_type, text in items:
                if not 1 <= item_type <= 255:
                    raise ValueError(f"SDES item type {item_type} is not 1-255")
                if len(text.encode()) > 255:
                    raise ValueError(f"SDES item of {len(text.encode())} octets (at most 255)")

    @classmethod
    def cname(cls, ssrc: int, cname: str) -> SourceDescription:
        return cls(((ssrc, ((SdesItem.CNAME, cname),)),))

    def cnames(self) -> dict[int, str]:
        """The CNAME of each source that gave one."""
        return {ssrc: text for ssrc, items in self.chunks for kind, text in items if kind == 1}


@dataclass(frozen=True, slots=True)
class Bye:
    """BYE (section 6.6): these sources leave, with an optional reason."""

    ssrcs: tuple[int, ...]
    reason: str | None = None

    packet_type = BYE

    def __post_init__(self) -> None:
        if len(self.ssrcs) > MAX_COUNT:
            raise ValueError(f"{len(self.ssrcs)} sources in a BYE (at most {MAX_COUNT})")
        for ssrc in self.ssrcs:
            _check_u32("ssrc", ssrc)
        if self.reason is not None and len(self.reason.encode()) > 255:
            raise ValueError("BYE reason longer than 255 octets")


@dataclass(frozen=True, slots=True)
class UnknownRtcp:
    """Any other packet type (APP, RTPFB/PSFB feedback, XR, ...), kept as it came:
    `count` is the 5-bit field after V and P, `body` what follows the 4-octet header
    (padding removed)."""

    packet_type: int
    count: int
    body: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.packet_type <= 255:
            raise ValueError(f"RTCP packet type {self.packet_type} is not 8-bit")
        if not 0 <= self.count <= MAX_COUNT:
            raise ValueError(f"RTCP count {self.count} is not 5-bit")
        if len(self.body) % 4 or len(self.body) > 4 * 0xFFFF:
            raise ValueError(f"RTCP body of {len(self.body)} octets is not whole 32-bit words")


RtcpPacket = SenderReport | ReceiverReport | SourceDescription | Bye | UnknownRtcp


# --- parsing -------------------------------------------------------------------------------


def parse_compound(
    data: bytes | bytearray | memoryview, *, strict: bool = False
) -> list[RtcpPacket]:
    """Parse an RTCP datagram into its packets, in order.

    Always checked (appendix A.2): version 2 on every packet, lengths that add up exactly to
    the datagram, padding counts that fit, and bodies that hold what their counts announce.

    `strict=True` adds the compound rules of section 6.1 / A.2: the first packet is an SR or
    RR and only the last one is padded. The default tolerates them because some phones start
    with SDES or send a lone feedback packet (RFC 5506 reduced-size RTCP), and dropping those
    would lose their reports.
    """
    data = bytes(data)
    size = len(data)
    if size < 4:
        raise RtcpParseError(f"RTCP datagram of {size} octets is shorter than a header")
    packets: list[RtcpPacket] = []
    offset = 0
    while offset < size:
        if size - offset < 4:
            raise RtcpParseError(f"{size - offset} stray octets after the last RTCP packet")
        first, packet_type, words = _HEADER.unpack_from(data, offset)
        if first >> 6 != RTCP_VERSION:
            raise RtcpParseError(f"RTCP version {first >> 6} at octet {offset}, expected 2")
        end = offset + 4 + 4 * words
        if end > size:
            raise RtcpParseError(
                f"RTCP packet type {packet_type} at octet {offset} claims {4 + 4 * words} "
                f"octets, {size - offset} remain"
            )
        body_end = end
        if first & 0x20:
            if strict and end != size:
                raise RtcpParseError("padding on an RTCP packet that is not the last (6.4.1)")
            padding = data[end - 1]
            if padding == 0 or padding > 4 * words:
                raise RtcpParseError(f"RTCP padding count {padding} does not fit its packet")
            body_end = end - padding
        if strict and offset == 0 and packet_type not in (SR, RR):
            raise RtcpParseError(f"compound RTCP starts with type {packet_type}, not SR or RR")
        packets.append(_parse_packet(packet_type, first & 0x1F, data, offset + 4, body_end))
        offset = end
    return packets


def _parse_packet(packet_type: int, count: int, data: bytes, start: int, end: int) -> RtcpPacket:
    if packet_type == SR:
        if end - start < _SENDER_INFO.size + count * _REPORT_BLOCK.size:
            raise RtcpParseError(f"SR with {count} report blocks is too short")
        ssrc, ntp, rtp_timestamp, packets, octets = _SENDER_INFO.unpack_from(data, start)
        blocks = _parse_blocks(data, start + _SENDER_INFO.size, count)
        return SenderReport(ssrc, ntp, rtp_timestamp, packets, octets, blocks)
    if packet_type == RR:
        if end - start < 4 + count * _REPORT_BLOCK.size:
            raise RtcpParseError(f"RR with {count} report blocks is too short")
        (ssrc,) = _SSRC.unpack_from(data, start)
        return ReceiverReport(ssrc, _parse_blocks(data, start + 4, count))
    if packet_type == SDES:
        return _parse_sdes(count, data, start, end)
    if packet_type == BYE:
        return _parse_bye(count, data, start, end)
    body = data[start:end]
    if len(body) % 4:
        # Only padding (a count that is not a multiple of 4) can make this happen; the
        # object holds whole words so that it serializes back to a valid packet.
        raise RtcpParseError(f"RTCP packet type {packet_type} body is not whole 32-bit words")
    return UnknownRtcp(packet_type, count, body)


def _parse_blocks(data: bytes, offset: int, count: int) -> tuple[ReportBlock, ...]:
    blocks = []
    for _ in range(count):
        ssrc, lost, highest, jitter, lsr, dlsr = _REPORT_BLOCK.unpack_from(data, offset)
        cumulative = lost & 0xFFFFFF
        if cumulative & 0x800000:  # signed 24-bit (6.4.1)
            cumulative -= 1 << 24
        blocks.append(ReportBlock(ssrc, lost >> 24, cumulative, highest, jitter, lsr, dlsr))
        offset += _REPORT_BLOCK.size
    return tuple(blocks)


def _parse_sdes(count: int, data: bytes, offset: int, end: int) -> SourceDescription:
    chunks: list[SdesChunk] = []
    for _ in range(count):
        if end - offset < 4:
            raise RtcpParseError("SDES chunk runs past the end of its packet")
        (ssrc,) = _SSRC.unpack_from(data, offset)
        offset += 4
        items: list[tuple[int, str]] = []
        while True:
            if offset >= end:
                raise RtcpParseError("SDES chunk without its terminating null octet")
            item_type = data[offset]
            if item_type == SdesItem.END:
                # The null octet ends the list, more pad to the next 32-bit boundary (6.5).
                offset = (offset + 4) & ~3
                if offset > end:
                    raise RtcpParseError("SDES chunk padding runs past the end of its packet")
                break
            if offset + 2 > end or offset + 2 + data[offset + 1] > end:
                raise RtcpParseError(f"SDES item type {item_type} runs past the end of its packet")
            length = data[offset + 1]
            text = _decode_text(data[offset + 2 : offset + 2 + length])
            items.append((item_type, text))
            offset += 2 + length
        chunks.append((ssrc, tuple(items)))
    return SourceDescription(tuple(chunks))


def _decode_text(raw: bytes) -> str:
    """UTF-8 text of an SDES item or BYE reason. Octets that are not UTF-8 become U+FFFD
    (3 octets each), cut back to the 255 octets the item can hold when serialized again."""
    try:
        return raw.decode()
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "replace")
        return text.encode()[:255].decode("utf-8", "ignore")


def _parse_bye(count: int, data: bytes, offset: int, end: int) -> Bye:
    if end - offset < 4 * count:
        raise RtcpParseError(f"BYE with {count} sources is too short")
    ssrcs = struct.unpack_from(f"!{count}I", data, offset)
    offset += 4 * count
    reason = None
    if offset < end:
        length = data[offset]
        if offset + 1 + length > end:
            raise RtcpParseError("BYE reason runs past the end of its packet")
        reason = _decode_text(data[offset + 1 : offset + 1 + length])
    return Bye(tuple(ssrcs), reason)


# --- serializing ---------------------------------------------------------------------------


def serialize_compound(packets: Iterable[RtcpPacket]) -> bytes:
    """The datagram of these packets, in order, without padding. Section 6.1's order (SR or
    RR first, SDES with a CNAME, BYE last) is the caller's business; `RtcpState` keeps it."""
    return b"".join(serialize_packet(packet) for packet in packets)


def serialize_packet(packet: RtcpPacket) -> bytes:
    if isinstance(packet, SenderReport):
        count = len(packet.reports)
        body = _SENDER_INFO.pack(
            packet.ssrc,
            packet.ntp_timestamp,
            packet.rtp_timestamp,
            packet.packet_count,
            packet.octet_count,
        ) + _serialize_blocks(packet.reports)
        return _with_header(SR, count, body)
    if isinstance(packet, ReceiverReport):
        body = _SSRC.pack(packet.ssrc) + _serialize_blocks(packet.reports)
        return _with_header(RR, len(packet.reports), body)
    if isinstance(packet, SourceDescription):
        parts = []
        for ssrc, items in packet.chunks:
            chunk = bytearray(_SSRC.pack(ssrc))
            for item_type, text in items:
                encoded = text.encode()
                chunk += bytes((item_type, len(encoded))) + encoded
            # One null octet ends the items, more pad the chunk to 32 bits (6.5).
            chunk += bytes(4 - len(chunk) % 4)
            parts.append(bytes(chunk))
        return _with_header(SDES, len(packet.chunks), b"".join(parts))
    if isinstance(packet, Bye):
        body = b"".join(_SSRC.pack(ssrc) for ssrc in packet.ssrcs)
        if packet.reason is not None:
            encoded = packet.reason.encode()
            reason = bytes((len(encoded),)) + encoded
            body += reason + bytes(-len(reason) % 4)
        return _with_header(BYE, len(packet.ssrcs), body)
    if isinstance(packet, UnknownRtcp):
        return _with_header(packet.packet_type, packet.count, packet.body)
    raise TypeError(f"not an RTCP packet: {packet!r}")


def _serialize_blocks(blocks: Sequence[ReportBlock]) -> bytes:
    return b"".join(
        _REPORT_BLOCK.pack(
            block.ssrc,
            (block.fraction_lost << 24) | (block.cumulative_lost & 0xFFFFFF),
            block.highest_sequence,
            block.jitter,
            block.last_sr,
            block.delay_since_last_sr,
        )
        for block in blocks
    )


def _with_header(packet_type: int, count: int, body: bytes) -> bytes:
    return _HEADER.pack(0x80 | count, packet_type, len(body) // 4) + body


# --- timestamps and report blocks ----------------------------------------------------------


def ntp_from_unix(unix_seconds: float) -> int:
    """64-bit NTP timestamp (seconds since 1900 . 32-bit fraction); wraps with the NTP era
    (2036), as the field does."""
    seconds = int(unix_seconds // 1)
    fraction = int((unix_seconds - seconds) * (1 << 32))
    return (((seconds + NTP_UNIX_OFFSET) & _U32) << 32) | min(fraction, _U32)


def unix_from_ntp(ntp: int) -> float:
    """Inverse of `ntp_from_unix` within NTP era 0 (up to 2036)."""
    return (ntp >> 32) - NTP_UNIX_OFFSET + (ntp & _U32) / (1 << 32)


def middle32(ntp: int) -> int:
    """The middle 32 bits of a 64-bit NTP timestamp: 16.16 fixed-point seconds (LSR, 6.4.1)."""
    return (ntp >> 16) & _U32


def report_block(
    stats: RtpReceiverStats,
    last_sr_ntp_middle: int | None,
    last_sr_received_at: float | None,
    now: float,
) -> ReportBlock:
    """The report block about `stats`' source at `now` (6.4.1). It starts a new loss
    interval in `stats` (`fraction_lost_since_last_report`). LSR and DLSR are 0 when no SR
    from that source was heard."""
    if stats.ssrc is None:
        raise ValueError("no source heard yet: nothing to report on")
    if last_sr_ntp_middle is None or last_sr_received_at is None:
        last_sr = delay = 0
    else:
        last_sr = last_sr_ntp_middle & _U32
        delay = min(max(int((now - last_sr_received_at) * 65536), 0), _U32)
    return ReportBlock(
        ssrc=stats.ssrc,
        fraction_lost=stats.fraction_lost_since_last_report(),
        cumulative_lost=stats.cumulative_lost,
        highest_sequence=stats.extended_highest_sequence,
        jitter=min(int(stats.jitter), _U32),
        last_sr=last_sr,
        delay_since_last_sr=delay,
    )


# Two units of 1/65536 s: what truncating A, LSR and DLSR to 16.16 can make an instant
# round trip come out below zero.
_RTT_ROUNDING = 2


def round_trip_time(block: ReportBlock, arrival_ntp_middle: int) -> float | None:
    """Round-trip time in seconds from a report block about our stream, received when our
    NTP clock read `arrival_ntp_middle` (6.4.1: A - LSR - DLSR, modulo 2^32).

    None when the block echoes no SR (LSR 0) or the result is negative, which only a wrong
    DLSR or clock makes happen.
    """
    if block.last_sr == 0:
        return None
    units = (arrival_ntp_middle - block.last_sr - block.delay_since_last_sr) & _U32
    if units >= 1 << 31:
        units -= 1 << 32
        if units < -_RTT_ROUNDING:
            return None
        units = 0
    return units / 65536


# --- report timing and content of one stream -----------------------------------------------

MIN_INTERVAL = 5.0  # seconds (6.2)
RTCP_BANDWIDTH_FRACTION = 0.05  # of the session bandwidth (6.2)
SENDER_BANDWIDTH_FRACTION = 0.25  # of the RTCP bandwidth, for senders (6.2)


def deterministic_interval(
    *,
    members: int,
    senders: int,
    rtcp_bandwidth: float,
    we_sent: bool,
    avg_rtcp_size: float,
    initial: bool,
    min_interval: float = MIN_INTERVAL,
) -> float:
    """Td of section 6.3.1 / A.7 (before randomisation), in seconds.

    `rtcp_bandwidth` in octets per second (5% of the session's); `avg_rtcp_size` in octets,
    IP and UDP headers included. The first report may go after half the minimum (6.2).
    """
    t_min = min_interval / 2 if initial else min_interval
    n = members
    bandwidth = rtcp_bandwidth
    # Senders share a quarter of the RTCP bandwidth when they are at most a quarter of the
    # members, so that their reports (used for lip sync) come often enough.
    if 0 < senders <= members * SENDER_BANDWIDTH_FRACTION:
        if we_sent:
            bandwidth *= SENDER_BANDWIDTH_FRACTION
            n = senders
        else:
            bandwidth *= 1 - SENDER_BANDWIDTH_FRACTION
            n = members - senders
    if bandwidth <= 0:
        return t_min
    return max(avg_rtcp_size * n / bandwidth, t_min)


@dataclass(frozen=True, slots=True)
class LastSenderReport:
    """The last SR heard from the remote source: what the next report block echoes."""

    ssrc: int
    ntp_middle: int
    received_at: float


class RtcpState:
    """The RTCP side of one RTP stream: our `sender` (None: receive only) and the remote
    source's statistics in `receiver` (None: send only).

    The caller arms a timer at `next_report_at`, calls `poll(now)` when it fires and sends
    what it returns; every RTCP datagram received goes to `receive(data, now)`.

    Clocks: `now` is the caller's clock (a monotonic one is best). The NTP timestamp of an SR
    is wall-clock time: `ntp_from_unix(now + wallclock_offset)`, so pass the difference between
    the wall clock and the caller's clock (0.0 when `now` is already Unix time). Round trips
    only need that clock to be steady: the peer echoes our own timestamps.

    Interval (6.2, 6.3.1): the deterministic part times a uniform factor in [0.5, 1.5] from
    `rng`. No timer reconsideration (6.3.6): with two members it would change nothing, so
    there is no 1/(e - 3/2) compensation either.
    """

    def __init__(
        self,
        ssrc: int,
        cname: str,
        now: float,
        *,
        sender: RtpSender | None = None,
        receiver: RtpReceiverStats | None = None,
        rng: random.Random | None = None,
        session_bandwidth: float = 64_000.0,  # bits per second, RTP payload and headers
        min_interval: float = MIN_INTERVAL,
        wallclock_offset: float = 0.0,
    ):
        _check_u32("ssrc", ssrc)
        self.ssrc = ssrc
        self.cname = cname
        self.sender = sender
        self.receiver = receiver
        self._rng = rng or random.SystemRandom()
        self.rtcp_bandwidth = session_bandwidth / 8 * RTCP_BANDWIDTH_FRACTION  # octets/s
        self.min_interval = min_interval
        self.wallclock_offset = wallclock_offset
        self.last_sr: LastSenderReport | None = None
        self.remote_ssrc: int | None = None  # whoever we last heard RTCP from
        self.remote_report: ReportBlock | None = None  # the last block about our stream
        self.round_trip_time: float | None = None  # seconds, from the last such block
        self.bye_received = False
        self._initial = True
        self._packets_at_last_report = 0
        # 6.3.3: start with the probable size of our first packet.
        self.avg_rtcp_size = float(len(self._compound(now, bye=None)) + UDP_IP_OVERHEAD)
        self.next_report_at = now + self._interval(we_sent=False)

    # -- timing --

    def _interval(self, *, we_sent: bool) -> float:
        heard = self.remote_ssrc is not None or (
            self.receiver is not None and self.receiver.ssrc is not None
        )
        remote_sends = self.receiver is not None and self.receiver.valid
        deterministic = deterministic_interval(
            members=2 if heard else 1,
            senders=int(we_sent) + int(remote_sends),
            rtcp_bandwidth=self.rtcp_bandwidth,
            we_sent=we_sent,
            avg_rtcp_size=self.avg_rtcp_size,
            initial=self._initial,
            min_interval=self.min_interval,
        )
        return deterministic * self._rng.uniform(0.5, 1.5)

    def due(self, now: float) -> bool:
        return now >= self.next_report_at

    def poll(self, now: float) -> bytes | None:
        """The report to send now, if one is due (and the next one scheduled)."""
        return self.build_report(now) if self.due(now) else None

    # -- receiving --

    def receive(self, data: bytes | bytearray | memoryview, now: float) -> list[RtcpPacket]:
        """Take in an RTCP datagram from the peer; returns its packets. Raises
        RtcpParseError (the datagram is then ignored entirely)."""
        packets = parse_compound(data)
        self.receive_packets(packets, now, size=len(data))
        return packets

    def receive_packets(self, packets: Sequence[RtcpPacket], now: float, size: int = 0) -> None:
        if size:
            self._average(size)
        for packet in packets:
            if isinstance(packet, SenderReport | ReceiverReport):
                if packet.ssrc == self.ssrc:
                    continue  # our own report looped back (or an SSRC collision, 8.2)
                self.remote_ssrc = packet.ssrc
                if isinstance(packet, SenderReport):
                    self.last_sr = LastSenderReport(
                        packet.ssrc, middle32(packet.ntp_timestamp), now
                    )
                for block in packet.reports:
                    if block.ssrc == self.ssrc:
                        self._remote_block(block, now)
            elif isinstance(packet, Bye):
                remote = {self.remote_ssrc, self.receiver.ssrc if self.receiver else None}
                if remote.intersection(packet.ssrcs):
                    self.bye_received = True

    def _remote_block(self, block: ReportBlock, now: float) -> None:
        self.remote_report = block
        arrival = middle32(ntp_from_unix(now + self.wallclock_offset))
        rtt = round_trip_time(block, arrival)
        if rtt is not None:
            self.round_trip_time = rtt

    def _average(self, size: int) -> None:
        # 6.3.3: avg_rtcp_size = 1/16 * packet_size + 15/16 * avg_rtcp_size
        self.avg_rtcp_size += (size + UDP_IP_OVERHEAD - self.avg_rtcp_size) / 16

    # -- sending --

    def build_report(self, now: float) -> bytes:
        """The compound packet to send at `now`: SR when we sent RTP since the last report,
        else RR; one report block when a valid source is being received; SDES CNAME.
        Starts a new loss interval and schedules the next report."""
        return self._send(now, bye=None)

    def build_bye(self, now: float, reason: str | None = None) -> bytes:
        """The last compound packet of the stream: a report, SDES, then BYE (6.1, 6.6)."""
        return self._send(now, bye=Bye((self.ssrc,), reason))

    def _send(self, now: float, bye: Bye | None) -> bytes:
        sent = self.sender is not None and self.sender.packets != self._packets_at_last_report
        data = self._compound(now, bye, consume=True)
        if self.sender is not None:
            self._packets_at_last_report = self.sender.packets
        self._average(len(data))
        self._initial = False
        self.next_report_at = now + self._interval(we_sent=sent)
        return data

    def _compound(self, now: float, bye: Bye | None, consume: bool = False) -> bytes:
        blocks: tuple[ReportBlock, ...] = ()
        receiver = self.receiver
        if receiver is not None and receiver.valid:
            if consume:
                last_sr = self.last_sr
                if last_sr is not None and last_sr.ssrc == receiver.ssrc:
                    blocks = (report_block(receiver, last_sr.ntp_middle, last_sr.received_at, now),)
                else:
                    blocks = (report_block(receiver, None, None, now),)
            else:  # sizing only: the content does not matter, the interval must not reset
                blocks = (ReportBlock(receiver.ssrc or 0, 0, 0, 0, 0),)
        sender = self.sender
        report: SenderReport | ReceiverReport
        if sender is not None and sender.packets != self._packets_at_last_report:
            report = SenderReport(
                self.ssrc,
                ntp_from_unix(now + self.wallclock_offset),
                sender.rtp_timestamp_at(now),
                sender.packets & _U32,
                sender.octets & _U32,
                blocks,
            )
        else:
            report = ReceiverReport(self.ssrc, blocks)
        packets: list[RtcpPacket] = [report, SourceDescription.cname(self.ssrc, self.cname)]
        if bye is not None:
            packets.append(bye)
        return serialize_compound(packets)
