"""Registrar rules of RFC 3261 section 10.3, with a scripted clock."""

import pytest

from pbxd.sip.errors import BadRequest, IntervalTooBrief, ServerInternalError
from pbxd.sip.message import Request, parse_message
from pbxd.sip.registrar import Registrar, RegistrarPolicy

PHONE = ("UDP", "203.0.113.7", 40000)


def register(
    contact: str = "<sip:1001@192.168.1.20:5060>",
    *,
    expires: str | None = "600",
    cseq: int = 1,
    call_id: str = "reg-1",
) -> Request:
    lines = [
        "REGISTER sip:pbx.example SIP/2.0",
        "Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bKreg;rport",
        "From: <sip:1001@pbx.example>;tag=a",
        "To: <sip:1001@pbx.example>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} REGISTER",
    ]
    if contact:
        lines.append(f"Contact: {contact}")
    if expires is not None:
        lines.append(f"Expires: {expires}")
    message = parse_message(("\r\n".join(lines) + "\r\n\r\n").encode())
    assert isinstance(message, Request)
    return message


def test_binding_is_stored_with_source_and_expires():
    registrar = Registrar()
    bindings = registrar.register("1001", register(), PHONE, now=100.0)
    assert len(bindings) == 1
    assert bindings[0].source == PHONE  # NAT: calls go where the REGISTER came from
    assert bindings[0].uri.host == "192.168.1.20"
    assert bindings[0].expires_in(100.0) == 600
    assert registrar.lookup("1001", 699.0)
    assert registrar.lookup("1001", 700.5) == []


def test_expires_below_minimum_is_423_with_min_expires():
    registrar = Registrar(RegistrarPolicy(min_expires=60))
    with pytest.raises(IntervalTooBrief) as info:
        registrar.register("1001", register(expires="30"), PHONE, now=0.0)
    assert info.value.status == 423
    assert ("Min-Expires", "60") in info.value.headers


def test_expires_is_capped_and_contact_param_wins_over_header():
    registrar = Registrar(RegistrarPolicy(max_expires=3600))
    bindings = registrar.register(
        "1001", register("<sip:1001@10.0.0.1>;expires=120", expires="7200"), PHONE, 0.0
    )
    assert bindings[0].expires_in(0.0) == 120
    bindings = registrar.register("1001", register(expires="7200", cseq=2), PHONE, 0.0)
    assert max(b.expires_in(0.0) for b in bindings) == 3600


def test_several_contacts_and_removal_of_one():
    registrar = Registrar()
    registrar.register("1001", register("<sip:1001@10.0.0.1>, <sip:1001@10.0.0.2>;q=0.5"), PHONE, 0)
    assert [b.uri.host for b in registrar.lookup("1001", 1.0)] == ["10.0.0.1", "10.0.0.2"]
    remaining = registrar.register(
        "1001", register("<sip:1001@10.0.0.1>;expires=0", cseq=2), PHONE, 1.0
    )
    assert [b.uri.host for b in remaining] == ["10.0.0.2"]


def test_wildcard_unregisters_everything_but_only_with_expires_zero():
    registrar = Registrar()
    registrar.register("1001", register(), PHONE, 0.0)
    with pytest.raises(BadRequest):
        registrar.register("1001", register("*", expires="60", cseq=2), PHONE, 1.0)
    assert registrar.register("1001", register("*", expires="0", cseq=3), PHONE, 1.0) == []
    assert registrar.lookup("1001", 1.0) == []


def test_query_without_contact_returns_current_bindings():
    registrar = Registrar()
    registrar.register("1001", register(), PHONE, 0.0)
    assert len(registrar.register("1001", register(contact="", cseq=2), PHONE, 5.0)) == 1


def test_out_of_order_cseq_from_same_call_id_is_refused():
    registrar = Registrar()
    registrar.register("1001", register(cseq=5), PHONE, 0.0)
    with pytest.raises(ServerInternalError):
        registrar.register("1001", register(cseq=5), PHONE, 1.0)
    # A new Call-ID (the phone rebooted) may start again from 1.
    assert registrar.register("1001", register(cseq=1, call_id="reg-2"), PHONE, 1.0)


def test_expire_sweeps_and_reports_dead_bindings():
    registrar = Registrar()
    registrar.register("1001", register(expires="60"), PHONE, 0.0)
    assert registrar.next_expiry() == 60.0
    expired = registrar.expire(61.0)
    assert [b.aor for b in expired] == ["1001"]
    assert registrar.count() == 0


def test_contact_limit_keeps_the_newest():
    registrar = Registrar(RegistrarPolicy(max_contacts=2))
    for i in range(3):
        registrar.register("1001", register(f"<sip:1001@10.0.0.{i}>", cseq=i + 1), PHONE, i)
    assert sorted(b.uri.host for b in registrar.lookup("1001", 3.0)) == ["10.0.0.1", "10.0.0.2"]


def test_absurd_expires_parameter_is_a_bad_request():
    registrar = Registrar()
    with pytest.raises(BadRequest):
        registrar.register("1001", register("<sip:1001@10.0.0.1>;expires=" + "9" * 5000), PHONE, 0)
