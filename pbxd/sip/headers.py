"""SIP header fields: the ordered container and the structured values call control reads.

RFC 3261 section 7.3: names are case-insensitive and have compact forms; several values of a
comma-list header may share one line or be spread over several; values may contain quoted
strings and <URIs> in which commas do not separate.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from .errors import ParseError
from .uri import (
    Uri,
    format_params,
    is_ip_address,
    is_token,
    parse_digits,
    parse_uri,
    split_hostport,
)

T = TypeVar("T")
_MISSING: Any = object()

COMPACT_FORMS = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "n": "Identity-Info",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}

# Canonical spelling for names whose title-casing is not the usual one.
_SPECIAL_CASE = {
    "call-id": "Call-ID",
    "cseq": "CSeq",
    "www-authenticate": "WWW-Authenticate",
    "mime-version": "MIME-Version",
    "rack": "RAck",
    "rseq": "RSeq",
    "sip-etag": "SIP-ETag",
    "sip-if-match": "SIP-If-Match",
}

# Headers whose grammar contains commas that do not separate values (section 7.3.1).
_NOT_COMMA_LISTS = {
    "www-authenticate",
    "authorization",
    "proxy-authenticate",
    "proxy-authorization",
    "authentication-info",
    "date",
    "subject",
    "user-agent",
    "server",
    "organization",
    "call-id",
    "cseq",
    "from",
    "to",
    "content-length",
    "content-type",
    "max-forwards",
    "expires",
    "min-expires",
    "timestamp",
    "retry-after",
    "event",
    "subscription-state",
    "refer-to",
    "referred-by",
    "content-disposition",
    "session-expires",
    "rack",
    "identity",
}

# Headers that may appear at most once (section 20; a duplicate is a 400).
SINGLE_HEADERS = ("Call-ID", "CSeq", "From", "To", "Max-Forwards", "Content-Length", "Content-Type")


@functools.lru_cache(maxsize=1024)
def canonical_name(name: str) -> str:
    lowered = name.lower()
    if len(lowered) == 1 and lowered in COMPACT_FORMS:
        return COMPACT_FORMS[lowered]
    if lowered in _SPECIAL_CASE:
        return _SPECIAL_CASE[lowered]
    return "-".join(part.capitalize() for part in lowered.split("-"))


def split_commas(value: str) -> list[str]:
    """Split a comma list, ignoring commas inside quoted strings and <...>."""
    # Fast paths: most values hold no comma, or no quotes and brackets to protect commas in.
    if '"' not in value:
        if "," not in value:
            stripped = value.strip()
            return [stripped] if stripped else []
        if "<" not in value:
            return [part for part in (p.strip() for p in value.split(",")) if part]
    return [part for part in (p.strip() for p in _split_unquoted(value, ",")) if part]


def _unquoted_positions(text: str, separator: str, *, angle_brackets: bool = True) -> Iterator[int]:
    """Indices of `separator` outside quoted strings (and <...>); ParseError on an open quote."""
    if '"' not in text and (not angle_brackets or "<" not in text):
        # Nothing to skip (the usual case): let str.find do the scanning.
        i = text.find(separator)
        while i >= 0:
            yield i
            i = text.find(separator, i + 1)
        return
    in_quotes = in_angle = escaped = False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif in_quotes:
            if ch == "\\":
                escaped = True
            elif ch == '"':
                in_quotes = False
        elif ch == '"' and not in_angle:
            in_quotes = True
        elif angle_brackets and ch == "<":
            in_angle = True
        elif angle_brackets and ch == ">":
            in_angle = False
        elif ch == separator and not in_angle:
            yield i
    if in_quotes:
        raise ParseError(f"unterminated quoted string in {text[:60]!r}")


def _split_unquoted(text: str, separator: str, *, angle_brackets: bool = True) -> list[str]:
    parts, start = [], 0
    for i in _unquoted_positions(text, separator, angle_brackets=angle_brackets):
        parts.append(text[start:i])
        start = i + 1
    parts.append(text[start:])
    return parts


class Headers:
    """Ordered header fields with case-insensitive, compact-form-aware access.

    Parsed values (`memo`) are kept until the next change: the hot path reads Via, From, To,
    CSeq and Call-ID several times per message, and parsing them once halves its cost.
    """

    __slots__ = ("_fields", "_memo")

    def __init__(self, fields: list[tuple[str, str]] | None = None):
        self._fields: list[tuple[str, str]] = []
        self._memo: dict[str, Any] = {}
        for name, value in fields or []:
            self.add(name, value)

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """`compute()` once per key until the headers change; errors are not remembered."""
        value = self._memo.get(key, _MISSING)
        if value is _MISSING:
            value = self._memo[key] = compute()
        return value

    def forget_parsed(self) -> None:
        """Drop what `memo` holds (to free memory; values are parsed again when asked for)."""
        self._memo.clear()

    def add(self, name: str, value: str) -> None:
        self._memo.clear()
        self._fields.append((canonical_name(name), value))

    def prepend(self, name: str, value: str) -> None:
        self._memo.clear()
        self._fields.insert(0, (canonical_name(name), value))

    def set(self, name: str, value: str) -> None:
        """Replace every field of this name by one, at the place of the first."""
        self._memo.clear()
        name = canonical_name(name)
        for i, (n, _) in enumerate(self._fields):
            if n == name:
                self._fields[i] = (name, value)
                self._fields = [f for j, f in enumerate(self._fields) if j <= i or f[0] != name]
                return
        self._fields.append((name, value))

    def remove(self, name: str) -> None:
        self._memo.clear()
        name = canonical_name(name)
        self._fields = [f for f in self._fields if f[0] != name]

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self._index().get(canonical_name(name))
        return values[0] if values else default

    def get_raw(self, name: str) -> list[str]:
        """Every field line of this name, unsplit."""
        return list(self._index().get(canonical_name(name), ()))

    def _index(self) -> dict[str, list[str]]:
        return self.memo(" index", self._build_index)

    def _build_index(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for name, value in self._fields:
            index.setdefault(name, []).append(value)
        return index

    def get_list(self, name: str) -> list[str]:
        """Every value of a comma-list header, over all its lines."""
        return list(self.memo("list " + name, lambda: self._split_values(name)))

    def _split_values(self, name: str) -> tuple[str, ...]:
        values = self.get_raw(name)
        if canonical_name(name).lower() in _NOT_COMMA_LISTS:
            return tuple(values)
        return tuple(part for value in values for part in split_commas(value))

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def copy(self) -> Headers:
        new = Headers()
        new._fields = list(self._fields)
        return new

    def __repr__(self) -> str:
        return f"Headers({self._fields!r})"


def _split_header_params(text: str) -> tuple[str, str | None]:
    """Split `value;params` at the first ';' outside quotes and <...>; None: no ';' at all."""
    i = next(_unquoted_positions(text, ";"), None)
    if i is None:
        return text.strip(), None
    return text[:i].strip(), text[i + 1 :].strip()


# quoted-string = DQUOTE *(qdtext / quoted-pair) DQUOTE (section 25.1); CR and LF never appear.
_QUOTED = re.compile(r'"(?:[^"\\\r\n]|\\[^\r\n])*"')
# gen-value = token / host / quoted-string: token characters plus those of IP references.
_GEN_VALUE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~\[\]:]+")


def is_quoted_string(text: str) -> bool:
    return bool(_QUOTED.fullmatch(text))


def parse_header_params(text: str | None) -> dict[str, str | None]:
    """Header parameters (generic-param): token [= token / host / quoted-string].

    `text` follows the first ';'; None means there was no ';' and so no parameters.
    """
    params: dict[str, str | None] = {}
    if text is None:
        return params
    for part in split_params_quoted(text):
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not is_token(name):
            raise ParseError(f"bad header parameter {part[:60]!r}")
        if sep and not (_GEN_VALUE.fullmatch(value) or is_quoted_string(value)):
            raise ParseError(f"bad value for parameter {name[:40]!r}")
        params[name.lower()] = value if sep else None
    return params


def split_params_quoted(text: str) -> list[str]:
    return [part.strip() for part in _split_unquoted(text, ";", angle_brackets=False)]


def unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1], flags=re.DOTALL)
    return text


def quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class NameAddr:
    """From, To, Contact, Route, Record-Route values: `"Name" <uri>;params` or `uri;params`."""

    uri: Uri
    display: str | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> NameAddr:
        text = text.strip()
        lt = _find_unquoted(text, "<")
        if lt >= 0:
            gt = text.find(">", lt)
            if gt < 0:
                raise ParseError(f"unterminated <URI> in {text[:60]!r}")
            display = _parse_display(text[:lt].strip())
            uri_text = text[lt + 1 : gt]
            rest = text[gt + 1 :].strip()
            if rest and not rest.startswith(";"):
                raise ParseError(f"garbage after URI in {text[:60]!r}")
            params = parse_header_params(rest[1:] if rest else None)
        else:
            # addr-spec form: parameters after the URI belong to the header, not the URI, and
            # the URI then cannot contain ',', ';' or '?' (section 20.10).
            uri_text, param_text = _split_header_params(text)
            if "?" in uri_text or '"' in uri_text:
                raise ParseError(f"bad addr-spec (URI headers need <>) {text[:60]!r}")
            display = None
            params = parse_header_params(param_text)
        # No LWS inside <> (RFC 4475 section 3.1.2.14): LAQUOT/RAQUOT carry it outside.
        if not uri_text or any(ch.isspace() for ch in uri_text):
            raise ParseError(f"bad URI in {text[:60]!r}")
        return cls(parse_uri(uri_text), display, params)

    def serialize(self) -> str:
        prefix = f"{quote(self.display)} " if self.display else ""
        return f"{prefix}<{self.uri.serialize()}>{format_params(self.params)}"

    __str__ = serialize

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def with_tag(self, tag: str) -> NameAddr:
        return replace(self, params={**self.params, "tag": tag})

    def with_params(self, **params: str | None) -> NameAddr:
        return replace(self, params={**self.params, **params})


def _find_unquoted(text: str, char: str) -> int:
    return next(_unquoted_positions(text, char, angle_brackets=False), -1)


def _parse_display(text: str) -> str | None:
    if not text:
        return None
    if text.startswith('"'):
        if not is_quoted_string(text):
            raise ParseError(f"bad display name {text[:60]!r}")
        return unquote(text)
    # An unquoted display name is a series of tokens separated by LWS.
    if not all(is_token(word) for word in text.split()):
        raise ParseError(f"bad display name {text[:60]!r}")
    return " ".join(text.split())


# sent-protocol = name SLASH version SLASH transport, SLASH = SWS "/" SWS (section 25.1)
_SENT_PROTOCOL = re.compile(r"\s*([^\s/]+)\s*/\s*([^\s/]+)\s*/\s*([^\s/;]+)\s+(.*)", re.DOTALL)
# sent-by = host [ COLON port ], COLON = SWS ":" SWS
_SENT_BY = re.compile(r"(\[[^\]]*\]|[^\s:\[\]]+)(?:\s*:\s*(\S+))?")


@dataclass(frozen=True)
class Via:
    """One Via value (section 20.42), with rport/received of RFC 3581."""

    transport: str
    host: str
    port: int | None = None
    params: dict[str, str | None] = field(default_factory=dict)
    protocol: str = "SIP/2.0"

    @classmethod
    def parse(cls, text: str) -> Via:
        match = _SENT_PROTOCOL.fullmatch(text)
        if not match or not all(is_token(part) for part in match.group(1, 2, 3)):
            raise ParseError(f"bad Via sent-protocol {text[:60]!r}")
        name, version, transport, rest = match.groups()
        by, param_text = _split_header_params(rest.strip())
        by_match = _SENT_BY.fullmatch(by)
        if not by_match:
            raise ParseError(f"bad Via sent-by {text[:60]!r}")
        host, port_text = by_match.groups()
        host, port = split_hostport(host if port_text is None else f"{host}:{port_text}")
        params = parse_header_params(param_text)
        if "branch" in params and not params["branch"]:
            raise ParseError("empty Via branch")
        received, rport = params.get("received", ""), params.get("rport")
        # received is an IP address (section 20.42); some servers bracket IPv6 ones.
        if received is None or (received and not is_ip_address(received.strip("[]"))):
            raise ParseError(f"bad Via received {received!r}")
        if rport is not None:
            parse_digits(rport, "Via rport", 65535)
        return cls(transport.upper(), host, port, params, f"{name}/{version}".upper())

    def serialize(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.protocol}/{self.transport} {self.host}{port}{format_params(self.params)}"

    __str__ = serialize

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def received(self) -> str | None:
        return self.params.get("received")

    @property
    def rport(self) -> int | None:
        """The rport value a server filled in (RFC 3581), None when absent or still empty."""
        value = self.params.get("rport")
        return int(value) if value else None

    def with_params(self, **params: str | None) -> Via:
        return replace(self, params={**self.params, **params})

    def with_source(self, host: str, port: int) -> Via:
        """Note where the request really came from (section 18.2.1, RFC 3581 section 4).

        `host` is the packet's source address without brackets.
        """
        params = dict(self.params)
        if "rport" in params:
            params["rport"] = str(port)
            params["received"] = host
        elif self.host.strip("[]").lower() != host.lower():
            params["received"] = host
        return replace(self, params=params)


_CSEQ = re.compile(r"\s*(\S+)\s+(\S+)\s*")


@dataclass(frozen=True)
class CSeq:
    seq: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        match = _CSEQ.fullmatch(text)
        if not match or not is_token(match.group(2)):
            raise ParseError(f"bad CSeq {text[:60]!r}")
        # Section 8.1.1.5: the sequence number must be less than 2**31.
        return cls(parse_digits(match.group(1), "CSeq number", 2**31 - 1), match.group(2))

    def serialize(self) -> str:
        return f"{self.seq} {self.method}"

    __str__ = serialize


@dataclass(frozen=True)
class Event:
    """Event header (RFC 6665 section 8.2.1): package[.template] with parameters (id ...)."""

    package: str
    params: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Event:
        package, param_text = _split_header_params(text)
        if not is_token(package):
            raise ParseError(f"bad Event {text[:60]!r}")
        return cls(package.lower(), parse_header_params(param_text))

    @property
    def id(self) -> str | None:
        return self.params.get("id")

    def serialize(self) -> str:
        return f"{self.package}{format_params(self.params)}"

    __str__ = serialize


def parse_int_header(text: str, name: str, maximum: int = 2**32 - 1) -> int:
    return parse_digits(text.strip(), name, maximum)


def parse_option_tags(values: Iterable[str], name: str = "option tag") -> list[str]:
    """Require, Proxy-Require, Supported, Unsupported values (section 20.32): tokens."""
    tags = [value.strip() for value in values]
    for tag in tags:
        if not is_token(tag):
            raise ParseError(f"bad {name} {tag[:40]!r}")
    return tags


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SIP_DATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) ([A-Z][a-z]{2}) (\d{4}) "
    r"(\d{2}):(\d{2}):(\d{2}) GMT",
    re.ASCII,
)


def parse_sip_date(text: str) -> datetime:
    """SIP-date (section 20.17): RFC 1123 form, and only the GMT zone."""
    match = _SIP_DATE.fullmatch(text.strip())
    if not match or match.group(2) not in _MONTHS:
        raise ParseError(f"bad Date {text[:40]!r}")
    day, month, year, hour, minute, second = match.groups()
    try:
        return datetime(
            int(year),
            _MONTHS.index(month) + 1,
            int(day),
            int(hour),
            int(minute),
            int(second),
            tzinfo=UTC,
        )
    except ValueError as exc:
        raise ParseError(f"bad Date {text[:40]!r}") from exc
