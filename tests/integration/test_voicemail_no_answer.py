"""A direct call an extension with voicemail does not answer goes to its mailbox.

pbxd rings 4 s (`--ring-timeout 4`); 7201's phone rings and never answers; 7202 is not
registered at all. Both callers hear the greeting and leave a message (440 Hz), which the
mailbox keeps. An extension without voicemail still gives the caller 480 (tests elsewhere).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .audio import write_tone
from .pbxd_process import PbxdProcess
from .peers.pjsua_phone import PjsuaPhone, stop_phones

pytestmark = pytest.mark.peer

PBXD_ARGS = ["--ring-timeout", "4"]
GREETING_AND_MESSAGE = 16.0


def leave_message(pbxd: PbxdProcess, tmp_path: Path, box: str, caller: str) -> None:
    phone = PjsuaPhone(
        caller, f"Secret-{caller}", registrar=pbxd.sip_address, log_dir=tmp_path,
        play=write_tone(tmp_path / "440.wav", 440, 2.0),
    )  # fmt: skip
    try:
        phone.start()
        phone.wait_registered()
        phone.call(box)
        phone.wait_for("call_state", timeout=15, where=lambda e: e["state"] == "CONFIRMED")
        time.sleep(GREETING_AND_MESSAGE)
        phone.hangup()
        phone.wait_for("call_ended", timeout=10)
    finally:
        stop_phones(phone)


def wait_messages(pbxd: PbxdProcess, box: str) -> list[dict]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        items = pbxd.api("GET", f"/api/v1/voicemail/{box}")["items"]
        if items:
            return items
        time.sleep(0.3)
    return []


@pytest.mark.parametrize("registered", [True, False], ids=["rings-unanswered", "offline"])
def test_unanswered_direct_call_goes_to_the_mailbox(
    pbxd: PbxdProcess, tmp_path: Path, registered: bool
) -> None:
    box, caller = ("7201", "7211") if registered else ("7202", "7212")
    pbxd.create_extension(caller, f"Secret-{caller}")
    pbxd.api(
        "POST",
        "/api/v1/extensions",
        {"number": box, "name": "Sales desk", "secret": f"Secret-{box}", "voicemail": True},
        expect=201,
    )
    owner = None
    if registered:
        owner = PjsuaPhone(box, f"Secret-{box}", registrar=pbxd.sip_address, log_dir=tmp_path,
                           answer_code=0)  # fmt: skip
        owner.start()
        owner.wait_registered()
    try:
        leave_message(pbxd, tmp_path, box, caller)
        if owner is not None:
            owner.wait_for("incoming_call", timeout=1)  # it did ring first
    finally:
        if owner is not None:
            stop_phones(owner)
    [message] = wait_messages(pbxd, box)
    assert message["caller"] == caller and message["duration"] > 1.0, message
    row = pbxd.wait_cdr(lambda r: r["caller"] == caller, timeout=10)
    assert row["callee"] == box and row["disposition"] == "ANSWERED", row  # the mailbox answered
