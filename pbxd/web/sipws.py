"""`/ws`: SIP over WebSocket (RFC 7118) on the HTTP port, for the browser softphone.

A thin Tornado adapter: the handshake checks (subprotocol `sip`, same origin, connection
limits, blocked sources) and the hand-over of every message to pbxd.transport.ws, which owns
the connection table. The WebSocket itself is unauthenticated as far as HTTP goes: SIP digest
authentication of REGISTER and INVITE applies on it as on UDP and TCP.

Not a BaseHandler (no JSON API, no bearer token): make_app registers it outside ROUTES.
"""

from __future__ import annotations

import logging

from tornado.websocket import WebSocketClosedError, WebSocketHandler

from pbxd.sip.peer import Peer
from pbxd.transport.ws import CLOSE_POLICY, SUBPROTOCOL, WebSocketTransport

log = logging.getLogger(__name__)

PATH = "/ws"
# Finds browsers that vanished without closing (sleep, Wi-Fi, a cable) within 20 s: an agent's
# call is then held for him with music until his page is back (pbxd/call/apps/queues.py).
PING_INTERVAL = 10.0  # seconds
PING_TIMEOUT = 10.0


class SipWebSocketHandler(WebSocketHandler):
    def initialize(self, transport: WebSocketTransport) -> None:
        self.transport = transport
        self.peer: Peer | None = None

    def prepare(self) -> None:
        # Refuse before the upgrade, with a plain HTTP status the client can see.
        offered = [
            name.strip()
            for name in self.request.headers.get("Sec-WebSocket-Protocol", "").split(",")
        ]
        if SUBPROTOCOL not in offered:
            self._refuse(400, f"the WebSocket subprotocol {SUBPROTOCOL!r} is required")
            return
        refusal = self.transport.refusal(self.request.remote_ip or "")
        if refusal is not None:
            self._refuse(refusal.status, refusal.reason)

    def _refuse(self, status: int, reason: str) -> None:
        log.info("refused SIP WebSocket from %s: %s", self.request.remote_ip, reason)
        self.set_status(status)
        self.finish(reason)

    def check_origin(self, origin: str) -> bool:
        # Tornado lets same-origin pages and clients without Origin (not browsers) through
        # before asking; a page of another site must not use the visitor's browser as a phone.
        return False

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return SUBPROTOCOL if SUBPROTOCOL in subprotocols else None

    @property
    def max_message_size(self) -> int:
        # Tornado closes with 1009 on a bigger frame before reading it.
        return self.transport.limits.max_message_bytes

    @property
    def ping_interval(self) -> float:
        return PING_INTERVAL

    @property
    def ping_timeout(self) -> float:
        return PING_TIMEOUT

    def get_compression_options(self) -> None:
        return None  # permessage-deflate would let a small frame inflate past the size limit

    def open(self, *args: str, **kwargs: str) -> None:
        peer = self._peer()
        if peer is None:
            self.close(CLOSE_POLICY, "unknown peer address")
            return
        refusal = self.transport.open(self, peer)
        if refusal is not None:
            self.close(refusal.close_code, refusal.reason)
            return
        self.peer = peer

    def _peer(self) -> Peer | None:
        """The TCP source of this connection: the key requests to the client are routed by."""
        address = getattr(self.request.connection, "context", None)
        address = getattr(address, "address", None)
        if not (isinstance(address, tuple) and len(address) >= 2):
            return None
        transport = "WSS" if self.request.protocol == "https" else "WS"
        try:
            return Peer(transport, str(address[0]), int(address[1]))
        except ValueError:
            return None

    def on_message(self, message: str | bytes) -> None:
        if self.peer is not None:
            self.transport.receive(self.peer, message)

    def on_close(self) -> None:
        if self.peer is not None:
            self.transport.lost(self.peer, self)

    # -- pbxd.transport.ws.WsConnection ---------------------------------------------------------

    def send_sip(self, data: bytes) -> bool:
        """One SIP message as one WebSocket message: text when it is UTF-8 (section 5.1)."""
        payload: str | bytes
        try:
            payload, binary = data.decode("utf-8"), False
        except UnicodeDecodeError:
            payload, binary = data, True
        try:
            written = self.write_message(payload, binary=binary)
        except WebSocketClosedError:
            return False
        # A connection lost while writing fails the future: nobody waits for it, so that
        # failure would be logged as unretrieved; the close itself reaches on_close.
        written.add_done_callback(_ignore_outcome)
        return True


def _ignore_outcome(future) -> None:
    if not future.cancelled():
        future.exception()
