"""An extension that rings and rings: after the ring timeout the caller gets 480 and the CDR
says NO ANSWER; the callee's phone is cancelled."""

from __future__ import annotations

from pathlib import Path

import pytest

from .pbxd_process import PbxdProcess, check_cdr_row
from .sipp import place_call, requests_seen

pytestmark = pytest.mark.peer

RING_TIMEOUT = 2
# sipp 3.6 answers only the first challenge, and only MD5: offer it first (both offered)
PBXD_ARGS = ["--digest-algorithms", "MD5,SHA-256", "--ring-timeout", str(RING_TIMEOUT)]


def test_unanswered_call_times_out_with_480(
    pbxd: PbxdProcess, new_extension, start_callee, tmp_path: Path
) -> None:
    caller = new_extension()
    callee = start_callee("uas_ring_cancel")

    a = place_call(pbxd, tmp_path, caller, callee.number, "uac_rejected")
    b = callee.result()

    assert a.ok, a.report()
    assert a.final_status("INVITE") == 480, a.report()
    assert b.ok, b.report()
    assert requests_seen(b) == ["INVITE", "CANCEL", "ACK"], b.report()

    row = pbxd.wait_call_cdr(caller[0], callee.number)
    check_cdr_row(row)
    assert (row["disposition"], row["hangup_side"]) == ("NO ANSWER", "system"), row
    assert RING_TIMEOUT - 1 <= row["duration"] <= RING_TIMEOUT + 2, row
