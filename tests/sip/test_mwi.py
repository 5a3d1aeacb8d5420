"""Message waiting indication (RFC 3842): bodies and NOTIFY requests."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbxd.sip.dialog import Dialog
from pbxd.sip.errors import ParseError
from pbxd.sip.headers import NameAddr, Via
from pbxd.sip.message import parse_message
from pbxd.sip.mwi import (
    CONTENT_TYPE,
    MessageCounts,
    MessageSummary,
    SummaryParseError,
    notify_in_dialog,
    subscription_state,
    summary_of,
    unsolicited_notify,
)
from pbxd.sip.uri import SipUri

# The bodies of RFC 3842 section 3.5 and the example of section 4.
RFC_BODY = (
    b"Messages-Waiting: yes\r\n"
    b"Message-Account: sip:alice@vmail.example.com\r\n"
    b"Voice-Message: 2/8 (0/2)\r\n"
)
RFC_BODY_WITH_HEADERS = (
    b"Messages-Waiting: yes\r\n"
    b"Message-Account: sip:alice@vmail.example.com\r\n"
    b"Voice-Message: 4/8 (1/2)\r\n"
    b"\r\n"
    b"To: <alice@atlanta.example.com>\r\n"
    b"From: <bob@biloxi.example.com>\r\n"
    b"Subject: carpool tomorrow?\r\n"
    b"Date: Sun, 09 May 2004 13:30:00 -0800\r\n"
    b"Priority: normal\r\n"
    b"Message-ID: 13784434989@vmail.example.com\r\n"
)


def test_rfc_example_parses_and_round_trips():
    summary = MessageSummary.parse(RFC_BODY)
    assert summary.waiting is True
    assert summary.account == "sip:alice@vmail.example.com"
    assert summary.voice == MessageCounts(new=2, old=8, new_urgent=0, old_urgent=2)
    assert summary.serialize() == RFC_BODY


def test_rfc_example_with_message_headers_keeps_them():
    summary = MessageSummary.parse(RFC_BODY_WITH_HEADERS)
    assert summary.voice == MessageCounts(4, 8, 1, 2)
    assert "Subject: carpool tomorrow?" in summary.message_headers
    assert summary.serialize() == RFC_BODY_WITH_HEADERS


def test_pbx_summary_for_a_mailbox():
    account = SipUri("sip", "192.0.2.10", "1001")
    lit = MessageSummary.for_voicemail(2, 8, account)
    assert lit.serialize() == (
        b"Messages-Waiting: yes\r\nMessage-Account: sip:1001@192.0.2.10\r\nVoice-Message: 2/8\r\n"
    )
    dark = MessageSummary.for_voicemail(0, 3)
    assert dark.serialize() == b"Messages-Waiting: no\r\nVoice-Message: 0/3\r\n"
    assert MessageSummary.parse(dark.serialize()) == dark


def test_parser_is_liberal_in_case_spacing_line_ends_and_folding():
    body = (
        b"messages-waiting :  YES\n"
        b"message-account: sip:1001@pbx\n"
        b"voice-message:3 / 5\n"
        b"Fax-Message: 1/0 ( 1 / 0 )\n"
        b"X-Vendor-Thing: whatever\n"
    )
    summary = MessageSummary.parse(body)
    assert summary.waiting and summary.account == "sip:1001@pbx"
    assert summary.voice == MessageCounts(3, 5)
    assert summary.counts["fax-message"] == MessageCounts(1, 0, 1, 0)
    assert b"Fax-Message: 1/0 (1/0)" in summary.serialize()
    folded = MessageSummary.parse(b"Messages-Waiting:\r\n yes\r\nVoice-Message: 1/0\r\n")
    assert folded.waiting


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"Voice-Message: 1/2\r\n", "without Messages-Waiting"),
        (b"Messages-Waiting: maybe\r\n", "yes or no"),
        (b"Messages-Waiting: yes\r\nVoice-Message: two/8\r\n", "Voice-Message counts"),
        (b"Messages-Waiting: yes\r\nVoice-Message: 1/2 (3)\r\n", "Voice-Message counts"),
        (b"Messages-Waiting: yes\r\nMessages-Waiting: no\r\n", "twice"),
        (b"Messages-Waiting: yes\r\nVoice-Message: 1/2\r\nVoice-Message: 1/2\r\n", "twice"),
        (b"Messages-Waiting: yes\r\nVoice-Message: 99999999999/0\r\n", "too large"),
        (b"Messages-Waiting: yes\r\nMessage-Account: sip:\r\n", "Message-Account"),
        (b"Messages-Waiting: yes\r\nno colon here\r\n", "bad message-summary line"),
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_bad_bodies_raise_a_parse_error_naming_the_problem(body, message):
    with pytest.raises(SummaryParseError, match=message) as err:
        MessageSummary.parse(body)
    assert isinstance(err.value, ParseError) and err.value.status == 400


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_only_parse_errors_escape(data):
    try:
        MessageSummary.parse(data)
    except ParseError:
        pass


@settings(max_examples=100, deadline=None)
@given(
    st.booleans(),
    st.lists(st.integers(0, 2**32 - 1), min_size=4, max_size=4),
)
def test_any_summary_round_trips(waiting, numbers):
    summary = MessageSummary(waiting, "sip:1001@pbx", {"voice-message": MessageCounts(*numbers)})
    assert MessageSummary.parse(summary.serialize()) == summary


def test_counts_are_checked():
    with pytest.raises(ValueError):
        MessageCounts(-1, 0)
    with pytest.raises(ValueError):
        MessageCounts(2**32, 0)


# -- NOTIFY -------------------------------------------------------------------------------------


VIA = Via("UDP", "192.0.2.10", 5060, {"branch": "z9hG4bK-mwi-1", "rport": None})
CONTACT = NameAddr(SipUri("sip", "192.0.2.10", "pbxd", port=5060))
TARGET = SipUri("sip", "198.51.100.7", "1001", port=5062)
AOR = SipUri("sip", "192.0.2.10", "1001")


def test_unsolicited_notify_is_a_valid_sip_request_carrying_the_summary():
    summary = MessageSummary.for_voicemail(2, 8, AOR)
    request = unsolicited_notify(
        summary, target=TARGET, aor=AOR, via=VIA, contact=CONTACT, call_id="mwi-1@192.0.2.10"
    )
    wire = request.serialize()
    parsed = parse_message(wire)
    parsed.validate()
    assert parsed.method == "NOTIFY"
    assert parsed.uri.serialize() == "sip:1001@198.51.100.7:5062"
    assert parsed.headers.get("Event") == "message-summary"
    assert parsed.headers.get("Subscription-State") == "terminated"
    assert parsed.headers.get("Content-Type") == CONTENT_TYPE
    assert parsed.cseq.method == "NOTIFY" and parsed.cseq.seq == 1
    assert parsed.to.uri.serialize() == "sip:1001@192.0.2.10" and parsed.to.tag is None
    assert parsed.from_.tag
    assert parsed.call_id == "mwi-1@192.0.2.10"
    assert parsed.contacts[0].uri.serialize() == "sip:pbxd@192.0.2.10:5060"
    assert parsed.max_forwards == 70
    assert int(parsed.headers.get("Content-Length")) == len(parsed.body)
    assert summary_of(parsed) == summary


def test_unsolicited_notify_can_say_active():
    request = unsolicited_notify(
        MessageSummary.for_voicemail(0, 1),
        target=TARGET,
        aor=AOR,
        via=VIA,
        contact=CONTACT,
        state="active",
        expires=3600,
        cseq=7,
    )
    assert request.headers.get("Subscription-State") == "active;expires=3600"
    assert request.cseq.seq == 7
    assert request.call_id.endswith("@192.0.2.10")


def test_notify_in_a_subscription_dialog():
    dialog = Dialog(
        call_id="sub-1@phone",
        local_tag="pbx-tag",
        remote_tag="phone-tag",
        local_uri=NameAddr(AOR),
        remote_uri=NameAddr(AOR),
        remote_target=TARGET,
        local_seq=4,
        local_contact=CONTACT,
    )
    request = notify_in_dialog(
        dialog, VIA, MessageSummary.for_voicemail(1, 0), state="active", expires=1800
    )
    parsed = parse_message(request.serialize())
    assert parsed.cseq.seq == 5 and parsed.cseq.method == "NOTIFY"
    assert parsed.from_.tag == "pbx-tag" and parsed.to.tag == "phone-tag"
    assert parsed.headers.get("Subscription-State") == "active;expires=1800"
    assert parsed.contacts and summary_of(parsed).voice == MessageCounts(1, 0)
    final = notify_in_dialog(
        dialog, VIA, MessageSummary.for_voicemail(0, 1), state="terminated", reason="timeout"
    )
    assert final.headers.get("Subscription-State") == "terminated;reason=timeout"


def test_subscription_state_values_are_checked():
    assert subscription_state("pending", expires=0) == "pending;expires=0"
    with pytest.raises(ValueError):
        subscription_state("terminated", expires=10)
    with pytest.raises(ValueError):
        subscription_state("active", reason="timeout")
    with pytest.raises(ValueError):
        subscription_state("sleeping")


def test_summary_of_refuses_other_notifies():
    request = unsolicited_notify(
        MessageSummary.for_voicemail(1, 0), target=TARGET, aor=AOR, via=VIA, contact=CONTACT
    )
    request.headers.set("Event", "presence")
    with pytest.raises(SummaryParseError, match="message-summary"):
        summary_of(request)
    request.headers.set("Event", "message-summary")
    request.headers.set("Content-Type", "text/plain")
    with pytest.raises(SummaryParseError, match="Content-Type"):
        summary_of(request)
