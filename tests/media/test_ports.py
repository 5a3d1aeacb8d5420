"""RTP port allocation: even ports, RTCP beside them, least recently used first."""

from __future__ import annotations

import pytest

from pbxd.media.ports import PortAllocator, PortsExhausted, parse_port_range
from pbxd.sip.errors import SipError


def test_hands_out_even_ports_with_room_for_rtcp():
    allocator = PortAllocator(10000, 10009)
    ports = [allocator.allocate() for _ in range(allocator.capacity)]
    assert ports == [10000, 10002, 10004, 10006, 10008]
    assert all(port % 2 == 0 and port + 1 <= 10009 for port in ports)


def test_odd_high_end_is_usable_even_high_end_is_not():
    assert PortAllocator(10000, 10003).capacity == 2  # 10000/1, 10002/3
    assert PortAllocator(10000, 10004).capacity == 2  # 10004 has no RTCP port inside


def test_never_hands_out_a_port_twice_while_in_use():
    allocator = PortAllocator(20000, 20199)
    taken = [allocator.allocate() for _ in range(100)]
    assert len(set(taken)) == 100
    assert allocator.in_use == 100 and allocator.available == 0


def test_exhaustion_raises_a_clear_503():
    allocator = PortAllocator(30000, 30003)
    allocator.allocate()
    allocator.allocate()
    with pytest.raises(PortsExhausted) as info:
        allocator.allocate()
    assert info.value.status == 503
    assert isinstance(info.value, SipError)
    assert "30000-30003" in str(info.value) and "2" in str(info.value)


def test_freed_port_is_reused_last():
    allocator = PortAllocator(40000, 40009)  # 5 pairs
    first = allocator.allocate()
    second = allocator.allocate()
    allocator.release(first)
    # The three never-used ports come first, then the freed one.
    assert [allocator.allocate() for _ in range(3)] == [40004, 40006, 40008]
    assert allocator.allocate() == first
    allocator.release(second)
    assert allocator.allocate() == second


def test_release_order_decides_reuse_order():
    allocator = PortAllocator(40000, 40005)  # 3 pairs
    a, b, c = (allocator.allocate() for _ in range(3))
    for port in (b, c, a):
        allocator.release(port)
    assert [allocator.allocate() for _ in range(3)] == [b, c, a]


def test_release_of_a_port_not_allocated_is_an_error():
    allocator = PortAllocator(40000, 40009)
    with pytest.raises(ValueError):
        allocator.release(40000)
    port = allocator.allocate()
    allocator.release(port)
    with pytest.raises(ValueError):
        allocator.release(port)
    assert allocator.is_allocated(port) is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10000-20000", (10000, 20000)),
        (" 1024-1025 ", (1024, 1025)),
        ("16384 - 32767", (16384, 32767)),
    ],
)
def test_parse_port_range(text, expected):
    assert parse_port_range(text) == expected
    assert PortAllocator.from_range(text).low == expected[0]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "10000",
        "10000-",
        "-20000",
        "abc-def",
        "10001-20000",  # odd low: not an RTP port
        "20000-10000",
        "20000-20000",
        "1000-2000",  # below 1024
        "60000-70000",  # above 65535
        "10000-20000-30000",
        "１０000-20000",  # non-ASCII digits
    ],
)
def test_parse_port_range_rejects(text):
    with pytest.raises(ValueError):
        parse_port_range(text)


def test_constructor_validates_too():
    with pytest.raises(ValueError):
        PortAllocator(10001, 10009)
    with pytest.raises(ValueError):
        PortAllocator(10000, 10000)
