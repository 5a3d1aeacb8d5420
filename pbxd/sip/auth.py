"""Server-side HTTP Digest authentication for SIP, sans-IO.

RFC 3261 section 22 (Digest in SIP), RFC 2617 (qop, nc, cnonce, -sess), RFC 7616 (SHA-256,
userhash, username*), RFC 8760 (SHA-256 in SIP: one challenge per algorithm, preferred first).

Nothing here does I/O or reads a clock: `now` (float seconds) comes in from the caller.
Nonces are self-validating (timestamp + random + HMAC), so no table of issued nonces is kept;
only the highest nonce-count seen per *successfully used* nonce is remembered, bounded in size.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import math
import re
import secrets
import struct
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from .errors import BadRequest, ParseError
from .uri import SipUri

__all__ = [
    "AuthHeaderError",
    "AuthResult",
    "DigestAuthenticator",
    "DigestCredentials",
    "canonical_algorithm",
    "digest_response",
    "parse_auth_params",
    "parse_credentials",
    "uri_matches",
]


class AuthHeaderError(BadRequest):
    """An Authorization / Proxy-Authorization value the peer sent is malformed (400)."""

    status = 400
    reason = "Bad Request"


# ---------------------------------------------------------------------------------------------
# Algorithms (RFC 7616 section 3.4.2; -sess variants from RFC 2617 section 3.2.2.2)

_HASHES: dict[str, Callable[[bytes], str]] = {
    "MD5": lambda data: hashlib.md5(data, usedforsecurity=False).hexdigest(),
    "SHA-256": lambda data: hashlib.sha256(data).hexdigest(),
}
_CANONICAL = {name.lower(): name for name in ("MD5", "MD5-sess", "SHA-256", "SHA-256-sess")}


def canonical_algorithm(name: str | None) -> str:
    """Canonical spelling of a digest algorithm; absent means MD5 (RFC 7616 section 3.3).

    Raises ValueError for an algorithm this module does not implement.
    """
    if name is None:
        return "MD5"
    try:
        return _CANONICAL[name.lower()]
    except KeyError:
        raise ValueError(f"unsupported digest algorithm {name!r}") from None


def _hash(algorithm: str, text: str) -> str:
    base = algorithm.removesuffix("-sess")
    return _HASHES[base](text.encode("utf-8"))


def digest_response(
    algorithm: str | None,
    *,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    qop: str | None = None,
    nc: str | None = None,
    cnonce: str | None = None,
) -> str:
    """The `response` value a client with this password computes (lower-case hex).

    RFC 7616 section 3.4.1 (qop=auth) and RFC 2617 section 3.2.2.1 (no qop, RFC 2069 style).
    `qop`, `nc` and `cnonce` enter the hash exactly as the client sent them.
    Usable on the client side too (outgoing trunk registration).
    """
    algorithm = canonical_algorithm(algorithm)
    ha1 = _hash(algorithm, f"{username}:{realm}:{password}")
    if algorithm.endswith("-sess"):
        # RFC 7616 section 3.4.2: session variant binds HA1 to this nonce and cnonce.
        if cnonce is None:
            raise ValueError("-sess algorithms need a cnonce")
        ha1 = _hash(algorithm, f"{ha1}:{nonce}:{cnonce}")
    # RFC 7616 section 3.4.3: A2 = Method ":" request-uri for qop=auth or no qop.
    ha2 = _hash(algorithm, f"{method}:{uri}")
    if qop is None:
        return _hash(algorithm, f"{ha1}:{nonce}:{ha2}")
    if qop.lower() != "auth":
        raise ValueError(f"unsupported qop {qop!r}")
    if nc is None or cnonce is None:
        raise ValueError("qop=auth needs nc and cnonce")
    return _hash(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


# ---------------------------------------------------------------------------------------------
# Parsing the credentials (RFC 3261 section 25.1 grammar, RFC 7235 section 2.1 lists)

# RFC 3261 section 25.1: token characters.
_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~")
_NC_RE = re.compile(r"[0-9A-Fa-f]{8}")
# RFC 8187 section 3.2 ext-value, as used by username* (RFC 7616 section 3.4.4).
_EXT_VALUE_RE = re.compile(r"(?P<charset>[A-Za-z0-9!#$%&+\-^_`{}~]+)'[A-Za-z0-9\-]*'(?P<v>.*)")
_ATTR_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$&+-.^_`|~"
)
_REQUIRED = ("realm", "nonce", "uri", "response")
_KNOWN_PARAMS = frozenset(
    ("username", "username*", *_REQUIRED, "algorithm", "cnonce", "opaque", "qop", "nc", "userhash")
)


class _Scanner:
    """Cursor over one header value; every failure is an AuthHeaderError."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def _fold_end(self, pos: int) -> int:
        """Index after a line fold starting at `pos` (CRLF or LF, then WSP: RFC 3261 7.3.1)."""
        text = self.text
        if text.startswith("\r\n", pos):
            after = pos + 2
        elif text[pos] == "\n":
            after = pos + 1
        else:
            after = -1
        if after < 0 or after >= len(text) or text[after] not in " \t":
            raise AuthHeaderError(f"bare line break at offset {pos}")
        return after

    def skip_lws(self) -> bool:
        start = self.pos
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t":
                self.pos += 1
            elif char in "\r\n":
                self.pos = self._fold_end(self.pos)
            else:
                break
        return self.pos > start

    def token(self, what: str) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in _TOKEN_CHARS:
            self.pos += 1
        if self.pos == start:
            found = self.peek() or "end of value"
            raise AuthHeaderError(f"expected {what} at offset {start}, found {found!r}")
        return self.text[start : self.pos]

    def quoted_string(self) -> str:
        # quoted-string = DQUOTE *(qdtext / quoted-pair) DQUOTE (RFC 3261 section 25.1).
        # Stricter than the grammar: control characters are refused even when escaped, so
        # that no NUL or escape sequence reaches logs or the database.
        start = self.pos
        self.pos += 1
        out: list[str] = []
        text = self.text
        while True:
            if self.pos >= len(text):
                raise AuthHeaderError(f"unterminated quoted string at offset {start}")
            char = text[self.pos]
            if char == '"':
                self.pos += 1
                return "".join(out)
            if char == "\\":
                if self.pos + 1 >= len(text):
                    raise AuthHeaderError(f"unterminated quoted string at offset {start}")
                char = text[self.pos + 1]
                _check_text_char(char, self.pos + 1)
                out.append(char)
                self.pos += 2
            elif char in "\r\n":
                self.pos = self._fold_end(self.pos)
                out.append(" ")
            else:
                _check_text_char(char, self.pos)
                out.append(char)
                self.pos += 1


def _check_text_char(char: str, pos: int) -> None:
    code = ord(char)
    if (code < 0x20 and char != "\t") or code == 0x7F or 0xD800 <= code <= 0xDFFF:
        raise AuthHeaderError(f"control character at offset {pos}")


def _parse_params(value: str) -> tuple[str, list[tuple[str, str]]]:
    """Split `scheme auth-param, auth-param...` into the scheme and (lower name, value)."""
    if not isinstance(value, str):
        raise AuthHeaderError("credentials must be text")
    scanner = _Scanner(value)
    scanner.skip_lws()
    scheme = scanner.token("auth scheme")
    params: list[tuple[str, str]] = []
    if scanner.at_end():
        return scheme, params
    if not scanner.skip_lws():
        raise AuthHeaderError(f"expected whitespace after scheme at offset {scanner.pos}")
    seen: set[str] = set()
    while True:
        scanner.skip_lws()
        if scanner.at_end():
            break
        if scanner.peek() == ",":
            # RFC 7230 section 7: empty list elements are tolerated.
            scanner.pos += 1
            continue
        name = scanner.token("parameter name").lower()
        scanner.skip_lws()
        if scanner.peek() != "=":
            raise AuthHeaderError(f"expected '=' after {name!r} at offset {scanner.pos}")
        scanner.pos += 1
        scanner.skip_lws()
        if scanner.peek() == '"':
            param_value = scanner.quoted_string()
        else:
            param_value = scanner.token(f"value of {name!r}")
        if name in seen:
            raise AuthHeaderError(f"duplicate parameter {name!r}")
        seen.add(name)
        params.append((name, param_value))
        scanner.skip_lws()
        if scanner.at_end():
            break
        if scanner.peek() != ",":
            raise AuthHeaderError(f"expected ',' at offset {scanner.pos}")
        scanner.pos += 1
    return scheme, params


def parse_auth_params(value: str) -> tuple[str, dict[str, str]]:
    """Scheme and parameters (lower-case names, unquoted values) of one auth header value.

    Same grammar as the credentials parser; meant for reading a WWW-Authenticate or
    Proxy-Authenticate challenge on the client side (trunk registration) and in tests.
    Raises AuthHeaderError.
    """
    scheme, params = _parse_params(value)
    return scheme, dict(params)


def _decode_ext_value(raw: str) -> str:
    """RFC 8187 ext-value (only UTF-8 is accepted, as RFC 7616 section 3.4.4 requires)."""
    match = _EXT_VALUE_RE.fullmatch(raw)
    if match is None or match["charset"].lower() != "utf-8":
        raise AuthHeaderError("malformed username*")
    encoded = match["v"]
    index = 0
    while index < len(encoded):
        char = encoded[index]
        if char == "%":
            if not re.fullmatch(r"[0-9A-Fa-f]{2}", encoded[index + 1 : index + 3]):
                raise AuthHeaderError("malformed username*")
            index += 3
        elif char in _ATTR_CHARS:
            index += 1
        else:
            raise AuthHeaderError("malformed username*")
    try:
        decoded = unquote(encoded, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        raise AuthHeaderError("username* is not UTF-8") from None
    for pos, char in enumerate(decoded):
        _check_text_char(char, pos)
    return decoded


def _quote(value: str) -> str:
    for pos, char in enumerate(value):
        if (ord(char) < 0x20 and char != "\t") or ord(char) == 0x7F:
            raise ValueError(f"control character at offset {pos} cannot be sent")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _token_or_quoted(value: str) -> str:
    if value and all(char in _TOKEN_CHARS for char in value):
        return value
    return _quote(value)


@dataclass(frozen=True, slots=True)
class DigestCredentials:
    """One parsed `Digest` credentials value (Authorization / Proxy-Authorization).

    Values are kept exactly as sent (they enter the hash that way); `algorithm` is None when
    the client left it out, which means MD5.
    """

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str | None = None
    cnonce: str | None = None
    opaque: str | None = None
    qop: str | None = None
    nc: str | None = None
    userhash: bool = False
    extra: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, value: str) -> DigestCredentials:
        """Parse a header value such as `Digest username="1001", realm=...`.

        Raises AuthHeaderError (status 400) on anything malformed, on a scheme other than
        Digest, on duplicate or missing required parameters.
        """
        scheme, params = _parse_params(value)
        if scheme.lower() != "digest":
            raise AuthHeaderError(f"unsupported auth scheme {scheme!r}")
        fields = dict(params)
        if "username" in fields and "username*" in fields:
            raise AuthHeaderError("both username and username* present")
        if "username*" in fields:
            fields["username"] = _decode_ext_value(fields.pop("username*"))
        for name in ("username", *_REQUIRED):
            if name not in fields:
                raise AuthHeaderError(f"missing parameter {name!r}")
        nc = fields.pop("nc", None)
        if nc is not None and not _NC_RE.fullmatch(nc):
            raise AuthHeaderError("nc must be 8 hex digits")
        userhash_text = fields.pop("userhash", "false").lower()
        if userhash_text not in ("true", "false"):
            raise AuthHeaderError("userhash must be true or false")
        extra = tuple((name, val) for name, val in params if name not in _KNOWN_PARAMS)
        return cls(
            username=fields["username"],
            realm=fields["realm"],
            nonce=fields["nonce"],
            uri=fields["uri"],
            response=fields["response"],
            algorithm=fields.get("algorithm"),
            cnonce=fields.get("cnonce"),
            opaque=fields.get("opaque"),
            qop=fields.get("qop"),
            nc=nc,
            userhash=userhash_text == "true",
            extra=extra,
        )

    def serialize(self) -> str:
        """The header value; `parse(serialize())` gives back an equal object."""
        parts = [
            f"username={_quote(self.username)}",
            f"realm={_quote(self.realm)}",
            f"nonce={_quote(self.nonce)}",
            f"uri={_quote(self.uri)}",
            f"response={_quote(self.response)}",
        ]
        if self.algorithm is not None:
            parts.append(f"algorithm={_token_or_quoted(self.algorithm)}")
        if self.cnonce is not None:
            parts.append(f"cnonce={_quote(self.cnonce)}")
        if self.opaque is not None:
            parts.append(f"opaque={_quote(self.opaque)}")
        if self.qop is not None:
            parts.append(f"qop={_token_or_quoted(self.qop)}")
        if self.nc is not None:
            parts.append(f"nc={self.nc}")
        if self.userhash:
            parts.append("userhash=true")
        parts.extend(f"{name}={_token_or_quoted(val)}" for name, val in self.extra)
        return "Digest " + ", ".join(parts)

    @property
    def nonce_count(self) -> int | None:
        return int(self.nc, 16) if self.nc is not None else None


def parse_credentials(value: str) -> DigestCredentials:
    """Same as DigestCredentials.parse."""
    return DigestCredentials.parse(value)


# ---------------------------------------------------------------------------------------------
# Digest-uri versus Request-URI


def _sip_uri_key(text: str) -> tuple[str, str | None, str, int] | None:
    try:
        uri = SipUri.parse(text)
    except ParseError:
        return None
    # RFC 3261 section 19.1.4: escaped and unescaped user parts are equal, the user part is
    # case-sensitive, the host is not. Missing port = the scheme's default (lenient).
    host = uri.host_ip.lower()
    try:
        host = str(ipaddress.ip_address(host))
    except ValueError:
        host = host.rstrip(".")
    port = uri.port or (5061 if uri.scheme == "sips" else 5060)
    return uri.scheme, uri.unescaped_user, host, port


def uri_matches(credentials: DigestCredentials | str, request_uri: str) -> bool:
    """Whether the digest `uri` names the request's Request-URI (RFC 7616 section 3.4.6).

    Compared as given first; then, for sip/sips URIs, on scheme + user + host + port only
    (parameters and headers ignored, default port filled in), because phones send the digest
    uri with or without `;transport=` and similar decorations; a digest uri without a user
    part matches a Request-URI on the same server.
    """
    digest_uri = credentials.uri if isinstance(credentials, DigestCredentials) else credentials
    if digest_uri == request_uri:
        return True
    left, right = _sip_uri_key(digest_uri), _sip_uri_key(request_uri)
    if left is None or right is None:
        return False
    if left[1] is None:
        # Some UACs (sipp among them) hash the server's address without the user part; the
        # server is still the one named, and nonce-count replay protection still applies.
        return (left[0], left[2], left[3]) == (right[0], right[2], right[3])
    return left == right


# ---------------------------------------------------------------------------------------------
# The authenticator


@dataclass(frozen=True, slots=True)
class AuthResult:
    """Outcome of DigestAuthenticator.verify.

    `stale`: the password was right but the nonce is no longer usable; re-challenge with
    `challenges(now, stale=True)` and do not count it as a failure. `reason` is short text
    for logs and never holds the password or the response hash.
    """

    ok: bool
    username: str
    stale: bool = False
    reason: str = ""

    @property
    def is_failure(self) -> bool:
        """A real authentication failure (feed it to protection.FailureTracker)."""
        return not self.ok and not self.stale


_NONCE_HEAD = struct.Struct(">q")  # issue time in integer milliseconds
_NONCE_RANDOM = 12
_NONCE_MAC = 16
_NONCE_BYTES = _NONCE_HEAD.size + _NONCE_RANDOM + _NONCE_MAC  # 36 bytes -> 48 chars, no "="
_NONCE_TEXT_RE = re.compile(r"[A-Za-z0-9_-]{48}")
_FUTURE_SKEW_MS = 2_000


class DigestAuthenticator:
    """Issues Digest challenges and checks credentials for one realm.

    `key` signs nonces; keep it across restarts to keep outstanding nonces valid.
    `started_at`, when given, is the time this instance started: nonces issued before it
    were never seen by this instance's replay table, so their first use is answered stale
    (one silent re-challenge) instead of being trusted; this closes replays across restarts.
    """

    def __init__(
        self,
        realm: str,
        key: bytes,
        nonce_ttl: float = 300.0,
        algorithms: Iterable[str] = ("SHA-256", "MD5"),
        *,
        max_tracked_nonces: int = 10_000,
        started_at: float | None = None,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        _quote(realm)  # refuses control characters
        if len(key) < 16:
            raise ValueError("nonce key must be at least 16 bytes")
        if not (nonce_ttl > 0 and math.isfinite(nonce_ttl)):
            raise ValueError("nonce_ttl must be a positive number of seconds")
        if max_tracked_nonces < 1:
            raise ValueError("max_tracked_nonces must be at least 1")
        canonical = [canonical_algorithm(name) for name in algorithms]
        if not canonical or len(set(canonical)) != len(canonical):
            raise ValueError("algorithms must be a non-empty list without duplicates")
        self.realm = realm
        self.nonce_ttl = nonce_ttl
        # Challenges go out in the order given: strongest first is RFC 8760's advice, but a
        # fleet of old phones that only read the first challenge needs MD5 first.
        self.algorithms: tuple[str, ...] = tuple(canonical)
        self._key = bytes(key)
        self._realm_bytes = realm.encode("utf-8")
        self._random_bytes = random_bytes
        self._max_tracked = max_tracked_nonces
        self._opaque = _b64(self._mac(b"opaque", b"")[:12])
        # nonce -> (highest nonce-count accepted, issue time in ms); insertion ~ issue order.
        self._nonce_counts: OrderedDict[str, tuple[int, int]] = OrderedDict()
        # Nonces issued at or before this instant and absent from the table may have been
        # used already (evicted, or before a restart): never trust their first use.
        self._floor_ms = _to_ms(started_at) - 1 if started_at is not None else None
        # Stand-in password for unknown users, so both failures cost the same work.
        self._dummy_password = secrets.token_hex(16)

    # -- nonces ---------------------------------------------------------------------------------

    def _mac(self, purpose: bytes, body: bytes) -> bytes:
        message = b"pbxd-digest\x00" + purpose + b"\x00" + self._realm_bytes + b"\x00" + body
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def issue_nonce(self, now: float) -> str:
        """A fresh self-validating nonce: base64url(ms timestamp | random | HMAC)."""
        random_part = self._random_bytes(_NONCE_RANDOM)
        if len(random_part) != _NONCE_RANDOM:
            raise ValueError("random_bytes returned the wrong length")
        body = _NONCE_HEAD.pack(_to_ms(now)) + random_part
        return _b64(body + self._mac(b"nonce", body)[:_NONCE_MAC])

    def _nonce_issued_ms(self, nonce: str) -> int | None:
        """Issue time of a nonce this key signed, or None if forged, foreign or mangled."""
        if not _NONCE_TEXT_RE.fullmatch(nonce):
            return None
        raw = base64.urlsafe_b64decode(nonce)
        # One spelling per nonce, so the replay table cannot be dodged by an alias.
        if len(raw) != _NONCE_BYTES or _b64(raw) != nonce:
            return None
        body, mac = raw[:-_NONCE_MAC], raw[-_NONCE_MAC:]
        if not hmac.compare_digest(mac, self._mac(b"nonce", body)[:_NONCE_MAC]):
            return None
        return int(_NONCE_HEAD.unpack_from(body)[0])

    def _expired(self, issued_ms: int, now_ms: int) -> bool:
        if issued_ms > now_ms + _FUTURE_SKEW_MS:
            return True  # from another clock (e.g. before a reboot): treat as stale
        return now_ms > issued_ms + self.nonce_ttl * 1000

    # -- challenges -----------------------------------------------------------------------------

    def challenges(self, now: float, stale: bool = False) -> list[str]:
        """WWW-Authenticate (401) or Proxy-Authenticate (407) values, one per algorithm.

        In the configured order (SHA-256 first by default, RFC 8760); all share one nonce.
        """
        nonce = self.issue_nonce(now)
        values = []
        for algorithm in self.algorithms:
            value = (
                f'Digest realm={_quote(self.realm)}, nonce="{nonce}", '
                f'opaque="{self._opaque}", algorithm={algorithm}, qop="auth"'
            )
            if stale:
                value += ", stale=true"
            values.append(value)
        return values

    # -- verification ---------------------------------------------------------------------------

    def verify(
        self,
        method: str,
        credentials: DigestCredentials,
        password_for: Callable[[str], str | None],
        now: float,
        *,
        request_uri: str | None = None,
    ) -> AuthResult:
        """Check credentials sent with a request of `method` (RFC 3261 section 22.4).

        `password_for(username)` returns the plain secret, or None for an unknown user (which
        fails exactly like a wrong password). With `request_uri`, the digest uri must also
        match it (see uri_matches). Never raises for bad credentials; only returns.
        """
        now_ms = _to_ms(now)
        self._forget_expired(now_ms)
        username = credentials.username

        def fail(reason: str) -> AuthResult:
            return AuthResult(ok=False, username=username, reason=reason)

        if credentials.realm != self.realm:
            return fail("realm mismatch")
        try:
            algorithm = canonical_algorithm(credentials.algorithm)
        except ValueError:
            return fail("unsupported algorithm")
        if algorithm not in self.algorithms:
            return fail("algorithm not offered")
        if credentials.userhash:
            return fail("userhash not offered")
        qop = credentials.qop
        if qop is not None and qop.lower() != "auth":
            return fail("unsupported qop")
        if qop is not None and (credentials.nc is None or credentials.cnonce is None):
            return fail("qop=auth without nc or cnonce")  # RFC 7616 section 3.4
        if qop is not None and credentials.nonce_count == 0:
            return fail("nonce count zero")  # counting starts at 00000001
        if algorithm.endswith("-sess") and credentials.cnonce is None:
            return fail("-sess algorithm without cnonce")
        issued_ms = self._nonce_issued_ms(credentials.nonce)
        if issued_ms is None:
            return fail("invalid nonce")
        if credentials.opaque is not None and not hmac.compare_digest(
            credentials.opaque.encode("utf-8"), self._opaque.encode("ascii")
        ):
            return fail("opaque mismatch")  # a missing opaque is tolerated (old phones)
        if request_uri is not None and not uri_matches(credentials, request_uri):
            return fail("uri mismatch")

        password = password_for(username)
        known = password is not None
        expected = digest_response(
            algorithm,
            username=username,
            realm=credentials.realm,
            password=password if password is not None else self._dummy_password,
            method=method,
            uri=credentials.uri,
            nonce=credentials.nonce,
            qop=qop,
            nc=credentials.nc,
            cnonce=credentials.cnonce,
        )
        matches = hmac.compare_digest(
            expected.encode("ascii"), credentials.response.lower().encode("utf-8")
        )
        if not (matches and known):
            return fail("bad credentials")  # same text for unknown user and wrong password

        # The client knows the password; from here on only nonce freshness is at stake.
        # RFC 7616 section 3.3: stale only when the digest itself was valid.
        if self._expired(issued_ms, now_ms):
            return AuthResult(ok=False, username=username, stale=True, reason="nonce expired")
        # Without qop (RFC 2069 style) there is no nc: the nonce counts as used once (nc=1).
        count = credentials.nonce_count if qop is not None else 1
        assert count is not None
        seen = self._nonce_counts.get(credentials.nonce)
        if seen is None:
            if self._floor_ms is not None and issued_ms <= self._floor_ms:
                return AuthResult(
                    ok=False, username=username, stale=True, reason="nonce outside replay window"
                )
        elif count <= seen[0]:
            return fail("nonce count not increasing")  # RFC 7616 section 3.4: replay
        self._remember(credentials.nonce, count, issued_ms)
        return AuthResult(ok=True, username=username, reason="ok")

    # -- replay table ---------------------------------------------------------------------------

    def _remember(self, nonce: str, count: int, issued_ms: int) -> None:
        if nonce in self._nonce_counts:
            self._nonce_counts[nonce] = (count, issued_ms)
            return
        while len(self._nonce_counts) >= self._max_tracked:
            _, (_, evicted_ms) = self._nonce_counts.popitem(last=False)
            # Anything issued up to the evicted nonce is now of unknown history.
            if self._floor_ms is None or evicted_ms > self._floor_ms:
                self._floor_ms = evicted_ms
        self._nonce_counts[nonce] = (count, issued_ms)

    def _forget_expired(self, now_ms: int) -> None:
        # Entries are in first-use order, close to issue order: trimming the front is cheap
        # and approximately complete; the size cap bounds whatever it misses.
        while self._nonce_counts:
            _, issued_ms = next(iter(self._nonce_counts.values()))
            if now_ms <= issued_ms + self.nonce_ttl * 1000:
                break
            self._nonce_counts.popitem(last=False)

    @property
    def tracked_nonces(self) -> int:
        """How many nonces the replay table holds (for tests and metrics)."""
        return len(self._nonce_counts)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _to_ms(now: float) -> int:
    if not math.isfinite(now):
        raise ValueError("now must be a finite number of seconds")
    return int(now * 1000)
