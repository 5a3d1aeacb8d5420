"""baresip, a second independent SIP stack, registers and calls a pjsua2 phone through pbxd."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .pbxd_process import PbxdProcess, check_cdr_row
from .peers.baresip import Baresip
from .peers.pjsua_phone import PjsuaPhone

pytestmark = pytest.mark.peer

# baresip 1.0 (libre) fails on any SHA-256 challenge, even next to an MD5 one
PBXD_ARGS = ["--digest-algorithms", "MD5"]

TALK_SECONDS = 2.0


def test_baresip_calls_a_pjsua_phone(pbxd: PbxdProcess, tmp_path: Path) -> None:
    pbxd.create_extension("1003", "Secret-1003", "baresip")
    pbxd.create_extension("1001", "Secret-1001", "pjsua2")

    with (
        PjsuaPhone("1001", "Secret-1001", registrar=pbxd.sip_address, log_dir=tmp_path) as phone,
        Baresip("1003", "Secret-1003", pbxd.sip_address, tmp_path) as baresip,
    ):
        phone.wait_registered()
        baresip.wait_registered()

        assert baresip.dial("1001")["ok"], baresip.diagnostics()
        phone.wait_for("incoming_call", timeout=10)
        answered = phone.wait_for(
            "call_state", timeout=10, where=lambda e: e["state"] == "CONFIRMED"
        )
        baresip.wait_for("CALL_ESTABLISHED", timeout=10)
        time.sleep(TALK_SECONDS)
        assert baresip.hangup()["ok"], baresip.diagnostics()
        closed = baresip.wait_for("CALL_CLOSED", timeout=10)
        ended = phone.wait_for("call_ended", timeout=10)

    assert answered["code"] == 200
    assert ended["measured_seconds"] >= TALK_SECONDS - 0.5, (ended, closed)
    row = pbxd.wait_call_cdr("1003", "1001")
    check_cdr_row(row)
    assert row["disposition"] == "ANSWERED", row
    assert row["hangup_side"] == "caller", row
    assert abs(float(row["billsec"]) - ended["measured_seconds"]) <= 1.0, row
