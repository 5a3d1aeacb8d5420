"""Matching messages to transactions (RFC 3261 sections 17.1.3, 17.2.3, 9.2, 8.2.2.2), RFC 2543
fallback matching, CANCEL lookup and merged requests."""

from __future__ import annotations

import pytest

from pbxd.sip.peer import Peer
from pbxd.sip.transaction import (
    AckReceived,
    InviteServerState,
    RequestReceived,
    ResponseReceived,
    StrayResponse,
    make_cancel,
    new_branch,
)

from .test_transaction_harness import CLIENT, SERVER, Link, Probe, build_request


def kinds(events):
    return [type(e).__name__ for e in events]


# --- responses (17.1.3) ---------------------------------------------------------------------------


def test_new_branch_carries_the_magic_cookie_and_is_random():
    branches = {new_branch() for _ in range(100)}
    assert len(branches) == 100
    assert all(b.startswith("z9hG4bK") and len(b) > 20 for b in branches)


def test_response_matches_by_branch_and_cseq_method():
    probe = Probe("UDP")
    invite = build_request("INVITE")
    tx = probe.send(invite)
    other = build_request("INVITE", call_id="other@x")  # another branch
    probe.receive(other.response(180, to_tag="x"))
    bye_like = invite.response(200, to_tag="x")
    bye_like.headers.set("CSeq", "1 BYE")  # our branch, another method
    probe.receive(bye_like)
    no_branch = invite.response(200, to_tag="x")
    no_branch.headers.set("Via", "SIP/2.0/UDP 192.0.2.1:5060")
    probe.receive(no_branch)
    events = probe.take()
    assert kinds(events) == ["StrayResponse"] * 3
    assert all(e.peer == probe.peer for e in events)
    probe.receive(invite.response(180, to_tag="x"))
    (event,) = probe.take()
    assert isinstance(event, ResponseReceived) and event.transaction is tx


def test_branch_is_compared_without_case():
    probe = Probe("UDP")
    invite = build_request("INVITE", branch="z9hG4bKAbCdEf123")
    tx = probe.send(invite)
    response = invite.response(180, to_tag="x")
    response.headers.set("Via", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hg4bkabcdef123")
    probe.receive(response)
    (event,) = probe.take()
    assert event.transaction is tx


# --- requests (17.2.3) ----------------------------------------------------------------------------


def test_request_matches_by_branch_sent_by_and_method():
    probe = Probe("UDP")
    branch = new_branch()
    invite = build_request("INVITE", branch=branch)
    probe.receive(invite)
    (first,) = probe.take(RequestReceived)
    # Same branch from another sent-by: another client picked the same branch.
    probe.receive(build_request("INVITE", branch=branch, sent_by="192.0.2.77:5060", call_id="b"))
    # Same branch and sent-by, other method: a CANCEL is a transaction of its own.
    probe.receive(make_cancel(invite))
    second, cancel = probe.take(RequestReceived)
    assert len({first.transaction, second.transaction, cancel.transaction}) == 3
    assert cancel.request.method == "CANCEL"
    probe.receive(invite, at=0.5)  # the original's copy still finds the original
    assert probe.take() == []
    assert probe.layer.transaction_count == 3


def test_sent_by_default_port_matches_explicit_5060():
    probe = Probe("UDP")
    branch = new_branch()
    probe.receive(build_request("OPTIONS", branch=branch, sent_by="192.0.2.1"))
    probe.receive(build_request("OPTIONS", branch=branch, sent_by="192.0.2.1:5060"), at=0.5)
    assert kinds(probe.take()) == ["RequestReceived"]


def test_ack_with_the_invite_branch_matches_the_invite():
    probe = Probe("UDP")
    branch = new_branch()
    invite = build_request("INVITE", branch=branch)
    probe.receive(invite)
    (event,) = probe.take()
    probe.respond(event.transaction, 404, to_tag="t")
    probe.receive(build_request("ACK", branch=branch, to_tag="t"), at=0.1)
    assert event.transaction.state is InviteServerState.CONFIRMED
    assert probe.take() == []


def test_ack_before_any_final_is_ignored():
    probe = Probe("UDP")
    branch = new_branch()
    probe.receive(build_request("INVITE", branch=branch))
    (event,) = probe.take()
    probe.receive(build_request("ACK", branch=branch, to_tag="t"), at=0.1)
    assert probe.take() == [] and event.transaction.state is InviteServerState.PROCEEDING


# --- CANCEL (9.2) ---------------------------------------------------------------------------------


def test_find_invite_server_for_cancel():
    probe = Probe("UDP")
    invite = build_request("INVITE")
    probe.receive(invite)
    options = build_request("OPTIONS", call_id="opt@x")
    probe.receive(options)
    invite_event, options_event = probe.take(RequestReceived)
    cancel = make_cancel(invite)
    probe.receive(cancel)
    (cancel_event,) = probe.take(RequestReceived)
    assert probe.layer.find_invite_server(cancel_event.request) is invite_event.transaction
    # A CANCEL with another branch, or from another sent-by, cancels nothing.
    assert probe.layer.find_invite_server(build_request("CANCEL")) is None
    other = make_cancel(invite)
    other.headers.set("Via", invite.top_via.with_params().serialize().replace("5060", "5070"))
    assert probe.layer.find_invite_server(other) is None
    # Only INVITEs are cancelled through this lookup.
    assert probe.layer.find_invite_server(make_cancel(options)) is None


def test_cancel_of_a_finished_invite_still_finds_it_until_it_is_gone():
    probe = Probe("UDP")
    invite = build_request("INVITE")
    probe.receive(invite)
    (event,) = probe.take()
    probe.respond(event.transaction, 486)
    assert probe.layer.find_invite_server(make_cancel(invite)) is event.transaction
    probe.advance(40.0)
    assert probe.layer.find_invite_server(make_cancel(invite)) is None


def test_cancel_end_to_end():
    link = Link("UDP")
    invite = build_request("INVITE")
    invite_tx = link.send(invite)
    (request_event,) = link.take(SERVER, RequestReceived)
    server_invite = request_event.transaction
    link.respond(server_invite, 180)
    cancel_tx = link.client.send_request(make_cancel(invite), link.server_peer, link.now)
    link.flush()
    (cancel_event,) = link.take(SERVER, RequestReceived)
    # The server TU: 200 to the CANCEL, 487 to the INVITE (section 9.2).
    assert link.server.find_invite_server(cancel_event.request) is server_invite
    link.respond(cancel_event.transaction, 200)
    link.respond(server_invite, 487)
    responses = [(e.transaction, e.response.status) for e in link.take(CLIENT, ResponseReceived)]
    assert responses == [(invite_tx, 100), (invite_tx, 180), (cancel_tx, 200), (invite_tx, 487)]
    assert server_invite.state is InviteServerState.CONFIRMED  # the client ACKed the 487
    link.run_until_idle()
    assert link.client.transaction_count == 0 and link.server.transaction_count == 0


# --- RFC 2543 peers (no magic cookie) -------------------------------------------------------------


def legacy(method="INVITE", **fields):
    return build_request(method, branch="", **fields)


def test_rfc2543_retransmission_matched_without_branch():
    probe = Probe("UDP")
    invite = legacy()
    probe.receive(invite)
    (event,) = probe.take()
    probe.receive(legacy(), at=0.5)  # a copy: same Request-URI, tags, Call-ID, CSeq, Via
    assert probe.take() == []
    assert probe.times(100) == [0.0, 0.5]
    assert probe.layer.transaction_count == 1
    assert event.transaction.key[0] == "2543"


def test_rfc2543_new_transaction_when_an_identifier_differs():
    probe = Probe("UDP")
    probe.receive(legacy())
    # Another Request-URI with the same From tag, Call-ID and CSeq: the request forked
    # upstream and reached us twice (section 8.2.2.2).
    probe.receive(legacy(uri="sip:carol@192.0.2.2"), at=0.1)
    assert probe.times(482) == [0.1]
    probe.receive(legacy(cseq=2), at=0.2)
    probe.receive(legacy(from_tag="alice-2"), at=0.3)
    probe.receive(legacy(call_id="call-2@192.0.2.1"), at=0.4)
    probe.receive(legacy(to_tag="in-dialog"), at=0.5)
    probe.receive(legacy("OPTIONS"), at=0.6)
    assert kinds(probe.take()) == ["RequestReceived"] * 6


def test_rfc2543_branch_without_cookie_is_compared_as_part_of_the_via():
    probe = Probe("UDP")
    probe.receive(build_request("OPTIONS", branch="1234", call_id="c"))
    probe.receive(build_request("OPTIONS", branch="1234", call_id="c"), at=0.1)
    probe.receive(build_request("OPTIONS", branch="5678", call_id="d"), at=0.2)
    assert kinds(probe.take()) == ["RequestReceived", "RequestReceived"]


def test_rfc2543_ack_matches_by_the_to_tag_of_the_response():
    probe = Probe("UDP")
    invite = legacy()
    probe.receive(invite)
    (event,) = probe.take()
    tx = event.transaction
    probe.respond(tx, 486, to_tag="bob-5")
    probe.receive(legacy("ACK", to_tag="someone-else"), at=0.1)
    (stranger,) = probe.take()
    assert isinstance(stranger, AckReceived) and stranger.transaction is None
    assert tx.state is InviteServerState.COMPLETED
    probe.receive(legacy("ACK", to_tag="bob-5"), at=0.2)
    assert probe.take() == [] and tx.state is InviteServerState.CONFIRMED


def test_rfc2543_ack_for_2xx_found_by_dialog():
    probe = Probe("UDP")
    probe.receive(legacy())
    (event,) = probe.take()
    probe.respond(event.transaction, 200, to_tag="bob-5")
    # The 2xx ACK goes to the Contact: another Request-URI.
    probe.receive(legacy("ACK", to_tag="bob-5", uri="sip:bob@192.0.2.2:5062"), at=0.1)
    (ack,) = probe.take()
    assert isinstance(ack, AckReceived) and ack.transaction is event.transaction


def test_rfc2543_transactions_end_and_are_forgotten():
    probe = Probe("UDP")
    probe.receive(legacy())
    probe.receive(legacy("OPTIONS", uri="tel:+861012345678"))
    invite_event, options_event = probe.take(RequestReceived)
    busy = probe.respond(invite_event.transaction, 486, to_tag="b")
    probe.respond(options_event.transaction, 200, to_tag="o")
    probe.receive(legacy("ACK", to_tag=busy.to.tag), at=0.1)
    probe.receive(legacy("OPTIONS", uri="tel:+861012345678"), at=0.2)  # a copy
    assert probe.times(200) == [0.0, 0.2]
    probe.advance(40.0)
    assert kinds(probe.take()) == ["TransactionTerminated"] * 2
    assert probe.layer.transaction_count == 0 and probe.layer.get_timer() is None
    probe.receive(legacy(), at=41.0)  # long after: a new transaction
    assert kinds(probe.take()) == ["RequestReceived"]


def test_rfc2543_cancel_finds_its_invite():
    probe = Probe("UDP")
    invite = legacy()
    probe.receive(invite)
    (event,) = probe.take()
    cancel = make_cancel(invite)
    assert probe.layer.find_invite_server(cancel) is event.transaction
    assert probe.layer.find_invite_server(make_cancel(legacy(cseq=9))) is None


# --- merged requests (8.2.2.2) --------------------------------------------------------------------


def test_merged_request_is_answered_482_without_event():
    probe = Probe("UDP")
    original = build_request("INVITE")
    probe.receive(original)
    (event,) = probe.take()
    # The same request forked by a proxy reaches us again on another branch.
    merged = build_request("INVITE", sent_by="192.0.2.50:5060")
    probe.receive(merged, at=0.1)
    assert probe.take() == []
    (loop,) = probe.sent(482)
    assert loop.reason == "Loop Detected"
    assert loop.to.tag  # a final response carries a To tag
    assert loop.headers.get_list("Via") == merged.headers.get_list("Via")
    assert event.transaction.state is InviteServerState.PROCEEDING  # the original goes on
    # Retransmissions of the merged request are answered by its own transaction.
    probe.receive(merged, at=0.3)
    assert probe.times(482) == [0.1, 0.3]
    # Its ACK is absorbed there too; the TU never hears of it.
    ack = build_request(
        "ACK", branch=merged.top_via.branch, sent_by="192.0.2.50:5060", to_tag=loop.to.tag
    )
    probe.receive(ack, at=0.4)
    assert probe.take() == []
    # And a CANCEL for it finds nothing.
    assert probe.layer.find_invite_server(make_cancel(merged)) is None
    probe.advance(40.0)
    assert probe.take() == []  # nor of its end


def test_merged_non_invite_and_its_timeout_stay_silent():
    probe = Probe("UDP")
    probe.receive(build_request("MESSAGE"))
    (event,) = probe.take()
    probe.receive(build_request("MESSAGE", sent_by="192.0.2.50:5060"), at=0.1)
    assert probe.times(482) == [0.1]
    probe.advance(40.0)
    assert probe.take() == []
    assert event.transaction.state.name == "TRYING"  # the TU has not answered the original


def test_merged_invite_without_ack_stays_silent():
    probe = Probe("UDP")
    probe.receive(build_request("INVITE"))
    probe.take()
    probe.receive(build_request("INVITE", sent_by="192.0.2.50:5060"), at=0.1)
    probe.advance(40.0)  # Timer H of the 482 transaction fires without a TU event
    assert probe.take() == []
    assert probe.times(482)[:3] == [0.1, 0.6, 1.6]  # Timer G retransmits it meanwhile


def test_requests_with_to_tag_or_other_ids_are_not_merged():
    probe = Probe("UDP")
    probe.receive(build_request("INVITE"))
    probe.receive(build_request("INVITE", to_tag="dialog-1", sent_by="192.0.2.50:5060"))
    probe.receive(build_request("INVITE", cseq=2, sent_by="192.0.2.50:5060"))
    probe.receive(build_request("INVITE", from_tag="other", sent_by="192.0.2.50:5060"))
    probe.receive(build_request("INVITE", call_id="other@x", sent_by="192.0.2.50:5060"))
    assert kinds(probe.take()) == ["RequestReceived"] * 5
    assert probe.sent(482) == []


def test_no_merge_once_the_original_is_gone():
    probe = Probe("TCP")
    probe.receive(build_request("OPTIONS", transport="TCP"))
    (event,) = probe.take()
    probe.respond(event.transaction, 200)  # Timer J = 0 on TCP
    probe.take()
    probe.receive(build_request("OPTIONS", transport="TCP", sent_by="192.0.2.50:5060"))
    assert kinds(probe.take()) == ["RequestReceived"]


def test_legacy_merged_request():
    probe = Probe("UDP")
    probe.receive(legacy())
    probe.take()
    probe.receive(legacy(sent_by="192.0.2.50:5060"), at=0.1)
    assert probe.take() == [] and probe.times(482) == [0.1]


# --- transport errors (17.1.4, 17.2.4) ------------------------------------------------------------


def test_transport_error_ends_a_client_transaction_with_a_timeout():
    probe = Probe("TCP")
    tx = probe.send(build_request("INVITE", transport="TCP"))
    probe.layer.transport_error(tx, 0.1)
    probe.flush()
    timeout, terminated = probe.take()
    assert timeout.cause == "transport error" and timeout.transaction is tx
    assert terminated.transaction is tx
    probe.layer.transport_error(tx, 0.2)  # too late to matter: ignored
    assert probe.take() == [] and probe.layer.get_timer() is None


def test_transport_error_after_a_final_is_quiet():
    probe = Probe("UDP")
    request = build_request("INVITE")
    tx = probe.send(request)
    probe.receive(request.response(486, to_tag="x"))
    probe.take()
    probe.layer.transport_error(tx, 1.0)
    assert probe.layer.next_event() is None  # the TU already has its answer


def test_transport_error_on_server_transactions():
    probe = Probe("TCP")
    probe.receive(build_request("INVITE", transport="TCP"))
    (event,) = probe.take()
    probe.layer.transport_error(event.transaction, 0.1)
    assert [(type(e).__name__, getattr(e, "cause", "")) for e in probe.take()] == [
        ("TransactionTimeout", "transport error"),
        ("TransactionTerminated", ""),
    ]
    # In Accepted the transaction stays to absorb INVITE copies; Timer L ends it quietly.
    probe.receive(build_request("INVITE", transport="TCP", call_id="2@x"))
    (event,) = probe.take()
    probe.respond(event.transaction, 200)
    probe.layer.transport_error(event.transaction, 0.2)
    assert kinds(probe.take()) == ["TransactionTimeout"]
    assert event.transaction.state is InviteServerState.ACCEPTED
    probe.advance(1.0)
    assert probe.times(200) == [0.0]  # no more 2xx retransmissions
    probe.advance(40.0)
    assert kinds(probe.take()) == ["TransactionTerminated"]


def test_send_stateless_bypasses_transactions():
    probe = Probe("UDP")
    ack = build_request("ACK", to_tag="x")
    target = Peer("UDP", "198.51.100.1", 5060)
    probe.layer.send_stateless(ack, target)
    (outgoing,) = probe.layer.datagrams_to_send()
    assert outgoing.message is ack and outgoing.peer == target
    assert probe.layer.transaction_count == 0 and probe.layer.get_timer() is None


def test_stray_response_event_fields():
    probe = Probe("UDP")
    response = build_request("INVITE").response(200, to_tag="x")
    probe.receive(response)
    (event,) = probe.take()
    assert isinstance(event, StrayResponse)
    assert event.response.status == 200 and event.peer == probe.peer


def _client_in(state_name, transport="TCP"):
    probe = Probe(transport)
    method = "INVITE" if state_name.startswith("INVITE") else "OPTIONS"
    request = build_request(method, transport=transport)
    tx = probe.send(request)
    if state_name.endswith("Proceeding"):
        probe.receive(request.response(100))
    return probe, tx


def _server_in(state_name, transport="UDP"):
    probe = Probe(transport)
    method = "INVITE" if state_name.startswith("INVITE") else "OPTIONS"
    probe.receive(build_request(method, transport=transport))
    (event,) = probe.take(RequestReceived)
    tx = event.transaction
    if state_name.endswith("Proceeding") and method == "OPTIONS":
        probe.respond(tx, 100, to_tag=None)
    elif state_name.endswith("Completed"):
        probe.respond(tx, 480)
    return probe, tx


@pytest.mark.parametrize(
    ("side", "state_name"),
    [
        ("client", "INVITE Calling"),
        ("client", "INVITE Proceeding"),
        ("client", "non-INVITE Trying"),
        ("client", "non-INVITE Proceeding"),
        ("server", "INVITE Proceeding"),
        ("server", "INVITE Completed"),
        ("server", "non-INVITE Proceeding"),
        ("server", "non-INVITE Completed"),
    ],
)
def test_transport_error_in_each_pending_state(side, state_name):
    probe, tx = (_client_in if side == "client" else _server_in)(state_name)
    assert tx.state.value == state_name.split()[-1]
    probe.take()
    probe.layer.transport_error(tx, 1.0)
    probe.flush()
    events = probe.take()
    assert [(type(e).__name__, e.transaction) for e in events] == [
        ("TransactionTimeout", tx),
        ("TransactionTerminated", tx),
    ]
    assert events[0].cause == "transport error"
    assert probe.layer.transaction_count == 0 and probe.layer.get_timer() is None
