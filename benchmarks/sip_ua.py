"""A minimal SIP user agent that sets up the media benchmark's calls through pbxd.

Not what is measured: it only brings N calls up before the RTP streams start and takes them
down after. It runs in the benchmark process with two UDP sockets on 127.0.0.1: one for
every caller, one for every callee (registered as the contact of each callee extension).

Caller: INVITE (PCMU offer, the generator's caller port) -> 407 -> ACK -> INVITE with
Proxy-Authorization -> 1xx -> 200 (pbxd's answer: where the caller leg sends) -> ACK; BYE at
the end. Callee: pbxd's INVITE (its offer: where the callee leg sends) -> 200 with an answer
choosing PCMU (plain) or PCMA (transcoding) at the generator's callee port -> ACK.

Messages are built as text and read with pbxd.sip.message.parse_message; digest responses
come from pbxd.sip.auth.digest_response (RFC 7616; MD5 or SHA-256, qop=auth or none).
At most one setup per caller extension is in flight, so the callee side knows which call
pbxd's INVITE belongs to from its From user (pbxd puts the authenticated caller there).
Requests are retransmitted after 0.5, 1, 2 ... s (RFC 3261 timer A), 200s to INVITEs until
their ACK arrives.
"""

from __future__ import annotations

import re
import secrets
import select
import socket
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from benchmarks.accounts import Account
from benchmarks.procs import LOOPBACK
from pbxd.sip.auth import digest_response, parse_auth_params
from pbxd.sip.errors import ParseError
from pbxd.sip.message import Request, Response, parse_message

T1 = 0.5
CODEC_NAMES = {0: "PCMU", 8: "PCMA"}


class SipUaError(RuntimeError):
    """Calls or registrations that pbxd refused or did not answer in time."""


def sdp_body(port: int, payload_types: Sequence[int], session: int) -> bytes:
    lines = [
        "v=0",
        f"o=bench {session} 1 IN IP4 {LOOPBACK}",
        "s=bench",
        f"c=IN IP4 {LOOPBACK}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(str(pt) for pt in payload_types)}",
        *(f"a=rtpmap:{pt} {CODEC_NAMES[pt]}/8000" for pt in payload_types),
        "a=ptime:20",
        "a=sendrecv",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


_CONNECTION = re.compile(rb"^c=IN IP4 (\S+)", re.MULTILINE)
_AUDIO = re.compile(rb"^m=audio (\d+) RTP/AVP ([\d ]+)", re.MULTILINE)


def sdp_media(body: bytes) -> tuple[tuple[str, int], list[int]]:
    """(address, port) of the first audio stream and its payload types."""
    connection, audio = _CONNECTION.search(body), _AUDIO.search(body)
    if connection is None or audio is None:
        raise SipUaError(f"SDP without c= or m=audio: {body[:200]!r}")
    payload_types = [int(pt) for pt in audio.group(2).split()]
    return (connection.group(1).decode(), int(audio.group(1))), payload_types


@dataclass
class Call:
    """One call of the benchmark; ports are the generator's, remotes are pbxd's."""

    index: int
    caller: Account
    callee: Account
    caller_port: int
    callee_port: int
    callee_pt: int  # what the callee answers: 0 PCMU (plain) or 8 PCMA (transcoding)
    call_id: str = field(default_factory=lambda: secrets.token_hex(10) + "@bench")
    from_tag: str = field(default_factory=lambda: secrets.token_hex(6))
    caller_remote: tuple[str, int] | None = None  # pbxd's port for the caller leg
    callee_remote: tuple[str, int] | None = None  # pbxd's port for the callee leg
    caller_pt: int | None = None  # what pbxd's answer to the caller chose
    to_tag: str | None = None
    target: str | None = None  # the Contact of pbxd's 200: where ACK and BYE go
    state: str = "new"  # new, auth, early, up, failed, ending, ended
    error: str | None = None
    callee_call_id: str | None = None
    callee_tag: str = field(default_factory=lambda: secrets.token_hex(6))
    callee_acked: bool = False

    @property
    def up(self) -> bool:
        return self.state == "up" and self.callee_acked


@dataclass
class _Pending:
    """A request or 2xx this UA retransmits until `done()`."""

    sock: socket.socket
    data: bytes
    address: tuple[str, int]
    done: Callable[[], bool]
    next_at: float
    interval: float = T1


class SipUa:
    def __init__(self, pbxd_port: int, *, digest_algorithms: Sequence[str] = ("MD5", "SHA-256")):
        self.pbxd = (LOOPBACK, pbxd_port)
        self.algorithms = tuple(a.upper() for a in digest_algorithms)
        self.caller_sock = self._socket()
        self.callee_sock = self._socket()
        self.caller_port = self.caller_sock.getsockname()[1]
        self.callee_port = self.callee_sock.getsockname()[1]
        self._calls: dict[str, Call] = {}  # by caller-side Call-ID
        self._callee_calls: dict[str, Call] = {}  # by pbxd's Call-ID towards the callee
        self._ringing_by_caller: dict[str, Call] = {}  # caller number -> call being set up
        self._pending: list[_Pending] = []
        self._answered: set[tuple[str, int]] = set()  # (Call-ID, CSeq) that got a response
        self._registered: dict[str, str] = {}  # callee number -> state
        self._register_ids: dict[str, Account] = {}

    @staticmethod
    def _socket() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        sock.bind((LOOPBACK, 0))
        sock.setblocking(False)
        return sock

    def close(self) -> None:
        self.caller_sock.close()
        self.callee_sock.close()

    # -- registration -----------------------------------------------------------------------

    def register(self, callees: Sequence[Account], *, timeout: float = 20.0) -> None:
        for account in callees:
            call_id = secrets.token_hex(10) + "@bench-reg"
            self._register_ids[call_id] = account
            self._registered[account.number] = "sent"
            self._send_register(account, call_id, 1, None)
        self._run(lambda: all(s != "sent" for s in self._registered.values()), timeout)
        failed = [n for n, s in self._registered.items() if s != "ok"]
        if failed:
            raise SipUaError(f"REGISTER failed for {len(failed)} callees: {failed[:5]}")

    def _send_register(
        self, account: Account, call_id: str, cseq: int, challenge: Response | None
    ) -> None:
        uri = f"sip:{self.pbxd[0]}:{self.pbxd[1]}"
        headers = [
            f"REGISTER {uri} SIP/2.0",
            self._via(self.callee_port),
            "Max-Forwards: 70",
            f"From: <sip:{account.number}@{LOOPBACK}>;tag={secrets.token_hex(4)}",
            f"To: <sip:{account.number}@{LOOPBACK}>",
            f"Call-ID: {call_id}",
            f"CSeq: {cseq} REGISTER",
            f"Contact: <sip:{account.number}@{LOOPBACK}:{self.callee_port}>",
            "Expires: 3600",
        ]
        if challenge is not None:
            headers.append(
                "Authorization: "
                + self._credentials(challenge, "WWW-Authenticate", account, "REGISTER", uri)
            )
        self._send_tracked(self.callee_sock, _message(headers), (call_id, cseq))

    # -- calls --------------------------------------------------------------------------------

    def setup(self, calls: Sequence[Call], *, in_flight: int, timeout: float = 60.0) -> None:
        """Bring the calls up, at most `in_flight` at once (and one per caller number)."""
        queue = list(calls)
        active: list[Call] = []

        def progress() -> bool:
            for call in [c for c in active if c.state in ("up", "failed")]:
                active.remove(call)
                self._ringing_by_caller.pop(call.caller.number, None)
            while queue and len(active) < in_flight:
                call = next((c for c in queue if c.caller.number not in self._ringing_by_caller),
                            None)  # fmt: skip
                if call is None:
                    break
                queue.remove(call)
                active.append(call)
                self._start_call(call)
            # Done when every call is up and its callee got pbxd's ACK, or has failed.
            return not queue and not active and all(c.callee_acked for c in calls if c.up)

        self._run(progress, timeout)
        failed = [c for c in calls if not c.up]
        if failed:
            reasons = sorted({c.error or c.state for c in failed})
            raise SipUaError(f"{len(failed)} of {len(calls)} calls did not come up: {reasons[:3]}")

    def _start_call(self, call: Call) -> None:
        self._calls[call.call_id] = call
        self._ringing_by_caller[call.caller.number] = call
        call.state = "auth"
        self._send_invite(call, 1, None)

    def _invite_uri(self, call: Call) -> str:
        return f"sip:{call.callee.number}@{self.pbxd[0]}:{self.pbxd[1]}"

    def _send_invite(self, call: Call, cseq: int, challenge: Response | None) -> None:
        uri = self._invite_uri(call)
        body = sdp_body(call.caller_port, [0], 1000 + call.index)
        headers = [
            f"INVITE {uri} SIP/2.0",
            self._via(self.caller_port),
            "Max-Forwards: 70",
            f"From: <sip:{call.caller.number}@{LOOPBACK}>;tag={call.from_tag}",
            f"To: <sip:{call.callee.number}@{LOOPBACK}>",
            f"Call-ID: {call.call_id}",
            f"CSeq: {cseq} INVITE",
            f"Contact: <sip:{call.caller.number}@{LOOPBACK}:{self.caller_port}>",
            "Content-Type: application/sdp",
        ]
        if challenge is not None:
            credentials = self._credentials(
                challenge, "Proxy-Authenticate", call.caller, "INVITE", uri
            )
            headers.append("Proxy-Authorization: " + credentials)
        # An INVITE stops being retransmitted once anything answers it (timer A, section 17.1.1).
        self._send_tracked(self.caller_sock, _message(headers, body), (call.call_id, cseq))

    def hang_up(self, calls: Sequence[Call], *, timeout: float = 30.0) -> None:
        for call in calls:
            if call.state != "up" or call.target is None:
                call.state = "ended"
                continue
            call.state = "ending"
            headers = [
                f"BYE {call.target} SIP/2.0",
                self._via(self.caller_port),
                "Max-Forwards: 70",
                f"From: <sip:{call.caller.number}@{LOOPBACK}>;tag={call.from_tag}",
                f"To: <sip:{call.callee.number}@{LOOPBACK}>;tag={call.to_tag}",
                f"Call-ID: {call.call_id}",
                "CSeq: 3 BYE",
            ]
            self._send_tracked(self.caller_sock, _message(headers), (call.call_id, 3))
        self._run(lambda: all(c.state == "ended" for c in calls), timeout)
        for call in calls:
            self._calls.pop(call.call_id, None)
            if call.callee_call_id:
                self._callee_calls.pop(call.callee_call_id, None)

    # -- the loop -----------------------------------------------------------------------------

    def _run(self, done: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            now = time.monotonic()
            if now > deadline:
                break
            self._retransmit(now)
            readable, _, _ = select.select([self.caller_sock, self.callee_sock], [], [], 0.02)
            for sock in readable:
                while True:
                    try:
                        data, address = sock.recvfrom(65535)
                    except BlockingIOError:
                        break
                    self._on_datagram(sock, data, address)

    def _send_tracked(self, sock: socket.socket, data: bytes, key: tuple[str, int]) -> None:
        """Send a request, retransmitted until a response with its Call-ID and CSeq arrives."""
        sock.sendto(data, self.pbxd)
        done = lambda: key in self._answered  # noqa: E731
        self._pending.append(_Pending(sock, data, self.pbxd, done, time.monotonic() + T1))

    def _retransmit(self, now: float) -> None:
        keep = []
        for pending in self._pending:
            if pending.done():
                continue
            if now >= pending.next_at:
                pending.sock.sendto(pending.data, pending.address)
                pending.interval = min(pending.interval * 2, 4.0)
                pending.next_at = now + pending.interval
            keep.append(pending)
        self._pending = keep

    def _on_datagram(self, sock: socket.socket, data: bytes, address: tuple) -> None:
        if not data.strip():
            return  # keep-alive
        try:
            message = parse_message(data)
        except ParseError:
            return
        if isinstance(message, Response):
            self._answered.add((message.call_id, message.cseq.seq))
            if message.call_id in self._register_ids:
                self._on_register_response(message)
            else:
                self._on_caller_response(message)
        else:
            self._on_request(sock, message, address)

    def _on_register_response(self, response: Response) -> None:
        account = self._register_ids[response.call_id]
        if response.status < 200:
            return
        cseq = response.cseq.seq
        if response.status == 401 and cseq == 1:
            self._send_register(account, response.call_id, 2, response)
        elif response.status == 200:
            self._registered[account.number] = "ok"
        elif self._registered[account.number] == "sent":
            self._registered[account.number] = f"{response.status} {response.reason}"

    def _on_caller_response(self, response: Response) -> None:
        call = self._calls.get(response.call_id)
        if call is None:
            return
        cseq = response.cseq
        if cseq.method == "BYE":
            if response.status >= 200:
                call.state = "ended"
            return
        if cseq.method != "INVITE":
            return
        if response.status < 200:
            return
        to_tag = response.to.tag
        if response.status >= 300:
            self._ack_failure(call, response)
            if response.status in (401, 407) and cseq.seq == 1 and call.state == "auth":
                call.state = "early"
                self._send_invite(call, 2, response)
            elif call.state not in ("up", "failed"):
                call.state = "failed"
                call.error = f"{response.status} {response.reason}"
            return
        # 2xx: the answer; ACK it (again, if the 200 was retransmitted).
        call.to_tag = to_tag
        if call.state != "up":
            contacts = response.contacts
            call.target = contacts[0].uri.serialize() if contacts else self._invite_uri(call)
            try:
                call.caller_remote, pts = sdp_media(response.body)
                call.caller_pt = pts[0]
            except SipUaError as exc:
                call.state, call.error = "failed", str(exc)
                return
            call.state = "up"
        headers = [
            f"ACK {call.target} SIP/2.0",
            self._via(self.caller_port),
            "Max-Forwards: 70",
            f"From: <sip:{call.caller.number}@{LOOPBACK}>;tag={call.from_tag}",
            f"To: <sip:{call.callee.number}@{LOOPBACK}>;tag={to_tag}",
            f"Call-ID: {call.call_id}",
            f"CSeq: {cseq.seq} ACK",
        ]
        self.caller_sock.sendto(_message(headers), self.pbxd)

    def _ack_failure(self, call: Call, response: Response) -> None:
        # Section 17.1.1.3: same branch as the INVITE, To with the response's tag.
        via = response.headers.get("Via") or ""
        headers = [
            f"ACK {self._invite_uri(call)} SIP/2.0",
            f"Via: {via}",
            "Max-Forwards: 70",
            f"From: <sip:{call.caller.number}@{LOOPBACK}>;tag={call.from_tag}",
            f"To: {response.headers.get('To')}",
            f"Call-ID: {call.call_id}",
            f"CSeq: {response.cseq.seq} ACK",
        ]
        self.caller_sock.sendto(_message(headers), self.pbxd)

    def _on_request(self, sock: socket.socket, request: Request, address: tuple) -> None:
        method = request.method
        if method == "ACK":
            call = self._callee_calls.get(request.call_id)
            if call is not None:
                call.callee_acked = True
            return
        if method == "INVITE" and sock is self.callee_sock and request.to.tag is None:
            self._on_callee_invite(request, address)
            return
        if method == "BYE":
            call = self._callee_calls.get(request.call_id) or self._calls.get(request.call_id)
            if call is not None and call.state == "up":
                call.state = "ended"  # pbxd hung up (media timeout, or it failed)
                call.error = "BYE from pbxd"
        response = request.response(200 if method != "INVITE" else 488)
        sock.sendto(response.serialize(), address)

    def _on_callee_invite(self, request: Request, address: tuple) -> None:
        call = self._callee_calls.get(request.call_id)
        if call is None:
            caller = getattr(request.from_.uri, "user", None) or ""
            call = self._ringing_by_caller.get(caller)
            if call is None or call.callee_call_id is not None:
                refusal = request.response(486, to_tag=secrets.token_hex(4))
                self.callee_sock.sendto(refusal.serialize(), address)
                return
            call.callee_call_id = request.call_id
            self._callee_calls[request.call_id] = call
            try:
                call.callee_remote, offered = sdp_media(request.body)
            except SipUaError as exc:
                call.error = str(exc)
                offered = []
            if call.callee_pt not in offered:
                call.error = f"pbxd did not offer payload type {call.callee_pt}: {offered}"
        response = request.response(200, to_tag=call.callee_tag)
        response.headers.add("Contact", f"<sip:{call.callee.number}@{LOOPBACK}:{self.callee_port}>")
        response.headers.add("Content-Type", "application/sdp")
        response.body = sdp_body(call.callee_port, [call.callee_pt], 2000 + call.index)
        data = response.serialize()
        if not any(p.data == data for p in self._pending):
            self.callee_sock.sendto(data, address)
            self._pending.append(
                _Pending(self.callee_sock, data, address, lambda: call.callee_acked,
                         time.monotonic() + T1)
            )  # fmt: skip
        else:
            self.callee_sock.sendto(data, address)  # the INVITE was retransmitted

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _via(port: int) -> str:
        return f"Via: SIP/2.0/UDP {LOOPBACK}:{port};branch=z9hG4bK{secrets.token_hex(8)};rport"

    def _credentials(
        self, challenge: Response, header: str, account: Account, method: str, uri: str
    ) -> str:
        for value in challenge.headers.get_raw(header):
            scheme, params = parse_auth_params(value)
            algorithm = params.get("algorithm", "MD5").upper()
            if scheme.lower() != "digest" or algorithm not in self.algorithms:
                continue
            qop = None
            if "qop" in params:
                qops = [q.strip() for q in params["qop"].split(",")]
                if "auth" not in qops:
                    continue
                qop = "auth"
            cnonce = secrets.token_hex(8)
            nc = "00000001"
            response = digest_response(
                algorithm,
                username=account.number,
                realm=params["realm"],
                password=account.secret,
                method=method,
                uri=uri,
                nonce=params["nonce"],
                qop=qop,
                nc=nc if qop else None,
                cnonce=cnonce if qop else None,
            )
            parts = [
                f'username="{account.number}"',
                f'realm="{params["realm"]}"',
                f'nonce="{params["nonce"]}"',
                f'uri="{uri}"',
                f'response="{response}"',
                f"algorithm={algorithm}",
            ]
            if qop:
                parts += [f"qop={qop}", f"nc={nc}", f'cnonce="{cnonce}"']
            if "opaque" in params:
                parts.append(f'opaque="{params["opaque"]}"')
            return "Digest " + ", ".join(parts)
        raise SipUaError(f"no usable {header} challenge: {challenge.headers.get_raw(header)}")


def _message(lines: list[str], body: bytes = b"") -> bytes:
    head = "\r\n".join([*lines, f"Content-Length: {len(body)}"]) + "\r\n\r\n"
    return head.encode() + body
