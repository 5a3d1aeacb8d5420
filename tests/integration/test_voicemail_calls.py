"""Voicemail: a caller leaves a message, the mailbox's phone is told (MWI), the owner listens.

IVR 510 sends callers who press nothing to the mailbox of an extension (timeout destination
`voicemail:<box>`). The caller (pjsua2, 440 Hz) is recorded after the greeting and the beep;
the owner's phone (sipp) gets an unsolicited NOTIFY "Messages-Waiting: yes", "1/0"; the
message is in the API and plays 440 Hz; with *97 the owner (pjsua2) hears it and it is no
longer new.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .audio import peak_frequency, read_samples, write_tone
from .pbxd_process import PbxdProcess
from .peers.pjsua_phone import PjsuaPhone, call_and_stay, stop_phones
from .sipp import SippCall, free_port, run_sipp, start_sipp

pytestmark = pytest.mark.peer

# sipp 3.6 answers only the first challenge, and only MD5
PBXD_ARGS = ["--digest-algorithms", "MD5,SHA-256"]

TOLERANCE_HZ = 15.0
MESSAGE_SECONDS = 4.0
GREETINGS_SECONDS = 20.0  # generous: espeak's Chinese prompts are slow


def registered_sipp(pbxd: PbxdProcess, number: str, secret: str, tmp_path: Path, scenario: str):
    """A sipp phone registered as `number`, then running `scenario` on the same port."""
    port = free_port()
    registration = run_sipp(
        SippCall("register", tmp_path, port, remote=(pbxd.host, pbxd.sip_port), user=number,
                 password=secret, name=f"{number}-register", timeout=10)
    )  # fmt: skip
    assert registration.ok, registration.report()
    return start_sipp(
        SippCall(scenario, tmp_path, port, user=number, password=secret, name=scenario, timeout=60)
    ).wait_listening()


def test_message_left_is_signalled_stored_and_heard(pbxd: PbxdProcess, tmp_path: Path) -> None:
    box = "6001"
    pbxd.create_extension(box, f"Pw{box}secret")
    owner = registered_sipp(pbxd, box, f"Pw{box}secret", tmp_path, "uas_mwi")
    pbxd.api(
        "POST",
        "/api/v1/ivrs",
        {"name": "vm", "number": "510", "prompt": "welcome", "keys": {"0": "hangup"},
         "timeout": 1, "retries": 0, "timeout_destination": f"voicemail:{box}"},
        expect=201,
    )  # fmt: skip
    pbxd.create_extension("6002", "Secret-6002")
    caller = PjsuaPhone(
        "6002", "Secret-6002", registrar=pbxd.sip_address, log_dir=tmp_path,
        play=write_tone(tmp_path / "440.wav", 440, 2.0),
    )  # fmt: skip
    # welcome, 1 s timeout, "no input", the greeting with the number, the beep; the message
    call_and_stay(caller, "510", GREETINGS_SECONDS + MESSAGE_SECONDS)

    notify = owner.wait(timeout=30)
    assert notify.ok, notify.report()
    [request] = notify.received("NOTIFY")
    assert request.header("Event") == "message-summary", request
    assert "Messages-Waiting: yes" in request.body, request.body
    assert "Voice-Message: 1/0" in request.body, request.body

    mailbox = pbxd.api("GET", f"/api/v1/voicemail/{box}")
    assert (mailbox["new"], mailbox["old"]) == (1, 0), mailbox
    [message] = mailbox["items"]
    assert message["caller"] == "6002", message
    assert 1.0 < message["duration"] < GREETINGS_SECONDS + MESSAGE_SECONDS, message
    wav = pbxd.download(f"/api/v1/voicemail/{box}/{message['id']}", tmp_path / "message.wav")
    samples, rate = read_samples(wav)
    assert abs(peak_frequency(samples, rate) - 440) < TOLERANCE_HZ

    # The owner listens from his own phone: "1 new message", key 1 plays it, # ends.
    listener = PjsuaPhone(
        box, f"Pw{box}secret", registrar=pbxd.sip_address, log_dir=tmp_path,
        record=tmp_path / "owner-heard.wav",
    )  # fmt: skip
    try:
        listener.start()
        listener.wait_registered()
        listener.call("*97")
        listener.wait_for("call_state", timeout=10, where=lambda e: e["state"] == "CONFIRMED")
        time.sleep(3.0)
        listener.dtmf("1")
        time.sleep(message["duration"] + 2.0)  # the message, then the menu again
        listener.dtmf("#")
        listener.wait_for("call_ended", timeout=15)
    finally:
        stop_phones(listener)
    heard, rate = read_samples(tmp_path / "owner-heard.wav")
    best = max(
        (peak_frequency(heard[i : i + rate], rate) for i in range(0, heard.size - rate, rate)),
        key=lambda f: -abs(f - 440),
    )
    assert abs(best - 440) < TOLERANCE_HZ, "the message was not played"
    deadline = time.monotonic() + 5
    while pbxd.api("GET", f"/api/v1/voicemail/{box}")["new"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert pbxd.api("GET", f"/api/v1/voicemail/{box}")["new"] == 0
