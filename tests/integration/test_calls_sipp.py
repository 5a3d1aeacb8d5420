"""Calls between two sipp peers through pbxd, and the CDR row each call leaves.

The callee registers first (register scenario), then a UAS scenario listens on the same port;
the caller runs a UAC scenario with digest credentials. Every test uses fresh extensions, so
no binding or CDR row of another test can interfere.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .pbxd_process import PbxdProcess, check_cdr_row, to_epoch
from .sipp import TALK_MS, place_call, requests_seen

pytestmark = pytest.mark.peer

# sipp 3.6 answers only the first challenge, and only MD5: offer it first (both offered)
PBXD_ARGS = ["--digest-algorithms", "MD5,SHA-256"]


def assert_answered_cdr(pbxd: PbxdProcess, caller: str, callee: str, hangup_side: str) -> None:
    row = pbxd.wait_call_cdr(caller, callee)
    check_cdr_row(row)
    assert row["disposition"] == "ANSWERED", row
    assert row["hangup_side"] == hangup_side, row
    # billsec runs from the answer to the BYE: the TALK_MS the scenarios wait in between
    assert abs(float(row["billsec"]) - TALK_MS / 1000) <= 1.0, row
    assert to_epoch(row["answer"]) - to_epoch(row["start"]) < 3.0, row


@pytest.mark.parametrize("caller_transport", ["udp", "tcp"])
def test_answered_call_hung_up_by_the_caller(
    pbxd: PbxdProcess, new_extension, start_callee, tmp_path: Path, caller_transport: str
) -> None:
    caller = new_extension()
    callee = start_callee("uas_answer")

    a = place_call(pbxd, tmp_path, caller, callee.number, "uac_call", caller_transport)
    b = callee.result()

    assert a.ok, a.report()
    assert b.ok, b.report()
    assert a.final_status("INVITE") == 200
    assert a.final_status("BYE") == 200
    assert requests_seen(b) == ["INVITE", "ACK", "BYE"], b.report()
    assert_answered_cdr(pbxd, caller[0], callee.number, hangup_side="caller")


def test_answered_call_hung_up_by_the_callee(
    pbxd: PbxdProcess, new_extension, start_callee, tmp_path: Path
) -> None:
    caller = new_extension()
    callee = start_callee("uas_answer_bye")

    a = place_call(pbxd, tmp_path, caller, callee.number, "uac_call_wait_bye")
    b = callee.result()

    assert a.ok, a.report()
    assert b.ok, b.report()
    assert "BYE" in requests_seen(a), a.report()
    assert b.final_status("BYE") == 200, b.report()
    assert_answered_cdr(pbxd, caller[0], callee.number, hangup_side="callee")


def test_callee_behind_nat_is_reached_at_its_source_address(
    pbxd: PbxdProcess, new_extension, start_callee, tmp_path: Path
) -> None:
    """Its Contact says 10.255.0.1:5062 (unreachable here); the call still arrives."""
    caller = new_extension()
    callee = start_callee("uas_answer", register="register_behind_nat")

    a = place_call(pbxd, tmp_path, caller, callee.number, "uac_call")
    b = callee.result()

    assert a.ok, a.report()
    assert b.ok, b.report()
    invite = b.received("INVITE")[0]
    assert invite.start_line.startswith(f"INVITE sip:{callee.number}@10.255.0.1:5062"), invite
    assert_answered_cdr(pbxd, caller[0], callee.number, hangup_side="caller")


def test_early_media_is_anchored_and_repeated_in_the_answer(
    pbxd: PbxdProcess, new_extension, start_callee, tmp_path: Path
) -> None:
    """183 with SDP reaches the caller anchored on pbxd; the 200 without SDP gets the same."""
    caller = new_extension()
    callee = start_callee("uas_early_media")

    a = place_call(pbxd, tmp_path, caller, callee.number, "uac_call")
    b = callee.result()

    assert a.ok, a.report()
    assert b.ok, b.report()
    progress = [m for m in a.received("INVITE") if m.status == 183]
    answer = a.final_response("INVITE")
    assert progress and answer is not None and answer.status == 200, a.report()
    early, final = sdp_media(progress[0].body), sdp_media(answer.body)
    low, high = pbxd.rtp_ports
    assert early[0] == pbxd.host and low <= early[1] <= high, progress[0].body
    assert final == early, (progress[0].body, answer.body)
    assert_answered_cdr(pbxd, caller[0], callee.number, hangup_side="caller")


def sdp_media(body: str) -> tuple[str, int]:
    """(c= address, audio port) of an SDP body."""
    address = next(line.split()[-1] for line in body.splitlines() if line.startswith("c="))
    port = next(int(line.split()[1]) for line in body.splitlines() if line.startswith("m=audio"))
    return address, port


def test_caller_cancels_while_the_callee_rings(
    pbxd: PbxdProcess, new_extension, start_callee, tmp_path: Path
) -> None:
    caller = new_extension()
    callee = start_callee("uas_ring_cancel")

    a = place_call(pbxd, tmp_path, caller, callee.number, "uac_cancel")
    b = callee.result()

    assert a.ok, a.report()
    assert a.final_status("INVITE") == 487, a.report()
    assert a.final_status("CANCEL") == 200, a.report()
    # the CANCEL reached the callee leg, which ended with its own 487 and ACK
    assert b.ok, b.report()
    assert requests_seen(b) == ["INVITE", "CANCEL", "ACK"], b.report()

    row = pbxd.wait_call_cdr(caller[0], callee.number)
    check_cdr_row(row)
    assert row["disposition"] == "CANCELLED", row
    assert row["hangup_side"] == "caller", row


def test_busy_callee_gives_486_to_the_caller(
    pbxd: PbxdProcess, new_extension, start_callee, tmp_path: Path
) -> None:
    caller = new_extension()
    callee = start_callee("uas_busy")

    a = place_call(pbxd, tmp_path, caller, callee.number, "uac_rejected")
    b = callee.result()

    assert a.ok, a.report()
    assert a.final_status("INVITE") == 486, a.report()
    assert b.ok, b.report()

    row = pbxd.wait_call_cdr(caller[0], callee.number)
    check_cdr_row(row)
    assert row["disposition"] == "BUSY", row
    assert row["hangup_side"] == "callee", row


def test_call_to_an_unknown_number_gets_404(
    pbxd: PbxdProcess, new_extension, unused_number: str, tmp_path: Path
) -> None:
    caller = new_extension()

    a = place_call(pbxd, tmp_path, caller, unused_number, "uac_rejected")

    assert a.ok, a.report()
    assert a.final_status("INVITE") == 404, a.report()
    row = pbxd.wait_call_cdr(caller[0], unused_number)
    check_cdr_row(row)
    assert row["disposition"] == "FAILED", row
    assert row["hangup_side"] == "system", row


def test_call_to_an_unregistered_extension_gets_480(
    pbxd: PbxdProcess, new_extension, tmp_path: Path
) -> None:
    caller = new_extension()
    offline, _ = new_extension()  # exists, never registered

    a = place_call(pbxd, tmp_path, caller, offline, "uac_rejected")

    assert a.ok, a.report()
    assert a.final_status("INVITE") == 480, a.report()
    row = pbxd.wait_call_cdr(caller[0], offline)
    check_cdr_row(row)
    assert row["disposition"] == "FAILED", row
    assert row["hangup_side"] == "system", row
