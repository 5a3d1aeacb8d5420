"""SIP transactions, sans-IO (RFC 3261 section 17, with the Accepted states of RFC 6026).

Driven like aioquic: feed `receive(message, peer, now)`, call `send_request` / `send_response`
/ `send_ack_for_2xx`; then drain `next_event()` and `datagrams_to_send()`, arm one timer at
`get_timer()` and call `handle_timer(now)` when it expires. No sockets, no asyncio, no clock.

The four state machines are tables in transaction_states.py; this module matches messages to
transactions (17.1.3, 17.2.3), runs the tables' actions and keeps the timers.

Decisions the TU must know:
- Responses go to the peer the request came from (symmetric response routing, RFC 3581 style),
  over the same transport; if the adapter wants `received`/`rport` in the Via, it adds them
  before `receive()`.
- ACK of a 2xx (client side): the TU builds it (section 13.2.2.4) and hands it to
  `send_ack_for_2xx`; the layer then answers every retransmission of that 2xx (same To tag)
  with the same ACK until Timer M, without an event. A 2xx retransmission that arrives before
  the TU gave its ACK is delivered as `ResponseReceived(retransmission=True)`. A 2xx with a new
  To tag (another fork) is a new `ResponseReceived(retransmission=False)`. After Timer M, 2xx
  copies are `StrayResponse`s: the dialog layer re-sends its ACK with `send_stateless`.
- 2xx of an INVITE (server side): the layer retransmits it (T1 doubling up to T2, section
  13.3.1.4, on every transport since the 2xx is end to end) until the ACK arrives, which the
  TU gets as `AckReceived(transaction=...)` once; without ACK after 64*T1 (Timer L) the TU gets
  `TransactionTimeout(cause="Timer L")` and should send BYE.
- Provisional responses: each distinct one is delivered once; copies that are byte-for-byte the
  same (re-sent because our request was retransmitted) are absorbed.
- Retransmission timers are rescheduled from their deadline, not from `now`, so the schedule
  is exact (0.5, 1.5, 3.5 ...) even if `handle_timer` is called late.
- An INVITE client in Proceeding has no timer (RFC 3261: ringing may last): the TU ends it with
  a CANCEL (`make_cancel` + `send_request`); 64*T1 after that CANCEL without a final response
  the layer gives the INVITE up (section 9.1). Server transactions in Trying / Proceeding have
  no timer either: the TU must answer every `RequestReceived`.
"""

from __future__ import annotations

import heapq
import itertools
import secrets
from collections import deque
from dataclasses import dataclass
from typing import Any, NamedTuple

from .errors import TransactionStateError
from .headers import Headers, Via
from .message import Request, Response
from .peer import Peer
from .transaction_states import (
    CAPPED_AT_T2,
    TABLES,
    InviteClientState,
    InviteServerState,
    NonInviteClientState,
    NonInviteServerState,
    State,
    Table,
    TxEvent,
    timer_duration,
)
from .uri import DEFAULT_PORTS, SipUri, Uri

__all__ = [
    "MAGIC_COOKIE",
    "AckReceived",
    "ClientTransaction",
    "Event",
    "IllegalTransactionEvent",
    "InviteClientState",
    "InviteServerState",
    "NonInviteClientState",
    "NonInviteServerState",
    "Outgoing",
    "RequestReceived",
    "ResponseReceived",
    "ServerTransaction",
    "StrayResponse",
    "TransactionLayer",
    "TransactionTerminated",
    "TransactionTimeout",
    "TxEvent",
    "make_ack_for_non_2xx",
    "make_cancel",
    "new_branch",
]

MAGIC_COOKIE = "z9hG4bK"  # section 8.1.1.7

# Per-transaction memories are capped so that a hostile peer cannot grow them.
MAX_REMEMBERED_PROVISIONALS = 32
MAX_REMEMBERED_2XX_TAGS = 32


def new_branch() -> str:
    """A fresh RFC 3261 branch: the magic cookie and 96 random bits."""
    return MAGIC_COOKIE + secrets.token_hex(12)


def _new_tag() -> str:
    return secrets.token_hex(8)


class IllegalTransactionEvent(TransactionStateError):
    """The TU asked for something the transaction's state does not allow."""

    def __init__(self, event: TxEvent, role: str, state: State | None, detail: str = ""):
        state_name = state.value if state is not None else "(not started)"
        super().__init__(
            f"{event.value}{detail}: illegal for the {role} transaction in state {state_name}"
        )
        self.event = event
        self.role = role
        self.state = state


@dataclass(frozen=True)
class Outgoing:
    message: Request | Response
    peer: Peer


# --- transactions ----------------------------------------------------------------------------


class Transaction:
    """What both roles share; the TU reads these attributes and sets `user_data`."""

    def __init__(
        self, owner: TransactionLayer, request: Request, peer: Peer, key: tuple, role: str
    ):
        self.request = request
        self.peer = peer
        self.key = key
        self.role = role  # "INVITE client", "non-INVITE server" ...
        self.last_response: Response | None = None
        self.user_data: Any = None
        self._owner = owner
        self._table: Table = TABLES[role]
        self._state: State | None = None
        # timer -> (deadline, sequence number of its heap entry)
        self._timers: dict[TxEvent, tuple[float, int]] = {}
        self._intervals: dict[TxEvent, float] = {}
        self._due_now: list[TxEvent] = []  # zero-length timers, run right after the transition

    @property
    def state(self) -> State:
        assert self._state is not None, "a transaction is started as it is built"
        return self._state

    @property
    def is_invite(self) -> bool:
        return self.request.method == "INVITE"

    @property
    def terminated(self) -> bool:
        return self._state is not None and self._state.name == "TERMINATED"

    def __repr__(self) -> str:
        state = self._state.value if self._state is not None else "new"
        return f"<{type(self).__name__} {self.role} {self.key!r} {state}>"


class ClientTransaction(Transaction):
    def __init__(self, owner: TransactionLayer, request: Request, peer: Peer, key: tuple):
        role = "INVITE client" if request.method == "INVITE" else "non-INVITE client"
        super().__init__(owner, request, peer, key, role)
        self.ack: Request | None = None  # the ACK this transaction built for a non-2xx final
        self._provisionals: set[tuple] = set()
        self._tags_2xx: set[str | None] = set()
        self._acks_2xx: dict[str | None, tuple[Request, Peer]] = {}


class ServerTransaction(Transaction):
    def __init__(
        self,
        owner: TransactionLayer,
        request: Request,
        peer: Peer,
        ids: _RequestIds,
        internal: bool,
    ):
        role = "INVITE server" if request.method == "INVITE" else "non-INVITE server"
        super().__init__(owner, request, peer, ids.key, role)
        self.acked = False  # the ACK of our 2xx arrived (INVITE, Accepted)
        self._ids = ids
        # A transaction the layer runs on its own (482 to a merged request): no TU events.
        self._internal = internal
        self._timeout_reported = False
        self._accepted_key: tuple | None = None


# --- events ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestReceived:
    """A new request (not a retransmission), CANCEL included: answer it with send_response."""

    transaction: ServerTransaction
    request: Request
    peer: Peer

    def __post_init__(self) -> None:
        _check(self.transaction, ServerTransaction, self.request, Request, self.peer)


@dataclass(frozen=True)
class AckReceived:
    """An ACK for a 2xx (a request of its own, section 13.3.1.4).

    `transaction` is the INVITE server transaction in Accepted whose 2xx it acknowledges
    (Call-ID, CSeq number, From tag and To tag match), or None when no live transaction matches
    (e.g. after Timer L): the dialog layer decides then.
    """

    request: Request
    peer: Peer
    transaction: ServerTransaction | None = None

    def __post_init__(self) -> None:
        _check(self.transaction, (ServerTransaction, type(None)), self.request, Request, self.peer)


@dataclass(frozen=True)
class ResponseReceived:
    """The first copy of a response; `retransmission` marks a 2xx copy (INVITE) not yet ACKed."""

    transaction: ClientTransaction
    response: Response
    retransmission: bool = False

    def __post_init__(self) -> None:
        _check(self.transaction, ClientTransaction, self.response, Response, None)


@dataclass(frozen=True)
class StrayResponse:
    """A response no live client transaction wants (e.g. a 2xx copy after Timer M)."""

    response: Response
    peer: Peer

    def __post_init__(self) -> None:
        _check(None, type(None), self.response, Response, self.peer)


@dataclass(frozen=True)
class TransactionTimeout:
    """The transaction failed.

    cause "Timer B" / "Timer F": no final response (client; the TU acts as if a 408 arrived);
    "no final response after CANCEL": the INVITE client gave up 64*T1 after the TU's CANCEL
    (section 9.1; the TU acts as if a 487 arrived); "Timer H": no ACK for our non-2xx final;
    "Timer L": no ACK for our 2xx within 64*T1 (the TU sends BYE); "transport error": the
    adapter reported that sending failed.
    """

    transaction: ClientTransaction | ServerTransaction
    cause: str = ""

    def __post_init__(self) -> None:
        _check(self.transaction, (ClientTransaction, ServerTransaction), None, type(None), None)


@dataclass(frozen=True)
class TransactionTerminated:
    """The transaction is gone from the layer (bookkeeping: drop references to it)."""

    transaction: ClientTransaction | ServerTransaction

    def __post_init__(self) -> None:
        _check(self.transaction, (ClientTransaction, ServerTransaction), None, type(None), None)


Event = (
    RequestReceived
    | AckReceived
    | ResponseReceived
    | StrayResponse
    | TransactionTimeout
    | TransactionTerminated
)


def _check(transaction: object, tx_type: Any, message: object, msg_type: Any, peer: object) -> None:
    if not isinstance(transaction, tx_type):
        raise TypeError(f"transaction must be {tx_type}, not {type(transaction).__name__}")
    if not isinstance(message, msg_type):
        raise TypeError(f"message must be {msg_type}, not {type(message).__name__}")
    if peer is not None and not isinstance(peer, Peer):
        raise TypeError(f"peer must be a Peer, not {type(peer).__name__}")


# --- matching keys (17.1.3, 17.2.3) ------------------------------------------------------------


@dataclass(frozen=True)
class _RequestIds:
    key: tuple  # RFC 3261 key, or the RFC 2543 key without the To tag
    rfc3261: bool
    method: str  # of the transaction: INVITE for an ACK
    call_id: str
    seq: int
    from_tag: str | None
    to_tag: str | None

    @property
    def merge_key(self) -> tuple:
        # Section 8.2.2.2: From tag, Call-ID and CSeq identify a request across forks.
        return (self.from_tag, self.call_id, self.seq, self.method)


def _request_ids(request: Request, method: str) -> _RequestIds:
    """Matching identifiers of a request, `method` being the method of the transaction it
    belongs to (INVITE for an ACK, and for a CANCEL looking for its INVITE)."""
    via = request.top_via
    cseq = request.cseq
    call_id = request.call_id
    from_tag = request.from_.tag
    to_tag = request.to.tag
    branch = via.branch
    if branch is not None and branch[:7].lower() == MAGIC_COOKIE.lower():
        # 17.2.3: branch, sent-by and method (branch compared without case, section 7.3.1).
        key: tuple = ("3261", branch.lower(), *_sent_by(via), method)
        return _RequestIds(key, True, method, call_id, cseq.seq, from_tag, to_tag)
    # RFC 2543 peers: Request-URI, From tag, Call-ID, CSeq, top Via; the To tag is compared
    # separately because an ACK carries the tag of the response, not of the INVITE.
    key = ("2543", _uri_key(request.uri), from_tag, call_id, cseq.seq, method, _via_key(via))
    return _RequestIds(key, False, method, call_id, cseq.seq, from_tag, to_tag)


def _sent_by(via: Via) -> tuple[str, int]:
    return via.host.lower(), via.port or DEFAULT_PORTS.get(via.transport.lower(), 5060)


def _via_key(via: Via) -> tuple:
    params = tuple(sorted((name, (value or "").lower()) for name, value in via.params.items()))
    return (via.protocol, via.transport, *_sent_by(via), params)


def _uri_key(uri: Uri) -> tuple:
    # Close to the comparison of section 19.1.4 for what a retransmission can vary in.
    if isinstance(uri, SipUri):
        params = tuple(sorted((name, (value or "").lower()) for name, value in uri.params.items()))
        return (uri.scheme, uri.unescaped_user, uri.host.lower(), uri.port, params)
    return (uri.scheme, uri.rest)


def _fingerprint(response: Response) -> tuple:
    return (response.status, response.reason, tuple(response.headers), response.body)


# --- messages the layer builds -----------------------------------------------------------------


def make_ack_for_non_2xx(invite: Request, response: Response) -> Request:
    """The ACK of a 300-699 final (section 17.1.1.3), sent by the client transaction itself."""
    return _request_in_invite_transaction(invite, "ACK", response.headers.get("To") or "")


def make_cancel(invite: Request) -> Request:
    """The CANCEL of a pending INVITE (section 9.1): same top Via, so the server matches it.

    The TU sends it with `send_request` to the INVITE's peer, after a provisional arrived.
    """
    return _request_in_invite_transaction(invite, "CANCEL", invite.headers.get("To") or "")


def _request_in_invite_transaction(invite: Request, method: str, to: str) -> Request:
    """ACK and CANCEL copy the INVITE's Request-URI, top Via, Route, From, Call-ID, CSeq number."""
    headers = Headers()
    headers.add("Via", invite.headers.get_list("Via")[0])
    for value in invite.headers.get_raw("Route"):
        headers.add("Route", value)
    headers.add("Max-Forwards", invite.headers.get("Max-Forwards") or "70")
    headers.add("From", invite.headers.get("From") or "")
    headers.add("To", to)
    headers.add("Call-ID", invite.headers.get("Call-ID") or "")
    headers.add("CSeq", f"{invite.cseq.seq} {method}")
    return Request(headers=headers, method=method, uri=invite.uri)


def _trying(request: Request) -> Response:
    response = request.response(100)
    # Section 8.2.6.1: a 100 echoes the request's Timestamp.
    for value in request.headers.get_raw("Timestamp"):
        response.headers.add("Timestamp", value)
    return response


# --- the layer ---------------------------------------------------------------------------------


class _Input(NamedTuple):
    event: TxEvent
    now: float
    message: Request | Response | None
    peer: Peer | None


class TransactionLayer:
    def __init__(
        self, *, t1: float = 0.5, t2: float = 4.0, t4: float = 5.0, send_trying: bool = True
    ):
        if not 0 < t1 <= t2 or t4 <= 0:
            raise ValueError(f"need 0 < T1 <= T2 and T4 > 0, got {t1}, {t2}, {t4}")
        self.t1, self.t2, self.t4 = t1, t2, t4
        self.send_trying = send_trying
        self._clients: dict[tuple, ClientTransaction] = {}
        self._servers: dict[tuple, ServerTransaction] = {}  # RFC 3261 keys
        self._legacy: dict[tuple, list[ServerTransaction]] = {}  # RFC 2543 keys
        self._originals: dict[tuple, ServerTransaction] = {}  # merged-request detection
        self._accepted: dict[tuple, ServerTransaction] = {}  # 2xx ACK matching
        self._events: deque[Event] = deque()
        self._outbox: list[Outgoing] = []
        self._heap: list[tuple[float, int, Transaction, TxEvent]] = []
        self._sequence = itertools.count()
        self._armed = 0  # live timers; the heap also holds cancelled entries until compacted

    # -- input ---------------------------------------------------------------------------------

    def receive(self, message: Request | Response, peer: Peer, now: float) -> None:
        """A message from the transport. Raises ParseError, with nothing changed, if Via, CSeq,
        Call-ID, From or To cannot be read (call `message.validate()` first)."""
        if isinstance(message, Response):
            self._receive_response(message, peer, now)
        else:
            self._receive_request(message, peer, now)

    def send_request(self, request: Request, peer: Peer, now: float) -> ClientTransaction:
        """Start a client transaction: sends `request` (top Via with a fresh branch) to `peer`
        and retransmits it on UDP. Do not change `request` afterwards."""
        if request.method == "ACK":
            raise ValueError("an ACK is not a transaction: use send_ack_for_2xx")
        branch = request.top_via.branch
        if not branch or not branch.startswith(MAGIC_COOKIE):
            raise ValueError(f"the top Via needs a branch from new_branch(), not {branch!r}")
        if request.cseq.method != request.method:
            raise ValueError(f"CSeq method {request.cseq.method} is not {request.method}")
        key = (branch.lower(), request.method)
        if key in self._clients:
            raise TransactionStateError(
                f"a {request.method} client transaction with branch {branch} is already live"
            )
        transaction = ClientTransaction(self, request, peer, key)
        self._clients[key] = transaction
        self._dispatch(transaction, TxEvent.TU_REQUEST, now)
        if request.method == "CANCEL":
            invite = self._clients.get((branch.lower(), "INVITE"))
            if invite is not None:
                # Section 9.1: without a final 64*T1 after the CANCEL, drop the INVITE.
                self._dispatch(invite, TxEvent.CANCEL_SENT, now)
        return transaction

    def send_response(self, transaction: ServerTransaction, response: Response, now: float) -> None:
        """Send the TU's response on a server transaction. Raises IllegalTransactionEvent (a
        TransactionStateError) if the state forbids it, e.g. a second final response."""
        self._check_owned(transaction, ServerTransaction)
        if not 100 <= response.status <= 699:
            raise ValueError(f"bad status {response.status}")
        if response.cseq != transaction.request.cseq:
            raise ValueError(
                f"response CSeq {response.cseq} does not answer {transaction.request.cseq}"
            )
        if response.status < 200:
            event = TxEvent.TU_1XX
        elif response.status < 300 and transaction.is_invite:
            response.to  # noqa: B018 - the To tag identifies the ACK; parse it before any change
            event = TxEvent.TU_2XX
        else:
            event = TxEvent.TU_FINAL
        self._dispatch(transaction, event, now, response, detail=f" ({response.status})")
        if event is not TxEvent.TU_1XX:
            # The transaction now mostly absorbs retransmissions (Timers J, H, L: 32 s on UDP):
            # parsed headers would keep tens of objects alive per request, which makes the
            # garbage collector's full passes long under load. They re-parse on demand.
            transaction.request.headers.forget_parsed()
            response.headers.forget_parsed()

    def send_ack_for_2xx(
        self, transaction: ClientTransaction, ack: Request, peer: Peer, now: float
    ) -> None:
        """Send the TU's ACK of a 2xx; the layer re-sends it on each copy of that 2xx (same To
        tag) while the INVITE client transaction is in Accepted (Timer M)."""
        self._check_owned(transaction, ClientTransaction)
        if ack.method != "ACK":
            raise ValueError(f"expected an ACK, got {ack.method}")
        ack.to  # noqa: B018 - parse before any change
        self._dispatch(transaction, TxEvent.TU_ACK_2XX, now, ack, peer)

    def send_stateless(self, message: Request | Response, peer: Peer) -> None:
        """Queue a message outside any transaction: an ACK for a stray 2xx, a stateless reply."""
        self._outbox.append(Outgoing(message, peer))

    def transport_error(
        self, transaction: ClientTransaction | ServerTransaction, now: float
    ) -> None:
        """The adapter could not send for this transaction (e.g. its TCP connection is gone):
        sections 17.1.4 and 17.2.4. Ignored once the outcome no longer matters."""
        self._check_owned(transaction, (ClientTransaction, ServerTransaction))
        self._dispatch(transaction, TxEvent.TRANSPORT_ERROR, now)

    def find_invite_server(self, cancel: Request) -> ServerTransaction | None:
        """The INVITE server transaction a CANCEL targets (section 9.2), or None (answer 481)."""
        ids = _request_ids(cancel, "INVITE")
        transaction = self._match_server(ids, is_ack=False)
        if transaction is None or not transaction.is_invite or transaction._internal:
            return None
        return transaction

    # -- output --------------------------------------------------------------------------------

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def datagrams_to_send(self) -> list[Outgoing]:
        out, self._outbox = self._outbox, []
        return out

    def get_timer(self) -> float | None:
        while self._heap:
            deadline, sequence, transaction, timer = self._heap[0]
            if transaction._timers.get(timer) == (deadline, sequence):
                return deadline
            heapq.heappop(self._heap)  # cancelled
        return None

    def handle_timer(self, now: float) -> None:
        """Fire every timer due at `now`, in deadline order."""
        while self._heap and self._heap[0][0] <= now:
            deadline, sequence, transaction, timer = heapq.heappop(self._heap)
            if transaction._timers.get(timer) != (deadline, sequence):
                continue
            del transaction._timers[timer]
            self._armed -= 1
            # The deadline, not `now`, is the base of the next retransmission interval.
            self._dispatch(transaction, timer, deadline)

    @property
    def transaction_count(self) -> int:
        """Live transactions (terminated ones are forgotten)."""
        legacy = sum(len(entries) for entries in self._legacy.values())
        return len(self._clients) + len(self._servers) + legacy

    # -- matching ------------------------------------------------------------------------------

    def _receive_response(self, response: Response, peer: Peer, now: float) -> None:
        # 17.1.3: top Via branch and CSeq method.
        branch = response.top_via.branch
        method = response.cseq.method
        response.to  # noqa: B018 - actions read the To tag: fail before any change
        transaction = self._clients.get((branch.lower(), method)) if branch else None
        if transaction is None:
            self._events.append(StrayResponse(response, peer))
            return
        if response.status < 200:
            event = TxEvent.RECV_1XX
        elif response.status < 300 and transaction.is_invite:
            event = TxEvent.RECV_2XX
        else:
            event = TxEvent.RECV_FINAL
        self._dispatch(transaction, event, now, response, peer)

    def _receive_request(self, request: Request, peer: Peer, now: float) -> None:
        is_ack = request.method == "ACK"
        ids = _request_ids(request, "INVITE" if is_ack else request.method)
        transaction = self._match_server(ids, is_ack=is_ack)
        if is_ack:
            if transaction is None:
                # The ACK of a 2xx has its own branch: match it by the dialog of the 2xx.
                transaction = self._accepted.get((ids.call_id, ids.seq, ids.from_tag, ids.to_tag))
            if transaction is None:
                self._events.append(AckReceived(request, peer, None))
            else:
                self._dispatch(transaction, TxEvent.RECV_ACK, now, request, peer)
            return
        if transaction is not None:
            self._dispatch(transaction, TxEvent.RECV_REQUEST, now, request, peer)
            return
        original = self._originals.get(ids.merge_key) if ids.to_tag is None else None
        transaction = self._add_server(request, peer, ids, internal=original is not None)
        if original is None:
            self._dispatch(transaction, TxEvent.RECV_NEW_REQUEST, now, request, peer)
            return
        # Section 8.2.2.2: the same request reached us by another path: 482, no TU event.
        self._dispatch(transaction, TxEvent.RECV_MERGED_REQUEST, now, request, peer)
        loop = request.response(482, to_tag=_new_tag())
        self._dispatch(transaction, TxEvent.TU_FINAL, now, loop)

    def _match_server(self, ids: _RequestIds, *, is_ack: bool) -> ServerTransaction | None:
        if ids.rfc3261:
            return self._servers.get(ids.key)
        for transaction in self._legacy.get(ids.key, ()):
            if is_ack:
                # The ACK carries the To tag of the response we sent.
                sent = transaction.last_response
                if sent is not None and sent.status >= 200 and sent.to.tag == ids.to_tag:
                    return transaction
            elif transaction._ids.to_tag == ids.to_tag:
                return transaction
        return None

    def _add_server(
        self, request: Request, peer: Peer, ids: _RequestIds, *, internal: bool
    ) -> ServerTransaction:
        transaction = ServerTransaction(self, request, peer, ids, internal)
        if ids.rfc3261:
            self._servers[ids.key] = transaction
        else:
            self._legacy.setdefault(ids.key, []).append(transaction)
        if not internal and ids.to_tag is None:
            self._originals[ids.merge_key] = transaction
        return transaction

    def _forget(self, transaction: Transaction) -> None:
        if isinstance(transaction, ClientTransaction):
            if self._clients.get(transaction.key) is transaction:
                del self._clients[transaction.key]
            return
        assert isinstance(transaction, ServerTransaction)
        ids = transaction._ids
        if ids.rfc3261:
            if self._servers.get(ids.key) is transaction:
                del self._servers[ids.key]
        else:
            entries = self._legacy.get(ids.key, [])
            if transaction in entries:
                entries.remove(transaction)
            if not entries:
                self._legacy.pop(ids.key, None)
        if self._originals.get(ids.merge_key) is transaction:
            del self._originals[ids.merge_key]
        key = transaction._accepted_key
        if key is not None and self._accepted.get(key) is transaction:
            del self._accepted[key]

    def _check_owned(self, transaction: object, kind: Any) -> None:
        if not isinstance(transaction, kind) or transaction._owner is not self:  # type: ignore[attr-defined]
            raise TransactionStateError(f"{transaction!r} is not a {kind} of this layer")

    # -- the machine ---------------------------------------------------------------------------

    def _dispatch(
        self,
        transaction: Transaction,
        event: TxEvent,
        now: float,
        message: Request | Response | None = None,
        peer: Peer | None = None,
        *,
        detail: str = "",
    ) -> None:
        row = transaction._table.get((transaction._state, event))
        if row is None:
            if event.from_tu:
                raise IllegalTransactionEvent(event, transaction.role, transaction._state, detail)
            return  # nothing to do in this state: absorbed
        next_state, actions = row
        transaction._state = next_state
        given = _Input(event, now, message, peer)
        for action in actions:
            verb, _, timer = action.partition(":")
            if timer:
                _TIMER_ACTIONS[verb](self, transaction, TxEvent["TIMER_" + timer], now)
            else:
                _ACTIONS[verb](self, transaction, given)
        if transaction.terminated:
            self._terminate(transaction)
            return
        while transaction._due_now and not transaction.terminated:
            self._dispatch(transaction, transaction._due_now.pop(0), now)

    def _terminate(self, transaction: Transaction) -> None:
        for timer in list(transaction._timers):
            self._cancel(transaction, timer, 0.0)
        transaction._due_now.clear()
        self._forget(transaction)
        self._emit(transaction, TransactionTerminated(transaction))  # type: ignore[arg-type]

    def _emit(self, transaction: Transaction, event: Event) -> None:
        if isinstance(transaction, ServerTransaction) and transaction._internal:
            return
        self._events.append(event)

    def _send(self, message: Request | Response, peer: Peer) -> None:
        self._outbox.append(Outgoing(message, peer))

    # -- timers --------------------------------------------------------------------------------

    def _start(self, transaction: Transaction, timer: TxEvent, now: float) -> None:
        duration = timer_duration(timer, reliable=transaction.peer.reliable, t1=self.t1, t4=self.t4)
        if duration is None:
            return  # not used on this transport (A, E, G on reliable ones)
        transaction._intervals[timer] = duration
        if duration <= 0:
            transaction._due_now.append(timer)
        else:
            self._arm(transaction, timer, now + duration)

    def _cancel(self, transaction: Transaction, timer: TxEvent, now: float) -> None:
        if transaction._timers.pop(timer, None) is not None:
            self._armed -= 1
        if timer in transaction._due_now:
            transaction._due_now.remove(timer)

    def _restart(self, transaction: Transaction, timer: TxEvent, now: float) -> None:
        interval = transaction._intervals[timer] * 2
        if timer in CAPPED_AT_T2:
            interval = min(interval, self.t2)
        transaction._intervals[timer] = interval
        self._arm(transaction, timer, now + interval)

    def _restart_at_t2(self, transaction: Transaction, timer: TxEvent, now: float) -> None:
        transaction._intervals[timer] = self.t2
        self._arm(transaction, timer, now + self.t2)

    def _arm(self, transaction: Transaction, timer: TxEvent, deadline: float) -> None:
        sequence = next(self._sequence)
        if timer not in transaction._timers:
            self._armed += 1
        transaction._timers[timer] = (deadline, sequence)
        heapq.heappush(self._heap, (deadline, sequence, transaction, timer))
        if len(self._heap) > 2 * self._armed + 64:
            # Cancelled timers (B after a response ...) would pile up: drop them.
            self._heap = [
                entry for entry in self._heap if entry[2]._timers.get(entry[3]) == entry[:2]
            ]
            heapq.heapify(self._heap)

    # -- actions of the tables -----------------------------------------------------------------

    def _send_request(self, transaction: Transaction, given: _Input) -> None:
        self._send(transaction.request, transaction.peer)

    def _deliver(self, transaction: Transaction, given: _Input) -> None:
        assert isinstance(transaction, ClientTransaction) and isinstance(given.message, Response)
        response = given.message
        if response.status < 200:
            fingerprint = _fingerprint(response)
            if fingerprint in transaction._provisionals:
                return  # a copy, re-sent because our request was retransmitted
            if len(transaction._provisionals) < MAX_REMEMBERED_PROVISIONALS:
                transaction._provisionals.add(fingerprint)
        transaction.last_response = response
        self._emit(transaction, ResponseReceived(transaction, response))

    def _deliver_2xx(self, transaction: Transaction, given: _Input) -> None:
        assert isinstance(transaction, ClientTransaction) and isinstance(given.message, Response)
        response = given.message
        tag = response.to.tag
        if tag in transaction._tags_2xx:
            sent = transaction._acks_2xx.get(tag)
            if sent is not None:
                self._send(*sent)  # the TU's ACK answers the copy (section 13.2.2.4)
            else:
                self._emit(transaction, ResponseReceived(transaction, response, True))
            return
        if len(transaction._tags_2xx) < MAX_REMEMBERED_2XX_TAGS:
            transaction._tags_2xx.add(tag)
        transaction.last_response = response
        self._emit(transaction, ResponseReceived(transaction, response, False))

    def _send_ack(self, transaction: Transaction, given: _Input) -> None:
        assert isinstance(transaction, ClientTransaction) and isinstance(given.message, Response)
        transaction.ack = make_ack_for_non_2xx(transaction.request, given.message)
        self._send(transaction.ack, transaction.peer)

    def _resend_ack(self, transaction: Transaction, given: _Input) -> None:
        assert isinstance(transaction, ClientTransaction) and isinstance(given.message, Response)
        ack = transaction.ack
        if ack is None or ack.headers.get("To") != given.message.headers.get("To"):
            # A final from another fork: its ACK carries that fork's To tag.
            ack = make_ack_for_non_2xx(transaction.request, given.message)
        self._send(ack, transaction.peer)

    def _send_ack_2xx(self, transaction: Transaction, given: _Input) -> None:
        assert isinstance(transaction, ClientTransaction)
        assert isinstance(given.message, Request) and given.peer is not None
        tag = given.message.to.tag
        known = transaction._acks_2xx
        if tag in known or len(known) < MAX_REMEMBERED_2XX_TAGS:
            known[tag] = (given.message, given.peer)
        self._send(given.message, given.peer)

    def _stray(self, transaction: Transaction, given: _Input) -> None:
        assert isinstance(given.message, Response) and given.peer is not None
        self._events.append(StrayResponse(given.message, given.peer))

    def _deliver_request(self, transaction: Transaction, given: _Input) -> None:
        assert isinstance(transaction, ServerTransaction) and given.peer is not None
        self._emit(transaction, RequestReceived(transaction, transaction.request, given.peer))

    def _send_trying(self, transaction: Transaction, given: _Input) -> None:
        # 17.2.1: a 100 at once stops the client's INVITE retransmissions early.
        if self.send_trying:
            transaction.last_response = _trying(transaction.request)
            self._send(transaction.last_response, transaction.peer)

    def _send_response(self, transaction: Transaction, given: _Input) -> None:
        assert isinstance(given.message, Response)
        transaction.last_response = given.message
        self._send(given.message, transaction.peer)

    def _resend_response(self, transaction: Transaction, given: _Input) -> None:
        if transaction.last_response is not None:
            self._send(transaction.last_response, transaction.peer)

    def _index_accepted(self, transaction: Transaction, given: _Input) -> None:
        assert isinstance(transaction, ServerTransaction) and isinstance(given.message, Response)
        ids = transaction._ids
        key = (ids.call_id, ids.seq, ids.from_tag, given.message.to.tag)
        transaction._accepted_key = key
        self._accepted[key] = transaction

    def _accept_ack(self, transaction: Transaction, given: _Input) -> None:
        assert isinstance(transaction, ServerTransaction) and isinstance(given.message, Request)
        assert given.peer is not None
        if transaction.acked:
            return  # a copy: the UAC re-sent it for a 2xx copy already in flight
        transaction.acked = True
        self._cancel(transaction, TxEvent.TIMER_2XX, given.now)
        self._emit(transaction, AckReceived(given.message, given.peer, transaction))

    def _timeout(self, transaction: Transaction, given: _Input) -> None:
        cause = given.event.cause
        if isinstance(transaction, ServerTransaction):
            transaction._timeout_reported = True
        self._emit(transaction, TransactionTimeout(transaction, cause))  # type: ignore[arg-type]

    def _timeout_unless_acked(self, transaction: Transaction, given: _Input) -> None:
        assert isinstance(transaction, ServerTransaction)
        if not transaction.acked and not transaction._timeout_reported:
            self._timeout(transaction, given)


_ACTIONS = {
    "send_request": TransactionLayer._send_request,
    "retransmit_request": TransactionLayer._send_request,
    "deliver": TransactionLayer._deliver,
    "deliver_2xx": TransactionLayer._deliver_2xx,
    "send_ack": TransactionLayer._send_ack,
    "resend_ack": TransactionLayer._resend_ack,
    "send_ack_2xx": TransactionLayer._send_ack_2xx,
    "stray": TransactionLayer._stray,
    "deliver_request": TransactionLayer._deliver_request,
    "send_trying": TransactionLayer._send_trying,
    "send_response": TransactionLayer._send_response,
    "resend_response": TransactionLayer._resend_response,
    "index_accepted": TransactionLayer._index_accepted,
    "accept_ack": TransactionLayer._accept_ack,
    "timeout": TransactionLayer._timeout,
    "timeout_unless_acked": TransactionLayer._timeout_unless_acked,
}

_TIMER_ACTIONS = {
    "start": TransactionLayer._start,
    "cancel": TransactionLayer._cancel,
    "restart": TransactionLayer._restart,
    "restart_at_T2": TransactionLayer._restart_at_t2,
}


def _check_tables() -> None:
    """Every action a table names exists: a typo fails at import, not on a rare path."""
    for role, table in TABLES.items():
        for (_, event), (_, actions) in table.items():
            for action in actions:
                verb, _, timer = action.partition(":")
                known = _TIMER_ACTIONS if timer else _ACTIONS
                if verb not in known or (timer and "TIMER_" + timer not in TxEvent.__members__):
                    raise AssertionError(f"{role} table, {event.name}: unknown action {action}")


_check_tables()
