"""Fuzzing the message layer with one invariant: only ParseError (InvalidMessage included) escapes.

Inputs: arbitrary bytes, mutations (flipped, inserted, deleted bytes) of the RFC 4475 valid
messages and of typical REGISTER/INVITE messages, the same fed byte by byte to StreamFramer.
A message that validates must also survive what the layers above do with it: read its
structured headers, answer it, serialize it and parse it again. Generated valid messages must
round-trip. Runs are bounded (a few hundred examples each) to keep the suite fast.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pbxd.sip.errors import ParseError
from pbxd.sip.headers import CSeq, Headers, NameAddr, Via
from pbxd.sip.message import Request, Response, StreamFramer, parse_message
from pbxd.sip.uri import AbsoluteUri, SipUri, parse_uri

FIXTURES = Path(__file__).parent / "fixtures" / "rfc4475"
RFC_VALID = ["wsinv", "intmeth", "esc01", "escnull", "esc02", "lwsdisp", "longreq", "dblreq",
             "semiuri", "transports", "mpart01", "unreason", "noreason"]  # fmt: skip

REGISTER = (
    b"REGISTER sip:pbx.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bK-524287-1\r\n"
    b"Max-Forwards: 70\r\n"
    b'Contact: "Agent 7" <sip:107@192.0.2.10:5060;transport=udp>;expires=3600;+sip.instance='
    b'"<urn:uuid:00000000-0000-1000-8000-000000000001>";reg-id=1\r\n'
    b"To: <sip:107@pbx.example.com>\r\n"
    b"From: <sip:107@pbx.example.com>;tag=8a6e1c2b\r\n"
    b"Call-ID: 5f3c9b1e2a@192.0.2.10\r\n"
    b"CSeq: 2 REGISTER\r\n"
    b"Expires: 3600\r\n"
    b'Authorization: Digest username="107", realm="pbx", nonce="abc", uri="sip:pbx.example.com",'
    b' response="0123456789abcdef0123456789abcdef", algorithm=MD5\r\n'
    b"Supported: outbound, path\r\n"
    b"User-Agent: Phone/1.0\r\n"
    b"Content-Length: 0\r\n\r\n"
)
SDP = (
    b"v=0\r\no=- 1 1 IN IP6 2001:db8::7\r\ns=-\r\nc=IN IP6 2001:db8::7\r\nt=0 0\r\n"
    b"m=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"
)
INVITE = (
    b"INVITE sip:200@pbx.example.com;user=phone SIP/2.0\r\n"
    b"v: SIP/2.0/TCP [2001:db8::7]:5070;branch=z9hG4bKnashds8;received=2001:db8::9\r\n"
    b"Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bK77ef4c2312983.1, "
    b"SIP/2.0/UDP 10.0.0.1:5061;branch=z9hG4bKn\r\n"
    b"Max-Forwards: 69\r\n"
    b"Record-Route: <sip:proxy.example.com;lr>\r\n"
    b"Route: <sip:pbx.example.com;lr>\r\n"
    b'f: "O\'Neil, \\"Jo\\"" <sip:jo@example.com>;tag=9fxced76sl\r\n'
    b"t: <tel:+1-201-555-0200>\r\n"
    b"i: 3848276298220188511@[2001:db8::7]\r\n"
    b"CSeq: 1 INVITE\r\n"
    b"m: <sip:jo@[2001:db8::7]:5070;transport=tcp>\r\n"
    b"Require: timer\r\nk: 100rel, replaces\r\nSession-Expires: 1800;refresher=uac\r\n"
    b"Event: refer;id=93809824\r\n"
    b"Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n"
    b"c: application/sdp\r\n"
    b"l: " + str(len(SDP)).encode() + b"\r\n\r\n" + SDP
)
SEEDS = [(FIXTURES / f"{name}.dat").read_bytes() for name in RFC_VALID] + [REGISTER, INVITE]


def frames_cleanly(data: bytes) -> bool:
    framer = StreamFramer()
    try:
        return len(framer.feed(data)) == 1 and framer.buffered == 0
    except ParseError:
        return False


# Seeds that are one well-framed message on a stream (dblreq, inv2543-like ones are not).
STREAM_SEEDS = [seed for seed in SEEDS if frames_cleanly(seed)]

# Bytes that sit on the grammar's edges: separators, escapes, folding, digits, non-ASCII.
EDGES = [b"\r\n", b"\r\n ", b"\r\n\r\n", b"\n", b"\r", b" ", b"\t", b":", b";", b",", b"=", b"<",
         b">", b'"', b"\\", b"%", b"%00", b"%zz", b"[", b"]", b"[::1]", b"@", b"?", b"/", b"\x00",
         b"\xff", b"\xc3\xa9", "²".encode(), "٣".encode(), b"9" * 12, b"9" * 5000, b"-1",
         b"SIP/2.0", b"sip:", b"tel:", b"<sip:a@b>", b"Content-Length: 99\r\n", b"l: -1\r\n",
         b"Via: SIP/2.0/UDP h\r\n"]  # fmt: skip

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def mutated(draw, seeds=SEEDS):
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["flip", "insert", "delete", "duplicate"]))
        if op == "flip" and pos < len(data):
            data[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            data[pos:pos] = draw(st.sampled_from(EDGES) | st.binary(min_size=1, max_size=4))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 24))]
        else:
            data[pos:pos] = data[pos : pos + draw(st.integers(1, 40))]
    return bytes(data)


def survive(data: bytes, *, stream: bool = False) -> None:
    """Parse, validate and use a message as the layers above would; only ParseError may escape."""
    try:
        message = parse_message(data, stream=stream)
        message.validate()
    except ParseError:
        return
    use(message)


def use(message: Request | Response) -> None:
    """What the layers above do with a valid message must not raise at all."""
    message.vias, message.contacts, message.route_set, message.record_routes  # noqa: B018
    message.is_wildcard_contact, message.content_type, message.expires  # noqa: B018
    message.require, message.proxy_require  # noqa: B018
    for via in message.vias:
        via.with_source("192.0.2.99", 5099).serialize()
        assert Via.parse(via.serialize()) == via
    again = parse_message(message.serialize())
    again.validate()
    assert again.start_line() == message.start_line()
    assert without_length(again) == without_length(message)
    assert again.body == message.body
    if isinstance(message, Request):
        message.max_forwards  # noqa: B018
        for status in (100, 180, 400, 200):
            response = message.response(status, to_tag="t0")
            parse_message(response.serialize()).validate()


def without_length(message):
    return [(n, v) for n, v in message.headers if n != "Content-Length"]


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(data):
    survive(data)
    survive(data, stream=True)


@FUZZ
@given(mutated())
def test_mutated_messages(data):
    survive(data)
    survive(data, stream=True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated(STREAM_SEEDS) | st.sampled_from(STREAM_SEEDS), min_size=1, max_size=3))
def test_stream_fed_byte_by_byte(messages):
    framer = StreamFramer()
    stream = b"\r\n".join(messages)
    frames: list[bytes] = []
    try:
        for i in range(len(stream)):
            frames += framer.feed(stream[i : i + 1])
    except ParseError:
        pass
    for frame in frames:
        survive(frame, stream=True)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(STREAM_SEEDS), min_size=1, max_size=4), st.data())
def test_stream_chunking_does_not_change_the_frames(messages, data):
    stream = b"\r\n\r\n".join(messages)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=20)))
    framer = StreamFramer()
    frames: list[bytes] = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        frames += framer.feed(stream[start:end])
    assert frames == StreamFramer().feed(stream)
    assert len(frames) == len(messages)


# -- generated valid messages round-trip --------------------------------------------------------

TOKEN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~"
PARAM = "abcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()[]/:&+$"
USER = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'()&=+$,;?/"

tokens = st.text(TOKEN, min_size=1, max_size=12)
escaped = st.integers(0, 255).map(lambda b: f"%{b:02X}")
users = st.lists(st.text(USER, min_size=1, max_size=3) | escaped, min_size=1, max_size=5).map(
    "".join
)
hosts = st.sampled_from(
    ["example.com", "a-1.b.example.org", "192.0.2.33", "[2001:db8::1]", "[::1]"]
)
params = st.dictionaries(
    st.text(PARAM.replace("[", "").replace("]", ""), min_size=1, max_size=8),
    st.none() | st.text(PARAM, min_size=1, max_size=8),
    max_size=3,
)
sip_uris = st.builds(
    SipUri,
    scheme=st.sampled_from(["sip", "sips"]),
    host=hosts,
    user=st.none() | users,
    port=st.none() | st.integers(1, 65535),
    params=params,
    headers=st.sampled_from(["", "subject=hi", "route=%3Csip:p.example.com%3E&x=1"]),
)
OTHER_URIS = ["tel:+1-201-555-0123", "tel:7042;phone-context=example.com", "urn:service:sos",
              "mailto:a@example.com"]  # fmt: skip
other_uris = st.sampled_from(OTHER_URIS).map(parse_uri)


def quoted(text: str) -> str:
    text = text.replace("\r", "").replace("\n", "")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


header_params = st.dictionaries(
    # Parameters with their own grammar are generated where they belong, not at random.
    st.text(TOKEN.lower(), min_size=1, max_size=8).filter(
        lambda n: n not in ("tag", "branch", "received", "rport")
    ),
    st.none() | tokens | st.text(max_size=8).map(quoted),
    max_size=3,
)
displays = st.none() | st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=12
)
name_addrs = st.builds(NameAddr, uri=sip_uris | other_uris, display=displays, params=header_params)
values = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30).map(str.strip)


request_uris = sip_uris.map(
    lambda u: u.with_(headers="", params={k: v for k, v in u.params.items() if k != "method"})
) | other_uris.filter(lambda u: u.scheme == "tel")


@st.composite
def requests(draw):
    method = draw(tokens)
    headers = Headers()
    for _ in range(draw(st.integers(1, 3))):
        via = Via(draw(st.sampled_from(["UDP", "TCP", "TLS", "WS"])), draw(hosts),
                  draw(st.none() | st.integers(1, 65535)),
                  {"branch": "z9hG4bK" + draw(tokens), **draw(header_params)})  # fmt: skip
        headers.add("Via", via.serialize())
    headers.add("From", draw(name_addrs).with_tag(draw(tokens)).serialize())
    headers.add("To", draw(name_addrs).serialize())
    headers.add("Call-ID", draw(tokens) + "@" + draw(tokens))
    headers.add("CSeq", CSeq(draw(st.integers(0, 2**31 - 1)), method).serialize())
    headers.add("Max-Forwards", str(draw(st.integers(0, 255))))
    for name in draw(st.lists(st.sampled_from(["Contact", "Route", "Record-Route"]), max_size=3)):
        headers.add(
            name,
            ", ".join(a.serialize() for a in draw(st.lists(name_addrs, min_size=1, max_size=2))),
        )
    for _ in range(draw(st.integers(0, 3))):
        headers.add("X-" + draw(tokens), draw(values))
    # A Request-URI carries neither headers nor a method parameter (section 19.1.1).
    uri = draw(request_uris)
    return Request(headers=headers, body=draw(st.binary(max_size=64)), method=method, uri=uri)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_generated_requests_round_trip(request):
    request.validate()
    parsed = parse_message(request.serialize())
    assert isinstance(parsed, Request)
    assert (parsed.method, parsed.uri, parsed.body) == (request.method, request.uri, request.body)
    assert without_length(parsed) == without_length(request)
    assert parsed.from_ == request.from_ and parsed.to == request.to
    assert parsed.contacts == request.contacts and parsed.route_set == request.route_set
    use(parsed)


@settings(max_examples=200, deadline=None)
@given(sip_uris | other_uris)
def test_generated_uris_round_trip(uri):
    assert parse_uri(uri.serialize()) == uri
    if isinstance(uri, SipUri):
        assert uri.equivalent(parse_uri(uri.serialize()))
    else:
        assert isinstance(uri, AbsoluteUri)


@settings(max_examples=200, deadline=None)
@given(requests(), st.integers(100, 699), values)
def test_generated_responses_round_trip(request, status, reason):
    response = request.response(status, reason or None, to_tag="x")
    parsed = parse_message(response.serialize())
    assert isinstance(parsed, Response)
    assert (parsed.status, parsed.reason) == (status, response.reason)
    assert without_length(parsed) == without_length(response)
    use(parsed)
