"""A client layer and a server layer against each other over a lossy in-memory network: lost,
duplicated and reordered messages are repaired by the transactions, and each TU still sees
every event exactly once."""

from __future__ import annotations

import random

import pytest

from pbxd.sip.transaction import (
    AckReceived,
    InviteClientState,
    InviteServerState,
    RequestReceived,
    ResponseReceived,
    TransactionTimeout,
    make_cancel,
)

from .test_transaction_harness import CLIENT, SERVER, Link, build_request


def statuses(link):
    """What the client TU acts on: first copies (2xx copies it has not ACKed are flagged)."""
    events = link.events(CLIENT, ResponseReceived)
    return [e.response.status for e in events if not e.retransmission]


def kinds(events):
    return [type(e).__name__ for e in events]


def ack_2xx(invite, ok):
    return build_request(
        "ACK",
        call_id=invite.call_id,
        cseq=invite.cseq.seq,
        from_tag=invite.from_.tag,
        to_tag=ok.to.tag,
        uri="sip:bob@192.0.2.2:5060",
        transport=invite.top_via.transport,
    )


def start_call(link, invite=None):
    invite = invite or build_request("INVITE", transport=link.transport)
    client_tx = link.send(invite)
    (event,) = link.fresh(SERVER, RequestReceived)
    return invite, client_tx, event.transaction


def client_acks(link, invite):
    """The client TU: ACK every new 2xx (section 13.2.2.4)."""
    for event in link.fresh(CLIENT, ResponseReceived):
        if 200 <= event.response.status < 300 and not event.retransmission:
            ack = ack_2xx(invite, event.response)
            link.client.send_ack_for_2xx(event.transaction, ack, link.server_peer, link.now)
    link.flush()


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
def test_basic_call_setup(transport):
    link = Link(transport)
    invite, client_tx, server_tx = start_call(link)
    link.respond(server_tx, 180)
    ok = link.respond(server_tx, 200)
    assert statuses(link) == [100, 180, 200]
    assert client_tx.state is InviteClientState.ACCEPTED
    assert server_tx.state is InviteServerState.ACCEPTED
    link.client.send_ack_for_2xx(client_tx, ack_2xx(invite, ok), link.server_peer, link.now)
    link.flush()
    (ack,) = link.events(SERVER, AckReceived)
    assert ack.transaction is server_tx and server_tx.acked
    link.run_until_idle()
    assert link.now == 32.0  # Timers L and M, both 64*T1 from the 2xx
    assert link.client.transaction_count == link.server.transaction_count == 0
    assert kinds(link.events(SERVER)) == ["RequestReceived", "AckReceived", "TransactionTerminated"]
    assert link.times(CLIENT, "INVITE") == [0.0]
    assert len(link.sent(SERVER, 200)) == 1


def test_lost_invite_is_retransmitted():
    link = Link()
    link.drop(CLIENT, "INVITE", count=2)
    link.send(build_request("INVITE"))
    assert link.events(SERVER) == []
    link.advance(1.5)
    assert len(link.events(SERVER, RequestReceived)) == 1
    assert [s.fate for s in link.sent(CLIENT, "INVITE")] == ["dropped", "dropped", "delivered"]
    link.advance(10.0)
    assert link.times(CLIENT, "INVITE") == [0.0, 0.5, 1.5]  # the 100 stopped Timer A


def test_lost_100_brings_another_100_for_the_retransmitted_invite():
    link = Link()
    link.drop(SERVER, 100, count=1)
    invite, client_tx, server_tx = start_call(link)
    link.advance(1.0)
    assert link.times(CLIENT, "INVITE") == [0.0, 0.5]
    assert link.times(SERVER, 100) == [0.0, 0.5]
    assert statuses(link) == [100]
    assert client_tx.state is InviteClientState.PROCEEDING
    assert len(link.events(SERVER, RequestReceived)) == 1


def test_lost_final_is_retransmitted_by_timer_g_and_acked():
    link = Link()
    invite, client_tx, server_tx = start_call(link)
    link.drop(SERVER, 486, count=2)
    link.respond(server_tx, 486)
    assert client_tx.state is InviteClientState.PROCEEDING
    link.advance(2.0)
    assert [s.fate for s in link.sent(SERVER, 486)] == ["dropped", "dropped", "delivered"]
    assert statuses(link) == [100, 486]
    assert server_tx.state is InviteServerState.CONFIRMED
    link.advance(10.0)
    assert link.times(SERVER, 486) == [0.0, 0.5, 1.5]


def test_lost_ack_of_a_failure_is_repeated_by_the_client_transaction():
    link = Link()
    invite, client_tx, server_tx = start_call(link)
    link.drop(CLIENT, "ACK", count=1)
    link.respond(server_tx, 486)
    assert server_tx.state is InviteServerState.COMPLETED
    link.advance(0.5)  # Timer G: the 486 again; the client answers with the same ACK
    assert server_tx.state is InviteServerState.CONFIRMED
    assert link.times(CLIENT, "ACK") == [0.0, 0.5]
    assert statuses(link) == [100, 486]  # the TU saw the 486 once
    link.run_until_idle()
    assert link.now == 32.0  # Timer D outlasts Timer I
    assert kinds(link.events(SERVER)) == ["RequestReceived", "TransactionTerminated"]


def test_lost_2xx_is_retransmitted_until_acked():
    link = Link()
    invite, client_tx, server_tx = start_call(link)
    link.drop(SERVER, 200, count=3)
    link.respond(server_tx, 200)
    link.advance(3.5)
    assert statuses(link) == [100, 200]
    client_acks(link, invite)
    (ack,) = link.events(SERVER, AckReceived)
    assert ack.transaction is server_tx
    link.advance(20.0)
    assert link.times(SERVER, 200) == [0.0, 0.5, 1.5, 3.5]


def test_lost_ack_of_a_2xx_is_repeated_by_the_layer():
    link = Link()
    invite, client_tx, server_tx = start_call(link)
    link.respond(server_tx, 200)
    link.drop(CLIENT, "ACK", count=2)
    client_acks(link, invite)
    assert link.events(SERVER, AckReceived) == []
    link.advance(1.5)  # 2xx copies at 0.5 and 1.5; the layer answers each with the TU's ACK
    assert len(link.events(SERVER, AckReceived)) == 1
    assert [s.fate for s in link.sent(CLIENT, "ACK")] == ["dropped", "dropped", "delivered"]
    assert statuses(link) == [100, 200]
    assert [e.retransmission for e in link.events(CLIENT, ResponseReceived)] == [False, False]
    link.run_until_idle()
    assert kinds(link.events(CLIENT))[-1] == "TransactionTerminated"


def test_everything_duplicated_each_tu_event_once():
    link = Link()
    link.duplicate(CLIENT)
    link.duplicate(SERVER)
    invite, client_tx, server_tx = start_call(link)
    link.respond(server_tx, 180)
    link.respond(server_tx, 200)
    client_acks(link, invite)
    link.run_until_idle()
    assert statuses(link) == [100, 180, 200]
    assert kinds(link.events(SERVER)) == ["RequestReceived", "AckReceived", "TransactionTerminated"]
    # The 2xx copy that came before the TU's ACK is flagged; later ones are answered silently.
    copies = [e for e in link.events(CLIENT, ResponseReceived) if e.retransmission]
    assert [e.response.status for e in copies] == [200]
    assert len(link.sent(SERVER, 200)) == 1 and len(link.sent(CLIENT, "ACK")) == 1


def test_reordered_provisional_after_the_2xx_is_ignored():
    link = Link()
    invite, client_tx, server_tx = start_call(link)
    link.hold(SERVER, 180)
    link.respond(server_tx, 180)
    link.respond(server_tx, 200)
    link.release()
    assert statuses(link) == [100, 200]
    assert client_tx.state is InviteClientState.ACCEPTED


def test_reordered_request_copy_after_the_final_gets_the_final_again():
    link = Link()
    request = build_request("REGISTER")
    link.drop(SERVER, 200, count=1)
    client_tx = link.send(request)
    (event,) = link.fresh(SERVER, RequestReceived)
    link.hold(CLIENT, "REGISTER", count=1)
    link.respond(event.transaction, 200)  # lost
    link.advance(0.5)  # the copy is held back ...
    link.advance(1.5)  # ... and the next one brings the 200 again
    assert statuses(link) == [200]
    link.release()  # the late copy: answered from Completed, absorbed by the client
    assert statuses(link) == [200]
    assert link.times(SERVER, 200) == [0.0, 1.5, 1.5]
    assert client_tx.terminated is False
    link.run_until_idle()
    assert client_tx.terminated


def test_non_invite_lost_final_is_recovered_by_the_request_copy():
    link = Link()
    link.send(build_request("OPTIONS"))
    (event,) = link.fresh(SERVER, RequestReceived)
    link.drop(SERVER, 200, count=1)
    link.respond(event.transaction, 200)
    assert statuses(link) == []
    link.advance(0.5)
    assert statuses(link) == [200]
    assert link.times(SERVER, 200) == [0.0, 0.5]
    assert len(link.events(SERVER, RequestReceived)) == 1


def test_unanswered_invite_times_out_on_both_sides():
    link = Link()
    link.drop(CLIENT, "ACK")
    invite, client_tx, server_tx = start_call(link)
    link.respond(server_tx, 200)
    client_acks(link, invite)
    link.advance(40.0)
    # The server never got the ACK: Timer L tells its TU to send BYE.
    (timeout,) = link.events(SERVER, TransactionTimeout)
    assert timeout.transaction is server_tx and timeout.cause == "Timer L"
    # The client re-sent its ACK for each of the 2xx copies.
    assert len(link.sent(CLIENT, "ACK")) == len(link.sent(SERVER, 200))


# --- random loss, duplication and delay -----------------------------------------------------------


def chaos(link, rng, drop=0.3, duplicate=0.15, hold=0.1):
    for side in (CLIENT, SERVER):
        link.drop(side, lambda m: rng.random() < drop)
        link.hold(side, lambda m: rng.random() < hold)
        link.duplicate(side, lambda m: rng.random() < duplicate)


def run_scenario(seed, method, final):
    rng = random.Random(seed)
    link = Link("UDP")
    # Every third run is nearly cut off, so that Timers B, F, H and L also meet the chaos.
    chaos(link, rng, drop=0.3 if seed % 3 else 0.85)
    request = build_request(method, call_id=f"seed-{seed}@x")
    client_tx = link.client.send_request(request, link.server_peer, 0.0)
    link.flush()
    answered = False
    while True:
        for event in link.fresh(SERVER, RequestReceived):
            if event.request.method == "CANCEL":
                found = link.server.find_invite_server(event.request)
                link.respond(event.transaction, 200 if found else 481)
                continue
            assert not answered, "the server TU got the request twice"
            answered = True
            if method == "INVITE":
                link.respond(event.transaction, 180)
            link.respond(event.transaction, final)
        if method == "INVITE":
            client_acks(link, request)
        if link.held:
            # Held messages arrive after those sent later, but within the same instant: the
            # RFC timers assume a network that delays by seconds at most.
            link.release()
            continue
        deadlines = [t for t in (link.client.get_timer(), link.server.get_timer()) if t is not None]
        if not deadlines:
            if client_tx.terminated:
                break
            # Ringing with the final lost for good: the client TU gives up with a CANCEL.
            link.client.send_request(make_cancel(request), link.server_peer, link.now)
            link.flush()
            continue
        assert min(deadlines) < 200.0
        link.advance(min(deadlines))
    return link, client_tx, answered


@pytest.mark.parametrize(("method", "final"), [("INVITE", 200), ("INVITE", 486), ("OPTIONS", 200)])
def test_random_faults_keep_the_invariants(method, final):
    outcomes = {"final": 0, "timeout": 0}
    for seed in range(150):
        link, client_tx, answered = run_scenario(seed, method, final)
        client_events = link.events(CLIENT)
        finals = [
            e
            for e in client_events
            if isinstance(e, ResponseReceived) and e.response.status >= 200 and not e.retransmission
        ]
        timeouts = [
            e
            for e in client_events
            if isinstance(e, TransactionTimeout) and e.transaction is client_tx
        ]
        # The client TU learns the outcome exactly once: one final, or one timeout.
        assert len(finals) + len(timeouts) == 1, (seed, kinds(client_events))
        if finals:
            outcomes["final"] += 1
            assert finals[0].response.status == final
        else:
            outcomes["timeout"] += 1
        server_events = link.events(SERVER)
        requests = [e for e in server_events if isinstance(e, RequestReceived)]
        assert len([e for e in requests if e.request.method == method]) <= 1
        if method == "INVITE" and final == 200 and answered:
            acks = [e for e in server_events if isinstance(e, AckReceived) and e.transaction]
            server_timeouts = [e for e in server_events if isinstance(e, TransactionTimeout)]
            assert len(acks) + len(server_timeouts) == 1, (seed, kinds(server_events))
        # Nothing is left behind.
        assert link.client.transaction_count == 0 and link.server.transaction_count == 0
        assert link.client.get_timer() is None and link.server.get_timer() is None
        assert client_tx.terminated
    assert outcomes["final"] >= 100  # the transactions repair 30 % loss
    assert outcomes["timeout"] > 0
