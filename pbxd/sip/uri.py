"""SIP and SIPS URIs (RFC 3261 section 19.1, grammar in section 25.1).

`SipUri.parse` is strict where routing depends on it (scheme, host, port) and keeps everything
else as written, so that a URI read from a message is sent on unchanged by `serialize()`.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace

from .errors import ParseError

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?:{_LABEL}\.)*{_LABEL}\.?$")
_TOKEN = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+\-.]*$")
# Characters RFC 3261 allows unescaped in the user part (unreserved / escaped / user-unreserved).
_USER = re.compile(r"^(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+$")
_PASSWORD = re.compile(r"^(?:[A-Za-z0-9\-_.!~*'()&=+$,]|%[0-9A-Fa-f]{2})*$")
_PARAM_CHARS = re.compile(r"^(?:[A-Za-z0-9\-_.!~*'()\[\]/:&+$]|%[0-9A-Fa-f]{2})+$")

DEFAULT_PORTS = {"udp": 5060, "tcp": 5060, "tls": 5061, "ws": 80, "wss": 443}


def parse_host(text: str) -> str:
    """Validate a host (hostname, IPv4 or bracketed IPv6 reference) and return it as written."""
    if text.startswith("["):
        if not text.endswith("]"):
            raise ParseError(f"unterminated IPv6 reference {text!r}")
        try:
            ipaddress.IPv6Address(text[1:-1])
        except ValueError as exc:
            raise ParseError(f"bad IPv6 reference {text!r}") from exc
        return text
    if not text or not _HOSTNAME.match(text):
        raise ParseError(f"bad host {text!r}")
    if text.replace(".", "").isdigit():
        try:
            ipaddress.IPv4Address(text)
        except ValueError as exc:
            raise ParseError(f"bad IPv4 address {text!r}") from exc
    return text


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
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ParseError(f"bad port in {text!r}")
    return host, int(port_text)


def parse_params(text: str, *, what: str = "parameter") -> dict[str, str | None]:
    """`;a=1;b;c=x` (leading ';' already stripped) -> ordered dict with lower-cased names."""
    params: dict[str, str | None] = {}
    if not text:
        return params
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not name or not _PARAM_CHARS.match(name):
            raise ParseError(f"bad {what} {part!r}")
        value = value.strip()
        if sep and not value:
            raise ParseError(f"empty value for {what} {name!r}")
        params[name.lower()] = value if sep else None
    return params


def format_params(params: dict[str, str | None]) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


def unescape(text: str) -> str:
    return re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), text)


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
            raise ParseError(f"not a SIP URI: {text!r}")
        user = password = None
        # '@' cannot appear unescaped after the userinfo, while ';' and '?' can appear inside it.
        at = rest.find("@")
        if at >= 0:
            userinfo, rest = rest[:at], rest[at + 1 :]
            user, sep, pw = userinfo.partition(":")
            if not user or not _USER.match(user):
                raise ParseError(f"bad user part in {text!r}")
            if sep:
                if not _PASSWORD.match(pw):
                    raise ParseError(f"bad password part in {text!r}")
                password = pw
        rest, _, headers = rest.partition("?")
        hostport, _, param_text = rest.partition(";")
        host, port = split_hostport(hostport)
        params = parse_params(param_text, what="URI parameter")
        return cls(scheme.lower(), host, user, password, port, params, headers)

    def serialize(self) -> str:
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
        if self.host.lower() != other.host.lower() or self.port != other.port:
            return False
        for name in ("user", "ttl", "method", "maddr", "transport"):
            mine, theirs = self.params.get(name), other.params.get(name)
            if (mine or theirs) and (mine or "").lower() != (theirs or "").lower():
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
        if not sep or not _SCHEME.match(scheme) or not rest or any(c in rest for c in ' <>"'):
            raise ParseError(f"bad URI {text!r}")
        return cls(scheme.lower(), rest)

    def serialize(self) -> str:
        return f"{self.scheme}:{self.rest}"

    __str__ = serialize


Uri = SipUri | AbsoluteUri


def parse_uri(text: str) -> Uri:
    scheme = text.strip().partition(":")[0].lower()
    if scheme in ("sip", "sips"):
        return SipUri.parse(text)
    return AbsoluteUri.parse(text)


def is_token(text: str) -> bool:
    return bool(_TOKEN.match(text))
