"""Fuzzing the RTP and RTCP parsers (hypothesis): only their parse errors escape, whatever the
bytes, and what is built serializes and parses back to itself."""

from __future__ import annotations

import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from pbxd.media.rtcp import (
    BYE,
    RR,
    SDES,
    SR,
    Bye,
    ReceiverReport,
    ReportBlock,
    RtcpParseError,
    SenderReport,
    SourceDescription,
    UnknownRtcp,
    parse_compound,
    serialize_compound,
)
from pbxd.media.rtp import RtpExtension, RtpPacket, RtpParseError

FUZZ = settings(max_examples=500, deadline=None)

u16 = st.integers(0, 2**16 - 1)
u32 = st.integers(0, 2**32 - 1)
words = st.integers(0, 8).flatmap(lambda n: st.binary(min_size=4 * n, max_size=4 * n))

rtp_packets = st.builds(
    RtpPacket,
    payload_type=st.integers(0, 127),
    sequence=u16,
    timestamp=u32,
    ssrc=u32,
    payload=st.binary(max_size=200),
    marker=st.booleans(),
    csrc=st.lists(u32, max_size=15).map(tuple),
    extension=st.none() | st.builds(RtpExtension, profile=u16, data=words),
    padding=st.integers(0, 255),
)

# Text whose UTF-8 fits an SDES item or BYE reason (at most 4 octets per character).
short_text = st.text(max_size=63)

report_blocks = st.builds(
    ReportBlock,
    ssrc=u32,
    fraction_lost=st.integers(0, 255),
    cumulative_lost=st.integers(-(2**23), 2**23 - 1),
    highest_sequence=u32,
    jitter=u32,
    last_sr=u32,
    delay_since_last_sr=u32,
)
blocks = st.lists(report_blocks, max_size=4).map(tuple)
sdes_items = st.lists(st.tuples(st.integers(1, 255), short_text), max_size=4).map(tuple)

rtcp_packets = st.one_of(
    st.builds(
        SenderReport,
        ssrc=u32,
        ntp_timestamp=st.integers(0, 2**64 - 1),
        rtp_timestamp=u32,
        packet_count=u32,
        octet_count=u32,
        reports=blocks,
    ),
    st.builds(ReceiverReport, ssrc=u32, reports=blocks),
    st.builds(
        SourceDescription,
        chunks=st.lists(st.tuples(u32, sdes_items), max_size=4).map(tuple),
    ),
    st.builds(Bye, ssrcs=st.lists(u32, max_size=4).map(tuple), reason=st.none() | short_text),
    st.builds(
        UnknownRtcp,
        packet_type=st.integers(0, 255).filter(lambda t: t not in (SR, RR, SDES, BYE)),
        count=st.integers(0, 31),
        body=words,
    ),
)
compounds = st.lists(rtcp_packets, min_size=1, max_size=5)


# Long runs too: 255 octets that are not UTF-8 decode to far more than 255 octets of text.
any_octets = st.binary(max_size=255) | st.binary(min_size=200, max_size=255)


@st.composite
def raw_text_packets(draw) -> bytes:
    """SDES and BYE built octet by octet, their text any octets at all (often not UTF-8)."""
    chunks = b""
    count = draw(st.integers(0, 3))
    for _ in range(count):
        chunk = draw(st.binary(min_size=4, max_size=4))
        for _ in range(draw(st.integers(0, 3))):
            text = draw(any_octets)
            chunk += bytes((draw(st.integers(1, 255)), len(text))) + text
        chunk += bytes(4 - len(chunk) % 4)
        chunks += chunk
    sdes = struct.pack("!BBH", 0x80 | count, SDES, len(chunks) // 4) + chunks
    reason = draw(any_octets)
    bye_body = b"\x00\x00\x00\x01" + bytes((len(reason),)) + reason
    bye_body += bytes(-len(bye_body) % 4)
    bye = struct.pack("!BBH", 0x81, BYE, len(bye_body) // 4) + bye_body
    return sdes + bye


@st.composite
def mutated(draw, valid: st.SearchStrategy[bytes]) -> bytes:
    """A valid datagram with some octets overwritten, then maybe cut short or extended."""
    data = bytearray(draw(valid))
    for _ in range(draw(st.integers(1, 4))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut]) + draw(st.binary(max_size=8))


def version_2_first(data: bytes) -> bytes:
    # Most random first octets fail the version test at once; start many with V=2.
    return bytes([0x80 | (data[0] & 0x3F)]) + data[1:] if data else data


@FUZZ
@given(st.binary(max_size=300) | st.binary(min_size=1, max_size=300).map(version_2_first))
def test_rtp_parse_raises_only_rtp_parse_error_on_random_bytes(data):
    try:
        packet = RtpPacket.parse(data)
    except RtpParseError:
        return
    assert packet.serialize() == data or packet.padding  # padding octets are not kept


@FUZZ
@given(mutated(rtp_packets.map(RtpPacket.serialize)))
def test_rtp_parse_raises_only_rtp_parse_error_on_damaged_packets(data):
    try:
        RtpPacket.parse(data)
    except RtpParseError:
        pass


@FUZZ
@given(rtp_packets)
def test_rtp_round_trip(packet):
    assert RtpPacket.parse(packet.serialize()) == packet


@FUZZ
@given(st.binary(max_size=300) | st.binary(min_size=1, max_size=300).map(version_2_first))
def test_rtcp_parse_raises_only_rtcp_parse_error_on_random_bytes(data):
    for strict in (False, True):
        try:
            parse_compound(data, strict=strict)
        except RtcpParseError:
            pass


@FUZZ
@given(mutated(compounds.map(serialize_compound)))
def test_rtcp_parse_raises_only_rtcp_parse_error_on_damaged_compounds(data):
    try:
        packets = parse_compound(data)
    except RtcpParseError:
        return
    # Whatever parsed serializes to a valid compound that parses to the same packets.
    assert parse_compound(serialize_compound(packets)) == packets


@FUZZ
@given(compounds)
def test_rtcp_round_trip(packets):
    assert parse_compound(serialize_compound(packets)) == packets


@FUZZ
@given(compounds.map(serialize_compound), st.data())
def test_every_truncation_of_a_compound_is_handled(data, draw):
    cut = draw.draw(st.integers(0, len(data) - 1))
    try:
        parse_compound(data[:cut])
    except RtcpParseError:
        pass


@FUZZ
@given(raw_text_packets() | mutated(raw_text_packets()))
def test_sdes_and_bye_text_of_any_octets(data):
    try:
        packets = parse_compound(data)
    except RtcpParseError:
        return
    assert parse_compound(serialize_compound(packets)) == packets
