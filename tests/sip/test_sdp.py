"""SDP parse/serialize (RFC 4566) on bodies shaped like real phones' offers."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbxd.sip.sdp import (
    Attribute,
    Connection,
    Direction,
    MediaDescription,
    Origin,
    RtpMap,
    SdpError,
    SessionDescription,
)
from tests.media.sdp_fixtures import (
    BARESIP_OFFER,
    BARESIP_OFFER_IPV6,
    LF_ONLY_OFFERS,
    LINPHONE_OFFER,
    OLD_STYLE_HOLD,
    PHONE_OFFERS,
    PJSUA_OFFER,
    SIPP_OFFER,
    YEALINK_HOLD,
    YEALINK_OFFER,
)


@pytest.mark.parametrize("name", sorted(PHONE_OFFERS))
def test_phone_sdp_round_trips_byte_for_byte(name):
    body = PHONE_OFFERS[name]
    assert SessionDescription.parse(body).serialize() == body


@pytest.mark.parametrize("name", sorted(LF_ONLY_OFFERS))
def test_lf_only_body_parses_and_is_written_with_crlf(name):
    body = LF_ONLY_OFFERS[name]
    out = SessionDescription.parse(body).serialize()
    assert out == body.replace(b"\n", b"\r\n")
    assert SessionDescription.parse(out) == SessionDescription.parse(body)


def test_parse_accepts_str():
    assert SessionDescription.parse(YEALINK_OFFER.decode()) == SessionDescription.parse(
        YEALINK_OFFER
    )


def test_pjsua_offer_fields():
    sd = SessionDescription.parse(PJSUA_OFFER)
    assert sd.origin == Origin("-", "3913290021", 3913290021, "IN", "IP4", "192.168.1.20")
    assert sd.session_name == "pjmedia"
    assert sd.connection is None
    assert [(b.bwtype, b.value) for b in sd.bandwidths] == [("AS", "117")]
    assert sd.attribute("X-nat") == "0"
    (audio,) = sd.media
    assert (audio.media, audio.port, audio.proto) == ("audio", 4000, "RTP/AVP")
    assert audio.payload_types == (96, 9, 8, 0, 101, 102)
    assert sd.connection_of(audio) == Connection("192.168.1.20", "IP4")
    assert audio.rtpmap(96) == RtpMap(96, "opus", 48000, 2)
    assert audio.rtpmap(101) == RtpMap(101, "telephone-event", 48000)
    assert audio.rtpmap(102).clock_rate == 8000
    assert audio.fmtp(96) == "useinbandfec=1"
    assert audio.fmtp(8) is None
    assert audio.attribute("rtcp") == "4001 IN IP4 192.168.1.20"
    assert sd.direction_of(audio) is Direction.SENDRECV


def test_static_payload_types_need_no_rtpmap():
    sd = SessionDescription.parse(
        b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        b"m=audio 5004 RTP/AVP 0 8 18 96\r\n"
    )
    audio = sd.media[0]
    assert audio.rtpmap(0) == RtpMap(0, "PCMU", 8000)
    assert audio.rtpmap(8).name == "pcma"
    assert audio.rtpmap(18).encoding == "G729"
    assert audio.rtpmap(96) is None  # dynamic and undeclared: unknown


def test_rtpmap_lookup_is_per_media_section():
    # Linphone uses PT 96 for opus in audio and VP8 in video.
    sd = SessionDescription.parse(LINPHONE_OFFER)
    audio, video = sd.media
    assert audio.rtpmap(96).encoding == "opus"
    assert video.rtpmap(96).encoding == "VP8"
    assert video.fmtp(97) == "profile-level-id=42801F"
    assert audio.fmtp(18) == "annexb=yes"
    assert audio.rtpmap(18) == RtpMap(18, "G729", 8000)
    assert audio.attributes_named("rtcp-fb") == ["* trr-int 1000", "* ccm tmmbr"]
    assert sd.attribute("record") == "off"


def test_ptime_and_direction():
    sd = SessionDescription.parse(YEALINK_HOLD)
    audio = sd.media[0]
    assert audio.ptime == 20
    assert audio.maxptime is None
    assert audio.direction is Direction.SENDONLY
    assert sd.direction_of(audio) is Direction.SENDONLY
    assert sd.direction_of(audio).reversed() is Direction.RECVONLY
    assert SessionDescription.parse(SIPP_OFFER).media[0].ptime is None


def test_media_direction_overrides_session_direction():
    body = (
        "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\na=sendonly\n"
        "m=audio 5004 RTP/AVP 0\na=inactive\n"
        "m=audio 5006 RTP/AVP 0\n"
    )
    sd = SessionDescription.parse(body)
    assert sd.direction is Direction.SENDONLY
    assert sd.direction_of(sd.media[0]) is Direction.INACTIVE
    assert sd.direction_of(sd.media[1]) is Direction.SENDONLY


def test_ipv6_connection_and_origin():
    sd = SessionDescription.parse(BARESIP_OFFER_IPV6)
    assert sd.origin.addrtype == "IP6"
    assert sd.connection == Connection("2001:db8:10::5", "IP6")
    assert sd.serialize() == BARESIP_OFFER_IPV6


def test_old_style_hold_connection_is_unspecified():
    sd = SessionDescription.parse(OLD_STYLE_HOLD)
    assert sd.connection.is_unspecified
    assert not SessionDescription.parse(BARESIP_OFFER).connection.is_unspecified


def test_unknown_lines_and_attributes_are_kept_verbatim():
    body = (
        b"v=0\r\no=bob 7 9 IN IP4 10.1.1.1\r\ns=call\r\ni=a session\r\nu=http://x.invalid/\r\n"
        b"e=bob@example.com\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\nz=2882844526 -1h\r\n"
        b"y=something new\r\na=x-custom:  spaced value \r\na=flag\r\n"
        b"m=audio 5004 RTP/AVP 0\r\ni=voice\r\nb=AS:64\r\nk=prompt\r\n"
        b"a=rtpmap:0 PCMU/8000\r\na=x-vendor:1;2;3\r\n"
    )
    sd = SessionDescription.parse(body)
    assert sd.serialize() == body
    assert sd.attribute("x-custom") == "  spaced value "
    assert sd.attribute("flag") == ""
    assert sd.attribute("missing") is None
    assert "y=something new" in sd.other_lines
    assert sd.media[0].other_lines == ("i=voice", "k=prompt")


def test_multicast_connection_round_trips():
    body = (
        b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 224.2.1.1/127/3\r\nt=0 0\r\n"
        b"m=audio 49170/2 RTP/AVP 0\r\n"
    )
    sd = SessionDescription.parse(body)
    assert (sd.connection.ttl, sd.connection.count) == (127, 3)
    assert (sd.media[0].port, sd.media[0].port_count) == (49170, 2)
    assert sd.serialize() == body


def test_non_rtp_formats_are_tokens():
    body = (
        b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
        b"m=application 5000 TCP/BFCP *\r\nm=image 6000 udptl t38\r\n"
    )
    sd = SessionDescription.parse(body)
    assert sd.media[0].formats == ("*",)
    assert sd.media[1].formats == ("t38",)
    assert sd.media[1].payload_types == ()


def test_blank_lines_and_missing_optional_lines_are_tolerated():
    sd = SessionDescription.parse(b"v=0\n\no=- 1 2 IN IP4 10.0.0.1\nc=IN IP4 10.0.0.1\n\n")
    assert sd.session_name == "-"  # s= was missing; written back as "-"
    assert sd.media == ()
    assert sd.serialize() == (
        b"v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
    )


def test_rejected_stream_without_formats_is_tolerated():
    body = b"v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 0 RTP/AVP\r\n"
    assert SessionDescription.parse(body).media[0].port == 0


def test_built_values_serialize():
    sd = SessionDescription(
        origin=Origin("pbxd", "42", 3, "IN", "IP4", "10.0.0.9"),
        connection=Connection.for_ip("10.0.0.9"),
        media=(
            MediaDescription(
                "audio", 30000, "RTP/AVP", ("8",), attributes=(Attribute("sendrecv"),)
            ),
        ),
    )
    assert sd.serialize() == (
        b"v=0\r\no=pbxd 42 3 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n"
        b"m=audio 30000 RTP/AVP 8\r\na=sendrecv\r\n"
    )
    assert Connection.for_ip("::1") == Connection("::1", "IP6")


_HEAD = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"


@pytest.mark.parametrize(
    "body",
    [
        "",
        "\r\n\r\n",
        "o=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\n",  # no v=
        "v=1\r\no=- 1 1 IN IP4 10.0.0.1\r\n",  # unknown version
        "v=0\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0\r\n",  # no o=
        "v=0\r\no=- 1 IN IP4 10.0.0.1\r\n",  # o= with 5 fields
        "v=0\r\no=- 1 v2 IN IP4 10.0.0.1\r\n",  # non-numeric version
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\no=- 1 1 IN IP4 10.0.0.1\r\n",  # o= twice
        _HEAD + "v=0\r\n",
        _HEAD + "m=audio\r\n",  # m= without port and proto
        _HEAD + "m=audio 5004\r\n",
        _HEAD + "m=audio abc RTP/AVP 0\r\n",
        _HEAD + "m=audio 70000 RTP/AVP 0\r\n",
        _HEAD + "m=audio -1 RTP/AVP 0\r\n",
        _HEAD + "m=audio 5004/0 RTP/AVP 0\r\n",
        _HEAD + "m=audio 5004 RTP/AVP\r\n",  # live stream without formats
        _HEAD + "m=audio 5004 RTP/AVP 0 PCMU\r\n",
        _HEAD + "m=audio 5004 RTP/AVP 128\r\n",
        _HEAD + "m=audio 5004 RTP/AVP ٣\r\n",  # a non-ASCII digit
        _HEAD + "m=audio 5004 RTP/AVP 0\r\no=- 2 2 IN IP4 10.0.0.1\r\n",
        _HEAD + "garbage line\r\n",
        _HEAD + "A=upper\r\n",
        _HEAD + " a=indented\r\n",
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4\r\n",  # c= with 2 fields
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1/x\r\n",
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 5004 RTP/AVP 0\r\n",  # no c=
        "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0\r\n",  # t= with 1 field
    ],
)
def test_broken_sdp_raises_sdp_error_with_400(body):
    with pytest.raises(SdpError) as info:
        SessionDescription.parse(body.encode())
    assert info.value.status == 400
    assert isinstance(info.value, ValueError)


# Fuzzing: whatever the input, only SdpError escapes, and whatever parses re-parses to the
# same value from its own serialization.

_SEEDS = [*PHONE_OFFERS.values(), *LF_ONLY_OFFERS.values()]


def _check(data: bytes) -> None:
    try:
        sd = SessionDescription.parse(data)
    except SdpError:
        return
    assert SessionDescription.parse(sd.serialize()) == sd


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_random_bytes(data):
    _check(data)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(_SEEDS),
    st.lists(
        st.tuples(st.integers(0, 2000), st.integers(0, 12), st.binary(max_size=8)), max_size=4
    ),
)
def test_fuzz_mutated_phone_bodies(seed, edits):
    data = bytearray(seed)
    for position, cut, insert in edits:
        position %= len(data) + 1
        data[position : position + cut] = insert
    _check(bytes(data))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(_SEEDS), st.integers(1, 400))
def test_fuzz_truncated_bodies(seed, length):
    _check(seed[:length])
