"""Outside calls from a SIP peer trunk take the inbound routes, and nothing else.

The trunk is sipp on 127.0.0.2 (a static IP peer, no registration, no digest). Route
88886666 leads to extension 5001 (a pjsua2 phone that answers); route 88887777 is closed
around the clock by its time condition and sends callers to hang-up; a DID without a route
and a direct extension number both get 404: an outside caller reaches nothing but the routes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .pbxd_process import PbxdProcess
from .peers.pjsua_phone import PjsuaPhone, stop_phones
from .sipp import SippCall, free_port, run_sipp

pytestmark = pytest.mark.peer

TRUNK_IP = "127.0.0.2"


def trunk_call(pbxd: PbxdProcess, tmp_path: Path, did: str, scenario: str, name: str):
    return run_sipp(
        SippCall(
            scenario,
            tmp_path,
            free_port(),
            remote=(pbxd.host, pbxd.sip_port),
            service=did,
            keys={"caller": "13912345678"},
            duration_ms=2000,
            local_ip=TRUNK_IP,
            name=name,
            timeout=20,
        )
    )


@pytest.fixture(scope="module")
def routed(pbxd: PbxdProcess) -> PbxdProcess:
    pbxd.create_extension("5001", "Secret-5001")
    pbxd.api("POST", "/api/v1/trunks", {"name": "carrier", "host": TRUNK_IP}, expect=201)
    pbxd.api(
        "POST",
        "/api/v1/inbound-routes",
        {"did": "88886666", "destination": "extension:5001"},
        expect=201,
    )
    closed_always = {
        "hours": [{"days": [1], "from": "00:00", "to": "00:00"}],
        "holidays": [{"from": "2000-01-01", "to": "2099-12-31"}],
    }
    pbxd.api(
        "POST",
        "/api/v1/inbound-routes",
        {"did": "88887777", "destination": "extension:5001", "time_condition": closed_always},
        expect=201,
    )
    return pbxd


def test_an_outside_call_to_a_did_rings_its_extension(routed: PbxdProcess, tmp_path: Path) -> None:
    phone = PjsuaPhone("5001", "Secret-5001", registrar=routed.sip_address, log_dir=tmp_path)
    try:
        phone.start()
        phone.wait_registered()
        result = trunk_call(routed, tmp_path, "88886666", "trunk_call", "answered")
        incoming = phone.wait_for("incoming_call", timeout=5)
    finally:
        stop_phones(phone)
    assert result.ok, result.report()
    assert "13912345678" in str(incoming), incoming  # the outside caller's number is shown
    row = routed.wait_cdr(lambda r: r["caller"] == "13912345678", timeout=10)
    assert row["callee"] == "88886666" and row["disposition"] == "ANSWERED", row


@pytest.mark.parametrize(
    ("did", "status"),
    [("88887777", 480), ("99990000", 404), ("5001", 404)],
    ids=["closed-route", "no-route", "extension-directly"],
)
def test_outside_calls_without_an_open_route_are_refused(
    routed: PbxdProcess, tmp_path: Path, did: str, status: int
) -> None:
    result = trunk_call(routed, tmp_path, did, "trunk_refused", f"refused-{did}")
    assert result.ok, result.report()
    assert result.final_status("INVITE") == status, result.report()


def test_an_outside_call_into_a_queue_is_recorded_as_a_trunk_call(
    routed: PbxdProcess, tmp_path: Path
) -> None:
    """The queue's history says the caller came in on the trunk (reports count it inbound)."""
    routed.create_extension("5011", "Secret-5011")
    routed.api("POST", "/api/v1/queues", {"number": "661", "members": ["5011"], "wrapup": 0},
               expect=201)  # fmt: skip
    routed.api("POST", "/api/v1/inbound-routes", {"did": "88885555", "destination": "queue:661"},
               expect=201)  # fmt: skip
    agent = PjsuaPhone("5011", "Secret-5011", registrar=routed.sip_address, log_dir=tmp_path,
                       ring_seconds=0.3)  # fmt: skip
    try:
        agent.start()
        agent.wait_registered()
        result = trunk_call(routed, tmp_path, "88885555", "trunk_call", "queued")
        agent.wait_for("incoming_call", timeout=5)
    finally:
        stop_phones(agent)
    assert result.ok, result.report()
    row = routed.wait_cdr(lambda r: r["callee"] == "661", timeout=10)  # the queue's row
    legs = routed.api("GET", f"/api/v1/cdr/{row['call_id']}/legs")
    caller = next(leg for leg in legs["items"] if leg["leg"] == "caller")
    assert (caller["peer_kind"], caller["peer"], caller["party"]) == (
        "trunk", "carrier", "13912345678"), legs  # fmt: skip
    assert legs["details"][0]["queue"] == "661", legs
