"""Two pjsua2 softphones call each other through pbxd and hear each other's tone.

1001 sends 440 Hz, 1002 sends 1000 Hz; each records what it receives. The dominant frequency
of each recording proves media flowed both ways through the call; the CDR row must agree
with the call length the caller measured.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .audio import dominant_frequency, rms, wav_seconds, write_tone
from .pbxd_process import PbxdProcess, check_cdr_row
from .peers.pjsua_phone import PjsuaPhone, stop_phones

pytestmark = pytest.mark.peer

TALK_SECONDS = 4.0
TOLERANCE_HZ = 15.0


@pytest.mark.parametrize(
    ("transport", "caller_number", "callee_number"),
    [("udp", "1001", "1002"), ("tcp", "1011", "1012")],
)
def test_two_phones_talk_and_the_cdr_matches(
    pbxd: PbxdProcess, tmp_path: Path, transport: str, caller_number: str, callee_number: str
) -> None:
    pbxd.create_extension(caller_number, f"Secret-{caller_number}", "Caller phone")
    pbxd.create_extension(callee_number, f"Secret-{callee_number}", "Callee phone")
    low_tone = write_tone(tmp_path / "440.wav", 440, 2.0)
    high_tone = write_tone(tmp_path / "1000.wav", 1000, 2.0)
    caller_heard = tmp_path / f"{caller_number}-heard.wav"
    callee_heard = tmp_path / f"{callee_number}-heard.wav"

    callee = PjsuaPhone(
        callee_number,
        f"Secret-{callee_number}",
        registrar=pbxd.sip_address,
        transport=transport,
        play=high_tone,
        record=callee_heard,
        log_dir=tmp_path,
    )
    caller = PjsuaPhone(
        caller_number,
        f"Secret-{caller_number}",
        registrar=pbxd.sip_address,
        transport=transport,
        play=low_tone,
        record=caller_heard,
        log_dir=tmp_path,
        hangup_after=TALK_SECONDS,
    )
    try:
        callee.start()
        caller.start()
        callee.wait_registered()
        caller.wait_registered()

        caller.call(callee_number)
        callee.wait_for("incoming_call", timeout=10)
        caller.wait_for("call_state", timeout=10, where=lambda e: e["state"] == "CONFIRMED")
        ended = caller.wait_for("call_ended", timeout=TALK_SECONDS + 10)
        callee.wait_for("call_ended", timeout=10)
    finally:
        stop_phones(caller, callee)  # closes the recordings

    for phone in (caller, callee):
        errors = [e for e in phone.events if e["event"] == "error"]
        assert not errors, phone.diagnostics()
    talked = ended["measured_seconds"]
    assert TALK_SECONDS - 0.5 <= talked <= TALK_SECONDS + 2.0, ended
    for recording, expected, phone in (
        (callee_heard, 440.0, callee),
        (caller_heard, 1000.0, caller),
    ):
        assert wav_seconds(recording) >= TALK_SECONDS - 1.0, phone.diagnostics()
        assert rms(recording, skip_seconds=0.5) > 0.05, f"{recording} is silent"
        heard = dominant_frequency(recording, skip_seconds=0.5)
        assert abs(heard - expected) <= TOLERANCE_HZ, (
            f"{phone.user} heard {heard:.1f} Hz, expected {expected} Hz"
        )

    row = pbxd.wait_call_cdr(caller_number, callee_number)
    check_cdr_row(row)
    assert row["disposition"] == "ANSWERED", row
    assert row["hangup_side"] == "caller", row
    assert abs(float(row["billsec"]) - talked) <= 1.0, (row, talked)
