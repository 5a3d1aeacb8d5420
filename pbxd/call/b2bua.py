"""Back-to-back user agent for calls between extensions.

Leg A is the caller's INVITE server transaction and, once answered, its dialog; leg B is one
outgoing INVITE per registered contact of the callee (forking: every device of an extension
rings, the first to answer wins). Media is terminated on both sides by the media engine
(`CallMedia`), which bridges the two legs.

A browser softphone on either side (a WebRTC offer from the caller, a callee registered over a
WebSocket) gets a WebRTC endpoint instead (`WebRtcCallMedia`): the engine bridges it to a
phone's RTP like any other pair and transcodes Opus <-> G.711. A browser caller gets pbxd's
answer with the first ringing, so that ICE and DTLS are up before the callee answers.

Signalling state lives on `Call`; nothing here blocks: the awaits are opening RTP sockets and
aiortc's SDP work (gathering candidates, applying an answer or a re-offer).
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pbxd.media.dtmf import DtmfParseError, parse_info_body
from pbxd.media.engine import Endpoint, MediaEngine
from pbxd.media.negotiate import audio_stream_index
from pbxd.media.session import CallMedia, MediaFactory
from pbxd.media.tones import CHINA, ToneGenerator
from pbxd.media.webrtc import WebRtcEndpoint, WebRtcMediaFailed, check_offer, is_webrtc_offer
from pbxd.services.cdr import CdrEntry
from pbxd.sip.dialog import Dialog, DialogId, new_call_id, new_tag
from pbxd.sip.errors import (
    BadRequest,
    CallDoesNotExist,
    NotAcceptableHere,
    NotFound,
    RequestPending,
    SipError,
    TemporarilyUnavailable,
)
from pbxd.sip.headers import CSeq, Headers, NameAddr
from pbxd.sip.message import Request, Response
from pbxd.sip.peer import Peer
from pbxd.sip.registrar import Binding, Registrar
from pbxd.sip.sdp import Direction, SessionDescription
from pbxd.sip.transaction import ClientTransaction, ServerTransaction
from pbxd.sip.uri import SipUri

from .auth_guard import AuthGuard
from .cdr import Disposition, HangupSide, call_record
from .legs import (
    ALLOW,
    Branch,
    ForkEndpoints,
    InboundLeg,
    LegManager,
    add_call_info,
    answer_browser_caller,
    is_browser,
    media_failure,
    open_fork_endpoints,
)
from .recording import CallRecording, start_recording
from .sipcore import SipCore

log = logging.getLogger(__name__)

RING_TIMEOUT = 60.0
SDP = "application/sdp"
UNANSWERED = (408, 480, 486, 487, 600, 603)  # final answers a mailbox may take over
# What pbxd offers a phone bridged to a browser: Opus is transcoded anyway, and the engine
# runs at 8 kHz, so G.711 (which every phone has) loses nothing.
PHONE_CODECS = ("PCMU", "PCMA")


def holds(offer: bytes) -> bool:
    """Whether an SDP offer puts the call on hold: sendonly or inactive audio, or the old
    c=0.0.0.0 (RFC 3264 section 8.4)."""
    try:
        sd = SessionDescription.parse(offer)
    except SipError:
        return False  # the renegotiation refuses it with the right error
    for media in sd.media:
        if media.media != "audio":
            continue
        connection = sd.connection_of(media)
        if connection is not None and connection.is_unspecified:
            return True
        if sd.direction_of(media) in (Direction.SENDONLY, Direction.INACTIVE):
            return True
    return False


# What answers a number pbxd serves itself: started with the caller's leg, it owns the call.
LocalApplication = Callable[[InboundLeg], Coroutine[object, object, None]]


class CallState(enum.Enum):
    SETUP = "setup"
    RINGING = "ringing"
    ANSWERED = "answered"
    ENDED = "ended"


@dataclass
class Leg:
    """One answered side of a call: its dialog and where its requests go."""

    name: str  # "caller" or "callee"
    dialog: Dialog
    peer: Peer


@dataclass
class PendingReinvite:
    from_leg: Leg
    server_tx: ServerTransaction
    client_tx: ClientTransaction | None = None
    answer: bytes | None = None  # pbxd's answer to a browser's re-offer, made before forwarding


@dataclass
class Call:
    id: int
    caller: str
    callee: str
    request: Request
    server_tx: ServerTransaction
    caller_peer: Peer
    a_tag: str = field(default_factory=new_tag)
    state: CallState = CallState.SETUP
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    answered_at: datetime | None = None
    branches: list[Branch] = field(default_factory=list)
    media: CallMedia | None = None
    caller_leg: Leg | None = None
    callee_leg: Leg | None = None
    reinvite: PendingReinvite | None = None
    ring_timer: asyncio.TimerHandle | None = None
    early_media_sent: bool = False
    ringing_sent: bool = False
    recording: CallRecording | None = None
    answering: bool = False  # a browser callee's answer is with aiortc (async)
    internal: bool = False  # agent to agent: no hold, transfer or mute

    def other(self, leg: Leg) -> Leg:
        other = self.callee_leg if leg is self.caller_leg else self.caller_leg
        assert other is not None
        return other


class WebRtcCallMedia(CallMedia):
    """The media of a call with a browser on one side or both.

    The caller's endpoint is WebRTC when its offer is (pbxd's answer to it, `caller_answer`,
    is made at once), else RTP. The callee's devices are offered from `fork`: its phones from
    an RTP endpoint, its browsers from a WebRTC one. Until a device answers, the caller is
    bridged to the RTP endpoint when there is one (a phone's early media); the device that
    answers decides which endpoint is the callee's (`choose`). SDP on a WebRTC side is
    aiortc's: no negotiator is asked there.
    """

    def __init__(
        self,
        engine: MediaEngine,
        caller: Endpoint,
        caller_answer: bytes,
        fork: ForkEndpoints,
        on_close: Callable[[CallMedia], None],
    ):
        callee = fork.rtp or fork.webrtc
        assert callee is not None
        super().__init__(engine, caller, callee, on_close=on_close)
        self.caller_answer = caller_answer  # for a browser caller
        self.fork = fork
        self.early_media = False  # a phone's early SDP was applied to fork.rtp
        self._ringback: ToneGenerator | None = None
        self._handed_over: Endpoint | None = None
        self._closed = False
        engine.bridge([caller, callee])

    @property
    def browser_caller(self) -> bool:
        return isinstance(self.endpoints["caller"], WebRtcEndpoint)

    @property
    def with_browser(self) -> bool:
        """Whether one of the endpoints carrying the call is WebRTC."""
        return any(isinstance(e, WebRtcEndpoint) for e in self.endpoints.values())

    def every_endpoint(self) -> list[Endpoint]:
        return list({*self.endpoints.values(), *self.fork.all})

    # -- set-up ---------------------------------------------------------------------------------

    def offers_from_caller(self, body: bytes) -> dict[Endpoint, bytes]:
        """pbxd's offer for each kind of callee device, from the caller's offer."""
        offers: dict[Endpoint, bytes] = {}
        rtp = self.fork.rtp
        if self.browser_caller:
            if rtp is not None:
                direction = check_offer(body).direction
                offers[rtp] = rtp.negotiator.offer(PHONE_CODECS, direction).serialize()
        elif rtp is not None:
            offers[rtp] = self.offer_from("caller", body)  # the callee endpoint is fork.rtp
        else:
            offer = SessionDescription.parse(body)
            if audio_stream_index(offer) is None:
                raise NotAcceptableHere("the offer has no RTP/AVP audio stream")
            self._offers["caller"] = offer
        if self.fork.webrtc is not None:
            offers[self.fork.webrtc] = self.fork.webrtc_offer
        return offers

    def early_answer(self, endpoint: Endpoint | None, body: bytes | None) -> bytes | None:
        """A callee device rings (offered from `endpoint`, its SDP `body` if any): pbxd's
        answer for the caller's provisional response, or None.

        A phone's early media (SDP in its 183) goes to the RTP endpoint, to which the caller
        is bridged. A browser caller gets its answer whatever the callee sent, and hears
        pbxd's ringback until there is early media (a softphone page plays what it receives
        once it has an answer). A browser's early SDP is not used."""
        answer = None
        if body and endpoint is not None and endpoint is self.fork.rtp and not self.early_media:
            try:
                answer = self._answer_caller(self._accept_phone(endpoint, body))
            except SipError as exc:
                log.info("unusable early media SDP: %s", exc)
            else:
                self.early_media = True
                self._stop_ringback()
        if not self.browser_caller:
            return answer
        if not self.early_media and self._ringback is None:
            self._ringback = self.engine.play_tone(self.endpoints["caller"], CHINA, "ringback")
        return self.caller_answer

    def phone_answered(self, endpoint: Endpoint, body: bytes | None) -> bytes:
        """A phone's 200 (without SDP: the answer its 183 gave stands): it carries the call;
        pbxd's answer for the caller."""
        if body is not None:
            codec = self._accept_phone(endpoint, body)
        elif self.early_media and endpoint.stream is not None:
            codec = endpoint.stream.terms.codec.name
        else:
            raise NotAcceptableHere("the answer carries no SDP")
        self.choose(endpoint)
        return self._answer_caller(codec)

    async def browser_answered(self, endpoint: WebRtcEndpoint, body: bytes) -> bytes:
        """A browser's 200: its answer to aiortc (ICE and DTLS start), then it carries the
        call; pbxd's answer for the caller. Raises WebRtcOfferRejected (488)."""
        await endpoint.accept_answer(body)
        if self._closed:
            raise WebRtcMediaFailed("the call ended while the answer was applied")
        self.choose(endpoint)
        return self._answer_caller(None)

    def choose(self, callee: Endpoint) -> None:
        """The device offered from `callee` answered: the other endpoint goes."""
        self._stop_ringback()
        self.fork.keep(self.engine, callee)
        self.endpoints["callee"] = callee
        caller = self.endpoints["caller"]
        if callee.bridge is None or caller not in callee.bridge.members:
            self.engine.bridge([caller, callee])

    def _accept_phone(self, endpoint: Endpoint, body: bytes) -> str:
        terms = endpoint.negotiator.accept_answer(SessionDescription.parse(body))
        endpoint.apply(terms)
        return terms.codec.name

    def _answer_caller(self, codec: str | None) -> bytes:
        caller = self.endpoints["caller"]
        if isinstance(caller, WebRtcEndpoint):
            return self.caller_answer
        preferred = [codec] if codec else list(PHONE_CODECS)
        answer, terms = caller.negotiator.answer(self._offers["caller"], preferred=preferred)
        caller.apply(terms)
        self._answers_sent["caller"] = answer.serialize()
        return self._answers_sent["caller"]

    # -- in the call ----------------------------------------------------------------------------

    def reoffer_to_phone(self, side: str, direction: Direction) -> bytes:
        """pbxd's re-offer to the phone on `side` when the browser on the other side holds
        (sendonly, inactive) or resumes: the same codec, the browser's direction."""
        endpoint = self.endpoints[side]
        current = [endpoint.stream.terms.codec.name] if endpoint.stream is not None else []
        return endpoint.negotiator.offer(current, direction).serialize()

    def phone_reanswered(self, side: str, body: bytes) -> None:
        self._accept_phone(self.endpoints[side], body)

    def answer_phone_reoffer(self, side: str, body: bytes) -> bytes:
        """A phone's re-offer when the other side is a browser: pbxd cannot re-offer to a
        browser, so the phone's hold stays between it and pbxd (the browser hears what the
        phone sends while it holds, or silence)."""
        endpoint = self.endpoints[side]
        current = [endpoint.stream.terms.codec.name] if endpoint.stream is not None else []
        answer, terms = endpoint.negotiator.answer(
            SessionDescription.parse(body), preferred=current
        )
        endpoint.apply(terms)
        return answer.serialize()

    # -- the end --------------------------------------------------------------------------------

    def detach_caller(self) -> tuple[Endpoint, bytes] | None:
        """A browser caller's endpoint and the answer it got, for whoever takes the still
        unanswered call on (its voicemail): its connection is up already. None for others."""
        caller = self.endpoints["caller"]
        if not isinstance(caller, WebRtcEndpoint) or caller.closed or caller.failure:
            return None
        self._stop_ringback()
        self.engine.unbridge(caller)
        self._handed_over = caller
        return caller, self.caller_answer

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._on_close(self)
        self.fork.keep(self.engine, None)
        for endpoint in self.endpoints.values():
            if not endpoint.closed and endpoint is not self._handed_over:
                self.engine.destroy(endpoint)

    def _stop_ringback(self) -> None:
        tone, self._ringback = self._ringback, None
        caller = self.endpoints["caller"]
        if tone is not None and getattr(caller.player, "tone", None) is tone:
            self.engine.stop_playing(caller)


class B2bua:
    def __init__(
        self,
        core: SipCore,
        guard: AuthGuard,
        registrar: Registrar,
        extension_exists: Callable[[str], bool],
        media: MediaFactory,
        on_call_end: Callable[[CdrEntry, CallRecording | None], None],
        *,
        ring_timeout: float = RING_TIMEOUT,
        legs: LegManager | None = None,
        applications: Callable[[str], LocalApplication | None] = lambda number: None,
        trunk_calls: Callable[[Request, Peer], LocalApplication | None] = lambda r, p: None,
        should_record: Callable[[str, str], bool] = lambda caller, callee: False,
        recordings_dir: Path | None = None,
        unanswered: Callable[[str], LocalApplication | None] = lambda callee: None,
        internal_call: Callable[[str, str], bool] = lambda caller, callee: False,
    ):
        self.core = core
        self.guard = guard
        self.registrar = registrar
        self.extension_exists = extension_exists
        self.media = media
        self.on_call_end = on_call_end
        self.ring_timeout = ring_timeout
        # Numbers pbxd answers itself (queues, IVRs, feature codes ...): `applications(number)`
        # gives what takes the call, on a leg of `legs`; asked first of every number an
        # extension dials, it also refuses a blacklisted one (403).
        self.legs = legs
        self.applications = applications
        # Asked of every INVITE before authentication: from a trunk peer (static IP, no
        # digest) the inbound routes take it; a caller on the blacklist is refused (603)
        # whatever the source. None: go on (authenticate the extension).
        self.trunk_calls = trunk_calls
        # The recording policies of the two extensions (caller's outbound, callee's inbound).
        self.should_record = should_record
        self.recordings_dir = recordings_dir
        # What takes a direct call its extension does not answer (its voicemail), if any.
        self.unanswered = unanswered
        # Whether a call between two extensions is an internal call (agent to agent, brochure
        # 5.12): it may not be held, transferred or muted. Both sides are told in a header
        # (the "kind" of CALL_INFO_HEADERS, in the INVITE to the callee and the 200 to the
        # caller), and pbxd refuses a hold.
        self.internal_call = internal_call
        self.calls: dict[int, Call] = {}
        self._legs: dict[DialogId, tuple[Call, Leg]] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task] = set()
        # The endpoints of calls with a browser: the media factory does not know them (it
        # makes RTP pairs only), so their dead media is reported here (`on_media_timeout`).
        self._browser_calls: dict[Endpoint, Call] = {}

    # -- requests from the dispatcher -----------------------------------------------------------

    def on_request(self, tx: ServerTransaction, request: Request, peer: Peer) -> None:
        if request.to.tag is None:
            if request.method == "INVITE":
                self._new_call(tx, request, peer)
            elif request.method == "CANCEL":
                self._cancel_from_caller(tx, request)
            else:
                raise CallDoesNotExist(f"{request.method} outside a dialog")
            return
        found = self._legs.get(DialogId(request.call_id, request.to.tag, request.from_.tag or ""))
        if found is None:
            local = self.legs.find(request) if self.legs is not None else None
            if local is None:
                raise CallDoesNotExist("no such dialog")
            local.manager.on_request(local, tx, request)
            return
        call, leg = found
        leg.dialog.check_request(request)
        if request.method == "BYE":
            self._bye(call, leg, tx)
        elif request.method == "INVITE":
            self._reinvite(call, leg, tx, request)
        elif request.method == "INFO":
            self._pass_through(call, leg, tx, request)
        else:
            raise SipError(f"{request.method} is not supported inside a call")

    def on_ack(self, request: Request, peer: Peer) -> None:
        """ACK of a 2xx: the transaction layer has stopped retransmitting; nothing else to do."""

    def on_media_timeout(self, endpoint: Endpoint) -> bool:
        """Dead media (no RTP, or a WebRTC connection that failed or closed) of an endpoint
        of a call with a browser; False when it is not one of those."""
        call = self._browser_calls.get(endpoint)
        if call is None:
            return False
        self._media_died(call, endpoint)
        return True

    def on_server_timeout(self, tx: ServerTransaction) -> None:
        if self.legs is not None and self.legs.on_server_timeout(tx):
            return
        call = tx.user_data
        if isinstance(call, Call) and call.state == CallState.ANSWERED:
            log.info("call %s: no ACK for 200 OK from the caller, hanging up", call.id)
            self._hang_up(call, HangupSide.SYSTEM)

    # -- call set-up ----------------------------------------------------------------------------

    def _new_call(self, tx: ServerTransaction, request: Request, peer: Peer) -> None:
        uri = request.uri
        target = uri.unescaped_user if isinstance(uri, SipUri) else None
        outside = self.trunk_calls(request, peer) if self.legs is not None else None
        if outside is not None and self.legs is not None:
            from_uri = request.from_.uri
            caller_id = from_uri.unescaped_user if isinstance(from_uri, SipUri) else None
            leg = self.legs.inbound(tx, request, peer, caller_id or "anonymous", target or "")
            self._spawn(outside(leg))
            return
        caller = self.guard.authenticate(request, peer, proxy=True)
        application = self.applications(target) if target else None
        if application is not None and self.legs is not None:
            leg = self.legs.inbound(tx, request, peer, caller, target or "")
            self._spawn(application(leg))
            return
        if not target or not self.extension_exists(target):
            # Recorded too: the admin sees who dials numbers that do not exist.
            now = datetime.now(UTC)
            self.on_call_end(
                call_record(
                    request.call_id,
                    caller,
                    target or str(uri),
                    now,
                    None,
                    now,
                    Disposition.FAILED,
                    HangupSide.SYSTEM,
                ),
                None,
            )
            raise NotFound(f"no extension {target}")
        if request.content_type != SDP or not request.body:
            # Early offer only for now: every phone we support offers in the INVITE.
            raise NotAcceptableHere("an SDP offer is required in the INVITE")
        call = Call(next(self._ids), caller, target, request, tx, peer)
        call.internal = self.internal_call(caller, target)
        if self.legs is not None:  # both pages pop the call by its id (the caller's Call-ID)
            self.legs.directory.add(request.call_id, caller, caller, target)
        tx.user_data = call
        bindings = self.registrar.lookup(target, self.core.now())
        if not bindings:
            if not self._hand_over_unanswered(call):
                self._fail(
                    call, TemporarilyUnavailable(f"{target} is not registered"), Disposition.FAILED
                )
            return
        self.calls[call.id] = call
        log.info("call %s: %s -> %s (%d contacts)", call.id, caller, target, len(bindings))
        self._spawn(self._start_branches(call, bindings))

    def _spawn(self, work: Coroutine[object, object, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("call handling failed", exc_info=task.exception())

    async def _start_branches(self, call: Call, bindings: list[Binding]) -> None:
        media: CallMedia
        try:
            if is_webrtc_offer(call.request.body) or any(is_browser(b) for b in bindings):
                media, bindings = await self._browser_media(call, bindings)
            else:
                media = await self.media.create(
                    self.core.local_ip_for(call.caller_peer),
                    self.core.local_ip_for(bindings[0].source),
                )
        except Exception as exc:
            # PortsExhausted and bind failures are 503s; anything else is a 500.
            log.error("call %s: no media: %s", call.id, exc)
            error = exc if isinstance(exc, SipError) else SipError("no media")
            self._fail(call, error, Disposition.FAILED)
            return
        if call.state == CallState.ENDED:
            media.close()
            return
        call.media = media
        media.on_dead = lambda: self._media_died(call)
        try:
            if isinstance(media, WebRtcCallMedia):
                offers = media.offers_from_caller(call.request.body)
            else:
                offers = {media.endpoints["callee"]: media.offer_from("caller", call.request.body)}
        except SipError as exc:
            self._fail(call, exc, Disposition.FAILED)
            return
        call_id = new_call_id(self.core.host_for(call.caller_peer))
        b_tag = new_tag()
        for binding in bindings:
            if isinstance(media, WebRtcCallMedia):
                endpoint = media.fork.for_binding(binding)
            else:
                endpoint = media.endpoints["callee"]
            invite = self._callee_invite(call, binding, call_id, b_tag, offers[endpoint])
            branch = Branch(binding, invite, endpoint=endpoint)
            call.branches.append(branch)
            branch.tx = self.core.send_request(
                branch.invite, branch.peer, lambda r, c=call, b=branch: self._on_branch(c, b, r)
            )
        call.ring_timer = asyncio.get_running_loop().call_later(
            self.ring_timeout, self._ring_timeout, call
        )

    async def _browser_media(
        self, call: Call, bindings: list[Binding]
    ) -> tuple[WebRtcCallMedia, list[Binding]]:
        """The media of a call with a browser on either side, and the callee's devices it
        can ring (browsers are left out when WebRTC is unavailable and phones can ring)."""
        engine = self.media.engine
        body = call.request.body
        caller_ip = self.core.local_ip_for(call.caller_peer)
        caller: Endpoint
        if is_webrtc_offer(body):
            caller, caller_answer = await answer_browser_caller(
                engine, body, caller_ip, self.ring_timeout
            )
        else:
            caller, caller_answer = await engine.create_endpoint(caller_ip), b""
        try:
            fork, bindings = await open_fork_endpoints(engine, self.core, bindings)
        except BaseException:
            engine.destroy(caller)
            raise
        media = WebRtcCallMedia(
            engine, caller, caller_answer, fork, on_close=lambda _: self._forget_media(call)
        )
        for endpoint in media.every_endpoint():
            self._browser_calls[endpoint] = call
        return media, bindings

    def _forget_media(self, call: Call) -> None:
        for endpoint in [e for e, c in self._browser_calls.items() if c is call]:
            del self._browser_calls[endpoint]

    def _callee_invite(
        self, call: Call, binding: Binding, call_id: str, tag: str, sdp: bytes
    ) -> Request:
        peer = binding.source
        host = self.core.host_for(peer)
        caller_from = call.request.from_
        headers = Headers()
        headers.add("Via", self.core.make_via(peer).serialize())
        headers.add("Max-Forwards", str(max(0, (call.request.max_forwards or 70) - 1)))
        shown = self.legs.shown_number(call.callee, call.caller) if self.legs else call.caller
        from_uri = SipUri("sip", host, shown)
        headers.add("From", NameAddr(from_uri, caller_from.display, {"tag": tag}).serialize())
        headers.add("To", NameAddr(SipUri("sip", host, call.callee)).serialize())
        headers.add("Call-ID", call_id)
        headers.add("CSeq", CSeq(1, "INVITE").serialize())
        headers.add("Contact", self.core.contact_for(peer, call.caller).serialize())
        headers.add("Allow", ALLOW)
        # The callee's page writes its wrap-up against the caller's Call-ID (the CDR's).
        add_call_info(
            headers,
            {"call_id": call.request.call_id, "kind": "internal" if call.internal else ""},
        )
        headers.add("Content-Type", SDP)
        return Request(headers=headers, body=sdp, method="INVITE", uri=binding.uri)

    def _on_branch(self, call: Call, branch: Branch, response: Response) -> None:
        if response.status < 200:
            self._on_branch_provisional(call, branch, response)
        elif response.status < 300:
            self._on_branch_answer(call, branch, response)
        else:
            branch.done = True
            if (
                call.state in (CallState.SETUP, CallState.RINGING)
                and not call.answering
                and all(b.done for b in call.branches)
            ):
                if response.status in UNANSWERED and self._hand_over_unanswered(call):
                    return
                self._fail(
                    call,
                    _failure_for(response),
                    _disposition_for(response.status),
                    HangupSide.CALLEE,
                )

    def _on_branch_provisional(self, call: Call, branch: Branch, response: Response) -> None:
        branch.provisional = True
        if branch.cancel_pending:
            branch.send_cancel(self.core)
            return
        if response.status == 100 or call.state not in (CallState.SETUP, CallState.RINGING):
            return
        call.state = CallState.RINGING
        relay = call.server_tx.request.response(response.status, response.reason, to_tag=call.a_tag)
        if isinstance(call.media, WebRtcCallMedia):
            sdp = response.body if response.content_type == SDP else None
            answer = call.media.early_answer(branch.endpoint, sdp or None)
            if answer is not None and not call.early_media_sent:
                relay.headers.add("Content-Type", SDP)
                relay.body = answer
                call.early_media_sent = True
            elif call.ringing_sent:
                return
        elif response.body and response.content_type == SDP and not call.early_media_sent:
            assert call.media is not None
            try:
                relay.body = call.media.answer_from("callee", response.body)
            except SipError as exc:
                log.info("call %s: unusable early media SDP: %s", call.id, exc)
                relay.body = b""
            if relay.body:
                relay.headers.add("Content-Type", SDP)
                call.early_media_sent = True
        elif call.ringing_sent:
            return
        call.ringing_sent = True
        relay.headers.add(
            "Contact", self.core.contact_for(call.caller_peer, call.callee).serialize()
        )
        self.core.respond(call.server_tx, relay)

    def _on_branch_answer(self, call: Call, branch: Branch, response: Response) -> None:
        branch.done = True
        dialog = Dialog.as_uac(branch.invite, response)
        assert branch.tx is not None
        ack = dialog.create_request("ACK", self.core.make_via(branch.peer), cseq=dialog.local_seq)
        self.core.send_ack(branch.tx, ack, branch.peer)
        if call.state not in (CallState.SETUP, CallState.RINGING) or call.answering:
            # Another device answered first, or the caller gave up: release this one.
            self._send_bye(Leg("callee", dialog, branch.peer))
            return
        media = call.media
        assert media is not None
        if isinstance(media, WebRtcCallMedia) and isinstance(branch.endpoint, WebRtcEndpoint):
            call.answering = True
            for other in call.branches:
                if other is not branch:
                    other.cancel(self.core)
            self._spawn(self._browser_answered(call, branch, dialog, response.body))
            return
        try:
            # A 200 without SDP repeats the answer its 183 gave (RFC 3264 section 5).
            if isinstance(media, WebRtcCallMedia):
                assert branch.endpoint is not None
                answer = media.phone_answered(branch.endpoint, response.body or None)
            else:
                answer = media.answer_from("callee", response.body or None)
        except SipError as exc:
            log.info("call %s: callee answered with unusable SDP: %s", call.id, exc)
            self._send_bye(Leg("callee", dialog, branch.peer))
            self._fail(call, NotAcceptableHere(str(exc)), Disposition.FAILED)
            return
        self._answered(call, branch, dialog, answer)

    async def _browser_answered(
        self, call: Call, branch: Branch, dialog: Dialog, body: bytes
    ) -> None:
        """A browser callee answered: its SDP goes to aiortc, then the caller gets the 200."""
        media = call.media
        assert isinstance(media, WebRtcCallMedia) and isinstance(branch.endpoint, WebRtcEndpoint)
        callee = Leg("callee", dialog, branch.peer)
        try:
            answer = await media.browser_answered(branch.endpoint, body or b"")
        except SipError as exc:  # WebRtcOfferRejected (488), WebRtcMediaFailed (503)
            call.answering = False
            log.info("call %s: the browser's answer is unusable: %s", call.id, exc)
            self._send_bye(callee)
            if call.state in (CallState.SETUP, CallState.RINGING):
                self._fail(call, exc, Disposition.FAILED)
            return
        call.answering = False
        if call.state not in (CallState.SETUP, CallState.RINGING):  # the caller gave up
            self._send_bye(callee)
            return
        self._answered(call, branch, dialog, answer)

    def _answered(self, call: Call, branch: Branch, dialog: Dialog, answer: bytes) -> None:
        """The callee's device `branch` answered: the caller gets pbxd's `answer`."""
        for other in call.branches:
            if other is not branch:
                other.cancel(self.core)
        ok = call.server_tx.request.response(200, to_tag=call.a_tag)
        contact = self.core.contact_for(call.caller_peer, call.callee)
        ok.headers.add("Contact", contact.serialize())
        ok.headers.add("Allow", ALLOW)
        add_call_info(ok.headers, {"kind": "internal" if call.internal else ""})
        ok.headers.add("Content-Type", SDP)
        ok.body = answer
        call.caller_leg = Leg("caller", Dialog.as_uas(call.request, ok, contact), call.caller_peer)
        call.callee_leg = Leg("callee", dialog, branch.peer)
        self._legs[call.caller_leg.dialog.id] = (call, call.caller_leg)
        self._legs[dialog.id] = (call, call.callee_leg)
        call.state = CallState.ANSWERED
        call.answered_at = datetime.now(UTC)
        self._cancel_ring_timer(call)
        self.core.respond(call.server_tx, ok)
        log.info("call %s answered", call.id)
        self._start_recording(call)

    def _start_recording(self, call: Call) -> None:
        if self.recordings_dir is None or not self.should_record(call.caller, call.callee):
            return
        assert call.media is not None
        bridge = call.media.endpoints["caller"].bridge
        if bridge is None:
            return
        call.recording = start_recording(
            self.media.engine, bridge, self.recordings_dir, call.caller, call.callee, str(call.id)
        )

    def _ring_timeout(self, call: Call) -> None:
        call.ring_timer = None
        if call.state in (CallState.SETUP, CallState.RINGING) and not call.answering:
            for branch in call.branches:
                branch.cancel(self.core)
            if not self._hand_over_unanswered(call):
                self._fail(call, TemporarilyUnavailable("no answer"), Disposition.NO_ANSWER)

    def _hand_over_unanswered(self, call: Call) -> bool:
        """Busy, no answer or not registered: the callee's voicemail (if it has one) takes
        the still unanswered caller on a leg of its own; its CDR row comes from there."""
        application = self.unanswered(call.callee) if self.legs is not None else None
        if application is None or self.legs is None:
            return False
        for branch in call.branches:
            branch.cancel(self.core)
        # A browser caller keeps its WebRTC connection (up since it got pbxd's answer).
        handed = call.media.detach_caller() if isinstance(call.media, WebRtcCallMedia) else None
        self._release(call)
        log.info("call %s: %s did not answer: to its voicemail", call.id, call.callee)
        leg = self.legs.inbound(
            call.server_tx, call.request, call.caller_peer, call.caller, call.callee, call.a_tag
        )
        if handed is not None:
            leg.adopt(*handed)
        self._spawn(application(leg))
        return True

    # -- cancel and failures --------------------------------------------------------------------

    def _cancel_from_caller(self, tx: ServerTransaction, cancel: Request) -> None:
        invite_tx = self.core.layer.find_invite_server(cancel)
        if invite_tx is None:
            raise CallDoesNotExist("nothing to cancel")
        self.core.respond(tx, cancel.response(200, to_tag=new_tag()))
        if self.legs is not None and self.legs.cancel(invite_tx):
            return
        call = invite_tx.user_data
        if not isinstance(call, Call) or call.state not in (CallState.SETUP, CallState.RINGING):
            return
        for branch in call.branches:
            branch.cancel(self.core)
        terminated = call.server_tx.request.response(487, to_tag=call.a_tag)
        self.core.respond(call.server_tx, terminated)
        self._end(call, Disposition.CANCELLED, HangupSide.CALLER)

    def _fail(
        self,
        call: Call,
        error: SipError,
        disposition: Disposition,
        side: HangupSide = HangupSide.SYSTEM,
    ) -> None:
        last = call.server_tx.last_response
        if last is None or last.status < 200:
            self.core.respond_error(call.server_tx, error, to_tag=call.a_tag)
        self._end(call, disposition, side)

    # -- in-dialog ------------------------------------------------------------------------------

    def _bye(self, call: Call, leg: Leg, tx: ServerTransaction) -> None:
        self.core.respond(tx, tx.request.response(200))
        if call.state == CallState.ANSWERED:
            self._send_bye(call.other(leg))
            self._end(call, Disposition.ANSWERED, HangupSide(leg.name))

    def _hang_up(self, call: Call, side: HangupSide) -> None:
        for leg in (call.caller_leg, call.callee_leg):
            if leg is not None:
                self._send_bye(leg)
        self._end(call, Disposition.ANSWERED, side)

    def _media_died(self, call: Call, endpoint: Endpoint | None = None) -> None:
        why = "media timeout" if endpoint is None else media_failure(endpoint)
        if call.state == CallState.ANSWERED:
            log.info("call %s: %s, hanging up", call.id, why)
            self._hang_up(call, HangupSide.SYSTEM)
        elif (
            call.state in (CallState.SETUP, CallState.RINGING)
            and call.media is not None
            and endpoint is call.media.endpoints["caller"]
        ):
            # A browser caller whose connection died while it rang (its tab closed, ICE
            # failed): nobody is left to answer for.
            log.info("call %s: the caller's media failed while ringing: %s", call.id, why)
            for branch in call.branches:
                branch.cancel(self.core)
            self._fail(call, WebRtcMediaFailed(why), Disposition.FAILED)

    def _send_bye(self, leg: Leg) -> None:
        bye = leg.dialog.create_request("BYE", self.core.make_via(leg.peer))
        self.core.send_request(bye, leg.peer, lambda response: None)

    def _reinvite(self, call: Call, leg: Leg, tx: ServerTransaction, request: Request) -> None:
        """Hold/resume and codec changes: each leg renegotiates with pbxd (RFC 3264 s.8)."""
        if call.state != CallState.ANSWERED:
            raise CallDoesNotExist("call not established")
        if call.reinvite is not None:
            raise RequestPending("another re-INVITE is in progress")
        if request.body and request.content_type != SDP:
            raise BadRequest("only SDP bodies are supported")
        if not request.body:
            raise NotAcceptableHere("re-INVITE without an offer is not supported")
        if call.internal and holds(request.body):
            raise NotAcceptableHere("an internal call cannot be held")
        assert call.media is not None
        if isinstance(call.media, WebRtcCallMedia) and call.media.with_browser:
            self._reinvite_with_browser(call, call.media, leg, tx, request)
            return
        offer = call.media.offer_from(leg.name, request.body)
        leg.dialog.update_target(request)
        other = call.other(leg)
        reinvite = other.dialog.create_request("INVITE", self.core.make_via(other.peer), body=offer)
        reinvite.headers.add("Content-Type", SDP)
        pending = call.reinvite = PendingReinvite(leg, tx)
        pending.client_tx = self.core.send_request(
            reinvite, other.peer, lambda r: self._on_reinvite_response(call, other, reinvite, r)
        )

    def _reinvite_with_browser(
        self, call: Call, media: WebRtcCallMedia, leg: Leg, tx: ServerTransaction, request: Request
    ) -> None:
        """A browser's re-offer goes to aiortc (then, if a phone is on the other side, its
        hold or resume goes on to the phone); a phone's is answered by pbxd alone."""
        endpoint = media.endpoints[leg.name]
        if isinstance(endpoint, WebRtcEndpoint):
            pending = call.reinvite = PendingReinvite(leg, tx)
            self._spawn(self._browser_reoffer(call, media, endpoint, pending))
            return
        answer = media.answer_phone_reoffer(leg.name, request.body)
        leg.dialog.update_target(request)
        self._respond_reoffer(tx, leg, answer)

    async def _browser_reoffer(
        self,
        call: Call,
        media: WebRtcCallMedia,
        endpoint: WebRtcEndpoint,
        pending: PendingReinvite,
    ) -> None:
        tx, leg = pending.server_tx, pending.from_leg
        request = tx.request
        try:
            answer = await endpoint.renegotiate(request.body)
        except SipError as exc:  # WebRtcOfferRejected (488), WebRtcMediaFailed (503)
            call.reinvite = None
            log.info("call %s: the browser's re-offer is refused: %s", call.id, exc)
            self.core.respond_error(tx, exc)
            return
        if call.state != CallState.ANSWERED:  # RFC 3261 section 15.1.2
            call.reinvite = None
            self.core.respond(tx, request.response(487))
            return
        leg.dialog.update_target(request)
        other = call.other(leg)
        if isinstance(media.endpoints[other.name], WebRtcEndpoint):
            call.reinvite = None  # browser to browser: pbxd answers each on its own
            self._respond_reoffer(tx, leg, answer)
            return
        # The phone on the other side is held (or resumed) too, as between two phones.
        offer = media.reoffer_to_phone(other.name, check_offer(request.body).direction)
        pending.answer = answer
        reinvite = other.dialog.create_request("INVITE", self.core.make_via(other.peer), body=offer)
        reinvite.headers.add("Content-Type", SDP)
        pending.client_tx = self.core.send_request(
            reinvite, other.peer, lambda r: self._on_reinvite_response(call, other, reinvite, r)
        )

    def _respond_reoffer(self, tx: ServerTransaction, leg: Leg, answer: bytes) -> None:
        ok = tx.request.response(200)
        if leg.dialog.local_contact is not None:
            ok.headers.add("Contact", leg.dialog.local_contact.serialize())
        ok.headers.add("Content-Type", SDP)
        ok.body = answer
        self.core.respond(tx, ok)

    def _on_reinvite_response(
        self, call: Call, other: Leg, reinvite: Request, response: Response
    ) -> None:
        pending = call.reinvite
        if response.status < 200 or pending is None or call.state != CallState.ANSWERED:
            return
        call.reinvite = None
        tx = pending.server_tx
        if response.status >= 300:
            if pending.answer is not None:
                # The browser and pbxd agreed already; the phone merely stays as it was.
                log.info("call %s: %s refused the hold/resume", call.id, other.name)
                self._respond_reoffer(tx, pending.from_leg, pending.answer)
                return
            self.core.respond(tx, tx.request.response(response.status, response.reason))
            return
        ack = other.dialog.create_request(
            "ACK", self.core.make_via(other.peer), cseq=reinvite.cseq.seq
        )
        assert pending.client_tx is not None
        self.core.send_ack(pending.client_tx, ack, other.peer)
        other.dialog.update_target(response)
        assert call.media is not None
        if pending.answer is not None and isinstance(call.media, WebRtcCallMedia):
            if response.body:
                try:
                    call.media.phone_reanswered(other.name, response.body)
                except SipError as exc:
                    log.info("call %s: unusable answer to the re-INVITE: %s", call.id, exc)
            self._respond_reoffer(tx, pending.from_leg, pending.answer)
            return
        ok = tx.request.response(200)
        local_contact = pending.from_leg.dialog.local_contact
        if local_contact is not None:
            ok.headers.add("Contact", local_contact.serialize())
        if response.body:
            ok.body = call.media.answer_from(other.name, response.body)
            ok.headers.add("Content-Type", SDP)
        self.core.respond(tx, ok)

    def _pass_through(self, call: Call, leg: Leg, tx: ServerTransaction, request: Request) -> None:
        """INFO: a DTMF digit goes to the media engine (which sends it on in RFC 4733, or to
        an IVR); any other INFO goes to the other side and its answer comes back."""
        if call.state != CallState.ANSWERED:
            raise CallDoesNotExist("call not established")
        try:
            dtmf = parse_info_body(request.headers.get("Content-Type") or "", request.body)
        except DtmfParseError as exc:
            raise BadRequest(str(exc)) from exc
        if dtmf is not None:
            assert call.media is not None
            call.media.dtmf_from(leg.name, dtmf[0])
            self.core.respond(tx, tx.request.response(200))
            return
        other = call.other(leg)
        forwarded = other.dialog.create_request(
            request.method, self.core.make_via(other.peer), body=request.body
        )
        content_type = request.headers.get("Content-Type")
        if content_type:
            forwarded.headers.add("Content-Type", content_type)

        def relay_final(response: Response) -> None:
            if response.status >= 200:
                self.core.respond(tx, tx.request.response(response.status, response.reason))

        self.core.send_request(forwarded, other.peer, relay_final)

    # -- the end ------------------------------------------------------------------------------

    def _end(self, call: Call, disposition: Disposition, side: HangupSide) -> None:
        if call.state == CallState.ENDED:
            return
        self._release(call)
        record = call_record(
            call.request.call_id,
            call.caller,
            call.callee,
            call.started_at,
            call.answered_at,
            datetime.now(UTC),
            disposition,
            side,
        )
        log.info("call %s ended: %s by %s", call.id, disposition.value, side.value)
        self.on_call_end(record, call.recording)

    def _release(self, call: Call) -> None:
        """The call is over for the B2BUA (ended, or handed to an application): its timer,
        dialogs and media go."""
        call.state = CallState.ENDED
        self._cancel_ring_timer(call)
        for leg in (call.caller_leg, call.callee_leg):
            if leg is not None:
                self._legs.pop(leg.dialog.id, None)
        if call.media is not None:
            call.media.close()
        self.calls.pop(call.id, None)

    @staticmethod
    def _cancel_ring_timer(call: Call) -> None:
        if call.ring_timer is not None:
            call.ring_timer.cancel()
            call.ring_timer = None

    def active_calls(self) -> int:
        return len(self.calls)


def _failure_for(response: Response) -> SipError:
    error = SipError(response.reason)
    error.status = 480 if response.status in (408, 487) else response.status
    error.reason = "Temporarily Unavailable" if error.status == 480 else response.reason
    return error


def _disposition_for(status: int) -> Disposition:
    if status in (486, 600, 603):
        return Disposition.BUSY
    if status in (408, 480, 487):
        return Disposition.NO_ANSWER
    return Disposition.FAILED
