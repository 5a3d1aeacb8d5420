"""The asyncio adapter around the sans-IO SIP layers.

Feeds bytes from the transports into the parser and the transaction layer, hands events to the
application, transmits what the layer queues and re-arms one timer. Malformed input ends here:
an unparsable datagram is dropped and counted, an invalid request gets its 4xx statelessly, and
no exception from one message can stop the others.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import Counter
from collections.abc import Callable, Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Protocol

from pbxd.sip.errors import InvalidMessage, ParseError, SipError
from pbxd.sip.headers import NameAddr, Via
from pbxd.sip.message import Request, Response, parse_message
from pbxd.sip.peer import Peer
from pbxd.sip.transaction import (
    AckReceived,
    ClientTransaction,
    RequestReceived,
    ResponseReceived,
    ServerTransaction,
    StrayResponse,
    TransactionLayer,
    TransactionTimeout,
    new_branch,
)
from pbxd.sip.uri import SipUri

log = logging.getLogger(__name__)

ResponseCallback = Callable[[Response], None]
# Byte streams, whose messages are cut by Content-Length (section 18.3). WebSocket carries one
# message per WebSocket message (RFC 7118 section 5.1): parsed like a datagram, where
# Content-Length is optional but respected when present.
LENGTH_FRAMED = ("TCP", "TLS")


class SipApplication(Protocol):
    def on_request(self, tx: ServerTransaction, request: Request, peer: Peer) -> None: ...
    def on_ack(self, request: Request, peer: Peer) -> None: ...
    def on_server_timeout(self, tx: ServerTransaction) -> None: ...
    def admits(self, request: Request, peer: Peer) -> bool: ...


class Transport(Protocol):
    def send(self, data: bytes, peer: Peer) -> None: ...
    def close(self) -> None: ...


class SipCore:
    def __init__(
        self,
        bind_ip: str,
        server_header: str = "CooCenter-S10 pbxd",
        *,
        external_address: str | None = None,
        local_networks: Sequence[IPv4Network | IPv6Network] = (),
    ):
        self.bind_ip = bind_ip
        # Behind NAT (a site router, QEMU's user network): the address peers outside
        # `local_networks` must use, in Via, Contact and SDP (Asterisk's externaddr/localnet).
        self.external_address = external_address
        self.local_networks = tuple(local_networks)
        self.server_header = server_header
        self.layer = TransactionLayer()
        self.transports: dict[str, Transport] = {}
        self.ports: dict[str, int] = {}
        self.app: SipApplication | None = None
        self.stats: Counter[str] = Counter()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._local_ips: dict[str, str] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- clock and plumbing -------------------------------------------------------------------

    def now(self) -> float:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop.time()

    def add_transport(self, name: str, transport: Transport, port: int) -> None:
        self.transports[name] = transport
        self.ports[name] = port

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for transport in self.transports.values():
            transport.close()

    def local_ip_for(self, peer: Peer) -> str:
        """Our address as `peer` sees it: the external address for a peer outside the local
        networks when one is set, else the bind address, else the route's source address."""
        if self.external_address is not None and not self._is_local(peer.host):
            return self.external_address
        if self.bind_ip not in ("0.0.0.0", "::"):
            return self.bind_ip
        ip = self._local_ips.get(peer.host)
        if ip is None:
            family = socket.AF_INET6 if ":" in peer.host else socket.AF_INET
            with socket.socket(family, socket.SOCK_DGRAM) as probe:
                probe.connect((peer.host, peer.port or 5060))  # no packet is sent
                ip = probe.getsockname()[0]
            self._local_ips[peer.host] = ip
        return ip

    def _is_local(self, host: str) -> bool:
        try:
            address = ip_address(host)
        except ValueError:
            return False  # a name, not an address: treat it as outside
        return any(address in network for network in self.local_networks)

    def host_for(self, peer: Peer) -> str:
        ip = self.local_ip_for(peer)
        return f"[{ip}]" if ":" in ip else ip

    def make_via(self, peer: Peer) -> Via:
        return Via(
            peer.transport,
            self.host_for(peer),
            self.ports[peer.transport],
            {"branch": new_branch(), "rport": None},
        )

    def contact_for(self, peer: Peer, user: str = "pbxd") -> NameAddr:
        params: dict[str, str | None] = {}
        if peer.transport != "UDP":
            params["transport"] = peer.transport.lower()
        uri = SipUri(
            "sip", self.host_for(peer), user, port=self.ports[peer.transport], params=params
        )
        return NameAddr(uri)

    # -- inbound --------------------------------------------------------------------------------

    def on_message(self, data: bytes, peer: Peer) -> None:
        """Entry point of every transport. Never raises."""
        try:
            self._receive(data, peer)
        except Exception:
            self.stats["internal_errors"] += 1
            log.exception("bug while handling a message from %s", peer)
        self._pump()

    def _receive(self, data: bytes, peer: Peer) -> None:
        if not data.strip(b"\r\n"):
            return  # keep-alive
        try:
            message = parse_message(data, stream=peer.transport in LENGTH_FRAMED)
            message.validate()
        except InvalidMessage as exc:
            self.stats["invalid"] += 1
            log.debug("invalid message from %s: %s", peer, exc.detail)
            if isinstance(exc.message, Request) and exc.message.method != "ACK":
                self._respond_statelessly(exc.message, exc.status, exc.detail, peer)
            return
        except ParseError as exc:
            self.stats["unparsable"] += 1
            log.debug("dropped unparsable datagram from %s: %s", peer, exc.detail)
            return
        if isinstance(message, Response) and len(message.headers.get_list("Via")) != 1:
            # Section 8.1.3.3: a response with more than one Via was not meant for us.
            self.stats["misrouted_responses"] += 1
            return
        if isinstance(message, Request):
            if self.app is not None and not self.app.admits(message, peer):
                self.stats["refused_sources"] += 1
                return
            message = self._mark_received(message, peer)
            self.stats[f"rx_{message.method}"] += 1
        self.layer.receive(message, peer, self.now())

    @staticmethod
    def _mark_received(request: Request, peer: Peer) -> Request:
        """RFC 3581 / section 18.2.1: note the real source in the top Via."""
        via = request.top_via
        marked = via.with_source(peer.host, peer.port)
        if marked != via:
            vias = request.headers.get_list("Via")
            request.headers.remove("Via")
            request.headers.prepend("Via", ", ".join([marked.serialize(), *vias[1:]]))
        return request

    def _respond_statelessly(self, request: Request, status: int, detail: str, peer: Peer) -> None:
        try:
            # A response needs these to reach its sender and be matched there.
            request.top_via, request.call_id, request.cseq, request.from_, request.to  # noqa: B018
            response = request.response(status, to_tag=new_branch()[7:])
        except ParseError:
            self.stats["unanswerable"] += 1
            return
        response.headers.add("Warning", f'399 pbxd "{detail[:80]}"'.replace("\r", " "))
        self._transmit(response, peer)

    # -- outbound -------------------------------------------------------------------------------

    def send_request(
        self, request: Request, peer: Peer, on_response: ResponseCallback
    ) -> ClientTransaction:
        if "User-Agent" not in request.headers:
            request.headers.add("User-Agent", self.server_header)
        tx = self.layer.send_request(request, peer, self.now())
        tx.user_data = on_response
        if not self._can_reach(peer):
            # A WebSocket client's connection is gone (RFC 7118 section 5.2: it can be reached
            # no other way): fail the transaction now, not after Timer B/F (section 8.1.3.1).
            # Deferred, so the caller sees its callback only after this call returned.
            asyncio.get_running_loop().call_soon(self._fail_unreachable, tx)
        self._pump()
        return tx

    def _can_reach(self, peer: Peer) -> bool:
        # Only connection-bound transports (WebSocket) know; the others always try.
        can_reach = getattr(self.transports.get(peer.transport), "can_reach", None)
        return can_reach is None or can_reach(peer)

    def _fail_unreachable(self, tx: ClientTransaction) -> None:
        try:
            # A TransactionTimeout: the TU treats it like Timer B (a 408; a mailbox may answer).
            self.layer.transport_error(tx, self.now())
        except Exception:
            self.stats["internal_errors"] += 1
            log.exception("bug while failing a transaction to %s", tx.peer)
        self._pump()

    def respond(self, tx: ServerTransaction, response: Response) -> None:
        if "Server" not in response.headers:
            response.headers.add("Server", self.server_header)
        self.layer.send_response(tx, response, self.now())
        self._pump()

    def respond_error(
        self, tx: ServerTransaction, error: SipError, to_tag: str | None = None
    ) -> None:
        response = tx.request.response(error.status, error.reason, to_tag=to_tag)
        for name, value in error.headers:
            response.headers.add(name, value)
        self.respond(tx, response)

    def send_ack(self, tx: ClientTransaction, ack: Request, peer: Peer) -> None:
        self.layer.send_ack_for_2xx(tx, ack, peer, self.now())
        self._pump()

    def _transmit(self, message: Request | Response, peer: Peer) -> None:
        transport = self.transports.get(peer.transport)
        if transport is None:
            log.warning("no %s transport for %s", peer.transport, peer)
            return
        transport.send(message.serialize(), peer)

    # -- the pump -------------------------------------------------------------------------------

    def _pump(self) -> None:
        while True:
            for outgoing in self.layer.datagrams_to_send():
                self._transmit(outgoing.message, outgoing.peer)
            event = self.layer.next_event()
            if event is None:
                break
            try:
                self._dispatch(event)
            except Exception:
                self.stats["internal_errors"] += 1
                log.exception("bug while handling %s", type(event).__name__)
        self._arm_timer()

    def _dispatch(self, event: object) -> None:
        app = self.app
        assert app is not None
        if isinstance(event, RequestReceived):
            try:
                app.on_request(event.transaction, event.request, event.peer)
            except SipError as exc:
                if (
                    event.transaction.last_response is None
                    or event.transaction.last_response.status < 200
                ):
                    self.respond_error(event.transaction, exc, to_tag=new_branch()[7:])
        elif isinstance(event, ResponseReceived):
            callback = event.transaction.user_data
            # A 2xx copy the layer could not yet answer with our ACK: the first copy did it.
            if callback is not None and not event.retransmission:
                callback(event.response)
        elif isinstance(event, AckReceived):
            app.on_ack(event.request, event.peer)
        elif isinstance(event, TransactionTimeout):
            tx = event.transaction
            if isinstance(tx, ClientTransaction):
                if tx.user_data is not None:
                    # Section 9.1: an INVITE that never answers its CANCEL counts as cancelled.
                    status = 487 if event.cause == "no final response after CANCEL" else 408
                    tx.user_data(tx.request.response(status))
            else:
                app.on_server_timeout(tx)
        elif isinstance(event, StrayResponse):
            self._release_stray_answer(event.response, event.peer)

    def _release_stray_answer(self, response: Response, peer: Peer) -> None:
        """A 2xx to an INVITE nobody waits for (a late fork): ACK it, then hang it up (13.2.2.4).

        Without the INVITE, the dialog is rebuilt from the response alone; good enough to end it.
        """
        try:
            if not (200 <= response.status < 300 and response.cseq.method == "INVITE"):
                return
            contacts = response.contacts
            target = contacts[0].uri if contacts else None
            if target is None:
                return
            for method, seq in (("ACK", response.cseq.seq), ("BYE", response.cseq.seq + 1)):
                request = Request(method=method, uri=target)
                request.headers.add("Via", self.make_via(peer).serialize())
                request.headers.add("Max-Forwards", "70")
                for name in ("From", "To", "Call-ID"):
                    request.headers.add(name, response.headers.get(name) or "")
                request.headers.add("CSeq", f"{seq} {method}")
                if method == "ACK":
                    self.layer.send_stateless(request, peer)
                else:
                    self.layer.send_request(request, peer, self.now())
            self.stats["released_stray_answers"] += 1
        except ParseError:
            log.debug("stray 2xx from %s could not be released", peer)

    def _arm_timer(self) -> None:
        deadline = self.layer.get_timer()
        if deadline == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = None
        if deadline is not None:
            self._timer = asyncio.get_running_loop().call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        try:
            self.layer.handle_timer(self.now())
        except Exception:
            self.stats["internal_errors"] += 1
            log.exception("bug in transaction timers")
        self._pump()
