"""SIP trunks: /api/v1/trunks. A trunk is a peer at a static IP address, without
registration: calls from that address are trusted as outside calls and take the inbound
routes; an outside caller reaches extensions no other way (call control enforces that with
`trunk_for_address`)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from ..db.models import Trunk
from .clock import Clock, utc_now
from .configbase import REQUIRED, ConfigService, bounded_int, require_choice, require_name
from .errors import Conflict, ValidationError

TRANSPORTS = ("udp", "tcp")
SIP_PORT = 5060


@dataclass(frozen=True)
class TrunkView:
    name: str
    host: str  # IP address, normalised (IPv6 compressed)
    port: int
    transport: str  # udp | tcp


def _host(value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationError("host: expected an IP address", field="host")
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        raise ValidationError(
            f"host: {value!r} is not an IP address (a trunk is a static IP peer, no DNS names)",
            field="host",
        ) from None
    if address.is_unspecified or address.is_multicast:
        raise ValidationError(f"host: {address} cannot be a peer", field="host")
    return str(address)


class TrunkService(ConfigService[TrunkView]):
    kind = "trunk"
    model = Trunk
    key_field = "name"
    fixed = frozenset({"name"})
    defaults = {"name": REQUIRED, "host": REQUIRED, "port": SIP_PORT, "transport": "udp"}

    def __init__(self, clock: Clock = utc_now):
        super().__init__(clock)
        self._by_host: dict[str, TrunkView] | None = None
        self.subscribe(self._forget_cache)

    def trunk_for_address(self, host: str) -> TrunkView | None:
        """The trunk whose peer is at `host` (a source IP), or None: asked for every INVITE
        from outside, so served from memory and reloaded after each change."""
        by_host = self._by_host
        if by_host is None:
            by_host = self._by_host = {view.host: view for view in self.list()}
        try:
            host = str(ipaddress.ip_address(host))
        except ValueError:
            return None
        return by_host.get(host)

    def _forget_cache(self, kind: str, key: str, deleted: bool) -> None:
        self._by_host = None

    def _clean(self, values: dict[str, Any], *, old: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "name": require_name("name", values["name"]),
            "host": _host(values["host"]),
            "port": bounded_int("port", values["port"], 1, 65535),
            "transport": require_choice("transport", values["transport"], TRANSPORTS),
        }

    def _check(self, values: dict[str, Any], *, old: dict[str, Any] | None) -> None:
        host = values["host"]
        other = Trunk.get_or_none(Trunk.host == host)
        if other is not None and (old is None or other.name != old["name"]):
            raise Conflict(
                f"host: {host} is already the peer of trunk {other.name}; calls are told "
                "apart by their source address",
                field="host",
            )

    def _write(self, row: Trunk | None, values: dict[str, Any]) -> Trunk:
        return self._store(row, values)

    def _check_delete(self, values: dict[str, Any]) -> None:
        """Nothing refers to a trunk by name."""

    def _view(self, values: dict[str, Any]) -> TrunkView:
        return TrunkView(**values)
