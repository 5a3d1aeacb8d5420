"""Which re-offers put a call on hold: what pbxd refuses in an internal call (brochure 5.12)."""

from __future__ import annotations

import pytest

from pbxd.call.b2bua import holds


def offer(direction: str | None, address: str = "192.0.2.10") -> bytes:
    lines = [
        "v=0", f"o=- 1 2 IN IP4 {address}", "s=-", f"c=IN IP4 {address}", "t=0 0",
        "m=audio 4000 RTP/AVP 0", "a=rtpmap:0 PCMU/8000",
    ]  # fmt: skip
    if direction:
        lines.append(f"a={direction}")
    return ("\r\n".join(lines) + "\r\n").encode()


@pytest.mark.parametrize(
    ("body", "held"),
    [
        (offer("sendonly"), True),
        (offer("inactive"), True),
        (offer(None, "0.0.0.0"), True),  # the RFC 2543 way of holding
        (offer("sendrecv"), False),
        (offer(None), False),
        (offer("recvonly"), False),
        (b"not sdp", False),  # refused later by the renegotiation, with its own error
    ],
)
def test_a_hold_is_an_offer_that_stops_sending_to_the_other_side(body: bytes, held: bool) -> None:
    assert holds(body) is held
