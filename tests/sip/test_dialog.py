"""Dialogs of RFC 3261 section 12: creation from both sides, route sets, CSeq rules."""

import pytest

from pbxd.sip.dialog import Dialog
from pbxd.sip.errors import ServerInternalError
from pbxd.sip.headers import NameAddr, Via
from pbxd.sip.message import Request, Response, parse_message

INVITE = (
    "INVITE sip:bob@pbx.example SIP/2.0\r\n"
    "Via: SIP/2.0/UDP proxy.example;branch=z9hG4bKp1\r\n"
    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa1\r\n"
    "Record-Route: <sip:proxy2.example;lr>\r\n"
    "Record-Route: <sip:proxy1.example;lr>\r\n"
    "From: Alice <sip:alice@example.com>;tag=alice-tag\r\n"
    "To: <sip:bob@pbx.example>\r\n"
    "Call-ID: call-1\r\n"
    "CSeq: 10 INVITE\r\n"
    "Contact: <sip:alice@10.0.0.1:5060>\r\n"
    "\r\n"
)


def invite() -> Request:
    message = parse_message(INVITE.encode())
    assert isinstance(message, Request)
    return message


def ok_for(request: Request, contact: str) -> Response:
    response = request.response(200, to_tag="bob-tag")
    response.headers.add("Contact", contact)
    return response


def via() -> Via:
    return Via("UDP", "192.0.2.1", 5060, {"branch": "z9hG4bKnew"})


def test_uas_dialog_routes_back_through_record_route_in_order():
    request = invite()
    local = NameAddr.parse("<sip:bob@192.0.2.1>")
    dialog = Dialog.as_uas(request, ok_for(request, "<sip:bob@192.0.2.1>"), local)
    assert (dialog.call_id, dialog.local_tag, dialog.remote_tag) == (
        "call-1",
        "bob-tag",
        "alice-tag",
    )
    bye = dialog.create_request("BYE", via())
    assert str(bye.uri) == "sip:alice@10.0.0.1:5060"
    assert bye.headers.get_list("Route") == ["<sip:proxy2.example;lr>", "<sip:proxy1.example;lr>"]
    assert bye.from_.tag == "bob-tag" and bye.to.tag == "alice-tag"
    assert bye.cseq.seq == 1 and bye.cseq.method == "BYE"


def test_uac_dialog_reverses_record_route_and_counts_cseq_up():
    request = invite()
    response = ok_for(request, "<sip:bob@198.51.100.9:5070>")
    dialog = Dialog.as_uac(request, response)
    assert dialog.route_set[0].serialize() == "<sip:proxy1.example;lr>"
    ack = dialog.create_request("ACK", via(), cseq=dialog.local_seq)
    assert ack.cseq.seq == 10 and str(ack.uri) == "sip:bob@198.51.100.9:5070"
    bye = dialog.create_request("BYE", via())
    assert bye.cseq.seq == 11


def test_strict_route_puts_first_route_in_request_uri():
    request = invite()
    request.headers.remove("Record-Route")
    request.headers.add("Record-Route", "<sip:strict.example>")
    dialog = Dialog.as_uas(request, ok_for(request, "<sip:bob@h>"), NameAddr.parse("<sip:bob@h>"))
    bye = dialog.create_request("BYE", via())
    assert str(bye.uri) == "sip:strict.example"
    assert bye.headers.get_list("Route") == ["<sip:alice@10.0.0.1:5060>"]


def test_remote_cseq_must_increase():
    request = invite()
    dialog = Dialog.as_uas(request, ok_for(request, "<sip:bob@h>"), NameAddr.parse("<sip:bob@h>"))
    lower = invite()
    lower.method = "BYE"
    lower.headers.set("CSeq", "9 BYE")
    with pytest.raises(ServerInternalError):
        dialog.check_request(lower)
    higher = invite()
    higher.headers.set("CSeq", "11 BYE")
    dialog.check_request(higher)
    assert dialog.remote_seq == 11


def test_target_refresh_updates_remote_target():
    request = invite()
    dialog = Dialog.as_uas(request, ok_for(request, "<sip:bob@h>"), NameAddr.parse("<sip:bob@h>"))
    reinvite = invite()
    reinvite.headers.set("Contact", "<sip:alice@10.0.0.99:5062>")
    dialog.update_target(reinvite)
    assert str(dialog.remote_target) == "sip:alice@10.0.0.99:5062"
