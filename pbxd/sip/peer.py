"""Where a SIP message came from or goes to: one transport hop (RFC 3261 section 18).

The transaction layer decides its timers by `Peer.reliable` (section 17: no retransmissions and
zero wait timers on reliable transports); the transport adapters map a `Peer` to a socket or a
connection.
"""

from __future__ import annotations

from dataclasses import dataclass

TRANSPORTS = ("UDP", "TCP", "TLS", "WS", "WSS")


@dataclass(frozen=True)
class Peer:
    transport: str  # "UDP" | "TCP" | "TLS" | "WS" | "WSS" (upper case)
    host: str  # an IP address as sockets want it: IPv6 without brackets
    port: int

    def __post_init__(self) -> None:
        if self.transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {TRANSPORTS}, not {self.transport!r}")
        if not self.host or self.host.startswith("["):
            raise ValueError(f"host must be a bare address, not {self.host!r}")
        if not isinstance(self.port, int) or not 0 < self.port < 65536:
            raise ValueError(f"bad port {self.port!r}")

    @property
    def reliable(self) -> bool:
        # Everything but UDP runs over a stream that retransmits for us (section 17.1.1.2).
        return self.transport != "UDP"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.transport}:{host}:{self.port}"
