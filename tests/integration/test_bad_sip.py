"""Malformed and hostile SIP against a running pbxd: the right 4xx or silence, and it serves on.

Raw UDP sockets play the misbehaving peer: nothing here is a SIP stack, so the bytes on the wire
are exactly what a broken phone or a scanner would send.
"""

from __future__ import annotations

import itertools
import socket
import uuid

import pytest

from pbxd.sip.auth import digest_response, parse_auth_params
from pbxd.sip.message import Response, parse_message

from .pbxd_process import PbxdProcess

pytestmark = pytest.mark.peer

_branches = itertools.count(1)


class RawPeer:
    """A UDP socket that sends hand-written SIP and reads what comes back."""

    def __init__(self, pbxd: PbxdProcess, source_ip: str = "127.0.0.1"):
        self.pbxd = pbxd
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((source_ip, 0))
        self.host, self.port = self.sock.getsockname()

    def close(self) -> None:
        self.sock.close()

    def request(
        self,
        method: str,
        uri: str | None = None,
        *,
        extra: tuple[str, ...] = (),
        cseq: str | None = None,
        to_tag: str | None = None,
        call_id: str | None = None,
        branch: str | None = None,
        user: str = "1001",
        body: str = "",
        version: str = "SIP/2.0",
        max_forwards: str = "70",
        content_length: int | None = None,
    ) -> bytes:
        uri = uri or f"sip:{user}@{self.pbxd.sip_address}"
        to = f"<sip:{user}@{self.pbxd.sip_address}>" + (f";tag={to_tag}" if to_tag else "")
        lines = [
            f"{method} {uri} {version}",
            f"Via: SIP/2.0/UDP {self.host}:{self.port};branch={branch or self.new_branch()};rport",
            f"Max-Forwards: {max_forwards}",
            f"From: <sip:{user}@{self.pbxd.sip_address}>;tag=raw-from",
            f"To: {to}",
            f"Call-ID: {call_id or uuid.uuid4().hex}",
            f"CSeq: {cseq or '1 ' + method}",
            f"Contact: <sip:{user}@{self.host}:{self.port}>",
            *extra,
            f"Content-Length: {len(body) if content_length is None else content_length}",
        ]
        return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()

    @staticmethod
    def new_branch() -> str:
        return f"z9hG4bKraw{next(_branches)}"

    def send(self, data: bytes) -> None:
        self.sock.sendto(data, (self.pbxd.host, self.pbxd.sip_port))

    def receive(self, timeout: float = 2.0) -> Response | None:
        """The next final response (provisional ones are skipped), or None on silence."""
        self.sock.settimeout(timeout)
        while True:
            try:
                data, _ = self.sock.recvfrom(65535)
            except TimeoutError:
                return None
            message = parse_message(data)
            assert isinstance(message, Response), f"pbxd sent a request: {data!r}"
            if message.status >= 200:
                return message

    def exchange(self, data: bytes, timeout: float = 2.0) -> Response | None:
        self.send(data)
        return self.receive(timeout)


@pytest.fixture
def peer(pbxd: PbxdProcess):
    raw = RawPeer(pbxd)
    yield raw
    raw.close()


def dropped_count(pbxd: PbxdProcess) -> int:
    sip = pbxd.api("GET", "/api/v1/system/status")["sip"]
    return sip.get("unparsable", 0) + sip.get("invalid", 0)


def status_of(response: Response | None) -> int | None:
    return None if response is None else response.status


def assert_still_serving(peer: RawPeer) -> None:
    response = peer.exchange(peer.request("OPTIONS"))
    assert status_of(response) == 200, "pbxd stopped answering OPTIONS"


def test_options_is_answered_with_capabilities(peer: RawPeer) -> None:
    response = peer.exchange(peer.request("OPTIONS"))
    assert response is not None and response.status == 200
    allow = response.headers.get("Allow") or ""
    assert {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER"} <= {
        m.strip() for m in allow.split(",")
    }


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\xff\xfe garbage",
        b"INVITE\r\n\r\n",
        b"SIP/2.0 200\r\n\r\n",
        b"REGISTER sip:x SIP/2.0\r\nVia: broken\r\n\r\n",
        bytes(range(256)) * 4,
        b"\r\n\r\n",
    ],
)
def test_unparsable_datagrams_are_dropped_and_counted(
    pbxd: PbxdProcess, peer: RawPeer, garbage: bytes
) -> None:
    before = dropped_count(pbxd)
    assert peer.exchange(garbage, timeout=0.5) is None
    assert_still_serving(peer)
    if garbage.strip(b"\r\n"):
        assert dropped_count(pbxd) == before + 1


def test_bad_requests_get_the_right_4xx(peer: RawPeer) -> None:
    cases = {
        # Section 8.2.2.3 / 20.32: an option the UAS does not know -> 420 with Unsupported.
        420: peer.request("OPTIONS", extra=("Require: com.example.teleport",)),
        # RFC 4475 3.1.2.1-like: a non-numeric CSeq.
        400: peer.request("OPTIONS", cseq="abc OPTIONS"),
        # Section 8.2.2.1: an unknown Request-URI scheme.
        416: peer.request("OPTIONS", uri="mailto:alice@example.com"),
        # Section 16.3 step 3: a request that would be forwarded with no hops left.
        483: peer.request("INVITE", max_forwards="0", body="v=0\r\n"),
        # No event packages: SUBSCRIBE is refused with Bad Event (RFC 6665 section 4.2.1.1).
        489: peer.request("SUBSCRIBE", extra=("Event: presence",)),
        # A BYE for a dialog that does not exist.
        481: peer.request("BYE", to_tag="no-such-dialog"),
        # Section 18.3: the datagram is shorter than its Content-Length says.
        400 + 0: peer.request("OPTIONS", body="v=0\r\n", content_length=500),
        # Version 3.0 of SIP does not exist (RFC 4475 3.1.2.16 badvers).
        505: peer.request("OPTIONS", version="SIP/7.0"),
    }
    for expected, data in cases.items():
        response = peer.exchange(data)
        assert status_of(response) == expected, (expected, data.decode(errors="replace"))
    unsupported = peer.exchange(peer.request("OPTIONS", extra=("Require: com.example.teleport",)))
    assert unsupported is not None and unsupported.headers.get("Unsupported") == (
        "com.example.teleport"
    )
    assert_still_serving(peer)


def test_merged_request_is_482(peer: RawPeer) -> None:
    """Section 8.2.2.2: the same request arriving over two paths (other branch) is a loop."""
    call_id = uuid.uuid4().hex
    first = peer.exchange(peer.request("INVITE", call_id=call_id, body="v=0\r\n"))
    assert status_of(first) == 407
    second = peer.exchange(peer.request("INVITE", call_id=call_id, body="v=0\r\n"))
    assert status_of(second) == 482


def test_scanners_get_no_answer(peer: RawPeer) -> None:
    for agent in ("friendly-scanner", "sipvicious 0.3", "VaxSIPUserAgent/3.1"):
        assert peer.exchange(peer.request("OPTIONS", extra=(f"User-Agent: {agent}",)), 0.5) is None
    assert_still_serving(peer)


def test_brute_force_source_is_blocked_but_others_are_served(
    pbxd: PbxdProcess, peer: RawPeer, new_extension
) -> None:
    number, _secret = new_extension()
    attacker = RawPeer(pbxd, source_ip="127.0.0.2")
    try:
        answers = []
        for attempt in range(12):
            call_id = uuid.uuid4().hex
            challenge = attacker.exchange(
                attacker.request(
                    "REGISTER", f"sip:{pbxd.sip_address}", user=number, call_id=call_id
                )
            )
            if challenge is None:
                answers.append(None)
                continue
            assert challenge.status == 401
            params = parse_auth_params(challenge.headers.get("WWW-Authenticate") or "")[1]
            uri = f"sip:{pbxd.sip_address}"
            response = digest_response(
                params.get("algorithm"),
                username=number,
                realm=params["realm"],
                password=f"guess-{attempt}",
                method="REGISTER",
                uri=uri,
                nonce=params["nonce"],
                qop="auth",
                nc="00000001",
                cnonce="abcdef",
            )
            credentials = (
                f'Authorization: Digest username="{number}", realm="{params["realm"]}", '
                f'nonce="{params["nonce"]}", uri="{uri}", response="{response}", '
                f"algorithm={params.get('algorithm', 'MD5')}, qop=auth, nc=00000001, "
                f'cnonce="abcdef", opaque="{params.get("opaque", "")}"'
            )
            answer = attacker.exchange(
                attacker.request(
                    "REGISTER",
                    uri,
                    user=number,
                    call_id=call_id,
                    cseq="2 REGISTER",
                    extra=(credentials,),
                )
            )
            answers.append(status_of(answer))
        # Ten wrong passwords are refused, then the source gets no answer at all.
        assert answers[:10] == [403] * 10
        assert answers[10:] == [None, None]
        assert attacker.exchange(attacker.request("OPTIONS"), timeout=0.5) is None
        assert_still_serving(peer)  # 127.0.0.1 is not blocked
    finally:
        attacker.close()
