"""A direct call an extension with voicemail does not answer goes to its mailbox.

pbxd rings 4 s (`--ring-timeout 4`); 7201's phone rings and never answers; 7202 is not
registered at all. Both callers hear the greeting and leave a message (440 Hz), which the
mailbox keeps. An extension without voicemail still gives the caller 480 (tests elsewhere).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .audio import peak_frequency, read_samples, write_tone
from .pbxd_process import PbxdProcess
from .peers.pjsua_phone import PjsuaPhone, call_and_stay, stop_phones

pytestmark = pytest.mark.peer

PBXD_ARGS = ["--ring-timeout", "4"]
GREETING_AND_MESSAGE = 16.0


def leave_message(pbxd: PbxdProcess, tmp_path: Path, box: str, caller: str) -> None:
    phone = PjsuaPhone(
        caller, f"Secret-{caller}", registrar=pbxd.sip_address, log_dir=tmp_path,
        play=write_tone(tmp_path / "440.wav", 440, 2.0),
    )  # fmt: skip
    call_and_stay(phone, box, GREETING_AND_MESSAGE, answer_timeout=15)


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


def test_any_phone_opens_a_mailbox_with_its_pin(pbxd: PbxdProcess, tmp_path: Path) -> None:
    """*98 from a colleague's phone: the box number, a wrong PIN (refused), the right one;
    key 1 plays the message (440 Hz heard) and it is no longer new."""
    box, caller, colleague = "7203", "7213", "7214"
    for number in (caller, colleague):
        pbxd.create_extension(number, f"Secret-{number}")
    pbxd.api(
        "POST",
        "/api/v1/extensions",
        {"number": box, "name": "Boss", "secret": f"Secret-{box}", "voicemail": True,
         "voicemail_pin": "2468"},
        expect=201,
    )  # fmt: skip
    leave_message(pbxd, tmp_path, box, caller)
    [message] = wait_messages(pbxd, box)

    phone = PjsuaPhone(
        colleague, f"Secret-{colleague}", registrar=pbxd.sip_address, log_dir=tmp_path,
        record=tmp_path / "colleague-heard.wav",
    )  # fmt: skip
    try:
        phone.start()
        phone.wait_registered()
        phone.call("*98")
        phone.wait_for("call_state", timeout=10, where=lambda e: e["state"] == "CONFIRMED")
        # Each key string goes while its prompt plays (a key stops the prompt).
        for keys, pause in (("7203#", 3.0), ("1111#", 3.0), ("2468#", 4.0), ("1", 1.0)):
            time.sleep(pause)
            phone.dtmf(keys)
        time.sleep(message["duration"] + 3.0)
        phone.dtmf("#")
        phone.wait_for("call_ended", timeout=20)
    finally:
        stop_phones(phone)
    heard, rate = read_samples(tmp_path / "colleague-heard.wav")
    seconds = [peak_frequency(heard[i : i + rate], rate) for i in range(0, heard.size - rate, rate)]
    assert any(abs(f - 440) < 15 for f in seconds), f"the message was not played: {seconds}"
    deadline = time.monotonic() + 5
    while pbxd.api("GET", f"/api/v1/voicemail/{box}")["new"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert pbxd.api("GET", f"/api/v1/voicemail/{box}")["new"] == 0
    about_the_box = [line for line in pbxd.log_text().splitlines() if "PIN" in line or box in line]
    assert any("1 wrong PIN" in line for line in about_the_box), about_the_box
    assert not [line for line in about_the_box if "2468" in line], about_the_box
