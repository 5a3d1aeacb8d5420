"""Offer/answer rewriting for the media relay (RFC 3264), on phone-shaped SDP."""

from __future__ import annotations

import pytest

from pbxd.media.anchor import (
    AnchoredSession,
    anchor_answer,
    anchor_offer,
    audio_stream_index,
    media_endpoint,
)
from pbxd.sip.errors import NotAcceptableHere, SipError
from pbxd.sip.sdp import Connection, Direction, SessionDescription

from .sdp_fixtures import (
    BARESIP_OFFER,
    BARESIP_OFFER_IPV6,
    LINPHONE_OFFER,
    OLD_STYLE_HOLD,
    PJSUA_OFFER,
    SIPP_OFFER,
    YEALINK_ANSWER,
    YEALINK_HOLD,
    YEALINK_OFFER,
    crlf,
)

PBX_IP = "192.0.2.10"
PORT_A = 20000  # pbxd's port facing the caller
PORT_B = 20002  # pbxd's port facing the callee


def parse(body: bytes) -> SessionDescription:
    return SessionDescription.parse(body)


def offer_to_b(body: bytes, **kwargs) -> SessionDescription:
    params = {"local_ip": PBX_IP, "local_port": PORT_B, "session_id": 777, "version": 1}
    params.update(kwargs)
    return anchor_offer(parse(body), **params)


def answer_from(codecs: str, rtpmaps: str = "", direction: str = "sendrecv", port: int = 30000):
    lines = [
        "v=0",
        "o=- 5 5 IN IP4 192.168.9.9",
        "s=-",
        "c=IN IP4 192.168.9.9",
        "t=0 0",
        f"m=audio {port} RTP/AVP {codecs}",
        *[line for line in rtpmaps.split("\n") if line],
        f"a={direction}",
    ]
    return parse(crlf("\n".join(lines)))


def test_yealink_offer_keeps_allowed_codecs_in_order_with_their_numbers():
    offer = offer_to_b(YEALINK_OFFER)
    assert offer.serialize() == crlf(f"""
v=0
o=pbxd 777 1 IN IP4 {PBX_IP}
s=pbxd
c=IN IP4 {PBX_IP}
t=0 0
m=audio {PORT_B} RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=sendrecv
""")
    assert media_endpoint(offer) == (PBX_IP, PORT_B)


def test_pjsua_offer_drops_opus_g722_and_the_48k_telephone_event():
    offer = offer_to_b(PJSUA_OFFER)
    audio = offer.media[0]
    assert audio.payload_types == (8, 0, 102)
    assert audio.rtpmap(102).clock_rate == 8000
    assert audio.fmtp(102) == "0-16"
    # What the relay cannot honour is left out: pjsua's rtcp port, its SSRC, bandwidth.
    for name in ("rtcp", "ssrc", "X-nat"):
        assert not audio.has_attribute(name) and not offer.has_attribute(name)
    assert offer.bandwidths == () and audio.bandwidths == ()


def test_linphone_offer_video_is_dropped_from_offer_and_rejected_in_answer():
    offer_a = parse(LINPHONE_OFFER)
    offer_b = offer_to_b(LINPHONE_OFFER)
    assert [m.media for m in offer_b.media] == ["audio"]
    # speex 8000, G729 are not allowed; 100 is the 8 kHz telephone-event.
    assert offer_b.media[0].payload_types == (0, 8, 100)

    answer_b = answer_from("0 100", "a=rtpmap:0 PCMU/8000\na=rtpmap:100 telephone-event/8000")
    answer_a = anchor_answer(
        answer_b, offer=offer_a, local_ip=PBX_IP, local_port=PORT_A, session_id=555, version=1
    )
    audio, video = answer_a.media
    assert (audio.media, audio.port, audio.payload_types) == ("audio", PORT_A, (0, 100))
    assert (video.media, video.port, video.proto) == ("video", 0, "RTP/AVP")
    assert video.formats == ("96", "97") and video.attributes == ()
    # The answer is valid SDP that Linphone would parse back.
    assert parse(answer_a.serialize()) == answer_a


def test_answer_carries_the_answerers_codecs_and_ptime():
    offer_a = parse(YEALINK_OFFER)
    answer_a = anchor_answer(
        parse(YEALINK_ANSWER),
        offer=offer_a,
        local_ip=PBX_IP,
        local_port=PORT_A,
        session_id=555,
        version=1,
    )
    assert answer_a.serialize() == crlf(f"""
v=0
o=pbxd 555 1 IN IP4 {PBX_IP}
s=pbxd
c=IN IP4 {PBX_IP}
t=0 0
m=audio {PORT_A} RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=sendrecv
""")


def test_answer_keeps_the_answerers_payload_number_for_telephone_event():
    # B answers telephone-event as 96 although the offer said 101: A must send 96 to B,
    # since the relay does not renumber.
    answer_b = answer_from("0 96", "a=rtpmap:96 telephone-event/8000")
    answer_a = anchor_answer(
        answer_b,
        offer=parse(YEALINK_OFFER),
        local_ip=PBX_IP,
        local_port=PORT_A,
        session_id=1,
        version=1,
    )
    assert answer_a.media[0].payload_types == (0, 96)
    assert answer_a.media[0].rtpmap(96).encoding == "telephone-event"


def test_answer_drops_codecs_the_offer_did_not_list():
    answer_b = answer_from("9 0", "a=rtpmap:9 G722/8000")
    answer_a = anchor_answer(
        answer_b,
        offer=parse(SIPP_OFFER),
        local_ip=PBX_IP,
        local_port=PORT_A,
        session_id=1,
        version=1,
    )
    assert answer_a.media[0].payload_types == (0,)


@pytest.mark.parametrize(
    "media_lines",
    [
        "m=audio 5004 RTP/AVP 18 9\na=rtpmap:18 G729/8000",  # nothing allowed
        "m=audio 5004 RTP/AVP 96\na=rtpmap:96 opus/48000/2",
        "m=audio 5004 RTP/AVP 101\na=rtpmap:101 telephone-event/8000",  # DTMF alone
        "m=audio 5004 RTP/AVP 97",  # dynamic without rtpmap: unknown codec
        "m=video 5006 RTP/AVP 96\na=rtpmap:96 VP8/90000",  # no audio at all
        "m=audio 5004 RTP/SAVP 0\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA",  # SRTP
        "m=audio 0 RTP/AVP 0",  # audio disabled
    ],
)
def test_offer_without_a_usable_allowed_codec_is_refused_with_488(media_lines):
    body = crlf("v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n" + media_lines)
    with pytest.raises(NotAcceptableHere) as info:
        offer_to_b(body)
    assert info.value.status == 488
    assert isinstance(info.value, SipError)


def test_offer_with_no_media_at_all_is_refused_with_488():
    with pytest.raises(NotAcceptableHere):
        offer_to_b(crlf("v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0"))


def test_allowed_codecs_can_be_narrowed():
    offer = offer_to_b(YEALINK_OFFER, allowed=("PCMA",))
    assert offer.media[0].payload_types == (8,)
    offer = offer_to_b(YEALINK_OFFER, allowed=("g722", "PCMU"))
    assert offer.media[0].payload_types == (0, 9)


def test_answer_without_a_shared_codec_is_488():
    answer_b = answer_from("18", "a=rtpmap:18 G729/8000")
    with pytest.raises(NotAcceptableHere):
        anchor_answer(
            answer_b,
            offer=parse(YEALINK_OFFER),
            local_ip=PBX_IP,
            local_port=PORT_A,
            session_id=1,
            version=1,
        )


def test_answer_rejecting_audio_is_passed_on_as_rejected():
    answer_b = answer_from("0", port=0)
    answer_a = anchor_answer(
        answer_b,
        offer=parse(LINPHONE_OFFER),
        local_ip=PBX_IP,
        local_port=PORT_A,
        session_id=1,
        version=1,
    )
    assert [m.port for m in answer_a.media] == [0, 0]
    assert media_endpoint(answer_a) is None


def test_hold_with_sendonly_passes_through_both_ways():
    offer_b = offer_to_b(YEALINK_HOLD)
    assert offer_b.direction_of(offer_b.media[0]) is Direction.SENDONLY
    assert media_endpoint(offer_b) == (PBX_IP, PORT_B)  # RTCP still flows while held

    answer_b = answer_from("0", direction="recvonly")
    answer_a = anchor_answer(
        answer_b,
        offer=parse(YEALINK_HOLD),
        local_ip=PBX_IP,
        local_port=PORT_A,
        session_id=1,
        version=2,
    )
    assert answer_a.direction_of(answer_a.media[0]) is Direction.RECVONLY


def test_session_level_inactive_becomes_media_level():
    body = crlf(
        "v=0\no=- 1 2 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\na=inactive\n"
        "m=audio 5004 RTP/AVP 0"
    )
    offer_b = offer_to_b(body)
    assert offer_b.media[0].direction is Direction.INACTIVE


def test_old_style_hold_is_passed_on_as_zero_address():
    offer_b = offer_to_b(OLD_STYLE_HOLD)
    assert media_endpoint(parse(OLD_STYLE_HOLD)) is None
    assert media_endpoint(offer_b) is None
    assert offer_b.connection_of(offer_b.media[0]) == Connection("0.0.0.0", "IP4")
    assert offer_b.origin.address == PBX_IP
    assert b"c=IN IP4 0.0.0.0\r\n" in offer_b.serialize()


def test_old_style_hold_towards_an_ipv6_leg_uses_the_direction():
    offer_b = offer_to_b(OLD_STYLE_HOLD, local_ip="2001:db8::10")
    audio = offer_b.media[0]
    assert offer_b.direction_of(audio) is Direction.SENDONLY
    assert media_endpoint(offer_b) == ("2001:db8::10", PORT_B)


def test_ipv6_offer_and_ipv6_anchor():
    assert media_endpoint(parse(BARESIP_OFFER_IPV6)) == ("2001:db8:10::5", 10320)
    offer_b = offer_to_b(BARESIP_OFFER_IPV6, local_ip="2001:db8::10")
    text = offer_b.serialize()
    assert b"o=pbxd 777 1 IN IP6 2001:db8::10\r\n" in text
    assert b"c=IN IP6 2001:db8::10\r\n" in text
    # An IPv6 phone can be anchored on an IPv4 leg too: the relay bridges families.
    offer_v4 = offer_to_b(BARESIP_OFFER_IPV6)
    assert offer_v4.connection == Connection(PBX_IP, "IP4")


def test_media_endpoint_of_phone_offers():
    assert media_endpoint(parse(PJSUA_OFFER)) == ("192.168.1.20", 4000)
    assert media_endpoint(parse(BARESIP_OFFER)) == ("10.0.0.5", 10318)
    assert media_endpoint(parse(LINPHONE_OFFER)) == ("192.168.0.33", 7078)
    assert media_endpoint(answer_from("0", port=0)) is None


def test_first_live_audio_stream_is_anchored():
    body = crlf(
        "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n"
        "m=video 5008 RTP/AVP 96\na=rtpmap:96 VP8/90000\n"
        "m=audio 0 RTP/AVP 0\n"
        "m=audio 5004 RTP/AVP 8\nc=IN IP4 10.0.0.2\n"
        "m=audio 5006 RTP/AVP 0"
    )
    sd = parse(body)
    assert audio_stream_index(sd) == 2
    assert media_endpoint(sd) == ("10.0.0.2", 5004)
    answer_a = anchor_answer(
        answer_from("8", "a=rtpmap:8 PCMA/8000"),
        offer=sd,
        local_ip=PBX_IP,
        local_port=PORT_A,
        session_id=1,
        version=1,
    )
    assert [(m.media, m.port) for m in answer_a.media] == [
        ("video", 0),
        ("audio", 0),
        ("audio", PORT_A),
        ("audio", 0),
    ]


def test_local_ip_must_be_an_address():
    with pytest.raises(ValueError):
        offer_to_b(YEALINK_OFFER, local_ip="pbx.example.com")


# AnchoredSession: one per call leg, owns pbxd's o= line on that leg.


def make_legs():
    leg_a = AnchoredSession(local_ip=PBX_IP, local_port=PORT_A, session_id=1001)
    leg_b = AnchoredSession(local_ip=PBX_IP, local_port=PORT_B, session_id=2002)
    return leg_a, leg_b


def test_call_setup_hold_resume_and_refresh_versions():
    leg_a, leg_b = make_legs()
    offer_a = parse(YEALINK_OFFER)

    offer_b = leg_b.make_offer(offer_a)
    answer_a = leg_a.make_answer(offer_a, parse(YEALINK_ANSWER))
    assert (offer_b.origin.session_id, offer_b.origin.session_version) == ("2002", 1)
    assert (answer_a.origin.session_id, answer_a.origin.session_version) == ("1001", 1)
    assert offer_b.media[0].port == PORT_B and answer_a.media[0].port == PORT_A

    # A holds: new SDP on both legs, versions + 1, o= otherwise identical (RFC 3264 8).
    hold_a = parse(YEALINK_HOLD)
    hold_b = leg_b.make_offer(hold_a)
    held_answer_a = leg_a.make_answer(hold_a, answer_from("8 101", direction="recvonly"))
    assert hold_b.origin.session_version == 2
    assert hold_b.origin.session_id == offer_b.origin.session_id
    assert hold_b.origin.address == offer_b.origin.address
    assert held_answer_a.origin.session_version == 2
    assert hold_b.media[0].direction is Direction.SENDONLY

    # Resume.
    resume_b = leg_b.make_offer(offer_a)
    assert resume_b.origin.session_version == 3
    assert resume_b.media[0].direction is Direction.SENDRECV

    # A session refresh with the same SDP: nothing changed, so the version stays.
    refresh_b = leg_b.make_offer(offer_a)
    assert refresh_b == resume_b
    assert leg_b.version == 3


def test_refused_offer_does_not_use_up_a_version():
    _, leg_b = make_legs()
    leg_b.make_offer(parse(YEALINK_OFFER))
    with pytest.raises(NotAcceptableHere):
        leg_b.make_offer(
            parse(
                crlf(
                    "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\n"
                    "m=audio 5004 RTP/AVP 18"
                )
            )
        )
    assert leg_b.version == 1
    assert leg_b.make_offer(parse(YEALINK_HOLD)).origin.session_version == 2


def test_reinvite_from_the_callee_runs_the_other_way():
    leg_a, leg_b = make_legs()
    offer_a = parse(BARESIP_OFFER)
    leg_b.make_offer(offer_a)
    leg_a.make_answer(offer_a, parse(YEALINK_ANSWER))

    # B re-INVITEs (hold); pbxd offers to A, A answers, pbxd answers B.
    offer_from_b = parse(YEALINK_HOLD)
    offer_to_a = leg_a.make_offer(offer_from_b)
    assert offer_to_a.origin.session_version == 2
    assert offer_to_a.media[0].port == PORT_A
    answer_to_b = leg_b.make_answer(offer_from_b, answer_from("0", direction="recvonly"))
    assert answer_to_b.origin.session_version == 2
    assert answer_to_b.media[0].port == PORT_B
    assert answer_to_b.media[0].direction is Direction.RECVONLY


def test_first_version_can_be_chosen():
    leg = AnchoredSession(local_ip="::1", local_port=PORT_A, session_id=9, first_version=9)
    sd = leg.make_offer(parse(SIPP_OFFER))
    assert sd.origin.session_version == 9
    assert sd.origin.addrtype == "IP6"
