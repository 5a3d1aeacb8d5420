"""SDP session descriptions: parse and serialize (RFC 4566).

`SessionDescription.parse(bytes | str)` returns frozen values; `serialize()` gives CRLF bytes.

Tolerant where phones differ: LF-only line ends, blank lines, lines out of the RFC order,
unknown line types and unknown attributes (kept verbatim and written back). Strict where it
matters to call control, raising `SdpError` (status 400): the first line must be `v=0`, an
`o=` line must come before the media, `o=`, `c=` and `m=` lines must be well formed, ports
must be 0..65535, RTP payload types 0..127, and every stream with a non-zero port needs
connection data (section 5.7). A description without any `m=` line is valid SDP (section 5)
and parses; offer/answer code decides whether it is acceptable.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .errors import BadRequest


class SdpError(BadRequest, ValueError):
    """The body is not a usable session description; a request carrying it gets a 400."""

    status = 400
    reason = "Bad Request"


class Direction(enum.StrEnum):
    """Media direction attributes (RFC 4566 section 6, RFC 3264 section 5.1)."""

    SENDRECV = "sendrecv"
    SENDONLY = "sendonly"
    RECVONLY = "recvonly"
    INACTIVE = "inactive"

    def reversed(self) -> Direction:
        """The direction seen from the other end: sendonly <-> recvonly (RFC 3264 6.1)."""
        if self is Direction.SENDONLY:
            return Direction.RECVONLY
        if self is Direction.RECVONLY:
            return Direction.SENDONLY
        return self

    @property
    def sends(self) -> bool:
        return self in (Direction.SENDRECV, Direction.SENDONLY)

    @property
    def receives(self) -> bool:
        return self in (Direction.SENDRECV, Direction.RECVONLY)


_DIRECTIONS = {d.value: d for d in Direction}


@dataclass(frozen=True)
class RtpMap:
    """One `a=rtpmap` value: `<payload type> <encoding name>/<clock rate>[/<channels>]`."""

    payload_type: int
    encoding: str
    clock_rate: int
    channels: int | None = None

    @property
    def name(self) -> str:
        """Encoding name, compared case-insensitively (RFC 4855 section 3)."""
        return self.encoding.lower()

    def serialize(self) -> str:
        text = f"{self.payload_type} {self.encoding}/{self.clock_rate}"
        return text if self.channels is None else f"{text}/{self.channels}"


# Audio payload types with a static meaning (RFC 3551 section 6, table 4): known without an
# rtpmap. 0 and 8 are the ones that matter here.
STATIC_PAYLOAD_TYPES: dict[int, RtpMap] = {
    pt: RtpMap(pt, name, rate, channels)
    for pt, name, rate, channels in (
        (0, "PCMU", 8000, None),
        (3, "GSM", 8000, None),
        (4, "G723", 8000, None),
        (5, "DVI4", 8000, None),
        (6, "DVI4", 16000, None),
        (7, "LPC", 8000, None),
        (8, "PCMA", 8000, None),
        (9, "G722", 8000, None),
        (10, "L16", 44100, 2),
        (11, "L16", 44100, None),
        (12, "QCELP", 8000, None),
        (13, "CN", 8000, None),
        (14, "MPA", 90000, None),
        (15, "G728", 8000, None),
        (16, "DVI4", 11025, None),
        (17, "DVI4", 22050, None),
        (18, "G729", 8000, None),
    )
}


def parse_rtpmap(value: str) -> RtpMap | None:
    """An `a=rtpmap` value, or None when it is malformed (such a line is kept, not used)."""
    pt_text, _, rest = value.strip().partition(" ")
    parts = rest.strip().split("/")
    if not 2 <= len(parts) <= 3 or not parts[0]:
        return None
    payload_type, clock_rate = _number(pt_text), _number(parts[1])
    channels = _number(parts[2]) if len(parts) == 3 else None
    if payload_type is None or clock_rate is None or (len(parts) == 3 and channels is None):
        return None
    return RtpMap(payload_type, parts[0], clock_rate, channels)


def _number(text: str, max_digits: int = 20) -> int | None:
    """A non-negative decimal number in ASCII digits (str.isdigit accepts more), else None."""
    if not text or len(text) > max_digits or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


@dataclass(frozen=True)
class Attribute:
    """`a=<name>` (a flag, value None) or `a=<name>:<value>`; the value is kept verbatim."""

    name: str
    value: str | None = None

    @property
    def key(self) -> str:
        """The name used for look-ups: stray whitespace some phones add is ignored."""
        return self.name.strip()

    def serialize(self) -> str:
        return f"a={self.name}" if self.value is None else f"a={self.name}:{self.value}"


@dataclass(frozen=True)
class Origin:
    """`o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` (5.2)."""

    username: str
    session_id: str
    session_version: int
    nettype: str = "IN"
    addrtype: str = "IP4"
    address: str = "0.0.0.0"

    def __post_init__(self) -> None:
        if self.session_version < 0:
            raise SdpError("o= session version must not be negative")
        for part in (self.username, self.session_id, self.nettype, self.addrtype, self.address):
            if not part or any(ch.isspace() for ch in part):
                raise SdpError(f"bad o= field {part!r}")

    def serialize(self) -> str:
        return (
            f"o={self.username} {self.session_id} {self.session_version} "
            f"{self.nettype} {self.addrtype} {self.address}"
        )


@dataclass(frozen=True)
class Connection:
    """`c=<nettype> <addrtype> <address>[/<ttl>][/<count>]` (section 5.7)."""

    address: str
    addrtype: str = "IP4"
    nettype: str = "IN"
    ttl: int | None = None  # IPv4 multicast only
    count: int | None = None  # multicast address ranges

    @classmethod
    def for_ip(cls, ip: str) -> Connection:
        return cls(ip, "IP6" if ":" in ip else "IP4")

    @property
    def is_unspecified(self) -> bool:
        """0.0.0.0 (RFC 2543 hold, RFC 3264 section 8.4) or its IPv6 equivalent `::`."""
        return self.address in ("0.0.0.0", "::")

    def serialize(self) -> str:
        text = f"c={self.nettype} {self.addrtype} {self.address}"
        if self.ttl is not None:
            text += f"/{self.ttl}"
        if self.count is not None:
            text += f"/{self.count}"
        return text


@dataclass(frozen=True)
class Bandwidth:
    """`b=<bwtype>:<bandwidth>` (section 5.8); kept as text, pbxd does not police it."""

    bwtype: str
    value: str

    def serialize(self) -> str:
        return f"b={self.bwtype}:{self.value}"


@dataclass(frozen=True)
class Timing:
    """`t=<start> <stop>` and its `r=` lines (sections 5.9, 5.10), kept verbatim."""

    start: str = "0"
    stop: str = "0"
    repeats: tuple[str, ...] = ()

    def serialize(self) -> list[str]:
        return [f"t={self.start} {self.stop}", *(f"r={r}" for r in self.repeats)]


class _AttributeLookup:
    """Attribute helpers shared by the session and media levels."""

    attributes: tuple[Attribute, ...]

    def attribute(self, name: str) -> str | None:
        """Value of the first attribute `name` ("" for a flag), or None when absent."""
        for attr in self.attributes:
            if attr.key == name:
                return "" if attr.value is None else attr.value
        return None

    def attributes_named(self, name: str) -> list[str]:
        return [a.value or "" for a in self.attributes if a.key == name]

    def has_attribute(self, name: str) -> bool:
        return any(a.key == name for a in self.attributes)

    @property
    def direction(self) -> Direction | None:
        """The direction attribute at this level; the last one wins if several are present."""
        found = None
        for attr in self.attributes:
            if attr.key in _DIRECTIONS and not (attr.value or "").strip():
                found = _DIRECTIONS[attr.key]
        return found


@dataclass(frozen=True)
class MediaDescription(_AttributeLookup):
    """One `m=` section (section 5.14) and the lines that follow it."""

    media: str
    port: int
    proto: str
    formats: tuple[str, ...]
    connection: Connection | None = None
    attributes: tuple[Attribute, ...] = ()
    bandwidths: tuple[Bandwidth, ...] = ()
    port_count: int | None = None
    # Other lines (i=, k=, extra c=, unknown types), verbatim as "x=value".
    other_lines: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise SdpError(f"m= port {self.port} out of range")
        if self.port_count is not None and self.port_count < 1:
            raise SdpError("m= port count must be positive")
        if not self.media or not self.proto:
            raise SdpError("m= needs a media type and a transport protocol")
        if not self.formats and self.port != 0:
            raise SdpError(f"m={self.media} lists no formats")
        if self.is_rtp:
            for fmt in self.formats:
                payload_type = _number(fmt, 3)
                if payload_type is None or payload_type > 127:
                    raise SdpError(f"bad RTP payload type {fmt!r} in m={self.media}")

    @property
    def is_rtp(self) -> bool:
        """RTP profiles (RTP/AVP, RTP/SAVP, UDP/TLS/RTP/SAVPF ...) list payload types."""
        return "RTP/" in self.proto.upper()

    @property
    def payload_types(self) -> tuple[int, ...]:
        return tuple(int(f) for f in self.formats) if self.is_rtp else ()

    def rtpmap(self, payload_type: int) -> RtpMap | None:
        """The codec of a payload type: its rtpmap, else the static table (RFC 3551)."""
        for value in self.attributes_named("rtpmap"):
            parsed = parse_rtpmap(value)
            if parsed is not None and parsed.payload_type == payload_type:
                return parsed
        return STATIC_PAYLOAD_TYPES.get(payload_type)

    def fmtp(self, payload_type: int) -> str | None:
        """The `a=fmtp` parameters of a payload type, verbatim."""
        prefix = str(payload_type)
        for value in self.attributes_named("fmtp"):
            pt_text, _, params = value.strip().partition(" ")
            if pt_text == prefix:
                return params.strip()
        return None

    @property
    def ptime(self) -> int | None:
        """`a=ptime` in milliseconds (section 6), None when absent or unreadable."""
        return _milliseconds(self.attribute("ptime"))

    @property
    def maxptime(self) -> int | None:
        return _milliseconds(self.attribute("maxptime"))

    def serialize_lines(self) -> list[str]:
        port = str(self.port) if self.port_count is None else f"{self.port}/{self.port_count}"
        lines = [" ".join(("m=" + self.media, port, self.proto, *self.formats))]
        lines += [line for line in self.other_lines if line[0] == "i"]
        if self.connection is not None:
            lines.append(self.connection.serialize())
        lines += [b.serialize() for b in self.bandwidths]
        lines += [line for line in self.other_lines if line[0] != "i"]
        lines += [a.serialize() for a in self.attributes]
        return lines


@dataclass(frozen=True)
class SessionDescription(_AttributeLookup):
    """A whole session description (section 5)."""

    origin: Origin
    session_name: str = "-"
    connection: Connection | None = None
    timings: tuple[Timing, ...] = (Timing(),)
    attributes: tuple[Attribute, ...] = ()
    media: tuple[MediaDescription, ...] = ()
    bandwidths: tuple[Bandwidth, ...] = ()
    # Other session-level lines (i= u= e= p= z= k=, unknown types), verbatim as "x=value".
    other_lines: tuple[str, ...] = field(default=())

    @classmethod
    def parse(cls, data: bytes | str) -> SessionDescription:
        text = data.decode("utf-8", "surrogateescape") if isinstance(data, bytes) else data
        return _Parser(text).parse()

    def serialize(self) -> bytes:
        lines = ["v=0", self.origin.serialize(), f"s={self.session_name}"]
        lines += [line for line in self.other_lines if line[0] in _BEFORE_CONNECTION]
        if self.connection is not None:
            lines.append(self.connection.serialize())
        lines += [b.serialize() for b in self.bandwidths]
        for timing in self.timings:
            lines += timing.serialize()
        lines += [line for line in self.other_lines if line[0] not in _BEFORE_CONNECTION]
        lines += [a.serialize() for a in self.attributes]
        for media in self.media:
            lines += media.serialize_lines()
        return ("\r\n".join(lines) + "\r\n").encode("utf-8", "surrogateescape")

    def connection_of(self, media: MediaDescription) -> Connection | None:
        """Media-level c= overrides the session-level one (section 5.7)."""
        return media.connection if media.connection is not None else self.connection

    def direction_of(self, media: MediaDescription) -> Direction:
        """Media-level direction overrides session-level; sendrecv by default (RFC 3264 5.1)."""
        return media.direction or self.direction or Direction.SENDRECV


# Session-level line types written between s= and c= (section 5 order).
_BEFORE_CONNECTION = frozenset("iuep")


def _milliseconds(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return int(number) if 0 < number < 100_000 else None


class _Parser:
    def __init__(self, text: str):
        self.lines = [line.rstrip("\r") for line in text.split("\n")]

    def parse(self) -> SessionDescription:
        lines = [line for line in self.lines if line.strip()]
        if not lines:
            raise SdpError("empty session description")
        if lines[0].strip() != "v=0":
            raise SdpError("a session description starts with v=0")
        session: dict = {
            "origin": None,
            "session_name": None,
            "connection": None,
            "timings": [],
            "attributes": [],
            "bandwidths": [],
            "other_lines": [],
        }
        media: list[dict] = []
        for line in lines[1:]:
            if len(line) < 2 or line[1] != "=" or not ("a" <= line[0] <= "z"):
                raise SdpError(f"malformed SDP line {line[:40]!r}")
            kind, value = line[0], line[2:]
            if kind == "v":
                raise SdpError("v= appears twice")
            if kind == "m":
                media.append(_parse_media_line(value))
            elif media:
                _media_line(media[-1], kind, value)
            else:
                _session_line(session, kind, value)
        if session["origin"] is None:
            raise SdpError("missing o= line")
        connection = session["connection"]
        built_media = []
        for index, fields in enumerate(media):
            built = MediaDescription(
                attributes=tuple(fields.pop("attributes")),
                bandwidths=tuple(fields.pop("bandwidths")),
                other_lines=tuple(fields.pop("other_lines")),
                **fields,
            )
            if built.port != 0 and built.connection is None and connection is None:
                raise SdpError(f"no c= for stream {index} ({built.media})")
            built_media.append(built)
        return SessionDescription(
            origin=session["origin"],
            session_name=session["session_name"] if session["session_name"] is not None else "-",
            connection=connection,
            timings=tuple(session["timings"]) or (Timing(),),
            attributes=tuple(session["attributes"]),
            media=tuple(built_media),
            bandwidths=tuple(session["bandwidths"]),
            other_lines=tuple(session["other_lines"]),
        )


def _session_line(session: dict, kind: str, value: str) -> None:
    if kind == "o" and session["origin"] is None:
        session["origin"] = _parse_origin(value)
    elif kind == "o":
        raise SdpError("o= appears twice")
    elif kind == "s" and session["session_name"] is None:
        session["session_name"] = value
    elif kind == "c" and session["connection"] is None:
        session["connection"] = _parse_connection(value)
    elif kind == "c":
        raise SdpError("session-level c= appears twice")
    elif kind == "t":
        parts = value.split()
        if len(parts) != 2:
            raise SdpError(f"bad t= line {value!r}")
        session["timings"].append(Timing(parts[0], parts[1]))
    elif kind == "r" and session["timings"]:
        last = session["timings"][-1]
        session["timings"][-1] = Timing(last.start, last.stop, (*last.repeats, value))
    elif kind == "a":
        session["attributes"].append(_parse_attribute(value))
    elif kind == "b" and ":" in value:
        session["bandwidths"].append(_parse_bandwidth(value))
    else:
        session["other_lines"].append(f"{kind}={value}")


def _media_line(fields: dict, kind: str, value: str) -> None:
    if kind == "a":
        fields["attributes"].append(_parse_attribute(value))
    elif kind == "c" and fields["connection"] is None:
        fields["connection"] = _parse_connection(value)
    elif kind == "b" and ":" in value:
        fields["bandwidths"].append(_parse_bandwidth(value))
    elif kind in "ost":
        raise SdpError(f"{kind}= is not allowed inside a media section")
    else:
        fields["other_lines"].append(f"{kind}={value}")


def _parse_origin(value: str) -> Origin:
    parts = value.split()
    if len(parts) != 6:
        raise SdpError(f"o= needs 6 fields, got {value!r}")
    username, session_id, version, nettype, addrtype, address = parts
    session_version = _number(version, 40)
    if session_version is None:
        raise SdpError(f"o= session version {version!r} is not a number")
    return Origin(username, session_id, session_version, nettype, addrtype, address)


def _parse_connection(value: str) -> Connection:
    parts = value.split()
    if len(parts) != 3:
        raise SdpError(f"c= needs 3 fields, got {value!r}")
    nettype, addrtype, address_text = parts
    address, *extra_text = address_text.split("/")
    extra = [_number(e, 10) for e in extra_text]
    if not address or len(extra) > 2 or None in extra:
        raise SdpError(f"bad c= address {address_text!r}")
    ttl = count = None
    if addrtype.upper() == "IP4" and extra:
        # IPv4 multicast: address/ttl[/count]; IPv6 has no TTL: address[/count] (5.7).
        ttl = extra[0]
        count = extra[1] if len(extra) == 2 else None
    elif extra:
        if len(extra) != 1:
            raise SdpError(f"bad c= address {address_text!r}")
        count = extra[0]
    return Connection(address, addrtype, nettype, ttl, count)


def _parse_media_line(value: str) -> dict:
    parts = value.split()
    if len(parts) < 3:
        raise SdpError(f"m= needs media, port and proto: {value!r}")
    media, port_text, proto, *formats = parts
    port_part, slash, count_part = port_text.partition("/")
    port, count = _number(port_part, 10), _number(count_part, 10)
    if port is None or (slash and count is None):
        raise SdpError(f"bad m= port {port_text!r}")
    return {
        "media": media,
        "port": port,
        "port_count": count if slash else None,
        "proto": proto,
        "formats": tuple(formats),
        "connection": None,
        "attributes": [],
        "bandwidths": [],
        "other_lines": [],
    }


def _parse_attribute(value: str) -> Attribute:
    name, colon, rest = value.partition(":")
    return Attribute(name, rest if colon else None)


def _parse_bandwidth(value: str) -> Bandwidth:
    bwtype, _, amount = value.partition(":")
    return Bandwidth(bwtype, amount)
