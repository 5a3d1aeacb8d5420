"""Which address pbxd writes into Via, Contact and SDP for a peer (NAT: --external-address)."""

from __future__ import annotations

from ipaddress import ip_network

from pbxd.call.sipcore import SipCore
from pbxd.sip.peer import Peer


def peer(host: str) -> Peer:
    return Peer("UDP", host, 5060)


def test_without_an_external_address_the_bind_address_is_used() -> None:
    core = SipCore("192.168.1.20")
    assert core.local_ip_for(peer("203.0.113.7")) == "192.168.1.20"


def test_peers_outside_the_local_networks_get_the_external_address() -> None:
    core = SipCore(
        "192.168.1.20",
        external_address="198.51.100.4",
        local_networks=(ip_network("192.168.1.0/24"), ip_network("fd00::/8")),
    )
    assert core.local_ip_for(peer("203.0.113.7")) == "198.51.100.4"  # a remote worker
    assert core.local_ip_for(peer("192.168.1.51")) == "192.168.1.20"  # a desk phone on the LAN
    assert core.local_ip_for(peer("fd00::5")) == "192.168.1.20"
    assert core.local_ip_for(peer("sip.example.net")) == "198.51.100.4"  # a name: outside


def test_the_external_address_reaches_the_contact_and_via() -> None:
    core = SipCore("0.0.0.0", external_address="198.51.100.4")
    core.ports["UDP"] = 5060
    outside = peer("203.0.113.7")
    assert core.contact_for(outside).uri.host == "198.51.100.4"
    assert core.make_via(outside).host == "198.51.100.4"
