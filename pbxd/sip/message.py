"""SIP messages: parse and serialize (RFC 3261 sections 7, 20, 25).

`parse_message(bytes)` returns a `Request` or `Response`, or raises:
- `ParseError` when the bytes are not a SIP message (the datagram is dropped and counted);
- `InvalidMessage` when it parsed far enough to be answered, carrying the best-effort message
  and the status to answer with.

`Request.validate()` then applies the checks of section 8.2 that this layer can decide (400, 416,
505). Statuses that need more knowledge (405/501 methods, 420 Require, 481, 482, 483 Max-Forwards,
489 Event, 423 Expires, 415 bodies) are decided above; the properties here parse what they need.
Only `ParseError` (and its subclass `InvalidMessage`) leaves this module on bad input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from .errors import InvalidMessage, ParseError, UnsupportedUriScheme, VersionNotSupported
from .headers import (
    SINGLE_HEADERS,
    CSeq,
    Event,
    Headers,
    NameAddr,
    Via,
    canonical_name,
    parse_int_header,
    parse_option_tags,
    parse_sip_date,
)
from .uri import SipUri, Uri, is_token, parse_uri

SIP_VERSION = "SIP/2.0"
MAX_MESSAGE_SIZE = 65535

REASONS = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    200: "OK",
    202: "Accepted",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    420: "Bad Extension",
    423: "Interval Too Brief",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    489: "Bad Event",
    491: "Request Pending",
    500: "Server Internal Error",
    501: "Not Implemented",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    600: "Busy Everywhere",
    603: "Decline",
}

_HEADER_NAME = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
# Status-Line = SIP-Version SP Status-Code SP Reason-Phrase; a missing SP+reason is tolerated
# (RFC 4475 section 3.1.1.13 allows a liberal receiver to accept it).
_STATUS_LINE = re.compile(r"SIP/(\d+)\.(\d+) (\d{3})(?: (.*))?", re.ASCII | re.IGNORECASE)
_VERSION = re.compile(r"SIP/\d+\.\d+", re.ASCII | re.IGNORECASE)
# Headers a response copies from its request (section 8.2.6.2).
_COPIED_TO_RESPONSE = ("Via", "From", "To", "Call-ID", "CSeq")
# Methods whose 101-299 responses can establish a dialog and so carry Record-Route (section
# 12.1.1; RFC 6665 for SUBSCRIBE/NOTIFY, RFC 3515 for REFER).
_DIALOG_METHODS = frozenset({"INVITE", "SUBSCRIBE", "NOTIFY", "REFER"})


@dataclass
class Message:
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    # Structured access to the headers call control reads. Each parses on demand and raises
    # ParseError on a malformed value; `validate()` calls them all once at the boundary.
    @property
    def call_id(self) -> str:
        return self.headers.memo("Call-ID", self._call_id)

    def _call_id(self) -> str:
        value = self.headers.get("Call-ID")
        if not value or any(ch.isspace() for ch in value.strip()):
            raise ParseError("missing or bad Call-ID")
        return value.strip()

    @property
    def cseq(self) -> CSeq:
        return self.headers.memo("CSeq", self._cseq)

    def _cseq(self) -> CSeq:
        value = self.headers.get("CSeq")
        if value is None:
            raise ParseError("missing CSeq")
        return CSeq.parse(value)

    @property
    def from_(self) -> NameAddr:
        return self.headers.memo("From", self._from)

    def _from(self) -> NameAddr:
        value = self.headers.get("From")
        if value is None:
            raise ParseError("missing From")
        return NameAddr.parse(value)

    @property
    def to(self) -> NameAddr:
        return self.headers.memo("To", self._to)

    def _to(self) -> NameAddr:
        value = self.headers.get("To")
        if value is None:
            raise ParseError("missing To")
        return NameAddr.parse(value)

    @property
    def vias(self) -> list[Via]:
        return list(
            self.headers.memo("Via", lambda: tuple(map(Via.parse, self.headers.get_list("Via"))))
        )

    @property
    def top_via(self) -> Via:
        return self.headers.memo("top Via", self._top_via)

    def _top_via(self) -> Via:
        values = self.headers.get_list("Via")
        if not values:
            raise ParseError("missing Via")
        return Via.parse(values[0])

    @property
    def contacts(self) -> list[NameAddr]:
        """Contact values; `Contact: *` is reported by `is_wildcard_contact`."""
        return [NameAddr.parse(v) for v in self.headers.get_list("Contact") if v.strip() != "*"]

    @property
    def is_wildcard_contact(self) -> bool:
        return [v.strip() for v in self.headers.get_list("Contact")] == ["*"]

    @property
    def route_set(self) -> list[NameAddr]:
        return [NameAddr.parse(v) for v in self.headers.get_list("Route")]

    @property
    def record_routes(self) -> list[NameAddr]:
        return [NameAddr.parse(v) for v in self.headers.get_list("Record-Route")]

    @property
    def expires(self) -> int | None:
        value = self.headers.get("Expires")
        return None if value is None else parse_int_header(value, "Expires")

    @property
    def content_type(self) -> str | None:
        value = self.headers.get("Content-Type")
        return value.split(";")[0].strip().lower() if value else None

    @property
    def require(self) -> list[str]:
        """Option tags of Require (section 20.32): a UAS answers unknown ones with 420."""
        return parse_option_tags(self.headers.get_list("Require"))

    @property
    def proxy_require(self) -> list[str]:
        return parse_option_tags(self.headers.get_list("Proxy-Require"))

    @property
    def supported(self) -> list[str]:
        return parse_option_tags(self.headers.get_list("Supported"))

    @property
    def event(self) -> Event | None:
        value = self.headers.get("Event")
        return None if value is None else Event.parse(value)

    @property
    def date(self) -> datetime | None:
        """Date header; raises ParseError for any zone but GMT (RFC 4475 section 3.1.2.12)."""
        value = self.headers.get("Date")
        return None if value is None else parse_sip_date(value)

    def serialize(self) -> bytes:
        lines = [self.start_line()]
        for name, value in self.headers:
            if name != "Content-Length":
                lines.append(f"{name}: {value}")
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body

    def start_line(self) -> str:
        raise NotImplementedError


@dataclass
class Request(Message):
    method: str = "OPTIONS"
    uri: Uri = field(default_factory=lambda: SipUri("sip", "invalid"))
    version: str = SIP_VERSION

    def start_line(self) -> str:
        return f"{self.method} {self.uri.serialize()} {self.version}"

    @property
    def max_forwards(self) -> int | None:
        value = self.headers.get("Max-Forwards")
        return None if value is None else parse_int_header(value, "Max-Forwards", 255)

    def response(
        self, status: int, reason: str | None = None, *, to_tag: str | None = None
    ) -> Response:
        """A response to this request (section 8.2.6.2): copies Via, From, To, Call-ID, CSeq.

        Never raises on a malformed request: a To that does not parse is copied as it is, so
        that even an invalid request can be answered with a 400.
        """
        headers = Headers()
        for name in _COPIED_TO_RESPONSE:
            for value in self.headers.get_raw(name):
                if name == "To" and to_tag is not None and status != 100:
                    value = _with_to_tag(value, to_tag)
                headers.add(name, value)
        if status == 100:
            # Section 8.2.6.1: a 100 echoes the request's Timestamp.
            for value in self.headers.get_raw("Timestamp"):
                headers.add("Timestamp", value)
        if 100 < status < 300 and self.method in _DIALOG_METHODS:
            # A dialog-creating response carries the request's Record-Route (section 12.1.1).
            for value in self.headers.get_raw("Record-Route"):
                headers.add("Record-Route", value)
        return Response(headers=headers, status=status, reason=reason or REASONS.get(status, ""))

    def validate(self) -> None:
        """Checks of section 8.2 this layer can decide; raises InvalidMessage (400, 416, 505)."""
        if self.version.upper() != SIP_VERSION:
            raise InvalidMessage(f"version {self.version}", self, VersionNotSupported.status)
        if not isinstance(self.uri, SipUri) and self.uri.scheme != "tel":
            # Section 8.2.2.1: only the Request-URI scheme is answered with 416; unknown schemes
            # in To, From or Contact are the business of the element using them.
            raise InvalidMessage(f"URI scheme {self.uri.scheme}", self, UnsupportedUriScheme.status)
        try:
            cseq = self.cseq
            _validate_common(self)
            self.max_forwards  # noqa: B018 - a missing one is tolerated, a bad one is not
            self.require  # noqa: B018
            self.proxy_require  # noqa: B018
            self.event  # noqa: B018
        except ParseError as exc:
            raise InvalidMessage(exc.detail, self) from exc
        if cseq.method != self.method:
            raise InvalidMessage(f"CSeq method {cseq.method} does not match {self.method}", self)
        if isinstance(self.uri, SipUri) and (self.uri.headers or "method" in self.uri.params):
            # Section 19.1.1, table 1 (RFC 4475 section 3.1.2.11): headers and the method
            # parameter have no meaning in a Request-URI.
            raise InvalidMessage("headers or method parameter in the Request-URI", self)


@dataclass
class Response(Message):
    status: int = 200
    reason: str = "OK"
    version: str = SIP_VERSION

    def start_line(self) -> str:
        return f"{self.version} {self.status} {self.reason}"

    @property
    def is_provisional(self) -> bool:
        return self.status < 200

    def validate(self) -> None:
        try:
            self.cseq  # noqa: B018 - parses and raises on a bad value
            _validate_common(self, routing=False)
        except ParseError as exc:
            raise InvalidMessage(exc.detail, self) from exc


def _with_to_tag(value: str, to_tag: str) -> str:
    try:
        to = NameAddr.parse(value)
    except ParseError:
        return value
    return value if to.tag else f"{value};tag={to_tag}"


def _validate_common(msg: Message, *, routing: bool = True) -> None:
    """Parse what the layers above read; `routing`: Route too (requests only)."""
    for name in SINGLE_HEADERS:
        if len(msg.headers.get_raw(name)) > 1:
            raise ParseError(f"more than one {name}")
    msg.call_id  # noqa: B018
    if not msg.headers.get_list("Via"):
        raise ParseError("missing Via")
    msg.vias  # noqa: B018
    msg.from_  # noqa: B018
    msg.to  # noqa: B018
    msg.expires  # noqa: B018
    if "Contact" in msg.headers and not msg.is_wildcard_contact:
        msg.contacts  # noqa: B018
    if routing:
        msg.route_set  # noqa: B018
    msg.record_routes  # noqa: B018


def parse_message(data: bytes, *, stream: bool = False) -> Request | Response:
    """Parse one whole message (a datagram, or a frame cut by `StreamFramer`)."""
    if len(data) > MAX_MESSAGE_SIZE:
        raise ParseError("message too large")
    # Keep-alive CRLFs (RFC 5626 section 3.5.1) may precede a message.
    data = data.lstrip(b"\r\n")
    head, sep, body = _split_head(data)
    if not sep and not stream:
        # A datagram without the empty line: tolerate it only if it has no body at all.
        head, body = data, b""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError("header section is not UTF-8") from exc
    lines = _unfold(text)
    if not lines:
        raise ParseError("empty message")
    msg, problem = _parse_start_line(lines[0])
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        name = name.strip()
        if colon and _HEADER_NAME.fullmatch(name):
            msg.headers.add(name, value.strip())
        elif problem is None:
            problem = f"bad header line {line[:60]!r}"
    if problem is None:
        msg.body, problem = _cut_body(msg, body, stream=stream)
    if problem is not None:
        # A request whose routing headers parse can still be answered with a 400.
        if isinstance(msg, Request) and _answerable(msg):
            raise InvalidMessage(problem, msg)
        raise ParseError(problem)
    return msg


def _split_head(data: bytes | bytearray) -> tuple[bytes, bytes, bytes]:
    """(header section, separator, rest); the separator is empty when there is none yet."""
    end, sep = _head_end(data)
    if end < 0:
        return bytes(data), b"", b""
    return bytes(data[:end]), sep, bytes(data[end + len(sep) :])


def _head_end(data: bytes | bytearray, start: int = 0) -> tuple[int, bytes]:
    """Where the empty line ending the header section starts, and its bytes; -1 if none yet."""
    idx = data.find(b"\r\n\r\n", start)
    # Bare LF line ends are not RFC 3261 but are sent by some devices; accept them.
    lf_idx = data.find(b"\n\n", start, None if idx < 0 else idx)
    if lf_idx >= 0:
        return lf_idx, b"\n\n"
    return idx, b"\r\n\r\n"


def _unfold(text: str) -> list[str]:
    """Split into lines and join folded continuation lines (section 7.3.1)."""
    lines: list[str] = []
    for raw in re.split(r"\r\n|\n", text):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] = lines[-1].rstrip() + " " + raw.strip()
        elif raw.strip() == "" and not lines:
            continue
        else:
            lines.append(raw)
    return lines


def _parse_start_line(line: str) -> tuple[Request | Response, str | None]:
    """The message the start line begins, and what is wrong with it if it is an answerable
    request (known method and version, broken Request-URI or spacing); raises otherwise."""
    if line[:4].upper() == "SIP/":
        match = _STATUS_LINE.fullmatch(line)
        if not match:
            raise ParseError(f"bad status line {line[:60]!r}")
        major, minor, status, reason = match.groups()
        if (major.lstrip("0"), minor.lstrip("0") or "0") != ("2", "0"):
            raise ParseError(f"unsupported SIP version in response {line[:40]!r}")
        code = int(status)
        if not 100 <= code <= 699:
            raise ParseError(f"bad status code {code}")
        return Response(status=code, reason=reason or ""), None
    method, _, rest = line.partition(" ")
    trimmed = rest.rstrip(" ")
    uri_text, _, version = trimmed.rpartition(" ")
    if not is_token(method) or not _VERSION.fullmatch(version):
        raise ParseError(f"bad request line {line[:60]!r}")
    request = Request(method=method, version=version.upper())
    # Request-Line = Method SP Request-URI SP SIP-Version: exactly one SP each (RFC 4475
    # sections 3.1.2.8-10 allow rejecting extra or trailing spaces, which we do with a 400).
    if not uri_text or " " in uri_text or trimmed != rest:
        return request, f"bad spacing in request line {line[:60]!r}"
    try:
        request.uri = parse_uri(uri_text)
    except ParseError as exc:
        return request, f"bad Request-URI: {exc.detail}"
    return request, None


def _answerable(msg: Message) -> bool:
    try:
        msg.top_via  # noqa: B018
        msg.call_id  # noqa: B018
        msg.cseq  # noqa: B018
        msg.from_  # noqa: B018
        msg.to  # noqa: B018
    except ParseError:
        return False
    return True


def _cut_body(msg: Request | Response, body: bytes, *, stream: bool) -> tuple[bytes, str | None]:
    values = msg.headers.get_raw("Content-Length")
    if not values:
        if stream:
            return b"", "Content-Length is required on a stream transport"
        return body, None
    if len({v.strip() for v in values}) > 1:
        return b"", "conflicting Content-Length values"
    try:
        length = parse_int_header(values[0], "Content-Length", MAX_MESSAGE_SIZE)
    except ParseError as exc:
        return b"", exc.detail
    if length > len(body):
        # Section 18.3: a datagram shorter than its Content-Length is an error; answer a request.
        return b"", f"Content-Length {length} exceeds body of {len(body)} bytes"
    # Octets after the body are discarded (section 18.3, RFC 4475 section 3.1.1.8).
    return body[:length], None


class StreamFramer:
    """Cuts a TCP byte stream into messages by the empty line and Content-Length (section 18.3).

    A framing error (no or bad Content-Length, oversize) cannot be recovered from: `feed` raises
    ParseError, and keeps raising, and the transport closes the connection.
    """

    def __init__(self, max_size: int = MAX_MESSAGE_SIZE):
        self._buffer = bytearray()
        self._max_size = max_size
        self._error: ParseError | None = None
        self._scanned = 0  # no empty line before this offset: bytes fed one by one stay linear

    def feed(self, data: bytes) -> list[bytes]:
        """Append bytes and return the whole frames now available; raise ParseError on garbage."""
        if self._error is not None:
            raise self._error
        self._buffer += data
        frames: list[bytes] = []
        try:
            while (frame := self._next_frame()) is not None:
                frames.append(frame)
        except ParseError as exc:
            self._error = exc
            raise
        return frames

    def _next_frame(self) -> bytes | None:
        # Keep-alive CRLFs between messages (RFC 5626 section 3.5.1) are skipped.
        while self._buffer[:1] == b"\n" or self._buffer[:2] == b"\r\n":
            del self._buffer[: 1 if self._buffer[:1] == b"\n" else 2]
            self._scanned = 0
        end, sep = _head_end(self._buffer, max(0, self._scanned - 3))
        if end < 0:
            if len(self._buffer) > self._max_size:
                raise ParseError("header section too large")
            self._scanned = len(self._buffer)
            return None
        total = end + len(sep) + _content_length_of(bytes(self._buffer[:end]))
        if total > self._max_size:
            raise ParseError("message too large")
        if len(self._buffer) < total:
            return None
        frame = bytes(self._buffer[:total])
        del self._buffer[:total]
        self._scanned = 0
        return frame

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a whole frame."""
        return len(self._buffer)


def _content_length_of(head: bytes) -> int:
    lengths = set()
    for line in _unfold(head.decode("latin-1"))[1:]:
        name, colon, value = line.partition(":")
        if colon and canonical_name(name.strip()) == "Content-Length":
            lengths.add(parse_int_header(value, "Content-Length", MAX_MESSAGE_SIZE))
    if len(lengths) != 1:
        raise ParseError("a stream message needs one Content-Length (section 18.3)")
    return lengths.pop()
