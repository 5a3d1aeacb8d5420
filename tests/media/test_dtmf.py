"""Out-of-band DTMF: RFC 4733 payload, receiver and sender; SIP INFO bodies; digit collector.

Packets are built by hand here (struct), not with the code under test, so that a bug shared by
`serialize` and `parse` cannot hide. Clocks are scripted: no sleeps.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pbxd.media.dtmf import (
    DEFAULT_INFO_DURATION_MS,
    DTMF_DIGITS,
    CollectReason,
    CollectResult,
    DigitCollector,
    DigitEnded,
    DigitStarted,
    DtmfError,
    DtmfEvent,
    DtmfParseError,
    DtmfValueError,
    EndReason,
    Rfc4733Receiver,
    Rfc4733Sender,
    info_body,
    parse_info_body,
)

RATE = 8000
FRAME = 160  # 20 ms


def block(event: int, end: bool = False, volume: int = 10, duration: int = 0, r: bool = False):
    """An RFC 4733 section 2.3 block: event(8) | E R volume(6) | duration(16)."""
    return struct.pack("!BBH", event, (0x80 if end else 0) | (0x40 if r else 0) | volume, duration)


# ------------------------------------------------------------------------------------- payload


def test_parse_hand_made_blocks():
    ev = DtmfEvent.parse(bytes.fromhex("050a00a0"))
    assert (ev.event, ev.end, ev.volume, ev.duration) == (5, False, 10, 160)
    assert ev.digit == "5" and ev.is_dtmf
    ev = DtmfEvent.parse(bytes.fromhex("0b8a0320"))  # "#", E, -10 dBm0, 100 ms at 8 kHz
    assert (ev.digit, ev.end, ev.volume, ev.duration) == ("#", True, 10, 800)
    ev = DtmfEvent.parse(bytes.fromhex("0abfffff"))  # "*", E, volume 63, longest duration
    assert (ev.digit, ev.end, ev.volume, ev.duration) == ("*", True, 63, 0xFFFF)


def test_reserved_bit_is_ignored_on_parse_and_zero_on_serialize():
    ev = DtmfEvent.parse(block(1, volume=10, duration=160, r=True))
    assert (ev.digit, ev.end, ev.volume) == ("1", False, 10)
    assert ev.serialize() == block(1, volume=10, duration=160)


def test_all_sixteen_digits_map_to_codes_and_round_trip():
    for code, digit in enumerate("0123456789*#ABCD"):
        ev = DtmfEvent.for_digit(digit, end=True, volume=7, duration=1600)
        assert ev.event == code
        assert ev.serialize() == block(code, True, 7, 1600)
        assert DtmfEvent.parse(ev.serialize()) == ev
    assert DtmfEvent.for_digit("a").digit == "A"  # lower case accepted


def test_hand_made_example_digit_9_every_50_ms():
    # A "9" at -7 dBm0 lasting 200 ms, updates every 50 ms (400 units at 8 kHz), 3 end packets.
    expected = ["09070190", "09070320", "090704b0", "09070640", "09870640", "09870640", "09870640"]
    sent = [DtmfEvent.for_digit("9", volume=7, duration=d).serialize() for d in (400, 800, 1200)]
    sent += [DtmfEvent.for_digit("9", volume=7, duration=1600).serialize()]
    sent += [DtmfEvent.for_digit("9", end=True, volume=7, duration=1600).serialize()] * 3
    assert [p.hex() for p in sent] == expected


def test_non_dtmf_events_parse_but_are_flagged():
    flash = DtmfEvent.parse(block(16, duration=800))  # hook flash (RFC 4734 range)
    assert not flash.is_dtmf and flash.digit is None
    fax = DtmfEvent.parse(block(36, end=True, duration=8000))  # CNG
    assert fax.event == 36 and fax.digit is None and fax.end


@pytest.mark.parametrize(
    "payload", [b"", b"\x05", b"\x05\x0a\x00", b"\x05\x0a\x00\xa0\x00", bytes(8)]
)
def test_wrong_length_is_a_parse_error(payload):
    with pytest.raises(DtmfParseError):
        DtmfEvent.parse(payload)


@pytest.mark.parametrize(
    "kwargs",
    [dict(event=256), dict(event=-1), dict(event=1, volume=64), dict(event=1, duration=0x10000)],
)
def test_out_of_range_values_are_refused(kwargs):
    with pytest.raises(DtmfValueError):
        DtmfEvent(**kwargs)
    with pytest.raises(DtmfValueError):
        DtmfEvent.for_digit("E")


@given(st.binary(max_size=12))
def test_fuzz_parse_raises_only_parse_errors(data):
    try:
        ev = DtmfEvent.parse(data)
    except DtmfParseError:
        assert len(data) != 4
        return
    assert ev.serialize() == bytes([data[0], data[1] & 0xBF]) + data[2:]


# ------------------------------------------------------------------------------------ receiver


class Phone:
    """Scripted telephone-event packets of one digit, as (timestamp, marker, payload)."""

    @staticmethod
    def press(code: int, ts: int, updates: list[int], end: int | None, repeats: int = 3):
        packets = [(ts, i == 0, block(code, duration=d)) for i, d in enumerate(updates)]
        if end is not None:
            packets += [(ts, not packets, block(code, end=True, duration=end))] * repeats
        return packets


def feed_all(receiver, packets, start=0.0, step=0.02):
    events = []
    now = start
    for ts, marker, payload in packets:
        events += receiver.feed(ts, marker, payload, now)
        now += step
    return events, now


def test_receiver_normal_sequence_reports_start_and_end_once():
    rx = Rfc4733Receiver()
    packets = Phone.press(1, 8000, [160, 320, 480, 640], end=800)
    first = rx.feed(*packets[0], 10.0)
    assert first == [DigitStarted("1", 8000, 10, 10.0)]
    events, _ = feed_all(rx, packets[1:], start=10.02)
    (ended,) = events
    assert (ended.digit, ended.timestamp) == ("1", 8000)
    assert (ended.duration, ended.duration_ms) == (800, 100)
    assert ended.reason is EndReason.END and ended.at == pytest.approx(10.08)  # first end packet
    assert rx.ignored_packets == 2  # the 2nd and 3rd end packet
    assert rx.next_deadline() is None


def test_lost_first_packet_still_reports_the_digit():
    rx = Rfc4733Receiver()
    packets = Phone.press(7, 123456, [160, 320, 480], end=640)[1:]  # marker packet lost
    events, _ = feed_all(rx, packets)
    assert [type(e) for e in events] == [DigitStarted, DigitEnded]
    assert events[0].digit == events[1].digit == "7" and events[1].duration_ms == 80


def test_only_end_packets_seen_reports_start_and_end_together():
    rx = Rfc4733Receiver()
    out = rx.feed(5000, False, block(11, end=True, duration=1200), 1.0)
    assert out == [
        DigitStarted("#", 5000, 10, 1.0),
        DigitEnded("#", 5000, 1200, 150, EndReason.END, 1.0),
    ]
    assert rx.feed(5000, False, block(11, end=True, duration=1200), 1.02) == []


def test_lost_end_packets_end_the_digit_after_the_timeout():
    rx = Rfc4733Receiver(end_timeout=0.2)
    events, _ = feed_all(rx, Phone.press(3, 1000, [160, 320, 480], end=None), start=5.0)
    assert [type(e) for e in events] == [DigitStarted]
    last_packet_at = 5.04
    assert rx.next_deadline() == pytest.approx(last_packet_at + 0.2)
    assert rx.poll(5.2) == []
    ended = rx.poll(5.25)
    assert ended == [DigitEnded("3", 1000, 480, 60, EndReason.TIMEOUT, 5.25)]
    assert rx.poll(6.0) == [] and rx.next_deadline() is None
    # The end packets turn up late: the digit was already reported, nothing more.
    assert rx.feed(1000, False, block(3, end=True, duration=800), 6.1) == []


def test_timeout_is_also_noticed_by_the_next_packet():
    rx = Rfc4733Receiver()
    feed_all(rx, Phone.press(3, 1000, [160, 320], end=None))
    out = rx.feed(9000, True, block(4, duration=160), 1.0)  # long after, the next digit
    assert out == [
        DigitEnded("3", 1000, 320, 40, EndReason.TIMEOUT, 1.0),
        DigitStarted("4", 9000, 10, 1.0),
    ]


def test_retransmitted_and_duplicated_packets_are_ignored():
    rx = Rfc4733Receiver()
    packets = Phone.press(9, 40000, [160, 320], end=480)
    packets = [p for p in packets for _ in range(2)]  # every packet duplicated in the network
    events, _ = feed_all(rx, packets)
    assert [(type(e), e.digit) for e in events] == [(DigitStarted, "9"), (DigitEnded, "9")]
    assert events[1].duration == 480


def test_two_presses_of_the_same_key_are_two_digits():
    rx = Rfc4733Receiver()
    first = Phone.press(5, 16000, [160, 320, 480, 640], end=800)
    second = Phone.press(5, 16000 + 800 + 480, [160, 320, 480, 640], end=800)  # 60 ms gap
    events, _ = feed_all(rx, first + second)
    assert [(type(e).__name__, e.digit, e.timestamp) for e in events] == [
        ("DigitStarted", "5", 16000),
        ("DigitEnded", "5", 16000),
        ("DigitStarted", "5", 17280),
        ("DigitEnded", "5", 17280),
    ]


def test_same_key_again_before_the_timeout_after_lost_ends():
    rx = Rfc4733Receiver()
    first = Phone.press(5, 16000, [160, 320, 480, 640], end=None)  # its ends all lost
    second = Phone.press(5, 17280, [160, 320], end=480)
    events, _ = feed_all(rx, first + second)
    assert [(type(e).__name__, e.timestamp) for e in events] == [
        ("DigitStarted", 16000),
        ("DigitEnded", 16000),
        ("DigitStarted", 17280),
        ("DigitEnded", 17280),
    ]
    assert events[1].reason is EndReason.SUPERSEDED and events[1].duration == 640


def test_reordered_update_does_not_shrink_the_duration():
    rx = Rfc4733Receiver()
    packets = Phone.press(2, 3000, [160, 480, 320], end=None)  # 480 overtook 320
    feed_all(rx, packets)
    (ended,) = rx.poll(10.0)
    assert ended.duration == 480


def test_late_packet_of_a_previous_digit_is_not_a_new_digit():
    rx = Rfc4733Receiver()
    first = Phone.press(1, 8000, [160, 320], end=480)
    second = Phone.press(2, 9600, [160], end=None)
    events, now = feed_all(rx, first + second)
    # An update of "1" that arrives after "2" began (network reordering): dropped as stale.
    assert rx.feed(8000, False, block(1, duration=320), now) == []
    late_unknown = rx.feed(8640, False, block(1, duration=160), now)  # never-seen, but older
    assert late_unknown == []
    assert [e.digit for e in events if isinstance(e, DigitStarted)] == ["1", "2"]


def test_timestamp_jump_backwards_is_a_new_source_not_stale():
    rx = Rfc4733Receiver()
    feed_all(rx, Phone.press(1, 900000, [160], end=320))
    events, _ = feed_all(rx, Phone.press(6, 1000, [160], end=320), start=1.0)
    assert [e.digit for e in events] == ["6", "6"]


def test_long_event_segments_across_a_timestamp_wrap():
    rx = Rfc4733Receiver()
    ts0 = 0xFFFFFFFF - 30000  # the second segment's timestamp wraps around 2^32
    seg1 = Phone.press(0, ts0, [160, 32000, 64000, 0xFFFF], end=None)
    seg1_end = (ts0, False, block(0, duration=0xFFFF))  # segment end: no E bit (2.5.1.3)
    ts1 = (ts0 + 0xFFFF) & 0xFFFFFFFF
    seg2 = [(ts1, False, block(0, duration=d)) for d in (160, 4000)]
    seg2_end = [(ts1, False, block(0, end=True, duration=8000))] * 3
    # The segment end is repeated 3 times, the repeats interleaved with the next segment.
    packets = seg1 + [seg1_end, seg2[0], seg1_end, seg2[1], seg1_end] + seg2_end
    events, _ = feed_all(rx, packets)
    assert [type(e) for e in events] == [DigitStarted, DigitEnded]
    ended = events[1]
    assert ended.timestamp == ts0 and ended.reason is EndReason.END
    assert ended.duration == 0xFFFF + 8000 and ended.duration_ms == round(73535 / 8)


def test_long_event_whose_segment_end_packets_were_lost():
    rx = Rfc4733Receiver()
    seg1 = Phone.press(8, 500, [160, 65440], end=None)  # last update short of 0xFFFF
    seg2 = Phone.press(8, 500 + 0xFFFF, [], end=1600)
    seg2[0] = (seg2[0][0], False, seg2[0][2])  # a continuation segment has no marker
    events, _ = feed_all(rx, seg1 + seg2)
    assert [type(e) for e in events] == [DigitStarted, DigitEnded]
    assert events[1].duration == 0xFFFF + 1600


def test_non_dtmf_events_are_counted_and_ignored():
    rx = Rfc4733Receiver()
    assert rx.feed(100, True, block(16, duration=160), 0.0) == []  # hook flash
    assert rx.non_dtmf_packets == 1 and rx.next_deadline() is None


def test_malformed_packet_raises_and_leaves_the_state_alone():
    rx = Rfc4733Receiver()
    rx.feed(100, True, block(4, duration=160), 0.0)
    with pytest.raises(DtmfParseError):
        rx.feed(100, False, b"\x04\x0a", 0.02)
    assert rx.feed(100, False, block(4, end=True, duration=320), 0.04)[0].duration == 320


def test_reset_forgets_the_stream():
    rx = Rfc4733Receiver()
    feed_all(rx, Phone.press(4, 100, [160], end=320))
    rx.reset()
    events, _ = feed_all(rx, Phone.press(4, 100, [160], end=320), start=1.0)
    assert [e.digit for e in events] == ["4", "4"]


# -------------------------------------------------------------------------------------- sender


def run_sender(tx, start_ts=1000, frames=100):
    """Tick the sender once per frame; returns [(frame index, packet)]."""
    out = []
    for i in range(frames):
        for packet in tx.next_packets(start_ts + i * FRAME):
            out.append((i, packet))
    return out


def decode(sent):
    return [(i, p.marker, p.timestamp, DtmfEvent.parse(p.payload)) for i, p in sent]


def test_sender_packet_sequence_shape():
    tx = Rfc4733Sender()
    tx.start("1", 100, volume=10)
    assert tx.busy
    sent = decode(run_sender(tx, start_ts=1000, frames=20))
    assert [(i, m, ts, e.end, e.duration) for i, m, ts, e in sent] == [
        (0, True, 1000, False, 160),
        (1, False, 1000, False, 320),
        (2, False, 1000, False, 480),
        (3, False, 1000, False, 640),
        (4, False, 1000, True, 800),
        (5, False, 1000, True, 800),
        (6, False, 1000, True, 800),
    ]
    assert {e.event for *_, e in sent} == {1} and {e.volume for *_, e in sent} == {10}
    assert not tx.busy


def test_sender_updates_every_50_ms():
    tx = Rfc4733Sender(update_interval_ms=50)
    tx.start("2", 300)
    sent = decode(run_sender(tx, frames=40))
    updates = [(i, e.duration) for i, _, _, e in sent if not e.end]
    assert updates[0] == (0, 160)
    gaps = [b[0] - a[0] for a, b in zip(updates, updates[1:], strict=False)]
    assert all(g * 20 >= 50 for g in gaps)
    ends = [i for i, _, _, e in sent if e.end]
    assert len(ends) == 3 and all((b - a) * 20 >= 50 for a, b in zip(ends, ends[1:], strict=False))
    assert {e.duration for *_, e in sent if e.end} == {2400}


def test_sender_duration_not_a_multiple_of_the_frame():
    tx = Rfc4733Sender()
    tx.start("#", 130)
    sent = decode(run_sender(tx, frames=20))
    assert [e.duration for *_, e in sent if e.end] == [1040] * 3
    assert max(e.duration for *_, e in sent) == 1040


def test_queued_digits_get_distinct_timestamps_after_the_end_packets():
    tx = Rfc4733Sender()
    for digit in "55":
        tx.start(digit, 100)
    sent = decode(run_sender(tx, start_ts=0, frames=30))
    first_ts, second_ts = sorted({ts for _, _, ts, _ in sent})
    last_end_of_first = max(i for i, _, ts, _ in sent if ts == first_ts)
    first_of_second = min(i for i, _, ts, _ in sent if ts == second_ts)
    assert first_of_second > last_end_of_first
    assert [m for _, m, ts, _ in sent if ts == second_ts][0] is True
    assert second_ts == first_of_second * FRAME


def test_sender_long_event_is_sent_in_segments():
    tx = Rfc4733Sender()
    tx.start("0", 9000)  # 72000 units: one full segment and 6465 units more
    ts0 = 0xFFFFFFFF - 1000  # and the timestamps wrap while at it
    sent = decode(run_sender(tx, start_ts=ts0, frames=500))
    ts1 = (ts0 + 0xFFFF) & 0xFFFFFFFF
    assert {ts for _, _, ts, _ in sent} == {ts0, ts1}
    seg_ends = [e for _, _, ts, e in sent if ts == ts0 and e.duration == 0xFFFF]
    assert len(seg_ends) == 3 and not any(e.end for e in seg_ends)
    assert [m for _, m, _, _ in sent].count(True) == 1
    finals = [(ts, e.duration) for _, _, ts, e in sent if e.end]
    assert finals == [(ts1, 72000 - 0xFFFF)] * 3
    # The receiver puts it back together as one 9 s digit.
    rx = Rfc4733Receiver()
    events = []
    for i, packet in run_sender(_sender_with("0", 9000), start_ts=ts0, frames=500):
        events += rx.feed(packet.timestamp, packet.marker, packet.payload, i * 0.02)
    assert [(type(e), e.digit) for e in events] == [(DigitStarted, "0"), (DigitEnded, "0")]
    assert events[1].duration == 72000 and events[1].duration_ms == 9000


def _sender_with(digit, duration_ms):
    tx = Rfc4733Sender()
    tx.start(digit, duration_ms)
    return tx


def test_cancel_ends_the_digit_in_progress_with_its_end_packets():
    tx = Rfc4733Sender()
    tx.start("7", 1000)
    tx.start("8", 100)
    sent = decode(run_sender(tx, frames=3))
    tx.cancel()
    sent += decode([(i + 3, p) for i, p in run_sender(tx, start_ts=1000 + 3 * FRAME, frames=10)])
    ends = [e for *_, e in sent if e.end]
    assert len(ends) == 3 and ends[0].duration == 4 * FRAME
    assert {e.event for *_, e in sent} == {7} and not tx.busy


def test_sender_refuses_bad_arguments():
    tx = Rfc4733Sender()
    with pytest.raises(DtmfValueError):
        tx.start("X", 100)
    with pytest.raises(DtmfValueError):
        tx.start("1", 0)
    with pytest.raises(DtmfValueError):
        tx.start("1", 100, volume=64)
    assert not tx.busy and tx.next_packets(0) == []


def test_sender_to_receiver_with_packet_loss():
    tx = Rfc4733Sender()
    for digit in "159#":
        tx.start(digit, 120)
    rx = Rfc4733Receiver()
    events = []
    for n, (i, packet) in enumerate(run_sender(tx, frames=80)):
        if n % 4 == 1:  # lose every fourth packet
            continue
        events += rx.feed(packet.timestamp, packet.marker, packet.payload, i * 0.02)
    events += rx.poll(10.0)
    assert "".join(e.digit for e in events if isinstance(e, DigitStarted)) == "159#"
    assert "".join(e.digit for e in events if isinstance(e, DigitEnded)) == "159#"


# -------------------------------------------------------------------------------- SIP INFO


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("application/dtmf-relay", b"Signal=5\r\nDuration=160", ("5", 160)),
        ("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n", ("5", 160)),
        ("application/dtmf-relay", b"signal=1\r\nduration=100\r\n", ("1", 100)),
        ("application/dtmf-relay", b"SIGNAL = #\nDURATION = 250\n", ("#", 250)),
        ("application/dtmf-relay", b"  Signal= 9 \r\n  Duration= 200 \r\n\r\n", ("9", 200)),
        ("application/dtmf-relay", b"Signal=11\r\nDuration=160\r\n", ("#", 160)),
        ("application/dtmf-relay", b"Signal=10\r\nDuration=160\r\n", ("*", 160)),
        ("application/dtmf-relay", b"Signal=*\r\nDuration=90", ("*", 90)),
        ("application/dtmf-relay", b"Signal=d\r\nDuration=90", ("D", 90)),
        ("application/dtmf-relay", b"Duration=300\r\nSignal=0", ("0", 300)),
        ("application/dtmf-relay", b"Signal=4", ("4", DEFAULT_INFO_DURATION_MS)),
        ("application/dtmf-relay", b"Signal=4\r\nDuration=abc", ("4", DEFAULT_INFO_DURATION_MS)),
        ("application/dtmf-relay", b"Signal=4\r\nDuration=0", ("4", DEFAULT_INFO_DURATION_MS)),
        ("application/dtmf-relay", b"Signal=6\r\nDuration=160 ms\r\n", ("6", 160)),
        ("Application/DTMF-Relay; charset=UTF-8", b"Signal=3\r\nDuration=160", ("3", 160)),
        ("application/dtmf", b"5", ("5", DEFAULT_INFO_DURATION_MS)),
        ("application/dtmf", b" #\r\n", ("#", DEFAULT_INFO_DURATION_MS)),
        ("application/dtmf", b"11", ("#", DEFAULT_INFO_DURATION_MS)),
        ("application/dtmf", b"Signal=7\r\nDuration=120", ("7", 120)),
        ("audio/telephone-event", block(2, end=True, duration=1600), ("2", 200)),
    ],
)
def test_info_bodies_seen_in_the_field(content_type, body, expected):
    assert parse_info_body(content_type, body) == expected


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/sdp", b"v=0\r\n"),
        ("text/plain", b"5"),
        ("application/dtmf-relay", b"Signal=16\r\nDuration=200"),  # hook flash
        ("application/dtmf-relay", b"Signal=!\r\nDuration=200"),
        ("audio/telephone-event", block(16, duration=800)),
    ],
)
def test_info_without_a_digit_gives_none(content_type, body):
    assert parse_info_body(content_type, body) is None


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/dtmf-relay", b""),
        ("application/dtmf-relay", b"Duration=160"),
        ("application/dtmf-relay", b"Signal=X\r\nDuration=160"),
        ("application/dtmf-relay", b"Signal=\r\nDuration=160"),
        ("application/dtmf-relay", b"Signal=\xb2\r\n"),  # superscript two: not a digit
        ("application/dtmf", b""),
        ("application/dtmf", b"55"),
        ("audio/telephone-event", b"\x01\x02"),
    ],
)
def test_malformed_info_body_is_a_400(content_type, body):
    with pytest.raises(DtmfParseError) as info:
        parse_info_body(content_type, body)
    assert info.value.status == 400


def test_info_body_for_sending_round_trips():
    for digit in DTMF_DIGITS:
        content_type, body = info_body(digit, 160)
        assert content_type == "application/dtmf-relay"
        assert body == f"Signal={digit}\r\nDuration=160\r\n".encode()
        assert parse_info_body(content_type, body) == (digit, 160)
    with pytest.raises(DtmfValueError):
        info_body("E")
    with pytest.raises(DtmfValueError):
        info_body("1", 0)


# --------------------------------------------------------------------------- digit collector


def test_collector_ends_on_max_digits():
    c = DigitCollector(max_digits=4, first_digit_timeout=5, inter_digit_timeout=3)
    c.start(100.0)
    assert [c.feed(d, 100.5 + i) for i, d in enumerate("123")] == [None] * 3
    result = c.feed("4", 104.0)
    assert result == CollectResult("1234", CollectReason.MAX_DIGITS)
    assert c.done and c.result == result and c.next_deadline() is None
    assert c.poll(200.0) is None  # reported once
    assert c.feed("5", 104.5) is None and c.result.digits == "1234"


def test_collector_ends_on_the_terminator_which_is_not_collected():
    c = DigitCollector(max_digits=10, first_digit_timeout=5, inter_digit_timeout=3)
    c.start(0.0)
    c.feed("4", 1.0)
    c.feed("2", 2.0)
    assert c.feed("#", 3.0) == CollectResult("42", CollectReason.TERMINATOR)
    only_terminator = DigitCollector(4, 5, 3, terminator="*")
    only_terminator.start(0.0)
    assert only_terminator.feed("*", 1.0) == CollectResult("", CollectReason.TERMINATOR)


def test_collector_first_digit_timeout():
    c = DigitCollector(max_digits=4, first_digit_timeout=5, inter_digit_timeout=3)
    c.start(100.0)
    assert c.next_deadline() == 105.0
    assert c.poll(104.99) is None
    assert c.poll(105.0) == CollectResult("", CollectReason.TIMEOUT_FIRST)
    assert c.poll(106.0) is None


def test_collector_inter_digit_timeout_moves_with_each_digit():
    c = DigitCollector(max_digits=6, first_digit_timeout=5, inter_digit_timeout=3)
    c.start(0.0)
    c.feed("1", 4.0)
    assert c.next_deadline() == 7.0
    c.feed("2", 6.5)
    assert c.next_deadline() == 9.5
    assert c.poll(9.4) is None
    assert c.poll(9.5) == CollectResult("12", CollectReason.TIMEOUT_INTER)


def test_collector_digit_after_the_deadline_does_not_count():
    c = DigitCollector(max_digits=6, first_digit_timeout=5, inter_digit_timeout=3)
    c.start(0.0)
    c.feed("1", 1.0)
    assert c.feed("2", 4.5) == CollectResult("1", CollectReason.TIMEOUT_INTER)


def test_collector_without_terminator_collects_hash():
    c = DigitCollector(max_digits=3, first_digit_timeout=5, inter_digit_timeout=3, terminator=None)
    c.start(0.0)
    c.feed("#", 1.0)
    c.feed("*", 1.5)
    assert c.feed("#", 2.0) == CollectResult("#*#", CollectReason.MAX_DIGITS)


def test_collector_misuse():
    c = DigitCollector(max_digits=3, first_digit_timeout=5, inter_digit_timeout=3)
    with pytest.raises(DtmfError):
        c.feed("1", 0.0)
    c.start(0.0)
    with pytest.raises(DtmfError):
        c.start(1.0)
    with pytest.raises(DtmfValueError):
        c.feed("x", 1.0)
    with pytest.raises(DtmfValueError):
        DigitCollector(max_digits=0, first_digit_timeout=5, inter_digit_timeout=3)
    with pytest.raises(DtmfValueError):
        DigitCollector(max_digits=2, first_digit_timeout=0, inter_digit_timeout=3)
