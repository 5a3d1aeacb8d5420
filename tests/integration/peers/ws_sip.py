"""A minimal SIP-over-WebSocket user agent (RFC 7118) with plain RTP, for tests.

It behaves like a browser softphone on the signalling side (JsSIP: subprotocol `sip`, a
`<random>.invalid` Contact with `;transport=ws`, `SIP/2.0/WS` in Via, one SIP message per
WebSocket message) but carries its audio as plain RTP/AVP PCMU on a UDP socket, so that it
needs no WebRTC stack. pbxd offers WebRTC to contacts registered over a WebSocket: this
client's Contact carries the `+pbxd.plain-rtp` feature parameter to get plain RTP offers
(`plain_rtp=False` is a browser: peers/webrtc_browser.py adds aiortc as its media).
Messages are written by hand here; pbxd's parser only reads what comes back (as
tests/integration/test_bad_sip.py does). Digest responses are computed here with hashlib,
independently of pbxd.sip.auth.

Everything is asyncio: run it in the test's event loop, and blocking peers (pjsua) in threads.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import ssl
import time
from dataclasses import dataclass, field

import numpy as np
from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClientConnection, websocket_connect

from pbxd.sip.message import Request, Response, parse_message

SAMPLE_RATE = 8000
FRAME = 160  # samples per 20 ms packet


# -- G.711 mu-law (ITU-T G.711), written here so the test does not trust pbxd's codec --------

_BIAS = 0x84
_CLIP = 32635


def mulaw_encode(samples: np.ndarray) -> bytes:
    """float samples in [-1, 1] -> mu-law bytes."""
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype(np.int32)
    sign = (pcm < 0).astype(np.int32) << 7
    magnitude = np.minimum(np.abs(pcm), _CLIP) + _BIAS
    exponent = np.floor(np.log2(magnitude)).astype(np.int32) - 7
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()


def mulaw_decode(data: bytes) -> np.ndarray:
    """mu-law bytes -> float samples in [-1, 1]."""
    value = ~np.frombuffer(data, dtype=np.uint8).astype(np.int32) & 0xFF
    exponent = (value >> 4) & 0x07
    magnitude = (((value & 0x0F) << 3) + _BIAS) << exponent
    linear = np.where(value & 0x80, _BIAS - magnitude, magnitude - _BIAS)
    return linear.astype(np.float64) / 32768.0


# -- RTP --------------------------------------------------------------------------------------


class RtpEndpoint(asyncio.DatagramProtocol):
    """Sends a tone as PCMU (payload type 0) to the far end and keeps what it receives."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.received: list[tuple[int, bytes]] = []  # (sequence number, payload)
        self.remote: tuple[str, int] | None = None
        self._sender: asyncio.Task | None = None

    @classmethod
    async def open(cls, host: str = "127.0.0.1") -> RtpEndpoint:
        loop = asyncio.get_running_loop()
        _, endpoint = await loop.create_datagram_endpoint(cls, local_addr=(host, 0))
        return endpoint

    @property
    def port(self) -> int:
        assert self.transport is not None
        return self.transport.get_extra_info("sockname")[1]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        # RFC 3550 fixed header: V=2, 12 bytes plus CSRCs; PCMU only (dynamic types ignored).
        if len(data) < 12 or data[0] >> 6 != 2 or data[1] & 0x7F != 0:
            return
        header = 12 + 4 * (data[0] & 0x0F)
        self.received.append((int.from_bytes(data[2:4], "big"), data[header:]))

    def start_tone(self, remote: tuple[str, int], frequency: float) -> None:
        self.remote = remote
        self._sender = asyncio.get_running_loop().create_task(self._send_tone(frequency))

    async def _send_tone(self, frequency: float) -> None:
        ssrc = secrets.randbits(32)
        sequence, timestamp = secrets.randbits(16), secrets.randbits(32)
        start = time.monotonic()
        sent = 0
        while True:
            t = (np.arange(FRAME) + sent * FRAME) / SAMPLE_RATE
            payload = mulaw_encode(0.5 * np.sin(2 * np.pi * frequency * t))
            marker = 0x80 if sent == 0 else 0
            header = bytes([0x80, marker | 0]) + sequence.to_bytes(2, "big")
            header += timestamp.to_bytes(4, "big") + ssrc.to_bytes(4, "big")
            if self.transport is not None and self.remote is not None:
                self.transport.sendto(header + payload, self.remote)
            sent += 1
            sequence = (sequence + 1) & 0xFFFF
            timestamp = (timestamp + FRAME) & 0xFFFFFFFF
            # paced by the clock, not by sleeps adding up
            await asyncio.sleep(max(0.0, start + sent * 0.02 - time.monotonic()))

    def heard(self) -> np.ndarray:
        """What arrived, in arrival order, decoded."""
        return mulaw_decode(b"".join(payload for _, payload in self.received))

    def close(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
        if self.transport is not None:
            self.transport.close()


def sdp(port: int, session: int = 1) -> str:
    return (
        f"v=0\r\no=- {session} {session} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
        f"t=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
    )


def sdp_audio_target(body: bytes) -> tuple[str, int, list[str]]:
    """(connection address, audio port, payload types) of an SDP body."""
    text = body.decode()
    address = re.search(r"^c=IN IP[46] (\S+)", text, re.M)
    media = re.search(r"^m=audio (\d+) (\S+)((?: \d+)*)", text, re.M)
    assert address and media, f"SDP without address or audio: {text!r}"
    return address.group(1), int(media.group(1)), media.group(3).split()


# -- digest (RFC 7616 / RFC 2617, qop=auth) ---------------------------------------------------

_HASHES = {"MD5": "md5", "SHA-256": "sha256"}
_AUTH_PARAM = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))')


def challenge_params(header: str) -> dict[str, str]:
    scheme, _, rest = header.partition(" ")
    assert scheme.lower() == "digest", header
    return {
        m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
        for m in _AUTH_PARAM.finditer(rest)
    }


def pick_challenge(headers: list[str]) -> dict[str, str]:
    """The strongest challenge this client can answer (SHA-256 before MD5)."""
    offered = [challenge_params(h) for h in headers]
    for algorithm in ("SHA-256", "MD5"):
        for params in offered:
            if params.get("algorithm", "MD5").upper() == algorithm:
                return params
    raise AssertionError(f"no usable digest challenge in {headers}")


def authorization(
    params: dict[str, str], *, username: str, password: str, method: str, uri: str
) -> str:
    algorithm = params.get("algorithm", "MD5").upper()

    def h(text: str) -> str:
        return hashlib.new(_HASHES[algorithm], text.encode()).hexdigest()

    cnonce, nc = secrets.token_hex(8), "00000001"
    ha1 = h(f"{username}:{params['realm']}:{password}")
    ha2 = h(f"{method}:{uri}")
    response = h(f"{ha1}:{params['nonce']}:{nc}:{cnonce}:auth:{ha2}")
    value = (
        f'Digest username="{username}", realm="{params["realm"]}", nonce="{params["nonce"]}", '
        f'uri="{uri}", response="{response}", algorithm={algorithm}, qop=auth, nc={nc}, '
        f'cnonce="{cnonce}"'
    )
    if "opaque" in params:
        value += f', opaque="{params["opaque"]}"'
    return value


# -- the user agent ---------------------------------------------------------------------------


def new_id() -> str:
    return secrets.token_hex(8)


@dataclass
class Dialog:
    call_id: str
    local: str  # our From/To value with our tag
    remote: str  # theirs, with their tag
    remote_target: str  # their Contact URI
    local_seq: int
    remote_sdp: bytes = b""


@dataclass
class WsSipClient:
    """One WebSocket connection to pbxd's /ws, one extension."""

    url: str  # ws://host:port/ws, or wss://host:port/ws with `ssl_context`
    user: str
    password: str
    domain: str  # pbxd's SIP domain (host:port): To/From of REGISTER and calls
    origin: str | None = None
    source_ip: str | None = None
    subprotocols: tuple[str, ...] = ("sip",)
    inbox: list[Request | Response] = field(default_factory=list)
    plain_rtp: bool = True  # its media: plain RTP/AVP (True) or WebRTC like a browser's
    # wss://: the TLS client context (e.g. trusting pbxd's device certificate); None: the
    # system's defaults
    ssl_context: ssl.SSLContext | None = None

    def __post_init__(self) -> None:
        self.via_host = f"{secrets.token_hex(6)}.invalid"  # RFC 7118 section 5.2
        # Section 5.2 too: the Via transport is WSS over TLS (the Contact stays transport=ws).
        self.via_transport = "WSS" if self.url.lower().startswith("wss:") else "WS"
        self.contact_uri = f"sip:{self.user}@{self.via_host};transport=ws"
        self.from_tag = new_id()
        self.register_call_id = new_id()
        self.register_seq = 0
        self.ws: WebSocketClientConnection | None = None
        self.raw: list[str | bytes] = []  # every WebSocket message received
        self.finals: list[int] = []  # status of every final response matched, in order
        # RFC 3840 feature parameters: JsSIP announces ICE (RFC 5768), this client plain RTP.
        feature = "+pbxd.plain-rtp" if self.plain_rtp else "+sip.ice"
        self.contact_header = f"<{self.contact_uri};ob>;{feature}"

    async def connect(self, timeout: float = 5.0) -> WsSipClient:
        headers = {} if self.origin is None else {"Origin": self.origin}
        request = HTTPRequest(
            self.url,
            headers=headers,
            network_interface=self.source_ip,
            connect_timeout=timeout,
            request_timeout=timeout,
            ssl_options=self.ssl_context,
        )
        self.ws = await websocket_connect(request, subprotocols=list(self.subprotocols))
        return self

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()

    @property
    def close_code(self) -> int | None:
        return None if self.ws is None else self.ws.close_code

    # -- raw I/O --------------------------------------------------------------------------------

    async def send(self, message: str | bytes) -> None:
        assert self.ws is not None
        await self.ws.write_message(message, binary=isinstance(message, bytes))

    async def read_raw(self, timeout: float = 5.0) -> str | bytes | None:
        """The next WebSocket message; None when the connection closed."""
        assert self.ws is not None
        message = await asyncio.wait_for(self.ws.read_message(), timeout)
        if message is not None:
            self.raw.append(message)
        return message

    async def expect(
        self, predicate, timeout: float = 5.0, what: str = "message"
    ) -> Request | Response:
        """The oldest SIP message (buffered or arriving within `timeout`) matching predicate."""
        deadline = time.monotonic() + timeout
        while True:
            for index, message in enumerate(self.inbox):
                if predicate(message):
                    return self.inbox.pop(index)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{self.user}: no {what} within {timeout} s; got {self.raw}")
            try:
                data = await self.read_raw(remaining)
            except TimeoutError:
                continue
            if data is None:
                raise AssertionError(
                    f"{self.user}: connection closed ({self.close_code}) "
                    f"while waiting for {what}; got {self.raw}"
                )
            self.inbox.append(parse_message(data if isinstance(data, bytes) else data.encode()))

    async def silence(self, timeout: float) -> list[str | bytes]:
        """Whatever arrives within `timeout` (expected: nothing)."""
        got = []
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                data = await self.read_raw(remaining)
            except TimeoutError:
                break
            if data is None:
                break
            got.append(data)
        return got

    async def final_response(self, call_id: str, cseq: int, timeout: float = 5.0) -> Response:
        def matches(m: Request | Response) -> bool:
            return (
                isinstance(m, Response)
                and m.status >= 200
                and m.call_id == call_id
                and m.cseq.seq == cseq
            )

        response = await self.expect(matches, timeout, f"final response to CSeq {cseq}")
        assert isinstance(response, Response)
        self.finals.append(response.status)
        return response

    async def request_of(self, method: str, timeout: float = 10.0) -> Request:
        request = await self.expect(
            lambda m: isinstance(m, Request) and m.method == method, timeout, method
        )
        assert isinstance(request, Request)
        return request

    # -- message building -----------------------------------------------------------------------

    def via(self, branch: str | None = None) -> str:
        branch = branch or "z9hG4bK" + new_id()
        return f"SIP/2.0/{self.via_transport} {self.via_host};branch={branch};rport"

    def build_request(
        self,
        method: str,
        uri: str,
        *,
        from_: str,
        to: str,
        call_id: str,
        cseq: int,
        branch: str | None = None,
        extra: tuple[str, ...] = (),
        body: str = "",
        content_length: bool = True,
    ) -> str:
        lines = [
            f"{method} {uri} SIP/2.0",
            f"Via: {self.via(branch)}",
            "Max-Forwards: 70",
            f"From: {from_}",
            f"To: {to}",
            f"Call-ID: {call_id}",
            f"CSeq: {cseq} {method}",
            f"Contact: {self.contact_header}",
            "User-Agent: pbxd-test-ws",
            *extra,
        ]
        if body:
            lines.append("Content-Type: application/sdp")
        if content_length:
            lines.append(f"Content-Length: {len(body.encode())}")
        return "\r\n".join(lines) + "\r\n\r\n" + body

    def build_response(
        self,
        request: Request,
        status: int,
        reason: str,
        *,
        to_tag: str | None = None,
        body: str = "",
    ) -> str:
        lines = [f"SIP/2.0 {status} {reason}"]
        lines += [f"Via: {v}" for v in request.headers.get_list("Via")]
        to = request.headers.get("To") or ""
        if to_tag and ";tag=" not in to:
            to += f";tag={to_tag}"
        lines += [
            f"From: {request.headers.get('From')}",
            f"To: {to}",
            f"Call-ID: {request.call_id}",
            f"CSeq: {request.headers.get('CSeq')}",
        ]
        if request.method == "INVITE" and status < 300:
            lines.append(f"Contact: <{self.contact_uri}>")
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body.encode())}")
        return "\r\n".join(lines) + "\r\n\r\n" + body

    # -- registration ---------------------------------------------------------------------------

    async def register(
        self, expires: int = 300, password: str | None = None, timeout: float = 5.0
    ) -> Response:
        """REGISTER, answering one digest challenge; returns the final response."""
        uri = f"sip:{self.domain}"
        aor = f"<sip:{self.user}@{self.domain}>"
        extra: tuple[str, ...] = (f"Expires: {expires}",)
        for _attempt in range(2):
            self.register_seq += 1
            await self.send(
                self.build_request(
                    "REGISTER",
                    uri,
                    from_=f"{aor};tag={self.from_tag}",
                    to=aor,
                    call_id=self.register_call_id,
                    cseq=self.register_seq,
                    extra=extra,
                )
            )
            response = await self.final_response(self.register_call_id, self.register_seq, timeout)
            if response.status != 401:
                return response
            params = pick_challenge(response.headers.get_list("WWW-Authenticate"))
            extra = (
                f"Expires: {expires}",
                "Authorization: "
                + authorization(
                    params,
                    username=self.user,
                    password=password or self.password,
                    method="REGISTER",
                    uri=uri,
                ),
            )
        return response

    # -- calls ----------------------------------------------------------------------------------

    async def invite(self, target: str, offer: str, timeout: float = 15.0) -> Dialog:
        """Call `target` (an extension number) with `offer`; returns the confirmed dialog
        once the 200 OK arrived and was ACKed. Answers one 407 with credentials."""
        uri = f"sip:{target}@{self.domain}"
        call_id, tag = new_id(), new_id()
        local = f"<sip:{self.user}@{self.domain}>;tag={tag}"
        to = f"<{uri}>"
        extra: tuple[str, ...] = ()
        for seq in (1, 2):
            branch = "z9hG4bK" + new_id()
            await self.send(
                self.build_request(
                    "INVITE",
                    uri,
                    from_=local,
                    to=to,
                    call_id=call_id,
                    cseq=seq,
                    branch=branch,
                    extra=extra,
                    body=offer,
                )
            )
            response = await self.final_response(call_id, seq, timeout)
            if response.status < 300:
                break
            # Section 17.1.1.3: the ACK of a non-2xx final is part of the transaction.
            await self.send(
                self.build_request(
                    "ACK",
                    uri,
                    from_=local,
                    to=response.headers.get("To") or to,
                    call_id=call_id,
                    cseq=seq,
                    branch=branch,
                )
            )
            if response.status != 407:
                raise AssertionError(f"INVITE to {target} answered {response.status}")
            params = pick_challenge(response.headers.get_list("Proxy-Authenticate"))
            extra = (
                "Proxy-Authorization: "
                + authorization(
                    params,
                    username=self.user,
                    password=self.password,
                    method="INVITE",
                    uri=uri,
                ),
            )
        else:
            raise AssertionError("INVITE still challenged after credentials")
        assert response.status == 200, response.status
        remote_target = response.contacts[0].uri.serialize()
        dialog = Dialog(
            call_id, local, response.headers.get("To") or "", remote_target, seq, response.body
        )
        await self.send(
            self.build_request(
                "ACK",
                remote_target,
                from_=local,
                to=dialog.remote,
                call_id=call_id,
                cseq=seq,
            )
        )
        return dialog

    async def answer(self, invite: Request, answer_sdp: str) -> Dialog:
        """180 then 200 with `answer_sdp`; returns the dialog once the ACK arrived."""
        tag = new_id()
        await self.send(self.build_response(invite, 180, "Ringing", to_tag=tag))
        await self.send(self.build_response(invite, 200, "OK", to_tag=tag, body=answer_sdp))
        await self.expect(
            lambda m: isinstance(m, Request) and m.method == "ACK" and m.call_id == invite.call_id,
            5.0,
            "ACK",
        )
        to = invite.headers.get("To") or ""
        return Dialog(
            invite.call_id,
            to if ";tag=" in to else f"{to};tag={tag}",
            invite.headers.get("From") or "",
            invite.contacts[0].uri.serialize(),
            0,
            invite.body,
        )

    async def bye(self, dialog: Dialog) -> Response:
        dialog.local_seq += 1
        await self.send(
            self.build_request(
                "BYE",
                dialog.remote_target,
                from_=dialog.local,
                to=dialog.remote,
                call_id=dialog.call_id,
                cseq=dialog.local_seq,
            )
        )
        return await self.final_response(dialog.call_id, dialog.local_seq)

    async def answer_bye(self, timeout: float = 10.0) -> Request:
        bye = await self.request_of("BYE", timeout)
        await self.send(self.build_response(bye, 200, "OK"))
        return bye
