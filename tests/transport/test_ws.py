"""SIP over WebSocket without a SIP stack: the connection table (pure, scripted clock), the
transport with fake connections, the Tornado handler of /ws in a real app, and the SIP core's
hooks for WebSocket peers. The end-to-end story is tests/integration/test_sip_websocket.py."""

from __future__ import annotations

import asyncio

import pytest
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.testing import gen_test
from tornado.websocket import websocket_connect

from pbxd.call.sipcore import SipCore
from pbxd.sip.message import Request
from pbxd.sip.peer import Peer
from pbxd.transport.ws import (
    CLOSE_GOING_AWAY,
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    ConnectionTable,
    WebSocketTransport,
    WsLimits,
)
from pbxd.web import make_app
from tests.web.apitest import ApiTestCase
from tests.web.test_openapi import app_routes


def ws_peer(host: str = "192.0.2.1", port: int = 40000) -> Peer:
    return Peer("WS", host, port)


class FakeConnection:
    def __init__(self, alive: bool = True) -> None:
        self.sent: list[bytes] = []
        self.closed: tuple[int | None, str | None] | None = None
        self.alive = alive

    def send_sip(self, data: bytes) -> bool:
        if self.alive and self.closed is None:
            self.sent.append(data)
            return True
        return False

    def close(self, code: int | None = None, reason: str | None = None) -> None:
        self.closed = (code, reason)


# -- the table (pure) -----------------------------------------------------------------------------


def test_table_limits_connections_per_ip_and_in_total() -> None:
    table = ConnectionTable(WsLimits(per_ip=2, total=3))
    assert table.add(ws_peer(port=1), FakeConnection(), 0.0) is None
    assert table.add(ws_peer(port=2), FakeConnection(), 0.0) is None
    refusal = table.add(ws_peer(port=3), FakeConnection(), 0.0)
    assert refusal is not None and refusal.status == 503
    assert table.add(ws_peer("192.0.2.2", 1), FakeConnection(), 0.0) is None
    assert table.refusal("192.0.2.3") is not None  # the total is reached
    assert table.remove(ws_peer(port=1))
    assert table.connections_from("192.0.2.1") == 1
    assert table.add(ws_peer(port=3), FakeConnection(), 0.0) is None


def test_table_removes_only_the_connection_it_stores() -> None:
    table = ConnectionTable(WsLimits())
    old, new = FakeConnection(), FakeConnection()
    table.add(ws_peer(), old, 0.0)
    table.add(ws_peer(), new, 1.0)  # same address and port: a reused port, the newer wins
    assert table.get(ws_peer()) is new and len(table) == 1
    assert not table.remove(ws_peer(), old)  # the old one's late close changes nothing
    assert table.get(ws_peer()) is new
    assert table.connections_from("192.0.2.1") == 1


def test_table_closes_connections_without_a_registration_at_each_check() -> None:
    table = ConnectionTable(WsLimits(register_within=60.0))
    registered, idle = ws_peer(port=1), ws_peer(port=2)
    table.add(registered, FakeConnection(), 0.0)
    table.add(idle, FakeConnection(), 10.0)
    bound = {registered}
    assert table.next_check() == 60.0
    assert table.due(59.9, bound.__contains__) == []
    assert table.due(60.0, bound.__contains__) == []  # registered: checked again at 120
    assert table.next_check() == 70.0
    assert table.due(70.0, bound.__contains__) == [idle]
    table.remove(idle)
    bound.clear()  # it unregistered
    assert table.due(119.0, bound.__contains__) == []
    assert table.due(120.0, bound.__contains__) == [registered]


def test_limits_must_be_consistent() -> None:
    with pytest.raises(ValueError):
        WsLimits(per_ip=30, total=20)
    with pytest.raises(ValueError):
        WsLimits(register_within=0)


# -- the transport with fake connections ----------------------------------------------------------


async def test_transport_routes_each_message_by_its_connection() -> None:
    received: list[tuple[bytes, Peer]] = []
    transport = WebSocketTransport(lambda data, peer: received.append((data, peer)))
    a, b = FakeConnection(), FakeConnection()
    assert transport.open(a, ws_peer(port=1)) is None
    assert transport.open(b, ws_peer(port=2)) is None
    transport.receive(ws_peer(port=1), "OPTIONS sip:x SIP/2.0\r\n\r\n")
    assert received == [(b"OPTIONS sip:x SIP/2.0\r\n\r\n", ws_peer(port=1))]
    transport.send(b"SIP/2.0 200 OK\r\n\r\n", ws_peer(port=2))
    assert (a.sent, b.sent) == ([], [b"SIP/2.0 200 OK\r\n\r\n"])
    # RFC 5626 keep-alive: a double CRLF is answered with one, the core never sees it
    transport.receive(ws_peer(port=1), "\r\n\r\n")
    assert a.sent == [b"\r\n"] and len(received) == 1
    transport.close()
    assert a.closed and a.closed[0] == CLOSE_GOING_AWAY


async def test_transport_closes_on_an_oversize_message() -> None:
    received: list[bytes] = []
    transport = WebSocketTransport(
        lambda data, peer: received.append(data), limits=WsLimits(max_message_bytes=100)
    )
    connection = FakeConnection()
    transport.open(connection, ws_peer())
    transport.receive(ws_peer(), "x" * 101)
    assert received == [] and connection.closed and connection.closed[0] == CLOSE_TOO_BIG
    assert not transport.can_reach(ws_peer())
    assert transport.status()["oversize"] == 1
    transport.close()


async def test_transport_counts_what_it_cannot_deliver() -> None:
    transport = WebSocketTransport(lambda data, peer: None)
    transport.send(b"INVITE", ws_peer())
    dead = FakeConnection(alive=False)
    transport.open(dead, ws_peer(port=2))
    transport.send(b"INVITE", ws_peer(port=2))
    assert transport.status()["undeliverable"] == 2
    transport.close()


async def test_transport_refuses_blocked_sources_and_closes_unregistered_connections() -> None:
    bound: set[Peer] = set()
    transport = WebSocketTransport(
        lambda data, peer: None,
        limits=WsLimits(register_within=0.05),
        bindings_of=lambda peer: ["1001"] if peer in bound else [],
        is_blocked=lambda host: host == "192.0.2.66",
    )
    refusal = transport.refusal("192.0.2.66")
    assert refusal is not None and refusal.status == 403
    registered, idle = FakeConnection(), FakeConnection()
    transport.open(registered, ws_peer(port=1))
    transport.open(idle, ws_peer(port=2))
    bound.add(ws_peer(port=1))
    await asyncio.sleep(0.12)
    assert idle.closed and idle.closed[0] == CLOSE_POLICY
    assert registered.closed is None
    assert transport.status()["clients"] == [{"peer": "WS:192.0.2.1:1", "registered": ["1001"]}]
    transport.close()


# -- the SIP core's hooks -------------------------------------------------------------------------


class _Answering:
    """A SIP application that answers every request 200 (and admits everything)."""

    def __init__(self, core: SipCore) -> None:
        self.core = core

    def admits(self, request: Request, peer: Peer) -> bool:
        return True

    def on_request(self, tx, request: Request, peer: Peer) -> None:
        self.core.respond(tx, request.response(200, to_tag="t"))

    def on_ack(self, request: Request, peer: Peer) -> None: ...

    def on_server_timeout(self, tx) -> None: ...


def _core_with_ws() -> tuple[SipCore, WebSocketTransport]:
    core = SipCore("127.0.0.1")
    transport = WebSocketTransport(core.on_message)
    core.add_transport("WS", transport, 8080)
    core.app = _Answering(core)
    return core, transport


async def test_core_reads_websocket_messages_without_content_length() -> None:
    core, transport = _core_with_ws()
    connection = FakeConnection()
    transport.open(connection, ws_peer())
    transport.receive(
        ws_peer(),
        "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/WS a1.invalid;branch=z9hG4bKx1;rport\r\n"
        "From: <sip:a@h>;tag=f\r\nTo: <sip:a@h>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n"
        "Max-Forwards: 70\r\n\r\n",
    )
    assert len(connection.sent) == 1 and connection.sent[0].startswith(b"SIP/2.0 200 ")
    assert b"received=192.0.2.1" in connection.sent[0]
    assert core.make_via(ws_peer()).serialize().startswith("SIP/2.0/WS 127.0.0.1:8080;")
    assert core.contact_for(ws_peer(), "1001").uri.params == {"transport": "ws"}
    core.close()


async def test_core_fails_requests_to_a_closed_websocket_at_once_but_not_synchronously() -> None:
    core, _ = _core_with_ws()
    answers: list[int] = []
    request = Request(method="OPTIONS", uri=core.contact_for(ws_peer(), "x").uri)
    request.headers.add("Via", core.make_via(ws_peer()).serialize())
    for name, value in (
        ("From", "<sip:pbxd@h>;tag=1"),
        ("To", "<sip:1001@h>"),
        ("Call-ID", "c2"),
        ("CSeq", "1 OPTIONS"),
        ("Max-Forwards", "70"),
    ):
        request.headers.add(name, value)
    core.send_request(request, ws_peer(), lambda response: answers.append(response.status))
    assert answers == []  # the caller finishes its own bookkeeping first
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert answers == [408]  # like Timer F, without its 32 s
    core.close()


# -- the Tornado handler in the real app ----------------------------------------------------------


class SipWebSocketHandlerTest(ApiTestCase):
    def get_app(self):
        def echo(data: bytes, peer: Peer) -> None:
            self.messages.append((data, peer))
            self.transport.send(b"echo " + data, peer)

        self.messages: list[tuple[bytes, Peer]] = []
        self.transport = WebSocketTransport(
            echo, limits=WsLimits(per_ip=2, total=5, max_message_bytes=1000, register_within=0.3)
        )
        return make_app(self.services, clock=self.monotonic, sip_ws=self.transport)

    def tearDown(self) -> None:
        self.transport.close()
        super().tearDown()

    def connect(self, origin: str | None = None, subprotocols=("sip",)):
        headers = {"Origin": origin} if origin else {}
        request = HTTPRequest(self.get_url("/ws").replace("http", "ws", 1), headers=headers)
        return websocket_connect(request, subprotocols=list(subprotocols))

    def test_ws_stays_out_of_the_api_routes(self) -> None:
        assert "/ws" not in app_routes(self._app)
        assert self.fetch("/api/v1/health").code == 200
        assert self.fetch("/api/v1/nowhere").code == 404

    @gen_test
    async def test_messages_go_both_ways_over_the_connection(self) -> None:
        client = await self.connect()
        assert client.selected_subprotocol == "sip"
        await client.write_message("OPTIONS sip:x SIP/2.0\r\n\r\n")
        assert await client.read_message() == "echo OPTIONS sip:x SIP/2.0\r\n\r\n"
        await client.write_message(b"\xffbinary", binary=True)
        assert await client.read_message() == b"echo \xffbinary"  # not UTF-8: binary frame
        (_, peer), _ = self.messages
        assert peer.transport == "WS" and peer.host == "127.0.0.1"
        client.close()

    @gen_test
    async def test_oversize_frames_close_the_connection(self) -> None:
        client = await self.connect()
        await client.write_message("x" * 2000)
        assert await client.read_message() is None
        assert client.close_code == CLOSE_TOO_BIG
        assert self.messages == []

    @gen_test
    async def test_handshake_checks(self) -> None:
        same = await self.connect(origin=f"http://127.0.0.1:{self.get_http_port()}")
        same.close()
        for origin, subprotocols, status in (
            ("http://evil.example", ("sip",), 403),
            (None, ("chat",), 400),
            (None, (), 400),
        ):
            with pytest.raises(HTTPClientError) as refused:
                await self.connect(origin, subprotocols)
            assert refused.value.code == status, (origin, subprotocols)

    @gen_test
    async def test_per_ip_limit_and_the_registration_deadline(self) -> None:
        first, second = await self.connect(), await self.connect()
        with pytest.raises(HTTPClientError) as refused:
            await self.connect()
        assert refused.value.code == 503
        # nobody registers: both are closed after register_within
        assert await first.read_message() is None and first.close_code == CLOSE_POLICY
        assert await second.read_message() is None
        await asyncio.sleep(0.05)
        third = await self.connect()  # the quota is free again
        third.close()
