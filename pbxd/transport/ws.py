"""SIP over WebSocket (RFC 7118): the connection table and framing behind pbxd.web.sipws.

The browser softphone opens a WebSocket to `/ws` on the HTTP port with the subprotocol `sip`.
Each WebSocket message carries exactly one SIP message (RFC 7118 section 5.1), so there is no
Content-Length framing to do: a message is handed to the SIP core whole, like a UDP datagram,
and a malformed one is dropped or answered with a 400 there without harming the connection.

A WebSocket client cannot be reached at its Contact (`sip:x@<random>.invalid;transport=ws`,
section 5.2): everything for it goes back over the connection it opened. Connections are
therefore keyed by their `Peer` (transport, remote address, remote port), the same `Peer` the
registrar stores as a binding's source, exactly as the TCP transport does.

Tornado is not imported here: the handler in pbxd.web.sipws adapts one connection to
`WsConnection` and reports its life cycle (`refusal`, `open`, `receive`, `lost`). The limits
(connections per IP and in total, message size, the time a connection may live without a
registration) are decided by `ConnectionTable`, which is pure: the clock comes in as `now`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from pbxd.sip.message import MAX_MESSAGE_SIZE
from pbxd.sip.peer import Peer

log = logging.getLogger(__name__)

SUBPROTOCOL = "sip"  # RFC 7118 section 4 (IANA WebSocket subprotocol name)
MessageHandler = Callable[[bytes, Peer], None]

# RFC 6455 section 7.4.1 close codes
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_TRY_LATER = 1013

# RFC 5626 section 3.5.1 keep-alive: a double CRLF "ping" is answered with one CRLF "pong".
# SIP.js sends these over WebSocket when keep-alives are enabled.
PING = b"\r\n\r\n"
PONG = "\r\n"


@dataclass(frozen=True)
class WsLimits:
    max_message_bytes: int = MAX_MESSAGE_SIZE  # the SIP parser's own limit (64 KiB)
    per_ip: int = 20
    total: int = 200
    # A connection must hold a registration binding this long after it opened, and at every
    # check after that (one per interval): browsers register at once, scanners never do.
    register_within: float = 60.0

    def __post_init__(self) -> None:
        if self.max_message_bytes < 1 or self.per_ip < 1 or self.total < self.per_ip:
            raise ValueError(f"inconsistent WebSocket limits: {self}")
        if not self.register_within > 0:
            raise ValueError("register_within must be a positive number of seconds")


@dataclass(frozen=True)
class Refusal:
    """Why a connection is not taken: `status` at the HTTP handshake, `close_code` after it."""

    status: int
    close_code: int
    reason: str


class WsConnection(Protocol):
    """One open WebSocket as the transport needs it (pbxd.web.sipws.SipWebSocketHandler)."""

    def send_sip(self, data: bytes) -> bool: ...  # False: the connection is gone
    def close(self, code: int | None = None, reason: str | None = None) -> None: ...


@dataclass
class _Entry:
    connection: WsConnection
    opened_at: float
    check_at: float  # when the registration rule is next applied


class ConnectionTable:
    """Open SIP WebSocket connections by `Peer`, with the admission and idle rules; pure."""

    def __init__(self, limits: WsLimits):
        self.limits = limits
        self._entries: dict[Peer, _Entry] = {}
        self._per_ip: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Peer]:
        return iter(list(self._entries))

    def connections_from(self, host: str) -> int:
        return self._per_ip[host]

    def refusal(self, host: str) -> Refusal | None:
        """Whether one more connection from `host` would break a limit."""
        if len(self._entries) >= self.limits.total:
            return Refusal(503, CLOSE_TRY_LATER, "too many SIP WebSocket connections")
        if self._per_ip[host] >= self.limits.per_ip:
            return Refusal(503, CLOSE_TRY_LATER, "too many SIP WebSocket connections from here")
        return None

    def add(self, peer: Peer, connection: WsConnection, now: float) -> Refusal | None:
        refusal = self.refusal(peer.host)
        if refusal is not None:
            return refusal
        if peer in self._entries:
            # The same address and port twice: the kernel reused the port of a connection whose
            # close we have not seen yet. The newer one wins; the old one is dead anyway.
            self.remove(peer)
        self._entries[peer] = _Entry(connection, now, now + self.limits.register_within)
        self._per_ip[peer.host] += 1
        return None

    def get(self, peer: Peer) -> WsConnection | None:
        entry = self._entries.get(peer)
        return None if entry is None else entry.connection

    def remove(self, peer: Peer, connection: WsConnection | None = None) -> bool:
        """Forget `peer`; with `connection`, only if that is still the one stored for it."""
        entry = self._entries.get(peer)
        if entry is None or (connection is not None and entry.connection is not connection):
            return False
        del self._entries[peer]
        self._per_ip[peer.host] -= 1
        if self._per_ip[peer.host] <= 0:
            del self._per_ip[peer.host]
        return True

    def next_check(self) -> float | None:
        return min((e.check_at for e in self._entries.values()), default=None)

    def due(self, now: float, is_bound: Callable[[Peer], bool]) -> list[Peer]:
        """Peers whose connection must close now: no registration binding at their check.
        Connections that hold one are checked again one interval later."""
        closing = []
        for peer, entry in self._entries.items():
            if entry.check_at > now:
                continue
            if is_bound(peer):
                entry.check_at = now + self.limits.register_within
            else:
                closing.append(peer)
        return closing


class WebSocketTransport:
    """The `Transport` of SIP over WebSocket for the SIP core, fed by the Tornado handler.

    `bindings_of(peer)` names the AORs registered through a connection (the registrar's
    bindings whose source is that peer); `is_blocked(host)` tells a source the SIP brute-force
    protection blocked, refused at the handshake like its datagrams are dropped.
    """

    name = "WS"

    def __init__(
        self,
        on_message: MessageHandler,
        *,
        limits: WsLimits | None = None,
        bindings_of: Callable[[Peer], list[str]] = lambda peer: [],
        is_blocked: Callable[[str], bool] = lambda host: False,
    ):
        self._on_message = on_message
        self.limits = limits or WsLimits()
        self.table = ConnectionTable(self.limits)
        self._bindings_of = bindings_of
        self._is_blocked = is_blocked
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._closed = False
        self.stats: Counter[str] = Counter()
        # Told of every client connection that closed: calls through it cannot go on.
        self.on_closed: Callable[[Peer], None] = lambda peer: None

    # -- the handler's side ---------------------------------------------------------------------

    def refusal(self, host: str) -> Refusal | None:
        """Checked at the HTTP handshake, before the upgrade."""
        if self._closed:
            return Refusal(503, CLOSE_GOING_AWAY, "shutting down")
        if self._is_blocked(host):
            return Refusal(403, CLOSE_POLICY, "source blocked after failed authentication")
        return self.table.refusal(host)

    def open(self, connection: WsConnection, peer: Peer) -> Refusal | None:
        """A connection finished its handshake. On a refusal the caller closes it."""
        refusal = self.refusal(peer.host)
        if refusal is None:
            refusal = self.table.add(peer, connection, self._now())
        if refusal is not None:
            self.stats["refused"] += 1
            return refusal
        log.debug("SIP WebSocket from %s open (%d open)", peer, len(self.table))
        self._arm_timer()
        return None

    def receive(self, peer: Peer, message: str | bytes) -> None:
        """One WebSocket message: one SIP message (text frames arrive decoded by Tornado)."""
        connection = self.table.get(peer)
        if connection is None:
            return  # closed meanwhile
        data = message.encode("utf-8") if isinstance(message, str) else message
        if len(data) > self.limits.max_message_bytes:
            # Tornado already refuses frames above the limit; this catches what it let through.
            self.stats["oversize"] += 1
            log.info("closing SIP WebSocket from %s: %d-byte message", peer, len(data))
            self.table.remove(peer)
            connection.close(CLOSE_TOO_BIG, "SIP message too large")
            return
        if data == PING:
            connection.send_sip(PONG.encode())
            return
        self._on_message(data, peer)

    def lost(self, peer: Peer, connection: WsConnection) -> None:
        """The connection closed (either side)."""
        if self.table.remove(peer, connection):
            log.debug("SIP WebSocket from %s closed (%d open)", peer, len(self.table))
            self.on_closed(peer)

    def drop(self, peer: Peer, reason: str) -> None:
        """Close a client's connection from pbxd's side (its softphone was taken over)."""
        connection = self.table.get(peer)
        if connection is not None and self.table.remove(peer, connection):
            log.info("closing SIP WebSocket from %s: %s", peer, reason)
            connection.close(CLOSE_POLICY, reason)

    # -- the SIP core's side (pbxd.call.sipcore.Transport) --------------------------------------

    def send(self, data: bytes, peer: Peer) -> None:
        connection = self.table.get(peer)
        if connection is None or not connection.send_sip(data):
            # RFC 7118 section 5.2: no other way to reach the client; it re-registers over a
            # new connection. Transactions that needed this one time out.
            self.stats["undeliverable"] += 1
            log.debug("no SIP WebSocket to %s: message dropped", peer)

    def can_reach(self, peer: Peer) -> bool:
        """False when the client's connection is gone: requests to it cannot be delivered."""
        return self.table.get(peer) is not None

    def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for peer in self.table:
            connection = self.table.get(peer)
            self.table.remove(peer)
            if connection is not None:
                connection.close(CLOSE_GOING_AWAY, "pbxd stopping")

    # -- status ---------------------------------------------------------------------------------

    def status(self) -> dict:
        clients = [
            {"peer": str(peer), "registered": self._bindings_of(peer)} for peer in self.table
        ]
        return {"connections": len(self.table), "clients": clients, **self.stats}

    # -- the registration rule ------------------------------------------------------------------

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def _arm_timer(self) -> None:
        deadline = self.table.next_check()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = None, deadline
        if deadline is not None:
            self._timer = asyncio.get_running_loop().call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer, self._timer_at = None, None
        try:
            for peer in self.table.due(self._now(), lambda p: bool(self._bindings_of(p))):
                connection = self.table.get(peer)
                self.table.remove(peer)
                self.stats["closed_unregistered"] += 1
                log.info("closing SIP WebSocket from %s: no registration", peer)
                if connection is not None:
                    connection.close(CLOSE_POLICY, "no registration")
        except Exception:
            log.exception("bug in the SIP WebSocket idle check")
        self._arm_timer()
