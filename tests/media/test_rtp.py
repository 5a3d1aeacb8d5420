"""RTP packets, sender state and receiver statistics (RFC 3550 5.1, appendix A.1, A.3, A.8)."""

from __future__ import annotations

import random
import struct

import pytest

from pbxd.media.rtp import (
    MAX_DROPOUT,
    MAX_MISORDER,
    RtpExtension,
    RtpPacket,
    RtpParseError,
    RtpReceiverStats,
    RtpSender,
    is_rtcp,
)

# --- packets -------------------------------------------------------------------------------

# A G.711 A-law packet as a phone sends it: V=2, no P/X/CC, marker set, PT 8, seq 0x1234,
# timestamp 0x00012345, SSRC 0xDEADBEEF, 160 octets of payload.
ALAW_PACKET = bytes.fromhex("80 88 1234 00012345 deadbeef") + b"\xd5" * 160


def test_parse_a_plain_packet():
    packet = RtpPacket.parse(ALAW_PACKET)
    assert packet.payload_type == 8
    assert packet.marker is True
    assert packet.sequence == 0x1234
    assert packet.timestamp == 0x12345
    assert packet.ssrc == 0xDEADBEEF
    assert packet.csrc == ()
    assert packet.extension is None
    assert packet.padding == 0
    assert packet.payload == b"\xd5" * 160
    assert packet.serialize() == ALAW_PACKET


def test_parse_accepts_bytearray_and_memoryview():
    expected = RtpPacket.parse(ALAW_PACKET)
    assert RtpPacket.parse(bytearray(ALAW_PACKET)) == expected
    parsed = RtpPacket.parse(memoryview(ALAW_PACKET))
    assert parsed == expected
    assert type(parsed.payload) is bytes


def test_csrc_extension_and_padding_from_hand_built_bytes():
    data = (
        bytes([0x80 | 0x20 | 0x10 | 2, 0x60])  # V=2 P X CC=2; marker 0, PT 96
        + struct.pack("!HII", 7, 320, 0x01020304)  # seq, timestamp, SSRC
        + struct.pack("!II", 0xAAAAAAAA, 0xBBBBBBBB)  # CSRC list
        + struct.pack("!HH", 0xBEDE, 1)  # extension: profile, 1 word
        + bytes([0x10, 0x7F, 0, 0])  # that word (RFC 8285 one-byte element, audio level)
        + b"opus-frame"
        + bytes([0, 0, 0, 4])  # 4 octets of padding, the count last
    )
    packet = RtpPacket.parse(data)
    assert packet.payload_type == 96
    assert packet.marker is False
    assert packet.sequence == 7
    assert packet.timestamp == 320
    assert packet.ssrc == 0x01020304
    assert packet.csrc == (0xAAAAAAAA, 0xBBBBBBBB)
    assert packet.extension == RtpExtension(0xBEDE, bytes([0x10, 0x7F, 0, 0]))
    assert packet.payload == b"opus-frame"
    assert packet.padding == 4
    assert packet.serialize() == data


@pytest.mark.parametrize(
    "packet",
    [
        RtpPacket(0, 0, 0, 0),
        RtpPacket(127, 65535, 2**32 - 1, 2**32 - 1, b"x", marker=True),
        RtpPacket(101, 9, 8000, 5, b"\x01\x00\x00\xa0", csrc=tuple(range(15))),
        RtpPacket(9, 1, 2, 3, b"g722", extension=RtpExtension(0x1000, b"")),
        RtpPacket(9, 1, 2, 3, b"", extension=RtpExtension(1, bytes(range(8))), padding=255),
        RtpPacket(18, 1, 2, 3, b"", padding=1),
    ],
)
def test_round_trip(packet):
    assert RtpPacket.parse(packet.serialize()) == packet


def test_serialized_length_accounts_for_every_part():
    packet = RtpPacket(
        0, 1, 2, 3, b"abc", csrc=(1, 2), extension=RtpExtension(5, bytes(8)), padding=5
    )
    assert len(packet.serialize()) == 12 + 8 + 4 + 8 + 3 + 5


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "shorter"),
        (ALAW_PACKET[:11], "shorter"),
        (bytes([0x40]) + ALAW_PACKET[1:], "version 1"),
        (bytes([0x00]) + ALAW_PACKET[1:], "version 0"),
        (bytes([0xC0]) + ALAW_PACKET[1:], "version 3"),
        # CC=3 but only two CSRCs present
        (bytes([0x83, 0]) + bytes(10) + bytes(8), "CSRC"),
        # X set, no room for the extension header
        (bytes([0x90, 0]) + bytes(10) + bytes(3), "extension"),
        # X set, extension claims 2 words, 1 present
        (bytes([0x90, 0]) + bytes(10) + struct.pack("!HH", 0, 2) + bytes(4), "extension"),
        # P set, count 0
        (bytes([0xA0, 0]) + bytes(10) + b"abc\x00", "padding"),
        # P set, count larger than what follows the header
        (bytes([0xA0, 0]) + bytes(10) + b"ab\x04", "padding"),
        # P set on a bare header: the count would eat into the header itself
        (bytes([0xA0, 0]) + bytes(9) + b"\x01", "padding"),
    ],
)
def test_malformed_packets_raise_rtp_parse_error(data, why):
    with pytest.raises(RtpParseError, match=why):
        RtpPacket.parse(data)


def test_parse_error_is_a_value_error():
    assert issubclass(RtpParseError, ValueError)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"payload_type": 128},
        {"payload_type": -1},
        {"sequence": 65536},
        {"timestamp": 2**32},
        {"ssrc": -1},
        {"padding": 256},
        {"csrc": tuple(range(16))},
        {"csrc": (2**32,)},
    ],
)
def test_out_of_range_fields_are_refused(kwargs):
    fields = {"payload_type": 0, "sequence": 0, "timestamp": 0, "ssrc": 0} | kwargs
    with pytest.raises(ValueError):
        RtpPacket(**fields)


def test_extension_data_must_be_whole_words():
    with pytest.raises(ValueError):
        RtpExtension(0xBEDE, b"abc")
    with pytest.raises(ValueError):
        RtpExtension(0x10000, b"")


def test_packets_are_immutable():
    packet = RtpPacket.parse(ALAW_PACKET)
    with pytest.raises(AttributeError):
        packet.sequence = 1  # type: ignore[misc]


# --- rtcp-mux demultiplexing (RFC 5761 section 4) ------------------------------------------


@pytest.mark.parametrize("packet_type", [200, 201, 202, 203, 204, 205, 206, 207])
def test_rtcp_packet_types_are_rtcp(packet_type):
    assert is_rtcp(struct.pack("!BBHI", 0x80, packet_type, 1, 1))


@pytest.mark.parametrize(
    "second_octet",
    [0, 8, 18, 96, 101, 127, 0x80 | 0, 0x80 | 8, 0x80 | 96, 0x80 | 101, 0x80 | 127],
)
def test_rtp_payload_types_are_not_rtcp(second_octet):
    assert not is_rtcp(bytes([0x80, second_octet]) + bytes(10))


def test_is_rtcp_on_tiny_datagrams():
    assert not is_rtcp(b"")
    assert not is_rtcp(b"\x80")


# --- sender --------------------------------------------------------------------------------


def test_sender_numbers_packets_and_wraps():
    sender = RtpSender(0x1234, 8000, initial_sequence=65534, initial_timestamp=2**32 - 160)
    packets = [sender.next(0, b"\xff" * 160, 160) for _ in range(3)]
    assert [p.sequence for p in packets] == [65534, 65535, 0]
    assert [p.timestamp for p in packets] == [2**32 - 160, 0, 160]
    assert all(p.ssrc == 0x1234 and p.payload_type == 0 for p in packets)
    assert [p.marker for p in packets] == [False, False, False]


def test_sender_skip_advances_timestamp_only_and_marks_the_talkspurt():
    sender = RtpSender(1, 8000, initial_sequence=10, initial_timestamp=1000)
    sender.next(8, b"a" * 160, 160)
    sender.skip(800)  # 100 ms of silence not sent
    resumed = sender.next(8, b"b" * 160, 160)
    after = sender.next(8, b"c" * 160, 160)
    assert (resumed.sequence, resumed.timestamp, resumed.marker) == (11, 1000 + 160 + 800, True)
    assert (after.sequence, after.timestamp, after.marker) == (12, 1000 + 160 + 800 + 160, False)


def test_sender_marker_on_request():
    sender = RtpSender(1, 8000, 0, 0)
    assert sender.next(8, b"", 160, marker=True).marker is True
    assert sender.next(8, b"", 160).marker is False


def test_sender_counts_payload_octets_only():
    sender = RtpSender(1, 8000, 0, 0)
    sender.next(8, b"x" * 160, 160)
    sender.next(8, b"x" * 80, 80)
    assert (sender.packets, sender.octets) == (2, 240)


def test_sender_initial_values_are_random_and_in_range():
    first = RtpSender(1, 8000, rng=random.Random(7))
    again = RtpSender(1, 8000, rng=random.Random(7))
    assert (first.sequence, first.timestamp) == (again.sequence, again.timestamp)
    starts = {RtpSender(1, 8000).sequence for _ in range(20)}
    assert len(starts) > 1  # system randomness by default
    assert all(0 <= s < 65536 for s in starts)


def test_sender_maps_the_clock_to_rtp_time():
    sender = RtpSender(1, 8000, 0, 16000)
    assert sender.rtp_timestamp_at(50.0) == 16000  # nothing sent yet: the next timestamp
    sender.next(8, b"", 160, now=10.0)
    assert sender.rtp_timestamp_at(10.0) == 16000
    assert sender.rtp_timestamp_at(10.5) == 16000 + 4000


def test_sender_refuses_bad_arguments():
    with pytest.raises(ValueError):
        RtpSender(2**32, 8000)
    with pytest.raises(ValueError):
        RtpSender(1, 0)


def test_sender_datagram_is_the_next_packet_serialized():
    # datagram() is the send path's shortcut: the same bytes and the same sender state as
    # next().serialize(), across marker requests, a talkspurt after skip and both wraps.
    direct = RtpSender(0x1234, 8000, initial_sequence=65534, initial_timestamp=2**32 - 160)
    shortcut = RtpSender(0x1234, 8000, initial_sequence=65534, initial_timestamp=2**32 - 160)
    steps = [(0, False, 160), (0, True, 160), (8, False, 80), ("skip", 800), (8, False, 160)]
    for now, step in enumerate(steps * 3):
        if step[0] == "skip":
            direct.skip(step[1])
            shortcut.skip(step[1])
            continue
        payload_type, marker, samples = step
        payload = bytes([now]) * samples
        expected = direct.next(payload_type, payload, samples, marker, now=float(now))
        assert shortcut.datagram(payload_type, payload, samples, marker, now=float(now)) == (
            expected.serialize()
        )
        assert RtpPacket.parse(expected.serialize()) == expected
    state = ("sequence", "timestamp", "packets", "octets")
    assert [getattr(shortcut, a) for a in state] == [getattr(direct, a) for a in state]
    assert shortcut.rtp_timestamp_at(20.0) == direct.rtp_timestamp_at(20.0)


def test_sender_datagram_refuses_a_payload_type_out_of_range():
    sender = RtpSender(1, 8000, 0, 0)
    with pytest.raises(ValueError, match="payload type"):
        sender.datagram(128, b"", 160)
    assert (sender.sequence, sender.packets) == (0, 0)  # nothing was counted


# --- receiver statistics: sequence validation (A.1) ----------------------------------------


def feed(stats: RtpReceiverStats, sequences, ssrc=0x55, start=0.0, step=0.02):
    """Packets with these sequence numbers, 20 ms apart, timestamps following the sequence."""
    results = []
    for i, seq in enumerate(sequences):
        packet = RtpPacket(8, seq % 65536, (seq * 160) % 2**32, ssrc, b"")
        results.append(stats.update(packet, start + i * step))
    return results


def test_new_source_is_on_probation_for_one_packet():
    stats = RtpReceiverStats(8000)
    assert not stats.valid
    assert feed(stats, [100]) == [False]
    assert stats.ssrc == 0x55
    assert (stats.received, stats.expected) == (0, 0)
    assert feed(stats, [101, 102]) == [True, True]
    assert stats.valid
    # A.1: the source is counted from the packet that ended probation.
    assert (stats.received, stats.expected, stats.cumulative_lost) == (2, 2, 0)
    assert stats.extended_highest_sequence == 102


def test_probation_restarts_on_a_gap():
    stats = RtpReceiverStats(8000)
    assert feed(stats, [100, 105, 106, 107]) == [False, False, True, True]
    assert (stats.received, stats.expected) == (2, 2)


def test_sequence_wrap_counts_a_cycle():
    stats = RtpReceiverStats(8000)
    assert all(feed(stats, [65533, 65534, 65535, 65536, 65537])[1:])
    assert stats.extended_highest_sequence == 65536 + 1
    assert (stats.received, stats.expected, stats.cumulative_lost) == (4, 4, 0)


def test_loss_within_max_dropout():
    stats = RtpReceiverStats(8000)
    feed(stats, [0, 1, 2, 5, 6, 2000])
    assert stats.extended_highest_sequence == 2000
    assert stats.expected == 2000
    assert stats.received == 5
    assert stats.cumulative_lost == 1995


def test_misordered_packets_are_counted_and_fill_the_gap():
    stats = RtpReceiverStats(8000)
    assert feed(stats, [10, 11, 13, 12, 14]) == [False, True, True, True, True]
    assert stats.extended_highest_sequence == 14  # the late 12 does not lower it
    assert (stats.received, stats.expected, stats.cumulative_lost) == (4, 4, 0)


def test_misordered_across_the_wrap_does_not_add_a_cycle():
    stats = RtpReceiverStats(8000)
    feed(stats, [65534, 65535, 65537, 65536])  # 1 arrives before 0, just after the wrap
    assert stats.extended_highest_sequence == 65537
    assert (stats.received, stats.expected) == (3, 3)


def test_duplicates_make_cumulative_loss_negative():
    stats = RtpReceiverStats(8000)
    feed(stats, [1, 2, 3, 3, 3, 4])
    assert (stats.received, stats.expected, stats.cumulative_lost) == (5, 3, -2)


def test_far_backward_step_is_rejected_but_late_within_max_misorder_is_not():
    stats = RtpReceiverStats(8000)
    feed(stats, range(4999, 5001))  # valid, max 5000
    assert feed(stats, [5000 - MAX_MISORDER - 100]) == [False]
    assert feed(stats, [5000 - MAX_MISORDER + 1]) == [True]
    assert stats.extended_highest_sequence == 5000


def test_single_large_jump_is_ignored():
    stats = RtpReceiverStats(8000)
    feed(stats, [1000, 1001, 1002])
    assert feed(stats, [1002 + MAX_DROPOUT + 10]) == [False]
    assert feed(stats, [1003]) == [True]
    assert stats.extended_highest_sequence == 1003
    assert (stats.received, stats.expected) == (3, 3)


def test_large_jump_then_two_sequential_restarts_the_source():
    stats = RtpReceiverStats(8000)
    feed(stats, [1000, 1001, 1002, 1004])  # one lost before the restart
    assert stats.cumulative_lost == 1
    assert feed(stats, [40000, 40001, 40002]) == [False, True, True]
    # A.1 init_seq: counting starts again from the second packet after the jump.
    assert stats.extended_highest_sequence == 40002
    assert (stats.received, stats.expected, stats.cumulative_lost) == (2, 2, 0)


def test_new_ssrc_resets_everything():
    stats = RtpReceiverStats(8000)
    feed(stats, [1, 2, 3, 10], ssrc=1)
    assert stats.cumulative_lost == 6
    assert feed(stats, [500, 501], ssrc=2) == [False, True]
    assert stats.ssrc == 2
    assert (stats.received, stats.expected, stats.cumulative_lost) == (1, 1, 0)
    assert stats.extended_highest_sequence == 501
    assert stats.jitter == 0.0


def test_cumulative_loss_clamps_to_24_bits():
    stats = RtpReceiverStats(8000)
    step = MAX_DROPOUT - 1
    sequences = [0, 1] + [1 + step * i for i in range(1, 2900)]
    feed(stats, sequences)
    assert stats.expected - stats.received > 2**23
    assert stats.cumulative_lost == 2**23 - 1


# --- receiver statistics: loss fraction (A.3) ----------------------------------------------


def test_fraction_lost_per_interval():
    stats = RtpReceiverStats(8000)
    feed(stats, [0, 1, 2, 3, 4, 5, 6, 7, 9, 10])  # valid from 1; 8 lost: 1 of 10 expected
    assert stats.fraction_lost_since_last_report() == 256 // 10  # 25
    feed(stats, range(11, 21))  # nothing lost
    assert stats.fraction_lost_since_last_report() == 0
    feed(stats, [21, 24, 25, 26])  # 22, 23 lost: 2 of 6
    assert stats.fraction_lost_since_last_report() == (2 << 8) // 6  # 85
    assert stats.fraction_lost_since_last_report() == 0  # empty interval
    feed(stats, [27, 27, 28])  # a duplicate only
    assert stats.fraction_lost_since_last_report() == 0
    assert stats.cumulative_lost == 2  # 8, 22, 23 lost; one duplicate


def test_fraction_lost_before_any_packet():
    assert RtpReceiverStats(8000).fraction_lost_since_last_report() == 0


# --- receiver statistics: interarrival jitter (A.8) ----------------------------------------


def test_constant_transit_has_no_jitter():
    stats = RtpReceiverStats(8000)
    feed(stats, range(200), start=3.7)  # every packet exactly 20 ms after the previous one
    assert stats.jitter == pytest.approx(0.0, abs=1e-6)


def test_alternating_transit_converges_to_the_transit_step():
    # Transit alternates between 40 ms and 60 ms: |D| is 20 ms = 160 units at 8 kHz for every
    # packet after the first. J(k) = J(k-1) + (160 - J(k-1)) / 16 = 160 * (1 - (15/16)^k).
    stats = RtpReceiverStats(8000)
    ssrc = 9
    values = []
    for i in range(300):
        transit = 0.040 if i % 2 == 0 else 0.060
        packet = RtpPacket(0, i, i * 160, ssrc, b"")
        stats.update(packet, 100.0 + i * 0.020 + transit)
        values.append(stats.jitter)
    # Packet 0 is on probation; packet 1 starts the reference; packet 2 gives the first D.
    assert values[2] == pytest.approx(10.0)  # 160 / 16
    assert values[3] == pytest.approx(19.375)  # 10 + (160 - 10) / 16
    for k in (10, 50):
        assert values[k + 1] == pytest.approx(160 * (1 - (15 / 16) ** k), rel=1e-9)
    assert values[-1] == pytest.approx(160.0, rel=1e-6)


def test_jitter_is_unaffected_by_timestamp_wrap_and_silence_gaps():
    stats = RtpReceiverStats(8000)
    sender = RtpSender(5, 8000, initial_sequence=0, initial_timestamp=2**32 - 800)
    now = 0.0
    for i in range(40):
        if i == 20:
            sender.skip(8000)  # one second of silence, not sent
            now += 1.0
        stats.update(sender.next(8, b"", 160), now)
        now += 0.020
    assert stats.jitter == pytest.approx(0.0, abs=1e-6)


def test_jitter_units_follow_the_clock_rate():
    # One late packet (+10 ms) among regular ones at 16 kHz: D = 160 units on arrival and
    # 160 on the next packet.
    stats = RtpReceiverStats(16000)
    for i in range(4):
        late = 0.010 if i == 3 else 0.0
        stats.update(RtpPacket(9, i, i * 320, 1, b""), i * 0.020 + late)
    assert stats.jitter == pytest.approx(160 / 16)
    stats.update(RtpPacket(9, 4, 4 * 320, 1, b""), 4 * 0.020)
    assert stats.jitter == pytest.approx(10 + (160 - 10) / 16)
