"""SIP over TCP (RFC 3261 section 18.3): messages framed by Content-Length.

Connections are keyed by the remote address, so that responses and requests to a phone that
registered over TCP reuse the connection it opened (it is usually behind NAT).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from pbxd.sip.errors import ParseError
from pbxd.sip.message import StreamFramer
from pbxd.sip.peer import Peer

log = logging.getLogger(__name__)

MessageHandler = Callable[[bytes, Peer], None]
IDLE_TIMEOUT = 3600.0  # a registered phone refreshes well within this


class _Connection(asyncio.Protocol):
    def __init__(self, owner: TcpTransport):
        self._owner = owner
        self._framer = StreamFramer()
        self._transport: asyncio.Transport | None = None
        self.peer: Peer | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment] # uvloop's is no subclass
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = Peer("TCP", host, port)
        self._owner._connections[(host, port)] = self

    def data_received(self, data: bytes) -> None:
        try:
            frames = self._framer.feed(data)
        except ParseError as exc:
            # A stream cannot resynchronise after garbage: drop the connection.
            self._owner.garbage_connections += 1
            log.info("closing TCP connection from %s: %s", self.peer, exc.detail)
            self.close()
            return
        for frame in frames:
            assert self.peer is not None
            self._owner._on_message(frame, self.peer)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None:
            self._owner._connections.pop((self.peer.host, self.peer.port), None)

    def write(self, data: bytes) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class TcpTransport:
    name = "TCP"

    def __init__(self, on_message: MessageHandler):
        self._on_message = on_message
        self._connections: dict[tuple[str, int], _Connection] = {}
        self._server: asyncio.Server | None = None
        self._pending: dict[tuple[str, int], list[bytes]] = {}
        self.garbage_connections = 0

    @classmethod
    async def listen(cls, host: str, port: int, on_message: MessageHandler) -> TcpTransport:
        self = cls(on_message)
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), host, port)
        return self

    def send(self, data: bytes, peer: Peer) -> None:
        key = (peer.host, peer.port)
        connection = self._connections.get(key)
        if connection is not None:
            connection.write(data)
            return
        # No connection yet: open one, queueing what is sent meanwhile.
        if key in self._pending:
            self._pending[key].append(data)
            return
        self._pending[key] = [data]
        asyncio.get_running_loop().create_task(self._connect(key))

    async def _connect(self, key: tuple[str, int]) -> None:
        loop = asyncio.get_running_loop()
        try:
            _, connection = await loop.create_connection(lambda: _Connection(self), *key)
        except OSError as exc:
            log.info("TCP connect to %s:%s failed: %s", key[0], key[1], exc)
            self._pending.pop(key, None)
            return
        for data in self._pending.pop(key, []):
            connection.write(data)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections.values()):
            connection.close()
