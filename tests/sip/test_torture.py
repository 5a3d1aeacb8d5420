"""RFC 4475 (SIP torture test messages) against the message layer.

The fixtures in fixtures/rfc4475/ are the RFC's messages byte for byte, one file per RFC name
(see the README there). Valid messages must parse, validate, and survive serialize -> parse;
invalid ones must raise ParseError (dropped) or InvalidMessage with the status the RFC expects.
Where the answer needs knowledge above this layer, the test asserts what this layer provides
and names the layer that answers.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pbxd.sip.errors import InvalidMessage, ParseError
from pbxd.sip.message import Request, Response, StreamFramer, parse_message
from pbxd.sip.uri import AbsoluteUri, SipUri, unescape

FIXTURES = Path(__file__).parent / "fixtures" / "rfc4475"


def load(name: str) -> bytes:
    return (FIXTURES / f"{name}.dat").read_bytes()


def outcome(data: bytes) -> tuple[str, int | None]:
    """Where the message layer stops a message: ("ok"|"parse"|"validate"|"drop", status)."""
    try:
        message = parse_message(data)
    except InvalidMessage as exc:
        return "parse", exc.status
    except ParseError:
        return "drop", None
    try:
        message.validate()
    except InvalidMessage as exc:
        return "validate", exc.status
    return "ok", None


# Section 3.1.1 (valid syntax), 3.2.1 and the messages of 3.3 / 3.4 whose syntax is valid: the
# message layer accepts them and leaves the decision to the layer named in the test below.
VALID = [
    "wsinv", "intmeth", "esc01", "escnull", "esc02", "lwsdisp", "longreq", "dblreq", "semiuri",
    "transports", "mpart01", "unreason", "noreason", "badbranch", "unksm2", "bext01", "invut",
    "regaut01", "bcast", "zeromf", "cparam01", "cparam02", "regescrt", "sdp01", "inv2543",
]  # fmt: skip

# Section 3.1.2 and the invalid messages of 3.3: where the layer stops them, with which status.
INVALID = {
    "badinv01": ("validate", 400),  # 3.1.2.1 empty Via/Contact parameters
    "clerr": ("parse", 400),  # 3.1.2.2 Content-Length larger than the datagram's body
    "ncl": ("parse", 400),  # 3.1.2.3 negative Content-Length
    "scalar02": ("validate", 400),  # 3.1.2.4 CSeq >= 2**31 (also Max-Forwards, Expires)
    # 3.1.2.5: a response with out-of-range values is discarded (InvalidMessage -> dropped).
    "scalarlg": ("validate", 400),
    "quotbal": ("validate", 400),  # 3.1.2.6 unterminated quote in To
    "ltgtruri": ("parse", 400),  # 3.1.2.7 Request-URI in <>
    "lwsruri": ("parse", 400),  # 3.1.2.8 LWS in the Request-URI
    "lwsstart": ("parse", 400),  # 3.1.2.9 several SP in the Request-Line (may reject: we do)
    "trws": ("parse", 400),  # 3.1.2.10 SP after the SIP-Version (may reject: we do)
    "escruri": ("validate", 400),  # 3.1.2.11 escaped headers in the Request-URI
    "regbadct": ("validate", 400),  # 3.1.2.13 URI with headers not in <>
    "badaspec": ("validate", 400),  # 3.1.2.14 spaces inside <addr-spec>
    "baddn": ("validate", 400),  # 3.1.2.15 unquoted display name with a comma
    "badvers": ("validate", 505),  # 3.1.2.16 SIP/7.0
    "mismatch01": ("validate", 400),  # 3.1.2.17 CSeq method differs from the method
    # 3.1.2.18: RFC prefers 501 for the unknown method, 400 is acceptable. validate() answers
    # 400; a transaction user wanting 501 checks the method before calling validate().
    "mismatch02": ("validate", 400),
    "bigcode": ("drop", None),  # 3.1.2.19 status code > 699: a response, dropped
    "insuf": ("validate", 400),  # 3.3.1 no Call-ID, From, To (and Max-Forwards)
    "unkscm": ("validate", 416),  # 3.3.2 unknown Request-URI scheme
    "novelsc": ("validate", 416),  # 3.3.3 known but unsupported scheme (soap.beep)
    "multi01": ("validate", 400),  # 3.3.8 several Call-ID, CSeq, From, To, Max-Forwards
    "mcl01": ("parse", 400),  # 3.3.9 two different Content-Length values
}

ALL = VALID + list(INVALID) + ["baddate"]


def test_every_rfc4475_message_has_a_fixture_and_the_fixtures_are_intact():
    sums = dict(
        reversed(line.split("  ")) for line in (FIXTURES / "SHA256SUMS").read_text().splitlines()
    )
    assert sorted(sums) == sorted(f"{name}.dat" for name in ALL)
    assert len(ALL) == 49  # the RFC's test messages
    for file, digest in sums.items():
        assert hashlib.sha256((FIXTURES / file).read_bytes()).hexdigest() == digest, file


@pytest.mark.parametrize("name", VALID)
def test_valid_message_parses_validates_and_round_trips(name):
    message = parse_message(load(name))
    message.validate()
    again = parse_message(message.serialize())
    again.validate()
    assert type(again) is type(message)
    assert again.start_line() == message.start_line()
    assert without_length(again) == without_length(message)
    assert again.headers.get("Content-Length") == str(len(message.body))
    assert again.body == message.body


def without_length(message):
    return [(n, v) for n, v in message.headers if n != "Content-Length"]


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_message_is_stopped_with_the_rfc_status(name):
    assert outcome(load(name)) == INVALID[name]


@pytest.mark.parametrize("name", sorted(n for n, (_, status) in INVALID.items() if status))
def test_an_invalid_request_can_still_be_answered(name):
    try:
        message = parse_message(load(name))
        message.validate()
    except InvalidMessage as exc:
        message = exc.message
        status = exc.status
    if isinstance(message, Response):
        return  # responses are dropped, never answered
    response = message.response(status, to_tag="t1")
    again = parse_message(response.serialize())
    assert again.status == status
    assert again.headers.get_raw("Via") == message.headers.get_raw("Via")
    assert again.headers.get("Call-ID") == message.headers.get("Call-ID")


# -- what each valid message must mean ---------------------------------------------------------


def test_wsinv_short_tortuous_invite():
    m = parse_message(load("wsinv"))
    assert m.method == "INVITE"
    assert m.uri.params == {"unknownparam": None}
    assert m.to.tag == "1918181833n"
    assert m.from_.display == 'J Rosenberg \\"' and m.from_.tag == "98asjd8"
    assert m.max_forwards == 68  # leading zeros
    assert (m.cseq.seq, m.cseq.method) == (9, "INVITE")
    assert [(v.transport, v.host, v.branch) for v in m.vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert m.headers.get("Subject") == ""
    assert m.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert m.headers.get("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    [contact] = m.contacts
    assert contact.display == 'Quoted string ""'
    assert contact.params == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}
    [route] = m.route_set
    assert route.uri.params == {"lr": None, "unknownwith": "value", "unknown-no-value": None}
    assert m.content_type == "application/sdp" and len(m.body) == 150


def test_intmeth_wide_range_of_valid_characters():
    m = parse_message(load("intmeth"))
    assert m.method == "!interesting-Method0123456789_*+`.%indeed'~"
    assert m.uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert m.uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert m.top_via.branch == "z9hG4bK-.!%66*_+`'~"
    assert m.to.display == "BEL:\x07 NUL:\x00 DEL:\x7f"  # quoted-pairs, NUL included
    assert m.from_.display == "token1~` token2'+_ token3*%!.-"
    assert m.from_.params["fromparam''~+*_!.-%"] == '"работающий"'
    assert m.from_.tag == "_token~1'+`*%!-."
    assert m.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert m.cseq.method == m.method
    assert m.headers.get("extensionHeader-!.%*+_`'~") == "\ufeff大停電"


def test_esc01_escapes_mean_the_characters_they_encode():
    m = parse_message(load("esc01"))
    assert m.uri.unescaped_user == "sips:user@example.com"
    assert m.to.uri.unescaped_user == "user"
    assert m.from_.uri.unescaped_user == "I have spaces"
    [contact] = m.contacts
    assert contact.uri.unescaped_user == "caller"
    assert {unescape(k): unescape(v or "") for k, v in contact.uri.params.items()} == {
        "lr": "",
        "name": "value%41",  # unescaping is not recursive
    }
    assert m.contacts[0].uri.equivalent(
        SipUri.parse("sip:caller@host5.example.net;lr;name=value%2541")
    )


def test_escnull_registers_two_distinct_contacts():
    m = parse_message(load("escnull"))
    assert m.to.uri.unescaped_user == "null-\x00-null"
    first, second = m.contacts
    assert (first.uri.unescaped_user, second.uri.unescaped_user) == ("\x00", "\x00\x00")
    assert not first.uri.equivalent(second.uri)


def test_esc02_percent_is_not_an_escape_outside_uris():
    m = parse_message(load("esc02"))
    assert m.method == "RE%47IST%45R" and m.cseq.method == m.method
    assert m.to.display == "%Z%45"
    assert [c.uri.user for c in m.contacts] == ["alias1", "alias3"]
    assert m.headers.get("C%6Fntact") == "<sip:alias2@host2.example.com>"
    assert m.top_via.branch == "z9hG4bK209%fzsnel234"


def test_lwsdisp_no_space_before_angle_bracket():
    m = parse_message(load("lwsdisp"))
    assert (m.from_.display, m.from_.tag) == ("caller", "323")


def test_longreq_long_values_and_many_vias():
    m = parse_message(load("longreq"))
    assert len(m.vias) == 34
    assert [v.host for v in m.vias[:33]] == [f"sip{i}.example.com" for i in range(33, 0, -1)]
    assert m.vias[-1].received == "192.0.2.5" and m.vias[-1].branch.endswith("branchvalue")
    assert m.to.uri.port == 6000 and len(m.to.uri.params) == 3
    assert m.from_.tag.startswith("129829829") and len(m.from_.tag) == 155
    assert m.call_id.startswith("longreq.onereally") and m.max_forwards == 70


def test_dblreq_extra_octets_after_the_body_are_ignored():
    m = parse_message(load("dblreq"))
    assert m.method == "REGISTER" and m.body == b""
    assert b"INVITE" not in m.serialize()


def test_semiuri_user_part_with_semicolon():
    m = parse_message(load("semiuri"))
    assert (m.uri.user, m.uri.host, m.uri.params) == ("user;par=u%40example.net", "example.com", {})
    assert m.uri.unescaped_user == "user;par=u@example.net"
    assert len(m.headers.get_list("Accept")) == 6


def test_transports_all_via_transports():
    m = parse_message(load("transports"))
    assert [v.transport for v in m.vias] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]


def test_mpart01_binary_body_is_framed_by_content_length():
    m = parse_message(load("mpart01"))
    assert len(m.body) == 553 and b"\x00" in m.body
    assert m.body.endswith(b"--7a9cbec02ceef655--\r\n")
    assert m.content_type == "multipart/mixed"
    assert (m.top_via.port, "rport" in m.top_via.params, m.top_via.rport) == (5070, True, None)
    assert m.date.year == 2005


def test_unreason_and_noreason_reason_phrases():
    assert parse_message(load("unreason")).reason == (
        "= 2**3 * 5**2 но сто девяносто девять - простое"
    )
    noreason = parse_message(load("noreason"))
    assert (noreason.status, noreason.reason) == (100, "")


# -- sections 3.2-3.4: valid syntax, decided above this layer ----------------------------------


def test_badbranch_parses_the_transaction_layer_decides():
    # 3.2.1: branch "z9hG4bK" without an identifier; the transaction layer may answer 400 or
    # fall back to RFC 2543 matching.
    assert parse_message(load("badbranch")).top_via.branch == "z9hG4bK"


def test_unksm2_header_uri_schemes_are_the_registrars_business():
    # 3.3.4: 416 is only for the Request-URI; the registrar answers 400 (To must be SIP).
    m = parse_message(load("unksm2"))
    m.validate()
    assert isinstance(m.to.uri, AbsoluteUri) and m.to.uri.scheme == "isbn"
    assert m.from_.uri.scheme == "http" and m.contacts[0].uri.scheme == "name"


def test_bext01_require_lists_for_the_420_decision():
    # 3.3.5: call control answers 420 with Unsupported listing these (a proxy uses Proxy-Require).
    m = parse_message(load("bext01"))
    assert m.require == ["nothingSupportsThis", "nothingSupportsThisEither"]
    assert m.proxy_require == ["noProxiesSupportThis", "norDoAnyProxiesSupportThis"]


def test_invut_sdp01_regaut01_parse_for_call_control():
    # 3.3.6 invut: 415 from call control; 3.3.15 sdp01: 406 from call control (Accept);
    # 3.3.7 regaut01: the authenticator answers 401 for the unknown scheme.
    assert parse_message(load("invut")).content_type == "application/unknownformat"
    assert parse_message(load("sdp01")).headers.get("Accept") == "text/nobodyKnowsThis"
    auth = parse_message(load("regaut01")).headers.get("Authorization")
    assert auth == "NoOneKnowsThisScheme opaque-data=here"


def test_bcast_response_parses_the_transport_drops_it():
    # 3.3.10: a response whose second Via is the broadcast address; never forwarded there.
    m = parse_message(load("bcast"))
    assert [v.host for v in m.vias] == ["192.0.2.198", "255.255.255.255"]


def test_zeromf_max_forwards_zero_is_visible():
    # 3.3.11: a proxy answers 483; a UAS may answer the OPTIONS itself.
    assert parse_message(load("zeromf")).max_forwards == 0


def test_cparam01_cparam02_contact_parameters_belong_where_written():
    # 3.3.12: in addr-spec form the parameter is a header parameter.
    [c1] = parse_message(load("cparam01")).contacts
    assert c1.params == {"unknownparam": None} and c1.uri.params == {}
    # 3.3.13: inside <> it is a URI parameter.
    [c2] = parse_message(load("cparam02")).contacts
    assert c2.params == {} and c2.uri.params == {"unknownparam": None}


def test_regescrt_contact_keeps_its_escaped_header():
    # 3.3.14: the registrar stores the contact with its escaped Route header.
    [contact] = parse_message(load("regescrt")).contacts
    assert contact.uri.headers == "Route=%3Csip:sip.example.com%3E"
    assert "?Route=%3Csip:sip.example.com%3E" in contact.serialize()


def test_inv2543_rfc2543_request_is_valid():
    # 3.4.1: no branch, no Max-Forwards; the transaction layer uses RFC 2543 matching.
    m = parse_message(load("inv2543"))
    assert m.top_via.branch is None and m.max_forwards is None
    assert m.response(200, to_tag="x").headers.get_raw("Record-Route") == [
        "<sip:UserB@example.com;maddr=ss1.example.com>"
    ]


def test_baddate_is_accepted_but_its_date_does_not_parse():
    # 3.1.2.12: rejecting is allowed only if the Date matters; nothing here uses it.
    m = parse_message(load("baddate"))
    m.validate()
    with pytest.raises(ParseError):
        m.date  # noqa: B018


def test_scalar02_every_scalar_is_out_of_range():
    m = parse_message(load("scalar02"))
    for attribute in ("cseq", "max_forwards", "expires"):
        with pytest.raises(ParseError):
            getattr(m, attribute)


def test_insuf_answer_still_copies_what_there_is():
    with pytest.raises(InvalidMessage) as raised:
        parse_message(load("insuf")).validate()
    response = raised.value.message.response(400)
    assert response.headers.get("CSeq") == "193942 INVITE"
    assert "To" not in response.headers


# -- the same messages over a stream transport -------------------------------------------------


@pytest.mark.parametrize("name", [n for n in VALID if n != "dblreq"])
def test_valid_messages_frame_on_a_stream(name):
    data = load(name)
    expected = parse_message(data)
    if "Content-Length" not in expected.headers:
        return  # inv2543 has none: not valid on TCP (section 18.3)
    frames = StreamFramer().feed(data)
    framed = parse_message(frames[0], stream=True)
    assert (framed.start_line(), framed.body) == (expected.start_line(), expected.body)


def test_dblreq_on_a_stream_is_two_messages_then_garbage():
    # 3.1.1.8 is a datagram test; on a stream the INVITE is a second message whose
    # Content-Length (150) is short of its body, and the rest cannot be framed.
    framer = StreamFramer()
    with pytest.raises(ParseError):
        framer.feed(load("dblreq"))
    frames = StreamFramer().feed(load("dblreq").removesuffix(b"C\r\n\r\n"))
    assert [parse_message(f, stream=True).method for f in frames] == ["REGISTER", "INVITE"]


def test_clerr_on_a_stream_waits_for_more_data():
    # 3.1.2.2: over TCP the receiver can only wait (the transport's idle timer closes it).
    framer = StreamFramer()
    assert framer.feed(load("clerr")) == []
    assert framer.buffered == len(load("clerr"))


def test_ncl_on_a_stream_breaks_the_connection():
    with pytest.raises(ParseError):
        StreamFramer().feed(load("ncl"))


def test_requests_answered_from_parse_carry_the_request():
    with pytest.raises(InvalidMessage) as raised:
        parse_message(load("ltgtruri"))
    request = raised.value.message
    assert isinstance(request, Request) and request.method == "INVITE"
