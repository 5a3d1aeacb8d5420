"""Client transactions (RFC 3261 sections 17.1.1, 17.1.2; RFC 6026 Accepted): timers A, B, D,
E, F, K, M, the ACK of a non-2xx final and the 2xx handling of an INVITE client."""

from __future__ import annotations

import pytest

from pbxd.sip.transaction import (
    InviteClientState,
    NonInviteClientState,
    ResponseReceived,
    StrayResponse,
    TransactionTerminated,
    TransactionTimeout,
)

from .test_transaction_harness import Probe, build_request

INVITE_TIMES_UDP = [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]  # Timer A doubles, no cap
NON_INVITE_TIMES_UDP = [0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]  # cap T2


def kinds(events):
    return [type(e).__name__ for e in events]


# --- INVITE client: Timers A and B -------------------------------------------------------------


def test_invite_retransmitted_by_timer_a_until_timer_b_at_32s():
    probe = Probe("UDP")
    tx = probe.send(build_request("INVITE"))
    assert tx.state is InviteClientState.CALLING
    probe.advance(31.99)
    assert probe.take() == []
    assert probe.times("INVITE") == INVITE_TIMES_UDP
    probe.advance(32.0)
    timeout, terminated = probe.take()
    assert isinstance(timeout, TransactionTimeout) and timeout.transaction is tx
    assert timeout.cause == "Timer B"
    assert isinstance(terminated, TransactionTerminated) and terminated.transaction is tx
    assert tx.state is InviteClientState.TERMINATED
    probe.advance(200.0)
    assert probe.times("INVITE") == INVITE_TIMES_UDP  # nothing after the end
    assert probe.layer.transaction_count == 0 and probe.layer.get_timer() is None


def test_every_retransmission_is_the_same_request():
    probe = Probe("UDP")
    request = build_request("INVITE")
    probe.send(request)
    probe.advance(4.0)
    copies = probe.sent("INVITE")
    assert len(copies) == 4
    assert {c.serialize() for c in copies} == {request.serialize()}


@pytest.mark.parametrize("transport", ["TCP", "TLS", "WS", "WSS"])
def test_invite_over_reliable_transport_has_no_timer_a_but_timer_b(transport):
    probe = Probe(transport)
    tx = probe.send(build_request("INVITE", transport=transport))
    assert probe.layer.get_timer() == 32.0
    probe.advance(32.0)
    assert probe.times("INVITE") == [0.0]
    assert kinds(probe.take()) == ["TransactionTimeout", "TransactionTerminated"]
    assert tx.state is InviteClientState.TERMINATED


def test_timers_a_and_b_follow_t1():
    probe = Probe("UDP", t1=0.1)
    probe.send(build_request("INVITE"))
    probe.advance(6.39)
    assert probe.times("INVITE") == pytest.approx([0.0, 0.1, 0.3, 0.7, 1.5, 3.1, 6.3])
    assert probe.take() == []
    probe.advance(6.4)  # Timer B = 64*T1
    assert kinds(probe.take()) == ["TransactionTimeout", "TransactionTerminated"]


def test_provisional_stops_retransmissions_and_timer_b():
    probe = Probe("UDP")
    request = build_request("INVITE")
    tx = probe.send(request)
    probe.receive(request.response(100), at=0.7)
    (event,) = probe.take()
    assert isinstance(event, ResponseReceived) and event.response.status == 100
    assert tx.state is InviteClientState.PROCEEDING
    assert probe.layer.get_timer() is None  # ringing may last minutes: no Timer B
    probe.advance(300.0)
    assert probe.times("INVITE") == [0.0, 0.5]
    assert probe.take() == []


def test_provisionals_each_delivered_once():
    probe = Probe("UDP")
    request = build_request("INVITE")
    tx = probe.send(request)
    ringing = request.response(180, to_tag="fork-a")
    probe.receive(request.response(100))
    probe.receive(ringing, at=0.1)
    probe.receive(ringing, at=0.2)  # re-sent because our INVITE was retransmitted
    probe.receive(request.response(183, to_tag="fork-a"), at=0.3)
    probe.receive(request.response(180, to_tag="fork-b"), at=0.4)  # another fork rings
    statuses = [(e.response.status, e.response.to.tag) for e in probe.take(ResponseReceived)]
    assert statuses == [(100, None), (180, "fork-a"), (183, "fork-a"), (180, "fork-b")]
    assert tx.last_response.to.tag == "fork-b"


# --- INVITE client: non-2xx final, the ACK, Timer D --------------------------------------------


def invite_with_routes():
    return build_request(
        "INVITE",
        extra=(
            "Route: <sip:proxy1.example.com;lr>",
            "Route: <sip:proxy2.example.com;lr>, <sip:proxy3.example.com;lr>",
            "Contact: <sip:alice@192.0.2.1:5060>",
            "Content-Type: application/sdp",
        ),
    )


def test_non_2xx_final_is_acked_by_the_transaction():
    probe = Probe("UDP")
    invite = invite_with_routes()
    tx = probe.send(invite)
    probe.receive(invite.response(180, to_tag="bob-9"), at=0.1)
    busy = invite.response(486, to_tag="bob-9")
    probe.receive(busy, at=0.2)
    events = probe.take()
    assert [(type(e).__name__, e.response.status) for e in events] == [
        ("ResponseReceived", 180),
        ("ResponseReceived", 486),
    ]
    assert tx.state is InviteClientState.COMPLETED and tx.last_response.status == 486
    (ack,) = probe.sent("ACK")
    # Section 17.1.1.3.
    assert ack.uri == invite.uri
    assert ack.call_id == invite.call_id
    assert ack.headers.get("From") == invite.headers.get("From")
    assert ack.to.tag == "bob-9" and ack.headers.get("To") == busy.headers.get("To")
    assert (ack.cseq.seq, ack.cseq.method) == (invite.cseq.seq, "ACK")
    assert ack.headers.get_list("Via") == [invite.headers.get_list("Via")[0]]
    assert ack.headers.get_list("Route") == invite.headers.get_list("Route")
    assert [r.uri.host for r in ack.route_set] == [
        "proxy1.example.com",
        "proxy2.example.com",
        "proxy3.example.com",
    ]
    assert ack.body == b"" and "Contact" not in ack.headers
    assert tx.ack is ack


def test_retransmitted_final_is_acked_again_not_delivered_until_timer_d():
    probe = Probe("UDP")
    invite = build_request("INVITE")
    tx = probe.send(invite)
    busy = invite.response(486, to_tag="bob-9")
    probe.receive(busy, at=0.2)
    assert len(probe.take(ResponseReceived)) == 1
    for at in (0.7, 1.7, 3.7):
        probe.receive(busy, at=at)
    assert probe.take() == []
    assert probe.times("ACK") == [0.2, 0.7, 1.7, 3.7]
    assert len({a.serialize() for a in probe.sent("ACK")}) == 1  # the same ACK each time
    assert probe.times("INVITE") == [0.0]  # Timer A stopped by the final
    probe.advance(32.19)
    assert tx.state is InviteClientState.COMPLETED
    probe.advance(32.2)  # Timer D = 32 s on UDP
    assert tx.state is InviteClientState.TERMINATED
    assert kinds(probe.take()) == ["TransactionTerminated"]
    probe.receive(busy, at=33.0)
    (stray,) = probe.take()
    assert isinstance(stray, StrayResponse) and stray.response.status == 486
    assert probe.times("ACK") == [0.2, 0.7, 1.7, 3.7]


@pytest.mark.parametrize("transport", ["TCP", "TLS"])
def test_timer_d_is_zero_on_reliable_transport(transport):
    probe = Probe(transport)
    invite = build_request("INVITE", transport=transport)
    tx = probe.send(invite)
    probe.receive(invite.response(603, to_tag="x"), at=1.0)
    assert kinds(probe.take()) == ["ResponseReceived", "TransactionTerminated"]
    assert tx.state is InviteClientState.TERMINATED
    assert len(probe.sent("ACK")) == 1
    assert probe.layer.get_timer() is None and probe.layer.transaction_count == 0


def test_final_from_another_fork_is_acked_with_its_own_to_tag():
    probe = Probe("UDP")
    invite = build_request("INVITE")
    probe.send(invite)
    probe.receive(invite.response(486, to_tag="fork-a"))
    probe.receive(invite.response(480, to_tag="fork-b"), at=0.1)
    assert [a.to.tag for a in probe.sent("ACK")] == ["fork-a", "fork-b"]
    assert [e.response.status for e in probe.take(ResponseReceived)] == [486]


def test_late_responses_in_completed():
    probe = Probe("UDP")
    invite = build_request("INVITE")
    tx = probe.send(invite)
    probe.receive(invite.response(486, to_tag="a"))
    probe.take()
    probe.receive(invite.response(180, to_tag="a"), at=0.1)
    assert probe.take() == []  # provisional after the final: absorbed
    ok = invite.response(200, to_tag="other-fork")
    probe.receive(ok, at=0.2)
    # A 2xx from another fork: the TU may ACK and BYE it; the transaction stays Completed.
    (stray,) = probe.take()
    assert isinstance(stray, StrayResponse) and stray.response.status == 200
    assert tx.state is InviteClientState.COMPLETED


# --- INVITE client: 2xx, Accepted, Timer M -------------------------------------------------------


def ack_for(invite, ok):
    return build_request(
        "ACK",
        call_id=invite.call_id,
        cseq=invite.cseq.seq,
        from_tag=invite.from_.tag,
        to_tag=ok.to.tag,
        uri="sip:bob@192.0.2.2:5070",
    )


def test_2xx_moves_to_accepted_and_the_tu_acks():
    probe = Probe("UDP")
    invite = build_request("INVITE")
    tx = probe.send(invite)
    ok = invite.response(200, to_tag="bob-1")
    probe.receive(ok, at=0.3)
    (event,) = probe.take()
    assert isinstance(event, ResponseReceived) and not event.retransmission
    assert tx.state is InviteClientState.ACCEPTED and tx.last_response.status == 200
    assert probe.sent("ACK") == []  # the ACK of a 2xx is the TU's (section 13.2.2.4)
    assert probe.times("INVITE") == [0.0]


def test_2xx_copy_before_the_tu_acked_is_flagged_as_retransmission():
    probe = Probe("UDP")
    invite = build_request("INVITE")
    tx = probe.send(invite)
    ok = invite.response(200, to_tag="bob-1")
    probe.receive(ok, at=0.3)
    probe.receive(ok, at=0.8)
    first, copy = probe.take()
    assert (first.retransmission, copy.retransmission) == (False, True)
    assert copy.transaction is tx


def test_2xx_copies_are_answered_with_the_tu_ack_until_timer_m():
    probe = Probe("UDP")
    invite = build_request("INVITE")
    tx = probe.send(invite)
    ok = invite.response(200, to_tag="bob-1")
    probe.receive(ok, at=0.3)
    probe.take()
    ack = ack_for(invite, ok)
    probe.layer.send_ack_for_2xx(tx, ack, probe.peer, probe.now)
    probe.flush()
    for at in (0.8, 1.8, 3.8):
        probe.receive(ok, at=at)
    assert probe.take() == []  # answered by the layer, not the TU
    assert probe.times("ACK") == [0.3, 0.8, 1.8, 3.8]
    assert all(a is ack for a in probe.sent("ACK"))
    probe.advance(32.29)
    assert tx.state is InviteClientState.ACCEPTED
    probe.advance(32.3)  # Timer M = 64*T1 after the 2xx
    assert tx.state is InviteClientState.TERMINATED
    assert kinds(probe.take()) == ["TransactionTerminated"]
    probe.receive(ok, at=40.0)
    (stray,) = probe.take()
    assert isinstance(stray, StrayResponse) and stray.response.to.tag == "bob-1"
    assert probe.times("ACK") == [0.3, 0.8, 1.8, 3.8]


def test_ack_for_2xx_goes_to_the_peer_the_tu_chose():
    probe = Probe("UDP")
    invite = build_request("INVITE")
    tx = probe.send(invite)
    ok = invite.response(200, to_tag="bob-1")
    probe.receive(ok)
    from pbxd.sip.peer import Peer

    target = Peer("UDP", "198.51.100.7", 5070)
    probe.layer.send_ack_for_2xx(tx, ack_for(invite, ok), target, probe.now)
    probe.layer.receive(ok, probe.peer, 1.0)
    assert [o.peer for o in probe.layer.datagrams_to_send()] == [target, target]


def test_forked_2xx_are_each_delivered_and_acked_separately():
    probe = Probe("UDP")
    invite = build_request("INVITE")
    tx = probe.send(invite)
    ok_a = invite.response(200, to_tag="fork-a")
    ok_b = invite.response(200, to_tag="fork-b")
    probe.receive(ok_a, at=0.1)
    probe.layer.send_ack_for_2xx(tx, ack_for(invite, ok_a), probe.peer, probe.now)
    probe.receive(ok_b, at=0.2)
    (event_a, event_b) = probe.take(ResponseReceived)
    assert event_a.response.to.tag == "fork-a" and not event_a.retransmission
    assert event_b.response.to.tag == "fork-b" and not event_b.retransmission
    probe.receive(ok_b, at=0.7)  # fork b not ACKed yet: the TU hears of it
    (copy,) = probe.take()
    assert copy.retransmission and copy.response.to.tag == "fork-b"
    probe.layer.send_ack_for_2xx(tx, ack_for(invite, ok_b), probe.peer, probe.now)
    probe.receive(ok_a, at=1.0)
    probe.receive(ok_b, at=1.1)
    assert probe.take() == []
    assert [a.to.tag for a in probe.sent("ACK")] == ["fork-a", "fork-b", "fork-a", "fork-b"]


def test_accepted_ignores_provisionals_and_failures():
    probe = Probe("UDP")
    invite = build_request("INVITE")
    tx = probe.send(invite)
    probe.receive(invite.response(200, to_tag="a"))
    probe.take()
    probe.receive(invite.response(180, to_tag="a"), at=0.1)
    probe.receive(invite.response(486, to_tag="b"), at=0.2)
    assert probe.take() == [] and probe.sent("ACK") == []
    assert tx.state is InviteClientState.ACCEPTED


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
def test_timer_m_applies_on_every_transport(transport):
    probe = Probe(transport)
    invite = build_request("INVITE", transport=transport)
    tx = probe.send(invite)
    probe.receive(invite.response(200, to_tag="a"), at=1.0)
    assert probe.layer.get_timer() == 33.0
    probe.advance(33.0)
    assert tx.state is InviteClientState.TERMINATED


# --- non-INVITE client: Timers E, F, K ---------------------------------------------------------


def test_non_invite_retransmitted_by_timer_e_capped_at_t2_until_timer_f():
    probe = Probe("UDP")
    tx = probe.send(build_request("OPTIONS"))
    assert tx.state is NonInviteClientState.TRYING
    probe.advance(31.99)
    assert probe.times("OPTIONS") == NON_INVITE_TIMES_UDP
    assert probe.take() == []
    probe.advance(32.0)
    timeout, terminated = probe.take()
    assert isinstance(timeout, TransactionTimeout) and timeout.cause == "Timer F"
    assert isinstance(terminated, TransactionTerminated)
    assert tx.state is NonInviteClientState.TERMINATED


def test_timer_e_uses_t2_once_proceeding():
    probe = Probe("UDP")
    request = build_request("REGISTER")
    tx = probe.send(request)
    probe.receive(request.response(100), at=0.2)
    assert tx.state is NonInviteClientState.PROCEEDING
    probe.advance(31.99)
    # 17.1.2.2: in Proceeding Timer E is reset to T2 each time it fires.
    assert probe.times("REGISTER") == [0.0, 0.5, 4.5, 8.5, 12.5, 16.5, 20.5, 24.5, 28.5]
    probe.advance(32.0)  # Timer F still runs in Proceeding
    assert kinds(probe.take()) == [
        "ResponseReceived",
        "TransactionTimeout",
        "TransactionTerminated",
    ]


def test_timer_e_cap_follows_t2():
    probe = Probe("UDP", t2=2.0)
    probe.send(build_request("OPTIONS"))
    probe.advance(10.0)
    assert probe.times("OPTIONS") == [0.0, 0.5, 1.5, 3.5, 5.5, 7.5, 9.5]


@pytest.mark.parametrize("transport", ["TCP", "WSS"])
def test_non_invite_over_reliable_transport_has_no_timer_e_but_timer_f(transport):
    probe = Probe(transport)
    probe.send(build_request("OPTIONS", transport=transport))
    probe.advance(32.0)
    assert probe.times("OPTIONS") == [0.0]
    assert kinds(probe.take()) == ["TransactionTimeout", "TransactionTerminated"]


def test_final_response_then_timer_k_absorbs_copies():
    probe = Probe("UDP")
    request = build_request("OPTIONS")
    tx = probe.send(request)
    ok = request.response(200, to_tag="b")
    probe.receive(ok, at=0.7)
    (event,) = probe.take()
    assert isinstance(event, ResponseReceived) and event.response.status == 200
    assert tx.state is NonInviteClientState.COMPLETED
    probe.receive(ok, at=1.0)
    probe.receive(request.response(100), at=1.1)
    assert probe.take() == []
    probe.advance(5.69)
    assert tx.state is NonInviteClientState.COMPLETED
    probe.advance(5.7)  # Timer K = T4 after the final
    assert kinds(probe.take()) == ["TransactionTerminated"]
    assert probe.times("OPTIONS") == [0.0, 0.5]  # Timer E stopped by the final
    assert probe.layer.get_timer() is None


def test_timer_k_follows_t4():
    probe = Probe("UDP", t4=2.5)
    request = build_request("OPTIONS")
    tx = probe.send(request)
    probe.receive(request.response(404, to_tag="b"), at=0.1)
    probe.advance(2.59)
    assert tx.state is NonInviteClientState.COMPLETED
    probe.advance(2.6)
    assert tx.state is NonInviteClientState.TERMINATED


@pytest.mark.parametrize("transport", ["TCP", "TLS", "WS"])
def test_timer_k_is_zero_on_reliable_transport(transport):
    probe = Probe(transport)
    request = build_request("OPTIONS", transport=transport)
    tx = probe.send(request)
    probe.receive(request.response(200, to_tag="b"), at=0.3)
    assert kinds(probe.take()) == ["ResponseReceived", "TransactionTerminated"]
    assert tx.state is NonInviteClientState.TERMINATED


def test_non_invite_2xx_and_failures_end_the_same_way():
    for status in (202, 302, 404, 503, 603):
        probe = Probe("UDP")
        request = build_request("MESSAGE")
        tx = probe.send(request)
        probe.receive(request.response(status, to_tag="b"))
        assert tx.state is NonInviteClientState.COMPLETED, status
        assert probe.sent("ACK") == []  # only INVITE finals are ACKed


def test_cancel_and_invite_with_the_same_branch_are_two_transactions():
    from pbxd.sip.transaction import make_cancel

    probe = Probe("UDP")
    invite = build_request("INVITE", extra=("Route: <sip:p.example.com;lr>",))
    invite_tx = probe.send(invite)
    probe.receive(invite.response(180, to_tag="b"))
    cancel = make_cancel(invite)
    # Section 9.1: same Request-URI, Call-ID, From, To, CSeq number, top Via, Route.
    assert cancel.uri == invite.uri and cancel.call_id == invite.call_id
    assert cancel.headers.get("To") == invite.headers.get("To")
    assert cancel.headers.get("From") == invite.headers.get("From")
    assert cancel.cseq.seq == invite.cseq.seq and cancel.cseq.method == "CANCEL"
    assert cancel.headers.get_list("Via") == invite.headers.get_list("Via")[:1]
    assert cancel.headers.get_list("Route") == invite.headers.get_list("Route")
    cancel_tx = probe.send(cancel, at=1.0)
    assert cancel_tx is not invite_tx
    probe.receive(cancel.response(200, to_tag="b"), at=1.1)
    probe.receive(invite.response(487, to_tag="b"), at=1.2)
    events = probe.take(ResponseReceived)
    assert [(e.transaction, e.response.status) for e in events] == [
        (invite_tx, 180),
        (cancel_tx, 200),
        (invite_tx, 487),
    ]
    assert [a.cseq.method for a in probe.sent("ACK")] == ["ACK"]


# --- section 9.1: giving up an INVITE after its CANCEL -------------------------------------------


def test_invite_without_final_is_given_up_64_t1_after_the_cancel():
    from pbxd.sip.transaction import make_cancel

    probe = Probe("UDP")
    invite = build_request("INVITE")
    invite_tx = probe.send(invite)
    probe.receive(invite.response(180, to_tag="b"), at=0.1)
    probe.advance(100.0)
    assert invite_tx.state is InviteClientState.PROCEEDING  # rings as long as it likes
    cancel = make_cancel(invite)
    cancel_tx = probe.send(cancel, at=100.0)
    probe.receive(cancel.response(200, to_tag="b"), at=100.1)
    probe.take()
    probe.advance(131.99)
    assert invite_tx.state is InviteClientState.PROCEEDING
    assert kinds(probe.take()) == ["TransactionTerminated"]  # the CANCEL's, by Timer K
    probe.advance(132.0)
    timeout, terminated = probe.take()
    assert isinstance(timeout, TransactionTimeout) and timeout.transaction is invite_tx
    assert timeout.cause == "no final response after CANCEL"
    assert terminated.transaction is invite_tx
    assert cancel_tx.state is NonInviteClientState.TERMINATED  # Timer K ended it long before
    assert probe.layer.transaction_count == 0 and probe.layer.get_timer() is None


def test_cancel_timer_is_moot_once_a_final_arrives():
    from pbxd.sip.transaction import make_cancel

    probe = Probe("UDP")
    invite = build_request("INVITE")
    invite_tx = probe.send(invite)
    probe.receive(invite.response(180, to_tag="b"), at=0.1)
    probe.send(make_cancel(invite), at=1.0)
    probe.receive(invite.response(487, to_tag="b"), at=1.2)
    probe.advance(100.0)
    # Only the CANCEL itself, never answered, times out (Timer F).
    assert [e.transaction.request.method for e in probe.take(TransactionTimeout)] == ["CANCEL"]
    assert [e.response.status for e in probe.take(ResponseReceived)] == [180, 487]
    assert invite_tx.state is InviteClientState.TERMINATED


def test_cancel_in_calling_leaves_timer_b_in_charge_and_late_cancel_is_harmless():
    from pbxd.sip.transaction import make_cancel

    probe = Probe("TCP")
    invite = build_request("INVITE", transport="TCP")
    invite_tx = probe.send(invite)
    probe.send(make_cancel(invite), at=1.0)  # before any provisional: RFC says wait, but
    probe.advance(32.0)
    causes = [e.cause for e in probe.take(TransactionTimeout) if e.transaction is invite_tx]
    assert causes == ["Timer B"]

    probe = Probe("UDP")
    invite = build_request("INVITE")
    invite_tx = probe.send(invite)
    probe.receive(invite.response(486, to_tag="b"))
    probe.send(make_cancel(invite), at=0.1)  # crossed the final on the wire
    assert invite_tx.state is InviteClientState.COMPLETED


def test_non_invite_proceeding_delivers_each_provisional_then_the_final():
    probe = Probe("UDP")
    request = build_request("SUBSCRIBE")
    tx = probe.send(request)
    probe.receive(request.response(100), at=0.1)
    probe.receive(request.response(183, to_tag="n"), at=0.2)
    probe.receive(request.response(202, to_tag="n"), at=0.3)
    assert [e.response.status for e in probe.take(ResponseReceived)] == [100, 183, 202]
    assert tx.state is NonInviteClientState.COMPLETED
