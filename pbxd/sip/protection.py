"""Brute-force and scanner protection for the SIP front door, sans-IO.

FailureTracker counts authentication failures per source and blocks a source that fails too
often; is_scanner recognises well-known SIP scanning tools by User-Agent. Neither logs nor
sends anything: return values tell the caller what to log and whether to drop a request.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import OrderedDict, deque
from collections.abc import Iterable

__all__ = ["SCANNER_USER_AGENTS", "FailureTracker", "is_scanner"]


class FailureTracker:
    """Blocks a source after `threshold` failures within `window` s, for `block_for` s.

    Default: 10 failures in 60 s -> blocked for 10 minutes. Memory is bounded: at most
    `max_sources` sources with pending failures and as many blocks; when full, sources whose
    failures have aged out go first, then the least recently active (blocks: the one ending
    soonest). IPv6 sources are counted per `/ipv6_prefix` network (a host owns a whole /64,
    so per-address counting would be trivial to dodge); IPv4-mapped IPv6 counts as IPv4.
    Sources inside `exempt` networks (e.g. the trunk provider) are never counted or blocked.
    """

    def __init__(
        self,
        threshold: int = 10,
        window: float = 60.0,
        block_for: float = 600.0,
        *,
        max_sources: int = 10_000,
        exempt: Iterable[str] = (),
        ipv6_prefix: int = 64,
    ) -> None:
        if threshold < 1:
            raise ValueError("threshold must be at least 1")
        if not (window > 0 and math.isfinite(window)):
            raise ValueError("window must be a positive number of seconds")
        if not (block_for > 0 and math.isfinite(block_for)):
            raise ValueError("block_for must be a positive number of seconds")
        if max_sources < 1:
            raise ValueError("max_sources must be at least 1")
        if not 1 <= ipv6_prefix <= 128:
            raise ValueError("ipv6_prefix must be between 1 and 128")
        self.threshold = threshold
        self.window = window
        self.block_for = block_for
        self.max_sources = max_sources
        self.ipv6_prefix = ipv6_prefix
        self._exempt = tuple(ipaddress.ip_network(net, strict=False) for net in exempt)
        # source -> recent failure times; order = least recently failed first.
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        # source -> blocked until; block_for is fixed, so order = ending soonest first.
        self._blocks: OrderedDict[str, float] = OrderedDict()

    # -- keys -----------------------------------------------------------------------------------

    def source_key(self, source_ip: str) -> str | None:
        """The key a source is counted under (a /64 for IPv6), or None when exempt."""
        text = source_ip.strip()
        if text.startswith("[") and text.endswith("]"):
            text = text[1:-1]
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return text  # not an address (should not happen): count the string as given
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self._exempt):
            return None
        if isinstance(address, ipaddress.IPv6Address) and self.ipv6_prefix < 128:
            network = ipaddress.IPv6Network((address, self.ipv6_prefix), strict=False)
            return str(network)
        return str(address)

    # -- the API --------------------------------------------------------------------------------

    def record_failure(self, source_ip: str, now: float) -> bool:
        """Count one failure; True when this very failure starts a block (log it then)."""
        key = self.source_key(source_ip)
        if key is None:
            return False
        if self._active_block(key, now) is not None:
            return False  # already blocked: the caller logged when it began
        times = self._failures.get(key)
        if times is None:
            self._make_room_for_failures(now)
            times = deque(maxlen=self.threshold)
            self._failures[key] = times
        else:
            self._failures.move_to_end(key)
        while times and times[0] <= now - self.window:
            times.popleft()
        times.append(now)
        if len(times) < self.threshold:
            return False
        del self._failures[key]
        self._add_block(key, now + self.block_for, now)
        return True

    def is_blocked(self, source_ip: str, now: float) -> bool:
        key = self.source_key(source_ip)
        return key is not None and self._active_block(key, now) is not None

    def blocked_until(self, source_ip: str, now: float) -> float | None:
        """When the block on this source ends, or None when it is not blocked."""
        key = self.source_key(source_ip)
        return None if key is None else self._active_block(key, now)

    def blocked(self, now: float | None = None) -> list[tuple[str, float]]:
        """(source key, blocked until) pairs, ending soonest first; with `now`, only active ones.

        Without `now`, blocks that ended but were not looked at since may still be listed.
        """
        pairs = [(key, until) for key, until in self._blocks.items() if now is None or until > now]
        return sorted(pairs, key=lambda pair: pair[1])

    def record_success(self, source_ip: str) -> None:
        """Forget this source's pending failures (a typo followed by a good login).

        Does not lift a block. Trade-off: behind a shared NAT, good logins of other phones
        also reset an attacker's count; the window keeps that attack slow.
        """
        key = self.source_key(source_ip)
        if key is not None:
            self._failures.pop(key, None)

    def unblock(self, source_ip: str) -> bool:
        """Lift a block by hand (admin action); True if there was one."""
        key = self.source_key(source_ip)
        if key is None:
            return False
        self._failures.pop(key, None)
        return self._blocks.pop(key, None) is not None

    def __len__(self) -> int:
        """Sources currently held in memory (pending failures plus blocks)."""
        return len(self._failures) + len(self._blocks)

    # -- internals ------------------------------------------------------------------------------

    def _active_block(self, key: str, now: float) -> float | None:
        until = self._blocks.get(key)
        if until is None:
            return None
        if until <= now:
            del self._blocks[key]
            return None
        return until

    def _make_room_for_failures(self, now: float) -> None:
        failures = self._failures
        while len(failures) >= self.max_sources:
            oldest_key = next(iter(failures))
            # Whether its failures aged out or it is merely the least recently active,
            # the front entry is the one to drop.
            del failures[oldest_key]
        # Also shed a few aged-out entries so the table shrinks when attacks stop.
        for _ in range(2):
            if not failures:
                break
            oldest_key, times = next(iter(failures.items()))
            if times and times[-1] > now - self.window:
                break
            del failures[oldest_key]

    def _add_block(self, key: str, until: float, now: float) -> None:
        blocks = self._blocks
        while blocks:
            first_key, first_until = next(iter(blocks.items()))
            if first_until > now:
                break
            del blocks[first_key]
        while len(blocks) >= self.max_sources:
            blocks.popitem(last=False)  # ends soonest
        blocks[key] = until


# ---------------------------------------------------------------------------------------------
# Scanners

# User-Agent (or From user) names of SIP scanning / war-dialing / cracking tools. Matched
# case-insensitively as whole words (not inside a longer alphanumeric run), so short names
# like "smap" or "iwar" cannot hit an unrelated product.
# Deliberately absent: sipsak and SIPp (admin and test tools), SDK names such as
# "PortSIP VoIP SDK" and gateway strings such as "Cisco-SIPGateway" (too many real devices).
SCANNER_USER_AGENTS: tuple[str, ...] = (
    "friendly-scanner",  # SIPVicious default User-Agent
    "sipvicious",
    "svwar",  # SIPVicious extension war-dialer
    "svcrack",  # SIPVicious password cracker
    "svmap",  # SIPVicious network mapper
    "sipcli",
    "sip-scan",
    "vaxsipuseragent",  # VaxVoIP SDK default, seen almost only in cracking runs
    "iwar",
    "sivus",
    "gulp",
    "smap",
    "pplsip",
    "sundayddr",
)

_SCANNER_RE = re.compile(
    r"(?<![a-z0-9])(?:" + "|".join(map(re.escape, SCANNER_USER_AGENTS)) + r")(?![a-z0-9])",
    re.IGNORECASE,
)


def is_scanner(user_agent: str | None, from_user: str | None = None) -> bool:
    """Whether a request comes from a well-known SIP scanner (see SCANNER_USER_AGENTS)."""
    return any(text and _SCANNER_RE.search(text) for text in (user_agent, from_user))
