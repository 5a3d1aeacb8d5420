"""Per-leg offer/answer of the media engine (RFC 3264)."""

import pytest

from pbxd.media.negotiate import LegNegotiator
from pbxd.sip.errors import NotAcceptableHere
from pbxd.sip.sdp import Direction, SessionDescription

PJSUA_OFFER = (
    "v=0\r\n"
    "o=- 3913 3913 IN IP4 192.168.1.20\r\n"
    "s=pjmedia\r\n"
    "c=IN IP4 192.168.1.20\r\n"
    "t=0 0\r\n"
    "m=audio 4000 RTP/AVP 8 0 9 101\r\n"
    "a=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:0 PCMU/8000\r\n"
    "a=rtpmap:9 G722/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-16\r\n"
    "a=sendrecv\r\n"
    "m=video 4002 RTP/AVP 96\r\n"
    "a=rtpmap:96 H264/90000\r\n"
)


def negotiator(port: int = 20000) -> LegNegotiator:
    return LegNegotiator(local_ip="192.0.2.1", local_port=port, session_id=42)


def sdp(text: str) -> SessionDescription:
    return SessionDescription.parse(text)


def test_answer_takes_the_offerers_first_supported_codec_and_rejects_video():
    answer, terms = negotiator().answer(sdp(PJSUA_OFFER))
    assert terms.codec.name == "PCMA" and terms.codec.payload_type == 8
    assert terms.dtmf_payload_type == 101
    assert terms.remote == ("192.168.1.20", 4000)
    assert terms.direction is Direction.SENDRECV
    audio, video = answer.media
    assert audio.port == 20000 and audio.formats == ("8", "101")
    assert video.port == 0  # rejected, m-line kept (RFC 3264 section 6)
    assert answer.connection_of(audio).address == "192.0.2.1"


def test_answer_prefers_the_other_legs_codec_to_avoid_transcoding():
    _, terms = negotiator().answer(sdp(PJSUA_OFFER), preferred=["G722"])
    assert terms.codec.name == "G722"


def test_hold_offer_sendonly_is_answered_recvonly():
    held = PJSUA_OFFER.replace("a=sendrecv", "a=sendonly")
    answer, terms = negotiator().answer(sdp(held))
    assert terms.direction is Direction.RECVONLY
    assert answer.media[0].direction is Direction.RECVONLY


def test_old_style_hold_with_zero_address_has_no_remote():
    held = PJSUA_OFFER.replace("c=IN IP4 192.168.1.20", "c=IN IP4 0.0.0.0")
    _, terms = negotiator().answer(sdp(held))
    assert terms.remote is None and terms.direction is Direction.INACTIVE


def test_offer_without_engine_codecs_is_488():
    opus_only = PJSUA_OFFER.replace("m=audio 4000 RTP/AVP 8 0 9 101", "m=audio 4000 RTP/AVP 111")
    opus_only = opus_only.replace("a=rtpmap:8 PCMA/8000", "a=rtpmap:111 opus/48000/2")
    with pytest.raises(NotAcceptableHere):
        negotiator().answer(sdp(opus_only))


def test_pbxd_offer_lists_engine_codecs_preferred_first_and_accepts_the_answer():
    leg = negotiator()
    offer = leg.offer(preferred=["PCMA"])
    assert offer.media[0].formats[0] == "8"
    assert offer.media[0].formats[-1] == "101"
    remote_answer = (
        "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n"
        "m=audio 7078 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
    )
    terms = leg.accept_answer(sdp(remote_answer))
    assert terms.codec.name == "PCMU" and terms.remote == ("10.0.0.5", 7078)
    assert terms.dtmf_payload_type == 101


def test_version_grows_only_when_the_sdp_changes():
    leg = negotiator()
    first = leg.offer()
    assert leg.offer() is first
    held = leg.offer(direction=Direction.SENDONLY)
    assert held.origin.session_version == first.origin.session_version + 1
    assert held.origin.session_id == first.origin.session_id
