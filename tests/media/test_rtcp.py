"""RTCP packets, compound parsing, report blocks, round-trip time and report timing
(RFC 3550 section 6)."""

from __future__ import annotations

import random
import struct

import pytest

from pbxd.media.rtcp import (
    Bye,
    ReceiverReport,
    ReportBlock,
    RtcpParseError,
    RtcpState,
    SdesItem,
    SenderReport,
    SourceDescription,
    UnknownRtcp,
    deterministic_interval,
    middle32,
    ntp_from_unix,
    parse_compound,
    report_block,
    round_trip_time,
    serialize_compound,
    unix_from_ntp,
)
from pbxd.media.rtp import RtpPacket, RtpReceiverStats, RtpSender

PHONE_SSRC = 0x11223344
OUR_SSRC = 0xAABBCCDD

# What a desk phone sends every few seconds: RR with one report block, then SDES CNAME.
PHONE_RR_SDES = (
    bytes.fromhex(
        # RR: V=2 RC=1, PT 201, length 7 (32 octets)
        "81 c9 0007 11223344"
        # block about OUR_SSRC: fraction 10/256, 5 lost, highest 0x0001002a (one wrap),
        # jitter 20, LSR 0xb7052000, DLSR 0x00054000 (5.25 s)
        " aabbccdd 0a000005 0001002a 00000014 b7052000 00054000"
        # SDES: V=2 SC=1, PT 202, length 5 (24 octets); CNAME "user@10.0.0.5" (13), one null
        " 81 ca 0005 11223344 01 0d"
    )
    + b"user@10.0.0.5"
    + b"\x00"
)

PHONE_BLOCK = ReportBlock(
    ssrc=OUR_SSRC,
    fraction_lost=10,
    cumulative_lost=5,
    highest_sequence=0x1002A,
    jitter=20,
    last_sr=0xB7052000,
    delay_since_last_sr=0x00054000,
)


# --- packets -------------------------------------------------------------------------------


def test_parse_a_phones_rr_and_sdes():
    packets = parse_compound(PHONE_RR_SDES, strict=True)
    assert packets == [
        ReceiverReport(PHONE_SSRC, (PHONE_BLOCK,)),
        SourceDescription(((PHONE_SSRC, ((SdesItem.CNAME, "user@10.0.0.5"),)),)),
    ]
    assert packets[1].cnames() == {PHONE_SSRC: "user@10.0.0.5"}
    assert serialize_compound(packets) == PHONE_RR_SDES


def test_parse_a_hand_built_sender_report():
    data = (
        bytes.fromhex("80 c8 0006")  # SR, RC=0, length 6 (28 octets)
        + struct.pack("!I", PHONE_SSRC)
        + bytes.fromhex("b44db705 20000000")  # NTP: 10 Nov 1995 11:33:25.125 UTC
        + struct.pack("!III", 123456, 50, 8000)  # RTP timestamp, packets, octets
    )
    (sr,) = parse_compound(data)
    assert sr == SenderReport(PHONE_SSRC, 0xB44DB70520000000, 123456, 50, 8000)
    assert unix_from_ntp(sr.ntp_timestamp) == 816003205.125
    assert serialize_compound([sr]) == data


def test_negative_cumulative_loss_is_signed_24_bit():
    data = bytearray(PHONE_RR_SDES)
    data[12:16] = bytes.fromhex("00ffffff")  # block at 8, after its SSRC: fraction 0, lost -1
    rr = parse_compound(bytes(data))[0]
    assert rr.reports[0].cumulative_lost == -1
    assert rr.reports[0].fraction_lost == 0
    assert serialize_compound([rr]) == bytes(data[:32])
    block = ReportBlock(1, 255, -(2**23), 0, 0)
    assert parse_compound(serialize_compound([ReceiverReport(2, (block,))]))[0].reports == (block,)


@pytest.mark.parametrize(
    "packet",
    [
        SenderReport(1, 2**64 - 1, 2**32 - 1, 7, 1120),
        SenderReport(1, 5, 6, 7, 8, tuple(ReportBlock(i, i, -i, i, i, i, i) for i in range(31))),
        ReceiverReport(9),
        ReceiverReport(9, (PHONE_BLOCK, ReportBlock(3, 0, 8388607, 2**32 - 1, 0))),
        SourceDescription.cname(5, "pbxd@192.168.1.2"),
        SourceDescription(()),
        SourceDescription(((1, ()),)),  # a chunk with no items: four null octets
        SourceDescription(
            (
                (
                    1,
                    (
                        (SdesItem.CNAME, "a@b"),
                        (SdesItem.NAME, "坐席 7"),
                        (SdesItem.TOOL, "x" * 255),
                    ),
                ),
                (2, ((SdesItem.CNAME, "abc"),)),  # 4+2+3 = 9 octets, padded to 12
                (3, ((SdesItem.NOTE, ""),)),
            )
        ),
        Bye((PHONE_SSRC,)),
        Bye((1, 2, 3), "call ended"),
        Bye((), ""),
        Bye((4,), "r" * 255),
        UnknownRtcp(204, 3, b"\x00\x00\x00\x01name\x01\x02\x03\x04"),  # APP
        UnknownRtcp(206, 1, bytes(8)),  # PSFB PLI: sender SSRC, media SSRC
        UnknownRtcp(207, 0, b""),
    ],
)
def test_round_trip(packet):
    data = serialize_compound([packet])
    assert len(data) % 4 == 0
    assert struct.unpack_from("!H", data, 2)[0] == len(data) // 4 - 1
    assert parse_compound(data) == [packet]


def test_compound_round_trip_keeps_order():
    packets = [
        SenderReport(OUR_SSRC, ntp_from_unix(1.7e9), 160, 1, 160, (PHONE_BLOCK,)),
        SourceDescription.cname(OUR_SSRC, "pbxd@10.0.0.1"),
        UnknownRtcp(205, 1, bytes(8)),
        Bye((OUR_SSRC,), "hangup"),
    ]
    assert parse_compound(serialize_compound(packets), strict=True) == packets


def test_padding_on_the_last_packet_is_stripped():
    data = bytearray(PHONE_RR_SDES)
    sdes = 32
    data[sdes] |= 0x20  # P bit on the SDES
    data[sdes + 2 : sdes + 4] = struct.pack("!H", 5 + 1)
    data += b"\x00\x00\x00\x04"
    packets = parse_compound(bytes(data), strict=True)
    assert packets == parse_compound(PHONE_RR_SDES)


def test_non_utf8_sdes_text_does_not_drop_the_packet():
    data = bytes.fromhex("81 ca 0003 00000001 02 05") + b"Jos\xe9 " + b"\x00"
    (sdes,) = parse_compound(data)
    assert sdes.chunks == ((1, ((SdesItem.NAME, "Jos\ufffd "),)),)


def test_long_non_utf8_sdes_and_bye_text_still_fits_an_item():
    # 255 invalid octets decode to 255 x U+FFFD = 765 octets of UTF-8: cut back to 255.
    item = bytes([SdesItem.NAME, 255]) + b"\xff" * 255
    chunk = struct.pack("!I", 1) + item + b"\x00"
    chunk += bytes(-len(chunk) % 4)
    bye_body = struct.pack("!I", 1) + b"\xff" + b"\xfe" * 255
    data = struct.pack("!BBH", 0x81, 202, len(chunk) // 4) + chunk
    data += struct.pack("!BBH", 0x81, 203, len(bye_body) // 4) + bye_body
    sdes, bye = parse_compound(data)
    assert sdes.chunks[0][1][0] == (SdesItem.NAME, "\ufffd" * 85)
    assert bye.reason == "\ufffd" * 85
    assert parse_compound(serialize_compound([sdes, bye])) == [sdes, bye]


def test_sdes_chunk_with_extra_null_padding():
    # A phone that pads a 4-octet-aligned item list with a whole word of nulls.
    data = bytes.fromhex("81 ca 0003 00000001 01 02 6162 00000000")
    assert parse_compound(data) == [SourceDescription.cname(1, "ab")]


def test_profile_extensions_after_report_blocks_are_skipped():
    data = bytes.fromhex("80 c9 0002 00000001 deadbeef")  # RR, RC=0, one extension word
    assert parse_compound(data) == [ReceiverReport(1)]


def test_lenient_by_default_strict_on_request():
    sdes_first = serialize_compound([SourceDescription.cname(1, "x"), ReceiverReport(1)])
    assert len(parse_compound(sdes_first)) == 2
    with pytest.raises(RtcpParseError, match="SR or RR"):
        parse_compound(sdes_first, strict=True)
    lone_pli = serialize_compound([UnknownRtcp(206, 1, bytes(8))])  # RFC 5506 reduced size
    assert parse_compound(lone_pli) == [UnknownRtcp(206, 1, bytes(8))]
    # padding on the first of two packets
    padded_first = bytearray(serialize_compound([ReceiverReport(1, ()), ReceiverReport(2)]))
    padded_first[0] |= 0x20
    padded_first[1 * 4 + 3] = 4  # the RR's SSRC word doubles as 4 octets of padding
    with pytest.raises(RtcpParseError, match="padding"):
        parse_compound(bytes(padded_first), strict=True)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "shorter"),
        (b"\x81\xc9\x00", "shorter"),
        (bytes.fromhex("40 c9 0001 00000001"), "version"),
        (bytes.fromhex("80 c9 0001 00000001") + bytes.fromhex("00 c9 0001 00000001"), "version"),
        (bytes.fromhex("80 c9 0002 00000001"), "claims"),  # length past the end
        (bytes.fromhex("80 c9 0001 00000001 80"), "stray"),
        (bytes.fromhex("81 c9 0001 00000001"), "RR with 1"),
        (bytes.fromhex("81 c8 0006") + bytes(24), "SR with 1"),
        (bytes.fromhex("80 c8 0005") + bytes(20), "SR with 0"),
        (bytes.fromhex("81 ca 0001 00000001"), "terminating"),  # no null octet
        (bytes.fromhex("81 ca 0002 00000001 0105 6162"), "runs past"),  # item too long
        (bytes.fromhex("81 ca 0002 00000001 0201 6101"), "runs past"),  # no length octet
        (bytes.fromhex("82 ca 0002 00000001 00000000"), "chunk runs past"),
        (bytes.fromhex("82 cb 0001 00000001"), "BYE with 2"),
        (bytes.fromhex("81 cb 0002 00000001 09616263"), "reason"),
        (bytes.fromhex("a0 c9 0001 00000000"), "padding"),  # count 0
        (bytes.fromhex("a0 c9 0001 00000009"), "padding"),  # more than the body
        (bytes.fromhex("a0 cc 0001 00000003"), "whole"),  # body left not whole words
    ],
)
def test_malformed_compounds_raise_rtcp_parse_error(data, why):
    with pytest.raises(RtcpParseError, match=why):
        parse_compound(data)


def test_invalid_values_are_refused_when_built():
    with pytest.raises(ValueError):
        ReportBlock(1, 256, 0, 0, 0)
    with pytest.raises(ValueError):
        ReportBlock(1, 0, 2**23, 0, 0)
    with pytest.raises(ValueError):
        ReceiverReport(1, (PHONE_BLOCK,) * 32)
    with pytest.raises(ValueError):
        SenderReport(1, 2**64, 0, 0, 0)
    with pytest.raises(ValueError):
        SourceDescription.cname(1, "x" * 256)
    with pytest.raises(ValueError):
        SourceDescription(((1, ((0, "end is not an item"),)),))
    with pytest.raises(ValueError):
        Bye((1,), "é" * 128)  # 256 octets
    with pytest.raises(ValueError):
        UnknownRtcp(204, 0, b"abc")
    with pytest.raises(TypeError):
        serialize_compound([object()])  # type: ignore[list-item]


# --- NTP timestamps and round-trip time (6.4.1) --------------------------------------------


def test_ntp_conversions():
    assert ntp_from_unix(0) == 2_208_988_800 << 32
    assert ntp_from_unix(0.5) == (2_208_988_800 << 32) | 0x80000000
    # The example of RFC 3550 figure 2: 10 Nov 1995 11:33:25.125 UTC.
    assert ntp_from_unix(816003205.125) == 0xB44DB70520000000
    assert middle32(0xB44DB70520000000) == 0xB7052000
    assert unix_from_ntp(ntp_from_unix(1_700_000_000.25)) == 1_700_000_000.25


def test_round_trip_time_of_rfc_3550_figure_2():
    # A = 0xb710:8000 (46864.500 s), LSR = 0xb705:2000 (46853.125 s),
    # DLSR = 0x0005:4000 (5.250 s): delay 0x0006:2000 = 6.125 s.
    assert round_trip_time(PHONE_BLOCK, 0xB7108000) == 6.125


def test_round_trip_time_edge_cases():
    assert round_trip_time(ReportBlock(1, 0, 0, 0, 0, 0, 0), 0x12345678) is None  # no SR
    wrapped = ReportBlock(1, 0, 0, 0, 0, last_sr=0xFFFF8000, delay_since_last_sr=0x8000)
    assert round_trip_time(wrapped, 0x00010000) == 1.0  # across the 2^32 wrap of 16.16
    late_dlsr = ReportBlock(1, 0, 0, 0, 0, last_sr=0x10000, delay_since_last_sr=0x30000)
    assert round_trip_time(late_dlsr, 0x20000) is None  # DLSR longer than the time elapsed
    rounding = ReportBlock(1, 0, 0, 0, 0, last_sr=0x10000, delay_since_last_sr=0x10001)
    assert round_trip_time(rounding, 0x20000) == 0.0


def test_report_block_from_receiver_stats():
    stats = RtpReceiverStats(8000)
    for seq in [100, 101, 102, 104, 105]:  # 103 lost
        stats.update(RtpPacket(8, seq, seq * 160, PHONE_SSRC, b""), seq * 0.02)
    block = report_block(stats, 0xB7052000, 10.0, now=12.5)
    assert block == ReportBlock(
        ssrc=PHONE_SSRC,
        fraction_lost=256 // 5,
        cumulative_lost=1,
        highest_sequence=105,
        jitter=0,
        last_sr=0xB7052000,
        delay_since_last_sr=int(2.5 * 65536),
    )
    # The interval restarted: the next block reports no new loss.
    assert report_block(stats, None, None, now=13.0).fraction_lost == 0
    assert report_block(stats, None, None, now=13.0).last_sr == 0
    with pytest.raises(ValueError):
        report_block(RtpReceiverStats(8000), None, None, 0.0)


# --- report interval (6.2, 6.3.1) ----------------------------------------------------------


def test_deterministic_interval():
    two_party = dict(members=2, senders=2, rtcp_bandwidth=400.0, avg_rtcp_size=100.0)
    assert deterministic_interval(**two_party, we_sent=True, initial=True) == 2.5
    assert deterministic_interval(**two_party, we_sent=True, initial=False) == 5.0
    # A large listening group: senders share a quarter of the bandwidth (6.2).
    group = dict(members=100, senders=2, rtcp_bandwidth=400.0, avg_rtcp_size=200.0)
    assert deterministic_interval(**group, we_sent=True, initial=False) == 5.0  # 200*2/100 = 4
    assert deterministic_interval(**group, we_sent=False, initial=False) == pytest.approx(
        200 * 98 / 300
    )
    assert deterministic_interval(**group, we_sent=False, initial=False, min_interval=1) > 65


def test_first_report_comes_after_half_the_minimum_randomised():
    times = [RtcpState(1, "a@b", now=100.0).next_report_at - 100.0 for _ in range(300)]
    assert all(1.25 <= t <= 3.75 for t in times)
    assert 2.2 < sum(times) / len(times) < 2.8
    assert len(set(times)) > 250


def test_interval_uses_the_injected_random_source():
    state = RtcpState(1, "a@b", now=0.0, rng=random.Random(42))
    twin = random.Random(42)
    assert state.next_report_at == pytest.approx(2.5 * twin.uniform(0.5, 1.5))
    assert state.poll(state.next_report_at - 0.001) is None
    now = state.next_report_at
    assert state.poll(now) is not None
    assert state.next_report_at == pytest.approx(now + 5.0 * twin.uniform(0.5, 1.5))


# --- RtcpState: two ends driven against each other in memory -------------------------------


class End:
    """One side of a call: RTP sender, receiver statistics and RTCP state."""

    def __init__(self, ssrc: int, cname: str, wallclock_offset: float, seed: int):
        self.sender = RtpSender(ssrc, 8000, rng=random.Random(seed))
        self.receiver = RtpReceiverStats(8000)
        self.rtcp = RtcpState(
            ssrc,
            cname,
            now=0.0,
            sender=self.sender,
            receiver=self.receiver,
            rng=random.Random(seed),
            wallclock_offset=wallclock_offset,
        )


def talk(src: End, dst: End, start: float, seconds: float, delay: float, lose=()):
    """20 ms packets from src to dst, `delay` seconds of network each."""
    for i in range(int(seconds / 0.02)):
        sent_at = start + i * 0.02
        packet = src.sender.next(8, b"\xd5" * 160, 160, now=sent_at)
        if i not in lose:
            dst.receiver.update(RtpPacket.parse(packet.serialize()), sent_at + delay)


def test_two_ends_exchange_reports_and_measure_round_trip():
    pbx = End(OUR_SSRC, "pbxd@10.0.0.1", wallclock_offset=1.7e9, seed=1)
    phone = End(PHONE_SSRC, "user@10.0.0.5", wallclock_offset=1.6e9, seed=2)
    delay = 0.030
    talk(pbx, phone, 0.0, 2.0, delay)
    talk(phone, pbx, 0.0, 2.0, delay, lose={10, 11})

    # The PBX reports first: an SR (it sent RTP) with a block about the phone, no LSR yet.
    at = 2.0
    report = pbx.rtcp.build_report(at)
    sr, sdes = parse_compound(report, strict=True)
    assert isinstance(sr, SenderReport)
    assert sr.ssrc == OUR_SSRC
    assert sr.ntp_timestamp == ntp_from_unix(at + 1.7e9)
    assert (sr.packet_count, sr.octet_count) == (100, 16000)
    # Last packet at 1.98 s; 20 ms later the RTP clock reads what the next one will carry.
    assert sr.rtp_timestamp == pbx.sender.timestamp
    (block,) = sr.reports
    assert block.ssrc == PHONE_SSRC
    assert block.cumulative_lost == 2
    assert block.fraction_lost == (2 << 8) // 99  # 99 expected after the probation packet
    assert (block.last_sr, block.delay_since_last_sr) == (0, 0)
    assert sdes == SourceDescription.cname(OUR_SSRC, "pbxd@10.0.0.1")
    phone.rtcp.receive(report, at + delay)
    assert phone.rtcp.last_sr.ntp_middle == middle32(sr.ntp_timestamp)
    assert phone.rtcp.remote_ssrc == OUR_SSRC

    # The phone answers 0.97 s later, echoing the SR: the PBX measures 2 x 30 ms.
    at = 3.0
    answer = phone.rtcp.build_report(at)
    sr_back = parse_compound(answer)[0]
    (echo,) = sr_back.reports
    assert echo.ssrc == OUR_SSRC
    assert echo.last_sr == middle32(sr.ntp_timestamp)
    assert echo.delay_since_last_sr == int((3.0 - 2.03) * 65536)
    pbx.rtcp.receive(answer, at + delay)
    assert pbx.rtcp.remote_report == echo
    assert pbx.rtcp.round_trip_time == pytest.approx(2 * delay, abs=3 / 65536)


def test_rr_when_nothing_was_sent_since_the_last_report():
    pbx = End(OUR_SSRC, "pbxd@h", 0.0, seed=3)
    phone = End(PHONE_SSRC, "phone@h", 0.0, seed=4)
    assert isinstance(parse_compound(pbx.rtcp.build_report(1.0))[0], ReceiverReport)
    talk(pbx, phone, 1.0, 0.1, 0.01)
    assert isinstance(parse_compound(pbx.rtcp.build_report(2.0))[0], SenderReport)
    # On hold: no RTP since the SR, so an RR (without blocks: nothing received either).
    assert parse_compound(pbx.rtcp.build_report(7.0))[0] == ReceiverReport(OUR_SSRC)


def test_receive_only_stream_sends_rr_with_block():
    receiver = RtpReceiverStats(8000)
    state = RtcpState(OUR_SSRC, "rec@h", now=0.0, receiver=receiver, rng=random.Random(5))
    for seq in range(10):
        receiver.update(RtpPacket(0, seq, seq * 160, PHONE_SSRC, b""), seq * 0.02)
    rr = parse_compound(state.build_report(1.0))[0]
    assert isinstance(rr, ReceiverReport)
    assert [b.ssrc for b in rr.reports] == [PHONE_SSRC]
    assert rr.reports[0].highest_sequence == 9


def test_bye_is_last_and_is_noticed():
    pbx = End(OUR_SSRC, "pbxd@h", 0.0, seed=6)
    phone = End(PHONE_SSRC, "phone@h", 0.0, seed=7)
    talk(phone, pbx, 0.0, 0.2, 0.01)
    pbx.rtcp.receive(phone.rtcp.build_report(0.5), 0.51)
    assert not pbx.rtcp.bye_received
    goodbye = phone.rtcp.build_bye(1.0, "hangup")
    packets = parse_compound(goodbye, strict=True)
    # Nothing sent since its last report: RR, then SDES, BYE last (6.1).
    assert [type(p) for p in packets] == [ReceiverReport, SourceDescription, Bye]
    assert packets[-1] == Bye((PHONE_SSRC,), "hangup")
    pbx.rtcp.receive(goodbye, 1.01)
    assert pbx.rtcp.bye_received


def test_own_reports_looped_back_are_ignored():
    pbx = End(OUR_SSRC, "pbxd@h", 0.0, seed=8)
    talk(pbx, End(PHONE_SSRC, "p@h", 0.0, seed=9), 0.0, 0.1, 0.0)
    pbx.rtcp.receive(pbx.rtcp.build_report(1.0), 1.0)
    assert pbx.rtcp.last_sr is None
    assert pbx.rtcp.remote_ssrc is None


def test_malformed_rtcp_is_reported_and_changes_nothing():
    state = RtcpState(OUR_SSRC, "x@h", now=0.0, rng=random.Random(1))
    before = state.avg_rtcp_size
    with pytest.raises(RtcpParseError):
        state.receive(b"\x80\xc8\x00\x06" + bytes(10), 1.0)
    assert state.avg_rtcp_size == before
    assert state.last_sr is None


def test_average_rtcp_size_follows_traffic():
    state = RtcpState(OUR_SSRC, "x@h", now=0.0, rng=random.Random(1))
    start = state.avg_rtcp_size
    big = serialize_compound([ReceiverReport(PHONE_SSRC, (PHONE_BLOCK,) * 31)])
    state.receive(big, 1.0)
    # 6.3.3: avg = avg + (size + 28 - avg) / 16
    assert state.avg_rtcp_size == pytest.approx(start + (len(big) + 28 - start) / 16)
