"""Call legs that pbxd terminates itself: the building blocks of the call-center applications.

An `InboundLeg` is a caller's INVITE that pbxd answers with a media endpoint of its own (IVR,
queue, voicemail, conference, feature codes). An `OutboundLeg` is an INVITE pbxd sends from an
endpoint of its own to every registered contact of an extension (forking: the first device to
answer wins): an agent rung by a queue, a ring-group member. Applications join legs with
`engine.bridge([a.endpoint, b.endpoint])`; each leg negotiates its own codec with pbxd, and
an outbound leg offers the codec of the leg it will be bridged to first, so that the bridge can
usually take the engine's no-decode fast path.

A browser softphone (SIP over WebSocket) is a leg like any other with a WebRTC endpoint
(ICE, DTLS-SRTP, Opus or G.711, see pbxd/media/webrtc.py): a WebRTC offer in a caller's INVITE
is answered by one, and a contact registered over a WebSocket is offered one (`is_browser`).
An extension with a desk phone and a browser rings both: the phones get an RTP offer, the
browsers a WebRTC one, and the endpoint of the device that answers carries the call.

Each leg reports to its `LegListener`. Hold and codec changes (re-INVITE) are answered by the
leg itself: the other party of a bridge never sees them. Nothing blocks but opening sockets
and aiortc's work on SDP (gathering ICE candidates, applying an answer).
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

from pbxd.media.dtmf import DtmfParseError, parse_info_body
from pbxd.media.engine import Endpoint, MediaEngine
from pbxd.media.tones import CHINA, ToneGenerator
from pbxd.media.webrtc import (
    WebRtcEndpoint,
    WebRtcSettings,
    create_webrtc_endpoint,
    is_webrtc_offer,
)
from pbxd.sip.dialog import Dialog, DialogId, new_call_id, new_tag
from pbxd.sip.errors import (
    BadRequest,
    NotAcceptableHere,
    RequestPending,
    SipError,
    TemporarilyUnavailable,
)
from pbxd.sip.headers import CSeq, Headers, NameAddr
from pbxd.sip.message import Request, Response
from pbxd.sip.peer import Peer
from pbxd.sip.registrar import Binding, Registrar
from pbxd.sip.sdp import SessionDescription
from pbxd.sip.transaction import ClientTransaction, ServerTransaction, make_cancel
from pbxd.sip.uri import SipUri

from .directory import CallDirectory
from .sipcore import SipCore

log = logging.getLogger(__name__)

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REGISTER"
SDP = "application/sdp"
# SIP over WebSocket (RFC 7118): a browser softphone, whose media is WebRTC.
BROWSER_TRANSPORTS = frozenset({"WS", "WSS"})
# A feature parameter (RFC 3840 syntax) in the REGISTER Contact of a WebSocket client that
# carries plain RTP/AVP instead (a gateway, a test client): it gets plain RTP offers.
PLAIN_RTP_FEATURE = "+pbxd.plain-rtp"


def is_browser(binding: Binding) -> bool:
    """Whether pbxd offers WebRTC to this contact: registered over a WebSocket (the connection
    is the route, the transport says it), unless it asked for plain RTP."""
    transport = getattr(binding.source, "transport", "")
    return transport in BROWSER_TRANSPORTS and PLAIN_RTP_FEATURE not in binding.contact.params


async def answer_browser_caller(
    engine: MediaEngine, offer: bytes, local_ip: str, ringing: float
) -> tuple[WebRtcEndpoint, bytes]:
    """A browser caller's endpoint and pbxd's answer. Its connection deadline runs from the
    answer, but a browser may apply the answer only with the 200 (SIP.js ignores one in a
    1xx unless told otherwise): the deadline is extended by the longest it may ring."""
    settings = engine.webrtc_settings or WebRtcSettings()
    settings = replace(settings, connect_timeout=settings.connect_timeout + ringing)
    return await create_webrtc_endpoint(engine, offer, local_ip, settings)


def media_failure(endpoint: Endpoint) -> str:
    """Why an endpoint was reported dead, for the log: a WebRTC endpoint says why."""
    failure = getattr(endpoint, "failure", None)
    return failure or "no media"


class LegState(enum.Enum):
    NEW = "new"
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


class LegListener(Protocol):
    def on_leg_ringing(self, leg: Leg) -> None: ...
    def on_leg_answered(self, leg: Leg) -> None: ...
    def on_leg_failed(self, leg: Leg, status: int, reason: str) -> None: ...
    def on_leg_ended(self, leg: Leg, by_remote: bool) -> None: ...
    def on_leg_digit(self, leg: Leg, digit: str) -> None: ...


class Leg:
    """What both directions share: the endpoint, the dialog once answered, the listener."""

    direction = ""

    def __init__(self, manager: LegManager, number: str, listener: LegListener | None):
        self.manager = manager
        self.id = next(manager._ids)
        self.number = number  # the other party: the caller's number or the extension rung
        self.listener = listener
        self.state = LegState.NEW
        self.endpoint: Endpoint | None = None
        self.dialog: Dialog | None = None
        self.peer: Peer | None = None
        self.lost = False  # its browser went away (pbxd.call.legs.LegManager.peer_gone)
        self.started_at = datetime.now(UTC)
        self.answered_at: datetime | None = None
        self.ended_at: datetime | None = None
        self.end_status: int | None = None  # the SIP status that ended an unanswered leg
        self.ended_by_remote = False  # its far end hung up, cancelled or refused
        self._renegotiating = False  # a browser's re-offer is with aiortc (async)

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    @property
    def ended(self) -> bool:
        return self.state == LegState.ENDED

    @property
    def codec(self) -> str:
        """The codec of this leg's RTP stream, which an outbound leg to bridge it with offers
        first (the no-decode fast path): "" before it is agreed, and for a WebRTC leg (its
        stream has no RTP terms; it always goes through the tick)."""
        endpoint = self.endpoint
        if endpoint is None or endpoint.stream is None or isinstance(endpoint, WebRtcEndpoint):
            return ""
        return endpoint.stream.terms.codec.name

    def hang_up(self) -> None:
        raise NotImplementedError

    # -- shared plumbing ------------------------------------------------------------------------

    def _attach(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        endpoint.dtmf_listeners.append(self._digit)
        self.manager._by_endpoint[endpoint] = self

    def _digit(self, digit: str) -> None:
        if self.listener is not None and self.state == LegState.ANSWERED:
            self.listener.on_leg_digit(self, digit)

    def _established(self, dialog: Dialog, peer: Peer) -> None:
        self.dialog = dialog
        self.peer = peer
        self.state = LegState.ANSWERED
        self.answered_at = datetime.now(UTC)
        self.manager._dialogs[dialog.id] = self

    def _send_bye(self) -> None:
        if self.dialog is not None and self.peer is not None:
            core = self.manager.core
            bye = self.dialog.create_request("BYE", core.make_via(self.peer))
            core.send_request(bye, self.peer, lambda response: None)

    def _finish(self, by_remote: bool, status: int | None = None) -> None:
        if self.state == LegState.ENDED:
            return
        self.state = LegState.ENDED
        self.ended_at = datetime.now(UTC)
        self.end_status = status
        self.ended_by_remote = by_remote
        self.manager._forget(self)
        if self.listener is not None:
            if self.answered or status is None:
                self.listener.on_leg_ended(self, by_remote)
            else:
                self.listener.on_leg_failed(self, status, "")

    # -- in-dialog requests ----------------------------------------------------------------------

    def _on_request(self, tx: ServerTransaction, request: Request) -> None:
        assert self.dialog is not None
        self.dialog.check_request(request)
        core = self.manager.core
        if request.method == "BYE":
            core.respond(tx, request.response(200))
            self._finish(by_remote=True)
        elif request.method == "INVITE":
            self._reinvite(tx, request)
        elif request.method == "INFO":
            self._info(tx, request)
        else:
            raise SipError(f"{request.method} is not supported inside a call")

    def _reinvite(self, tx: ServerTransaction, request: Request) -> None:
        """Hold, resume, codec change: answered here (RFC 3264 section 8); the stream keeps
        its codec when the new offer still has it. A browser's re-offer goes to aiortc."""
        if request.body and request.content_type != SDP:
            raise BadRequest("only SDP bodies are supported")
        if not request.body:
            raise NotAcceptableHere("re-INVITE without an offer is not supported")
        assert self.endpoint is not None and self.dialog is not None
        if isinstance(self.endpoint, WebRtcEndpoint):
            if self._renegotiating:  # RFC 3261 section 14.2
                raise RequestPending("the previous re-INVITE is still being answered")
            self._renegotiating = True
            self.manager.spawn(self._renegotiate(self.endpoint, tx, request))
            return
        current = self.endpoint.stream
        preferred = [current.terms.codec.name] if current is not None else []
        answer, terms = self.endpoint.negotiator.answer(
            SessionDescription.parse(request.body), preferred=preferred
        )
        self.endpoint.apply(terms)
        self._answer_reoffer(tx, request, answer.serialize())

    async def _renegotiate(
        self, endpoint: WebRtcEndpoint, tx: ServerTransaction, request: Request
    ) -> None:
        """A browser holds (sendonly, inactive) or resumes: same ICE session, same codec."""
        core = self.manager.core
        try:
            answer = await endpoint.renegotiate(request.body)
        except SipError as exc:  # WebRtcOfferRejected (488), WebRtcMediaFailed (503)
            log.info("leg %s: re-offer refused: %s", self.id, exc)
            core.respond_error(tx, exc)
            return
        finally:
            self._renegotiating = False
        if self.state != LegState.ANSWERED:  # hung up meanwhile (RFC 3261 section 15.1.2)
            core.respond(tx, request.response(487))
            return
        self._answer_reoffer(tx, request, answer)

    def _answer_reoffer(self, tx: ServerTransaction, request: Request, answer: bytes) -> None:
        assert self.dialog is not None
        self.dialog.update_target(request)
        ok = request.response(200)
        if self.dialog.local_contact is not None:
            ok.headers.add("Contact", self.dialog.local_contact.serialize())
        ok.headers.add("Content-Type", SDP)
        ok.body = answer
        self.manager.core.respond(tx, ok)

    def _info(self, tx: ServerTransaction, request: Request) -> None:
        try:
            dtmf = parse_info_body(request.headers.get("Content-Type") or "", request.body)
        except DtmfParseError as exc:
            raise BadRequest(str(exc)) from exc
        self.manager.core.respond(tx, request.response(200))
        if dtmf is not None and self.endpoint is not None:
            self.endpoint.digit_from_signalling(dtmf[0])


class InboundLeg(Leg):
    """A caller's INVITE that pbxd answers itself."""

    direction = "inbound"

    def __init__(
        self,
        manager: LegManager,
        tx: ServerTransaction,
        request: Request,
        peer: Peer,
        caller: str,
        dialed: str,
        to_tag: str | None = None,
    ):
        super().__init__(manager, caller, None)
        self.tx = tx
        self.request = request
        self.peer = peer
        self.dialed = dialed
        self.trunk: str | None = None  # the trunk it came in on; None: from an extension
        # A call handed over by the B2BUA keeps the To tag its provisional responses had.
        self.to_tag = to_tag or new_tag()
        self._answer_sdp: bytes | None = None
        self._ringback: ToneGenerator | None = None  # what a browser hears while it rings
        tx.user_data = self

    async def prepare(self, listener: LegListener) -> None:
        """Open the endpoint and agree on the media of the caller's offer (not sent yet).

        A leg handed on by another application (an IVR transferring to a queue) keeps its
        endpoint and its answer: only the listener changes."""
        self.listener = listener
        if self.endpoint is not None:
            return
        if self.request.content_type != SDP or not self.request.body:
            raise NotAcceptableHere("an SDP offer is required in the INVITE")
        core = self.manager.core
        engine = self.manager.engine
        local_ip = core.local_ip_for(self.peer)
        if is_webrtc_offer(self.request.body):
            try:
                webrtc, answer_sdp = await answer_browser_caller(
                    engine, self.request.body, local_ip, self.manager.ring_timeout
                )
            except SipError as exc:  # 488 for an unusable offer, 503 without aiortc
                log.info("leg %s: WebRTC offer refused: %s", self.id, exc)
                self.reject(exc)
                raise
            self._attach(webrtc)
            if self.state == LegState.ENDED:
                engine.destroy(webrtc)
                return
            self._answer_sdp = answer_sdp
            return
        endpoint = await engine.create_endpoint(local_ip)
        self._attach(endpoint)
        if self.state == LegState.ENDED:  # the caller gave up while the sockets opened
            engine.destroy(endpoint)
            return
        answer, terms = endpoint.negotiator.answer(SessionDescription.parse(self.request.body))
        endpoint.apply(terms)
        self._answer_sdp = answer.serialize()

    def adopt(self, endpoint: Endpoint, answer_sdp: bytes) -> None:
        """Take over the endpoint the B2BUA made for this caller (a browser's WebRTC
        connection, already up while it rang) and the answer it was given."""
        self._attach(endpoint)
        self._answer_sdp = answer_sdp

    def ring(self) -> None:
        if self.state != LegState.NEW:
            return
        self.state = LegState.RINGING
        ringing = self._response(180)
        endpoint = self.endpoint
        if isinstance(endpoint, WebRtcEndpoint) and self._answer_sdp is not None:
            # A browser gets pbxd's answer with the ringing (RFC 3261 section 13.2.1: an
            # answer in a provisional response), so that ICE and DTLS are up by the time
            # someone answers, however long it rings; it hears the ringback pbxd plays.
            ringing.headers.add("Content-Type", SDP)
            ringing.body = self._answer_sdp
            if endpoint.player is None:
                self._ringback = self.manager.engine.play_tone(endpoint, CHINA, "ringback")
        self.manager.core.respond(self.tx, ringing)

    def answer(self) -> None:
        """200 OK with pbxd's answer: from now on the endpoint carries the call."""
        if self.state not in (LegState.NEW, LegState.RINGING) or self._answer_sdp is None:
            return
        self._stop_ringback()
        ok = self._response(200)
        ok.headers.add("Allow", ALLOW)
        ok.headers.add("Content-Type", SDP)
        ok.body = self._answer_sdp
        contact = self.manager.core.contact_for(self.peer, self.dialed)
        self._established(Dialog.as_uas(self.request, ok, contact), self.peer)
        self.manager.core.respond(self.tx, ok)

    def reject(self, error: SipError) -> None:
        """A final error response to an unanswered call (480 when nobody can take it ...)."""
        if self.state in (LegState.NEW, LegState.RINGING):
            last = self.tx.last_response
            if last is None or last.status < 200:
                self.manager.core.respond_error(self.tx, error, to_tag=self.to_tag)
            self._finish(by_remote=False, status=error.status)

    def hang_up(self) -> None:
        if self.state == LegState.ANSWERED:
            self._send_bye()
            self._finish(by_remote=False)
        else:
            self.reject(TemporarilyUnavailable("call ended"))

    def _stop_ringback(self) -> None:
        endpoint, tone = self.endpoint, self._ringback
        self._ringback = None
        # Only the ringback ring() started: an application may have replaced it already.
        if endpoint is None or tone is None:
            return
        if getattr(endpoint.player, "tone", None) is tone:
            self.manager.engine.stop_playing(endpoint)

    def _cancelled(self) -> None:
        if self.state in (LegState.NEW, LegState.RINGING):
            self.manager.core.respond(self.tx, self.request.response(487, to_tag=self.to_tag))
            self._finish(by_remote=True, status=487)

    def _response(self, status: int) -> Response:
        response = self.request.response(status, to_tag=self.to_tag)
        response.headers.add(
            "Contact", self.manager.core.contact_for(self.peer, self.dialed).serialize()
        )
        return response


@dataclass
class Branch:
    """One INVITE to one registered contact (forking: one per device of an extension)."""

    binding: Binding
    invite: Request
    tx: ClientTransaction | None = None
    endpoint: Endpoint | None = None  # what pbxd offered this device from (RTP or WebRTC)
    provisional: bool = False  # CANCEL may only follow a provisional response (section 9.1)
    cancel_pending: bool = False
    done: bool = False
    final_status: int = 0

    @property
    def peer(self) -> Peer:
        return self.binding.source

    def cancel(self, core: SipCore) -> None:
        """CANCEL now if a provisional response came, else as soon as one comes."""
        if self.done:
            return
        if self.provisional:
            self.send_cancel(core)
        else:
            self.cancel_pending = True

    def send_cancel(self, core: SipCore) -> None:
        self.cancel_pending = False
        self.done = True
        core.send_request(make_cancel(self.invite), self.peer, lambda response: None)


@dataclass
class ForkEndpoints:
    """What pbxd offers from when it rings an extension's devices: one RTP endpoint for its
    phones, one WebRTC endpoint (with its offer) for its browsers, the same offer forked to
    every device of a kind. The device that answers picks the one that carries the call; the
    other is destroyed (`keep`)."""

    rtp: Endpoint | None = None
    webrtc: WebRtcEndpoint | None = None
    webrtc_offer: bytes = b""

    def for_binding(self, binding: Binding) -> Endpoint:
        endpoint = self.webrtc if is_browser(binding) else self.rtp
        assert endpoint is not None, binding
        return endpoint

    @property
    def all(self) -> list[Endpoint]:
        return [e for e in (self.rtp, self.webrtc) if e is not None]

    def keep(self, engine: MediaEngine, chosen: Endpoint | None) -> None:
        """Destroy every endpoint but `chosen` (None: all of them); the fork is over."""
        for endpoint in self.all:
            if endpoint is not chosen and not endpoint.closed:
                engine.destroy(endpoint)
        self.rtp = self.webrtc = None


async def open_fork_endpoints(
    engine: MediaEngine, core: SipCore, bindings: Sequence[Binding]
) -> tuple[ForkEndpoints, list[Binding]]:
    """The endpoints to ring `bindings` from, and the bindings they can ring: browsers are
    left out when WebRTC is unavailable (no aiortc, overload) but phones can still ring.
    Raises what the engine raises when nothing can ring."""
    phones = [b for b in bindings if not is_browser(b)]
    browsers = [b for b in bindings if is_browser(b)]
    fork = ForkEndpoints()
    try:
        if phones:
            fork.rtp = await engine.create_endpoint(core.local_ip_for(phones[0].source))
        if browsers:
            try:
                fork.webrtc, fork.webrtc_offer = await engine.create_webrtc_offer(
                    core.local_ip_for(browsers[0].source)
                )
            except SipError as exc:
                if not phones:
                    raise
                log.warning("browsers of %s not rung: %s", browsers[0].aor, exc)
                browsers = []
    except BaseException:
        fork.keep(engine, None)
        raise
    return fork, [b for b in bindings if b in phones or b in browsers]


# What pbxd tells the agent page of a call it rings (or answers) it with: the call's id in
# the call history (the CDR's call_id: the page writes the wrap-up against it), the queue it
# came through, and "internal" for a call between agents (no hold, transfer or mute).
CALL_INFO_HEADERS = {
    "call_id": "X-CooCenter-Call-Id",
    "queue": "X-CooCenter-Queue",
    "kind": "X-CooCenter-Call",
}


def add_call_info(headers: Headers, info: Mapping[str, str]) -> None:
    for name, value in info.items():
        if value:
            headers.add(CALL_INFO_HEADERS[name], value)


class OutboundLeg(Leg):
    """An INVITE from pbxd to every registered contact of an extension."""

    direction = "outbound"

    def __init__(self, manager: LegManager, extension: str, listener: LegListener):
        super().__init__(manager, extension, listener)
        self.branches: list[Branch] = []
        self.fork = ForkEndpoints()  # the endpoints offered until a device answers
        self._answering = False  # a browser's answer is with aiortc (async)

    async def dial(
        self,
        bindings: Sequence[Binding],
        caller: str,
        display: str | None = None,
        preferred_codecs: Sequence[str] = (),
        call_info: Mapping[str, str] | None = None,
    ) -> None:
        core = self.manager.core
        engine = self.manager.engine
        self.fork, bindings = await open_fork_endpoints(engine, core, bindings)
        if self.state == LegState.ENDED:  # cancelled while the sockets opened
            self.fork.keep(engine, None)
            return
        offers: dict[Endpoint, bytes] = {}
        if self.fork.rtp is not None:
            offers[self.fork.rtp] = self.fork.rtp.negotiator.offer(
                preferred=preferred_codecs
            ).serialize()
        if self.fork.webrtc is not None:
            # A WebRTC leg always goes through the tick: the other leg's codec is moot.
            offers[self.fork.webrtc] = self.fork.webrtc_offer
        call_id = new_call_id(core.host_for(bindings[0].source))
        tag = new_tag()
        for binding in bindings:
            endpoint = self.fork.for_binding(binding)
            invite = self._invite(binding, call_id, tag, caller, display, offers[endpoint])
            add_call_info(invite.headers, call_info or {})
            branch = Branch(binding, invite, endpoint=endpoint)
            self.branches.append(branch)
            branch.tx = core.send_request(
                branch.invite, binding.source, lambda r, b=branch: self._on_response(b, r)
            )

    def cancel(self) -> None:
        """Stop ringing (CANCEL every branch); an answered leg is hung up instead."""
        if self.state == LegState.ANSWERED:
            self.hang_up()
            return
        for branch in self.branches:
            branch.cancel(self.manager.core)
        self._finish(by_remote=False, status=487)

    def hang_up(self) -> None:
        if self.state == LegState.ANSWERED:
            self._send_bye()
            self._finish(by_remote=False)
        elif self.state != LegState.ENDED:
            self.cancel()

    def _invite(
        self,
        binding: Binding,
        call_id: str,
        tag: str,
        caller: str,
        display: str | None,
        sdp: bytes,
    ) -> Request:
        core = self.manager.core
        peer = binding.source
        host = core.host_for(peer)
        headers = Headers()
        headers.add("Via", core.make_via(peer).serialize())
        headers.add("Max-Forwards", "70")
        shown = self.manager.shown_number(self.number, caller)  # masked per the agent's role
        from_ = NameAddr(SipUri("sip", host, shown), display, {"tag": tag})
        headers.add("From", from_.serialize())
        headers.add("To", NameAddr(SipUri("sip", host, self.number)).serialize())
        headers.add("Call-ID", call_id)
        headers.add("CSeq", CSeq(1, "INVITE").serialize())
        headers.add("Contact", core.contact_for(peer, caller).serialize())
        headers.add("Allow", ALLOW)
        headers.add("Content-Type", SDP)
        return Request(headers=headers, body=sdp, method="INVITE", uri=binding.uri)

    def _on_response(self, branch: Branch, response: Response) -> None:
        if response.status < 200:
            branch.provisional = True
            if branch.cancel_pending:
                branch.send_cancel(self.manager.core)
            elif response.status > 100 and self.state == LegState.NEW:
                self.state = LegState.RINGING
                if self.listener is not None:
                    self.listener.on_leg_ringing(self)
        elif response.status < 300:
            self._on_answer(branch, response)
        else:
            branch.done = True
            branch.final_status = response.status
            if (
                self.state in (LegState.NEW, LegState.RINGING)
                and not self._answering
                and all(b.done for b in self.branches)
            ):
                # The most telling status: busy beats unavailable beats the rest.
                statuses = [b.final_status for b in self.branches]
                status = 486 if 486 in statuses else max(statuses)
                self._finish(by_remote=True, status=status)

    def _on_answer(self, branch: Branch, response: Response) -> None:
        core = self.manager.core
        branch.done = True
        dialog = Dialog.as_uac(branch.invite, response)
        assert branch.tx is not None
        ack = dialog.create_request("ACK", core.make_via(branch.peer), cseq=dialog.local_seq)
        core.send_ack(branch.tx, ack, branch.peer)
        if self.state not in (LegState.NEW, LegState.RINGING) or self._answering:
            # Another device answered first, or the leg was cancelled: release this one.
            self._release(branch, dialog)
            return
        endpoint = branch.endpoint
        assert endpoint is not None
        if isinstance(endpoint, WebRtcEndpoint):
            self._answering = True
            for other in self.branches:
                if other is not branch:
                    other.cancel(core)
            self.manager.spawn(self._browser_answered(branch, dialog, endpoint, response.body))
            return
        try:
            terms = endpoint.negotiator.accept_answer(
                SessionDescription.parse(response.body or b"")
            )
        except (SipError, ValueError) as exc:
            self._unusable(branch, dialog, exc)
            return
        endpoint.apply(terms)
        self._connected(branch, dialog, endpoint)

    async def _browser_answered(
        self, branch: Branch, dialog: Dialog, endpoint: WebRtcEndpoint, answer: bytes
    ) -> None:
        """The browser's answer goes to aiortc (ICE and DTLS start); then the leg is up."""
        try:
            await endpoint.accept_answer(answer or b"")
        except SipError as exc:  # WebRtcOfferRejected (488), WebRtcMediaFailed
            self._answering = False
            if self.state in (LegState.NEW, LegState.RINGING):
                self._unusable(branch, dialog, exc)
            else:
                self._release(branch, dialog)
            return
        self._answering = False
        if self.state not in (LegState.NEW, LegState.RINGING):  # cancelled meanwhile
            self._release(branch, dialog)
            return
        self._connected(branch, dialog, endpoint)

    def _connected(self, branch: Branch, dialog: Dialog, endpoint: Endpoint) -> None:
        for other in self.branches:
            if other is not branch:
                other.cancel(self.manager.core)
        self.fork.keep(self.manager.engine, endpoint)
        self._attach(endpoint)
        self._established(dialog, branch.peer)
        if self.listener is not None:
            self.listener.on_leg_answered(self)

    def _unusable(self, branch: Branch, dialog: Dialog, exc: Exception) -> None:
        log.info("leg %s: unusable answer from %s: %s", self.id, self.number, exc)
        self._release(branch, dialog)
        for other in self.branches:
            other.cancel(self.manager.core)
        self._finish(by_remote=True, status=488)

    def _release(self, branch: Branch, dialog: Dialog) -> None:
        core = self.manager.core
        bye = dialog.create_request("BYE", core.make_via(branch.peer))
        core.send_request(bye, branch.peer, lambda r: None)


class _Observed:
    """A leg's listener, and `report(event)` of its ringing's outcome beside it."""

    def __init__(self, inner: LegListener, report: Callable[[str], None]):
        self.inner = inner
        self.report = report

    def on_leg_ringing(self, leg: Leg) -> None:
        self.inner.on_leg_ringing(leg)

    def on_leg_answered(self, leg: Leg) -> None:
        self.inner.on_leg_answered(leg)
        self.report("answered")

    def on_leg_failed(self, leg: Leg, status: int, reason: str) -> None:
        self.inner.on_leg_failed(leg, status, reason)
        self.report("ended")

    def on_leg_ended(self, leg: Leg, by_remote: bool) -> None:
        self.inner.on_leg_ended(leg, by_remote)
        self.report("ended")

    def on_leg_digit(self, leg: Leg, digit: str) -> None:
        self.inner.on_leg_digit(leg, digit)


class LegManager:
    """Owns the legs pbxd terminates: routes their in-dialog requests, CANCELs and timeouts."""

    def __init__(
        self,
        core: SipCore,
        engine: MediaEngine,
        registrar: Registrar,
        *,
        ring_timeout: float = 60.0,
    ):
        self.core = core
        self.engine = engine
        self.registrar = registrar
        self.ring_timeout = ring_timeout  # how long an application may ring a caller
        self._ids = itertools.count(1)
        self._dialogs: dict[DialogId, Leg] = {}
        self._by_endpoint: dict[Endpoint, Leg] = {}
        self.legs: set[Leg] = set()
        self._tasks: set[asyncio.Task] = set()
        # Told (extension, "ringing" | "answered" | "ended", caller, call info) of every leg
        # that rings an agent with a customer call (call_info with a call_id): the agent page
        # pops it for a desk phone too, and offers the wrap-up after it.
        self.on_customer_call: Callable[[str, str, str, dict[str, str]], None] | None = None
        # Who is on which call (by its CDR call id): the agents rung with a customer call.
        self.directory = CallDirectory()
        # (extension, caller number) -> the caller ID that extension's phones are shown: the
        # number masked as its user may see it (the pages pop by call id, not by number).
        self.shown_number: Callable[[str, str], str] = lambda extension, number: number

    # -- making legs ------------------------------------------------------------------------------

    def inbound(
        self,
        tx: ServerTransaction,
        request: Request,
        peer: Peer,
        caller: str,
        dialed: str,
        to_tag: str | None = None,
    ) -> InboundLeg:
        leg = InboundLeg(self, tx, request, peer, caller, dialed, to_tag)
        self.legs.add(leg)
        return leg

    def spawn(self, work: Coroutine[object, object, None]) -> None:
        """Legs' own async steps (aiortc applying SDP); a failure is logged, never lost."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("leg handling failed", exc_info=task.exception())

    async def outbound(
        self,
        extension: str,
        listener: LegListener,
        *,
        caller: str,
        display: str | None = None,
        preferred_codecs: Sequence[str] = (),
        call_info: Mapping[str, str] | None = None,
    ) -> OutboundLeg:
        """Ring every registered device of `extension`; TemporarilyUnavailable when none.
        `call_info`: what the agent page learns of the call (CALL_INFO_HEADERS' values)."""
        bindings = self.registrar.lookup(extension, self.core.now())
        if not bindings:
            raise TemporarilyUnavailable(f"{extension} is not registered")
        if call_info and call_info.get("call_id") and call_info.get("kind") != "monitor":
            self.directory.add(call_info["call_id"], caller, extension)
        observed = None
        if call_info and call_info.get("call_id") and self.on_customer_call is not None:
            report = self.on_customer_call
            observed = _Observed(
                listener, lambda event: report(extension, event, caller, dict(call_info))
            )
            listener = observed
        leg = OutboundLeg(self, extension, listener)
        self.legs.add(leg)
        try:
            await leg.dial(bindings, caller, display, preferred_codecs, call_info or {})
        except BaseException:
            leg._finish(by_remote=False, status=503)
            raise
        if observed is not None and leg.state != LegState.ENDED:
            observed.report("ringing")
        return leg

    # -- requests from the dispatcher -------------------------------------------------------------

    def find(self, request: Request) -> Leg | None:
        tag = request.to.tag
        if tag is None:
            return None
        return self._dialogs.get(DialogId(request.call_id, tag, request.from_.tag or ""))

    def on_request(self, leg: Leg, tx: ServerTransaction, request: Request) -> None:
        leg._on_request(tx, request)

    def cancel(self, invite_tx: ServerTransaction) -> bool:
        """A CANCEL for an inbound leg's INVITE; False when it is not one of ours."""
        leg = invite_tx.user_data
        if isinstance(leg, InboundLeg):
            leg._cancelled()
            return True
        return False

    def on_server_timeout(self, tx: ServerTransaction) -> bool:
        leg = tx.user_data
        if isinstance(leg, InboundLeg):
            if leg.state == LegState.ANSWERED:
                log.info("leg %s: no ACK for 200 OK, hanging up", leg.id)
                leg.hang_up()
            return True
        return False

    def peer_gone(self, peer: Peer) -> None:
        """A browser's WebSocket closed (a reload, a network loss): its answered legs are
        lost; pbxd ends them (the application may ring the agent back: `Leg.lost`)."""
        for leg in [leg for leg in self.legs if leg.peer == peer and leg.answered]:
            if leg.state != LegState.ENDED:
                log.info("leg %s: its browser's connection closed", leg.id)
                leg.lost = True
                leg.hang_up()

    def on_media_timeout(self, endpoint: Endpoint) -> bool:
        leg = self._by_endpoint.get(endpoint)
        if leg is None:
            return False
        if isinstance(endpoint, WebRtcEndpoint) and endpoint.failure is not None:
            log.info("leg %s: WebRTC media failed (%s), hanging up", leg.id, endpoint.failure)
        else:
            log.info("leg %s: no RTP for %.0f s, hanging up", leg.id, self.engine.media_timeout)
        leg.hang_up()
        return True

    def _forget(self, leg: Leg) -> None:
        self.legs.discard(leg)
        if leg.dialog is not None:
            self._dialogs.pop(leg.dialog.id, None)
        if leg.endpoint is not None:
            self._by_endpoint.pop(leg.endpoint, None)
            if not leg.endpoint.closed:
                self.engine.destroy(leg.endpoint)
        if isinstance(leg, OutboundLeg):
            leg.fork.keep(self.engine, None)  # offered, never answered


def later(delay: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
    """A timer on the running loop (the applications' only clock)."""
    return asyncio.get_running_loop().call_later(delay, callback)
