"""A caller walks an IVR with DTMF into a queue, talks to the agent, and rates the call.

IVR 500 ("main") plays the welcome prompt; key 1 leads to queue 601, whose static member 3201
answers. The agent hangs up first, so the caller gets the satisfaction survey: key 3
(unsatisfied), then key 2 (attitude). The answer must be stored on the call. Digits are RFC
4733 events from pjsua2.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .audio import peak_frequency, read_samples, write_tone
from .pbxd_process import PbxdProcess
from .peers.pjsua_phone import PjsuaPhone, stop_phones

pytestmark = pytest.mark.peer

TOLERANCE_HZ = 15.0
AGENT_TALKS = 4.0


def test_ivr_key_to_queue_then_the_survey_is_stored(pbxd: PbxdProcess, tmp_path: Path) -> None:
    for number in ("3002", "3201"):
        pbxd.create_extension(number, f"Secret-{number}")
    pbxd.api(
        "POST",
        "/api/v1/queues",
        {"number": "601", "members": [{"extension": "3201", "penalty": 0}], "survey": True},
        expect=201,
    )
    pbxd.api(
        "POST",
        "/api/v1/ivrs",
        {"name": "main", "number": "500", "prompt": "welcome", "keys": {"1": "queue:601"}},
        expect=201,
    )
    agent = PjsuaPhone(
        "3201",
        "Secret-3201",
        registrar=pbxd.sip_address,
        play=write_tone(tmp_path / "1000.wav", 1000, 2.0),
        record=tmp_path / "agent-heard.wav",
        log_dir=tmp_path,
        ring_seconds=0.5,
        hangup_after=AGENT_TALKS,
    )
    caller = PjsuaPhone(
        "3002",
        "Secret-3002",
        registrar=pbxd.sip_address,
        play=write_tone(tmp_path / "440.wav", 440, 2.0),
        record=tmp_path / "caller-heard.wav",
        log_dir=tmp_path,
    )
    try:
        agent.start()
        caller.start()
        agent.wait_registered()
        caller.wait_registered()
        caller.call("500")
        caller.wait_for("call_state", timeout=10, where=lambda e: e["state"] == "CONFIRMED")
        time.sleep(1.5)  # into the welcome prompt: a key interrupts it
        caller.dtmf("1")
        agent.wait_for("incoming_call", timeout=10)
        agent.wait_for("call_ended", timeout=AGENT_TALKS + 10)
        time.sleep(1.5)  # the survey question is playing
        caller.dtmf("3")
        time.sleep(2.0)  # the reason question
        caller.dtmf("2")
        caller.wait_for("call_ended", timeout=20)  # thanks, then pbxd hangs up
    finally:
        stop_phones(caller, agent)
    for p in (caller, agent):
        assert not [e for e in p.events if e["event"] == "error"], p.diagnostics()

    heard, rate = read_samples(tmp_path / "agent-heard.wav")
    assert abs(peak_frequency(heard[rate:], rate) - 440) < TOLERANCE_HZ

    row = pbxd.wait_cdr(lambda r: r["caller"] == "3002" and r["callee"] == "601", timeout=10)
    assert row["disposition"] == "ANSWERED", row
    assert row["hangup_side"] == "callee", row  # the agent ended the conversation
    [details] = pbxd.api("GET", f"/api/v1/cdr/{row['call_id']}/legs")["details"]
    assert details["agent"] == "3201", details
    assert (details["survey"], details["survey_reason"]) == ("unsatisfied", "attitude"), details
    events = pbxd.api("GET", "/api/v1/queue-events?queue=601")["items"]
    [survey] = [e for e in events if e["event"] == "SURVEY"]
    assert (survey["call_id"], survey["agent"]) == (row["call_id"], "3201"), survey
    assert survey["data"] == {"rating": "unsatisfied", "reason": "attitude"}, survey


def test_dialing_an_extension_from_the_ivr_rings_it_with_ringback(
    pbxd: PbxdProcess, tmp_path: Path
) -> None:
    for number in ("3003", "3301"):
        pbxd.create_extension(number, f"Secret-{number}")
    pbxd.api(
        "POST",
        "/api/v1/ivrs",
        {"name": "front", "number": "520", "prompt": "ivr-enter-extension",
         "keys": {"0": "hangup"}, "dial_extension": True},
        expect=201,
    )  # fmt: skip
    callee = PjsuaPhone(
        "3301", "Secret-3301", registrar=pbxd.sip_address, log_dir=tmp_path,
        play=write_tone(tmp_path / "1000.wav", 1000, 2.0), ring_seconds=4.0,
    )  # fmt: skip
    caller = PjsuaPhone(
        "3003", "Secret-3003", registrar=pbxd.sip_address, log_dir=tmp_path,
        record=tmp_path / "3003-heard.wav", hangup_after=14.0,
    )  # fmt: skip
    try:
        callee.start()
        caller.start()
        callee.wait_registered()
        caller.wait_registered()
        caller.call("520")
        caller.wait_for("call_state", timeout=10, where=lambda e: e["state"] == "CONFIRMED")
        time.sleep(1.5)
        caller.dtmf("3301#")
        ringing_from = time.monotonic()
        callee.wait_for("incoming_call", timeout=10)
        callee.wait_for("call_state", timeout=10, where=lambda e: e["state"] == "CONFIRMED")
        answered_after = time.monotonic() - ringing_from
        caller.wait_for("call_ended", timeout=20)
    finally:
        stop_phones(caller, callee)
    heard, rate = read_samples(tmp_path / "3003-heard.wav")
    # pjsua2 records from its CONFIRMED on: ringback (China: 450 Hz) while 3301 rang, then 3301.
    start = 1.5 + 0.5
    ringback = heard[int(start * rate) : int((start + min(answered_after, 3.0)) * rate)]
    assert abs(peak_frequency(ringback, rate) - 450) < TOLERANCE_HZ
    assert abs(peak_frequency(heard[-2 * rate :], rate) - 1000) < TOLERANCE_HZ


def test_an_ivr_key_to_the_survey_is_stored_on_the_call(pbxd: PbxdProcess, tmp_path: Path) -> None:
    """The survey as an IVR destination, no queue involved: the key is kept on the CDR."""
    pbxd.create_extension("3004", "Secret-3004")
    pbxd.api(
        "POST",
        "/api/v1/ivrs",
        {"name": "feedback", "number": "502", "prompt": "welcome", "keys": {"9": "survey"}},
        expect=201,
    )
    caller = PjsuaPhone("3004", "Secret-3004", registrar=pbxd.sip_address, log_dir=tmp_path)
    try:
        caller.start()
        caller.wait_registered()
        caller.call("502")
        caller.wait_for("call_state", timeout=10, where=lambda e: e["state"] == "CONFIRMED")
        time.sleep(1.5)
        caller.dtmf("9")
        time.sleep(1.5)  # the survey question is playing
        caller.dtmf("1")
        caller.wait_for("call_ended", timeout=20)  # thanks, then pbxd hangs up
    finally:
        stop_phones(caller)
    row = pbxd.wait_cdr(lambda r: r["caller"] == "3004" and r["callee"] == "502", timeout=10)
    [details] = pbxd.api("GET", f"/api/v1/cdr/{row['call_id']}/legs")["details"]
    assert (details["survey"], details["queue"]) == ("very_satisfied", None), details
