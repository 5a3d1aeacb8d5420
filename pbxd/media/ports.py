"""RTP port pairs for media endpoints: even RTP port, RTCP on the next odd one (RFC 3550 11).

Freed ports go to the back of the queue, so a port is reused as late as possible: packets
still in flight from a finished call must not land in a new one.
"""

from __future__ import annotations

from collections import deque

from ..sip.errors import SipError

MIN_PORT = 1024
MAX_PORT = 65535


class MediaResourceError(SipError):
    """No media resources for a new call; the call is refused with a 503."""

    status = 503
    reason = "Service Unavailable"


class PortsExhausted(MediaResourceError):
    """Every RTP port pair of the range is in use."""


class MediaOverloaded(MediaResourceError):
    """The media thread is near the end of its CPU: another call would make every call late."""


def parse_port_range(text: str) -> tuple[int, int]:
    """Parse `--rtp-ports LOW-HIGH` (e.g. "10000-20000") -> (low, high); raises ValueError.

    LOW must be even (it is an RTP port), LOW < HIGH, both within 1024..65535.
    """
    low_text, dash, high_text = text.strip().partition("-")
    low_text, high_text = low_text.strip(), high_text.strip()
    if not dash or not _is_number(low_text) or not _is_number(high_text):
        raise ValueError(f"RTP port range {text!r} is not LOW-HIGH")
    low, high = int(low_text), int(high_text)
    check_port_range(low, high)
    return low, high


def check_port_range(low: int, high: int) -> None:
    if not MIN_PORT <= low <= MAX_PORT or not MIN_PORT <= high <= MAX_PORT:
        raise ValueError(f"RTP ports must lie within {MIN_PORT}..{MAX_PORT}, got {low}-{high}")
    if low % 2:
        raise ValueError(f"the RTP port range must start on an even port, got {low}")
    if low >= high:
        raise ValueError(f"the RTP port range is empty: {low}-{high}")


def _is_number(text: str) -> bool:
    return 0 < len(text) <= 5 and text.isascii() and text.isdigit()


class PortAllocator:
    """Hands out even RTP ports in [low, high] whose RTCP port (+1) is also in the range."""

    def __init__(self, low: int, high: int):
        check_port_range(low, high)
        self.low = low
        self.high = high
        # Least recently used first: never-used ports in order, then freed ones as they come.
        self._free: deque[int] = deque(range(low, high, 2))
        self._in_use: set[int] = set()

    @classmethod
    def from_range(cls, text: str) -> PortAllocator:
        return cls(*parse_port_range(text))

    @property
    def capacity(self) -> int:
        """Number of RTP/RTCP pairs in the range."""
        return len(self._free) + len(self._in_use)

    @property
    def in_use(self) -> int:
        return len(self._in_use)

    @property
    def available(self) -> int:
        return len(self._free)

    def allocate(self) -> int:
        """The least recently used free RTP port; the caller owns it and port + 1."""
        if not self._free:
            raise PortsExhausted(
                f"all {self.capacity} RTP port pairs of {self.low}-{self.high} are in use"
            )
        port = self._free.popleft()
        self._in_use.add(port)
        return port

    def release(self, port: int) -> None:
        """Give a port back; it is handed out again only after every other free port."""
        if port not in self._in_use:
            raise ValueError(f"RTP port {port} is not allocated")
        self._in_use.remove(port)
        self._free.append(port)

    def is_allocated(self, port: int) -> bool:
        return port in self._in_use
