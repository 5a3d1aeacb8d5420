"""SIP over UDP: one asyncio datagram endpoint feeding whole datagrams to the SIP core."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from pbxd.sip.peer import Peer

log = logging.getLogger(__name__)

MessageHandler = Callable[[bytes, Peer], None]


class UdpTransport(asyncio.DatagramProtocol):
    name = "UDP"

    def __init__(self, on_message: MessageHandler):
        self._on_message = on_message
        self._transport: asyncio.DatagramTransport | None = None

    @classmethod
    async def listen(cls, host: str, port: int, on_message: MessageHandler) -> UdpTransport:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_datagram_endpoint(
            lambda: cls(on_message), local_addr=(host, port)
        )
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self._on_message(data, Peer("UDP", addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable from a phone that went away: nothing to do but note it.
        log.debug("UDP error: %s", exc)

    @property
    def local_port(self) -> int:
        assert self._transport is not None
        return self._transport.get_extra_info("sockname")[1]

    def send(self, data: bytes, peer: Peer) -> None:
        if self._transport is not None:
            self._transport.sendto(data, (peer.host, peer.port))

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
