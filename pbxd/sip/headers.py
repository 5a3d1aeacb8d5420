"""SIP header fields: the ordered container and the structured values call control reads.

RFC 3261 section 7.3: names are case-insensitive and have compact forms; several values of a
comma-list header may share one line or be spread over several; values may contain quoted
strings and <URIs> in which commas do not separate.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from .errors import ParseError
from .uri import Uri, format_params, is_token, parse_uri, split_hostport

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
}

# Headers that may appear at most once (section 20; a duplicate is a 400).
SINGLE_HEADERS = ("Call-ID", "CSeq", "From", "To", "Max-Forwards", "Content-Length", "Content-Type")


def canonical_name(name: str) -> str:
    lowered = name.lower()
    if len(lowered) == 1 and lowered in COMPACT_FORMS:
        return COMPACT_FORMS[lowered]
    if lowered in _SPECIAL_CASE:
        return _SPECIAL_CASE[lowered]
    return "-".join(part.capitalize() for part in lowered.split("-"))


def split_commas(value: str) -> list[str]:
    """Split a comma list, ignoring commas inside quoted strings and <...>."""
    parts: list[str] = []
    current: list[str] = []
    in_quotes = in_angle = escaped = False
    for ch in value:
        if escaped:
            escaped = False
        elif in_quotes and ch == "\\":
            escaped = True
        elif ch == '"' and not in_angle:
            in_quotes = not in_quotes
        elif not in_quotes and ch == "<":
            in_angle = True
        elif not in_quotes and ch == ">":
            in_angle = False
        elif ch == "," and not in_quotes and not in_angle:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    if in_quotes:
        raise ParseError(f"unterminated quoted string in {value!r}")
    parts.append("".join(current).strip())
    return [p for p in parts if p]


class Headers:
    """Ordered header fields with case-insensitive, compact-form-aware access."""

    __slots__ = ("_fields",)

    def __init__(self, fields: list[tuple[str, str]] | None = None):
        self._fields: list[tuple[str, str]] = []
        for name, value in fields or []:
            self.add(name, value)

    def add(self, name: str, value: str) -> None:
        self._fields.append((canonical_name(name), value))

    def prepend(self, name: str, value: str) -> None:
        self._fields.insert(0, (canonical_name(name), value))

    def set(self, name: str, value: str) -> None:
        """Replace every field of this name by one, at the place of the first."""
        name = canonical_name(name)
        for i, (n, _) in enumerate(self._fields):
            if n == name:
                self._fields[i] = (name, value)
                self._fields = [f for j, f in enumerate(self._fields) if j <= i or f[0] != name]
                return
        self._fields.append((name, value))

    def remove(self, name: str) -> None:
        name = canonical_name(name)
        self._fields = [f for f in self._fields if f[0] != name]

    def get(self, name: str, default: str | None = None) -> str | None:
        name = canonical_name(name)
        for n, v in self._fields:
            if n == name:
                return v
        return default

    def get_raw(self, name: str) -> list[str]:
        """Every field line of this name, unsplit."""
        name = canonical_name(name)
        return [v for n, v in self._fields if n == name]

    def get_list(self, name: str) -> list[str]:
        """Every value of a comma-list header, over all its lines."""
        values = self.get_raw(name)
        if name.lower() in _NOT_COMMA_LISTS:
            return values
        return [part for value in values for part in split_commas(value)]

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


def _split_header_params(text: str) -> tuple[str, str]:
    """Split `value;params` at the first ';' outside quotes and <...>."""
    in_quotes = in_angle = escaped = False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif in_quotes and ch == "\\":
            escaped = True
        elif ch == '"' and not in_angle:
            in_quotes = not in_quotes
        elif not in_quotes and ch == "<":
            in_angle = True
        elif not in_quotes and ch == ">":
            in_angle = False
        elif ch == ";" and not in_quotes and not in_angle:
            return text[:i].strip(), text[i + 1 :].strip()
    if in_quotes:
        raise ParseError(f"unterminated quoted string in {text!r}")
    return text.strip(), ""


def parse_header_params(text: str) -> dict[str, str | None]:
    """Header parameters: like URI parameters, but values may be quoted strings."""
    params: dict[str, str | None] = {}
    if not text:
        return params
    for part in split_params_quoted(text):
        name, sep, value = part.partition("=")
        name, value = name.strip(), value.strip()
        if not name or not is_token(name):
            raise ParseError(f"bad header parameter {part!r}")
        if sep and not value:
            raise ParseError(f"empty value for parameter {name!r}")
        if value.startswith('"') and (len(value) < 2 or not value.endswith('"')):
            raise ParseError(f"bad quoted parameter value {value!r}")
        params[name.lower()] = value if sep else None
    return params


def split_params_quoted(text: str) -> list[str]:
    parts, current, in_quotes, escaped = [], [], False, False
    for ch in text:
        if escaped:
            escaped = False
        elif in_quotes and ch == "\\":
            escaped = True
        elif ch == '"':
            in_quotes = not in_quotes
        elif ch == ";" and not in_quotes:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts]


def unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == '"' and text[-1] == '"':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
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
        if "<" in text:
            lt = _find_unquoted(text, "<")
            gt = text.find(">", lt)
            if lt < 0 or gt < 0:
                raise ParseError(f"bad name-addr {text!r}")
            display_text = text[:lt].strip()
            uri_text = text[lt + 1 : gt]
            rest = text[gt + 1 :].strip()
            if rest and not rest.startswith(";"):
                raise ParseError(f"garbage after URI in {text!r}")
            display = _parse_display(display_text)
            params = parse_header_params(rest[1:]) if rest else {}
        else:
            # addr-spec form: parameters after the URI belong to the header, not the URI, and
            # the URI then cannot contain ',', ';' or '?' (section 20.10).
            uri_text, param_text = _split_header_params(text)
            if "?" in uri_text:
                raise ParseError(f"URI with headers must be in <> in {text!r}")
            display = None
            params = parse_header_params(param_text)
        if " " in uri_text.strip() or not uri_text.strip():
            raise ParseError(f"bad URI in {text!r}")
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
    in_quotes = escaped = False
    for i, ch in enumerate(text):
        if escaped:
            escaped = False
        elif in_quotes and ch == "\\":
            escaped = True
        elif ch == '"':
            in_quotes = not in_quotes
        elif ch == char and not in_quotes:
            return i
    return -1


def _parse_display(text: str) -> str | None:
    if not text:
        return None
    if text.startswith('"'):
        if len(text) < 2 or not text.endswith('"'):
            raise ParseError(f"bad display name {text!r}")
        return unquote(text)
    # An unquoted display name is a series of tokens separated by LWS.
    if not all(is_token(word) for word in text.split()):
        raise ParseError(f"bad display name {text!r}")
    return " ".join(text.split())


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
        sent_protocol, _, rest = text.strip().partition(" ")
        parts = [p.strip() for p in sent_protocol.split("/")]
        if len(parts) != 3 or not all(is_token(p) for p in parts):
            raise ParseError(f"bad Via sent-protocol {text!r}")
        by, param_text = _split_header_params(rest.strip())
        if not by:
            raise ParseError(f"Via without sent-by {text!r}")
        host, port = split_hostport(by.replace(" ", ""))
        params = parse_header_params(param_text)
        if "branch" in params and not params["branch"]:
            raise ParseError("empty Via branch")
        return cls(parts[2].upper(), host, port, params, f"{parts[0]}/{parts[1]}".upper())

    def serialize(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.protocol}/{self.transport} {self.host}{port}{format_params(self.params)}"

    __str__ = serialize

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    def with_params(self, **params: str | None) -> Via:
        return replace(self, params={**self.params, **params})


@dataclass(frozen=True)
class CSeq:
    seq: int
    method: str

    @classmethod
    def parse(cls, text: str) -> CSeq:
        parts = text.split()
        if len(parts) != 2 or not parts[0].isdigit() or not is_token(parts[1]):
            raise ParseError(f"bad CSeq {text!r}")
        seq = int(parts[0])
        if seq >= 2**31:
            raise ParseError(f"CSeq number out of range {text!r}")
        return cls(seq, parts[1])

    def serialize(self) -> str:
        return f"{self.seq} {self.method}"

    __str__ = serialize


def parse_int_header(text: str, name: str, maximum: int = 2**32 - 1) -> int:
    text = text.strip()
    if not text.isdigit() or int(text) > maximum:
        raise ParseError(f"bad {name} {text!r}")
    return int(text)
