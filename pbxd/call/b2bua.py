"""Back-to-back user agent for calls between extensions.

Leg A is the caller's INVITE server transaction and, once answered, its dialog; leg B is one
outgoing INVITE per registered contact of the callee (forking: every device of an extension
rings, the first to answer wins). Media is terminated on both sides by the media engine
(`CallMedia`), which bridges the two legs.

Signalling state lives on `Call`; nothing here blocks: the only await is opening RTP sockets.
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
from pbxd.media.session import CallMedia, MediaFactory
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
from pbxd.sip.transaction import ClientTransaction, ServerTransaction
from pbxd.sip.uri import SipUri

from .auth_guard import AuthGuard
from .cdr import Disposition, HangupSide, call_record
from .legs import ALLOW, Branch, InboundLeg, LegManager
from .recording import CallRecording, start_recording
from .sipcore import SipCore

log = logging.getLogger(__name__)

RING_TIMEOUT = 60.0
SDP = "application/sdp"
UNANSWERED = (408, 480, 486, 487, 600, 603)  # final answers a mailbox may take over

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

    def other(self, leg: Leg) -> Leg:
        other = self.callee_leg if leg is self.caller_leg else self.caller_leg
        assert other is not None
        return other


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
        self.calls: dict[int, Call] = {}
        self._legs: dict[DialogId, tuple[Call, Leg]] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task] = set()

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
        try:
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
            offer = media.offer_from("caller", call.request.body)
        except SipError as exc:
            self._fail(call, exc, Disposition.FAILED)
            return
        call_id = new_call_id(self.core.host_for(call.caller_peer))
        b_tag = new_tag()
        for binding in bindings:
            branch = Branch(binding, self._callee_invite(call, binding, call_id, b_tag, offer))
            call.branches.append(branch)
            branch.tx = self.core.send_request(
                branch.invite, branch.peer, lambda r, c=call, b=branch: self._on_branch(c, b, r)
            )
        call.ring_timer = asyncio.get_running_loop().call_later(
            self.ring_timeout, self._ring_timeout, call
        )

    def _callee_invite(
        self, call: Call, binding: Binding, call_id: str, tag: str, sdp: bytes
    ) -> Request:
        peer = binding.source
        host = self.core.host_for(peer)
        caller_from = call.request.from_
        headers = Headers()
        headers.add("Via", self.core.make_via(peer).serialize())
        headers.add("Max-Forwards", str(max(0, (call.request.max_forwards or 70) - 1)))
        from_uri = SipUri("sip", host, call.caller)
        headers.add("From", NameAddr(from_uri, caller_from.display, {"tag": tag}).serialize())
        headers.add("To", NameAddr(SipUri("sip", host, call.callee)).serialize())
        headers.add("Call-ID", call_id)
        headers.add("CSeq", CSeq(1, "INVITE").serialize())
        headers.add("Contact", self.core.contact_for(peer, call.caller).serialize())
        headers.add("Allow", ALLOW)
        headers.add("Content-Type", SDP)
        return Request(headers=headers, body=sdp, method="INVITE", uri=binding.uri)

    def _on_branch(self, call: Call, branch: Branch, response: Response) -> None:
        if response.status < 200:
            self._on_branch_provisional(call, branch, response)
        elif response.status < 300:
            self._on_branch_answer(call, branch, response)
        else:
            branch.done = True
            if call.state in (CallState.SETUP, CallState.RINGING) and all(
                b.done for b in call.branches
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
        if response.body and response.content_type == SDP and not call.early_media_sent:
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
        if call.state not in (CallState.SETUP, CallState.RINGING):
            # Another device answered first, or the caller gave up: release this one.
            self._send_bye(Leg("callee", dialog, branch.peer))
            return
        assert call.media is not None
        try:
            # A 200 without SDP repeats the answer its 183 gave (RFC 3264 section 5).
            answer = call.media.answer_from("callee", response.body or None)
        except SipError as exc:
            log.info("call %s: callee answered with unusable SDP: %s", call.id, exc)
            self._send_bye(Leg("callee", dialog, branch.peer))
            self._fail(call, NotAcceptableHere(str(exc)), Disposition.FAILED)
            return
        for other in call.branches:
            if other is not branch:
                other.cancel(self.core)
        ok = call.server_tx.request.response(200, to_tag=call.a_tag)
        contact = self.core.contact_for(call.caller_peer, call.callee)
        ok.headers.add("Contact", contact.serialize())
        ok.headers.add("Allow", ALLOW)
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
        if call.state in (CallState.SETUP, CallState.RINGING):
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
        self._release(call)
        log.info("call %s: %s did not answer: to its voicemail", call.id, call.callee)
        leg = self.legs.inbound(
            call.server_tx, call.request, call.caller_peer, call.caller, call.callee, call.a_tag
        )
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

    def _media_died(self, call: Call) -> None:
        if call.state == CallState.ANSWERED:
            log.info("call %s: media timeout, hanging up", call.id)
            self._hang_up(call, HangupSide.SYSTEM)

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
        assert call.media is not None
        offer = call.media.offer_from(leg.name, request.body)
        leg.dialog.update_target(request)
        other = call.other(leg)
        reinvite = other.dialog.create_request("INVITE", self.core.make_via(other.peer), body=offer)
        reinvite.headers.add("Content-Type", SDP)
        pending = call.reinvite = PendingReinvite(leg, tx)
        pending.client_tx = self.core.send_request(
            reinvite, other.peer, lambda r: self._on_reinvite_response(call, other, reinvite, r)
        )

    def _on_reinvite_response(
        self, call: Call, other: Leg, reinvite: Request, response: Response
    ) -> None:
        pending = call.reinvite
        if response.status < 200 or pending is None or call.state != CallState.ANSWERED:
            return
        call.reinvite = None
        tx = pending.server_tx
        if response.status >= 300:
            self.core.respond(tx, tx.request.response(response.status, response.reason))
            return
        ack = other.dialog.create_request(
            "ACK", self.core.make_via(other.peer), cseq=reinvite.cseq.seq
        )
        assert pending.client_tx is not None
        self.core.send_ack(pending.client_tx, ack, other.peer)
        other.dialog.update_target(response)
        assert call.media is not None
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
