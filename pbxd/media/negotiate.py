"""SDP offer/answer for one media-engine leg (RFC 3264), pure.

With the media engine each call leg negotiates on its own: pbxd terminates RTP on both sides,
so the caller may talk PCMA while the callee talks G.722 (the engine transcodes), and a
prompt or music on hold can be played into a leg at any time. `LegNegotiator` makes pbxd's
offers and answers for one leg and says what was agreed (`MediaTerms`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from pbxd.sip.errors import NotAcceptableHere
from pbxd.sip.sdp import (
    Attribute,
    Connection,
    Direction,
    MediaDescription,
    Origin,
    SessionDescription,
)

# RTP profiles the engine terminates (no SRTP keys, no DTLS, no ICE yet).
TERMINATED_PROFILES = frozenset({"RTP/AVP", "RTP/AVPF"})


def audio_stream_index(sd: SessionDescription) -> int | None:
    """Index of the audio stream pbxd terminates: the first live RTP/AVP(F) `m=audio`."""
    for index, media in enumerate(sd.media):
        if (
            media.media.lower() == "audio"
            and media.port != 0
            and media.proto.upper() in TERMINATED_PROFILES
        ):
            return index
    return None


@dataclass(frozen=True)
class CodecChoice:
    name: str  # SDP encoding name as pbxd writes it
    payload_type: int
    clock_rate: int


# Engine codecs in pbxd's order of preference for its own offers (static types first: every
# phone knows them). Wideband G.722 leads so that two G.722 phones get HD audio end to end.
ENGINE_CODECS: tuple[CodecChoice, ...] = (
    CodecChoice("G722", 9, 8000),
    CodecChoice("PCMU", 0, 8000),
    CodecChoice("PCMA", 8, 8000),
    CodecChoice("GSM", 3, 8000),
)
TELEPHONE_EVENT = "telephone-event"
DEFAULT_DTMF_PT = 101
DEFAULT_PTIME = 20


@dataclass(frozen=True)
class MediaTerms:
    """What one leg agreed, from pbxd's side."""

    codec: CodecChoice  # the payload type is the one the remote side declared
    dtmf_payload_type: int | None
    remote: tuple[str, int] | None  # where to send RTP; None: on hold / not yet known
    direction: Direction  # what pbxd may do: sendrecv, sendonly (remote holds us) ...
    ptime: int = DEFAULT_PTIME


class LegNegotiator:
    def __init__(
        self,
        *,
        local_ip: str,
        local_port: int,
        session_id: int,
        codecs: Sequence[CodecChoice] = ENGINE_CODECS,
    ):
        self.local_ip = local_ip
        self.local_port = local_port
        self.session_id = session_id
        self.codecs = tuple(codecs)
        self._version = 0
        self._last_sent: SessionDescription | None = None
        self._last_offer: SessionDescription | None = None

    # -- pbxd offers -----------------------------------------------------------------------------

    def offer(
        self, preferred: Sequence[str] = (), direction: Direction = Direction.SENDRECV
    ) -> SessionDescription:
        """pbxd's offer: every engine codec, `preferred` names first (the other leg's choice,
        so that both legs can share a codec and skip transcoding)."""
        order = sorted(self.codecs, key=lambda c: _rank(c.name, preferred))
        formats = [str(c.payload_type) for c in order] + [str(DEFAULT_DTMF_PT)]
        attributes = [
            Attribute("rtpmap", f"{c.payload_type} {c.name}/{c.clock_rate}") for c in order
        ]
        attributes += [
            Attribute("rtpmap", f"{DEFAULT_DTMF_PT} {TELEPHONE_EVENT}/8000"),
            Attribute("fmtp", f"{DEFAULT_DTMF_PT} 0-16"),
            Attribute("ptime", str(DEFAULT_PTIME)),
            Attribute(direction.value),
        ]
        media = MediaDescription(
            "audio", self.local_port, "RTP/AVP", tuple(formats), attributes=tuple(attributes)
        )
        offer = self._stamp(media)
        self._last_offer = offer
        return offer

    def accept_answer(self, answer: SessionDescription) -> MediaTerms:
        """The remote answer to pbxd's last offer (section 6: it picks from what we offered)."""
        if self._last_offer is None:
            raise NotAcceptableHere("an answer without an offer")
        index = audio_stream_index(answer)
        if index is None:
            raise NotAcceptableHere("the answer rejected the audio stream")
        remote = answer.media[index]
        offered = {c.payload_type: c for c in self.codecs}
        for payload_type in remote.payload_types:
            choice = _choice_for(remote, payload_type, self.codecs) or offered.get(payload_type)
            if choice is not None:
                return _terms(answer, remote, choice)
        raise NotAcceptableHere("the answer holds none of the offered codecs")

    # -- pbxd answers ----------------------------------------------------------------------------

    def answer(
        self, offer: SessionDescription, preferred: Sequence[str] = ()
    ) -> tuple[SessionDescription, MediaTerms]:
        """pbxd's answer to a remote offer: the first offered codec the engine has, preferring
        `preferred` (the codec the other leg already uses: no transcoding). Other streams are
        rejected with port 0, keeping the offer's m-line order (section 6)."""
        index = audio_stream_index(offer)
        if index is None:
            raise NotAcceptableHere("the offer has no RTP/AVP audio stream")
        remote = offer.media[index]
        candidates = [
            (payload_type, choice)
            for payload_type in remote.payload_types
            if (choice := _choice_for(remote, payload_type, self.codecs)) is not None
        ]
        if not candidates:
            raise NotAcceptableHere("no codec of the offer is supported")
        payload_type, choice = min(candidates, key=lambda pc: _rank(pc[1].name, preferred))
        dtmf = _dtmf_payload_type(remote)
        terms = _terms(offer, remote, choice)
        formats = [str(payload_type)]
        attributes = [Attribute("rtpmap", f"{payload_type} {choice.name}/{choice.clock_rate}")]
        if dtmf is not None:
            formats.append(str(dtmf))
            attributes += [
                Attribute("rtpmap", f"{dtmf} {TELEPHONE_EVENT}/8000"),
                Attribute("fmtp", f"{dtmf} 0-16"),
            ]
        attributes += [
            Attribute("ptime", str(terms.ptime)),
            Attribute(terms.direction.value),
        ]
        streams = []
        for i, media in enumerate(offer.media):
            if i == index:
                streams.append(
                    MediaDescription(
                        "audio",
                        self.local_port,
                        remote.proto,
                        tuple(formats),
                        attributes=tuple(attributes),
                    )
                )
            else:
                streams.append(MediaDescription(media.media, 0, media.proto, media.formats))
        return self._stamp(*streams), terms

    # -- o= line ---------------------------------------------------------------------------------

    def _stamp(self, *media: MediaDescription) -> SessionDescription:
        """A new SDP on this leg: same session id, version +1 when it differs (RFC 3264 s.8)."""
        connection = Connection.for_ip(self.local_ip)
        if self._last_sent is None:
            self._version = 1
        else:
            same = _session(self.local_ip, self.session_id, self._version, connection, media)
            if same == self._last_sent:
                return self._last_sent
            self._version += 1
        self._last_sent = _session(self.local_ip, self.session_id, self._version, connection, media)
        return self._last_sent


def _session(
    ip: str,
    session_id: int,
    version: int,
    connection: Connection,
    media: Sequence[MediaDescription],
) -> SessionDescription:
    addrtype = "IP6" if ipaddress.ip_address(ip).version == 6 else "IP4"
    return SessionDescription(
        origin=Origin("pbxd", str(session_id), version, addrtype=addrtype, address=ip),
        session_name="pbxd",
        connection=connection,
        media=tuple(media),
    )


def _rank(name: str, preferred: Sequence[str]) -> int:
    upper = [p.upper() for p in preferred]
    return upper.index(name.upper()) if name.upper() in upper else len(upper)


def _choice_for(
    media: MediaDescription, payload_type: int, codecs: Sequence[CodecChoice]
) -> CodecChoice | None:
    rtpmap = media.rtpmap(payload_type)
    if rtpmap is None:
        return None
    for codec in codecs:
        if rtpmap.name == codec.name.lower() and rtpmap.clock_rate == codec.clock_rate:
            return CodecChoice(codec.name, payload_type, codec.clock_rate)
    return None


def _dtmf_payload_type(media: MediaDescription) -> int | None:
    for payload_type in media.payload_types:
        rtpmap = media.rtpmap(payload_type)
        if rtpmap is not None and rtpmap.name == TELEPHONE_EVENT and rtpmap.clock_rate == 8000:
            return payload_type
    return None


def _terms(sd: SessionDescription, media: MediaDescription, choice: CodecChoice) -> MediaTerms:
    connection = sd.connection_of(media)
    remote = None
    if connection is not None and not connection.is_unspecified and media.port:
        remote = (connection.address, media.port)
    held = connection is not None and connection.is_unspecified
    # What the remote side may do, seen from pbxd (RFC 3264 section 6.1).
    remote_direction = Direction.INACTIVE if held else sd.direction_of(media)
    return MediaTerms(
        codec=choice,
        dtmf_payload_type=_dtmf_payload_type(media),
        remote=remote,
        direction=remote_direction.reversed(),
        ptime=media.ptime or DEFAULT_PTIME,
    )
