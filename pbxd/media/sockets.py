"""Binding RTP/RTCP port pairs from the configured range for the media engine."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from .ports import MediaResourceError, PortAllocator

DEFAULT_BIND_ATTEMPTS = 8


class RelayBindError(MediaResourceError):
    """No RTP/RTCP port pair could be bound (other programs hold the ports)."""


async def bind_pair(
    bind_ip: str, allocator: PortAllocator, attempts: int = DEFAULT_BIND_ATTEMPTS
) -> tuple[int, socket.socket, socket.socket]:
    """An even RTP port and the RTCP port above it, bound and non-blocking.

    A pair that cannot be bound goes back to the allocator and another is tried. Raises
    `PortsExhausted` or `RelayBindError` (both 503).
    """
    family = socket.AF_INET6 if ipaddress.ip_address(bind_ip).version == 6 else socket.AF_INET
    last_error: OSError | None = None
    for _ in range(attempts):
        port = allocator.allocate()
        sockets: list[socket.socket] = []
        try:
            for offset in (0, 1):
                sock = socket.socket(family, socket.SOCK_DGRAM)
                sockets.append(sock)
                sock.setblocking(False)
                sock.bind((bind_ip, port + offset))
        except OSError as exc:
            for sock in sockets:
                sock.close()
            allocator.release(port)
            last_error = exc
            # Sockets closed just now are only released on the next loop turn.
            await asyncio.sleep(0)
            continue
        return port, sockets[0], sockets[1]
    raise RelayBindError(
        f"no RTP port pair could be bound on {bind_ip} after {attempts} attempts: {last_error}"
    )
