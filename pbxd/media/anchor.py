"""Media anchoring for the B2BUA: rewrite SDP so both legs send RTP to pbxd (RFC 3264).

When A calls B, pbxd's relay has port pa facing A and pb facing B. The offer A sent is turned
into the offer pbxd sends B (`anchor_offer`, on pb); B's answer is turned into the answer pbxd
returns to A (`anchor_answer`, on pa). The relay forwards packets untouched, so:

- payload type numbers, rtpmap and fmtp lines are copied, never renumbered: each end keeps
  receiving the numbers it declared itself;
- only the allowed codecs are kept (PCMU, PCMA, telephone-event by default), in the order the
  SDP's author gave them; telephone-event and CN are kept only beside a voice codec of the
  same clock rate (RFC 4733 section 7.1.1);
- one audio stream is anchored: the first `m=audio` with a non-zero port and an RTP/AVP or
  RTP/AVPF profile (`audio_stream_index`). Other streams (video, a second audio, SRTP) are
  DROPPED from the offers pbxd sends and REJECTED with port 0 in the answers pbxd sends,
  which keep the m-line count and order of the offer they answer (RFC 3264 section 6);
- direction passes through (media-level, folded from session-level; always written): hold with
  sendonly/inactive reaches the other leg as such. RFC 2543 hold (c=0.0.0.0) is passed on as
  c=0.0.0.0 when pbxd's address is IPv4; on IPv6 it becomes our address plus a direction
  without receiving (sendrecv -> sendonly, recvonly -> inactive), since 0.0.0.0 has no IPv6
  form (RFC 3264 section 8.4);
- ptime and maxptime are copied; everything else (ICE, crypto, rtcp, rtcp-mux, ssrc, b=) is
  left out because the relay does not implement it.

Per call leg, `AnchoredSession` owns pbxd's o= line: the same session id for the whole dialog,
the version incremented for every SDP that differs from the previous one (RFC 3264 section 8).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import replace

from ..sip.errors import NotAcceptableHere
from ..sip.sdp import (
    Attribute,
    Connection,
    Direction,
    MediaDescription,
    Origin,
    RtpMap,
    SessionDescription,
)

DEFAULT_CODECS = ("PCMU", "PCMA", "telephone-event")
ORIGIN_USERNAME = "pbxd"
SESSION_NAME = "pbxd"
# RTP profiles a plain relay can carry untouched (no SRTP keys, no DTLS, no ICE).
RELAYED_PROFILES = frozenset({"RTP/AVP", "RTP/AVPF"})
# Formats that mean nothing without a voice codec of the same clock rate.
_AUXILIARY_CODECS = frozenset({"telephone-event", "cn"})
_COPIED_ATTRIBUTES = ("ptime", "maxptime")

Endpoint = tuple[str, int]


def audio_stream_index(sd: SessionDescription) -> int | None:
    """Index of the audio stream pbxd anchors: the first live RTP/AVP(F) `m=audio`."""
    for index, media in enumerate(sd.media):
        if media.media.lower() == "audio" and media.port != 0 and _relayable(media):
            return index
    return None


def media_endpoint(sd: SessionDescription) -> Endpoint | None:
    """Where the SDP's author receives RTP for the anchored audio stream.

    None when there is no such stream, or it is on hold with c=0.0.0.0 (or `::`). The address
    is returned as written: RFC 4566 allows a host name there, which the caller must resolve.
    """
    index = audio_stream_index(sd)
    if index is None:
        return None
    media = sd.media[index]
    connection = sd.connection_of(media)
    if connection is None or connection.is_unspecified:
        return None
    return connection.address, media.port


def anchor_offer(
    offer: SessionDescription,
    *,
    local_ip: str,
    local_port: int,
    session_id: int | str,
    version: int,
    allowed: Iterable[str] = DEFAULT_CODECS,
) -> SessionDescription:
    """The offer pbxd sends the other leg, made from the offer received on this one.

    Carries only the anchored audio stream, on `local_port`. Raises `NotAcceptableHere` when
    the offer has no relayable audio stream or none of its codecs is allowed.
    """
    index = audio_stream_index(offer)
    if index is None:
        raise NotAcceptableHere("the offer has no RTP/AVP audio stream")
    offered = offer.media[index]
    formats = _select_formats(offered, _codec_filter(allowed))
    if not formats:
        raise NotAcceptableHere("no allowed codec in the offer")
    audio = _anchored_media(
        offered,
        formats,
        proto=offered.proto,
        local_port=local_port,
        local_ip=local_ip,
        direction=offer.direction_of(offered),
        held=_is_held(offer, offered),
    )
    return _session(local_ip, session_id, version, [audio])


def anchor_answer(
    answer: SessionDescription,
    *,
    offer: SessionDescription,
    local_ip: str,
    local_port: int,
    session_id: int | str,
    version: int,
    allowed: Iterable[str] = DEFAULT_CODECS,
) -> SessionDescription:
    """The answer pbxd returns to `offer` (received on this leg), from the other leg's answer.

    `answer` answers the offer `anchor_offer` made from `offer`. The result has one m-line per
    m-line of `offer`: the anchored audio stream on `local_port` with the codecs of `answer`
    that `offer` also listed, every other stream rejected with port 0. When the other leg
    rejected the audio stream, so does the result. Raises `NotAcceptableHere` when the answer
    names no codec of the offer.
    """
    index = audio_stream_index(offer)
    if index is None:
        raise NotAcceptableHere("the offer has no RTP/AVP audio stream")
    offered = offer.media[index]
    answered = next((m for m in answer.media if m.media.lower() == "audio"), None)
    if answered is None:
        raise NotAcceptableHere("the answer has no audio stream")
    codec_filter = _codec_filter(allowed)
    offered_codecs = {
        _codec_key(codec)
        for pt in offered.payload_types
        if (codec := offered.rtpmap(pt)) is not None and codec_filter(codec)
    }
    if answered.port == 0:
        audio = _rejected(offered)
    else:
        formats = _select_formats(
            answered, lambda codec: codec_filter(codec) and _codec_key(codec) in offered_codecs
        )
        if not formats:
            raise NotAcceptableHere("the answer names no codec of the offer")
        audio = _anchored_media(
            answered,
            formats,
            proto=offered.proto,  # an answer keeps the offer's transport (RFC 3264 6.1)
            local_port=local_port,
            local_ip=local_ip,
            direction=answer.direction_of(answered),
            held=_is_held(answer, answered),
        )
    streams = [audio if i == index else _rejected(m) for i, m in enumerate(offer.media)]
    return _session(local_ip, session_id, version, streams)


class AnchoredSession:
    """pbxd's side of the offer/answer exchanges on one call leg.

    Keeps pbxd's o= line for the leg: one session id for the dialog, the version incremented
    by one for each SDP that differs from the previous one pbxd sent on this leg; an identical
    SDP (a session refresh) goes out again with the same version (RFC 3264 section 8). Each
    SDP returned is assumed to be sent.

    B2BUA use, leg A calling leg B through a relay::

        offer_b = leg_b.make_offer(offer_a)            # INVITE to B
        answer_a = leg_a.make_answer(offer_a, answer_b)  # 200 OK to A
    """

    def __init__(
        self,
        *,
        local_ip: str,
        local_port: int,
        session_id: int,
        first_version: int = 1,
        allowed: Iterable[str] = DEFAULT_CODECS,
    ):
        _check_ip(local_ip)
        self.local_ip = local_ip
        self.local_port = local_port
        self.session_id = session_id
        self.allowed = tuple(allowed)
        self._first_version = first_version
        self.version: int | None = None  # o= version of the last SDP sent on this leg
        self.last_sent: SessionDescription | None = None

    def make_offer(self, peer_offer: SessionDescription) -> SessionDescription:
        """The offer to send on this leg, made from the offer received on the other leg."""
        return self._stamp(
            lambda version: anchor_offer(
                peer_offer,
                local_ip=self.local_ip,
                local_port=self.local_port,
                session_id=self.session_id,
                version=version,
                allowed=self.allowed,
            )
        )

    def make_answer(
        self, offer: SessionDescription, peer_answer: SessionDescription
    ) -> SessionDescription:
        """The answer to `offer` (received on this leg), from the other leg's answer."""
        return self._stamp(
            lambda version: anchor_answer(
                peer_answer,
                offer=offer,
                local_ip=self.local_ip,
                local_port=self.local_port,
                session_id=self.session_id,
                version=version,
                allowed=self.allowed,
            )
        )

    def _stamp(self, build: Callable[[int], SessionDescription]) -> SessionDescription:
        if self.version is None or self.last_sent is None:
            candidate = build(self._first_version)
        else:
            unchanged = build(self.version)
            if unchanged == self.last_sent:
                return self.last_sent
            candidate = replace(
                unchanged, origin=replace(unchanged.origin, session_version=self.version + 1)
            )
        self.version = candidate.origin.session_version
        self.last_sent = candidate
        return candidate


def _relayable(media: MediaDescription) -> bool:
    return media.proto.upper() in RELAYED_PROFILES


def _codec_filter(allowed: Iterable[str]) -> Callable[[RtpMap], bool]:
    names = {name.lower() for name in allowed}
    return lambda codec: codec.name in names


def _codec_key(codec: RtpMap) -> tuple[str, int, int]:
    return codec.name, codec.clock_rate, codec.channels or 1


def _select_formats(
    media: MediaDescription, accept: Callable[[RtpMap], bool]
) -> list[tuple[int, RtpMap]]:
    """Payload types of `media` whose codec `accept`s, in the author's order.

    Auxiliary formats (telephone-event, CN) survive only beside a voice codec with the same
    clock rate. Dynamic payload types without an rtpmap are unknown and dropped.
    """
    chosen = [
        (pt, codec)
        for pt in media.payload_types
        if (codec := media.rtpmap(pt)) is not None and accept(codec)
    ]
    voice_rates = {c.clock_rate for _, c in chosen if c.name not in _AUXILIARY_CODECS}
    return [
        (pt, c)
        for pt, c in chosen
        if c.name not in _AUXILIARY_CODECS or c.clock_rate in voice_rates
    ]


def _is_held(sd: SessionDescription, media: MediaDescription) -> bool:
    """RFC 2543 hold: the connection address is 0.0.0.0 (RFC 3264 section 8.4)."""
    connection = sd.connection_of(media)
    return connection is not None and connection.is_unspecified


def _anchored_media(
    source: MediaDescription,
    formats: list[tuple[int, RtpMap]],
    *,
    proto: str,
    local_port: int,
    local_ip: str,
    direction: Direction,
    held: bool,
) -> MediaDescription:
    connection = None
    if held and _is_ipv6(local_ip):
        # No 0.0.0.0 on IPv6: say "do not send to me" with the direction instead.
        direction = _without_receiving(direction)
    elif held:
        connection = Connection("0.0.0.0", "IP4")
    attributes = [Attribute("rtpmap", _rtpmap_value(pt, codec, source)) for pt, codec in formats]
    attributes += [
        Attribute("fmtp", f"{pt} {params}")
        for pt, _ in formats
        if (params := source.fmtp(pt)) is not None
    ]
    attributes += [
        Attribute(name, value)
        for name in _COPIED_ATTRIBUTES
        if (value := source.attribute(name)) is not None
    ]
    attributes.append(Attribute(direction.value))
    return MediaDescription(
        media="audio",
        port=local_port,
        proto=proto,
        formats=tuple(str(pt) for pt, _ in formats),
        connection=connection,
        attributes=tuple(attributes),
    )


def _without_receiving(direction: Direction) -> Direction:
    if direction is Direction.SENDRECV:
        return Direction.SENDONLY
    if direction is Direction.RECVONLY:
        return Direction.INACTIVE
    return direction


def _rtpmap_value(payload_type: int, codec: RtpMap, source: MediaDescription) -> str:
    """The rtpmap value to write: the author's own line when there is one, else the table's."""
    for value in source.attributes_named("rtpmap"):
        if value.strip().partition(" ")[0] == str(payload_type):
            return value.strip()
    return RtpMap(payload_type, codec.encoding, codec.clock_rate, codec.channels).serialize()


def _rejected(media: MediaDescription) -> MediaDescription:
    """A refused stream in an answer: same type, proto and formats, port 0 (RFC 3264 6)."""
    # SDP wants at least one format even on a refused stream.
    placeholder = ("0",) if media.is_rtp else ("*",)
    return MediaDescription(
        media=media.media, port=0, proto=media.proto, formats=media.formats or placeholder
    )


def _session(
    local_ip: str,
    session_id: int | str,
    version: int,
    streams: list[MediaDescription],
) -> SessionDescription:
    _check_ip(local_ip)
    ours = Connection.for_ip(local_ip)
    # A held stream carries c=0.0.0.0 at media level; the session level keeps our address,
    # which rejected streams fall back to (section 5.7 wants a c= for every stream).
    return SessionDescription(
        origin=Origin(ORIGIN_USERNAME, str(session_id), version, "IN", ours.addrtype, ours.address),
        session_name=SESSION_NAME,
        connection=ours,
        media=tuple(streams),
    )


def _is_ipv6(ip: str) -> bool:
    return ":" in ip


def _check_ip(ip: str) -> None:
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        raise ValueError(f"local media address {ip!r} is not an IP address") from None
