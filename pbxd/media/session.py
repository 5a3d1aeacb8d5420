"""Media of one call as call control sees it: SDP in from one side, SDP out to the other.

`CallMedia` pairs one RTP relay with an `AnchoredSession` per side, so the B2BUA only hands
over SDP bodies by side name ("caller" / "callee"); the relay learns where to send from them.
This is the narrow interface the media engine will later implement too.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from collections.abc import Callable

from pbxd.sip.errors import NotAcceptableHere
from pbxd.sip.sdp import SessionDescription

from .anchor import AnchoredSession, media_endpoint
from .ports import PortAllocator
from .relay import Leg, MediaRelay, RelayFactory

log = logging.getLogger(__name__)

SIDES = {"caller": Leg.A, "callee": Leg.B}


def _other(side: str) -> str:
    return "callee" if side == "caller" else "caller"


class CallMedia:
    def __init__(
        self,
        relay: MediaRelay,
        caller_ip: str,
        callee_ip: str,
        on_close: Callable[[CallMedia], None] = lambda media: None,
    ):
        self.relay = relay
        self._on_close = on_close
        session_id = secrets.randbelow(2**62)
        self._sessions = {
            "caller": AnchoredSession(
                local_ip=caller_ip, local_port=relay.local_port(Leg.A), session_id=session_id
            ),
            "callee": AnchoredSession(
                local_ip=callee_ip, local_port=relay.local_port(Leg.B), session_id=session_id + 1
            ),
        }
        # The last offer received from each side, which the answer to it must mirror.
        self._offers: dict[str, SessionDescription] = {}

    def offer_from(self, side: str, body: bytes) -> bytes:
        """An offer arrived from `side`; return the offer to send to the other side."""
        offer = SessionDescription.parse(body)
        other = _other(side)
        outgoing = self._sessions[other].make_offer(offer)
        self._offers[side] = offer
        self._point_relay(side, offer)
        return outgoing.serialize()

    def answer_from(self, side: str, body: bytes | None) -> bytes:
        """`side` answered the other side's offer; return the answer to send back to it.

        Without a body (a 200 after an early-media 183), the answer already sent is repeated.
        """
        other = _other(side)
        if body is None:
            previous = self._sessions[other].last_sent
            if previous is None or other not in self._offers:
                raise NotAcceptableHere("the answer carries no SDP")
            return previous.serialize()
        if other not in self._offers:
            raise NotAcceptableHere("an answer without an offer")
        answer = SessionDescription.parse(body)
        outgoing = self._sessions[other].make_answer(self._offers[other], answer)
        self._point_relay(side, answer)
        return outgoing.serialize()

    def _point_relay(self, side: str, sdp: SessionDescription) -> None:
        endpoint = media_endpoint(sdp)
        if endpoint is not None:
            try:
                ipaddress.ip_address(endpoint[0])
            except ValueError:
                # Host names in c= are legal but no phone we know sends them; latching still
                # finds the phone from its first packet.
                log.info("SDP of %s names host %r; waiting for its RTP", side, endpoint[0])
                endpoint = None
        self.relay.set_remote(SIDES[side], endpoint)

    def relayed_packets(self) -> int:
        """RTP packets forwarded so far, both directions."""
        return sum(self.relay.stats(leg).rtp_packets for leg in Leg)

    def close(self) -> None:
        if not self.relay.closed:
            self._on_close(self)
            self.relay.close()


class MediaFactory:
    def __init__(self, bind_ip: str, low_port: int, high_port: int):
        self.allocator = PortAllocator(low_port, high_port)
        self._relays = RelayFactory(bind_ip, self.allocator)
        self._live: set[CallMedia] = set()
        self._closed_packets = 0

    async def create(self, caller_ip: str, callee_ip: str) -> CallMedia:
        relay = await self._relays.create()
        media = CallMedia(relay, caller_ip, callee_ip, on_close=self._closed)
        self._live.add(media)
        return media

    def _closed(self, media: CallMedia) -> None:
        self._live.discard(media)
        self._closed_packets += media.relayed_packets()

    def status(self) -> dict:
        return {
            "calls": len(self._live),
            "rtp_ports_in_use": self.allocator.in_use,
            "relayed_rtp_packets": self._closed_packets
            + sum(media.relayed_packets() for media in self._live),
        }
