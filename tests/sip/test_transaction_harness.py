"""In-memory network and scripted clock for the transaction tests: no sockets, no sleeps.

`Link` joins a client TransactionLayer and a server TransactionLayer. Every message crosses the
"wire" as bytes (serialize, then parse_message), can be dropped, duplicated or held back and
released later (reordering), and is logged with the time it was sent. The clock only moves when
a test calls `advance()`, which fires the layers' timers in deadline order.

The tests at the bottom check the harness itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pbxd.sip.message import Request, Response, parse_message
from pbxd.sip.peer import Peer
from pbxd.sip.transaction import TransactionLayer, new_branch

CLIENT = "client"
SERVER = "server"
CLIENT_HOST = "192.0.2.1"
SERVER_HOST = "192.0.2.2"

Match = str | int | Callable[[Request | Response], bool] | None


def build_request(
    method: str = "INVITE",
    *,
    branch: str | None = None,
    uri: str = f"sip:bob@{SERVER_HOST}",
    call_id: str = "call-1@192.0.2.1",
    from_tag: str | None = "alice-1",
    to_tag: str | None = None,
    cseq: int = 1,
    transport: str = "UDP",
    sent_by: str = f"{CLIENT_HOST}:5060",
    extra: tuple[str, ...] = (),
) -> Request:
    """A request as a phone would send it. branch=None: a fresh RFC 3261 branch; branch="": no
    branch parameter at all (RFC 2543)."""
    branch = new_branch() if branch is None else branch
    via = f"SIP/2.0/{transport} {sent_by}" + (f";branch={branch}" if branch else "")
    lines = [
        f"{method} {uri} SIP/2.0",
        f"Via: {via}",
        "Max-Forwards: 70",
        f'From: "Alice" <sip:alice@{CLIENT_HOST}>' + (f";tag={from_tag}" if from_tag else ""),
        f"To: <sip:bob@{SERVER_HOST}>" + (f";tag={to_tag}" if to_tag else ""),
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        *extra,
        "Content-Length: 0",
        "",
        "",
    ]
    return parse_message("\r\n".join(lines).encode())


def label(message: Request | Response) -> str | int:
    """The method of a request ("INVITE"), the status of a response (486)."""
    return message.method if isinstance(message, Request) else message.status


def matches(match: Match, message: Request | Response) -> bool:
    if match is None:
        return True
    if isinstance(match, str | int):
        return label(message) == match
    return match(message)


def wire_copy(message: Request | Response) -> Request | Response:
    """What the other side parses: the message as bytes on the wire."""
    return parse_message(message.serialize())


@dataclass
class Sent:
    time: float
    sender: str
    message: Request | Response
    fate: str  # delivered, dropped, duplicated, held

    @property
    def label(self) -> str | int:
        return label(self.message)


@dataclass
class _Rule:
    action: str
    sender: str
    match: Match
    remaining: int | None  # None: forever


class Link:
    """A client layer and a server layer on one in-memory hop."""

    def __init__(self, transport: str = "UDP", **options: float | bool):
        self.client = TransactionLayer(**options)  # type: ignore[arg-type]
        self.server = TransactionLayer(**options)  # type: ignore[arg-type]
        # Each side's address as the other side sees it.
        self.client_peer = Peer(transport, CLIENT_HOST, 5060)
        self.server_peer = Peer(transport, SERVER_HOST, 5060)
        self.transport = transport
        self.now = 0.0
        self.log: list[Sent] = []
        self.held: list[tuple[str, Request | Response]] = []
        self._rules: list[_Rule] = []
        self._events: dict[str, list] = {CLIENT: [], SERVER: []}
        self._seen: set[int] = set()  # ids of events handed out by fresh()

    # -- faults --------------------------------------------------------------------------------

    def drop(self, sender: str, match: Match = None, count: int | None = None) -> None:
        self._rules.append(_Rule("dropped", sender, match, count))

    def duplicate(self, sender: str, match: Match = None, count: int | None = None) -> None:
        self._rules.append(_Rule("duplicated", sender, match, count))

    def hold(self, sender: str, match: Match = None, count: int | None = None) -> None:
        """Keep matching messages back until `release()`: they then arrive after later ones."""
        self._rules.append(_Rule("held", sender, match, count))

    def heal(self) -> None:
        self._rules.clear()

    def release(self) -> None:
        held, self.held = self.held, []
        for sender, message in held:
            self._deliver(sender, message)
        self.flush()

    # -- driving -------------------------------------------------------------------------------

    def send(self, request: Request):
        """The client TU starts a transaction; everything it causes is exchanged."""
        transaction = self.client.send_request(request, self.server_peer, self.now)
        self.flush()
        return transaction

    def respond(self, transaction, status: int, to_tag: str | None = "bob-1", reason=None):
        """The server TU answers on `transaction`; everything it causes is exchanged."""
        response = transaction.request.response(status, reason, to_tag=to_tag)
        self.server.send_response(transaction, response, self.now)
        self.flush()
        return response

    def flush(self) -> None:
        """Carry every queued message across until both sides are quiet."""
        while True:
            moved = False
            for sender, layer in ((CLIENT, self.client), (SERVER, self.server)):
                for outgoing in layer.datagrams_to_send():
                    moved = True
                    expected = self.server_peer if sender == CLIENT else self.client_peer
                    assert outgoing.peer == expected, f"{sender} sent to {outgoing.peer}"
                    self._put_on_wire(sender, outgoing.message)
            self._collect_events()
            if not moved:
                return

    def advance(self, until: float) -> None:
        """Move the clock to `until`, firing every timer of both sides on its deadline."""
        assert until >= self.now, "the clock does not go back"
        while True:
            deadlines = [
                t for t in (self.client.get_timer(), self.server.get_timer()) if t is not None
            ]
            if not deadlines or min(deadlines) > until:
                break
            self.now = max(self.now, min(deadlines))
            self.client.handle_timer(self.now)
            self.server.handle_timer(self.now)
            self.flush()
        self.now = until

    def run_until_idle(self, limit: float = 600.0) -> None:
        """Advance until neither side has a timer left; fail if that takes past `limit`."""
        while True:
            deadlines = [
                t for t in (self.client.get_timer(), self.server.get_timer()) if t is not None
            ]
            if not deadlines:
                return
            assert min(deadlines) <= limit, f"still busy at {min(deadlines)}"
            self.advance(min(deadlines))

    # -- observing -----------------------------------------------------------------------------

    def events(self, side: str, kind: type | None = None) -> list:
        self._collect_events()
        return [e for e in self._events[side] if kind is None or isinstance(e, kind)]

    def take(self, side: str, kind: type | None = None) -> list:
        """Events of `kind` so far, removed from the record."""
        taken = self.events(side, kind)
        self._events[side] = [e for e in self._events[side] if not any(e is t for t in taken)]
        return taken

    def fresh(self, side: str, kind: type | None = None) -> list:
        """Events of `kind` not returned by `fresh` before; the record keeps them."""
        new = [e for e in self.events(side, kind) if id(e) not in self._seen]
        self._seen.update(id(e) for e in new)
        return new

    def sent(self, sender: str, match: Match = None) -> list[Sent]:
        return [s for s in self.log if s.sender == sender and matches(match, s.message)]

    def times(self, sender: str, match: Match = None) -> list[float]:
        return [s.time for s in self.sent(sender, match)]

    # -- internals -----------------------------------------------------------------------------

    def _put_on_wire(self, sender: str, message: Request | Response) -> None:
        fate = "delivered"
        for rule in self._rules:
            if rule.sender == sender and rule.remaining != 0 and matches(rule.match, message):
                if rule.remaining is not None:
                    rule.remaining -= 1
                fate = rule.action
                break
        self.log.append(Sent(self.now, sender, message, fate))
        if fate == "dropped":
            return
        if fate == "held":
            self.held.append((sender, message))
            return
        self._deliver(sender, message)
        if fate == "duplicated":
            self._deliver(sender, message)

    def _deliver(self, sender: str, message: Request | Response) -> None:
        if sender == CLIENT:
            self.server.receive(wire_copy(message), self.client_peer, self.now)
        else:
            self.client.receive(wire_copy(message), self.server_peer, self.now)

    def _collect_events(self) -> None:
        for side, layer in ((CLIENT, self.client), (SERVER, self.server)):
            while (event := layer.next_event()) is not None:
                self._events[side].append(event)


class Probe:
    """One layer alone: the test plays the other side by hand."""

    def __init__(self, transport: str = "UDP", **options: float | bool):
        self.layer = TransactionLayer(**options)  # type: ignore[arg-type]
        # The party the test plays: source of what it feeds in, destination of requests.
        self.peer = Peer(transport, CLIENT_HOST, 5060)
        self.now = 0.0
        self.log: list[tuple[float, Request | Response]] = []
        self.events: list = []

    def send(self, request: Request, at: float | None = None):
        """Our TU starts a client transaction towards the party the test plays."""
        self.advance(self.now if at is None else at)
        transaction = self.layer.send_request(request, self.peer, self.now)
        self._drain()
        return transaction

    def respond(self, transaction, status: int, to_tag: str | None = "bob-1", at=None):
        """Our TU answers on a server transaction."""
        self.advance(self.now if at is None else at)
        response = transaction.request.response(status, to_tag=to_tag)
        self.layer.send_response(transaction, response, self.now)
        self._drain()
        return response

    def receive(self, message: Request | Response, at: float | None = None) -> None:
        self.advance(self.now if at is None else at)
        self.layer.receive(wire_copy(message), self.peer, self.now)
        self._drain()

    def advance(self, until: float) -> None:
        while (deadline := self.layer.get_timer()) is not None and deadline <= until:
            self.now = deadline
            self.layer.handle_timer(deadline)
            self._drain()
        self.now = until
        self._drain()

    def sent(self, match: Match = None) -> list[Request | Response]:
        self._drain()
        return [m for _, m in self.log if matches(match, m)]

    def times(self, match: Match = None) -> list[float]:
        self._drain()
        return [t for t, m in self.log if matches(match, m)]

    def take(self, kind: type | None = None) -> list:
        self._drain()
        taken = [e for e in self.events if kind is None or isinstance(e, kind)]
        self.events = [e for e in self.events if not any(e is t for t in taken)]
        return taken

    def flush(self) -> None:
        """Record what the layer queued after a direct call on `probe.layer`."""
        self._drain()

    def _drain(self) -> None:
        for outgoing in self.layer.datagrams_to_send():
            self.log.append((self.now, outgoing.message))
        while (event := self.layer.next_event()) is not None:
            self.events.append(event)


# --- the harness itself --------------------------------------------------------------------------


def test_link_carries_messages_as_bytes_and_logs_them():
    link = Link()
    link.send(build_request("OPTIONS"))
    (sent,) = link.sent(CLIENT, "OPTIONS")
    assert sent.time == 0.0 and sent.fate == "delivered"
    (event,) = link.events(SERVER)
    # The server got a parsed copy, not the client's object.
    assert event.request is not sent.message
    assert event.request.serialize() == sent.message.serialize()


def test_link_drop_duplicate_hold():
    link = Link()
    link.drop(CLIENT, "OPTIONS", count=1)
    link.send(build_request("OPTIONS"))
    assert link.events(SERVER) == []
    link.advance(0.5)  # Timer E brings the retransmission through
    assert len(link.events(SERVER)) == 1
    assert [s.fate for s in link.sent(CLIENT, "OPTIONS")] == ["dropped", "delivered"]

    link = Link()
    link.duplicate(CLIENT, "MESSAGE")
    link.send(build_request("MESSAGE"))
    assert len(link.events(SERVER)) == 1  # the copy is absorbed by the server transaction

    link = Link()
    link.hold(CLIENT, "INFO")
    link.send(build_request("INFO"))
    assert link.events(SERVER) == [] and len(link.held) == 1
    link.release()
    assert len(link.events(SERVER)) == 1


def test_link_clock_only_moves_when_told():
    link = Link()
    link.send(build_request("OPTIONS"))
    link.drop(CLIENT)
    assert link.now == 0.0
    link.advance(2.0)
    assert link.now == 2.0
    assert link.times(CLIENT, "OPTIONS") == [0.0, 0.5, 1.5]
