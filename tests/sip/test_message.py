"""SIP message layer: header grammar, structured values, responses, validation, TCP framing."""

from __future__ import annotations

import pytest

from pbxd.sip.errors import InvalidMessage, ParseError
from pbxd.sip.headers import CSeq, Event, Headers, NameAddr, Via, split_commas
from pbxd.sip.message import MAX_MESSAGE_SIZE, Request, Response, StreamFramer, parse_message
from pbxd.sip.uri import AbsoluteUri, SipUri


def msg(*lines: str, body: str = "", start: str = "INVITE sip:bob@example.com SIP/2.0") -> bytes:
    """A request from header lines; Content-Length is added unless a line sets it."""
    head = [start, *lines]
    if not any(line.lower().startswith(("content-length", "l:")) for line in lines):
        head.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(head) + "\r\n\r\n" + body).encode()


BASE = (
    "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds",
    "Max-Forwards: 70",
    "To: Bob <sip:bob@example.com>",
    "From: Alice <sip:alice@example.com>;tag=1928301774",
    "Call-ID: a84b4c76e66710@pc33.example.com",
    "CSeq: 314159 INVITE",
    "Contact: <sip:alice@pc33.example.com>",
)


def request(*extra: str, base=BASE, **kwargs) -> Request:
    parsed = parse_message(msg(*base, *extra, **kwargs))
    assert isinstance(parsed, Request)
    return parsed


def register(*extra: str) -> Request:
    base = [line.replace("INVITE", "REGISTER") for line in BASE]
    return request(*extra, base=base, start="REGISTER sip:example.com SIP/2.0")


# -- header names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("compact", "name"),
    [("i", "Call-ID"), ("m", "Contact"), ("v", "Via"), ("f", "From"), ("t", "To"),
     ("c", "Content-Type"), ("l", "Content-Length"), ("k", "Supported"), ("s", "Subject"),
     ("o", "Event"), ("u", "Allow-Events"), ("e", "Content-Encoding"), ("r", "Refer-To"),
     ("x", "Session-Expires")],
)  # fmt: skip
def test_compact_forms_are_the_long_names(compact, name):
    headers = Headers([(compact.upper(), "a"), (compact, "b")])
    assert headers.get_raw(name) == ["a", "b"]
    assert list(headers) == [(name, "a"), (name, "b")]


def test_compact_forms_in_a_message():
    m = parse_message(
        msg(
            "v: SIP/2.0/UDP h.example.com;branch=z9hG4bKa",
            "f: <sip:a@example.com>;tag=1",
            "t: sip:b@example.com",
            "i: abc@h",
            "CSeq: 1 OPTIONS",
            "m: <sip:a@h.example.com>",
            "k: 100rel, timer",
            "o: presence;id=7",
            "c: application/sdp",
            body="v=0\r\n",
            start="OPTIONS sip:b@example.com SIP/2.0",
        )
    )
    m.validate()
    assert m.call_id == "abc@h" and m.top_via.host == "h.example.com"
    assert m.supported == ["100rel", "timer"]
    assert m.event == Event("presence", {"id": "7"}) and m.event.id == "7"
    assert m.content_type == "application/sdp" and m.body == b"v=0\r\n"


def test_header_names_are_case_insensitive():
    m = request("cOnTaCt: <sip:b@h>", "X-CUSTOM: 1")
    assert len(m.contacts) == 2
    assert m.headers.get("x-custom") == "1" and m.headers.get("X-Custom") == "1"


# -- folding, lists, quoting --------------------------------------------------------------------


def test_folded_lines_are_joined_with_one_space():
    m = request("Subject: first part\r\n  second part\r\n\tthird part", "X-A:\r\n value")
    assert m.headers.get("Subject") == "first part second part third part"
    assert m.headers.get("X-A") == "value"


def test_folded_via_and_cseq():
    m = request(
        "Via: SIP/2.0/UDP\r\n 192.0.2.9\r\n ;branch=z9hG4bKx",
        "CSeq: 7\r\n INVITE",
        base=[line for line in BASE if not line.startswith(("Via", "CSeq"))],
    )
    assert (m.top_via.host, m.top_via.branch) == ("192.0.2.9", "z9hG4bKx")
    assert m.cseq == CSeq(7, "INVITE")


def test_values_on_one_line_and_on_several_lines_are_the_same_list():
    vias = (
        "SIP/2.0/UDP a.example.com;branch=z9hG4bK1",
        "SIP/2.0/TCP b.example.com;branch=z9hG4bK2",
    )
    one = request(f"Via: {vias[0]}, {vias[1]}", base=BASE[1:])
    several = request(*[f"Via: {v}" for v in vias], base=BASE[1:])
    assert one.vias == several.vias
    assert [v.host for v in one.vias] == ["a.example.com", "b.example.com"]


def test_commas_inside_quotes_and_angle_brackets_do_not_split():
    m = request(
        r'Contact: "Doe, \"JD\" John" <sip:j,d@h.example.com;x=a>, <sip:c@d.example.com>',
        base=BASE[:-1],
    )
    first, second = m.contacts
    assert first.display == 'Doe, "JD" John'
    assert first.uri.host == "h.example.com" and str(second.uri) == "sip:c@d.example.com"


def test_split_commas_handles_escapes_and_rejects_open_quotes():
    assert split_commas(r'"a\"," <sip:x>, y') == [r'"a\"," <sip:x>', "y"]
    with pytest.raises(ParseError):
        split_commas('"open, <sip:x>')


def test_single_value_headers_with_commas_are_not_split():
    m = request("Date: Sat, 13 Nov 2010 23:29:00 GMT", "Subject: a, b")
    assert m.headers.get_list("Date") == ["Sat, 13 Nov 2010 23:29:00 GMT"]
    assert m.headers.get_list("s") == ["a, b"]
    assert m.date.year == 2010


def test_display_names():
    assert NameAddr.parse('"A \\"quoted\\" name" <sip:a@h>').display == 'A "quoted" name'
    assert NameAddr.parse("Two  Tokens <sip:a@h>").display == "Two Tokens"
    assert NameAddr.parse("<sip:a@h>").display is None
    for bad in (
        '"open <sip:a@h>',
        '"a"b" <sip:a@h>',
        "Bell, A <sip:a@h>",
        "<sip:a@h",
        "< sip:a@h>",
    ):
        with pytest.raises(ParseError):
            NameAddr.parse(bad)


def test_name_addr_round_trips_through_serialize():
    value = NameAddr.parse('"Doe, J" <sip:j@[2001:db8::5]:5070;transport=tcp>;tag=9;q=0.5')
    assert NameAddr.parse(value.serialize()) == value


def test_header_parameter_values():
    addr = NameAddr.parse('<sip:a@h>;+sip.instance="<urn:uuid:1>";reg-id=1;audio;q=0.7')
    assert addr.params == {
        "+sip.instance": '"<urn:uuid:1>"',
        "reg-id": "1",
        "audio": None,
        "q": "0.7",
    }
    for bad in (
        "<sip:a@h>;",
        "<sip:a@h>;a=",
        "<sip:a@h>;a=b c",
        '<sip:a@h>;a="x',
        "<sip:a@h>;a=<x>",
    ):
        with pytest.raises(ParseError):
            NameAddr.parse(bad)


# -- Via ----------------------------------------------------------------------------------------


def test_ipv6_in_via_uri_and_contact():
    m = request(
        "Via: SIP/2.0/UDP [2001:db8::1]:5062;branch=z9hG4bKv6;received=2001:db8::9;rport=5070",
        "Contact: <sip:alice@[2001:db8::2]:5070;transport=tcp>",
        base=BASE[1:-1],
        start="INVITE sip:bob@[2001:db8::3] SIP/2.0",
    )
    m.validate()
    via = m.top_via
    assert (via.host, via.port, via.received, via.rport) == (
        "[2001:db8::1]",
        5062,
        "2001:db8::9",
        5070,
    )
    contact = m.contacts[0].uri
    assert (contact.host, contact.host_ip, contact.port, contact.transport) == (
        "[2001:db8::2]", "2001:db8::2", 5070, "tcp",
    )  # fmt: skip
    assert m.uri.host == "[2001:db8::3]"


def test_via_with_spaces_around_slashes_and_colon():
    via = Via.parse("SIP / 2.0 / tcp  host.example.com : 5061 ; branch = z9hG4bKa ; rport")
    assert (via.protocol, via.transport, via.host, via.port) == (
        "SIP/2.0",
        "TCP",
        "host.example.com",
        5061,
    )
    assert via.branch == "z9hG4bKa" and "rport" in via.params and via.rport is None
    assert Via.parse(via.serialize()) == via


@pytest.mark.parametrize(
    "bad",
    [
        "SIP/2.0 host.example.com",  # no transport
        "SIP/2.0/UDP",  # no sent-by
        "SIP/2.0/UDP host.example.com;branch",  # branch without value
        "SIP/2.0/UDP host.example.com;received=not-an-ip",
        "SIP/2.0/UDP host.example.com;rport=99999",
        "SIP/2.0/UDP host.example.com:0",
        "SIP/2.0/UDP [2001:db8::1;branch=z9hG4bKa",
        "SIP/2.0/UDP host example.com",
    ],
)
def test_bad_via_values(bad):
    with pytest.raises(ParseError):
        Via.parse(bad)


def test_via_with_source_sets_received_and_rport():
    plain = Via.parse("SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKa")
    assert plain.with_source("10.0.0.5", 5060) == plain  # sent-by is already right
    assert plain.with_source("203.0.113.7", 40000).params == {
        "branch": "z9hG4bKa", "received": "203.0.113.7",
    }  # fmt: skip
    natted = Via.parse("SIP/2.0/UDP 10.0.0.5:5060;rport;branch=z9hG4bKa").with_source(
        "203.0.113.7", 40000
    )
    assert (natted.received, natted.rport) == ("203.0.113.7", 40000)
    assert (
        natted.serialize()
        == "SIP/2.0/UDP 10.0.0.5:5060;rport=40000;branch=z9hG4bKa;received=203.0.113.7"
    )
    v6 = Via.parse("SIP/2.0/UDP [2001:db8::1];branch=z9hG4bKa").with_source("2001:db8::1", 5060)
    assert v6.received is None


# -- responses ----------------------------------------------------------------------------------


def test_response_copies_the_headers_of_section_8_2_6_2_and_adds_a_to_tag():
    m = request("Via: SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp", "Timestamp: 54")
    response = m.response(486, to_tag="abc")
    assert isinstance(response, Response) and response.reason == "Busy Here"
    assert [n for n, _ in response.headers] == ["Via", "Via", "From", "To", "Call-ID", "CSeq"]
    assert response.headers.get_raw("Via") == m.headers.get_raw("Via")
    assert response.to.tag == "abc" and response.from_ == m.from_
    assert response.cseq == m.cseq and response.call_id == m.call_id
    again = parse_message(response.serialize())
    again.validate()
    assert again.to.tag == "abc"


def test_response_keeps_an_existing_to_tag_and_100_has_none():
    m = request(
        base=[
            line if not line.startswith("To") else "To: <sip:bob@example.com>;tag=x"
            for line in BASE
        ]
    )
    assert m.response(200, to_tag="new").to.tag == "x"
    trying = request("Timestamp: 54 0.5").response(100, to_tag="new")
    assert trying.to.tag is None and trying.headers.get("Timestamp") == "54 0.5"
    assert trying.reason == "Trying"


@pytest.mark.parametrize(
    ("method", "status", "copied"),
    [("INVITE", 180, True), ("INVITE", 200, True), ("INVITE", 486, False), ("INVITE", 100, False),
     ("SUBSCRIBE", 202, True), ("OPTIONS", 200, False)],
)  # fmt: skip
def test_record_route_is_copied_into_dialog_creating_responses(method, status, copied):
    base = [line.replace("INVITE", method) for line in BASE]
    m = request(
        "Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>",
        "Record-Route: <sip:p0.example.com;lr>",
        base=base,
        start=f"{method} sip:bob@example.com SIP/2.0",
    )
    response = m.response(status, to_tag="t")
    expected = m.headers.get_raw("Record-Route") if copied else []
    assert response.headers.get_raw("Record-Route") == expected
    if copied:
        assert [str(r.uri) for r in parse_message(response.serialize()).record_routes] == [
            "sip:p2.example.com;lr", "sip:p1.example.com;lr", "sip:p0.example.com;lr",
        ]  # fmt: skip


def test_response_to_a_request_with_a_broken_to_does_not_raise():
    m = request(
        base=[line if not line.startswith("To") else 'To: "broken <sip:b@h>' for line in BASE]
    )
    with pytest.raises(InvalidMessage) as raised:
        m.validate()
    response = raised.value.message.response(400, to_tag="t")
    assert response.headers.get("To") == '"broken <sip:b@h>'


# -- validation ---------------------------------------------------------------------------------


def validate_status(m: Request) -> int | None:
    try:
        m.validate()
    except InvalidMessage as exc:
        assert exc.message is m
        return exc.status
    return None


def test_a_well_formed_request_validates():
    assert validate_status(request()) is None
    assert validate_status(request(start="INVITE tel:+1-201-555-0123 SIP/2.0")) is None


@pytest.mark.parametrize(
    ("start", "status"),
    [("INVITE sip:bob@example.com SIP/3.0", 505), ("INVITE mailto:bob@example.com SIP/2.0", 416),
     ("INVITE sip:bob@example.com;method=BYE SIP/2.0", 400)],
)  # fmt: skip
def test_request_line_statuses(start, status):
    assert validate_status(request(start=start)) == status


def test_version_is_checked_before_headers():
    assert validate_status(request(base=BASE[1:], start="INVITE sip:b@h SIP/7.0")) == 505


def test_non_sip_schemes_in_from_to_contact_are_not_416():
    m = request(
        "To: <urn:service:sos>",
        "From: <tel:+123>;tag=1",
        "Call-ID: x",
        "CSeq: 1 INVITE",
        "Contact: <mailto:a@example.com>",
        base=BASE[:2],
    )
    assert validate_status(m) is None
    assert isinstance(m.to.uri, AbsoluteUri)


@pytest.mark.parametrize(
    "drop",
    ["Via", "To", "From", "Call-ID", "CSeq"],
)
def test_missing_mandatory_header_is_400(drop):
    assert (
        validate_status(request(base=[line for line in BASE if not line.startswith(drop)])) == 400
    )


@pytest.mark.parametrize(
    "extra",
    [("CSeq: 2 INVITE",), ("Call-ID: other",), ("To: <sip:x@h>",), ("Max-Forwards: 9",),
     ("Content-Type: a/b", "c: a/b")],
)  # fmt: skip
def test_duplicate_single_value_header_is_400(extra):
    assert validate_status(request(*extra)) == 400


@pytest.mark.parametrize(
    ("line", "status"),
    [("Max-Forwards: 00070", None), ("Expires: 0003600", None), ("Max-Forwards: 256", 400),
     ("Expires: 4294967296", 400), ("Expires: -1", 400), ("Expires: ³", 400),
     ("Require: 100rel, timer", None), ("Require: bad tag", 400), ("Event: dialog;id=1", None),
     ("Event: bad event", 400), ("Record-Route: <sip:p.example.com;lr>", None),
     ("Record-Route: nonsense", 400), ("Route: <sip:p.example.com;lr>", None)],
)  # fmt: skip
def test_header_value_statuses(line, status):
    base = [b for b in BASE if not b.startswith(line.split(":")[0])]
    assert validate_status(request(line, base=base)) == status


def test_cseq_range_and_method():
    assert CSeq.parse("  0007   INVITE ") == CSeq(7, "INVITE")
    assert CSeq.parse("2147483647 BYE").seq == 2**31 - 1
    for bad in (
        "2147483648 BYE",
        "1",
        "1 2 3",
        "x INVITE",
        "-1 INVITE",
        "١ INVITE",
        "9" * 5000 + " A",
    ):
        with pytest.raises(ParseError):
            CSeq.parse(bad)


def test_max_forwards_zero_and_missing():
    assert request("Max-Forwards: 0", base=BASE[:1] + BASE[2:]).max_forwards == 0
    assert request(base=BASE[:1] + BASE[2:]).max_forwards is None


def test_cseq_method_must_match():
    assert validate_status(request(start="BYE sip:bob@example.com SIP/2.0")) == 400


# -- parse_message ------------------------------------------------------------------------------


def test_bare_lf_line_ends_are_accepted():
    data = msg(*BASE).replace(b"\r\n", b"\n")
    assert parse_message(data).call_id == "a84b4c76e66710@pc33.example.com"


def test_leading_keepalive_crlfs_are_skipped():
    assert parse_message(b"\r\n\r\n" + msg(*BASE)).method == "INVITE"


def test_udp_body_without_content_length_runs_to_the_end():
    data = msg(*BASE).replace(b"Content-Length: 0\r\n", b"") + b"v=0\r\n"
    assert parse_message(data).body == b"v=0\r\n"


def test_udp_extra_octets_after_the_body_are_dropped():
    data = msg(*BASE, "Content-Length: 3", body="") + b"abcdef"
    assert parse_message(data).body == b"abc"


def test_datagram_without_the_empty_line():
    data = msg(*BASE).rstrip(b"\r\n")
    assert parse_message(data).method == "INVITE"


@pytest.mark.parametrize(
    ("data", "answerable"),
    [(msg(*BASE, "Content-Length: 10", body="short"), True),
     (msg(*BASE, "Content-Length: 99999999999", body=""), True),
     (msg(*BASE, "Content-Length: ²"), True),
     (msg(*BASE, "Bad header line without colon"), True),
     (msg(*BASE, "Content-Length: 10", body="short", start="SIP/2.0 200 OK"), False),
     (msg(*BASE[1:], "Content-Length: 10", body="short"), False)],
)  # fmt: skip
def test_parse_errors_are_answerable_only_for_requests_with_routing_headers(data, answerable):
    with pytest.raises(ParseError) as raised:
        parse_message(data)
    assert isinstance(raised.value, InvalidMessage) == answerable


@pytest.mark.parametrize(
    "data",
    [b"", b"\r\n\r\n", b"hello world", b"\xff\xfe INVITE", b"SIP/2.0 99 Too Low\r\n\r\n",
     b"SIP/2.0 700 Too High\r\n\r\n", b"SIP/3.0 200 OK\r\n\r\n", b"SIP/2.0 2000 OK\r\n\r\n",
     "INVITE sip:b@h SIP/2.0\r\nSubject: caf\u00e9\r\n\r\n".encode("latin-1"),
     b"INVITE sip:a@b SIP/2.0\r\n" + b"X: " + b"a" * MAX_MESSAGE_SIZE + b"\r\n\r\n"],
)  # fmt: skip
def test_not_sip_is_a_plain_parse_error(data):
    with pytest.raises(ParseError) as raised:
        parse_message(data)
    assert not isinstance(raised.value, InvalidMessage)


def test_status_line_variants():
    assert parse_message(b"SIP/2.0 180\r\nContent-Length: 0\r\n\r\n").reason == ""
    assert parse_message(b"sip/2.0 603 Decline now\r\n\r\n").reason == "Decline now"


def test_serialize_recomputes_content_length():
    m = request("Content-Type: text/plain", body="hello")
    m.body = b"hello, world"
    again = parse_message(m.serialize())
    assert again.body == b"hello, world" and again.headers.get_raw("Content-Length") == ["12"]


# -- StreamFramer -------------------------------------------------------------------------------


def two_messages() -> tuple[bytes, bytes]:
    return msg(*BASE, "Content-Type: text/plain", body="first"), msg(*BASE, body="")


def test_framer_byte_by_byte():
    first, second = two_messages()
    framer = StreamFramer()
    frames = []
    for i in range(len(first + second)):
        frames += framer.feed((first + second)[i : i + 1])
    assert frames == [first, second] and framer.buffered == 0
    assert parse_message(frames[0], stream=True).body == b"first"


def test_framer_two_messages_in_one_read():
    first, second = two_messages()
    assert StreamFramer().feed(first + second) == [first, second]


def test_framer_body_split_across_reads():
    first, _ = two_messages()
    framer = StreamFramer()
    assert framer.feed(first[:-2]) == []
    assert framer.feed(first[-2:]) == [first]


def test_framer_skips_keepalive_crlfs():
    first, second = two_messages()
    framer = StreamFramer()
    assert framer.feed(b"\r\n\r\n") == []  # RFC 5626 ping
    assert framer.feed(b"\r") == []
    assert framer.feed(b"\n" + first + b"\r\n" + second + b"\r\n") == [first, second]
    assert framer.buffered == 0


def test_framer_compact_and_folded_content_length():
    data = msg(*BASE, "l:\r\n 4", body="abcd")
    assert StreamFramer().feed(data + data) == [data, data]


def test_framer_bare_lf_message():
    data = msg(*BASE, body="xy").replace(b"\r\n", b"\n")
    assert StreamFramer().feed(data) == [data]


@pytest.mark.parametrize(
    "data",
    [msg(*BASE).replace(b"Content-Length: 0\r\n", b""),  # required on TCP (section 18.3)
     msg(*BASE, "Content-Length: -1"), msg(*BASE, "Content-Length: 1", "l: 2"),
     msg(*BASE, "Content-Length: ²"), msg(*BASE, "Content-Length: " + "9" * 5000)],
)  # fmt: skip
def test_framer_rejects_unframeable_streams_for_good(data):
    framer = StreamFramer()
    with pytest.raises(ParseError):
        framer.feed(data)
    with pytest.raises(ParseError):
        framer.feed(two_messages()[0])  # the connection cannot resynchronise


def test_framer_oversize_header_section_and_body():
    with pytest.raises(ParseError):
        StreamFramer(max_size=1000).feed(b"INVITE sip:a@b SIP/2.0\r\nX: " + b"a" * 1000)
    with pytest.raises(ParseError):
        StreamFramer(max_size=1000).feed(msg(*BASE, "Content-Length: 2000"))
    framer = StreamFramer()
    assert framer.feed(b"a" * MAX_MESSAGE_SIZE) == []  # still waiting, within the limit
    with pytest.raises(ParseError):
        framer.feed(b"a")


def test_framer_missing_content_length_on_a_frame_parsed_directly():
    data = msg(*BASE).replace(b"Content-Length: 0\r\n", b"")
    with pytest.raises(InvalidMessage):
        parse_message(data, stream=True)


# -- building messages --------------------------------------------------------------------------


def test_built_request_serializes_and_parses():
    headers = Headers()
    headers.add(
        "Via", Via("UDP", "192.0.2.1", 5060, {"branch": "z9hG4bKb", "rport": None}).serialize()
    )
    headers.add(
        "From", NameAddr(SipUri("sip", "example.com", "alice"), "Alice", {"tag": "1"}).serialize()
    )
    headers.add("To", NameAddr(SipUri("sip", "example.com", "bob")).serialize())
    headers.add("Call-ID", "c1")
    headers.add("CSeq", CSeq(1, "MESSAGE").serialize())
    built = Request(
        headers=headers,
        body="héllo".encode(),
        method="MESSAGE",
        uri=SipUri("sip", "example.com", "bob"),
    )
    parsed = parse_message(built.serialize())
    parsed.validate()
    assert parsed.body == "héllo".encode() and parsed.from_.display == "Alice"
    assert parsed.top_via.params == {"branch": "z9hG4bKb", "rport": None}


def test_headers_set_remove_prepend():
    headers = Headers([("Via", "a"), ("To", "t"), ("Via", "b")])
    headers.prepend("v", "z")
    assert headers.get_raw("Via") == ["z", "a", "b"]
    headers.set("Via", "only")
    assert list(headers) == [("Via", "only"), ("To", "t")]
    headers.remove("t")
    assert "To" not in headers and len(headers) == 1
    assert register().method == "REGISTER"
