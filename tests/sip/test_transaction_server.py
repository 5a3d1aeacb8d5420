"""Server transactions (RFC 3261 sections 17.2.1, 17.2.2; RFC 6026 Accepted): 100 Trying,
retransmission absorption, Timers G, H, I, J, L and the 2xx retransmission until the ACK."""

from __future__ import annotations

import pytest

from pbxd.sip.transaction import (
    AckReceived,
    InviteServerState,
    NonInviteServerState,
    RequestReceived,
    TransactionTerminated,
    TransactionTimeout,
)

from .test_transaction_harness import Probe, build_request

RETRANSMIT_TIMES = [0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]  # G and 2xx


def kinds(events):
    return [type(e).__name__ for e in events]


def new_invite(probe, invite=None, at=0.0):
    invite = invite or build_request("INVITE", transport=probe.peer.transport)
    probe.receive(invite, at=at)
    (event,) = probe.take(RequestReceived)
    return invite, event.transaction


def ack_of_non_2xx(invite, response):
    # Same branch as the INVITE (section 17.1.1.3).
    return build_request(
        "ACK",
        branch=invite.top_via.branch,
        call_id=invite.call_id,
        cseq=invite.cseq.seq,
        to_tag=response.to.tag,
        transport=invite.top_via.transport,
    )


def ack_of_2xx(invite, response, **changes):
    # A new transaction: its own branch (section 13.2.2.4).
    fields = dict(
        call_id=invite.call_id,
        cseq=invite.cseq.seq,
        from_tag=invite.from_.tag,
        to_tag=response.to.tag,
        uri="sip:bob@192.0.2.2:5060",
        transport=invite.top_via.transport,
    )
    fields.update(changes)
    return build_request("ACK", **fields)


# --- INVITE server: creation, 100 Trying, Proceeding ----------------------------------------------


def test_new_invite_is_delivered_and_answered_with_100_at_once():
    probe = Probe("UDP")
    invite = build_request("INVITE", extra=("Timestamp: 54.3",))
    probe.receive(invite, at=2.0)
    (event,) = probe.take()
    assert isinstance(event, RequestReceived)
    assert event.peer == probe.peer and event.request.call_id == invite.call_id
    tx = event.transaction
    assert tx.state is InviteServerState.PROCEEDING and tx.peer == probe.peer
    assert tx.request is event.request
    (trying,) = probe.sent(100)
    assert probe.times(100) == [2.0]
    assert trying.to.tag is None  # a 100 never creates a dialog
    assert trying.headers.get("Timestamp") == "54.3"  # section 8.2.6.1
    assert trying.headers.get_list("Via") == invite.headers.get_list("Via")
    assert tx.last_response is trying
    assert probe.layer.get_timer() is None  # the TU answers; no timer in Proceeding


def test_send_trying_can_be_turned_off():
    probe = Probe("UDP", send_trying=False)
    invite, tx = new_invite(probe)
    assert probe.sent() == []
    probe.receive(invite, at=0.5)  # nothing to re-send yet
    assert probe.sent() == [] and probe.take() == []


def test_invite_retransmission_in_proceeding_resends_the_last_provisional():
    probe = Probe("UDP")
    invite, tx = new_invite(probe)
    probe.receive(invite, at=0.5)
    assert probe.times(100) == [0.0, 0.5]
    ringing = probe.respond(tx, 180, at=0.6)
    probe.receive(invite, at=1.5)
    assert probe.times(180) == [0.6, 1.5]
    assert probe.sent(180)[-1] is ringing
    assert probe.take() == []  # retransmissions never reach the TU
    assert tx.state is InviteServerState.PROCEEDING


def test_several_provisionals_are_sent_as_given():
    probe = Probe("UDP")
    invite, tx = new_invite(probe)
    probe.respond(tx, 180, at=0.1)
    probe.respond(tx, 183, at=0.2)
    probe.respond(tx, 182, at=0.3)
    assert [m.status for m in probe.sent()] == [100, 180, 183, 182]
    assert tx.state is InviteServerState.PROCEEDING


# --- INVITE server: non-2xx final, Timers G, H, I ------------------------------------------------


def test_non_2xx_final_retransmitted_by_timer_g_until_timer_h():
    probe = Probe("UDP")
    invite, tx = new_invite(probe)
    probe.respond(tx, 486)
    assert tx.state is InviteServerState.COMPLETED
    probe.advance(31.99)
    assert probe.times(486) == RETRANSMIT_TIMES
    assert probe.take() == []
    probe.advance(32.0)
    timeout, terminated = probe.take()
    assert isinstance(timeout, TransactionTimeout) and timeout.cause == "Timer H"
    assert timeout.transaction is tx and isinstance(terminated, TransactionTerminated)
    assert tx.state is InviteServerState.TERMINATED
    assert probe.layer.transaction_count == 0 and probe.layer.get_timer() is None


def test_timer_g_cap_follows_t2():
    probe = Probe("UDP", t2=2.0)
    invite, tx = new_invite(probe)
    probe.respond(tx, 404)
    probe.advance(8.0)
    assert probe.times(404) == [0.0, 0.5, 1.5, 3.5, 5.5, 7.5]


def test_invite_retransmission_in_completed_resends_the_final():
    probe = Probe("UDP")
    invite, tx = new_invite(probe)
    busy = probe.respond(tx, 486, at=0.1)
    probe.receive(invite, at=0.3)
    assert probe.times(486) == [0.1, 0.3]
    assert all(m is busy for m in probe.sent(486))
    assert probe.take() == []


def test_ack_confirms_stops_timer_g_and_timer_i_ends():
    probe = Probe("UDP")
    invite, tx = new_invite(probe)
    busy = probe.respond(tx, 486)
    ack = ack_of_non_2xx(invite, busy)
    probe.receive(ack, at=2.0)
    assert tx.state is InviteServerState.CONFIRMED
    assert probe.take() == []  # the ACK of a non-2xx is the transaction's business
    probe.receive(ack, at=3.0)  # copies absorbed
    probe.receive(invite, at=3.5)  # and so are INVITE copies: no 486 again
    assert probe.take() == []
    probe.advance(6.99)
    assert tx.state is InviteServerState.CONFIRMED
    probe.advance(7.0)  # Timer I = T4 after the ACK
    assert kinds(probe.take()) == ["TransactionTerminated"]
    assert probe.times(486) == [0.0, 0.5, 1.5]  # Timer G stopped at the ACK


@pytest.mark.parametrize("transport", ["TCP", "TLS", "WS", "WSS"])
def test_reliable_transport_no_timer_g_timer_h_kept_timer_i_zero(transport):
    probe = Probe(transport)
    invite, tx = new_invite(probe)
    busy = probe.respond(tx, 486)
    assert probe.layer.get_timer() == 32.0  # only Timer H
    probe.advance(10.0)
    assert probe.times(486) == [0.0]
    probe.receive(ack_of_non_2xx(invite, busy), at=10.0)
    assert kinds(probe.take()) == ["TransactionTerminated"]  # Timer I = 0
    assert tx.state is InviteServerState.TERMINATED


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
def test_timer_h_without_ack_on_every_transport(transport):
    probe = Probe(transport)
    invite, tx = new_invite(probe)
    probe.respond(tx, 603, at=1.0)
    probe.advance(33.0)
    assert [(type(e).__name__, getattr(e, "cause", None)) for e in probe.take()] == [
        ("TransactionTimeout", "Timer H"),
        ("TransactionTerminated", None),
    ]


def test_timer_i_follows_t4():
    probe = Probe("UDP", t4=1.5)
    invite, tx = new_invite(probe)
    busy = probe.respond(tx, 480)
    probe.receive(ack_of_non_2xx(invite, busy), at=1.0)
    probe.advance(2.49)
    assert tx.state is InviteServerState.CONFIRMED
    probe.advance(2.5)
    assert tx.state is InviteServerState.TERMINATED


# --- INVITE server: 2xx, Accepted, Timer L --------------------------------------------------------


def test_2xx_retransmitted_until_timer_l_then_timeout_for_bye():
    probe = Probe("UDP")
    invite, tx = new_invite(probe)
    probe.respond(tx, 200)
    assert tx.state is InviteServerState.ACCEPTED
    probe.advance(31.99)
    # Section 13.3.1.4: T1, doubling up to T2.
    assert probe.times(200) == RETRANSMIT_TIMES
    assert probe.take() == []
    probe.advance(32.0)  # 64*T1 without ACK: Timer L
    timeout, terminated = probe.take()
    assert isinstance(timeout, TransactionTimeout) and timeout.cause == "Timer L"
    assert isinstance(terminated, TransactionTerminated)
    assert tx.state is InviteServerState.TERMINATED and not tx.acked


@pytest.mark.parametrize("transport", ["TCP", "WS"])
def test_2xx_is_retransmitted_end_to_end_even_on_reliable_transport(transport):
    probe = Probe(transport)
    invite, tx = new_invite(probe)
    probe.respond(tx, 200)
    probe.advance(4.0)
    assert probe.times(200) == [0.0, 0.5, 1.5, 3.5]


def test_ack_for_2xx_is_delivered_once_and_stops_retransmissions():
    probe = Probe("UDP")
    invite, tx = new_invite(probe)
    ok = probe.respond(tx, 200, at=1.0)
    ack = ack_of_2xx(invite, ok)
    probe.receive(ack, at=2.0)
    (event,) = probe.take()
    assert isinstance(event, AckReceived)
    assert event.transaction is tx and event.request.method == "ACK" and event.peer == probe.peer
    assert tx.acked and tx.state is InviteServerState.ACCEPTED
    probe.receive(ack, at=2.2)  # the UAC re-sent it for a 2xx copy in flight
    assert probe.take() == []
    probe.advance(32.99)
    assert probe.times(200) == [1.0, 1.5]
    assert tx.state is InviteServerState.ACCEPTED
    probe.advance(33.0)  # Timer L: quietly, the ACK came
    assert kinds(probe.take()) == ["TransactionTerminated"]


def test_invite_retransmissions_are_absorbed_in_accepted():
    probe = Probe("UDP")
    invite, tx = new_invite(probe)
    probe.respond(tx, 200)
    probe.receive(ack_of_2xx(invite, tx.last_response), at=0.1)
    probe.take()
    for at in (0.5, 1.5, 3.5):
        probe.receive(invite, at=at)
    assert probe.take() == []
    assert probe.times(200) == [0.0]  # no 200 for the INVITE copies either
    assert probe.times(100) == [0.0]


def test_ack_matching_in_accepted_needs_call_id_cseq_and_both_tags():
    probe = Probe("UDP")
    invite, tx = new_invite(probe)
    ok = probe.respond(tx, 200, to_tag="bob-7")
    wrong = [
        ack_of_2xx(invite, ok, to_tag="someone-else"),
        ack_of_2xx(invite, ok, from_tag="other-from"),
        ack_of_2xx(invite, ok, call_id="other@x"),
        ack_of_2xx(invite, ok, cseq=2),
    ]
    for ack in wrong:
        probe.receive(ack, at=0.1)
    events = probe.take()
    # Not ours: passed up without a transaction (the dialog layer decides).
    assert [(type(e).__name__, e.transaction) for e in events] == [("AckReceived", None)] * 4
    assert not tx.acked
    probe.advance(2.0)
    assert probe.times(200) == [0.0, 0.5, 1.5]  # still retransmitting
    probe.receive(ack_of_2xx(invite, ok), at=2.0)
    (event,) = probe.take()
    assert event.transaction is tx


def test_ack_after_timer_l_goes_to_the_tu_without_transaction():
    probe = Probe("UDP")
    invite, tx = new_invite(probe)
    ok = probe.respond(tx, 200)
    probe.advance(40.0)
    probe.take()
    probe.receive(ack_of_2xx(invite, ok), at=41.0)
    (event,) = probe.take()
    assert isinstance(event, AckReceived) and event.transaction is None


def test_timer_l_follows_t1():
    probe = Probe("UDP", t1=0.25)
    invite, tx = new_invite(probe)
    probe.respond(tx, 200, at=1.0)
    probe.advance(16.99)
    assert tx.state is InviteServerState.ACCEPTED
    probe.advance(17.0)
    assert tx.state is InviteServerState.TERMINATED


# --- non-INVITE server: Trying, Proceeding, Completed, Timer J -----------------------------------


def test_non_invite_request_delivered_without_100():
    probe = Probe("UDP")
    request = build_request("OPTIONS")
    probe.receive(request)
    (event,) = probe.take()
    assert isinstance(event, RequestReceived)
    assert event.transaction.state is NonInviteServerState.TRYING
    assert probe.sent() == []  # no automatic 100 for non-INVITE (RFC 4320 spirit)
    probe.receive(request, at=0.5)  # Trying: copies are discarded
    assert probe.sent() == [] and probe.take() == []


def test_non_invite_provisional_then_final_and_copies():
    probe = Probe("UDP")
    request = build_request("REGISTER")
    probe.receive(request)
    (event,) = probe.take()
    tx = event.transaction
    probe.respond(tx, 100, to_tag=None, at=0.1)
    assert tx.state is NonInviteServerState.PROCEEDING
    probe.receive(request, at=0.5)
    assert probe.times(100) == [0.1, 0.5]
    probe.respond(tx, 183, at=0.55)  # another provisional: still Proceeding
    probe.receive(request, at=0.58)
    assert probe.times(183) == [0.55, 0.58]  # the latest provisional is the one re-sent
    assert tx.state is NonInviteServerState.PROCEEDING
    probe.respond(tx, 200, at=0.6)
    assert tx.state is NonInviteServerState.COMPLETED
    probe.receive(request, at=1.5)
    probe.receive(request, at=3.5)
    assert probe.times(200) == [0.6, 1.5, 3.5]
    assert probe.take() == []


def test_timer_j_on_udp():
    probe = Probe("UDP")
    request = build_request("BYE", to_tag="bob-1")
    probe.receive(request)
    (event,) = probe.take()
    probe.respond(event.transaction, 200, at=1.0)
    probe.advance(32.99)
    assert event.transaction.state is NonInviteServerState.COMPLETED
    assert probe.times(200) == [1.0]  # no retransmission of non-INVITE finals by timer
    probe.advance(33.0)  # Timer J = 64*T1
    assert kinds(probe.take()) == ["TransactionTerminated"]
    # A copy after Timer J is a new request as far as the layer can tell.
    probe.receive(request, at=34.0)
    assert kinds(probe.take()) == ["RequestReceived"]


@pytest.mark.parametrize("transport", ["TCP", "TLS", "WS", "WSS"])
def test_timer_j_is_zero_on_reliable_transport(transport):
    probe = Probe(transport)
    probe.receive(build_request("OPTIONS", transport=transport))
    (event,) = probe.take()
    probe.respond(event.transaction, 200)
    assert kinds(probe.take()) == ["TransactionTerminated"]
    assert event.transaction.state is NonInviteServerState.TERMINATED
    assert probe.layer.transaction_count == 0


def test_server_transactions_answer_the_peer_the_request_came_from():
    from pbxd.sip.peer import Peer

    probe = Probe("UDP")
    request = build_request("OPTIONS", sent_by="10.0.0.5:5060")  # a phone behind NAT
    probe.layer.receive(request, Peer("UDP", "203.0.113.9", 40001), 0.0)
    (event,) = [e for e in iter(probe.layer.next_event, None)]
    probe.layer.send_response(event.transaction, request.response(200, to_tag="t"), 0.0)
    (outgoing,) = probe.layer.datagrams_to_send()
    assert outgoing.peer == Peer("UDP", "203.0.113.9", 40001)
