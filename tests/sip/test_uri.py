"""SIP, SIPS, tel and other URIs (RFC 3261 section 19.1, RFC 3966)."""

from __future__ import annotations

import pytest

from pbxd.sip.errors import ParseError
from pbxd.sip.uri import (
    AbsoluteUri,
    SipUri,
    TelUri,
    is_ip_address,
    parse_digits,
    parse_uri,
    split_hostport,
    unescape,
)


def test_all_parts_of_a_sip_uri():
    uri = SipUri.parse(
        "SIPS:alice:secret@Atlanta.example.com:5061;Transport=TCP;lr;maddr=[::1]?Subject=x&Priority=urgent"
    )
    assert (uri.scheme, uri.user, uri.password, uri.host, uri.port) == (
        "sips", "alice", "secret", "Atlanta.example.com", 5061,
    )  # fmt: skip
    assert uri.params == {"transport": "TCP", "lr": None, "maddr": "[::1]"}
    assert uri.headers == "Subject=x&Priority=urgent"
    assert uri.transport == "tcp" and uri.effective_port == 5061


@pytest.mark.parametrize(
    "text",
    ["sip:example.com", "sip:alice@example.com", "sips:alice@example.com:5061",
     "sip:+1-201-555-0123@gw.example.com;user=phone", "sip:%61lice@example.com;x=%20",
     "sip:alice@192.0.2.4;transport=udp", "sip:[2001:db8::10]:5070;lr",
     "sip:user;par=u%40example.net@example.com", "sip:alice@example.com?Route=%3Csip:p%3E",
     "sip:a@example.com.;maddr=239.255.255.1;ttl=15"],
)  # fmt: skip
def test_serialize_gives_back_the_uri_as_written(text):
    assert SipUri.parse(text).serialize() == text
    assert str(parse_uri(text)) == text


def test_defaults_for_transport_and_port():
    assert SipUri.parse("sip:a@h").effective_port == 5060
    assert SipUri.parse("sips:a@h").transport == "tls"
    assert SipUri.parse("sip:a@h;transport=ws").effective_port == 80
    assert SipUri.parse("sip:a@[fe80::1]").host_ip == "fe80::1"


@pytest.mark.parametrize(
    "text",
    ["sip:", "sip:@example.com", "sip:alice@", "http://example.com", "sip:a b@example.com",
     "sip:alice@exa mple.com", "sip:alice@-bad-.com", "sip:alice@256.1.1.1", "sip:alice@1.2.3",
     "sip:alice@[2001:db8::1", "sip:alice@[2001:db8::zz]", "sip:alice@[fe80::1%eth0]",
     "sip:alice@[::1]x", "sip:alice@h:0", "sip:alice@h:65536", "sip:alice@h:5o60",
     "sip:alice@h:" + "1" * 5000, "sip:alice@h;", "sip:alice@h;=x", "sip:alice@h;a=",
     "sip:alice@h;a=<b>", "sip:ali\"ce@h", "sip:alice@h?a=<b>", "sip:alice@h:²",
     "sip:alice@ex\u00e4mple.com"],
)  # fmt: skip
def test_malformed_sip_uris(text):
    with pytest.raises(ParseError):
        SipUri.parse(text)


def test_ipv6_references():
    assert split_hostport("[2001:db8::1]:5060") == ("[2001:db8::1]", 5060)
    assert split_hostport("[::ffff:192.0.2.1]") == ("[::ffff:192.0.2.1]", None)
    assert is_ip_address("2001:db8::1") and is_ip_address("192.0.2.1")
    assert not is_ip_address("[2001:db8::1]") and not is_ip_address("example.com")


def test_escapes_decode_as_utf8_and_compare_equal():
    assert SipUri.parse("sip:%6A%C3%B6rg@h").unescaped_user == "jörg"
    assert unescape("100%25") == "100%" and unescape("%ZZ") == "%ZZ"
    assert unescape("%ff") == "\udcff"  # not UTF-8: kept as a surrogate escape, not lost


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [("sip:%61lice@atlanta.com;transport=TCP", "sip:alice@AtLanTa.CoM;Transport=tcp", True),
     ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5", True),
     ("sip:alice@atlanta.com", "sip:ALICE@atlanta.com", False),
     ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060", False),
     ("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp", False),
     ("sip:bob@biloxi.com", "sips:bob@biloxi.com", False),
     ("sip:bob:a@biloxi.com", "sip:bob:b@biloxi.com", False),
     ("sip:bob@h;maddr=239.255.255.1", "sip:bob@h", False)],
)  # fmt: skip
def test_uri_comparison_of_section_19_1_4(a, b, same):
    assert SipUri.parse(a).equivalent(SipUri.parse(b)) is same
    assert SipUri.parse(b).equivalent(SipUri.parse(a)) is same


# -- tel: (RFC 3966) ----------------------------------------------------------------------------


def test_global_tel_uri():
    uri = parse_uri("TEL:+1-201-555-0123;ext=1234")
    assert isinstance(uri, TelUri) and isinstance(uri, AbsoluteUri)
    assert (uri.scheme, uri.number, uri.digits, uri.is_global) == (
        "tel",
        "+1-201-555-0123",
        "+12015550123",
        True,
    )
    assert uri.params == {"ext": "1234"}
    assert uri.serialize() == "tel:+1-201-555-0123;ext=1234"


def test_local_tel_uri_with_context():
    uri = parse_uri("tel:7042;phone-context=example.com")
    assert (uri.number, uri.is_global, uri.params["phone-context"]) == (
        "7042",
        False,
        "example.com",
    )
    assert parse_uri("tel:*21#").digits == "*21#"


@pytest.mark.parametrize(
    "text", ["tel:", "tel:+", "tel:+1-(800)-ABC", "tel:12 34", "tel:--", "tel:+1;=x", "tel:1;a=<x>"]
)
def test_malformed_tel_uris(text):
    with pytest.raises(ParseError):
        parse_uri(text)


# -- other schemes ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "urn:service:sos",
        "mailto:alice@example.com",
        "http://www.example.com/x?y=z",
        "isbn:2983792873",
    ],
)
def test_other_schemes_are_kept_as_written(text):
    uri = parse_uri(text)
    assert type(uri) is AbsoluteUri and uri.serialize() == text


@pytest.mark.parametrize(
    "text", ["nocolon", ":x", "1abc:x", "a:", "a:b c", "a:<b>", 'a:"b"', "a:b\x00"]
)
def test_malformed_absolute_uris(text):
    with pytest.raises(ParseError):
        parse_uri(text)


def test_parse_digits_is_ascii_and_bounded():
    assert parse_digits("000068", "x", 255) == 68
    for bad in ("", "-1", "+1", "1 ", "٣", "²", "256", "9" * 5000):
        with pytest.raises(ParseError):
            parse_digits(bad, "x", 255)
