"""A queue nobody answers takes a message: its own mailbox, with the "all agents busy" greeting.

Queue 650 takes voicemail and waits at most 3 s; its only agent (3651) is logged in but has no
phone, so nobody answers. The caller (pjsua2, 440 Hz) is sent to the queue's mailbox, hears the
queue greeting and the beep, and leaves a message: the supervisor finds it in the queue's box
(playing 440 Hz), and the CDR row and the queue log say what happened.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .audio import peak_frequency, prompt_match, read_samples, write_tone
from .pbxd_process import PROMPTS, PbxdProcess
from .peers.pjsua_phone import PjsuaPhone, call_and_stay

pytestmark = pytest.mark.peer

TOLERANCE_HZ = 15.0
WAIT_AND_GREETING = 22.0  # max wait 3 s, then espeak's (slow) Chinese greeting, the beep
MESSAGE_SECONDS = 4.0


def test_a_caller_nobody_answers_leaves_a_message_for_the_queue(
    pbxd: PbxdProcess, tmp_path: Path
) -> None:
    for number in ("3650", "3651"):
        pbxd.create_extension(number, f"Secret-{number}")
    pbxd.api(
        "POST",
        "/api/v1/queues",
        {"number": "650", "name": "Support", "members": [{"extension": "3651", "penalty": 0}],
         "max_wait": 3, "timeout": 2, "retry": 1, "voicemail": True},
        expect=201,
    )  # fmt: skip
    caller = PjsuaPhone(
        "3650", "Secret-3650", registrar=pbxd.sip_address, log_dir=tmp_path,
        play=write_tone(tmp_path / "440.wav", 440, 2.0), record=tmp_path / "caller-heard.wav",
    )  # fmt: skip
    call_and_stay(caller, "650", WAIT_AND_GREETING + MESSAGE_SECONDS)

    heard, rate = read_samples(tmp_path / "caller-heard.wav")
    greeting = prompt_match(heard, rate, PROMPTS / "zh" / "vm-greeting-queue.wav")
    other = prompt_match(heard, rate, PROMPTS / "zh" / "vm-greeting-default-end.wav")
    assert greeting > 0.6 > other, (greeting, other)

    deadline = time.monotonic() + 10
    while not (box := pbxd.api("GET", "/api/v1/voicemail/650"))["items"]:
        assert time.monotonic() < deadline, box
        time.sleep(0.3)
    [message] = box["items"]
    assert (box["new"], message["caller"]) == (1, "3650"), box
    assert MESSAGE_SECONDS - 1 < message["duration"] < WAIT_AND_GREETING + MESSAGE_SECONDS, message
    wav = pbxd.download(f"/api/v1/voicemail/650/{message['id']}", tmp_path / "message.wav")
    samples, rate = read_samples(wav)
    assert abs(peak_frequency(samples[-rate:], rate) - 440) < TOLERANCE_HZ

    row = pbxd.wait_cdr(lambda r: r["caller"] == "3650" and r["callee"] == "650", timeout=10)
    legs = pbxd.api("GET", f"/api/v1/cdr/{row['call_id']}/legs")
    [details] = legs["details"]
    assert details["queue"] == "650" and details["agent"] is None, legs
    assert details["wait"] >= 3, legs
    events = pbxd.api("GET", "/api/v1/queue-events?queue=650")["items"]
    story = [e["event"] for e in events if e["call_id"] == row["call_id"]]
    assert story[0] == "ENTER" and "EXIT_TIMEOUT" in story, story
