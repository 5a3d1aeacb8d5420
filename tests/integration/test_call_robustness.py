"""A call between two pjsua2 phones survives hostile SIP and a hold/resume re-INVITE.

While 1021 (440 Hz) and 1022 (1000 Hz) talk, a raw socket throws garbage and invalid requests
at pbxd; then the caller puts the call on hold and takes it off again. The audio each side
hears after all that must still be the other's tone, and it must have flowed through pbxd's
RTP relay (its packet counter grows), not around it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .audio import peak_frequency, wav_seconds, window, write_tone
from .pbxd_process import PbxdProcess
from .peers.pjsua_phone import PjsuaPhone, stop_phones
from .test_bad_sip import RawPeer

pytestmark = pytest.mark.peer

TOLERANCE_HZ = 15.0


def media_packets(pbxd: PbxdProcess) -> int:
    return pbxd.api("GET", "/api/v1/system/status")["media"]["rtp_packets_received"]


def throw_garbage(pbxd: PbxdProcess) -> None:
    attacker = RawPeer(pbxd, source_ip="127.0.0.3")
    try:
        for i in range(200):
            attacker.send(bytes([i % 256]) * (i + 1))
        for data in (
            attacker.request("OPTIONS", cseq="x OPTIONS"),
            attacker.request("BYE", to_tag="nope"),
            attacker.request("INVITE", body="v=0\r\nthis is not sdp\r\n"),
            b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 1.2.3.4\r\n\r\n",
        ):
            attacker.send(data)
    finally:
        attacker.close()


def test_call_keeps_audio_through_garbage_and_hold_resume(
    pbxd: PbxdProcess, tmp_path: Path
) -> None:
    pbxd.create_extension("1021", "Secret-1021", "Caller")
    pbxd.create_extension("1022", "Secret-1022", "Callee")
    caller_heard, callee_heard = tmp_path / "1021-heard.wav", tmp_path / "1022-heard.wav"
    phones = dict(registrar=pbxd.sip_address, log_dir=tmp_path, timeout=40.0)
    callee = PjsuaPhone(
        "1022",
        "Secret-1022",
        play=write_tone(tmp_path / "hi.wav", 1000, 2.0),
        record=callee_heard,
        **phones,
    )
    caller = PjsuaPhone(
        "1021",
        "Secret-1021",
        play=write_tone(tmp_path / "lo.wav", 440, 2.0),
        record=caller_heard,
        **phones,
    )
    try:
        callee.start()
        caller.start()
        callee.wait_registered()
        caller.wait_registered()
        caller.call("1022")
        caller.wait_for("call_state", timeout=10, where=lambda e: e["state"] == "CONFIRMED")
        caller.wait_for("media_active", timeout=5)
        recording_from = time.monotonic()
        time.sleep(1.0)
        before = media_packets(pbxd)

        throw_garbage(pbxd)
        time.sleep(1.5)
        assert media_packets(pbxd) > before + 100, "RTP stopped reaching pbxd"

        caller.send("hold")
        callee.wait_for("media_state", timeout=5, where=lambda e: e["status"] == "remote_hold")
        caller.wait_for("media_state", timeout=5, where=lambda e: e["status"] == "local_hold")
        time.sleep(0.5)
        caller.send("unhold")
        callee.wait_for("media_state", timeout=5, where=lambda e: e["status"] == "active")
        caller.wait_for("media_state", timeout=5, where=lambda e: e["status"] == "active")
        time.sleep(2.5)
        recording_until = time.monotonic()
        caller.hangup()
        caller.wait_for("call_ended", timeout=10)
        callee.wait_for("call_ended", timeout=10)
    finally:
        stop_phones(caller, callee)

    for phone in (caller, callee):
        assert not [e for e in phone.events if e["event"] == "error"], phone.diagnostics()
    # The last two seconds come after the garbage and after the resume: the recordings went
    # on through the re-INVITEs (a recorder cut off at the hold would end before them).
    for recording, expected in ((callee_heard, 440.0), (caller_heard, 1000.0)):
        assert wav_seconds(recording) > recording_until - recording_from - 1.0, recording.name
        samples, rate = window(recording, -2.2, -0.2)
        heard = peak_frequency(samples, rate)
        assert abs(heard - expected) <= TOLERANCE_HZ, (recording.name, heard)

    row = pbxd.wait_call_cdr("1021", "1022")
    assert (row["disposition"], row["hangup_side"]) == ("ANSWERED", "caller"), row
    assert pbxd.api("GET", "/api/v1/system/status")["active_calls"] == 0
