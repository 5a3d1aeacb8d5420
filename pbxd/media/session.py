"""Media of one call as call control sees it: SDP in from one side, SDP out to the other.

Each side is an endpoint of the media engine with its own negotiation, bridged to the other:
the caller may talk PCMA and the callee G.722 (the engine transcodes), and prompts, music on
hold or recording can join at any time. The B2BUA only hands over SDP bodies by side name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from pbxd.sip.errors import NotAcceptableHere
from pbxd.sip.sdp import Direction, SessionDescription

from .engine import Endpoint, MediaEngine
from .negotiate import audio_stream_index

log = logging.getLogger(__name__)

SIDES = ("caller", "callee")


def _other(side: str) -> str:
    return "callee" if side == "caller" else "caller"


class CallMedia:
    def __init__(
        self,
        engine: MediaEngine,
        caller: Endpoint,
        callee: Endpoint,
        on_close: Callable[[CallMedia], None] = lambda media: None,
    ):
        self.engine = engine
        self._on_close = on_close
        self.endpoints = {"caller": caller, "callee": callee}
        # The last offer received from each side, which our answer to it must follow.
        self._offers: dict[str, SessionDescription] = {}
        self._answers_sent: dict[str, bytes] = {}
        self.on_dead: Callable[[], None] = lambda: None

    def offer_from(self, side: str, body: bytes) -> bytes:
        """An offer arrived from `side`; return pbxd's offer to the other side."""
        offer = SessionDescription.parse(body)
        index = audio_stream_index(offer)
        if index is None:
            raise NotAcceptableHere("the offer has no RTP/AVP audio stream")
        media = offer.media[index]
        names = [m.name for pt in media.payload_types if (m := media.rtpmap(pt)) is not None]
        connection = offer.connection_of(media)
        direction = offer.direction_of(media)
        if connection is not None and connection.is_unspecified:
            direction = Direction.INACTIVE  # RFC 2543 hold: c=0.0.0.0
        self._offers[side] = offer
        other = self.endpoints[_other(side)]
        return other.negotiator.offer(preferred=names, direction=direction).serialize()

    def answer_from(self, side: str, body: bytes | None) -> bytes:
        """`side` answered pbxd's offer; return pbxd's answer to the other side's offer.

        Without a body (a 200 after an early-media 183), the answer already sent stands.
        """
        other = _other(side)
        if body is None:
            if other not in self._answers_sent:
                raise NotAcceptableHere("the answer carries no SDP")
            return self._answers_sent[other]
        if other not in self._offers:
            raise NotAcceptableHere("an answer without an offer")
        terms = self.endpoints[side].negotiator.accept_answer(SessionDescription.parse(body))
        self.endpoints[side].apply(terms)
        answer, other_terms = self.endpoints[other].negotiator.answer(
            self._offers[other], preferred=[terms.codec.name]
        )
        self.endpoints[other].apply(other_terms)
        self._answers_sent[other] = answer.serialize()
        return self._answers_sent[other]

    def dtmf_from(self, side: str, digit: str) -> None:
        """A digit `side` signalled in SIP INFO: the engine relays it in the media."""
        self.endpoints[side].digit_from_signalling(digit)

    def packets_received(self) -> int:
        return sum(endpoint.counters.received for endpoint in self.endpoints.values())

    def close(self) -> None:
        if all(endpoint.closed for endpoint in self.endpoints.values()):
            return
        self._on_close(self)
        for endpoint in self.endpoints.values():
            if not endpoint.closed:
                self.engine.destroy(endpoint)


class MediaFactory:
    """Makes the media of each call on the shared engine; reports dead media to its call."""

    def __init__(self, engine: MediaEngine):
        self.engine = engine
        self._calls: dict[Endpoint, CallMedia] = {}
        self._closed_packets = 0
        # Endpoints that are not a CallMedia's (the legs pbxd answers itself) report here.
        self.on_other_timeout: Callable[[Endpoint], object] = lambda endpoint: None
        engine.on_media_timeout = self._media_timeout

    async def create(self, caller_ip: str, callee_ip: str) -> CallMedia:
        caller = await self.engine.create_endpoint(caller_ip)
        try:
            callee = await self.engine.create_endpoint(callee_ip)
        except BaseException:
            self.engine.destroy(caller)
            raise
        self.engine.bridge([caller, callee])
        media = CallMedia(self.engine, caller, callee, on_close=self._closed)
        for endpoint in (caller, callee):
            self._calls[endpoint] = media
        return media

    def _closed(self, media: CallMedia) -> None:
        self._closed_packets += media.packets_received()
        for endpoint in media.endpoints.values():
            self._calls.pop(endpoint, None)

    def _media_timeout(self, endpoint: Endpoint) -> None:
        media = self._calls.get(endpoint)
        if media is None:
            self.on_other_timeout(endpoint)
            return
        log.info("no RTP from endpoint %s for %.0f s", endpoint.id, self.engine.media_timeout)
        media.on_dead()

    def status(self) -> dict:
        live = {id(m): m for m in self._calls.values()}.values()
        return {
            "calls": len(live),
            "endpoints": len(self.engine.endpoints),
            "rtp_ports_in_use": self.engine.allocator.in_use,
            "rtp_packets_received": self._closed_packets + sum(m.packets_received() for m in live),
            "late_ticks": self.engine.late_ticks,
            "load": round(self.engine.load.load, 2),  # share of one core (admission control)
            "overloaded": self.engine.load.overloaded,  # new calls get 503 while true
        }
