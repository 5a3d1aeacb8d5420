"""SIP, SIPS and tel URIs (RFC 3261 section 19.1, grammar in section 25.1; RFC 3966).

`SipUri.parse` is strict where routing depends on it (scheme, host, port, the characters of each
part) and keeps everything else as written, so that a URI read from a message is sent on
unchanged by `serialize()`. Escapes (%HH) are kept as written; `unescaped_user` and
`equivalent()` compare the decoded forms (section 19.1.4).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass, field, replace

from .errors import ParseError

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}\.?")
_TOKEN = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*")
_ESCAPED = r"%[0-9A-Fa-f]{2}"
_UNRESERVED = r"A-Za-z0-9\-_.!~*'()"
# user = 1*( unreserved / escaped / user-unreserved ), user-unreserved = & = + $ , ; ? /
_USER = re.compile(rf"(?:[{_UNRESERVED}&=+$,;?/]|{_ESCAPED})+")
_PASSWORD = re.compile(rf"(?:[{_UNRESERVED}&=+$,]|{_ESCAPED})*")
# paramchar = param-unreserved / unreserved / escaped, param-unreserved = [ ] / : & + $
_PARAM_CHARS = re.compile(rf"(?:[{_UNRESERVED}\[\]/:&+$]|{_ESCAPED})+")
# headers = hname "=" hvalue *( "&" hname "=" hvalue ), of hnv-unreserved = [ ] / ? : + $,
# unreserved and escaped characters
_HEADER_CHARS = re.compile(rf"(?:[{_UNRESERVED}\[\]/?:+$=&]|{_ESCAPED})*")
# RFC 3966: global-number-digits = "+" *phonedigit DIGIT *phonedigit; local numbers add hex, * #
# (the "at least one digit" part is checked in code, a regex for it would backtrack badly).
_TEL_NUMBER = re.compile(r"\+?[0-9A-Fa-f*#\-.()]+")
_TEL_VISUAL = re.compile(r"[\-.()]")

DEFAULT_PORTS = {"udp": 5060, "tcp": 5060, "tls": 5061, "ws": 80, "wss": 443}
MAX_DIGITS = 10  # longer digit strings are out of range for every SIP integer field


def parse_digits(text: str, what: str, maximum: int) -> int:
    """An ASCII decimal of at most `maximum`; leading zeros allowed (RFC 4475 section 3.1.1.1)."""
    digits = text.lstrip("0") or "0"
    if not text or not text.isascii() or not text.isdigit() or len(digits) > MAX_DIGITS:
        raise ParseError(f"bad {what} {text[:40]!r}")
    value = int(digits)
    if value > maximum:
        raise ParseError(f"{what} out of range {text[:40]!r}")
    return value


@functools.lru_cache(maxsize=4096)
def parse_host(text: str) -> str:
    """Validate a host (hostname, IPv4 or bracketed IPv6 reference) and return it as written."""
    if text.startswith("["):
        if not text.endswith("]") or not _is_ipv6(text[1:-1]):
            raise ParseError(f"bad IPv6 reference {text!r}")
        return text
    if not _HOSTNAME.fullmatch(text):
        raise ParseError(f"bad host {text!r}")
    if text.replace(".", "").isdigit():
        try:
            ipaddress.IPv4Address(text)
        except ValueError as exc:
            raise ParseError(f"bad IPv4 address {text!r}") from exc
    return text


def _is_ipv6(text: str) -> bool:
    # A zone index (%eth0) is not part of the SIP grammar.
    if "%" in text or not text.isascii():
        return False
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


@functools.lru_cache(maxsize=4096)
def is_ip_address(text: str) -> bool:
    """IPv4 or IPv6 address without brackets, as the Via received parameter carries it."""
    if _is_ipv6(text):
        return True
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return False
    return text.isascii()


def split_hostport(text: str) -> tuple[str, int | None]:
    """`host[:port]` -> (host, port); IPv6 hosts keep their brackets."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ParseError(f"unterminated IPv6 reference {text!r}")
        host, rest = text[: end + 1], text[end + 1 :]
        if rest and not rest.startswith(":"):
            raise ParseError(f"garbage after IPv6 reference {text!r}")
        port_text = rest[1:] if rest else None
    else:
        host, sep, port_text = text.partition(":")
        if not sep:
            port_text = None
    host = parse_host(host)
    if port_text is None:
        return host, None
    port = parse_digits(port_text, "port", 65535)
    if port == 0:
        raise ParseError(f"bad port in {text!r}")
    return host, port


def parse_params(text: str | None, *, what: str = "parameter") -> dict[str, str | None]:
    """`a=1;b;c=x` (after the first ';'; None: no ';') -> ordered dict, lower-cased names."""
    params: dict[str, str | None] = {}
    if text is None:
        return params
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        if not _PARAM_CHARS.fullmatch(name) or (sep and not _PARAM_CHARS.fullmatch(value)):
            raise ParseError(f"bad {what} {part[:60]!r}")
        params[name.lower()] = value if sep else None
    return params


def format_params(params: dict[str, str | None]) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


def unescape(text: str) -> str:
    """Decode %HH escapes as UTF-8; invalid sequences keep their bytes as surrogate escapes."""
    if "%" not in text:
        return text
    raw = re.sub(
        rb"%([0-9A-Fa-f]{2})",
        lambda m: bytes([int(m.group(1), 16)]),
        text.encode("utf-8", "surrogateescape"),
    )
    return raw.decode("utf-8", "surrogateescape")


@dataclass(frozen=True)
class SipUri:
    scheme: str  # "sip" or "sips"
    host: str
    user: str | None = None
    password: str | None = None
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    headers: str = ""

    @classmethod
    def parse(cls, text: str) -> SipUri:
        scheme, sep, rest = text.strip().partition(":")
        if not sep or scheme.lower() not in ("sip", "sips"):
            raise ParseError(f"not a SIP URI: {text[:60]!r}")
        user = password = None
        # '@' cannot appear unescaped after the userinfo, while ';' and '?' can appear inside it.
        at = rest.find("@")
        if at >= 0:
            userinfo, rest = rest[:at], rest[at + 1 :]
            user, sep, pw = userinfo.partition(":")
            if not _USER.fullmatch(user):
                raise ParseError(f"bad user part in {text[:60]!r}")
            if sep:
                if not _PASSWORD.fullmatch(pw):
                    raise ParseError(f"bad password part in {text[:60]!r}")
                password = pw
        rest, _, headers = rest.partition("?")
        if not _HEADER_CHARS.fullmatch(headers):
            raise ParseError(f"bad URI headers in {text[:60]!r}")
        hostport, sep, param_text = rest.partition(";")
        host, port = split_hostport(hostport)
        params = parse_params(param_text if sep else None, what="URI parameter")
        return cls(scheme.lower(), host, user, password, port, params, headers)

    def serialize(self) -> str:
        return self._text

    @functools.cached_property
    def _text(self) -> str:
        # Instances are not changed after creation (changes go through `with_`): build once.
        out = [self.scheme, ":"]
        if self.user is not None:
            out.append(self.user)
            if self.password is not None:
                out += [":", self.password]
            out.append("@")
        out.append(self.host)
        if self.port is not None:
            out += [":", str(self.port)]
        out.append(format_params(self.params))
        if self.headers:
            out += ["?", self.headers]
        return "".join(out)

    __str__ = serialize

    @property
    def transport(self) -> str:
        value = self.params.get("transport")
        if value:
            return value.lower()
        return "tls" if self.scheme == "sips" else "udp"

    @property
    def host_ip(self) -> str:
        """Host without IPv6 brackets, as sockets want it."""
        return self.host[1:-1] if self.host.startswith("[") else self.host

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS.get(self.transport, 5060)

    @property
    def unescaped_user(self) -> str | None:
        return unescape(self.user) if self.user is not None else None

    def with_(self, **changes) -> SipUri:
        return replace(self, **changes)

    def equivalent(self, other: SipUri) -> bool:
        """URI comparison of RFC 3261 section 19.1.4, enough for routing decisions."""
        if self.scheme != other.scheme or self.unescaped_user != other.unescaped_user:
            return False
        if self.password != other.password:
            return False
        if self.host.lower() != other.host.lower() or self.port != other.port:
            return False
        for name in ("user", "ttl", "method", "maddr", "transport"):
            mine, theirs = self.params.get(name), other.params.get(name)
            if (mine or theirs) and unescape(mine or "").lower() != unescape(theirs or "").lower():
                return False
        return True


@dataclass(frozen=True)
class AbsoluteUri:
    """A non-SIP URI (tel:, mailto:, urn: ...) kept as written."""

    scheme: str
    rest: str

    @classmethod
    def parse(cls, text: str) -> AbsoluteUri:
        scheme, sep, rest = text.strip().partition(":")
        if not sep or not _SCHEME.fullmatch(scheme) or not rest or not _is_uric(rest):
            raise ParseError(f"bad URI {text[:60]!r}")
        if scheme.lower() == "tel":
            return TelUri.parse_rest(rest)
        return cls(scheme.lower(), rest)

    def serialize(self) -> str:
        return f"{self.scheme}:{self.rest}"

    __str__ = serialize


def _is_uric(text: str) -> bool:
    # Printable ASCII or non-ASCII (IRIs); no LWS, controls or the delimiters of name-addr.
    return not any(ch <= " " or ch == "\x7f" or ch in '<>"' for ch in text)


@dataclass(frozen=True)
class TelUri(AbsoluteUri):
    """tel: URI (RFC 3966); still an `AbsoluteUri` with scheme "tel" and `rest` as written."""

    number: str = ""
    params: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse_rest(cls, rest: str) -> TelUri:
        number, sep, param_text = rest.partition(";")
        params = parse_params(param_text if sep else None, what="tel parameter")
        # A local number should carry a phone-context (section 5.1.5); phones often omit it.
        digits = _TEL_VISUAL.sub("", number.removeprefix("+"))
        if not _TEL_NUMBER.fullmatch(number) or not digits:
            raise ParseError(f"bad tel number {number[:40]!r}")
        if number.startswith("+") and not digits.isdigit():
            raise ParseError(f"bad global tel number {number[:40]!r}")
        return cls("tel", rest, number, params)

    @property
    def is_global(self) -> bool:
        return self.number.startswith("+")

    @property
    def digits(self) -> str:
        """The number without visual separators (section 5.1.1), for comparison and routing."""
        return _TEL_VISUAL.sub("", self.number).upper()


Uri = SipUri | AbsoluteUri


def parse_uri(text: str) -> Uri:
    scheme = text.strip().partition(":")[0].lower()
    if scheme in ("sip", "sips"):
        return SipUri.parse(text)
    return AbsoluteUri.parse(text)


@functools.lru_cache(maxsize=4096)
def is_token(text: str) -> bool:
    return bool(_TOKEN.fullmatch(text))
