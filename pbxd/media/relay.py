"""A plain RTP/RTCP relay for one anchored call (asyncio adapter).

Leg A's phone talks to pbxd's port pa, leg B's to pb; every datagram received from one leg
goes out, untouched, from the other leg's socket to that leg. RTCP does the same on the odd
ports. No media engine: no transcoding, no jitter buffer. The media engine replaces this
later behind the same narrow interface (`MediaRelay`, `RelayFactory.create`).

Symmetric RTP (RFC 4961; "comedia"): phones behind NAT send from another address than the one
their SDP names, so each flow latches onto the source of the first valid packet from its leg
and sends back there. It latches again when a packet from another address carries a new
SSRC, or after `set_remote` (a new offer/answer exchange). Packets from another address with
the latched SSRC are stray and dropped. Before a leg has sent anything, its SDP address is
used.

Hot path: per datagram a few integer checks and one `sendto`; the packet is never copied or
parsed. What each flow counts is read through `stats()`.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import ipaddress
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from .ports import PortAllocator
from .sockets import DEFAULT_BIND_ATTEMPTS, bind_pair

log = logging.getLogger(__name__)

Addr = tuple[str, int]

MIN_RTP_SIZE = 12  # fixed RTP header (RFC 3550 section 5.1)
MIN_RTCP_SIZE = 8  # an RR without report blocks (RFC 3550 section 6.4.2)


class Leg(enum.StrEnum):
    A = "a"
    B = "b"

    @property
    def other(self) -> Leg:
        return Leg.B if self is Leg.A else Leg.A


@dataclass(frozen=True)
class LegStats:
    """What arrived from one leg: for leg A, the A->B direction."""

    rtp_packets: int  # forwarded to the other leg
    rtp_bytes: int
    rtcp_packets: int
    rtcp_bytes: int
    dropped_malformed: int  # too short, or RTP version not 2
    dropped_stray: int  # latched SSRC from another address
    dropped_unroutable: int  # the other leg has no address yet (or is on hold, c=0.0.0.0)
    rtp_source: Addr | None  # latched source addresses
    rtcp_source: Addr | None
    last_rtp_at: float | None
    last_rtcp_at: float | None

    @property
    def last_packet_at(self) -> float | None:
        times = [t for t in (self.last_rtp_at, self.last_rtcp_at) if t is not None]
        return max(times) if times else None


class MediaRelay(Protocol):
    """What call control needs from the media path of one anchored call."""

    @property
    def closed(self) -> bool: ...

    def local_port(self, leg: Leg) -> int: ...

    def set_remote(self, leg: Leg, rtp: Addr | None, rtcp: Addr | None = None) -> None: ...

    def last_packet_at(self, leg: Leg) -> float | None: ...

    def stats(self, leg: Leg) -> LegStats: ...

    def close(self) -> None: ...


class _Flow(asyncio.DatagramProtocol):
    """One socket of one leg (RTP or RTCP): receives from that leg, sends to that leg."""

    __slots__ = (
        "name",
        "min_size",
        "ssrc_offset",
        "clock",
        "transport",
        "peer",
        "source",
        "ssrc",
        "locked",
        "send_enabled",
        "sdp_dest",
        "dest",
        "packets",
        "bytes",
        "malformed",
        "stray",
        "unroutable",
        "send_errors",
        "last_at",
    )

    def __init__(self, name: str, *, rtcp: bool, clock: Callable[[], float]):
        self.name = name
        self.min_size = MIN_RTCP_SIZE if rtcp else MIN_RTP_SIZE
        # SSRC of the sender: RTP header bytes 8-11, RTCP packet bytes 4-7.
        self.ssrc_offset = 4 if rtcp else 8
        self.clock = clock
        self.transport: Any = None
        self.peer: _Flow = self
        self.source: Any = None  # latched source address, as the socket reports it
        self.ssrc = b""
        self.locked = False  # a latched source is only replaced by a new SSRC
        self.send_enabled = False
        self.sdp_dest: Addr | None = None
        self.dest: Any = None  # where packets for this leg go: latched source, else SDP
        self.packets = self.bytes = 0
        self.malformed = self.stray = self.unroutable = self.send_errors = 0
        self.last_at: float | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        # RFC 3550 5.1 / 6.4: version 2 in the top bits, at least a fixed header.
        if len(data) < self.min_size or data[0] & 0xC0 != 0x80:
            self.malformed += 1
            if self.malformed == 1:
                log.debug("%s: dropped a malformed datagram from %s", self.name, addr)
            return
        if addr != self.source:
            if self.locked and data.startswith(self.ssrc, self.ssrc_offset):
                self.stray += 1
                return
            self._latch(data, addr)
        elif not data.startswith(self.ssrc, self.ssrc_offset):
            self.ssrc = data[self.ssrc_offset : self.ssrc_offset + 4]
        self.last_at = self.clock()
        peer = self.peer
        if peer.dest is None:
            self.unroutable += 1
            return
        peer.transport.sendto(data, peer.dest)
        self.packets += 1
        self.bytes += len(data)

    def error_received(self, exc: Exception) -> None:
        self.send_errors += 1

    def _latch(self, data: bytes, addr: Any) -> None:
        log.debug("%s: latched to %s (was %s)", self.name, addr, self.source)
        self.source = addr
        self.ssrc = data[self.ssrc_offset : self.ssrc_offset + 4]
        self.locked = True
        if self.send_enabled:
            self.dest = addr

    def set_sdp_dest(self, dest: Addr | None) -> None:
        """A new offer/answer: aim at `dest` and allow one more latch (None: do not send)."""
        self.locked = False
        self.send_enabled = dest is not None
        if dest != self.sdp_dest:
            self.source = None
            self.ssrc = b""
        self.sdp_dest = dest
        self.dest = (self.source or dest) if self.send_enabled else None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class RtpRelay:
    """Relays RTP and RTCP between the two legs of one call. Create with `RtpRelay.open`."""

    def __init__(self, bind_ip: str, allocator: PortAllocator, clock: Callable[[], float]):
        self.bind_ip = bind_ip
        ipv6 = ipaddress.ip_address(bind_ip).version == 6
        self._family = socket.AF_INET6 if ipv6 else socket.AF_INET
        self._allocator = allocator
        self._ports: dict[Leg, int] = {}
        self._rtp = {leg: _Flow(f"rtp-{leg}", rtcp=False, clock=clock) for leg in Leg}
        self._rtcp = {leg: _Flow(f"rtcp-{leg}", rtcp=True, clock=clock) for leg in Leg}
        for flows in (self._rtp, self._rtcp):
            flows[Leg.A].peer, flows[Leg.B].peer = flows[Leg.B], flows[Leg.A]
        self._closed = False

    @classmethod
    async def open(
        cls,
        bind_ip: str,
        allocator: PortAllocator,
        *,
        clock: Callable[[], float] | None = None,
        bind_attempts: int = DEFAULT_BIND_ATTEMPTS,
    ) -> RtpRelay:
        """Bind an RTP/RTCP pair for each leg on `bind_ip`, with ports from `allocator`.

        A pair that cannot be bound goes back to the allocator and another is tried, up to
        `bind_attempts` per leg. Raises `PortsExhausted` or `RelayBindError` (both 503).
        """
        loop = asyncio.get_running_loop()
        relay = cls(bind_ip, allocator, clock or loop.time)
        try:
            for leg in Leg:
                await relay._open_leg(leg, bind_attempts)
        except BaseException:
            relay.close()
            raise
        return relay

    async def _open_leg(self, leg: Leg, attempts: int) -> None:
        loop = asyncio.get_running_loop()
        port, rtp, rtcp = await bind_pair(self.bind_ip, self._allocator, attempts)
        self._ports[leg] = port
        for sock, flow in ((rtp, self._rtp[leg]), (rtcp, self._rtcp[leg])):
            await loop.create_datagram_endpoint(functools.partial(_same, flow), sock=sock)

    @property
    def closed(self) -> bool:
        return self._closed

    def local_port(self, leg: Leg) -> int:
        """pbxd's RTP port facing `leg` (to write in that leg's SDP); RTCP is this + 1."""
        return self._ports[leg]

    def set_remote(self, leg: Leg, rtp: Addr | None, rtcp: Addr | None = None) -> None:
        """The RTP address `leg` gave in its SDP (`media_endpoint`), None when on hold.

        RTCP goes to `rtcp`, by default the RTP port + 1. Both are IP literals of the relay's
        address family. The flows of the leg may latch again on the next packet.
        """
        if rtp is not None:
            self._check_addr(rtp)
            rtcp = rtcp if rtcp is not None else (rtp[0], rtp[1] + 1)
            self._check_addr(rtcp)
        else:
            rtcp = None
        self._rtp[leg].set_sdp_dest(rtp)
        self._rtcp[leg].set_sdp_dest(rtcp)

    def _check_addr(self, addr: Addr) -> None:
        host, port = addr
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"media address {host!r} is not an IP literal") from None
        if (ip.version == 6) != (self._family == socket.AF_INET6):
            raise ValueError(f"media address {host} is not reachable from {self.bind_ip}")
        if not 0 < port < 65536:
            raise ValueError(f"media port {port} out of range")

    def last_packet_at(self, leg: Leg) -> float | None:
        """Clock time of the last valid RTP or RTCP packet from `leg` (None: never)."""
        return self.stats(leg).last_packet_at

    def stats(self, leg: Leg) -> LegStats:
        rtp, rtcp = self._rtp[leg], self._rtcp[leg]
        return LegStats(
            rtp_packets=rtp.packets,
            rtp_bytes=rtp.bytes,
            rtcp_packets=rtcp.packets,
            rtcp_bytes=rtcp.bytes,
            dropped_malformed=rtp.malformed + rtcp.malformed,
            dropped_stray=rtp.stray + rtcp.stray,
            dropped_unroutable=rtp.unroutable + rtcp.unroutable,
            rtp_source=_host_port(rtp.source),
            rtcp_source=_host_port(rtcp.source),
            last_rtp_at=rtp.last_at,
            last_rtcp_at=rtcp.last_at,
        )

    def close(self) -> None:
        """Close the sockets and give the ports back; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        for flows in (self._rtp, self._rtcp):
            for flow in flows.values():
                flow.close()
        for port in self._ports.values():
            self._allocator.release(port)
        self._ports.clear()


def _same(flow: _Flow) -> _Flow:
    return flow


def _host_port(addr: Any) -> Addr | None:
    # IPv6 sockets report (host, port, flowinfo, scope_id).
    return None if addr is None else (addr[0], addr[1])


class RelayFactory:
    """Makes the relay of each anchored call: `await factory.create()`."""

    def __init__(
        self,
        bind_ip: str,
        allocator: PortAllocator,
        *,
        clock: Callable[[], float] | None = None,
        bind_attempts: int = DEFAULT_BIND_ATTEMPTS,
    ):
        ipaddress.ip_address(bind_ip)  # ValueError for anything but an IP literal
        self.bind_ip = bind_ip
        self.allocator = allocator
        self._clock = clock
        self._bind_attempts = bind_attempts

    async def create(self) -> RtpRelay:
        return await RtpRelay.open(
            self.bind_ip, self.allocator, clock=self._clock, bind_attempts=self._bind_attempts
        )
