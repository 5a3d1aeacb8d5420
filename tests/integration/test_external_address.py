"""pbxd behind NAT: with --external-address, a phone is given that address in SIP and SDP."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .pbxd_process import PbxdProcess
from .sipp import place_call

pytestmark = pytest.mark.peer

EXTERNAL = "198.51.100.4"  # TEST-NET-2: what the site router's public address would be
# sipp 3.6 answers only the first challenge, and only MD5
PBXD_ARGS = ["--digest-algorithms", "MD5,SHA-256", "--external-address", EXTERNAL]


def test_the_callee_is_told_the_external_address(
    pbxd: PbxdProcess, new_extension, start_callee, tmp_path: Path
) -> None:
    caller = new_extension()
    callee = start_callee("uas_answer")

    a = place_call(pbxd, tmp_path, caller, callee.number, "uac_call")
    b = callee.result()

    assert a.ok, a.report()
    assert b.ok, b.report()
    invite = b.received("INVITE")[0]
    assert f"@{EXTERNAL}:" in invite.header("Contact"), invite.header("Contact")
    assert invite.header("Via").split()[1].startswith(EXTERNAL), invite.header("Via")
    assert re.search(rf"^c=IN IP4 {re.escape(EXTERNAL)}\s*$", invite.body, re.M), invite.body
    answer = a.final_response("INVITE")
    assert re.search(rf"^c=IN IP4 {re.escape(EXTERNAL)}\s*$", answer.body, re.M), answer.body
