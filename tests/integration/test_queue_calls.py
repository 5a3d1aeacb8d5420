"""A caller in an ACD queue reaches a logged-in agent: real pjsua2 phones through pbxd.

Queue 600 (ring all, welcome prompt, agent ID announced, every call recorded) has two
dynamic agents: 3101 has a phone that answers, 3102 has none registered (its leg fails at
once). The caller (3001) sends 440 Hz, the agent 1000 Hz. What a user would check: the caller
hears the welcome prompt and then the agent, the agent hears the caller, the CDR row says who
took the call, the queue log has the whole story, and the recording plays both sides.
"""

from __future__ import annotations

import subprocess
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from .audio import peak_frequency, read_samples, write_tone
from .pbxd_process import PbxdProcess
from .peers.pjsua_phone import PjsuaPhone, stop_phones

pytestmark = pytest.mark.peer

CALL_SECONDS = 12.0  # from the queue's answer: welcome, ringing, the agent's ID, talk
TOLERANCE_HZ = 15.0


def phone(number: str, tmp_path: Path, pbxd: PbxdProcess, tone: Path, **options) -> PjsuaPhone:
    return PjsuaPhone(
        number,
        f"Secret-{number}",
        registrar=pbxd.sip_address,
        play=tone,
        record=tmp_path / f"{number}-heard.wav",
        log_dir=tmp_path,
        **options,
    )


def wait_agent_state(pbxd: PbxdProcess, extension: str, state: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        agent = pbxd.api("GET", f"/api/v1/agents/{extension}")
        if agent["state"] == state or time.monotonic() > deadline:
            assert agent["state"] == state, agent
            return agent
        time.sleep(0.2)


def test_a_caller_in_the_queue_reaches_the_agent_who_answers(
    pbxd: PbxdProcess, tmp_path: Path
) -> None:
    for number in ("3001", "3101", "3102"):
        pbxd.create_extension(number, f"Secret-{number}")
    pbxd.api(
        "POST",
        "/api/v1/queues",
        {
            "number": "600",
            "name": "Sales",
            "strategy": "ringall",
            "welcome_prompt": "queue-welcome",
            "announce_agent_id": True,
            "recording": "all",
            "wrapup": 0,
        },
        expect=201,
    )
    for agent in ("3101", "3102"):
        pbxd.api("POST", f"/api/v1/agents/{agent}/login", {"queues": ["600"]})
    agents = {a["extension"]: a for a in pbxd.api("GET", "/api/v1/agents")["items"]}
    assert [q["queue"] for q in agents["3101"]["queues"]] == ["600"]

    agent = phone(
        "3101", tmp_path, pbxd, write_tone(tmp_path / "1000.wav", 1000, 2.0), ring_seconds=1.0
    )
    caller = phone(
        "3001",
        tmp_path,
        pbxd,
        write_tone(tmp_path / "440.wav", 440, 2.0),
        hangup_after=CALL_SECONDS,
    )
    try:
        agent.start()
        caller.start()
        agent.wait_registered()
        caller.wait_registered()
        caller.call("600")
        caller.wait_for("call_state", timeout=10, where=lambda e: e["state"] == "CONFIRMED")
        agent.wait_for("incoming_call", timeout=15)
        # What a supervisor sees meanwhile: the agent on a call of queue 600.
        seen = wait_agent_state(pbxd, "3101", "on_call", timeout=10)
        assert seen["call_queue"] == "600" and seen["state_since"], seen
        caller.wait_for("call_ended", timeout=CALL_SECONDS + 15)
        agent.wait_for("call_ended", timeout=10)
    finally:
        stop_phones(caller, agent)
    for p in (caller, agent):
        assert not [e for e in p.events if e["event"] == "error"], p.diagnostics()

    # The caller heard speech first (the welcome prompt, then the agent's ID), then the agent.
    heard, rate = read_samples(tmp_path / "3001-heard.wav")
    assert np.sqrt(np.mean(heard[:rate] ** 2)) > 0.02, "no welcome prompt"
    assert abs(peak_frequency(heard[-2 * rate :], rate) - 1000) < TOLERANCE_HZ
    agent_heard, rate = read_samples(tmp_path / "3101-heard.wav")
    assert abs(peak_frequency(agent_heard[rate:], rate) - 440) < TOLERANCE_HZ

    row = pbxd.wait_cdr(lambda r: r["caller"] == "3001" and r["callee"] == "600", timeout=10)
    assert row["disposition"] == "ANSWERED", row
    legs = pbxd.api("GET", f"/api/v1/cdr/{row['call_id']}/legs")
    [details] = legs["details"]
    assert details["queue"] == "600" and details["agent"] == "3101", legs
    assert {leg["party"] for leg in legs["items"]} == {"3001", "3101"}, legs
    events = pbxd.api("GET", "/api/v1/queue-events?queue=600")["items"]
    story = [(e["event"], e["agent"]) for e in events if e["call_id"] == row["call_id"]]
    assert story[0] == ("ENTER", None), story
    assert ("RING", "3101") in story and ("CONNECT", "3101") in story, story
    assert ("RING_NO_ANSWER", "3102") in story, story  # no phone: failed at once
    assert story[-1][0] in ("COMPLETE_CALLER", "COMPLETE_AGENT"), story

    recordings = pbxd.api("GET", "/api/v1/recordings?queue=600")["items"]
    assert len(recordings) == 1, recordings
    recording = recordings[0]
    assert recording["agent"] == "3101" and recording["channels"] == 2, recording
    wav = pbxd.download(f"/api/v1/recordings/{recording['id']}/audio", tmp_path / "recording.wav")
    duration = float(
        subprocess.run(["soxi", "-D", str(wav)], capture_output=True, text=True, check=True).stdout
    )
    # From the bridge to the hang-up: what was left of the call after the announcements.
    assert 3.0 < duration < CALL_SECONDS, duration
    with wave.open(str(wav), "rb") as src:  # left: the caller, right: the agent
        rate, frames = src.getframerate(), src.readframes(src.getnframes())
    stereo = np.frombuffer(frames, dtype="<i2").reshape(-1, 2).astype(float)
    assert abs(peak_frequency(stereo[rate:, 0], rate) - 440) < TOLERANCE_HZ
    assert abs(peak_frequency(stereo[rate:, 1], rate) - 1000) < TOLERANCE_HZ
