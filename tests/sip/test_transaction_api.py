"""The layer's contract: illegal TU calls, argument checks, events, the state tables, Peer, and
memory that does not grow."""

from __future__ import annotations

import dataclasses

import pytest

from pbxd.sip.errors import ParseError, TransactionStateError
from pbxd.sip.peer import Peer
from pbxd.sip.transaction import (
    IllegalTransactionEvent,
    InviteClientState,
    InviteServerState,
    NonInviteServerState,
    Outgoing,
    RequestReceived,
    ResponseReceived,
    TransactionLayer,
    TransactionTerminated,
)
from pbxd.sip.transaction_states import TABLES, TxEvent

from .test_transaction_harness import CLIENT, SERVER, Link, Probe, build_request


def server_tx(probe, method="INVITE", **fields):
    probe.receive(build_request(method, transport=probe.peer.transport, **fields))
    (event,) = probe.take(RequestReceived)
    return event.transaction


def response_for(tx, status, to_tag="b"):
    return tx.request.response(status, to_tag=to_tag)


# --- illegal TU calls ---------------------------------------------------------------------------


def test_second_final_response_raises_naming_event_role_and_state():
    probe = Probe("UDP")
    tx = server_tx(probe)
    probe.respond(tx, 486)
    sent_before = len(probe.sent())
    with pytest.raises(TransactionStateError) as info:
        probe.layer.send_response(tx, response_for(tx, 500), probe.now)
    error = info.value
    assert isinstance(error, IllegalTransactionEvent)
    message = str(error)
    assert "the TU sends a final response (500)" in message
    assert "INVITE server" in message and "Completed" in message
    assert error.event is TxEvent.TU_FINAL and error.role == "INVITE server"
    assert error.state is InviteServerState.COMPLETED
    assert tx.state is InviteServerState.COMPLETED and tx.last_response.status == 486
    assert len(probe.sent()) == sent_before


@pytest.mark.parametrize("second", [100, 180, 200, 404])
def test_nothing_may_follow_a_2xx_on_an_invite_server(second):
    probe = Probe("UDP")
    tx = server_tx(probe)
    probe.respond(tx, 200)
    with pytest.raises(TransactionStateError, match="INVITE server transaction in state Accepted"):
        probe.layer.send_response(tx, response_for(tx, second), probe.now)


def test_response_on_a_terminated_transaction_raises():
    probe = Probe("TCP")
    tx = server_tx(probe, "OPTIONS")
    probe.respond(tx, 200)  # Timer J = 0: terminated at once
    assert tx.state is NonInviteServerState.TERMINATED
    with pytest.raises(TransactionStateError, match="non-INVITE server.*Terminated") as info:
        probe.layer.send_response(tx, response_for(tx, 200), probe.now)
    assert info.value.state is NonInviteServerState.TERMINATED


def test_provisional_after_final_raises():
    probe = Probe("UDP")
    tx = server_tx(probe, "OPTIONS")
    probe.respond(tx, 200)
    with pytest.raises(TransactionStateError, match="provisional response .100.*Completed"):
        probe.layer.send_response(tx, response_for(tx, 100, None), probe.now)


def test_ack_for_2xx_before_any_2xx_raises():
    probe = Probe("UDP")
    invite = build_request("INVITE")
    tx = probe.send(invite)
    ack = build_request("ACK", to_tag="b")
    with pytest.raises(TransactionStateError, match="ACK for a 2xx.*INVITE client.*Calling"):
        probe.layer.send_ack_for_2xx(tx, ack, probe.peer, probe.now)
    probe.receive(invite.response(486, to_tag="b"))
    with pytest.raises(TransactionStateError, match="Completed"):
        probe.layer.send_ack_for_2xx(tx, ack, probe.peer, probe.now)
    assert probe.sent("ACK")[0] is tx.ack  # only the transaction's own ACK went out


def test_ack_for_2xx_on_a_non_invite_raises():
    probe = Probe("UDP")
    request = build_request("OPTIONS")
    tx = probe.send(request)
    probe.receive(request.response(200, to_tag="b"))
    with pytest.raises(TransactionStateError, match="non-INVITE client"):
        probe.layer.send_ack_for_2xx(tx, build_request("ACK"), probe.peer, probe.now)


def test_transactions_of_the_wrong_role_or_layer_are_refused():
    probe = Probe("UDP")
    client_tx = probe.send(build_request("OPTIONS"))
    with pytest.raises(TransactionStateError):
        probe.layer.send_response(client_tx, client_tx.request.response(200), probe.now)
    stranger = Probe("UDP")
    tx = server_tx(stranger)
    with pytest.raises(TransactionStateError, match="not a"):
        probe.layer.send_response(tx, response_for(tx, 200), probe.now)
    with pytest.raises(TransactionStateError):
        probe.layer.transport_error(tx, probe.now)


def test_send_request_argument_checks():
    layer = TransactionLayer()
    peer = Peer("UDP", "192.0.2.2", 5060)
    with pytest.raises(ValueError, match="ACK"):
        layer.send_request(build_request("ACK", to_tag="x"), peer, 0.0)
    with pytest.raises(ValueError, match="branch"):
        layer.send_request(build_request("INVITE", branch="1234"), peer, 0.0)
    with pytest.raises(ValueError, match="branch"):
        layer.send_request(build_request("INVITE", branch=""), peer, 0.0)
    mismatched = build_request("INVITE")
    mismatched.headers.set("CSeq", "1 OPTIONS")
    with pytest.raises(ValueError, match="CSeq"):
        layer.send_request(mismatched, peer, 0.0)
    request = build_request("INVITE")
    layer.send_request(request, peer, 0.0)
    with pytest.raises(TransactionStateError, match="already live"):
        layer.send_request(request, peer, 0.0)
    assert layer.transaction_count == 1
    assert len(layer.datagrams_to_send()) == 1


def test_send_response_argument_checks():
    probe = Probe("UDP")
    tx = server_tx(probe, "OPTIONS")
    wrong = response_for(tx, 200)
    wrong.headers.set("CSeq", "2 OPTIONS")
    with pytest.raises(ValueError, match="CSeq"):
        probe.layer.send_response(tx, wrong, probe.now)
    bad = response_for(tx, 200)
    bad.status = 700
    with pytest.raises(ValueError, match="status"):
        probe.layer.send_response(tx, bad, probe.now)
    assert tx.state is NonInviteServerState.TRYING


def test_unreadable_message_raises_parse_error_and_changes_nothing():
    layer = TransactionLayer()
    peer = Peer("UDP", "192.0.2.1", 5060)
    request = build_request("INVITE")
    request.headers.remove("Via")
    with pytest.raises(ParseError):
        layer.receive(request, peer, 0.0)
    response = build_request("INVITE").response(200, to_tag="x")
    response.headers.set("CSeq", "bogus")
    with pytest.raises(ParseError):
        layer.receive(response, peer, 0.0)
    assert layer.next_event() is None and layer.datagrams_to_send() == []
    assert layer.transaction_count == 0


def test_layer_options_are_checked():
    for bad in (dict(t1=0), dict(t1=5.0, t2=4.0), dict(t4=0)):
        with pytest.raises(ValueError):
            TransactionLayer(**bad)


# --- events and values ----------------------------------------------------------------------------


def test_events_are_frozen_and_validated():
    probe = Probe("UDP")
    request = build_request("OPTIONS")
    probe.receive(request)
    (event,) = probe.take()
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.request = request  # type: ignore[misc]
    with pytest.raises(TypeError):
        RequestReceived(event.transaction, request.response(200), probe.peer)  # type: ignore
    with pytest.raises(TypeError):
        ResponseReceived(event.transaction, request.response(200))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        TransactionTerminated("not a transaction")  # type: ignore[arg-type]
    outgoing = Outgoing(request, probe.peer)
    with pytest.raises(dataclasses.FrozenInstanceError):
        outgoing.peer = probe.peer  # type: ignore[misc]


def test_transaction_attributes():
    probe = Probe("UDP")
    tx = server_tx(probe)
    assert tx.request.method == "INVITE" and tx.peer == probe.peer
    assert tx.key == tx.key and hash(tx.key) is not None
    assert tx.last_response.status == 100
    assert tx.user_data is None
    tx.user_data = {"leg": 1}  # the TU's slot
    assert "INVITE server" in repr(tx) and "Proceeding" in repr(tx)


def test_peer():
    assert not Peer("UDP", "192.0.2.1", 5060).reliable
    for transport in ("TCP", "TLS", "WS", "WSS"):
        assert Peer(transport, "2001:db8::1", 5061).reliable
    assert str(Peer("TLS", "2001:db8::1", 5061)) == "TLS:[2001:db8::1]:5061"
    assert Peer("UDP", "192.0.2.1", 5060) == Peer("UDP", "192.0.2.1", 5060)
    assert len({Peer("UDP", "192.0.2.1", 5060), Peer("UDP", "192.0.2.1", 5060)}) == 1
    for bad in (
        ("udp", "192.0.2.1", 5060),
        ("SCTP", "h", 1),
        ("UDP", "[::1]", 5060),
        ("UDP", "", 5060),
        ("UDP", "h", 0),
        ("UDP", "h", 70000),
    ):
        with pytest.raises(ValueError):
            Peer(*bad)


# --- the tables ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(TABLES))
def test_every_state_can_reach_terminated_and_terminated_is_final(role):
    table = TABLES[role]
    states = {state for state, _ in table if state is not None}
    states |= {next_state for next_state, _ in table.values()}
    enum = type(next(iter(states)))
    assert states == set(enum), "every state of the machine appears in its table"
    assert not any(state is enum.TERMINATED for state, _ in table)
    for start in states:
        seen, todo = {start}, [start]
        while todo:
            state = todo.pop()
            for (from_state, _), (next_state, _) in table.items():
                if from_state is state and next_state not in seen:
                    seen.add(next_state)
                    todo.append(next_state)
        assert enum.TERMINATED in seen, f"{role}: {start} never ends"


@pytest.mark.parametrize("role", sorted(TABLES))
def test_states_that_wait_on_the_network_have_a_timer(role):
    # No transaction may hang forever waiting for the peer: each state entered without the
    # TU's duty to act has a timer row (server Trying/Proceeding wait for the TU instead).
    table = TABLES[role]
    waiting_on_tu = {
        ("INVITE server", "PROCEEDING"),
        ("non-INVITE server", "TRYING"),
        ("non-INVITE server", "PROCEEDING"),
        ("INVITE client", "PROCEEDING"),
    }
    for state in {s for s, _ in table if s is not None}:
        if (role, state.name) in waiting_on_tu:
            continue
        timers = [e for s, e in table if s is state and e.is_timer]
        assert timers, f"{role} {state} has no timer"


def test_invite_client_proceeding_is_left_by_a_final_or_after_a_cancel():
    # RFC 3261 has no timer in Proceeding for an INVITE client: a final response ends it, or
    # the CANCEL timer of section 9.1.
    rows = {e for s, e in TABLES["INVITE client"] if s is InviteClientState.PROCEEDING}
    assert rows == {
        TxEvent.RECV_1XX,
        TxEvent.RECV_2XX,
        TxEvent.RECV_FINAL,
        TxEvent.TRANSPORT_ERROR,
        TxEvent.CANCEL_SENT,
        TxEvent.TIMER_CANCEL,
    }


# --- memory --------------------------------------------------------------------------------------


def test_everything_is_forgotten_after_many_transactions():
    link = Link("UDP")
    for n in range(300):
        kind = n % 3
        invite = build_request("INVITE" if kind < 2 else "OPTIONS", call_id=f"c{n}@x")
        link.send(invite)
        (event,) = link.take(SERVER, RequestReceived)
        status = 200 if kind == 0 else 486
        ok = link.respond(event.transaction, status)
        for response_event in link.take(CLIENT, ResponseReceived):
            if response_event.response.status == 200 and invite.method == "INVITE":
                ack = build_request(
                    "ACK", call_id=invite.call_id, to_tag=ok.to.tag, uri="sip:bob@192.0.2.2"
                )
                link.client.send_ack_for_2xx(
                    response_event.transaction, ack, link.server_peer, link.now
                )
        link.flush()
        link.advance(link.now + 0.01)
    link.run_until_idle()
    for layer in (link.client, link.server):
        assert layer.transaction_count == 0
        assert layer.get_timer() is None
        # White-box: no index or timer entry is left behind.
        assert not (
            layer._clients
            or layer._servers
            or layer._legacy
            or layer._originals
            or layer._accepted
            or layer._heap
        )
    acks = link.events(SERVER)
    assert sum(type(e).__name__ == "AckReceived" for e in acks) == 100


def test_cancelled_timers_do_not_pile_up():
    # Timer B of every answered INVITE is cancelled but its heap entry stays until compaction.
    layer = TransactionLayer()
    peer = Peer("TCP", "192.0.2.2", 5060)
    for n in range(5000):
        invite = build_request("INVITE", call_id=f"c{n}@x", transport="TCP")
        tx = layer.send_request(invite, peer, n * 0.001)
        layer.receive(invite.response(486, to_tag="t"), peer, n * 0.001)
        assert tx.state is InviteClientState.TERMINATED
        layer.datagrams_to_send()
        while layer.next_event():
            pass
    assert layer.transaction_count == 0 and layer.get_timer() is None
    assert len(layer._heap) <= 64  # white-box: compaction ran
