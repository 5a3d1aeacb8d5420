"""The blacklist (黑名单) against real SIP peers: a blacklisted caller from the trunk (sipp on
127.0.0.2) or from an extension gets 603 Decline; an extension calling a number blacklisted
outbound gets 403. A refused call leaves no CDR row, one INFO log line and a hit on its entry.
Extension numbers are blocked by exact entries only, never by a prefix.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .pbxd_process import PbxdProcess
from .sipp import SippCall, SippResult, free_port, place_call, run_sipp

pytestmark = pytest.mark.peer

# sipp 3.6 answers only the first challenge, and only MD5: offer it first (both offered)
PBXD_ARGS = ["--digest-algorithms", "MD5,SHA-256"]
TRUNK_IP = "127.0.0.2"
BLOCKED_CALLER = "13912345678"
WARNING = '399 pbxd "blacklisted number"'


@pytest.fixture(scope="module")
def blacklist(pbxd: PbxdProcess) -> dict[str, dict]:
    pbxd.api("POST", "/api/v1/trunks", {"name": "carrier", "host": TRUNK_IP}, expect=201)
    entries = {
        "caller": {"number": "139*", "direction": "inbound", "note": "骚扰"},
        "hotline": {"number": "4008*", "direction": "outbound"},
        # "2*" would cover every extension of these tests: prefixes never block them.
        "extensions": {"number": "2*", "direction": "both"},
    }
    return {key: pbxd.api("POST", "/api/v1/blacklist", body, expect=201)
            for key, body in entries.items()}  # fmt: skip


def invite(pbxd: PbxdProcess, tmp_path: Path, scenario: str, caller: str, dialed: str,
           local_ip: str, name: str) -> SippResult:  # fmt: skip
    """One INVITE without credentials (a trunk call, or an extension before its challenge)."""
    return run_sipp(
        SippCall(
            scenario,
            tmp_path,
            free_port(local_ip),
            remote=(pbxd.host, pbxd.sip_port),
            service=dialed,
            keys={"caller": caller},
            local_ip=local_ip,
            name=name,
            timeout=15,
        )
    )


def entry(pbxd: PbxdProcess, entry_id: int) -> dict:
    return pbxd.api("GET", f"/api/v1/blacklist/{entry_id}")


def no_cdr_from(pbxd: PbxdProcess, number: str) -> bool:
    return pbxd.cdr(number=number) == []


def test_a_blacklisted_trunk_caller_is_declined_without_a_cdr_row(
    pbxd: PbxdProcess, blacklist: dict[str, dict], tmp_path: Path
) -> None:
    declined = invite(pbxd, tmp_path, "declined", BLOCKED_CALLER, "88886666", TRUNK_IP,
                      "trunk-declined")  # fmt: skip
    assert declined.ok, declined.report()
    final = declined.final_response("INVITE")
    assert (final.status, final.header("Warning")) == (603, WARNING), declined.report()
    # Another outside caller is not blocked: no route for the DID, so 404 and a CDR row,
    # written after the refused call's would have been.
    passed = invite(pbxd, tmp_path, "trunk_refused", "13812345678", "99990000", TRUNK_IP,
                    "trunk-not-blocked")  # fmt: skip
    assert passed.ok and passed.final_status("INVITE") == 404, passed.report()
    pbxd.wait_cdr(lambda row: row["caller"] == "13812345678", timeout=10)
    assert no_cdr_from(pbxd, BLOCKED_CALLER)
    hit = entry(pbxd, blacklist["caller"]["id"])
    assert (hit["hits"], hit["last_hit"] is not None, hit["note"]) == (1, True, "骚扰"), hit
    assert f"blacklist: call from {BLOCKED_CALLER} to 88886666 declined" in pbxd.log_text()


def test_an_extension_calling_a_number_blacklisted_outbound_gets_403(
    pbxd: PbxdProcess, blacklist: dict[str, dict], new_extension, tmp_path: Path
) -> None:
    caller = new_extension()
    refused = place_call(pbxd, tmp_path, caller, "4008123456", "uac_rejected")
    assert refused.ok, refused.report()
    final = refused.final_response("INVITE")
    assert (final.status, final.start_line.split(" ", 2)[2]) == (403, "Blacklisted")
    assert final.header("Warning") == WARNING, refused.report()
    # The same caller to a number nobody blocks: 404 (no trunk calls out yet), with its row.
    passed = place_call(pbxd, tmp_path, caller, "4009123456", "uac_rejected")
    assert passed.final_status("INVITE") == 404, passed.report()
    pbxd.wait_call_cdr(caller[0], "4009123456")
    assert [row["callee"] for row in pbxd.cdr(number=caller[0])] == ["4009123456"]
    assert entry(pbxd, blacklist["hotline"]["id"])["hits"] == 1
    assert f"blacklist: call from {caller[0]} to 4008123456 refused" in pbxd.log_text()


def test_extensions_are_blocked_by_exact_entries_only(
    pbxd: PbxdProcess, blacklist: dict[str, dict], new_extension, tmp_path: Path
) -> None:
    caller = new_extension()
    offline, _ = new_extension()  # exists, never registered
    # "2*" covers both numbers, but a prefix never blocks an extension: 480, not 403.
    result = place_call(pbxd, tmp_path, caller, offline, "uac_rejected")
    assert result.final_status("INVITE") == 480, result.report()
    assert entry(pbxd, blacklist["extensions"]["id"])["hits"] == 0
    # An entry naming the extension does (outbound: calls to it) ...
    exact = pbxd.api("POST", "/api/v1/blacklist",
                     {"number": offline, "direction": "outbound"}, expect=201)  # fmt: skip
    result = place_call(pbxd, tmp_path, caller, offline, "uac_rejected")
    assert result.final_status("INVITE") == 403, result.report()
    # ... and inbound: the extension's own calls are declined before any challenge.
    pbxd.api("PUT", f"/api/v1/blacklist/{exact['id']}", {"direction": "both"})
    declined = invite(pbxd, tmp_path, "declined", offline, caller[0], "127.0.0.1",
                      "extension-declined")  # fmt: skip
    assert declined.ok and declined.final_status("INVITE") == 603, declined.report()
    assert entry(pbxd, exact["id"])["hits"] == 2
    # Deleted: the next call goes through to the usual answer.
    pbxd.api("DELETE", f"/api/v1/blacklist/{exact['id']}", expect=204)
    result = place_call(pbxd, tmp_path, caller, offline, "uac_rejected")
    assert result.final_status("INVITE") == 480, result.report()
