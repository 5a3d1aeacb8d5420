"""SIP messages: parse and serialize (RFC 3261 sections 7, 20, 25).

`parse_message(bytes)` returns a `Request` or `Response`, or raises:
- `ParseError` when the bytes are not a SIP message (the datagram is dropped and counted);
- `InvalidMessage` when it parsed far enough to be answered, carrying the best-effort message
  and the status to answer with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import InvalidMessage, ParseError, UnsupportedUriScheme, VersionNotSupported
from .headers import (
    SINGLE_HEADERS,
    CSeq,
    Headers,
    NameAddr,
    Via,
    canonical_name,
    parse_int_header,
    split_commas,
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

_HEADER_NAME = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")
_STATUS_LINE = re.compile(r"^SIP/(\d+)\.(\d+) (\d{3}) (.*)$", re.IGNORECASE)
# Headers a response copies from its request (section 8.2.6.2).
_COPIED_TO_RESPONSE = ("Via", "From", "To", "Call-ID", "CSeq")


@dataclass
class Message:
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    # Structured access to the headers call control reads. Each parses on demand and raises
    # ParseError on a malformed value; `validate()` calls them all once at the boundary.
    @property
    def call_id(self) -> str:
        value = self.headers.get("Call-ID")
        if not value or " " in value.strip():
            raise ParseError("missing or bad Call-ID")
        return value.strip()

    @property
    def cseq(self) -> CSeq:
        value = self.headers.get("CSeq")
        if value is None:
            raise ParseError("missing CSeq")
        return CSeq.parse(value)

    @property
    def from_(self) -> NameAddr:
        value = self.headers.get("From")
        if value is None:
            raise ParseError("missing From")
        return NameAddr.parse(value)

    @property
    def to(self) -> NameAddr:
        value = self.headers.get("To")
        if value is None:
            raise ParseError("missing To")
        return NameAddr.parse(value)

    @property
    def vias(self) -> list[Via]:
        return [Via.parse(v) for v in self.headers.get_list("Via")]

    @property
    def top_via(self) -> Via:
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
        """A response to this request (section 8.2.6.2): copies Via, From, To, Call-ID, CSeq."""
        headers = Headers()
        for name in _COPIED_TO_RESPONSE:
            for value in self.headers.get_raw(name):
                if name == "To" and to_tag is not None and status != 100:
                    to = NameAddr.parse(value)
                    value = value if to.tag else f"{value};tag={to_tag}"
                headers.add(name, value)
        if status != 100 and self.method == "INVITE" and 100 < status < 300:
            # A dialog-creating response carries the request's Record-Route (section 12.1.1).
            for value in self.headers.get_raw("Record-Route"):
                headers.add("Record-Route", value)
        return Response(headers=headers, status=status, reason=reason or REASONS.get(status, ""))

    def validate(self) -> None:
        """Checks of section 8.2 that make a request a 4xx; raises InvalidMessage."""
        try:
            _validate_common(self)
            self.max_forwards  # noqa: B018 - a missing one is tolerated, a bad one is not
            cseq = self.cseq
        except ParseError as exc:
            raise InvalidMessage(exc.detail, self) from exc
        if cseq.method != self.method:
            raise InvalidMessage(f"CSeq method {cseq.method} does not match {self.method}", self)
        if self.version.upper() != SIP_VERSION:
            raise InvalidMessage(f"version {self.version}", self, VersionNotSupported.status)
        if not isinstance(self.uri, SipUri) and self.uri.scheme not in ("tel",):
            raise InvalidMessage(f"URI scheme {self.uri.scheme}", self, UnsupportedUriScheme.status)
        for name in ("From", "To", "Contact"):
            for value in self.headers.get_raw(name):
                _check_uri_schemes(value, self, name)


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
            _validate_common(self)
            self.cseq  # noqa: B018 - parses and raises on a bad value
        except ParseError as exc:
            raise InvalidMessage(exc.detail, self) from exc


def _validate_common(msg: Message) -> None:
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
    msg.route_set  # noqa: B018


def _check_uri_schemes(value: str, request: Request, name: str) -> None:
    if name == "Contact" and value.strip() == "*":
        return
    values = split_commas(value) if name == "Contact" else [value]
    for addr in map(NameAddr.parse, values):
        if not isinstance(addr.uri, SipUri) and addr.uri.scheme not in ("tel",):
            raise InvalidMessage(
                f"{name} URI scheme {addr.uri.scheme}", request, UnsupportedUriScheme.status
            )


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
    msg = _parse_start_line(lines[0])
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        name = name.strip()
        if not colon or not name or not _HEADER_NAME.match(name):
            raise _invalid_or_parse(msg, f"bad header line {line[:60]!r}")
        msg.headers.add(name, value.strip())
    msg.body = _cut_body(msg, body, stream=stream)
    return msg


def _split_head(data: bytes) -> tuple[bytes, bytes, bytes]:
    idx = data.find(b"\r\n\r\n")
    lf_idx = data.find(b"\n\n")
    if idx >= 0 and (lf_idx < 0 or idx <= lf_idx):
        return data[:idx], b"\r\n\r\n", data[idx + 4 :]
    if lf_idx >= 0:
        # Bare LF line ends are not RFC 3261 but are sent by some devices; accept them.
        return data[:lf_idx], b"\n\n", data[lf_idx + 2 :]
    return data, b"", b""


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


def _parse_start_line(line: str) -> Request | Response:
    if line.upper().startswith("SIP/"):
        match = _STATUS_LINE.match(line)
        if not match:
            raise ParseError(f"bad status line {line[:60]!r}")
        major, minor, status, reason = match.groups()
        if (major, minor) != ("2", "0"):
            raise ParseError(f"unsupported SIP version in response {line[:40]!r}")
        code = int(status)
        if not 100 <= code <= 699:
            raise ParseError(f"bad status code {code}")
        return Response(status=code, reason=reason)
    parts = line.split(" ")
    if len(parts) != 3 or not all(parts):
        raise ParseError(f"bad request line {line[:60]!r}")
    method, uri_text, version = parts
    if not is_token(method):
        raise ParseError(f"bad method {method[:20]!r}")
    if not re.match(r"^SIP/\d+\.\d+$", version, re.IGNORECASE):
        raise ParseError(f"bad version {version[:20]!r}")
    try:
        uri = parse_uri(uri_text)
    except ParseError as exc:
        raise ParseError(f"bad Request-URI: {exc.detail}") from exc
    return Request(method=method, uri=uri, version=version.upper())


def _invalid_or_parse(msg: Request | Response, detail: str) -> ParseError:
    # A request whose routing headers already parsed can still be answered with a 400.
    if isinstance(msg, Request) and _answerable(msg):
        return InvalidMessage(detail, msg)
    return ParseError(detail)


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


def _cut_body(msg: Request | Response, body: bytes, *, stream: bool) -> bytes:
    values = msg.headers.get_raw("Content-Length")
    if not values:
        if stream:
            raise _invalid_or_parse(msg, "Content-Length is required on a stream transport")
        return body
    if len(set(v.strip() for v in values)) > 1:
        raise _invalid_or_parse(msg, "conflicting Content-Length values")
    try:
        length = parse_int_header(values[0], "Content-Length")
    except ParseError as exc:
        raise _invalid_or_parse(msg, exc.detail) from exc
    if length > len(body):
        # Section 18.3: a datagram shorter than its Content-Length is an error; answer a request.
        raise _invalid_or_parse(msg, f"Content-Length {length} exceeds body of {len(body)} bytes")
    return body[:length]


class StreamFramer:
    """Cuts a TCP byte stream into messages by the empty line and Content-Length (section 18.3)."""

    def __init__(self, max_size: int = MAX_MESSAGE_SIZE):
        self._buffer = bytearray()
        self._max_size = max_size

    def feed(self, data: bytes) -> list[bytes]:
        """Append bytes and return the whole frames now available; raise ParseError on garbage."""
        self._buffer += data
        frames: list[bytes] = []
        while True:
            # Keep-alive CRLFs between messages are skipped.
            while self._buffer[:2] == b"\r\n":
                del self._buffer[:2]
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > self._max_size:
                    raise ParseError("header section too large")
                return frames
            head = bytes(self._buffer[:end])
            length = _content_length_of(head)
            total = end + 4 + length
            if total > self._max_size:
                raise ParseError("message too large")
            if len(self._buffer) < total:
                return frames
            frames.append(bytes(self._buffer[:total]))
            del self._buffer[:total]


def _content_length_of(head: bytes) -> int:
    for raw_line in head.split(b"\r\n")[1:]:
        name, colon, value = raw_line.partition(b":")
        if colon and canonical_name(name.strip().decode("latin-1")) == "Content-Length":
            text = value.strip().decode("latin-1")
            if not text.isdigit():
                raise ParseError("bad Content-Length on stream")
            return int(text)
    raise ParseError("Content-Length is required on a stream transport")
