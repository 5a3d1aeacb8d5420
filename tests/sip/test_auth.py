"""Digest authentication: parser, RFC 7616 vectors, SIP-shaped challenge/response flows."""

from __future__ import annotations

import base64
import dataclasses
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pbxd.sip.auth import (
    AuthHeaderError,
    AuthResult,
    DigestAuthenticator,
    DigestCredentials,
    digest_response,
    parse_auth_params,
    parse_credentials,
    uri_matches,
)

REALM = "pbx.coocenter.local"
KEY = b"0123456789abcdef0123456789abcdef"
PASSWORDS = {"1001": "s3cret-1001", "1002": "pa\u00dfwort-1002"}


def password_for(username: str) -> str | None:
    return PASSWORDS.get(username)


# ---------------------------------------------------------------------------------------------
# RFC 7616 section 3.9.1 example: user Mufasa, password "Circle of Life", GET /dir/index.html

RFC_REALM = "http-auth@example.org"
RFC_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"
RFC_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
RFC_MD5_RESPONSE = "8ca523f5e9506fed4657c9700eebdbec"
RFC_SHA256_RESPONSE = "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"

RFC_SHA256_AUTHORIZATION = (
    'Digest username="Mufasa",\r\n'
    '       realm="http-auth@example.org",\r\n'
    '       uri="/dir/index.html",\r\n'
    "       algorithm=SHA-256,\r\n"
    '       nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",\r\n'
    "       nc=00000001,\r\n"
    '       cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",\r\n'
    "       qop=auth,\r\n"
    '       response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",\r\n'
    '       opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
)


@pytest.mark.parametrize(
    ("algorithm", "hash_name", "published"),
    [("MD5", "md5", RFC_MD5_RESPONSE), ("SHA-256", "sha256", RFC_SHA256_RESPONSE)],
)
def test_rfc7616_example_vectors(algorithm: str, hash_name: str, published: str) -> None:
    def h(text: str) -> str:
        return hashlib.new(hash_name, text.encode()).hexdigest()

    # By hand, following RFC 7616 section 3.4.1: the RFC's published response must come out.
    ha1 = h("Mufasa:http-auth@example.org:Circle of Life")
    ha2 = h("GET:/dir/index.html")
    by_hand = h(f"{ha1}:{RFC_NONCE}:00000001:{RFC_CNONCE}:auth:{ha2}")
    assert by_hand == published

    computed = digest_response(
        algorithm,
        username="Mufasa",
        realm=RFC_REALM,
        password="Circle of Life",
        method="GET",
        uri="/dir/index.html",
        nonce=RFC_NONCE,
        qop="auth",
        nc="00000001",
        cnonce=RFC_CNONCE,
    )
    assert computed == published


def test_rfc7616_authorization_header_parses_with_folding() -> None:
    creds = parse_credentials(RFC_SHA256_AUTHORIZATION)
    assert creds == DigestCredentials(
        username="Mufasa",
        realm=RFC_REALM,
        nonce=RFC_NONCE,
        uri="/dir/index.html",
        response=RFC_SHA256_RESPONSE,
        algorithm="SHA-256",
        cnonce=RFC_CNONCE,
        opaque=RFC_OPAQUE,
        qop="auth",
        nc="00000001",
    )
    assert creds.nonce_count == 1


def test_rfc7616_username_star_example() -> None:
    # RFC 7616 section 3.4.4: a non-ASCII user name sent with the RFC 8187 encoding.
    creds = parse_credentials(
        "Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm=\"api@example.org\", "
        'uri="/doe.json", nonce="n", response="r"'
    )
    assert creds.username == "J\u00e4s\u00f8n Doe"


# ---------------------------------------------------------------------------------------------
# Parser


def test_parse_sip_register_credentials() -> None:
    creds = DigestCredentials.parse(
        'Digest username="1001",realm="pbx.coocenter.local",nonce="abc",'
        'uri="sip:pbx.coocenter.local",response="0123456789abcdef0123456789abcdef",'
        "algorithm=MD5"
    )
    assert creds.username == "1001"
    assert creds.uri == "sip:pbx.coocenter.local"
    assert creds.algorithm == "MD5"
    assert creds.qop is None and creds.nc is None and creds.cnonce is None
    assert creds.nonce_count is None


def test_parse_is_case_insensitive_and_whitespace_tolerant() -> None:
    creds = parse_credentials(
        '  dIgEsT   USERNAME = "1001" ,\tRealm="r" ,  NONCE="n",URI="sip:a@b",'
        '  Response =  "ff" , QOP = auth , NC = 0000000A , CNonce="c"  '
    )
    assert (creds.username, creds.realm, creds.nonce, creds.uri) == ("1001", "r", "n", "sip:a@b")
    assert (creds.qop, creds.nc, creds.cnonce, creds.nonce_count) == ("auth", "0000000A", "c", 10)


def test_parse_quoted_strings_keep_commas_equals_and_escapes() -> None:
    creds = parse_credentials(
        r'Digest username="a,b=c \"quoted\" back\\slash", realm="x, y", nonce="n=", '
        r'uri="sip:1000@pbx;transport=tcp", response="r", cnonce="a\bc"'
    )
    assert creds.username == 'a,b=c "quoted" back\\slash'
    assert creds.realm == "x, y"
    assert creds.nonce == "n="
    assert creds.cnonce == "abc"


def test_parse_tolerates_quoted_tokens_and_empty_list_elements() -> None:
    creds = parse_credentials(
        'Digest , username="u",, realm="r", nonce="n", uri="u", response="r", '
        'qop="auth", algorithm="SHA-256", nc="00000001", cnonce="c",'
    )
    assert creds.qop == "auth"
    assert creds.algorithm == "SHA-256"
    assert creds.nc == "00000001"


def test_parse_keeps_unknown_params_and_userhash() -> None:
    creds = parse_credentials(
        'Digest username="u", realm="r", nonce="n", uri="u", response="r", userhash=TRUE, '
        'Foo="bar baz", x=y'
    )
    assert creds.userhash is True
    assert creds.extra == (("foo", "bar baz"), ("x", "y"))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "Digest",
        "Basic dXNlcjpwYXNz",
        'Basic realm="r"',
        'Digest username="u", realm="r", nonce="n", uri="u"',  # no response
        'Digest realm="r", nonce="n", uri="u", response="r"',  # no username
        'Digest username="u", Username="v", realm="r", nonce="n", uri="u", response="r"',
        'Digest username="u", realm="r", realm="r", nonce="n", uri="u", response="r"',
        'Digest username="u", username*=UTF-8\'\'u, realm="r", nonce="n", uri="u", response="r"',
        'Digest username="u, realm="r", nonce="n", uri="u", response="r"',  # unterminated
        'Digest username="u" realm="r", nonce="n", uri="u", response="r"',  # missing comma
        'Digest username=, realm="r", nonce="n", uri="u", response="r"',
        'Digest username "u", realm="r", nonce="n", uri="u", response="r"',
        'Digest username="u", realm="r", nonce="n", uri="u", response="r", nc=1',
        'Digest username="u", realm="r", nonce="n", uri="u", response="r", nc=0000000g',
        'Digest username="u", realm="r", nonce="n", uri="u", response="r", userhash=maybe',
        'Digest username="u\x00", realm="r", nonce="n", uri="u", response="r"',
        'Digest username="u\\\x01", realm="r", nonce="n", uri="u", response="r"',
        'Digest username="u",\r realm="r", nonce="n", uri="u", response="r"',  # bare CR
        'Digest username="u",\r\nrealm="r", nonce="n", uri="u", response="r"',  # CRLF no WSP
        'Digest username="u", realm="r", nonce="n", uri="u", response="r" trailing',
        'Digest username*=latin-1\'\'u, realm="r", nonce="n", uri="u", response="r"',
        'Digest username*=UTF-8\'\'%FF, realm="r", nonce="n", uri="u", response="r"',
        'Digest username*=UTF-8\'\'%4, realm="r", nonce="n", uri="u", response="r"',
        'Digestusername="u", realm="r", nonce="n", uri="u", response="r"',
        'Digest username="u"="v", realm="r", nonce="n", uri="u", response="r"',
    ],
)
def test_parse_rejects_malformed(value: str) -> None:
    with pytest.raises(AuthHeaderError) as caught:
        parse_credentials(value)
    assert caught.value.status == 400


def test_serialize_round_trips() -> None:
    creds = DigestCredentials(
        username='we"ird\\user',
        realm=REALM,
        nonce="n",
        uri="sip:1002@pbx;transport=udp",
        response="ab" * 16,
        algorithm="SHA-256",
        cnonce="c, n",
        opaque="o",
        qop="auth",
        nc="00000002",
        extra=(("x-foo", "a b"),),
    )
    assert parse_credentials(creds.serialize()) == creds


_PARAM_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\x7f"),
    max_size=20,
)


@given(
    username=_PARAM_TEXT,
    realm=_PARAM_TEXT,
    nonce=_PARAM_TEXT,
    uri=_PARAM_TEXT,
    response=_PARAM_TEXT,
    cnonce=st.none() | _PARAM_TEXT,
    nc=st.none() | st.from_regex(r"[0-9a-fA-F]{8}", fullmatch=True),
)
@settings(max_examples=200, deadline=None)
def test_serialize_parse_round_trip_property(
    username: str,
    realm: str,
    nonce: str,
    uri: str,
    response: str,
    cnonce: str | None,
    nc: str | None,
) -> None:
    creds = DigestCredentials(
        username=username,
        realm=realm,
        nonce=nonce,
        uri=uri,
        response=response,
        cnonce=cnonce,
        nc=nc,
    )
    assert parse_credentials(creds.serialize()) == creds


@given(st.text(max_size=300))
@settings(max_examples=500, deadline=None)
def test_parser_only_raises_auth_header_error_on_any_text(value: str) -> None:
    try:
        parse_credentials(value)
    except AuthHeaderError:
        pass


# Text built from the characters the grammar cares about reaches deep into the parser.
_GRAMMAR_SOUP = st.text(
    alphabet=st.sampled_from(list("Digest usernamrlocqp=\",\\\r\n\t *0189abf%'UTF-8") + ["\u00e9"]),
    max_size=120,
)


@given(_GRAMMAR_SOUP)
@settings(max_examples=300, deadline=None)
def test_parser_only_raises_auth_header_error_on_grammar_soup(tail: str) -> None:
    for value in ("Digest " + tail, 'Digest username="u", realm="r", ' + tail):
        try:
            creds = parse_credentials(value)
        except AuthHeaderError:
            continue
        # Whatever parses must serialize and parse back to the same value.
        assert parse_credentials(creds.serialize()) == creds


_TOKEN_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~"
_REQUIRED = ["username", "realm", "nonce", "uri", "response"]
_OPTIONAL = ["cnonce", "opaque", "qop", "algorithm", "x-extra"]
_SEPARATORS = [",", ", ", " ,\t", ",\r\n  ", ",,", " , , ", ",\n\t"]


@st.composite
def _value(draw: st.DrawFn) -> tuple[str, str]:
    """(wire text, value it stands for): a token or a quoted string with escapes."""
    if draw(st.booleans()):
        value = draw(st.text(alphabet=_TOKEN_ALPHABET, min_size=1, max_size=12))
        return value, value
    value = draw(_PARAM_TEXT)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"', value


@st.composite
def _header_params(draw: st.DrawFn) -> list[tuple[str, str, str]]:
    """(name as sent, wire text, value): mostly valid, sometimes a required one left out
    or one name repeated in another case."""
    dropped = draw(st.sampled_from([None, None, None, None, *_REQUIRED]))
    optional = draw(st.lists(st.sampled_from(_OPTIONAL), unique=True, max_size=5))
    names = list(draw(st.permutations([n for n in _REQUIRED if n != dropped] + optional)))
    if draw(st.integers(0, 3)) == 0:
        names.insert(draw(st.integers(0, len(names))), draw(st.sampled_from(names)))
    names = [draw(st.sampled_from([n, n.upper(), n.capitalize()])) for n in names]
    return [(name, *draw(_value())) for name in names]


@given(
    params=_header_params(),
    separators=st.lists(st.sampled_from(_SEPARATORS), min_size=11, max_size=11),
    space=st.sampled_from([" ", "  ", "\t", "\r\n "]),
    equals=st.sampled_from(["=", " = ", "\t=\t"]),
)
@settings(max_examples=400, deadline=None)
def test_structured_headers_parse_to_what_they_say(
    params: list[tuple[str, str, str]], separators: list[str], space: str, equals: str
) -> None:
    wire = (
        "Digest"
        + space
        + "".join(
            (separators[i] if i else "") + name + equals + text
            for i, (name, text, _value) in enumerate(params)
        )
    )
    lowered = [name.lower() for name, _text, _value in params]
    if len(set(lowered)) != len(lowered) or not set(_REQUIRED) <= set(lowered):
        with pytest.raises(AuthHeaderError):
            parse_credentials(wire)
        return
    creds = parse_credentials(wire)
    values = {name.lower(): value for name, _text, value in params}
    assert creds.username == values["username"]
    assert creds.realm == values["realm"]
    assert creds.nonce == values["nonce"]
    assert creds.uri == values["uri"]
    assert creds.response == values["response"]
    assert creds.cnonce == values.get("cnonce")
    assert creds.qop == values.get("qop")
    assert creds.algorithm == values.get("algorithm")
    assert creds.extra == ((("x-extra", values["x-extra"]),) if "x-extra" in values else ())


def test_parse_auth_params_reads_a_challenge() -> None:
    auth = DigestAuthenticator(REALM, KEY)
    scheme, params = parse_auth_params(auth.challenges(now=0.0)[0])
    assert scheme == "Digest"
    assert set(params) == {"realm", "nonce", "opaque", "algorithm", "qop"}


# ---------------------------------------------------------------------------------------------
# A client that answers challenges, as a phone would


def answer(
    challenge: str,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    nc: int = 1,
    cnonce: str = "0a4f113b",
    qop: str | None = "auth",
    realm: str | None = None,
    nonce: str | None = None,
) -> DigestCredentials:
    scheme, params = parse_auth_params(challenge)
    assert scheme == "Digest"
    nc_text = f"{nc:08x}" if qop is not None else None
    use_cnonce = cnonce if qop is not None or params["algorithm"].endswith("-sess") else None
    realm = params["realm"] if realm is None else realm
    nonce = params["nonce"] if nonce is None else nonce
    response = digest_response(
        params["algorithm"],
        username=username,
        realm=realm,
        password=password,
        method=method,
        uri=uri,
        nonce=nonce,
        qop=qop,
        nc=nc_text,
        cnonce=use_cnonce,
    )
    creds = DigestCredentials(
        username=username,
        realm=realm,
        nonce=nonce,
        uri=uri,
        response=response,
        algorithm=params["algorithm"],
        cnonce=use_cnonce,
        opaque=params["opaque"],
        qop=qop,
        nc=nc_text,
    )
    # Go over the wire form, as the registrar will.
    return parse_credentials(creds.serialize())


def challenge_for(auth: DigestAuthenticator, now: float, algorithm: str = "SHA-256") -> str:
    for value in auth.challenges(now):
        if parse_auth_params(value)[1]["algorithm"] == algorithm:
            return value
    raise AssertionError(f"no {algorithm} challenge")


def test_challenges_one_per_algorithm_sha256_first_by_default() -> None:
    values = DigestAuthenticator(REALM, KEY).challenges(now=100.0)
    assert [parse_auth_params(value)[1]["algorithm"] for value in values] == ["SHA-256", "MD5"]
    auth = DigestAuthenticator(REALM, KEY, algorithms=("MD5", "SHA-256"))
    values = auth.challenges(now=100.0)
    params = [parse_auth_params(value)[1] for value in values]
    assert [p["algorithm"] for p in params] == ["MD5", "SHA-256"]
    for p in params:
        assert p["realm"] == REALM
        assert p["qop"] == "auth"
        assert p["opaque"]
        assert "stale" not in p
    assert params[0]["nonce"] == params[1]["nonce"]


def test_stale_challenge_carries_stale_true() -> None:
    auth = DigestAuthenticator(REALM, KEY)
    for value in auth.challenges(now=5.0, stale=True):
        assert parse_auth_params(value)[1]["stale"] == "true"


def test_nonces_are_compact_base64url_and_unique() -> None:
    auth = DigestAuthenticator(REALM, KEY)
    nonces = {parse_auth_params(auth.challenges(now=1.0)[0])[1]["nonce"] for _ in range(50)}
    assert len(nonces) == 50
    for nonce in nonces:
        assert len(nonce) == 48
        assert len(base64.urlsafe_b64decode(nonce)) == 36


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
def test_register_flow_accepts_right_password(algorithm: str) -> None:
    auth = DigestAuthenticator(REALM, KEY)
    challenge = challenge_for(auth, now=1000.0, algorithm=algorithm)
    creds = answer(
        challenge,
        method="REGISTER",
        uri="sip:pbx.coocenter.local",
        username="1001",
        password="s3cret-1001",
    )
    result = auth.verify("REGISTER", creds, password_for, now=1001.0)
    assert result == AuthResult(ok=True, username="1001", stale=False, reason="ok")
    assert not result.is_failure


def test_non_ascii_password_works() -> None:
    auth = DigestAuthenticator(REALM, KEY)
    creds = answer(
        challenge_for(auth, 0.0),
        method="REGISTER",
        uri="sip:pbx",
        username="1002",
        password=PASSWORDS["1002"],
    )
    assert auth.verify("REGISTER", creds, password_for, now=1.0).ok


def test_invite_proxy_authorization_is_bound_to_method() -> None:
    auth = DigestAuthenticator(REALM, KEY)
    challenge = challenge_for(auth, now=50.0)
    creds = answer(
        challenge,
        method="INVITE",
        uri="sip:1002@pbx.coocenter.local",
        username="1001",
        password="s3cret-1001",
    )
    # Same credentials presented for another method do not verify.
    assert auth.verify("BYE", creds, password_for, now=51.0).reason == "bad credentials"
    assert auth.verify("INVITE", creds, password_for, now=51.0).ok


def test_wrong_password_and_unknown_user_look_the_same() -> None:
    auth = DigestAuthenticator(REALM, KEY)
    challenge = challenge_for(auth, now=0.0)
    wrong = answer(challenge, method="REGISTER", uri="sip:pbx", username="1001", password="x")
    unknown = answer(challenge, method="REGISTER", uri="sip:pbx", username="9999", password="x")
    r_wrong = auth.verify("REGISTER", wrong, password_for, now=1.0)
    r_unknown = auth.verify("REGISTER", unknown, password_for, now=1.0)
    assert (r_wrong.ok, r_wrong.stale, r_wrong.reason) == (False, False, "bad credentials")
    assert (r_unknown.ok, r_unknown.stale, r_unknown.reason) == (False, False, "bad credentials")
    assert r_wrong.is_failure and r_unknown.is_failure


def test_unknown_user_never_matches_even_with_guessable_dummy() -> None:
    auth = DigestAuthenticator(REALM, KEY)
    challenge = challenge_for(auth, now=0.0)
    for guess in ("", "None", "password"):
        creds = answer(
            challenge, method="REGISTER", uri="sip:pbx", username="ghost", password=guess
        )
        assert not auth.verify("REGISTER", creds, lambda _user: None, now=1.0).ok


def test_unknown_user_fails_even_if_the_stand_in_password_were_guessed() -> None:
    # White-box: the stand-in password used for unknown users is random; even if an attacker
    # hit it, an unknown user must not authenticate.
    auth = DigestAuthenticator(REALM, KEY)
    auth._dummy_password = ""
    creds = answer(
        challenge_for(auth, 0.0), method="REGISTER", uri="sip:pbx", username="ghost", password=""
    )
    assert auth.verify("REGISTER", creds, lambda _user: None, now=1.0).reason == "bad credentials"


def test_nonce_count_must_strictly_increase() -> None:
    auth = DigestAuthenticator(REALM, KEY)
    challenge = challenge_for(auth, now=0.0)

    def with_nc(nc: int) -> AuthResult:
        creds = answer(
            challenge,
            method="REGISTER",
            uri="sip:pbx",
            username="1001",
            password="s3cret-1001",
            nc=nc,
            cnonce=f"cn{nc}",
        )
        return auth.verify("REGISTER", creds, password_for, now=10.0 + nc)

    assert with_nc(1).ok
    assert with_nc(2).ok
    replay = with_nc(2)
    assert (replay.ok, replay.stale, replay.reason) == (False, False, "nonce count not increasing")
    assert not with_nc(1).ok
    assert with_nc(7).ok  # gaps are allowed (lost requests)
    assert not with_nc(3).ok


def test_exact_replay_of_a_captured_request_is_refused() -> None:
    auth = DigestAuthenticator(REALM, KEY)
    creds = answer(
        challenge_for(auth, 0.0),
        method="INVITE",
        uri="sip:1002@pbx",
        username="1001",
        password="s3cret-1001",
    )
    assert auth.verify("INVITE", creds, password_for, now=1.0).ok
    assert auth.verify("INVITE", creds, password_for, now=2.0).is_failure


def test_nc_zero_is_refused() -> None:
    auth = DigestAuthenticator(REALM, KEY)
    creds = answer(
        challenge_for(auth, 0.0),
        method="REGISTER",
        uri="sip:pbx",
        username="1001",
        password="s3cret-1001",
        nc=0,
    )
    assert not auth.verify("REGISTER", creds, password_for, now=1.0).ok


def test_expired_nonce_with_right_password_is_stale_not_failure() -> None:
    auth = DigestAuthenticator(REALM, KEY, nonce_ttl=300.0)
    challenge = challenge_for(auth, now=1000.0)
    creds = answer(
        challenge, method="REGISTER", uri="sip:pbx", username="1001", password="s3cret-1001"
    )
    assert auth.verify("REGISTER", creds, password_for, now=1300.0).ok  # last valid moment
    creds2 = answer(
        challenge, method="REGISTER", uri="sip:pbx", username="1001", password="s3cret-1001", nc=2
    )
    result = auth.verify("REGISTER", creds2, password_for, now=1300.5)
    assert (result.ok, result.stale, result.is_failure) == (False, True, False)
    assert result.reason == "nonce expired"

    # The client answers the stale=true challenge without asking its user: accepted.
    fresh = auth.challenges(now=1301.0, stale=True)[0]
    creds3 = answer(
        fresh, method="REGISTER", uri="sip:pbx", username="1001", password="s3cret-1001"
    )
    assert auth.verify("REGISTER", creds3, password_for, now=1301.0).ok


def test_expired_nonce_with_wrong_password_is_a_failure_not_stale() -> None:
    auth = DigestAuthenticator(REALM, KEY)
    creds = answer(
        challenge_for(auth, 0.0),
        method="REGISTER",
        uri="sip:pbx",
        username="1001",
        password="guess",
    )
    result = auth.verify("REGISTER", creds, password_for, now=10_000.0)
    assert (result.ok, result.stale, result.is_failure) == (False, False, True)


def test_nonce_from_the_future_is_stale() -> None:
    # E.g. issued before a reboot by a monotonic clock that has since restarted.
    auth = DigestAuthenticator(REALM, KEY)
    creds = answer(
        challenge_for(auth, 5000.0),
        method="REGISTER",
        uri="sip:pbx",
        username="1001",
        password="s3cret-1001",
    )
    result = auth.verify("REGISTER", creds, password_for, now=10.0)
    assert result.stale and not result.ok


def _flip(text: str, index: int) -> str:
    return text[:index] + ("A" if text[index] != "A" else "B") + text[index + 1 :]


@pytest.mark.parametrize("index", [0, 5, 10, 20, 30, 47])
def test_tampered_nonce_is_refused(index: int) -> None:
    auth = DigestAuthenticator(REALM, KEY)
    nonce = parse_auth_params(auth.challenges(0.0)[0])[1]["nonce"]
    tampered = _flip(nonce, index)
    # The client computes a perfectly good digest over the tampered nonce.
    creds = answer(
        auth.challenges(0.0)[0],
        method="REGISTER",
        uri="sip:pbx",
        username="1001",
        password="s3cret-1001",
        nonce=tampered,
    )
    result = auth.verify("REGISTER", creds, password_for, now=1.0)
    assert (result.ok, result.stale, result.reason) == (False, False, "invalid nonce")


def test_nonce_alias_spellings_are_refused() -> None:
    auth = DigestAuthenticator(REALM, KEY, random_bytes=lambda n: b"\xff" * n)
    challenge = auth.challenges(0.0)[0]
    nonce = parse_auth_params(challenge)[1]["nonce"]
    assert "_" in nonce
    for alias in (nonce.replace("_", "/"), nonce + "==", nonce.lower()):
        creds = answer(
            challenge,
            method="REGISTER",
            uri="sip:pbx",
            username="1001",
            password="s3cret-1001",
            nonce=alias,
        )
        assert auth.verify("REGISTER", creds, password_for, now=1.0).reason == "invalid nonce"


def test_nonce_from_another_key_or_realm_is_refused() -> None:
    ours = DigestAuthenticator(REALM, KEY)
    other_key = DigestAuthenticator(REALM, b"another key, 16+ bytes long")
    other_realm = DigestAuthenticator("other.realm", KEY)
    for issuer in (other_key, other_realm):
        nonce = parse_auth_params(issuer.challenges(0.0)[0])[1]["nonce"]
        creds = answer(
            ours.challenges(0.0)[0],
            method="REGISTER",
            uri="sip:pbx",
            username="1001",
            password="s3cret-1001",
            nonce=nonce,
        )
        assert ours.verify("REGISTER", creds, password_for, now=1.0).reason == "invalid nonce"


def test_restart_with_same_key_accepts_outstanding_nonce() -> None:
    before = DigestAuthenticator(REALM, KEY)
    challenge = challenge_for(before, now=100.0)
    after = DigestAuthenticator(REALM, KEY)
    creds = answer(
        challenge, method="REGISTER", uri="sip:pbx", username="1001", password="s3cret-1001"
    )
    assert after.verify("REGISTER", creds, password_for, now=110.0).ok


def test_started_at_closes_replay_across_restart() -> None:
    before = DigestAuthenticator(REALM, KEY)
    creds = answer(
        challenge_for(before, now=100.0),
        method="REGISTER",
        uri="sip:pbx",
        username="1001",
        password="s3cret-1001",
    )
    assert before.verify("REGISTER", creds, password_for, now=101.0).ok
    after = DigestAuthenticator(REALM, KEY, started_at=150.0)
    replayed = after.verify("REGISTER", creds, password_for, now=151.0)
    assert (replayed.ok, replayed.stale, replayed.is_failure) == (False, True, False)
    # Nonces this instance issued itself are fine.
    own = answer(
        challenge_for(after, now=152.0),
        method="REGISTER",
        uri="sip:pbx",
        username="1001",
        password="s3cret-1001",
    )
    assert after.verify("REGISTER", own, password_for, now=153.0).ok


def test_wrong_realm_is_refused() -> None:
    auth = DigestAuthenticator(REALM, KEY)
    creds = answer(
        challenge_for(auth, 0.0),
        method="REGISTER",
        uri="sip:pbx",
        username="1001",
        password="s3cret-1001",
        realm="evil.example",
    )
    result = auth.verify("REGISTER", creds, password_for, now=1.0)
    assert (result.ok, result.reason) == (False, "realm mismatch")


def test_opaque_must_match_when_present_and_may_be_absent() -> None:
    auth = DigestAuthenticator(REALM, KEY)
    challenge = challenge_for(auth, 0.0)
    good = answer(
        challenge, method="REGISTER", uri="sip:pbx", username="1001", password="s3cret-1001"
    )
    bad = DigestCredentials(**{**_fields(good), "opaque": "forged"})
    absent = DigestCredentials(**{**_fields(good), "opaque": None})
    assert auth.verify("REGISTER", bad, password_for, now=1.0).reason == "opaque mismatch"
    assert auth.verify("REGISTER", absent, password_for, now=1.0).ok


def _fields(creds: DigestCredentials) -> dict[str, object]:
    return {field.name: getattr(creds, field.name) for field in dataclasses.fields(creds)}


def test_rfc2069_style_without_qop_is_single_use() -> None:
    auth = DigestAuthenticator(REALM, KEY)
    challenge = challenge_for(auth, 0.0, algorithm="MD5")
    creds = answer(
        challenge,
        method="REGISTER",
        uri="sip:pbx",
        username="1001",
        password="s3cret-1001",
        qop=None,
    )
    assert creds.qop is None and creds.nc is None
    assert auth.verify("REGISTER", creds, password_for, now=1.0).ok
    assert not auth.verify("REGISTER", creds, password_for, now=2.0).ok


def test_algorithm_absent_means_md5() -> None:
    auth = DigestAuthenticator(REALM, KEY)
    creds = answer(
        challenge_for(auth, 0.0, algorithm="MD5"),
        method="REGISTER",
        uri="sip:pbx",
        username="1001",
        password="s3cret-1001",
    )
    no_alg = DigestCredentials(**{**_fields(creds), "algorithm": None})
    assert auth.verify("REGISTER", no_alg, password_for, now=1.0).ok

    sha_only = DigestAuthenticator(REALM, KEY, algorithms=("SHA-256",))
    creds = answer(
        challenge_for(sha_only, 0.0, algorithm="SHA-256"),
        method="REGISTER",
        uri="sip:pbx",
        username="1001",
        password="s3cret-1001",
    )
    md5_claim = DigestCredentials(**{**_fields(creds), "algorithm": None})
    assert sha_only.verify("REGISTER", md5_claim, password_for, 1.0).reason == (
        "algorithm not offered"
    )


@pytest.mark.parametrize("algorithm", ["SHA-256-sess", "MD5-sess"])
def test_sess_variants(algorithm: str) -> None:
    auth = DigestAuthenticator(REALM, KEY, algorithms=(algorithm,))
    creds = answer(
        auth.challenges(0.0)[0],
        method="REGISTER",
        uri="sip:pbx",
        username="1001",
        password="s3cret-1001",
    )
    assert creds.algorithm == algorithm
    assert auth.verify("REGISTER", creds, password_for, now=1.0).ok


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"algorithm": "SHA-512-256"}, "unsupported algorithm"),
        ({"qop": "auth-int"}, "unsupported qop"),
        ({"cnonce": None}, "qop=auth without nc or cnonce"),
        ({"nc": None}, "qop=auth without nc or cnonce"),
        ({"userhash": True}, "userhash not offered"),
    ],
)
def test_unsupported_or_incomplete_credentials(change: dict[str, object], reason: str) -> None:
    auth = DigestAuthenticator(REALM, KEY)
    creds = answer(
        challenge_for(auth, 0.0),
        method="REGISTER",
        uri="sip:pbx",
        username="1001",
        password="s3cret-1001",
    )
    changed = DigestCredentials(**{**_fields(creds), **change})
    result = auth.verify("REGISTER", changed, password_for, now=1.0)
    assert (result.ok, result.reason, result.is_failure) == (False, reason, True)


def test_uppercase_hex_response_is_accepted() -> None:
    auth = DigestAuthenticator(REALM, KEY)
    creds = answer(
        challenge_for(auth, 0.0),
        method="REGISTER",
        uri="sip:pbx",
        username="1001",
        password="s3cret-1001",
    )
    upper = DigestCredentials(**{**_fields(creds), "response": creds.response.upper()})
    assert auth.verify("REGISTER", upper, password_for, now=1.0).ok


def test_request_uri_check() -> None:
    auth = DigestAuthenticator(REALM, KEY)
    creds = answer(
        challenge_for(auth, 0.0),
        method="INVITE",
        uri="sip:1002@pbx.local",
        username="1001",
        password="s3cret-1001",
        nc=1,
    )
    result = auth.verify("INVITE", creds, password_for, now=1.0, request_uri="sip:1003@pbx.local")
    assert result.reason == "uri mismatch"
    ok = auth.verify(
        "INVITE", creds, password_for, now=1.0, request_uri="sip:1002@PBX.local:5060;transport=udp"
    )
    assert ok.ok


def test_reasons_never_leak_password_or_response() -> None:
    auth = DigestAuthenticator(REALM, KEY)
    challenge = challenge_for(auth, 0.0)
    results = []
    for password in ("s3cret-1001", "wrong"):
        for now in (1.0, 1.0, 5000.0):
            creds = answer(
                challenge, method="REGISTER", uri="sip:pbx", username="1001", password=password
            )
            results.append((creds, auth.verify("REGISTER", creds, password_for, now)))
    for creds, result in results:
        assert "s3cret" not in result.reason and "wrong" not in result.reason
        assert creds.response not in result.reason and creds.response not in repr(result)


def test_replay_table_is_bounded_and_eviction_fails_safe() -> None:
    auth = DigestAuthenticator(REALM, KEY, max_tracked_nonces=3)
    used = []
    for i in range(6):
        challenge = challenge_for(auth, now=float(i))
        creds = answer(
            challenge, method="REGISTER", uri="sip:pbx", username="1001", password="s3cret-1001"
        )
        assert auth.verify("REGISTER", creds, password_for, now=float(i)).ok
        used.append(challenge)
    assert auth.tracked_nonces == 3
    # The first nonce was evicted: its history is unknown, so it is not trusted again
    # (stale: the phone gets a fresh nonce silently), even with a higher nc.
    again = answer(
        used[0], method="REGISTER", uri="sip:pbx", username="1001", password="s3cret-1001", nc=2
    )
    result = auth.verify("REGISTER", again, password_for, now=7.0)
    assert (result.ok, result.stale) == (False, True)
    # A still-tracked nonce keeps working.
    recent = answer(
        used[5], method="REGISTER", uri="sip:pbx", username="1001", password="s3cret-1001", nc=2
    )
    assert auth.verify("REGISTER", recent, password_for, now=7.0).ok


def test_replay_table_forgets_expired_nonces() -> None:
    auth = DigestAuthenticator(REALM, KEY, nonce_ttl=30.0)
    for i in range(20):
        creds = answer(
            challenge_for(auth, now=float(i)),
            method="REGISTER",
            uri="sip:pbx",
            username="1001",
            password="s3cret-1001",
        )
        assert auth.verify("REGISTER", creds, password_for, now=float(i)).ok
    assert auth.tracked_nonces == 20
    creds = answer(
        challenge_for(auth, now=100.0),
        method="REGISTER",
        uri="sip:pbx",
        username="1001",
        password="s3cret-1001",
    )
    assert auth.verify("REGISTER", creds, password_for, now=100.0).ok
    assert auth.tracked_nonces == 1


def test_flood_of_bad_credentials_does_not_grow_state() -> None:
    auth = DigestAuthenticator(REALM, KEY)
    for i in range(2000):
        creds = answer(
            challenge_for(auth, now=float(i)),
            method="REGISTER",
            uri="sip:pbx",
            username="1001",
            password=f"guess{i}",
        )
        assert auth.verify("REGISTER", creds, password_for, now=float(i)).is_failure
    assert auth.tracked_nonces == 0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"key": b"short"},
        {"algorithms": ()},
        {"algorithms": ("MD5", "md5")},
        {"algorithms": ("SHA-1",)},
        {"nonce_ttl": 0.0},
        {"realm": "bad\r\nrealm"},
    ],
)
def test_constructor_validation(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"realm": REALM, "key": KEY, **kwargs}
    with pytest.raises(ValueError):
        DigestAuthenticator(**args)  # type: ignore[arg-type]


def test_realm_with_quotes_is_escaped_in_challenge() -> None:
    auth = DigestAuthenticator('pbx "main"', KEY)
    assert parse_auth_params(auth.challenges(0.0)[0])[1]["realm"] == 'pbx "main"'


# ---------------------------------------------------------------------------------------------
# uri_matches


@pytest.mark.parametrize(
    ("digest_uri", "request_uri", "expected"),
    [
        ("sip:pbx.local", "sip:pbx.local", True),
        ("sip:1002@pbx.local", "sip:1002@pbx.local;transport=tcp", True),
        ("sip:1002@pbx.local;transport=udp", "sip:1002@pbx.local", True),
        ("sip:1002@PBX.Local", "sip:1002@pbx.local", True),
        ("SIP:1002@pbx.local", "sip:1002@pbx.local", True),
        ("sip:1002@pbx.local:5060", "sip:1002@pbx.local", True),
        ("sips:1002@pbx.local:5061", "sips:1002@pbx.local", True),
        ("sip:%31002@pbx.local", "sip:1002@pbx.local", True),
        ("sip:1002@[2001:DB8::1]", "sip:1002@[2001:db8:0::1]:5060", True),
        ("sip:1002@192.0.2.1?Subject=x", "sip:1002@192.0.2.1", True),
        ("sip:1002@pbx.local", "sip:1003@pbx.local", False),
        ("sip:1002@pbx.local", "sip:1002@other.local", False),
        ("sip:1002@pbx.local:5080", "sip:1002@pbx.local", False),
        ("sip:1002@pbx.local", "sips:1002@pbx.local", False),
        ("sip:Alice@pbx.local", "sip:alice@pbx.local", False),
        ("sip:pbx.local", "sip:1002@pbx.local", True),  # the server, without a user (sipp)
        ("sip:pbx.local:5080", "sip:1002@pbx.local", False),
        ("tel:+15551234", "tel:+15551234", True),
        ("tel:+15551234", "tel:+15551235", False),
        ("/dir/index.html", "/dir/index.html", True),
        ("garbage", "sip:pbx.local", False),
    ],
)
def test_uri_matches(digest_uri: str, request_uri: str, expected: bool) -> None:
    creds = DigestCredentials(username="u", realm="r", nonce="n", uri=digest_uri, response="x")
    assert uri_matches(creds, request_uri) is expected
