"""SDP bodies shaped like the ones real phones and tools send (typed by hand, not captured).

Each one imitates the habits of its sender: pjsua's session-level b=AS and rtcp attribute,
two telephone-event rates, baresip's ptime/label, Linphone's reuse of PT 96 in audio and
video, Yealink's fmtp before rtpmap, sipp's LF-only bodies from scenario XML.
"""

from __future__ import annotations


def crlf(text: str) -> bytes:
    """A fixture as it goes on the wire: lines ended by CRLF."""
    return "".join(line + "\r\n" for line in text.strip("\n").split("\n")).encode()


def lf(text: str) -> bytes:
    return "".join(line + "\n" for line in text.strip("\n").split("\n")).encode()


PJSUA_OFFER = crlf("""
v=0
o=- 3913290021 3913290021 IN IP4 192.168.1.20
s=pjmedia
b=AS:117
t=0 0
a=X-nat:0
m=audio 4000 RTP/AVP 96 9 8 0 101 102
c=IN IP4 192.168.1.20
b=TIAS:96000
a=rtcp:4001 IN IP4 192.168.1.20
a=sendrecv
a=rtpmap:96 opus/48000/2
a=fmtp:96 useinbandfec=1
a=rtpmap:9 G722/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/48000
a=fmtp:101 0-16
a=rtpmap:102 telephone-event/8000
a=fmtp:102 0-16
a=ssrc:1185497412 cname:6a1f0d2b3c4e5f60
""")

BARESIP_OFFER = crlf("""
v=0
o=- 1801375523 2845016730 IN IP4 10.0.0.5
s=-
c=IN IP4 10.0.0.5
t=0 0
a=tool:baresip 3.10.1
m=audio 10318 RTP/AVP 96 0 8 101
b=AS:88
a=rtpmap:96 opus/48000/2
a=fmtp:96 stereo=1;sprop-stereo=1;maxaveragebitrate=28000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
a=label:1
a=rtcp-rsize
a=ptime:20
""")

BARESIP_OFFER_IPV6 = crlf("""
v=0
o=- 1801375524 1801375524 IN IP6 2001:db8:10::5
s=-
c=IN IP6 2001:db8:10::5
t=0 0
m=audio 10320 RTP/AVP 0 8 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
a=ptime:20
""")

LINPHONE_OFFER = crlf("""
v=0
o=alice 2205 1838 IN IP4 192.168.0.33
s=Talk
c=IN IP4 192.168.0.33
t=0 0
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics
a=record:off
m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100
a=rtpmap:96 opus/48000/2
a=fmtp:96 useinbandfec=1
a=rtpmap:97 speex/16000
a=fmtp:97 vbr=on
a=rtpmap:98 speex/8000
a=fmtp:98 vbr=on
a=fmtp:18 annexb=yes
a=rtpmap:101 telephone-event/48000
a=rtpmap:99 telephone-event/16000
a=rtpmap:100 telephone-event/8000
a=rtcp-fb:* trr-int 1000
a=rtcp-fb:* ccm tmmbr
m=video 9078 RTP/AVP 96 97
a=rtpmap:96 VP8/90000
a=rtpmap:97 H264/90000
a=fmtp:97 profile-level-id=42801F
a=rtcp-fb:* trr-int 1000
a=rtcp-fb:* ccm tmmbr
a=rtcp-fb:96 nack pli
""")

YEALINK_OFFER = crlf("""
v=0
o=- 20020 20020 IN IP4 192.168.1.105
s=SDP data
c=IN IP4 192.168.1.105
t=0 0
m=audio 11800 RTP/AVP 0 8 18 9 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:18 G729/8000
a=fmtp:18 annexb=no
a=rtpmap:9 G722/8000
a=fmtp:101 0-15
a=rtpmap:101 telephone-event/8000
a=ptime:20
a=sendrecv
""")

# The same phone putting the call on hold: o= version + 1, a=sendonly.
YEALINK_HOLD = crlf("""
v=0
o=- 20020 20021 IN IP4 192.168.1.105
s=SDP data
c=IN IP4 192.168.1.105
t=0 0
m=audio 11800 RTP/AVP 0 8 18 9 101
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:18 G729/8000
a=fmtp:18 annexb=no
a=rtpmap:9 G722/8000
a=fmtp:101 0-15
a=rtpmap:101 telephone-event/8000
a=ptime:20
a=sendonly
""")

# Yealink answering with one codec, as a phone answering pbxd's offer would.
YEALINK_ANSWER = crlf("""
v=0
o=- 20100 20100 IN IP4 192.168.1.106
s=SDP data
c=IN IP4 192.168.1.106
t=0 0
m=audio 11780 RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=sendrecv
""")

# sipp's stock UAC scenario: LF-only, no direction, static PT without rtpmap elsewhere.
SIPP_OFFER = lf("""
v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
""")

SIPP_OFFER_DTMF = lf("""
v=0
o=user1 53655765 2353687637 IN IP4 127.0.0.1
s=-
c=IN IP4 127.0.0.1
t=0 0
m=audio 6000 RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-11,16
""")

# RFC 2543 hold, still sent by old gateways: c=0.0.0.0, no direction attribute.
OLD_STYLE_HOLD = crlf("""
v=0
o=gw 4021 4022 IN IP4 192.168.5.9
s=session
c=IN IP4 0.0.0.0
t=0 0
m=audio 16384 RTP/AVP 0 8
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
""")

PHONE_OFFERS = {
    "pjsua": PJSUA_OFFER,
    "baresip": BARESIP_OFFER,
    "baresip-ipv6": BARESIP_OFFER_IPV6,
    "linphone": LINPHONE_OFFER,
    "yealink": YEALINK_OFFER,
    "yealink-hold": YEALINK_HOLD,
    "yealink-answer": YEALINK_ANSWER,
    "old-style-hold": OLD_STYLE_HOLD,
}

LF_ONLY_OFFERS = {"sipp": SIPP_OFFER, "sipp-dtmf": SIPP_OFFER_DTMF}
