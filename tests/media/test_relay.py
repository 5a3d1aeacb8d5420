"""The RTP relay on real UDP sockets on loopback: two fake phones talk through it."""

from __future__ import annotations

import asyncio
import os
import socket
import struct

import pytest

from pbxd.media.anchor import AnchoredSession, media_endpoint
from pbxd.media.ports import PortAllocator, PortsExhausted
from pbxd.media.relay import Leg, MediaRelay, RelayFactory, RtpRelay
from pbxd.sip.sdp import SessionDescription

LOOPBACK = "127.0.0.1"
TIMEOUT = 5.0


def port_range(pairs: int = 8) -> tuple[int, int]:
    """A small range below the ephemeral ports, varied per process to dodge parallel runs."""
    low = 20000 + (os.getpid() % 400) * 24
    return low, low + 2 * pairs - 1


def rtp(seq: int, ssrc: int = 0x11223344, payload: bytes = b"\xd5" * 160, pt: int = 8) -> bytes:
    # RFC 3550 5.1 fixed header: V=2, no padding/extension/CSRC, marker 0.
    return struct.pack("!BBHII", 0x80, pt, seq & 0xFFFF, seq * 160, ssrc) + payload


def rtcp_rr(ssrc: int) -> bytes:
    # An empty receiver report: V=2, RC=0, PT=201, length 1 (RFC 3550 6.4.2).
    return struct.pack("!BBHI", 0x80, 201, 1, ssrc)


class Phone(asyncio.DatagramProtocol):
    """A fake endpoint: one UDP socket, a queue of what it receives."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[bytes, tuple]] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.received.put_nowait((data, addr))

    @property
    def addr(self) -> tuple[str, int]:
        return self.transport.get_extra_info("sockname")[:2]

    def send(self, data: bytes, to: tuple[str, int]) -> None:
        self.transport.sendto(data, to)

    async def receive(self, count: int) -> list[tuple[bytes, tuple]]:
        return [await asyncio.wait_for(self.received.get(), TIMEOUT) for _ in range(count)]

    async def nothing_more(self, wait: float = 0.1) -> bool:
        await asyncio.sleep(wait)
        return self.received.empty()

    def close(self) -> None:
        self.transport.close()


# Sockets and relays of the running test, closed however the test ends.
_open: list[Phone | RtpRelay] = []


async def open_phone(host: str = LOOPBACK, port: int = 0) -> Phone:
    loop = asyncio.get_running_loop()
    _, phone = await loop.create_datagram_endpoint(Phone, local_addr=(host, port))
    _open.append(phone)
    return phone


async def open_relay(bind_ip: str, allocator: PortAllocator, **kwargs) -> RtpRelay:
    relay = await RtpRelay.open(bind_ip, allocator, **kwargs)
    _open.append(relay)
    return relay


def run(coro):
    async def bounded():
        try:
            return await asyncio.wait_for(coro, 20)
        finally:
            while _open:
                _open.pop().close()
            await asyncio.sleep(0)

    return asyncio.run(bounded())


async def talk(sender: Phone, to: tuple[str, int], receiver: Phone, packets: list[bytes]):
    """Send packets a few at a time (no burst bigger than a socket buffer), collect them."""
    got: list[bytes] = []
    for start in range(0, len(packets), 10):
        batch = packets[start : start + 10]
        for packet in batch:
            sender.send(packet, to)
        got += [data for data, _ in await receiver.receive(len(batch))]
    return got


def test_audio_flows_both_ways_unchanged():
    async def scenario():
        allocator = PortAllocator(*port_range())
        relay: MediaRelay = await RelayFactory(LOOPBACK, allocator).create()
        _open.append(relay)
        phone_a, phone_b = await open_phone(), await open_phone()
        relay.set_remote(Leg.A, phone_a.addr)
        relay.set_remote(Leg.B, phone_b.addr)
        port_a, port_b = relay.local_port(Leg.A), relay.local_port(Leg.B)
        assert port_a % 2 == 0 and port_b % 2 == 0 and port_a != port_b

        a_to_b = [rtp(i, 0xAAAA0001, bytes([i]) * 160) for i in range(50)]
        b_to_a = [rtp(i, 0xBBBB0002, bytes([255 - i]) * 80, pt=0) for i in range(50)]
        assert await talk(phone_a, (LOOPBACK, port_a), phone_b, a_to_b) == a_to_b
        assert await talk(phone_b, (LOOPBACK, port_b), phone_a, b_to_a) == b_to_a

        # Each phone sees the media coming from pbxd's port facing it (symmetric RTP).
        phone_a.send(rtp(99, 0xAAAA0001), (LOOPBACK, port_a))
        ((_, source),) = await phone_b.receive(1)
        assert source[:2] == (LOOPBACK, port_b)

        stats_a, stats_b = relay.stats(Leg.A), relay.stats(Leg.B)
        assert (stats_a.rtp_packets, stats_a.rtp_bytes) == (51, 51 * 172)
        assert (stats_b.rtp_packets, stats_b.rtp_bytes) == (50, 50 * 92)
        assert stats_a.dropped_malformed == stats_b.dropped_malformed == 0
        assert stats_a.rtp_source == phone_a.addr
        assert relay.last_packet_at(Leg.A) is not None
        relay.close()
        phone_a.close()
        phone_b.close()

    run(scenario())


def test_rtcp_goes_through_the_odd_ports():
    async def scenario():
        relay = await open_relay(LOOPBACK, PortAllocator(*port_range()))
        phone_a, phone_b = await open_phone(), await open_phone()
        # The phones' RTCP sockets: SDP says RTP at X, so RTCP at X + 1 by default;
        # here each phone declares its RTCP socket explicitly (a=rtcp).
        rtcp_a, rtcp_b = await open_phone(), await open_phone()
        relay.set_remote(Leg.A, phone_a.addr, rtcp_a.addr)
        relay.set_remote(Leg.B, phone_b.addr, rtcp_b.addr)

        report = rtcp_rr(0xAAAA0001)
        rtcp_a.send(report, (LOOPBACK, relay.local_port(Leg.A) + 1))
        ((data, source),) = await rtcp_b.receive(1)
        assert data == report
        assert source[:2] == (LOOPBACK, relay.local_port(Leg.B) + 1)
        assert await phone_b.nothing_more()  # not on the RTP socket
        stats = relay.stats(Leg.A)
        assert (stats.rtcp_packets, stats.rtcp_bytes, stats.rtp_packets) == (1, 8, 0)
        relay.close()
        for phone in (phone_a, phone_b, rtcp_a, rtcp_b):
            phone.close()

    run(scenario())


def test_latches_to_the_real_source_not_the_sdp_address():
    async def scenario():
        relay = await open_relay(LOOPBACK, PortAllocator(*port_range()))
        phone_b = await open_phone()
        sdp_socket = await open_phone()  # what A's SDP says (a private address behind NAT)
        nat_socket = await open_phone()  # where A's packets really come from
        relay.set_remote(Leg.A, sdp_socket.addr)
        relay.set_remote(Leg.B, phone_b.addr)
        port_a, port_b = relay.local_port(Leg.A), relay.local_port(Leg.B)

        # Before A has sent anything, B's audio goes where A's SDP says.
        phone_b.send(rtp(1, 0xB), (LOOPBACK, port_b))
        ((data, _),) = await sdp_socket.receive(1)
        assert data == rtp(1, 0xB)

        # A's first packet comes from elsewhere: the relay latches to it.
        assert await talk(nat_socket, (LOOPBACK, port_a), phone_b, [rtp(1, 0xA)]) == [rtp(1, 0xA)]
        assert relay.stats(Leg.A).rtp_source == nat_socket.addr
        back = [rtp(i, 0xB) for i in range(2, 12)]
        assert await talk(phone_b, (LOOPBACK, port_b), nat_socket, back) == back
        assert await sdp_socket.nothing_more()
        for sock in (phone_b, sdp_socket, nat_socket):
            sock.close()
        relay.close()

    run(scenario())


def test_relatches_on_new_ssrc_but_drops_a_stray_source_with_the_old_one():
    async def scenario():
        relay = await open_relay(LOOPBACK, PortAllocator(*port_range()))
        phone_a, phone_b, intruder, moved = [await open_phone() for _ in range(4)]
        relay.set_remote(Leg.A, phone_a.addr)
        relay.set_remote(Leg.B, phone_b.addr)
        port_a, port_b = relay.local_port(Leg.A), relay.local_port(Leg.B)
        await talk(phone_a, (LOOPBACK, port_a), phone_b, [rtp(1, 0xA)])

        # Same SSRC from another address: dropped, the latch holds.
        intruder.send(rtp(2, 0xA), (LOOPBACK, port_a))
        assert await phone_b.nothing_more()
        assert relay.stats(Leg.A).dropped_stray == 1
        assert await talk(phone_b, (LOOPBACK, port_b), phone_a, [rtp(1, 0xB)]) == [rtp(1, 0xB)]

        # A new SSRC from a new address (the phone moved, or a new stream): latch again.
        assert await talk(moved, (LOOPBACK, port_a), phone_b, [rtp(1, 0xA2)]) == [rtp(1, 0xA2)]
        assert await talk(phone_b, (LOOPBACK, port_b), moved, [rtp(2, 0xB)]) == [rtp(2, 0xB)]
        assert await phone_a.nothing_more()
        assert relay.stats(Leg.A).rtp_source == moved.addr
        for sock in (phone_a, phone_b, intruder, moved):
            sock.close()
        relay.close()

    run(scenario())


def test_set_remote_again_allows_relatching_with_the_same_ssrc():
    async def scenario():
        relay = await open_relay(LOOPBACK, PortAllocator(*port_range()))
        phone_a, phone_b, new_a = [await open_phone() for _ in range(3)]
        relay.set_remote(Leg.A, phone_a.addr)
        relay.set_remote(Leg.B, phone_b.addr)
        port_a, port_b = relay.local_port(Leg.A), relay.local_port(Leg.B)
        await talk(phone_a, (LOOPBACK, port_a), phone_b, [rtp(1, 0xA)])

        # A re-INVITE from A with a new address; A keeps its SSRC.
        relay.set_remote(Leg.A, new_a.addr)
        assert await talk(phone_b, (LOOPBACK, port_b), new_a, [rtp(1, 0xB)]) == [rtp(1, 0xB)]
        await talk(new_a, (LOOPBACK, port_a), phone_b, [rtp(2, 0xA)])
        assert relay.stats(Leg.A).rtp_source == new_a.addr
        assert relay.stats(Leg.A).dropped_stray == 0
        for sock in (phone_a, phone_b, new_a):
            sock.close()
        relay.close()

    run(scenario())


def test_garbage_is_dropped_and_counted_while_the_call_keeps_flowing():
    async def scenario():
        relay = await open_relay(LOOPBACK, PortAllocator(*port_range()))
        phone_a, phone_b, attacker = [await open_phone() for _ in range(3)]
        relay.set_remote(Leg.A, phone_a.addr)
        relay.set_remote(Leg.B, phone_b.addr)
        port_a = relay.local_port(Leg.A)
        garbage = [
            b"\x80",  # (asyncio does not send empty datagrams)
            b"hello",
            b"\x80" * 11,  # one byte short of a header
            b"\x00" * 40,  # version 0
            b"\x40" + b"\x00" * 20,  # version 1
            b"\xc0" + b"\x00" * 20,  # version 3
            b"GET / HTTP/1.1\r\n\r\n",
        ]
        packets = []
        for i in range(20):
            packets.append(rtp(i, 0xA))
            junk = garbage[i % len(garbage)]
            phone_a.send(junk, (LOOPBACK, port_a))
            attacker.send(junk, (LOOPBACK, port_a))
        assert await talk(phone_a, (LOOPBACK, port_a), phone_b, packets) == packets
        assert await phone_b.nothing_more()
        # RTCP port: a short packet is dropped too.
        phone_a.send(b"\x80\xc9\x00", (LOOPBACK, port_a + 1))
        await asyncio.sleep(0.05)
        stats = relay.stats(Leg.A)
        assert stats.dropped_malformed == 41
        assert stats.rtp_packets == 20
        assert stats.rtp_source == phone_a.addr  # garbage never latches
        for sock in (phone_a, phone_b, attacker):
            sock.close()
        relay.close()

    run(scenario())


def test_packets_for_a_leg_without_address_or_on_hold_are_dropped():
    async def scenario():
        relay = await open_relay(LOOPBACK, PortAllocator(*port_range()))
        phone_a, phone_b = await open_phone(), await open_phone()
        port_a, port_b = relay.local_port(Leg.A), relay.local_port(Leg.B)
        relay.set_remote(Leg.A, phone_a.addr)

        # B has not answered yet: A's early packets have nowhere to go.
        phone_a.send(rtp(1, 0xA), (LOOPBACK, port_a))
        await asyncio.sleep(0.05)
        assert relay.stats(Leg.A).dropped_unroutable == 1

        relay.set_remote(Leg.B, phone_b.addr)
        assert await talk(phone_b, (LOOPBACK, port_b), phone_a, [rtp(1, 0xB)]) == [rtp(1, 0xB)]

        # A goes on hold with c=0.0.0.0: nothing is sent to A, A's packets still reach B.
        relay.set_remote(Leg.A, None)
        phone_b.send(rtp(2, 0xB), (LOOPBACK, port_b))
        assert await phone_a.nothing_more()
        assert relay.stats(Leg.B).dropped_unroutable == 1
        assert await talk(phone_a, (LOOPBACK, port_a), phone_b, [rtp(3, 0xA)]) == [rtp(3, 0xA)]
        phone_b.send(rtp(3, 0xB), (LOOPBACK, port_b))
        assert await phone_a.nothing_more()

        # Resume.
        relay.set_remote(Leg.A, phone_a.addr)
        assert await talk(phone_b, (LOOPBACK, port_b), phone_a, [rtp(4, 0xB)]) == [rtp(4, 0xB)]
        for sock in (phone_a, phone_b):
            sock.close()
        relay.close()

    run(scenario())


def test_last_packet_at_uses_the_given_clock_per_leg():
    async def scenario():
        now = [100.0]
        relay = await open_relay(LOOPBACK, PortAllocator(*port_range()), clock=lambda: now[0])
        phone_a, phone_b = await open_phone(), await open_phone()
        relay.set_remote(Leg.A, phone_a.addr)
        relay.set_remote(Leg.B, phone_b.addr)
        assert relay.last_packet_at(Leg.A) is None
        await talk(phone_a, (LOOPBACK, relay.local_port(Leg.A)), phone_b, [rtp(1)])
        now[0] = 130.5
        await talk(phone_b, (LOOPBACK, relay.local_port(Leg.B)), phone_a, [rtp(1, 0xB)])
        assert relay.last_packet_at(Leg.A) == 100.0
        assert relay.last_packet_at(Leg.B) == 130.5
        phone_a.close()
        phone_b.close()
        relay.close()

    run(scenario())


def test_close_frees_the_ports_and_the_sockets():
    async def scenario():
        allocator = PortAllocator(*port_range())
        relay = await open_relay(LOOPBACK, allocator)
        ports = [relay.local_port(Leg.A), relay.local_port(Leg.B)]
        assert allocator.in_use == 2
        relay.close()
        relay.close()  # harmless twice
        assert relay.closed
        assert allocator.in_use == 0
        await asyncio.sleep(0)  # asyncio closes the sockets on the next loop turn
        for port in ports:
            for offset in (0, 1):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                    sock.bind((LOOPBACK, port + offset))

    run(scenario())


def test_busy_port_is_skipped_and_given_back():
    async def scenario():
        low, high = port_range()
        allocator = PortAllocator(low, high)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
            squatter.bind((LOOPBACK, low + 1))  # the RTCP port of the first pair
            relay = await open_relay(LOOPBACK, allocator)
            assert low not in (relay.local_port(Leg.A), relay.local_port(Leg.B))
            assert allocator.in_use == 2
            assert not allocator.is_allocated(low)
            relay.close()

    run(scenario())


def test_exhausted_ports_refuse_the_relay_without_leaking():
    async def scenario():
        low, _ = port_range()
        allocator = PortAllocator(low, low + 3)  # two pairs: one call
        first = await open_relay(LOOPBACK, allocator)
        with pytest.raises(PortsExhausted) as info:
            await open_relay(LOOPBACK, allocator)
        assert info.value.status == 503
        assert allocator.in_use == 2
        first.close()
        second = await open_relay(LOOPBACK, allocator)
        second.close()
        assert allocator.in_use == 0

    run(scenario())


def test_ipv6_loopback():
    async def scenario():
        relay = await RelayFactory("::1", PortAllocator(*port_range())).create()
        _open.append(relay)
        phone_a, phone_b = await open_phone("::1"), await open_phone("::1")
        relay.set_remote(Leg.A, phone_a.addr)
        relay.set_remote(Leg.B, phone_b.addr)
        sent = [rtp(i, 0x6) for i in range(10)]
        assert await talk(phone_a, ("::1", relay.local_port(Leg.A)), phone_b, sent) == sent
        assert relay.stats(Leg.A).rtp_source == phone_a.addr
        with pytest.raises(ValueError):
            relay.set_remote(Leg.A, (LOOPBACK, 5004))  # wrong family
        phone_a.close()
        phone_b.close()
        relay.close()

    run(scenario())


def test_set_remote_wants_ip_literals():
    async def scenario():
        relay = await open_relay(LOOPBACK, PortAllocator(*port_range()))
        with pytest.raises(ValueError):
            relay.set_remote(Leg.A, ("phone.example.com", 5004))
        with pytest.raises(ValueError):
            relay.set_remote(Leg.A, (LOOPBACK, 0))
        relay.close()

    run(scenario())


def test_anchored_call_wired_like_the_b2bua_will():
    """SDP from each phone, rewritten by AnchoredSession, steers the relay end to end."""

    async def scenario():
        relay = await open_relay(LOOPBACK, PortAllocator(*port_range()))
        phone_a, phone_b = await open_phone(), await open_phone()
        leg_a = AnchoredSession(
            local_ip=LOOPBACK, local_port=relay.local_port(Leg.A), session_id=11
        )
        leg_b = AnchoredSession(
            local_ip=LOOPBACK, local_port=relay.local_port(Leg.B), session_id=22
        )

        def phone_sdp(phone: Phone, codecs: str) -> SessionDescription:
            host, port = phone.addr
            body = (
                f"v=0\r\no=- 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
                f"m=audio {port} RTP/AVP {codecs}\r\na=rtpmap:101 telephone-event/8000\r\n"
            )
            return SessionDescription.parse(body.encode())

        offer_a = phone_sdp(phone_a, "0 8 101")
        offer_b = leg_b.make_offer(offer_a)  # goes to B in the INVITE
        answer_b = phone_sdp(phone_b, "8 101")  # B's 200 OK
        answer_a = leg_a.make_answer(offer_a, answer_b)  # goes to A in the 200 OK
        relay.set_remote(Leg.A, media_endpoint(offer_a))
        relay.set_remote(Leg.B, media_endpoint(answer_b))

        # Each phone sends where the SDP it received tells it to.
        to_b, to_a = media_endpoint(answer_a), media_endpoint(offer_b)
        voice = [rtp(i, 0xA, pt=8) for i in range(5)]
        assert await talk(phone_a, to_b, phone_b, voice) == voice
        reply = [rtp(i, 0xB, pt=8) for i in range(5)]
        assert await talk(phone_b, to_a, phone_a, reply) == reply

    run(scenario())
